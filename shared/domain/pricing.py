"""Price checks (DESIGN §4.1 step 4): the storefront price against the ERP price, per ERP unit.

`storefront` authority: the storefront price is sent; a difference from the customer's tier price beyond
tolerance is a non-blocking drift (one per SKU and tier).
`erp` authority: the storefront price is compared with what the ERP would charge this customer
(`customer_price`); a difference beyond tolerance holds the order until finance decides.

Each storefront line is checked on its own, before lines of one ERP SKU are merged into one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.config import Tolerance
from shared.domain.orders import ErpCustomer
from shared.domain.totals import erp_amount


@dataclass(frozen=True)
class PriceComparison:
    erp_sku: str
    tier: str  # where the ERP price comes from: a tier name, or the customer's own price or discount
    storefront_price: Decimal  # per ERP unit
    erp_price: Decimal  # the customer's ERP price, per ERP unit
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


def customer_price(
    erp_sku: str, customer: ErpCustomer, tier_prices: Mapping[str, Decimal]
) -> tuple[str, Decimal] | None:
    """What the ERP charges `customer` for one unit of `erp_sku`, and where that comes from, or None when it
    holds no price for them: the customer's own price for the SKU where one exists (taken as it is, the
    discount not applied again), else its tier's price less its discount (percent), to 4 decimals."""
    own = customer.prices.get(erp_sku)
    if own is not None:
        return f"{customer.name} customer price", own
    if not customer.price_tier or customer.price_tier not in tier_prices:
        return None
    price = tier_prices[customer.price_tier]
    if not customer.discount:
        return customer.price_tier, price
    discounted = erp_amount(price * (Decimal(100) - customer.discount) / Decimal(100))
    return f"{customer.price_tier} less {customer.discount.normalize():f}% customer discount", discounted
