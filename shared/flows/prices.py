"""Prices between Oro price lists and Cin7 (DESIGN §4.3), one configured mapping (`price_lists`) at a time, in
its direction. Steps on the prices queue (functions/price_push), each small and within the ERP budget:

- `price_list` (queued by the schedule, functions/price_sync, one per mapping):
  - **erp_to_oro**: the Cin7 products changed since the mapping's watermark (a full read inside
    `prices.full_run_window`, or on the first run), one page of 1000 (one ERP call) a step, each step
    queueing the next; a page's tier prices become Oro prices in every mapped unit the product has
    (`shared.domain.prices`), compared with what the list holds; only differences are written (a few one by
    one, more in one Batch API request). The last page hands the run's batches to `price_check`, which moves
    the watermark.
  - **oro_to_erp**: the whole Oro list (Oro prices have no timestamps) becomes one price per Cin7 SKU;
    compared with what Cin7 last accepted (the state table), so an unchanged list costs no ERP call. For the
    changed SKUs, Cin7's products are read (one page of 1000 a step; the steps after the first compare only
    their page's products) and only the prices Cin7 does not already hold are written: `price_write` steps
    of `WRITE_CHUNK` products (one PUT each: Cin7 updates one product a call). A customer's list needs no
    read: `price_write` steps of `CUSTOM_CHUNK` rows, one `/custom-prices` call each.
- Quantity breaks and unit prices a tier cannot hold → `PRICE_BREAK_UNSUPPORTED` (finance), one per list and
  SKU, opened once and closed when the list no longer holds them.

One ERP call per read step, because a bulk flow's step that finds no token goes back to the queue and starts
again: a step that read every page would read its first pages again each time (at the budget's burst of 5,
less the orders' reserve of 2, one of more than 3 pages might never finish), and one that sent every
customer row would read the whole list again for each handful of calls. A `price_write` step gives back only
what is left when the budget runs dry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.adapters.aws.state import StateStore
from shared.adapters.cin7.client import cin7_time
from shared.adapters.cin7.models import Cin7Product
from shared.adapters.orocommerce.client import FILTER_CHUNK, filters
from shared.adapters.orocommerce.models import OroProductPrice
from shared.config import Config, PriceDirection, PriceListMapping
from shared.domain.prices import (
    StorefrontPrice,
    UnitPriceRule,
    four_places,
    price_changes,
    storefront_prices,
    tier_prices,
)
from shared.errors import Permanent, Throttled, Transient
from shared.observability import logger
from shared.ports import Clock, OperationResult, WorkQueue

PAGE_LIMIT = 1000  # Cin7 products per read step (one ERP call): Cin7's maximum
WRITE_CHUNK = 20  # Cin7 products updated per price_write step (one PUT each)
CUSTOM_CHUNK = 500  # customer price rows per /custom-prices call
PATCH_UP_TO = 10  # Oro price writes of one step: up to this many one by one, more in one batch
MAX_CHECKS = 40


class PriceWork(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    mapping: int
    full: bool = False
    started_at: datetime | None = None
    page: int = 1  # price_list: the page of Cin7 products this step reads
    writes: list[list[str]] = []  # price_write: [erp sku, product id ("" for a customer's list), price]
    ops: list[str] = []  # price_check
    checks: int = 0
    deferrals: int = 0
    credential_deferrals: int = 0


@dataclass
class PriceResult:
    read: int = 0
    erp_writes: int = 0
    oro_writes: int = 0
    problems: int = 0
    queued_writes: int = 0


def unit_rules(config: Config) -> dict[str, dict[str, UnitPriceRule]]:
    return {
        sku: {unit: UnitPriceRule(m.erp_sku, m.factor) for unit, m in by_unit.items()}
        for sku, by_unit in config.units.items()
    }


class PriceFlow:
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
        self.units = unit_rules(config)

    def _send(self, work: PriceWork, delay_seconds: int = 0) -> None:
        self.queue.send(work.model_dump(mode="json", exclude_defaults=True), delay_seconds=delay_seconds)

    def mapping(self, index: int) -> PriceListMapping:
        if not 0 <= index < len(self.config.price_lists):
            raise ValueError(f"prices queue: no price_lists[{index}] in the config")
        return self.config.price_lists[index]

    def handle(self, work: PriceWork) -> dict[str, Any]:
        step = {"price_list": self.sync_list, "price_write": self.write_erp, "price_check": self.check}.get(
            work.kind
        )
        if step is None:
            raise ValueError(f"prices queue: unexpected message kind {work.kind!r}")
        return step(work)

    # ------------------------------------------------------------------------------------ reading

    def _held(
        self, mapping: PriceListMapping, product_ids: Iterable[str] | None = None
    ) -> list[StorefrontPrice]:
        """The list's prices, or only those of the given Oro products (`filter[product]`, chunked)."""
        return [
            StorefrontPrice(p.product_sku or "", p.unit or "", p.quantity, p.value, p.currency, p.id)
            for p in (
                self.oro.iter_product_prices(mapping.oro_price_list_id)
                if product_ids is None
                else self._prices_of(mapping.oro_price_list_id, sorted(set(product_ids)))
            )
        ]

    def _prices_of(self, price_list_id: str, product_ids: Sequence[str]) -> Iterator[OroProductPrice]:
        for start in range(0, len(product_ids), FILTER_CHUNK):
            params = filters(priceList=price_list_id, product=list(product_ids[start : start + FILTER_CHUNK]))
            for r, index in self.oro.iter_resources("productprices", params=params, include=("product",)):
                yield OroProductPrice.from_resource(r, index)

    def _tier_code(self, name: str) -> int:
        now = self.clock.now()
        tiers = self.state.get_cached("cin7:price_tiers", now)
        if tiers is None:
            tiers = {t.Name: t.Code for t in self.erp.price_tiers()}
            self.state.put_cached("cin7:price_tiers", tiers, now, 3600)
        if name not in tiers:
            raise Permanent(
                f"price tier {name!r} is not one of Cin7's tiers ({', '.join(tiers)})", system="cin7"
            )
        return int(tiers[name])

    def _products_page(self, page: int, since: datetime | None = None) -> tuple[list[Cin7Product], bool]:
        """One page of Cin7's products (one ERP call; `since`: changed since then) and whether more follow."""
        params = {"Page": page, "Limit": PAGE_LIMIT, "ModifiedSince": cin7_time(since) if since else None}
        body = self.erp.request("GET", "product", params=params)
        rows = body.get("Products") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise Permanent("cin7: GET /product: the answer has no Products list", system="cin7")
        total = body.get("Total")
        more = page * PAGE_LIMIT < int(total) if total is not None else len(rows) == PAGE_LIMIT
        return [Cin7Product.model_validate(r) for r in rows], bool(rows) and more

    def sync_list(self, work: PriceWork) -> dict[str, Any]:
        mapping = self.mapping(work.mapping)
        self.state.release_refresh(f"prices:{work.mapping}")  # a Cin7 change from now on queues another
        if mapping.direction is PriceDirection.ERP_TO_ORO:
            return self._erp_to_oro(work, mapping)
        return self._oro_to_erp(work, mapping)

    # --------------------------------------------------------------------------------- erp → oro

    def _erp_to_oro(self, work: PriceWork, mapping: PriceListMapping) -> dict[str, Any]:
        assert mapping.erp_tier is not None
        started = work.started_at or self.clock.now()
        watermark_name = f"prices:{work.mapping}:{mapping.target}"
        since = None if work.full else self.state.get_watermark(watermark_name)
        code = self._tier_code(mapping.erp_tier)
        page, more = self._products_page(work.page, since)
        tier: dict[str, Decimal] = {}
        for product in page:
            price = product.tier_price(code)
            if price is not None:
                tier[product.SKU] = price
        skus = sorted(
            sku for sku, rules in self.units.items() if any(r.erp_sku in tier for r in rules.values())
        )
        result = PriceResult(read=len(tier))
        ops = list(work.ops)  # the run's batches so far, checked after its last page
        if skus:
            found = list(self.oro.iter_products(skus))
            products = {p.sku: [u.unit for u in p.unit_precisions if u.unit] for p in found}
            product_ids = {p.sku: p.id for p in found}
            wanted = storefront_prices(tier, self.units, products, mapping.currency)
            changes = price_changes(wanted, self._held(mapping, product_ids.values()))
            creates = [
                {
                    "price_list_id": mapping.oro_price_list_id,
                    "product_id": product_ids[p.sku],
                    "unit": p.unit,
                    "quantity": p.quantity,
                    "currency": p.currency,
                    "value": p.value,
                }
                for p in changes.creates
            ]
            updates = [{"id": pid, "value": value} for pid, value in changes.updates]
            records = updates + creates
            if records:
                result.oro_writes = len(records)
                mode = self.config.prices.oro_writes
                if mode == "patch" or (mode == "auto" and len(records) <= PATCH_UP_TO):
                    for record in updates:
                        self.oro.update_product_price(record["id"], record["value"])
                    for record in creates:
                        self.oro.create_product_price(**record)
                else:
                    ops.append(self.oro.write_product_prices_batch(records))
        done = {"mapping": work.mapping, "page": work.page, **vars(result)}
        logger.info("prices erp_to_oro", extra=done)
        if more:
            self._send(
                PriceWork(
                    kind="price_list",
                    mapping=work.mapping,
                    full=work.full,
                    started_at=started,
                    page=work.page + 1,
                    ops=ops,
                )
            )
        elif ops:
            self._send(
                PriceWork(kind="price_check", mapping=work.mapping, ops=ops, started_at=started),
                delay_seconds=2,
            )
        else:
            self.state.set_watermark(watermark_name, started)
        return done

    def check(self, work: PriceWork) -> dict[str, Any]:
        """The Oro batch of one erp_to_oro step: when it is done, the watermark moves; what Oro refused is
        written by the next run (the watermark stays behind it)."""
        mapping = self.mapping(work.mapping)
        results: list[OperationResult] = []
        for op in work.ops:
            operation = self.oro.get_async_operation(op)
            if not operation.finished:
                if work.checks >= MAX_CHECKS:
                    raise Transient(
                        f"oro: price batch {op} unfinished after {work.checks} checks", system="oro"
                    )
                self._send(
                    work.model_copy(update={"checks": work.checks + 1}), delay_seconds=min(60, 2**work.checks)
                )
                return {"mapping": work.mapping, "finished": False}
            failed = {}
            if operation.has_errors:
                failed = {
                    (-1 if e.record_index is None else e.record_index): e.detail or ""
                    for e in self.oro.get_async_operation_errors(op)
                }
            results.append(OperationResult(finished=True, failed=failed))
        refused = sum(len(r.failed) for r in results)
        if refused:
            logger.warning("oro refused price writes", extra={"mapping": work.mapping, "refused": refused})
        elif work.started_at is not None:
            self.state.set_watermark(f"prices:{work.mapping}:{mapping.target}", work.started_at)
        return {"mapping": work.mapping, "refused": refused}

    # --------------------------------------------------------------------------------- oro → erp

    def _changed(
        self, mapping: PriceListMapping, product_ids: Iterable[str] | None = None
    ) -> tuple[dict[str, Decimal], PriceResult]:
        """The tier prices the list (or its given products) calls for that Cin7 has not accepted yet."""
        plan = tier_prices(self._held(mapping, product_ids), self.units, mapping.currency)
        if product_ids is None:
            self._report_problems(mapping, plan.problems)
        last = self.state.price_records(mapping.target, sorted(plan.prices))
        changed = {sku: price for sku, price in plan.prices.items() if last.get(sku) != price}
        return changed, PriceResult(read=len(plan.prices), problems=len(plan.problems))

    def _oro_to_erp(self, work: PriceWork, mapping: PriceListMapping) -> dict[str, Any]:
        """Page 1 (and a customer's list) compares the whole list, so an unchanged one costs no ERP call;
        a later page compares only the Oro products of that page's Cin7 products (the whole list again on
        every page would make a run's Oro reads grow with the square of the catalogue)."""
        if work.page == 1 or mapping.erp_customer_id is not None:
            changed, result = self._changed(mapping)
            if not changed:
                return {"mapping": work.mapping, **vars(result)}
            if mapping.erp_customer_id is not None:
                return self._custom_prices(work, mapping, changed, result)
        code = self._tier_code(mapping.erp_tier or "")
        writes: list[list[str]] = []
        already: dict[str, Decimal] = {}
        page, more = self._products_page(work.page)
        if work.page > 1:
            erp_skus = {product.SKU for product in page}
            storefront = [
                sku for sku, rules in self.units.items() if any(r.erp_sku in erp_skus for r in rules.values())
            ]
            ids = [p.id for p in self.oro.iter_products(storefront, with_units=False)] if storefront else []
            changed, result = self._changed(mapping, ids) if ids else ({}, PriceResult())
        for product in page:
            want = changed.get(product.SKU)
            if want is None:
                continue
            held = product.tier_price(code)
            if held is not None and four_places(held) == want:
                already[product.SKU] = want
            else:
                writes.append([product.SKU, product.ID, str(want)])
        if already:
            self.state.record_prices(mapping.target, already)
        for start in range(0, len(writes), WRITE_CHUNK):
            self._send(
                PriceWork(
                    kind="price_write", mapping=work.mapping, writes=writes[start : start + WRITE_CHUNK]
                )
            )
        result.queued_writes = len(writes)
        if more:
            self._send(PriceWork(kind="price_list", mapping=work.mapping, page=work.page + 1))
        logger.info("prices oro_to_erp", extra={"mapping": work.mapping, "page": work.page, **vars(result)})
        return {"mapping": work.mapping, "page": work.page, **vars(result)}

    def write_erp(self, work: PriceWork) -> dict[str, Any]:
        """One PUT per product; what Cin7 accepted is recorded at once, and when the budget runs dry the rest
        goes back to the queue. A customer's list: its rows in one `/custom-prices` call."""
        mapping = self.mapping(work.mapping)
        if mapping.erp_customer_id is not None:
            return self._write_custom(work, mapping)
        field = f"PriceTier{self._tier_code(mapping.erp_tier or '')}"
        done = 0
        for index, (sku, product_id, price) in enumerate(work.writes):
            try:
                self.erp.update_product(product_id, {field: Decimal(price)})
            except Throttled as err:
                if index == 0:
                    raise
                rest = work.model_copy(update={"writes": work.writes[index:], "deferrals": 0})
                self._send(rest, delay_seconds=int(max(1, err.retry_after_seconds or 5)))
                break
            self.state.record_prices(mapping.target, {sku: Decimal(price)})
            done += 1
        return {"mapping": work.mapping, "erp_writes": done}

    def _custom_prices(
        self, work: PriceWork, mapping: PriceListMapping, changed: Mapping[str, Decimal], result: PriceResult
    ) -> dict[str, Any]:
        """`price_write` steps of `CUSTOM_CHUNK` rows, one `/custom-prices` call each: a step that finds no
        token is given back whole, and the list is not read again for it."""
        rows = [[sku, "", str(price)] for sku, price in sorted(changed.items())]
        for start in range(0, len(rows), CUSTOM_CHUNK):
            self._send(
                PriceWork(kind="price_write", mapping=work.mapping, writes=rows[start : start + CUSTOM_CHUNK])
            )
        result.queued_writes = len(rows)
        logger.info("prices oro_to_erp", extra={"mapping": work.mapping, **vars(result)})
        return {"mapping": work.mapping, **vars(result)}

    def _write_custom(self, work: PriceWork, mapping: PriceListMapping) -> dict[str, Any]:
        chunk = [(sku, Decimal(price)) for sku, _, price in work.writes]
        errors = self.erp.set_custom_prices(
            ((mapping.erp_customer_id or "", sku, price) for sku, price in chunk), by_sku=True
        )
        bad = {sku for sku, _ in chunk if any(sku in e for e in errors)}
        self.state.record_prices(mapping.target, {s: p for s, p in chunk if s not in bad})
        if errors:
            logger.warning(
                "cin7 refused customer prices", extra={"mapping": work.mapping, "errors": errors[:5]}
            )
        return {"mapping": work.mapping, "erp_writes": 1, "refused": len(errors)}

    def _report_problems(self, mapping: PriceListMapping, problems: Sequence[Any]) -> None:
        now = self.clock.now()
        entities = {f"pricelist:{mapping.oro_price_list_id}/sku:{p.sku}": p.detail for p in problems}
        key = f"pricebreaks:{mapping.oro_price_list_id}"
        before = set(self.state.get_cached(key, now) or [])
        for entity in sorted(entities.keys() - before):
            self.state.open_exception("PRICE_BREAK_UNSUPPORTED", entity, now, entities[entity])
        for entity in sorted(before - entities.keys()):
            self.state.close_exception(
                "PRICE_BREAK_UNSUPPORTED", entity, now, "the price list no longer holds it"
            )
        if before != entities.keys():
            self.state.put_cached(key, sorted(entities), now, 400 * 24 * 3600)
