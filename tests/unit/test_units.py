"""Unit conversion: storefront units become ERP quantities; totals survive to the cent."""

from decimal import Decimal as D

import pytest

from shared.domain.units import UnitRule, convert


def test_two_cases_of_twelve_become_24_base_units():
    line = convert(D("2"), D("144.00"), UnitRule("WID-100", D("12")))
    assert line.erp_sku == "WID-100"
    assert line.quantity == D("24")
    assert line.price == D("12.0000")
    assert line.line_total == D("288.00")
    assert line.rounding == 0


def test_case_sku_mapping_keeps_quantity_when_factor_is_one():
    line = convert(D("3"), D("46.00"), UnitRule("GAD-200-CASE6", D("1")))
    assert (line.quantity, line.price) == (D("3"), D("46.0000"))


def test_rounding_is_recorded_when_price_per_base_unit_does_not_divide():
    # 7 cases of 7 at 10.00: 10/7 = 1.4286 per unit; 49 × 1.4286 = 70.0014 → 70.00, total 70.00 exact
    line = convert(D("7"), D("10.00"), UnitRule("X", D("7")))
    assert line.price == D("1.4286")
    assert line.line_total == D("70.00")
    assert line.quantity * line.price + line.rounding == pytest.approx(line.line_total, abs=D("0.01"))


def test_rounding_nonzero_when_cents_drift():
    line = convert(D("1"), D("1.00"), UnitRule("X", D("3")))  # 0.3333 × 3 = 0.9999 → 1.00
    assert line.price == D("0.3333")
    assert line.line_total == D("1.00")
    assert line.rounding == D("0.00")
    line = convert(D("10"), D("1.00"), UnitRule("X", D("300")))  # 0.0033 × 3000 = 9.90
    assert line.rounding == D("0.10")


def test_non_positive_factor_is_rejected():
    with pytest.raises(ValueError, match="must be positive"):
        convert(D("1"), D("1"), UnitRule("X", D("0")))
