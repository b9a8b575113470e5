"""Which currency rate a sale needs, or why the order cannot become one (DESIGN §4.1).

A customer is invoiced in one currency. An order in another is not converted silently: finance decides.
A customer whose currency is not the ERP account's base currency needs the rate between the two on every
sale; it comes from configuration (set by finance), never an assumed 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CurrencyCheck:
    rate: Decimal | None = None  # the rate to send; None when the customer pays in the base currency
    code: str | None = None  # why the order is held (an exceptions-catalogue code), if it is
    detail: str = ""


def check_currency(
    order_currency: str,
    customer: str,
    customer_currency: str | None,
    base_currency: str | None,
    rates: Mapping[str, Decimal],
) -> CurrencyCheck:
    """`customer_currency` None: not known, nothing to check. `base_currency` None: not configured, so a
    rate is sent only where one is configured for the customer's currency."""
    if not customer_currency:
        return CurrencyCheck()
    if order_currency.upper() != customer_currency.upper():
        return CurrencyCheck(
            code="CURRENCY_MISMATCH",
            detail=f"the order is in {order_currency}, ERP customer {customer} is invoiced in {customer_currency}",
        )
    currency = customer_currency.upper()
    if base_currency is not None and currency == base_currency.upper():
        return CurrencyCheck()
    rate = rates.get(currency)
    if rate is None and base_currency is not None:
        return CurrencyCheck(
            code="CURRENCY_RATE_MISSING",
            detail=(
                f"ERP customer {customer} is invoiced in {currency}, not the base currency {base_currency}, "
                f"and erp.currency_rates has no rate for {currency}"
            ),
        )
    return CurrencyCheck(rate=rate)
