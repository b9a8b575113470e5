"""Price checks (DESIGN §4.1 step 4): the storefront price against the ERP tier price, per ERP unit.

`storefront` authority: the storefront price is sent; a difference beyond tolerance is a non-blocking drift.
`erp` authority: a difference beyond tolerance holds the order until finance decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.config import Tolerance


@dataclass(frozen=True)
class PriceComparison:
    erp_sku: str
    tier: str
    storefront_price: Decimal  # per ERP unit
    erp_price: Decimal  # the customer's tier price, per ERP unit
    allowed: Decimal

    @property
    def difference(self) -> Decimal:
        return self.storefront_price - self.erp_price

    @property
    def within_tolerance(self) -> bool:
        return abs(self.difference) <= self.allowed

    def describe(self) -> str:
        return (
            f"{self.erp_sku}: storefront {self.storefront_price} vs ERP tier {self.tier!r} {self.erp_price} "
            f"per unit (difference {self.difference:+}, tolerance {self.allowed})"
        )


def compare_price(
    erp_sku: str, tier: str, storefront_price: Decimal, erp_price: Decimal, tolerance: Tolerance
) -> PriceComparison:
    allowed = max(
        tolerance.absolute, (erp_price * tolerance.percent / Decimal(100)).quantize(Decimal("0.0001"))
    )
    return PriceComparison(erp_sku, tier, storefront_price, erp_price, allowed)
