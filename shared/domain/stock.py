"""Stock, ERP → storefront (DESIGN §4.2): what the storefront may sell of each product, in each unit.

Pure rules, no I/O; the flows that read the ERP's availability and write the storefront's levels use them:

1. `sum_available`: the ERP's availability rows (one per location, bin and batch) summed per ERP SKU over the
   configured locations.
2. `sellable`: the safety buffer held back, clamped at zero. The buffer is the larger of a fixed number of
   base units (per SKU, else the default) and a percentage of what is available (for fast movers), so
   configuring both never holds back less than either.
3. `plan_levels`: each storefront unit that carries inventory gets `floor(sellable / factor)` of the ERP SKU
   its unit mapping names (the same mappings orders use: `2 × case of 12` is 24 base units, so 30 base
   units show as 2 cases). A case sold as its own ERP SKU (factor 1) shows that SKU's own availability.
   Negative availability is reported and shown as 0; a unit that carries inventory but has no mapping, or
   whose ERP SKU the ERP does not list, is reported, never skipped silently.
4. `changed_levels`: only the levels that differ from what was last pushed.

Every unit that carries inventory shows the same base stock, so a buyer can order it twice (in eaches and in
cases) before the next push: the units that carry inventory are a configuration choice, and the buffer is
sized for it (README, "Stock").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

QUANTITY_PLACES = Decimal("0.0001")  # the ERP's quantities have 4 decimals


@dataclass(frozen=True)
class AvailabilityRow:
    """One row of the ERP's availability: a SKU at a location (and bin or batch)."""

    erp_sku: str
    location: str
    available: Decimal
    bin: str | None = None
    batch: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes the row unique: the same row read twice (pages shifting under a read) counts once."""
        return (self.erp_sku, self.location, self.bin or "", self.batch or "")


@dataclass(frozen=True)
class Buffer:
    """Held back from what the ERP says is available, in base units."""

    default: Decimal = Decimal(0)
    percent: Decimal = Decimal(0)
    per_sku: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.default < 0 or any(v < 0 for v in self.per_sku.values()):
            raise ValueError("a stock buffer cannot be negative")
        if not 0 <= self.percent <= 100:
            raise ValueError(f"a stock buffer percentage must be between 0 and 100, got {self.percent}")

    def held_back(self, erp_sku: str, available: Decimal) -> Decimal:
        fixed = self.per_sku.get(erp_sku, self.default)
        share = (max(available, Decimal(0)) * self.percent / 100).quantize(QUANTITY_PLACES, ROUND_CEILING)
        return max(fixed, share)


@dataclass(frozen=True)
class UnitStock:
    """A storefront unit's stock rule: shown as `floor(sellable(erp_sku) / factor)`."""

    erp_sku: str
    factor: Decimal


@dataclass(frozen=True)
class StockLevel:
    sku: str  # the storefront's product SKU
    unit: str  # the storefront's unit code
    quantity: Decimal  # whole storefront units


@dataclass(frozen=True)
class UnitProblem:
    sku: str
    unit: str
    reason: str
    # "unit_lacking": mapped, but the product lacks the unit; "unmapped": the product's unit has no mapping;
    # "erp_missing": the ERP SKU it maps to is not in the ERP's availability (`erp_sku` names it)
    kind: str = "unmapped"
    erp_sku: str | None = None


@dataclass
class StockPlan:
    levels: list[StockLevel] = field(default_factory=list)
    negative: dict[str, Decimal] = field(default_factory=dict)  # ERP SKU -> its (negative) availability
    problems: list[UnitProblem] = field(default_factory=list)  # units that carry inventory but cannot be set


def sum_available(rows: Iterable[AvailabilityRow], locations: Iterable[str]) -> dict[str, Decimal]:
    """Available per ERP SKU over the configured locations (every bin and batch of them)."""
    wanted = set(locations)
    totals: dict[str, Decimal] = {}
    for row in rows:
        if row.location in wanted:
            totals[row.erp_sku] = totals.get(row.erp_sku, Decimal(0)) + row.available
    return totals


def sellable(erp_sku: str, available: Decimal, buffer: Buffer) -> Decimal:
    """What may be sold of the SKU: available less the buffer, never below zero."""
    return max(Decimal(0), available - buffer.held_back(erp_sku, available))


def units_of(sellable_base: Decimal, factor: Decimal) -> Decimal:
    """Whole storefront units in `sellable_base` ERP units (rounded down: never show what cannot ship)."""
    if factor <= 0:
        raise ValueError(f"a unit factor must be positive, got {factor}")
    return (sellable_base / factor).to_integral_value(rounding=ROUND_FLOOR)


def plan_levels(
    available: Mapping[str, Decimal],
    units: Mapping[str, Mapping[str, UnitStock]],
    storefront_units: Mapping[str, Iterable[str]],
    units_carrying_inventory: Iterable[str],
    buffer: Buffer,
) -> StockPlan:
    """The level of every storefront product in each of its units that carries inventory.

    `units`: storefront SKU -> unit -> its rule (the order flow's unit mappings). `storefront_units`: the
    storefront's products and the units each has."""
    plan = StockPlan()
    carrying = set(units_carrying_inventory)
    for erp_sku, quantity in available.items():
        if quantity < 0:
            plan.negative[erp_sku] = quantity
    for sku, product_units in storefront_units.items():
        has = set(product_units)
        mapped = units.get(sku, {})
        for unit in sorted(carrying & set(mapped) - has):
            plan.problems.append(
                UnitProblem(
                    sku, unit, f"{sku} is mapped in {unit!r}, which the product lacks", "unit_lacking"
                )
            )
        for unit in sorted(carrying & has):
            rule = mapped.get(unit)
            if rule is None:
                plan.problems.append(UnitProblem(sku, unit, f"{sku} in {unit!r} has no unit mapping"))
            elif rule.erp_sku not in available:
                plan.problems.append(
                    UnitProblem(
                        sku,
                        unit,
                        f"{rule.erp_sku} is not in the ERP's availability",
                        "erp_missing",
                        rule.erp_sku,
                    )
                )
            else:
                base = sellable(rule.erp_sku, available[rule.erp_sku], buffer)
                plan.levels.append(StockLevel(sku, unit, units_of(base, rule.factor)))
    return plan


def changed_levels(
    levels: Iterable[StockLevel], last_pushed: Mapping[tuple[str, str], Decimal]
) -> list[StockLevel]:
    """The levels that differ from what the storefront last accepted (never pushed counts as different)."""
    return [lv for lv in levels if last_pushed.get((lv.sku, lv.unit)) != lv.quantity]
