"""Product data, Oro → Cin7, for the attributes Oro owns (`products.owner`, DESIGN §2 and §4.3). Steps on the
prices queue (functions/price_push), within the ERP budget of the prices flow:

- `product_data` (queued by each price run when an attribute is Oro's or `products.create_in_erp` is on): the
  Oro products changed since the watermark (Oro's newest `updatedAt` seen, re-read with a 10-minute overlap),
  and those flagged incomplete before, each compared with the Cin7 product its primary unit maps to (a few
  read by SKU, more in one read of Cin7's products, one call per 1000). Only the Oro-owned attributes that
  differ are queued for writing; an attribute Oro leaves empty is not sent (Cin7 keeps its own).
- `product_write`: up to `WRITE_CHUNK` Cin7 writes, one call each: a PUT of only the differing fields, or a
  POST of a product Cin7 lacks (`create_in_erp`: its SKU, Oro's name, Oro's category or
  `products.new_product_category`, `products.new_product_uom`, and the other attributes Oro owns).

A product orders cannot use (no mapping for its primary unit, a tax code without an ERP rule, no Cin7 product
of its SKU), or whose weight or dimensions are in a unit Cin7 does not have (not sent), is named once per SKU
(`PRODUCT_INCOMPLETE`, ecommerce) and closed when a later run finds it complete. Disabled Oro products only
have their attributes kept; they are neither flagged nor created.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.adapters.aws.state import StateStore
from shared.config import Config
from shared.errors import NotFound, Permanent, Throttled
from shared.observability import logger
from shared.ports import Clock, WorkQueue

PRODUCT_DATA = "product_data"
PRODUCT_WRITE = "product_write"
WATERMARK = "oro_products"
OVERLAP = timedelta(minutes=10)  # as the order poll: an update committed late is still read
FIRST_RUN_SINCE = datetime(2000, 1, 1, tzinfo=UTC)  # the first run reads every Oro product
LOOKUP_UP_TO = 5  # Cin7 products read one by one by SKU up to this many, else one read of all (1000 a call)
WRITE_CHUNK = 20  # Cin7 writes per product_write step
FLAGS_KEY = "products:incomplete"  # Oro SKU -> detail of the open PRODUCT_INCOMPLETE
FLAGS_TTL_SECONDS = 400 * 24 * 3600
CODE = "PRODUCT_INCOMPLETE"
REFUSED = "Cin7 refused"

# Oro's weight units (ShippingBundle: kg, lbs) and length units (cm, m, inch, foot), and spellings close to
# Cin7's own, mapped to what Cin7 takes (reference cin7-core-api.md §4).
WEIGHT_UNITS = {"kg": "kg", "g": "g", "lbs": "lb", "lb": "lb", "oz": "oz"}
LENGTH_UNITS = {"cm": "cm", "m": "m", "mm": "mm", "inch": "in", "in": "in", "foot": "ft", "ft": "ft"}
# Each attribute's Cin7 fields: when one differs, the attribute's fields are sent together.
ATTRIBUTE_FIELDS = {
    "name": ("Name",),
    "description": ("Description",),
    "category": ("Category",),
    "brand": ("Brand",),
    "weight": ("Weight", "WeightUnits"),
    "dimensions": ("Length", "Width", "Height", "DimensionsUnits"),
}
NUMBER_FIELDS = frozenset({"Weight", "Length", "Width", "Height"})


class ProductWork(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    # product_write: {"sku": Oro SKU, "id": Cin7 product id or absent (create), "fields": {field: value},
    # "fingerprint": of what Oro wants (recorded once Cin7 took it)}
    writes: list[dict[str, Any]] = []
    deferrals: int = 0
    credential_deferrals: int = 0


@dataclass
class ProductResult:
    read: int = 0
    queued_writes: int = 0
    erp_writes: int = 0
    opened: int = 0
    closed: int = 0


def wanted_attributes(
    config: Config, product: Any, factor: Decimal | None
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The Oro-owned attributes of an Oro product (`OroProductData`) as Cin7 fields, by attribute, and what
    could not be expressed for Cin7 (named, not sent). `factor`: ERP units in one Oro primary unit."""
    sync = config.products
    out: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for attribute, value in (
        ("name", product.name),
        ("description", product.description),
        ("category", product.category),
        ("brand", product.brand),
    ):
        if sync.oro_owns(attribute) and value:
            out[attribute] = {ATTRIBUTE_FIELDS[attribute][0]: value}
    shipping = product.shipping()
    physical = [a for a in ("weight", "dimensions") if sync.oro_owns(a)]
    if shipping is None or not physical:
        return out, notes
    if factor is not None and factor != 1:
        notes.append(
            f"weight and dimensions not sent: the primary unit {product.primary_unit!r} is {factor} ERP units"
        )
        return out, notes
    if "weight" in physical and shipping.weight is not None:
        unit = WEIGHT_UNITS.get((shipping.weight_unit or "").lower())
        if unit is None:
            notes.append(
                f"weight unit {shipping.weight_unit!r} has no Cin7 equivalent ({', '.join(sorted(set(WEIGHT_UNITS.values())))}): "
                "the weight is not sent"
            )
        else:
            out["weight"] = {"Weight": shipping.weight, "WeightUnits": unit}
    sizes = {"Length": shipping.length, "Width": shipping.width, "Height": shipping.height}
    if "dimensions" in physical and any(v is not None for v in sizes.values()):
        unit = LENGTH_UNITS.get((shipping.dimensions_unit or "").lower())
        if unit is None:
            notes.append(
                f"dimensions unit {shipping.dimensions_unit!r} has no Cin7 equivalent "
                f"({', '.join(sorted(set(LENGTH_UNITS.values())))}): the dimensions are not sent"
            )
        else:
            out["dimensions"] = {**{k: v for k, v in sizes.items() if v is not None}, "DimensionsUnits": unit}
    return out, notes


def differences(wanted: Mapping[str, Mapping[str, Any]], erp_product: Any) -> dict[str, Any]:
    """The fields of the attributes whose value differs from the Cin7 product's (numbers compared as numbers)."""
    out: dict[str, Any] = {}
    for fields in wanted.values():
        for field, value in fields.items():
            have = getattr(erp_product, field, None)
            same = (
                have is not None and Decimal(have) == value
                if isinstance(value, Decimal)
                else (have or "") == value
            )
            if not same:
                out.update(fields)
                break
    return out


def _fingerprint(erp_sku: str, wanted: Mapping[str, Mapping[str, Any]]) -> str:
    """What Oro wants the ERP product to hold, in a few bytes (Decimals by value: 1.50 == 1.5)."""
    data = {
        a: {k: v.normalize() if isinstance(v, Decimal) else v for k, v in f.items()}
        for a, f in wanted.items()
    }
    text = json.dumps([erp_sku, data], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _wire(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in fields.items()}


def _unwire(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: Decimal(v) if k in NUMBER_FIELDS else v for k, v in fields.items()}


class ProductFlow:
    def __init__(
        self,
        config: Config,
        state: StateStore,
        queue: WorkQueue,
        clock: Clock,
        *,
        erp: Any = None,  # shared.adapters.cin7.client.Cin7Client (the prices flow's application)
        oro: Any = None,  # shared.adapters.orocommerce.client.OroClient
    ) -> None:
        self.config = config
        self.state = state
        self.queue = queue
        self.clock = clock
        self.erp = erp
        self.oro = oro

    def handle(self, work: ProductWork) -> dict[str, Any]:
        if work.kind == PRODUCT_DATA:
            return self.sync(work)
        if work.kind == PRODUCT_WRITE:
            return self.write(work)
        raise ValueError(f"prices queue: unexpected product message kind {work.kind!r}")

    # ------------------------------------------------------------------------------------ reading

    def _erp_sku(self, product: Any) -> tuple[str, Decimal | None]:
        """The Cin7 SKU an Oro product's attributes belong to: the one its primary unit maps to, else its own."""
        mapping = self.config.unit_mapping(product.sku, product.primary_unit or "")
        return (mapping.erp_sku, mapping.factor) if mapping else (product.sku, None)

    def _erp_products(self, skus: Iterable[str]) -> dict[str, Any]:
        wanted = set(skus)
        if not wanted:
            return {}
        if len(wanted) <= LOOKUP_UP_TO:
            found = {}
            for sku in sorted(wanted):
                try:
                    found[sku] = self.erp.get_product_by_sku(sku, include_bom=False)
                except NotFound:
                    pass
            return found
        return {
            p.SKU: p for p in self.erp.iter_products(limit=1000, include_deprecated=True) if p.SKU in wanted
        }

    def _usable(self, product: Any) -> list[str]:
        """Why orders cannot use the product (empty: they can), apart from its Cin7 product."""
        problems = []
        unit = product.primary_unit
        if not unit:
            problems.append("no primary unit")
        elif self.config.unit_mapping(product.sku, unit) is None:
            problems.append(f"no unit mapping for its primary unit {unit!r} (units.{product.sku}.{unit})")
        if product.tax_code:
            if product.tax_code not in self.config.tax.rules:
                problems.append(f"tax code {product.tax_code!r} has no ERP tax rule (tax.rules)")
        elif self.config.tax.default_rule is None:
            problems.append("no tax code, and no tax.default_rule")
        return problems

    # ------------------------------------------------------------------------------------ the run

    def sync(self, work: ProductWork) -> dict[str, Any]:
        now = self.clock.now()
        self.state.release_refresh("products")  # an Oro product change from now on queues another step
        watermark = self.state.get_watermark(WATERMARK)
        since = watermark - OVERLAP if watermark else FIRST_RUN_SINCE
        products = {p.sku: p for p in self.oro.iter_products_updated_since(since)}
        newest = max((p.updated_at for p in products.values() if p.updated_at), default=None)
        flags: dict[str, str] = dict(self.state.get_cached(FLAGS_KEY, now) or {})
        recheck = sorted(set(flags) - set(products))
        if recheck:
            products.update({p.sku: p for p in self.oro.iter_product_data(recheck)})
        result = ProductResult(read=len(products))
        sync = self.config.products
        plans = {}
        for sku, product in products.items():
            erp_sku, factor = self._erp_sku(product)
            wanted, notes = wanted_attributes(self.config, product, factor)
            plans[sku] = (erp_sku, wanted, notes, _fingerprint(erp_sku, wanted))
        # Compared with Cin7 only when what Oro wants differs from what Cin7 last held (or it is flagged):
        # re-reading the overlap, or a product whose change is not Oro-owned, costs no ERP call.
        recorded = self.state.product_records(sorted(products))
        compare = {sku for sku, plan in plans.items() if recorded.get(sku) != plan[3] or sku in flags}
        erp = self._erp_products(plans[sku][0] for sku in compare)
        writes: list[dict[str, Any]] = []
        confirmed: dict[str, str] = {}
        problems: dict[str, str] = {}
        for sku, product in sorted(products.items()):
            erp_sku, wanted, notes, fingerprint = plans[sku]
            enabled = product.status in (None, "enabled")
            issues = self._usable(product) if enabled else []
            existing = erp.get(erp_sku)
            if sku not in compare:
                pass  # Cin7 held it as Oro wants it
            elif existing is not None:
                fields = differences(wanted, existing)
                if fields:
                    writes.append(
                        {"sku": sku, "id": existing.ID, "fields": _wire(fields), "fingerprint": fingerprint}
                    )
                else:
                    confirmed[sku] = fingerprint
            elif enabled and sync.create_in_erp:
                fields = {k: v for attr in wanted.values() for k, v in attr.items()}
                fields.update(
                    SKU=erp_sku,
                    Name=product.name or erp_sku,
                    Category=fields.get("Category") or product.category or sync.new_product_category,
                    UOM=sync.new_product_uom,
                )
                writes.append({"sku": sku, "fields": _wire(fields), "fingerprint": fingerprint})
            elif enabled:
                issues.append(f"no Cin7 product with SKU {erp_sku!r} (products.create_in_erp is off)")
            if enabled and issues + notes:
                problems[sku] = "; ".join(issues + notes)
            elif writes and writes[-1]["sku"] == sku and flags.get(sku, "").startswith(REFUSED):
                problems[sku] = flags[sku]  # written again: open until Cin7 takes it
        if confirmed:
            self.state.record_products(confirmed)
        self._flag(flags, problems, now, result)
        for start in range(0, len(writes), WRITE_CHUNK):
            self._send(ProductWork(kind=PRODUCT_WRITE, writes=writes[start : start + WRITE_CHUNK]))
        result.queued_writes = len(writes)
        if newest is not None and newest != watermark:
            self.state.set_watermark(WATERMARK, newest)
        logger.info("product data", extra=vars(result))
        return vars(result)

    def write(self, work: ProductWork) -> dict[str, Any]:
        """One Cin7 call per product; what Cin7 refuses is named (PRODUCT_INCOMPLETE) and the rest goes on;
        when the budget runs dry the rest goes back to the queue."""
        done = 0
        refused: dict[str, str] = {}
        for index, write in enumerate(work.writes):
            fields = _unwire(write["fields"])
            try:
                if write.get("id"):
                    self.erp.update_product(write["id"], fields)
                else:
                    self.erp.create_product(fields)
            except Throttled as err:
                if index == 0:
                    raise
                rest = work.model_copy(update={"writes": work.writes[index:], "deferrals": 0})
                self._send(rest, delay_seconds=int(max(1, err.retry_after_seconds or 5)))
                break
            except Permanent as err:
                action = "update" if write.get("id") else "creation"
                refused[write["sku"]] = f"{REFUSED} the product's {action}: {err}"
                continue
            done += 1
            self.state.record_products({write["sku"]: write["fingerprint"]})
        if refused:
            now = self.clock.now()
            flags: dict[str, str] = dict(self.state.get_cached(FLAGS_KEY, now) or {})
            for sku, detail in sorted(refused.items()):
                self.state.open_exception(CODE, f"product:{sku}", now, detail)
            self.state.put_cached(FLAGS_KEY, {**flags, **refused}, now, FLAGS_TTL_SECONDS)
        return {"erp_writes": done, "refused": len(refused)}

    # ------------------------------------------------------------------------------------ helpers

    def _send(self, work: ProductWork, delay_seconds: int = 0) -> None:
        self.queue.send(work.model_dump(mode="json", exclude_defaults=True), delay_seconds=delay_seconds)

    def _flag(
        self, before: dict[str, str], now_open: dict[str, str], now: datetime, result: ProductResult
    ) -> None:
        """Open PRODUCT_INCOMPLETE for newly (or otherwise) incomplete products, close it for those complete. Every
        flagged product was re-read this run, so one missing from `now_open` is complete (or gone)."""
        for sku in sorted(now_open):
            if before.get(sku) != now_open[sku]:  # new, or another problem than before: the detail says which
                self.state.open_exception(CODE, f"product:{sku}", now, now_open[sku])
                result.opened += 1
        for sku in sorted(before.keys() - now_open.keys()):
            self.state.close_exception(CODE, f"product:{sku}", now, "the product is complete")
            result.closed += 1
        if before != now_open:
            self.state.put_cached(FLAGS_KEY, now_open, now, FLAGS_TTL_SECONDS)
