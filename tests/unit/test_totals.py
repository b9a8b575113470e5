"""Order money in ERP terms: discounts allocated to the cent, prices rounded down, rounding never lost."""

from decimal import Decimal as D

import pytest

from shared.domain.totals import allocate, price_lines


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
