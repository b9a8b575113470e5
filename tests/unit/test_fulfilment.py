"""Fulfilment rules (shared/domain/fulfilment.py): shipped quantities in Oro units (cases and eaches of one SKU),
the shipping status, never moving backwards, and Cin7's tenant dates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.fulfilment import (
    SHIPPING,
    STAGES,
    LineUnits,
    forward,
    shipped_per_line,
    stage,
    tenant_date,
)

D = Decimal
# 6 eaches and 2 cases of 12 of WID-100 (30 base units), and 40 BOLT-300
ORDER = [
    LineUnits("1", "WID-100", D(1), D(6)),
    LineUnits("2", "WID-100", D(12), D(2)),
    LineUnits("3", "BOLT-300", D(1), D(40)),
]


def test_nothing_shipped():
    progress = shipped_per_line(ORDER, {})
    assert progress.status == "not_shipped"
    assert [line.shipped for line in progress.lines] == [0, 0, 0]


def test_a_partial_shipment_in_eaches_and_cases():
    progress = shipped_per_line(ORDER, {"WID-100": D(18)})  # the 6 eaches, then one case of 12
    assert [line.shipped for line in progress.lines] == [6, 1, 0]
    assert progress.status == "partially_shipped"


def test_half_a_case_is_half_a_case():
    progress = shipped_per_line(ORDER, {"WID-100": D(12)})
    assert [line.shipped for line in progress.lines] == [6, D("0.5"), 0]


def test_everything_shipped_and_what_is_beyond_the_order_is_reported():
    progress = shipped_per_line(ORDER, {"WID-100": D(31), "BOLT-300": D(40), "GAD-200": D(2)})
    assert progress.status == "shipped"
    assert progress.extra == {"WID-100": D(1), "GAD-200": D(2)}


@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B"]), st.sampled_from([1, 6, 12]), st.integers(1, 50)), min_size=1
    ),
    st.dictionaries(st.sampled_from(["A", "B", "C"]), st.integers(0, 2000)),
)
def test_shipped_base_units_are_conserved_and_never_exceed_a_line(lines, shipped):
    order = [LineUnits(str(i), sku, D(f), D(q)) for i, (sku, f, q) in enumerate(lines)]
    progress = shipped_per_line(order, {k: D(v) for k, v in shipped.items()})
    for line, units in zip(progress.lines, order, strict=True):
        assert 0 <= line.shipped <= units.quantity
    for sku, total in shipped.items():
        given_out = sum(
            ln.shipped_base for ln, u in zip(progress.lines, order, strict=True) if u.erp_sku == sku
        )
        assert given_out + progress.extra.get(sku, 0) == total
    if progress.status == "shipped":
        assert all(line.complete for line in progress.lines)


@given(st.lists(st.sampled_from(SHIPPING), min_size=1, max_size=20))
def test_the_shipping_status_never_moves_backwards_whatever_the_order_of_events(events):
    current = None
    for event in events:
        new = forward(current, event, SHIPPING)
        if current is not None:
            assert SHIPPING.index(new) >= SHIPPING.index(current)
        current = new
    assert current == max(events, key=SHIPPING.index)


def test_the_order_to_cash_stage():
    assert stage(shipping="partially_shipped", invoiced=False, paid=False) == "open"
    assert stage(shipping="shipped", invoiced=False, paid=False) == "shipped"
    assert stage(shipping="partially_shipped", invoiced=True, paid=False) == "invoiced"
    assert stage(shipping="not_shipped", invoiced=True, paid=True) == "paid"
    assert forward("paid", "shipped", STAGES) == "paid"


def test_tenant_dates():
    assert tenant_date("12/06/2018") == datetime(2018, 6, 12, tzinfo=UTC)
    assert tenant_date("2018-06-12") is None
    assert tenant_date("31/02/2018") is None
    assert tenant_date(None) is None
