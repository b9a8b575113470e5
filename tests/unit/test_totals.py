"""Order money in ERP terms: discounts allocated to the cent, prices rounded down, rounding never lost."""

from decimal import Decimal as D

import pytest

from shared.domain.totals import allocate, merge_lines, price_lines


def test_hundred_cases_of_twelve_keep_the_total_exact_through_a_rounding_remainder():
    # 100 cases of 12 at 100.00: 1200 units at 8.3333… per unit
    [line] = price_lines([(D(1200), D("10000.00"))])
    assert line.price == D("8.3333")
    assert line.erp_net == D("9999.9600")
    assert line.rounding == D("0.0400")
    assert line.erp_net + line.rounding == D("10000.00")


def test_a_pallet_of_480_at_1000_leaves_a_rounding_below_a_cent_but_never_drops_it():
    [line] = price_lines([(D(480), D("1000.00"))])
    assert line.price == D("2.0833")
    assert line.rounding == D("0.0160")
    assert line.erp_net + line.rounding == D("1000.00")


def test_rounding_is_never_negative_because_prices_round_down():
    for qty, total in [(D(3), D("1.00")), (D(7), D("10.00")), (D(3000), D("10.00")), (D(6), D("0.05"))]:
        [line] = price_lines([(qty, total)])
        assert line.rounding >= 0
        assert line.erp_net <= line.net
        assert line.erp_net + line.rounding == total


def test_a_line_that_divides_has_no_rounding():
    [line] = price_lines([(D(24), D("288.00"))])
    assert (line.price, line.rounding) == (D("12.0000"), D("0"))


def test_discount_is_allocated_in_proportion_and_sums_to_the_cent():
    lines = price_lines([(D(1), D("10.00")), (D(1), D("10.00")), (D(1), D("10.00"))], discount=D("1.00"))
    assert [ln.discount for ln in lines] == [D("0.34"), D("0.33"), D("0.33")]
    assert sum(ln.net for ln in lines) == D("29.00")
    assert sum(ln.erp_net + ln.rounding for ln in lines) == D("29.00")


def test_allocation_gives_leftover_cents_to_the_largest_remainders():
    assert allocate(D("0.05"), [D("1"), D("3")]) == [D("0.01"), D("0.04")]
    assert allocate(D("0"), [D("5"), D("5")]) == [D("0.00"), D("0.00")]


def test_a_discount_larger_than_the_order_is_refused():
    with pytest.raises(ValueError, match="exceeds the lines' total"):
        price_lines([(D(1), D("5.00"))], discount=D("6.00"))
    with pytest.raises(ValueError, match="negative"):
        price_lines([(D(1), D("5.00"))], discount=D("-1"))


def test_four_decimal_line_totals_are_kept_as_the_storefront_keeps_them():
    # three lines of 3 × 0.2375: 0.7125 each, 2.1375 in all (not 0.71 × 3 = 2.13)
    lines = price_lines([(D(3), D("0.7125"))] * 3)
    assert [(ln.price, ln.net, ln.rounding) for ln in lines] == [(D("0.2375"), D("0.7125"), D(0))] * 3
    assert sum(ln.erp_net for ln in lines) == D("2.1375")


def test_line_totals_beyond_four_decimals_still_sum_to_the_subtotal_at_four():
    # 0.5 × 0.2375 = 0.11875 twice: 0.2375 in all, one line takes the rounding's extra 0.0001
    lines = price_lines([(D("0.5"), D("0.11875")), (D("0.5"), D("0.11875"))])
    assert sum(ln.net for ln in lines) == D("0.2375")


def test_lines_of_one_sku_merge_into_one_in_first_seen_order():
    merged = merge_lines(
        [("WID-100", D(5), D("60.00")), ("GAD-200", D(1), D("8.00")), ("WID-100", D(12), D("143.95"))]
    )
    assert merged == [("WID-100", D(17), D("203.95")), ("GAD-200", D(1), D("8.00"))]
