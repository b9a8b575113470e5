"""Prices between a storefront price list and an ERP price tier (DESIGN §4.3): pure rules, no I/O.

Storefront prices are per storefront unit (a case has its own price) and may have quantity breaks; an ERP
tier holds one price per ERP SKU, per that SKU's own unit, with 4 decimals. The same unit mappings as orders
and stock translate between them (`units.<SKU>.<unit>: {erp_sku, factor}`):

- storefront → ERP (`tier_prices`): the ERP SKU's tier price is the storefront's quantity-1 price of the unit
  that maps to it with the smallest factor (the base unit where there is one), divided by that factor, to
  4 decimals: a case of 12 at 138.00 alone gives 11.5000 an each. A price at a quantity above 1 (a quantity
  break) cannot be held by a tier: it is reported, never dropped silently. So is a unit whose price, divided
  by its factor, differs from the one sent (a case discount the tier cannot show).
- ERP → storefront (`storefront_prices`): each mapped unit of the product gets the tier price × factor, to
  4 decimals, at quantity 1 (a tier price of 11.5 is 138.0000 a case of 12).
- `price_changes`: the writes that make a storefront list hold the wanted prices: an update where a price
  differs, a create where it is missing; prices the storefront holds that are not wanted (its quantity
  breaks, other units) are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal

PLACES = Decimal("0.0001")  # both systems keep prices to 4 decimals


def four_places(value: Decimal) -> Decimal:
    return value.quantize(PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class UnitPriceRule:
    """How one storefront unit of a SKU is priced in the ERP: as `factor` of `erp_sku`'s unit."""

    erp_sku: str
    factor: Decimal


@dataclass(frozen=True)
class StorefrontPrice:
    sku: str
    unit: str
    quantity: Decimal  # the minimum quantity the price applies from (1 = no break)
    value: Decimal
    currency: str
    price_id: str | None = None  # the storefront's id, when it exists


@dataclass(frozen=True)
class PriceProblem:
    sku: str
    unit: str
    kind: str  # "quantity_break" | "unit_disagrees" | "unmapped"
    detail: str


@dataclass
class TierPlan:
    prices: dict[str, Decimal] = field(default_factory=dict)  # ERP SKU -> tier price
    problems: list[PriceProblem] = field(default_factory=list)


def tier_prices(
    prices: Iterable[StorefrontPrice],
    units: Mapping[str, Mapping[str, UnitPriceRule]],
    currency: str,
) -> TierPlan:
    """The ERP tier prices a storefront price list (in `currency`) calls for."""
    plan = TierPlan()
    by_sku: dict[str, list[StorefrontPrice]] = {}
    for price in prices:
        if price.currency == currency:
            by_sku.setdefault(price.sku, []).append(price)
    for sku in sorted(by_sku):
        rules = units.get(sku, {})
        chosen: dict[str, tuple[Decimal, StorefrontPrice]] = {}  # erp sku -> (factor, price)
        for price in sorted(by_sku[sku], key=lambda p: (p.unit, p.quantity)):
            rule = rules.get(price.unit)
            if price.quantity > 1:
                plan.problems.append(
                    PriceProblem(
                        sku,
                        price.unit,
                        "quantity_break",
                        f"{sku} {price.unit} from {format(price.quantity.normalize(), 'f')}: {price.value} {currency} "
                        "is a quantity break an ERP tier cannot hold",
                    )
                )
                continue
            if rule is None:
                plan.problems.append(
                    PriceProblem(sku, price.unit, "unmapped", f"{sku} {price.unit} has no unit mapping")
                )
                continue
            best = chosen.get(rule.erp_sku)
            if best is None or rule.factor < best[0]:
                chosen[rule.erp_sku] = (rule.factor, price)
        for erp_sku, (factor, price) in chosen.items():
            plan.prices[erp_sku] = four_places(price.value / factor)
        for price in by_sku[sku]:
            rule = rules.get(price.unit)
            if price.quantity > 1 or rule is None or rule.erp_sku not in plan.prices:
                continue
            sent = plan.prices[rule.erp_sku]
            if four_places(price.value / rule.factor) != sent:
                plan.problems.append(
                    PriceProblem(
                        sku,
                        price.unit,
                        "unit_disagrees",
                        f"{sku} {price.unit} at {price.value} is {four_places(price.value / rule.factor)} a "
                        f"{rule.erp_sku}; the tier holds {sent} (from the smaller unit)",
                    )
                )
    return plan


def storefront_prices(
    tier: Mapping[str, Decimal],
    units: Mapping[str, Mapping[str, UnitPriceRule]],
    product_units: Mapping[str, Iterable[str]],
    currency: str,
) -> list[StorefrontPrice]:
    """The quantity-1 storefront prices an ERP tier calls for: each mapped unit the product has."""
    out = []
    for sku in sorted(product_units):
        rules = units.get(sku, {})
        for unit in sorted(product_units[sku]):
            rule = rules.get(unit)
            if rule is not None and rule.erp_sku in tier:
                value = four_places(tier[rule.erp_sku] * rule.factor)
                out.append(StorefrontPrice(sku, unit, Decimal(1), value, currency))
    return out


@dataclass
class PriceChanges:
    updates: list[tuple[str, Decimal]] = field(default_factory=list)  # (storefront price id, value)
    creates: list[StorefrontPrice] = field(default_factory=list)


def price_changes(wanted: Iterable[StorefrontPrice], held: Iterable[StorefrontPrice]) -> PriceChanges:
    """Updates and creates that make the storefront hold `wanted`; nothing else is touched."""
    current = {(p.sku, p.unit, p.quantity, p.currency): p for p in held}
    changes = PriceChanges()
    for price in wanted:
        existing = current.get((price.sku, price.unit, price.quantity, price.currency))
        if existing is None:
            changes.creates.append(price)
        elif four_places(existing.value) != four_places(price.value):
            assert existing.price_id is not None, "a held storefront price has an id"
            changes.updates.append((existing.price_id, four_places(price.value)))
    return changes


def in_window(window: str | None, moment: datetime) -> bool:
    """Whether `moment` (UTC) is inside an "HH:MM-HH:MM" window (which may wrap midnight); None: always."""
    if window is None:
        return True
    start_text, end_text = window.split("-")
    start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    now = moment.time().replace(second=0, microsecond=0)
    return start <= now < end if start < end else now >= start or now < end
