"""Prices between a storefront price list and an ERP tier (shared/domain/prices.py)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.prices import (
    StorefrontPrice,
    UnitPriceRule,
    four_places,
    price_changes,
    storefront_prices,
    tier_prices,
)

D = Decimal
UNITS = {
    "WID-100": {
        "each": UnitPriceRule("WID-100", D(1)),
        "case": UnitPriceRule("WID-100", D(12)),
        "pallet": UnitPriceRule("WID-100", D(480)),
    },
    "GAD-200": {"each": UnitPriceRule("GAD-200", D(1)), "case": UnitPriceRule("GAD-200-CASE6", D(1))},
}


def p(sku: str, unit: str, value: str, quantity: int = 1, currency: str = "USD", pid: str | None = None):
    return StorefrontPrice(sku, unit, D(quantity), D(value), currency, pid)


def test_the_tier_takes_the_base_unit_price_and_a_case_sku_its_own():
    plan = tier_prices(
        [p("WID-100", "each", "12.00"), p("WID-100", "case", "144.00"), p("GAD-200", "case", "45.60")],
        UNITS,
        "USD",
    )
    assert plan.prices == {"WID-100": D("12.0000"), "GAD-200-CASE6": D("45.6000")}
    assert plan.problems == []


def test_a_case_price_alone_is_divided_by_its_factor_to_four_places():
    plan = tier_prices([p("WID-100", "case", "100.00")], UNITS, "USD")
    assert plan.prices == {"WID-100": D("8.3333")}


def test_quantity_breaks_and_discounted_cases_are_reported_never_dropped_silently():
    plan = tier_prices(
        [
            p("WID-100", "each", "12.00"),
            p("WID-100", "each", "11.00", quantity=50),
            p("WID-100", "case", "138.00"),
        ],
        UNITS,
        "USD",
    )
    assert plan.prices == {"WID-100": D("12.0000")}
    kinds = sorted((pr.unit, pr.kind) for pr in plan.problems)
    assert kinds == [("case", "unit_disagrees"), ("each", "quantity_break")]
    assert "from 50" in next(pr.detail for pr in plan.problems if pr.kind == "quantity_break")


def test_other_currencies_and_unmapped_units_are_not_sent():
    plan = tier_prices([p("WID-100", "each", "9", currency="EUR"), p("BOLT-300", "each", "1")], UNITS, "USD")
    assert plan.prices == {} and [pr.kind for pr in plan.problems] == ["unmapped"]


def test_a_tier_becomes_a_price_in_each_unit_the_product_has():
    prices = storefront_prices(
        {"WID-100": D("11.5"), "GAD-200": D("8"), "GAD-200-CASE6": D("45.6")},
        UNITS,
        {"WID-100": ["each", "case"], "GAD-200": ["each", "case"]},
        "USD",
    )
    assert [(x.sku, x.unit, x.value) for x in prices] == [
        ("GAD-200", "case", D("45.6000")),
        ("GAD-200", "each", D("8.0000")),
        ("WID-100", "case", D("138.0000")),
        ("WID-100", "each", D("11.5000")),
    ]


def test_only_differences_are_written_and_what_the_storefront_alone_holds_is_left():
    held = [p("WID-100", "each", "12.0000", pid="a-1"), p("WID-100", "each", "11.00", quantity=50, pid="b-1")]
    wanted = [p("WID-100", "each", "12.00"), p("WID-100", "case", "144")]
    changes = price_changes(wanted, held)
    assert changes.updates == [] and [(c.unit, c.value) for c in changes.creates] == [("case", D(144))]
    changes = price_changes([p("WID-100", "each", "12.5")], held)
    assert changes.updates == [("a-1", D("12.5000"))] and changes.creates == []


PRICE = st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=4)
FACTOR = st.integers(1, 1000).map(D)


@given(PRICE, FACTOR)
def test_a_tier_price_round_trips_through_any_unit_within_rounding(tier: Decimal, factor: Decimal):
    units = {"S": {"u": UnitPriceRule("S", factor)}}
    (price,) = storefront_prices({"S": tier}, units, {"S": ["u"]}, "USD")
    assert price.value == four_places(tier * factor)
    back = tier_prices([price], units, "USD").prices["S"]
    assert abs(back - tier) <= D("0.00005") + D("0.00005") / factor  # only the 4-decimal rounding
    assert back == back.quantize(D("0.0001"))


@given(st.lists(st.tuples(st.sampled_from(["each", "case", "pallet"]), PRICE, st.integers(1, 3)), max_size=8))
def test_every_storefront_price_is_sent_or_reported(rows):
    prices = [p("WID-100", unit, str(value), quantity=q) for unit, value, q in rows]
    plan = tier_prices(prices, UNITS, "USD")
    reported = {(pr.unit, pr.kind) for pr in plan.problems}
    for price in prices:
        if price.quantity > 1:
            assert (price.unit, "quantity_break") in reported
    if any(x.quantity == 1 for x in prices):
        assert "WID-100" in plan.prices


def test_the_off_peak_window_wraps_midnight_and_none_means_always():
    from datetime import UTC, datetime

    from shared.domain.prices import in_window

    at = lambda h, m=0: datetime(2026, 12, 7, h, m, tzinfo=UTC)  # noqa: E731
    assert in_window(None, at(12))
    assert in_window("22:00-06:00", at(23)) and in_window("22:00-06:00", at(5, 59))
    assert not in_window("22:00-06:00", at(6)) and not in_window("22:00-06:00", at(12))
    assert in_window("01:30-02:00", at(1, 30)) and not in_window("01:30-02:00", at(2))
