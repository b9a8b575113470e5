"""Storefront units → ERP SKUs and base quantities (DESIGN §4.1 step 3): `2 × case of 12` → 24.

Quantities and money are Decimal. How the line's money lands on the ERP's 4-decimal prices, exactly to
the cent, is `shared/domain/totals.py`.

A mapping is either (the base SKU, factor N: the unit is sent as N base units) or (an ERP product of its own,
factor 1: a case SKU). The storefront says how many of its primary unit one unit holds (its conversion
rate). Where a unit is sent as the same ERP SKU as the product's primary unit, the two must agree:
`factor(unit) = rate(unit) × factor(primary)`, else `2 cases of 12` would go out as 20 units. A unit sent as
an ERP product of its own is not compared: its factor counts that product, not the primary unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.domain.totals import ERP_PLACES, erp_amount


@dataclass(frozen=True)
class UnitRule:
    erp_sku: str
    factor: Decimal  # ERP units in one storefront unit


@dataclass(frozen=True)
class ConvertedLine:
    erp_sku: str
    quantity: Decimal  # in ERP units
    unit_price: Decimal  # the storefront price per ERP unit, 4 decimals: what is compared with ERP prices
    line_total: Decimal  # the storefront line total (quantity × unit price), exact


def convert(quantity: Decimal, unit_price: Decimal, rule: UnitRule) -> ConvertedLine:
    if rule.factor <= 0:
        raise ValueError(f"unit factor for {rule.erp_sku} must be positive, got {rule.factor}")
    return ConvertedLine(
        erp_sku=rule.erp_sku,
        quantity=quantity * rule.factor,
        unit_price=erp_amount(unit_price / rule.factor),
        line_total=quantity * unit_price,
    )


def implied_factor(rule: UnitRule, primary: UnitRule | None, rate: Decimal | None) -> Decimal | None:
    """The factor the storefront's conversion `rate` implies for `rule`, when the unit is sent as the same
    ERP SKU as the product's primary unit (mapped by `primary`); None when there is nothing to compare."""
    if rate is None or primary is None or rule.erp_sku != primary.erp_sku:
        return None
    return rate * primary.factor


def places(value: Decimal) -> int:
    """Decimal places `value` needs (trailing zeros do not count)."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def erp_quantity_problem(quantity: Decimal) -> str | None:
    """Why the ERP cannot hold `quantity` on a sale line (it keeps 4 decimals), or None."""
    if quantity <= 0:
        return f"quantity {quantity} is not positive"
    if quantity != quantity.quantize(ERP_PLACES):
        return f"quantity {quantity.normalize()} has {places(quantity)} decimals; the ERP keeps 4"
    return None
