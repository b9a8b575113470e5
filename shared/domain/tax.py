"""Tax on the order's amounts, exact to the cent, for tax-exclusive and tax-inclusive ERP tax rules.

The storefront's prices exclude tax. Under a tax-exclusive rule a sale line carries its net price and the
tax beside it. Under a tax-inclusive rule the line's price holds the tax: the gross sent is net + tax, and
the ERP splits the tax back out of it as gross × p / (100 + p). That split gives back exactly the tax
added, to the cent: with t = round(net × p/100), gross × p/(100+p) = net × p/100 + (t − net × p/100) ×
p/(100+p), which lies between net × p/100 and t, so it rounds to t. Either way the sale's total is net + tax.

The storefront computes its own tax too; the sale's tax may differ from it by rounding (a cent), no more.
"""

from __future__ import annotations

from decimal import Decimal

from shared.domain.totals import CENT, money

HUNDRED = Decimal(100)


def tax_on(net: Decimal, percent: Decimal) -> Decimal:
    """The tax on a tax-exclusive amount, to the cent (half up)."""
    return money(net * percent / HUNDRED)


def tax_within(gross: Decimal, percent: Decimal) -> Decimal:
    """The tax a tax-inclusive amount holds, to the cent: what the ERP splits out of it."""
    return money(gross * percent / (HUNDRED + percent))


def tax_difference(sale_tax: Decimal, storefront_tax: Decimal | None) -> Decimal | None:
    """How far the sale's tax is from the storefront's when that is beyond a cent; None when they agree
    (or the storefront computed none to compare with)."""
    if storefront_tax is None:
        return None
    difference = sale_tax - money(storefront_tax)
    return difference if abs(difference) > CENT else None
