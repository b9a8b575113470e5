"""Storefront units → ERP SKUs and base quantities (DESIGN §4.1 step 3): `2 × case of 12` → 24.

Quantities and money are Decimal. The ERP keeps 4 decimals on prices; the storefront line total must
survive the conversion to the cent, so any difference is returned as `rounding`, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

ERP_PLACES = Decimal("0.0001")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class UnitRule:
    erp_sku: str
    factor: Decimal  # ERP units in one storefront unit


@dataclass(frozen=True)
class ConvertedLine:
    erp_sku: str
    quantity: Decimal
    price: Decimal  # per ERP unit, 4 decimals
    line_total: Decimal  # the storefront line total, exact to the cent
    rounding: Decimal  # line_total − quantity × price


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def convert(quantity: Decimal, unit_price: Decimal, rule: UnitRule) -> ConvertedLine:
    if rule.factor <= 0:
        raise ValueError(f"unit factor for {rule.erp_sku} must be positive, got {rule.factor}")
    erp_quantity = quantity * rule.factor
    line_total = money(quantity * unit_price)
    erp_price = (unit_price / rule.factor).quantize(ERP_PLACES, rounding=ROUND_HALF_UP)
    rounding = line_total - money(erp_quantity * erp_price)
    return ConvertedLine(rule.erp_sku, erp_quantity, erp_price, line_total, rounding)
