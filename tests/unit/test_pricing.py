"""Price comparison per ERP unit, with an absolute and a percentage tolerance."""

from decimal import Decimal as D

from shared.config import Tolerance
from shared.domain.pricing import compare_price


def test_prices_agree_when_difference_within_absolute_tolerance():
    c = compare_price("WID-100", "Contract", D("12.0050"), D("12.0000"), Tolerance(absolute=D("0.01")))
    assert c.within_tolerance and c.difference == D("0.0050")


def test_price_differs_when_beyond_tolerance():
    c = compare_price("GAD-200", "Contract", D("8.0000"), D("7.6000"), Tolerance(absolute=D("0.01")))
    assert not c.within_tolerance
    assert "difference +0.4000" in c.describe()


def test_percentage_tolerance_applies_when_larger_than_absolute():
    tol = Tolerance(absolute=D("0.01"), percent=D("6"))
    assert compare_price("GAD-200", "Contract", D("8.0000"), D("7.6000"), tol).within_tolerance
    assert not compare_price("GAD-200", "Contract", D("8.0000"), D("7.5000"), tol).within_tolerance
