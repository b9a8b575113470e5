"""Reading held orders' reasons for the release: which SKU and unit, which customer, whose job it is."""

from __future__ import annotations

from cli.orders_cmd import describe_event, when
from shared.flows.release import HeldOrder, owner_of, reason_code, unmapped_customer, unmapped_unit


def test_reason_code_is_the_text_before_the_first_colon_when_present():
    assert reason_code("UOM_UNMAPPED: WID-100 in unit 'pallet' has no ERP mapping") == "UOM_UNMAPPED"
    assert reason_code("no code here") == ""


def test_unmapped_unit_reads_the_sku_and_unit_when_the_reason_is_uom_unmapped():
    assert unmapped_unit("UOM_UNMAPPED: WID-100 in unit 'pallet' has no ERP mapping") == ("WID-100", "pallet")
    assert unmapped_unit('UOM_UNMAPPED: A B 7 in unit "it\'s" has no ERP mapping') == ("A B 7", "it's")


def test_unmapped_unit_is_none_when_the_reason_is_another_code_or_does_not_parse():
    assert unmapped_unit("TAX_MISMATCH: WID-100 in unit 'pallet' has no ERP mapping") is None
    assert unmapped_unit("UOM_UNMAPPED: something else entirely") is None


def test_unmapped_customer_reads_the_storefront_customer_when_the_reason_is_customer_unmapped():
    reason = "CUSTOMER_UNMAPPED: no ERP customer for storefront customer 42 or its parents"
    assert unmapped_customer(reason) == "42"
    assert unmapped_customer("CUSTOMER_UNMAPPED: unreadable") is None
    assert unmapped_customer("UOM_UNMAPPED: storefront customer 42") is None


def _held(**kw) -> HeldOrder:
    base = {"order_id": "1", "version": "v1", "reasons": (), "held_at": "t1"}
    return HeldOrder(**{**base, **kw})


def test_held_order_customers_are_the_recorded_path_when_the_flow_records_one():
    reason = "CUSTOMER_UNMAPPED: no ERP customer for storefront customer 9 or its parents"
    assert _held(reasons=(reason,)).customers == ("9",)
    assert _held(reasons=(reason,), customer_id="8").customers == ("8",)
    assert _held(reasons=(reason,), customer_path=("9", "5", "1")).customers == ("9", "5", "1")
    assert _held(reasons=("UOM_UNMAPPED: X in unit 'y' has no ERP mapping",)).customers == ()


def test_owner_is_the_catalogue_owner_when_the_code_is_catalogued():
    assert owner_of("CUSTOMER_UNMAPPED") == "finance"
    assert owner_of("UOM_UNMAPPED") == "operations"
    assert owner_of("PENDING_APPROVAL") is None


def test_timeline_events_read_as_text_when_shown():
    assert describe_event(
        {"at": "x", "kind": "released", "by": "cli:ann", "accept_storefront_price": True, "because": ["b"]}
    ) == ["by cli:ann, storefront prices accepted", "because b"]
    assert describe_event({"at": "x", "kind": "processed", "outcome": "held", "erp_calls": 2}) == [
        "held, 2 ERP call(s)"
    ]
    assert describe_event({"at": "x", "kind": "something_new", "b": 2, "a": 1}) == ["a=1, b=2"]
    assert when("2026-05-01T10:00:00.123456Z") == "2026-05-01 10:00:00.123"
