"""Storefront units → ERP SKUs and base quantities (DESIGN §4.1 step 3): `2 × case of 12` → 24.

Quantities and money are Decimal. How the line's money lands on the ERP's 4-decimal prices, exactly to
the cent, is `shared/domain/totals.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.domain.totals import erp_amount, money


@dataclass(frozen=True)
class UnitRule:
    erp_sku: str
    factor: Decimal  # ERP units in one storefront unit


@dataclass(frozen=True)
class ConvertedLine:
    erp_sku: str
    quantity: Decimal  # in ERP units
    unit_price: Decimal  # the storefront price per ERP unit, 4 decimals: what is compared with ERP prices
    line_total: Decimal  # the storefront line total, to the cent


def convert(quantity: Decimal, unit_price: Decimal, rule: UnitRule) -> ConvertedLine:
    if rule.factor <= 0:
        raise ValueError(f"unit factor for {rule.erp_sku} must be positive, got {rule.factor}")
    return ConvertedLine(
        erp_sku=rule.erp_sku,
        quantity=quantity * rule.factor,
        unit_price=erp_amount(unit_price / rule.factor),
        line_total=money(quantity * unit_price),
    )
