"""The order header's rules in the domain: tax on exclusive and inclusive amounts, the storefront tax check,
and which currency rate a sale needs (or why it cannot have one)."""

from decimal import Decimal as D

import pytest

from shared.domain.currency import check_currency
from shared.domain.tax import tax_difference, tax_on, tax_within
from shared.domain.totals import price_lines


def test_tax_split_out_of_a_tax_inclusive_gross_is_the_tax_that_was_added_to_the_cent():
    # gross = net + round(net × p), and the ERP takes round(gross × p / (100 + p)) back out of it
    for percent in (D("10"), D("15"), D("7.25"), D("20"), D("0")):
        for cents in range(1, 5000, 7):
            net = D(cents) / 100
            tax = tax_on(net, percent)
            assert tax_within(net + tax, percent) == tax, (net, percent)


def test_tax_inclusive_line_priced_from_its_gross_keeps_the_total_exact_through_the_rounding():
    # one case of 12 at 100.00, 10 %: gross 110.00 → 9.1666 an each, 0.0008 left for the rounding charge
    net = D("100.00")
    tax = tax_on(net, D(10))
    [line] = price_lines([(D(12), net + tax)])
    assert (tax, line.price, line.erp_net, line.rounding) == (
        D("10.00"),
        D("9.1666"),
        D("109.9992"),
        D("0.0008"),
    )
    assert tax_within(line.erp_net + line.rounding, D(10)) == tax


@pytest.mark.parametrize(
    "sale, storefront, difference",
    [
        (D("12.50"), None, None),  # the storefront computed no tax: nothing to compare
        (D("12.50"), D("12.5000"), None),
        (D("12.50"), D("12.49"), None),  # a cent of rounding is tolerated
        (D("12.50"), D("12.51"), None),
        (D("12.50"), D("12.48"), D("0.02")),
        (D("12.50"), D("10.00"), D("2.50")),
        (D("0.00"), D("0.02"), D("-0.02")),
    ],
)
def test_sale_tax_differs_from_the_storefronts_only_beyond_a_cent(sale, storefront, difference):
    assert tax_difference(sale, storefront) == difference


def test_order_in_another_currency_than_its_customer_is_held_for_finance():
    check = check_currency("EUR", "Acme", "USD", "USD", {})
    assert check.code == "CURRENCY_MISMATCH" and "EUR" in check.detail and "USD" in check.detail
    assert check.rate is None


def test_customer_in_the_base_currency_needs_no_rate():
    assert check_currency("USD", "Acme", "USD", "USD", {"NZD": D("1.7")}).rate is None
    assert check_currency("USD", "Acme", "USD", "USD", {}).code is None


def test_customer_outside_the_base_currency_gets_the_configured_rate_and_never_a_silent_one():
    assert check_currency("NZD", "Kiwi", "NZD", "USD", {"NZD": D("1.71234")}).rate == D("1.71234")
    missing = check_currency("GBP", "Brit", "GBP", "USD", {"NZD": D("1.7")})
    assert (missing.code, missing.rate) == ("CURRENCY_RATE_MISSING", None)
    assert "GBP" in missing.detail and "erp.currency_rates" in missing.detail


def test_unknown_customer_currency_or_base_is_not_guessed():
    assert check_currency("EUR", "Acme", None, "USD", {}).code is None  # nothing known to compare
    # no base configured: a configured rate is sent, else none (the ERP itself refuses if it needs one)
    assert check_currency("NZD", "Kiwi", "NZD", None, {"NZD": D("1.7")}).rate == D("1.7")
    assert check_currency("NZD", "Kiwi", "NZD", None, {}).code is None
