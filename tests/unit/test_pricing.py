"""Price comparison per ERP unit, with an absolute and a percentage tolerance."""

from decimal import Decimal as D

from shared.config import Tolerance
from shared.domain.orders import ErpCustomer
from shared.domain.pricing import compare_price, customer_price


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


def _customer(**kw) -> ErpCustomer:
    return ErpCustomer(id="c1", name="Acme", price_tier="Wholesale", **kw)


def test_the_customer_price_is_its_tier_less_its_discount():
    tiers = {"Wholesale": D("8.00")}
    assert customer_price("GAD-200", _customer(discount=D("10")), tiers) == (
        "Wholesale less 10% customer discount",
        D("7.2000"),
    )
    assert customer_price("GAD-200", _customer(), tiers) == ("Wholesale", D("8.00"))


def test_a_customer_specific_price_wins_over_the_tier_and_its_discount():
    customer = _customer(discount=D("10"), prices={"WID-100": D("11.00")})
    assert customer_price("WID-100", customer, {"Wholesale": D("12.50")}) == (
        "Acme customer price",
        D("11.00"),
    )
    assert customer_price("GAD-200", customer, {}) is None  # no tier price, no own price: nothing to check
