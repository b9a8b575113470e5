"""Unit conversion: storefront units become ERP quantities and prices per ERP unit."""

from decimal import Decimal as D

import pytest

from shared.domain.units import UnitRule, convert, erp_quantity_problem, implied_factor


def test_two_cases_of_twelve_become_24_base_units():
    line = convert(D("2"), D("144.00"), UnitRule("WID-100", D("12")))
    assert line.erp_sku == "WID-100"
    assert line.quantity == D("24")
    assert line.unit_price == D("12.0000")
    assert line.line_total == D("288.00")


def test_case_sku_mapping_keeps_quantity_when_factor_is_one():
    line = convert(D("3"), D("46.00"), UnitRule("GAD-200-CASE6", D("1")))
    assert (line.quantity, line.unit_price) == (D("3"), D("46.0000"))


def test_price_per_base_unit_is_rounded_to_four_places_when_it_does_not_divide():
    line = convert(D("7"), D("10.00"), UnitRule("X", D("7")))
    assert line.unit_price == D("1.4286")  # 10 / 7, for comparison with the ERP's tier price
    assert line.line_total == D("70.00")  # the storefront's own total, untouched


def test_non_positive_factor_is_rejected():
    with pytest.raises(ValueError, match="must be positive"):
        convert(D("1"), D("1"), UnitRule("X", D("0")))


def test_a_unit_sent_as_the_primary_units_sku_implies_its_conversion_rate_times_the_primary_factor():
    each = UnitRule("WID-100", D(1))
    assert implied_factor(UnitRule("WID-100", D(10)), each, D(12)) == D(12)  # mapped 10: disagrees
    assert implied_factor(UnitRule("WID-100", D(12)), each, D(12)) == D(12)


def test_a_unit_sent_as_a_product_of_its_own_or_without_a_rate_is_not_compared():
    each = UnitRule("GAD-200", D(1))
    assert implied_factor(UnitRule("GAD-200-CASE6", D(1)), each, D(6)) is None
    assert implied_factor(UnitRule("GAD-200", D(6)), each, None) is None
    assert implied_factor(UnitRule("GAD-200", D(6)), None, D(6)) is None


def test_a_quantity_beyond_four_decimals_or_not_positive_is_named():
    assert erp_quantity_problem(D("24.5000")) is None
    assert "5 decimals" in (erp_quantity_problem(D("40.00005")) or "")
    assert "not positive" in (erp_quantity_problem(D(0)) or "")
