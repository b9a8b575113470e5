"""The Cin7 sale webhook bodies (shared/adapters/cin7/webhook.py, reference §7): any bytes either give a
`SaleEvent` (event type, SaleID or task id, order number) or a `BadWebhook` naming the problem, never another
exception; the shipment and invoice events' other key names and the `dd/MM/yyyy` dates are read."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.adapters.cin7.webhook import (
    FULFILMENT_EVENTS,
    SALE_EVENTS,
    SALE_ROUTE,
    SaleEvent,
    Shipment,
    parse_sale_event,
    wanted_webhooks,
)
from shared.adapters.orocommerce.webhook import BadWebhook

TRACKING = "Sale/ShipmentTrackingNumberChanged"
SALE = "c3e1f0a2-7b54-4d0e-8a1c-55e2b9d7a901"
TASK = "9b7e2c11-0f3a-4e55-a2d4-7c1e6f0b3d22"
TENANT = "0c5b3c7e-0000-4000-8000-00000000ac01"
CIN7_ID = st.uuids().map(str)
NUMBER = st.text(min_size=1, max_size=20).filter(str.strip)
THIN = st.fixed_dictionaries(  # most sale events: {SaleID, SaleOrderNumber, EventType} and optional extras
    {"SaleID": CIN7_ID, "SaleOrderNumber": NUMBER, "EventType": st.sampled_from(sorted(SALE_EVENTS))},
    optional={"TaskID": CIN7_ID, "CustomerName": st.text(max_size=10), "DocumentNumber": NUMBER},
)
TASKED = st.fixed_dictionaries(  # Sale/ShipmentAuthorised and Sale/InvoiceAuthorised
    {
        "SaleTaskID": CIN7_ID,
        "TenantID": CIN7_ID,
        "OrderNumber": NUMBER,
        "EventType": st.sampled_from(["Sale/ShipmentAuthorised", "Sale/InvoiceAuthorised"]),
    },
    optional={"InvoiceNumber": NUMBER},
)


def _json(body: object) -> bytes:
    return json.dumps(body).encode()


@given(THIN)
def test_a_thin_event_names_its_sale_and_order_number(body: dict[str, str]) -> None:
    event = parse_sale_event(_json(body))
    assert (event.event_type, event.sale_id, event.order_number) == (
        body["EventType"],
        body["SaleID"],
        body["SaleOrderNumber"].strip(),
    )
    assert event.sale_or_task_id == body["SaleID"] and event.task_id == body.get("TaskID")


@given(TASKED)
def test_a_shipment_or_invoice_event_names_its_task_and_order_number(body: dict[str, str]) -> None:
    event = parse_sale_event(_json(body))
    assert event.sale_id is None and event.task_id == event.sale_or_task_id == body["SaleTaskID"]
    assert event.order_number == body["OrderNumber"].strip()
    assert event.invoice_number == (body["InvoiceNumber"].strip() if "InvoiceNumber" in body else None)


@given(st.binary(max_size=300))
def test_any_bytes_give_an_event_or_a_named_problem(raw: bytes) -> None:
    try:
        event = parse_sale_event(raw)
    except BadWebhook as err:
        assert str(err)
    else:
        assert event.event_type in SALE_EVENTS and event.sale_or_task_id


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=15,
    ),
    st.sampled_from(["SaleID", "SaleTaskID", "OrderNumber", "SaleOrderNumber", "Shipments", "EventType"]),
)
def test_any_json_in_any_field_gives_an_event_or_a_named_problem(value: object, key: str) -> None:
    base = {"SaleID": SALE, "SaleOrderNumber": "SO-1", "EventType": "Sale/ShipmentTrackingNumberChanged"}
    for body in (value, {**base, key: value}, {**base, "Shipments": [{"ShipmentDate": value}]}):
        try:
            parse_sale_event(_json(body))
        except BadWebhook as err:
            assert str(err)


def test_the_documented_tracking_body_gives_its_shipments_with_tenant_dates() -> None:
    body = {
        "SaleID": SALE,
        "TaskID": SALE,
        "SaleOrderNumber": "SO-01877",
        "SaleOrderDate": "10/07/2026",
        "CustomerName": "Acme Retail Pty Ltd",
        "TaskTypeSign": 0,
        "Shipments": [
            {
                "ShipmentDate": "11/07/2026",
                "TrackingNumber": "ST123456789AU",
                "TrackingUrl": "",
                "Carrier": "StarTrack",
            },
            {"ShipmentDate": "", "TrackingNumber": "ST2", "TrackingUrl": "", "Carrier": "StarTrack"},
        ],
        "EventType": "Sale/ShipmentTrackingNumberChanged",
    }
    assert parse_sale_event(_json(body)) == SaleEvent(
        event_type="Sale/ShipmentTrackingNumberChanged",
        sale_id=SALE,
        task_id=SALE,
        order_number="SO-01877",
        shipments=(
            Shipment("ST123456789AU", "StarTrack", date(2026, 7, 11)),
            Shipment("ST2", "StarTrack", None),
        ),
    )


def test_a_payment_event_names_the_invoice_paid() -> None:
    body = {
        "SaleID": SALE,
        "SaleOrderNumber": "SO-00001",
        "DocumentNumber": "INV-00001",
        "DocumentType": "Invoice",
        "DocumentDate": "29/01/2018",
        "AmountPercent": 100,
        "EventType": "Sale/FullPaymentReceived",
    }
    event = parse_sale_event(_json(body))
    assert (event.event_type, event.sale_id, event.document_number) == (
        "Sale/FullPaymentReceived",
        SALE,
        "INV-00001",
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (_json([{"SaleID": SALE}]), "must be a JSON object"),
        (_json({"SaleID": SALE, "SaleOrderNumber": "SO-1"}), "EventType: missing"),
        (_json({"SaleID": SALE, "EventType": "Customer/Updated"}), "EventType: 'Customer/Updated'"),
        (_json({"SaleOrderNumber": "SO-1", "EventType": "Sale/Voided"}), "neither SaleID nor SaleTaskID"),
        (
            _json({"SaleTaskID": TASK, "TenantID": TENANT, "EventType": "Sale/ShipmentAuthorised"}),
            "OrderNumber: missing",
        ),
        (_json({"SaleID": "1/../2", "EventType": "Sale/Voided"}), "SaleID: not a Cin7 ID"),
        (
            _json({"SaleTaskID": 42, "OrderNumber": "SO-1", "EventType": "Sale/InvoiceAuthorised"}),
            "SaleTaskID: not",
        ),
        (
            _json({"SaleID": SALE, "SaleOrderNumber": 7, "EventType": "Sale/Voided"}),
            "SaleOrderNumber: not a string",
        ),
        (
            _json({"SaleID": SALE, "SaleOrderNumber": "S" * 300, "EventType": "Sale/Voided"}),
            "longer than 256",
        ),
        (
            _json({"SaleID": SALE, "EventType": "Sale/ShipmentTrackingNumberChanged", "Shipments": {}}),
            "Shipments: not an array",
        ),
        (
            _json({"SaleID": SALE, "EventType": TRACKING, "Shipments": [{"ShipmentDate": "31/02/2026"}]}),
            r"Shipments\[0\]\.ShipmentDate",
        ),
        (
            _json({"SaleID": SALE, "EventType": TRACKING, "Shipments": [{"TrackingNumber": 5}]}),
            r"Shipments\[0\]\.TrackingNumber",
        ),
        (
            _json({"SaleID": SALE, "EventType": TRACKING, "Shipments": ["x"]}),
            r"Shipments\[0\]: an entry must be",
        ),
        (b"\xff", "not UTF-8"),
    ],
)
def test_a_body_that_cannot_be_used_is_named(body: bytes, problem: str) -> None:
    with pytest.raises(BadWebhook, match=problem):
        parse_sale_event(body)


def test_the_sale_webhooks_are_wanted_only_with_fulfilment_and_all_on_one_route() -> None:
    assert wanted_webhooks(stock_fast_path=False, prices_from_erp=False, customers=True) == [
        ("Customer/Updated", "/webhooks/cin7/customer")
    ]
    wanted = wanted_webhooks(stock_fast_path=False, prices_from_erp=False, fulfilment=True)
    assert wanted == [(event, SALE_ROUTE) for event in FULFILMENT_EVENTS]
    assert {e for e, _ in wanted} == {
        "Sale/ShipmentAuthorised",
        "Sale/ShipmentTrackingNumberChanged",
        "Sale/InvoiceAuthorised",
        "Sale/FullPaymentReceived",
        "Sale/Voided",
    }
    assert SALE_ROUTE == "/webhooks/cin7/sale"
