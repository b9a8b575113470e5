"""Stock rules (DESIGN §4.2): availability summed over the configured locations, the buffer held back, clamped
at zero, converted to each storefront unit that carries inventory (rounded down), and only changes pushed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.stock import (
    AvailabilityRow,
    Buffer,
    StockLevel,
    UnitStock,
    changed_levels,
    plan_levels,
    sellable,
    sum_available,
    units_of,
)

D = Decimal
UNITS = {
    "WID-100": {"each": UnitStock("WID-100", D(1)), "case": UnitStock("WID-100", D(12))},
    "GAD-200": {"each": UnitStock("GAD-200", D(1)), "case": UnitStock("GAD-200-CS6", D(1))},
    "BOLT-300": {"each": UnitStock("BOLT-300", D(1)), "pallet": UnitStock("BOLT-300", D(480))},
}


def test_availability_is_summed_over_the_configured_locations_bins_and_batches_only():
    rows = [
        AvailabilityRow("WID-100", "Main Warehouse", D(10)),
        AvailabilityRow("WID-100", "Main Warehouse", D("2.5")),  # another bin or batch
        AvailabilityRow("WID-100", "Sydney DC", D(7)),
        AvailabilityRow("WID-100", "Returns", D(100)),  # not a location that sells
        AvailabilityRow("BOLT-300", "Returns", D(5)),
    ]
    assert sum_available(rows, ["Main Warehouse", "Sydney DC"]) == {"WID-100": D("19.5")}


@pytest.mark.parametrize(
    ("base", "factor", "units"),
    [
        (D(30), D(12), D(2)),
        (D(24), D(12), D(2)),
        (D(23), D(12), D(1)),
        (D(479), D(480), D(0)),
        (D(0), D(12), D(0)),
    ],
)
def test_base_units_become_whole_storefront_units_rounded_down(base, factor, units):
    assert units_of(base, factor) == units


def test_the_buffer_is_the_larger_of_the_fixed_amount_and_the_percentage():
    buffer = Buffer(default=D(5), percent=D(10), per_sku={"BOLT-300": D(200)})
    assert sellable("WID-100", D(30), buffer) == D(25)  # 5 > 3 (10 %)
    assert sellable("WID-100", D(300), buffer) == D(270)  # 30 (10 %) > 5
    assert sellable("BOLT-300", D(1000), buffer) == D(800)  # its own 200 > 100
    assert sellable("WID-100", D(4), buffer) == D(0)  # clamped at zero, never negative
    assert sellable("WID-100", D(-8), buffer) == D(0)


def test_a_buffer_out_of_range_is_refused_with_its_reason():
    with pytest.raises(ValueError, match="between 0 and 100"):
        Buffer(percent=D(101))
    with pytest.raises(ValueError, match="cannot be negative"):
        Buffer(per_sku={"WID-100": D(-1)})


def test_each_unit_that_carries_inventory_shows_the_same_base_stock_in_its_own_units():
    available = {"WID-100": D(30), "GAD-200": D(13), "GAD-200-CS6": D(4), "BOLT-300": D(1000)}
    plan = plan_levels(
        available,
        UNITS,
        {"WID-100": ["each", "case"], "GAD-200": ["each", "case"], "BOLT-300": ["each", "pallet"]},
        ["each", "case", "pallet"],
        Buffer(),
    )
    assert plan.levels == [
        StockLevel("WID-100", "case", D(2)),
        StockLevel("WID-100", "each", D(30)),
        StockLevel("GAD-200", "case", D(4)),  # a case sold as its own ERP SKU shows that SKU's stock
        StockLevel("GAD-200", "each", D(13)),
        StockLevel("BOLT-300", "each", D(1000)),
        StockLevel("BOLT-300", "pallet", D(2)),
    ]
    assert plan.problems == [] and plan.negative == {}


def test_only_the_configured_units_carry_inventory():
    plan = plan_levels({"WID-100": D(30)}, UNITS, {"WID-100": ["each", "case"]}, ["each"], Buffer())
    assert plan.levels == [StockLevel("WID-100", "each", D(30))]


def test_negative_availability_is_reported_and_shown_as_zero():
    plan = plan_levels({"WID-100": D(-3)}, UNITS, {"WID-100": ["each"]}, ["each"], Buffer())
    assert plan.levels == [StockLevel("WID-100", "each", D(0))]
    assert plan.negative == {"WID-100": D(-3)}


def test_units_that_cannot_be_set_are_named_not_skipped():
    plan = plan_levels(
        {"WID-100": D(30)},
        {**UNITS, "NEW-900": {"each": UnitStock("NEW-900", D(1))}},
        {
            "WID-100": ["each"],  # mapped in case, but the product has no case unit
            "GAD-200": ["each", "case"],  # neither ERP SKU is in the availability
            "KIT-700": ["each"],  # no mapping at all
        },
        ["each", "case"],
        Buffer(),
    )
    assert [(p.sku, p.unit) for p in plan.problems] == [
        ("WID-100", "case"),
        ("GAD-200", "case"),
        ("GAD-200", "each"),
        ("KIT-700", "each"),
    ]
    assert "lacks" in plan.problems[0].reason and "not in the ERP" in plan.problems[1].reason
    assert "no unit mapping" in plan.problems[3].reason
    assert plan.levels == [StockLevel("WID-100", "each", D(30))]


def test_only_changed_levels_are_pushed():
    levels = [StockLevel("WID-100", "each", D(30)), StockLevel("WID-100", "case", D(2))]
    assert changed_levels(levels, {("WID-100", "each"): D(30), ("WID-100", "case"): D(2)}) == []
    assert changed_levels(levels, {("WID-100", "each"): D(31)}) == levels  # one changed, one never pushed


quantities = st.decimals(min_value=-(10**6), max_value=10**7, places=4, allow_nan=False, allow_infinity=False)
factors = st.decimals(min_value=D("0.0001"), max_value=10**4, places=4, allow_nan=False, allow_infinity=False)
buffers = st.builds(
    Buffer,
    default=st.decimals(min_value=0, max_value=10**4, places=4, allow_nan=False, allow_infinity=False),
    percent=st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False),
)


@given(available=quantities, factor=factors, buffer=buffers)
def test_a_level_never_shows_more_than_can_ship_nor_a_whole_unit_less(available, factor, buffer):
    base = sellable("SKU", available, buffer)
    assert D(0) <= base <= max(available, D(0))
    level = units_of(base, factor)
    assert level == level.to_integral_value() and level >= 0
    assert level * factor <= base < (level + 1) * factor


@given(low=quantities, extra=quantities, buffer=buffers)
def test_more_available_never_shows_less(low, extra, buffer):
    high = low + abs(extra)
    assert sellable("SKU", high, buffer) >= sellable("SKU", low, buffer)


@given(
    rows=st.lists(
        st.builds(
            AvailabilityRow, st.sampled_from(["A", "B", "C"]), st.sampled_from(["L1", "L2", "L3"]), quantities
        ),
        max_size=30,
    )
)
def test_summing_keeps_every_row_of_a_configured_location_and_no_other(rows):
    totals = sum_available(rows, ["L1", "L2"])
    for sku in "ABC":
        expected = [r.available for r in rows if r.erp_sku == sku and r.location in ("L1", "L2")]
        assert totals.get(sku) == (sum(expected, D(0)) if expected else None)
