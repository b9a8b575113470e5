"""The sandbox Cin7 Core v2 API's order-to-cash half over real HTTP: partial shipments, invoices, payments,
the sale-level statuses and `saleList?UpdatedSince=`, checked against reference/cin7-core-api.md §2 and §7."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx

from shared.adapters.cin7.models import parse_cin7_time
from tests.fixtures.cin7_sandbox import WebhookReceiver
from tests.integration.test_sandbox_cin7 import create_sale, line, post_order, register, sale_row, send

SALE_EVENTS = (
    "Sale/ShipmentAuthorised",
    "Sale/ShipmentTrackingNumberChanged",
    "Sale/InvoiceAuthorised",
    "Sale/PartialPaymentReceived",
    "Sale/FullPaymentReceived",
)


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def ship_part(client: httpx.Client, task_id: str, quantity: int, tracking: str) -> dict:
    """Pick `quantity` WID-100 on the fulfilment `task_id`, pack it in one box and ship that box."""
    ok(
        send(
            client,
            "POST",
            "sale/fulfilment/pick",
            {"TaskID": task_id, "Status": "AUTHORISED", "Lines": [{"SKU": "WID-100", "Quantity": quantity}]},
        )
    )
    ok(send(client, "POST", "sale/fulfilment/pack", {"TaskID": task_id, "Status": "AUTHORISED"}))
    return ok(
        send(
            client,
            "POST",
            "sale/fulfilment/ship",
            {
                "TaskID": task_id,
                "Status": "AUTHORISED",
                "Lines": [
                    {"Carrier": "StarTrack", "TrackingNumber": tracking, "Box": "1", "IsShipped": True}
                ],
            },
        )
    )


def test_a_sale_ships_in_two_parts_each_with_its_own_task_and_tracking(
    cin7_client: httpx.Client, cin7_demo: dict, cin7_webhook_receiver: WebhookReceiver
) -> None:
    for event_type in SALE_EVENTS:
        register(cin7_client, cin7_webhook_receiver.url, event_type)
    sale = create_sale(cin7_client, cin7_demo, "oro:order:31")
    ok(post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 12, "12.0")]))

    assert ship_part(cin7_client, sale["ID"], 5, "ST-A")["Status"] == "AUTHORISED"
    row = sale_row(cin7_client, "oro:order:31")
    assert (row["CombinedShippingStatus"], row["FulFilmentStatus"]) == (
        "PARTIALLY SHIPPED",
        "PARTIALLY FULFILLED",
    )

    second = ok(send(cin7_client, "POST", "sale/fulfilment", {"SaleID": sale["ID"]}))
    assert second["TaskID"] != sale["ID"] and second["FulfillmentNumber"] == 2
    ship_part(cin7_client, second["TaskID"], 7, "ST-B")
    row = sale_row(cin7_client, "oro:order:31")
    assert (row["CombinedShippingStatus"], row["FulFilmentStatus"]) == ("SHIPPED", "FULFILLED")
    assert row["Type"] == "Advanced Sale" and row["CombinedTrackingNumbers"] == "ST-A, ST-B"

    fulfilments = ok(cin7_client.get("sale/fulfilment", params={"SaleID": sale["ID"]}))["Fulfilments"]
    assert [sum(Decimal(str(x["Quantity"])) for x in f["Pack"]["Lines"]) for f in fulfilments] == [5, 7]
    shipments = cin7_webhook_receiver.wait_for(2, event_type="Sale/ShipmentAuthorised")
    assert [s["body"]["SaleTaskID"] for s in shipments] == [sale["ID"], second["TaskID"]]
    assert {s["body"]["OrderNumber"] for s in shipments} == {row["OrderNumber"]}


def test_an_invoice_is_authorised_then_paid_in_two_payments(
    cin7_client: httpx.Client, cin7_demo: dict, cin7_webhook_receiver: WebhookReceiver
) -> None:
    for event_type in SALE_EVENTS:
        register(cin7_client, cin7_webhook_receiver.url, event_type)
    sale = create_sale(cin7_client, cin7_demo, "oro:order:32")
    ok(post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 12, "12.0")]))  # 158.40 with tax
    refused = send(
        cin7_client, "POST", "sale/payment", {"TaskID": sale["ID"], "Type": "PAYMENT", "Amount": 1}
    )
    assert refused.status_code == 400  # no invoice yet

    invoice = ok(send(cin7_client, "POST", "sale/invoice", {"SaleID": sale["ID"], "Status": "AUTHORISED"}))
    assert invoice["TaskID"] == sale["ID"] and invoice["InvoiceNumber"].startswith("INV-")
    assert Decimal(str(invoice["Total"])) == Decimal("158.40") and invoice["Lines"][0]["Account"]
    again = send(cin7_client, "POST", "sale/invoice", {"SaleID": sale["ID"], "Status": "AUTHORISED"})
    assert again.status_code == 400  # the invoice is authorised
    row = sale_row(cin7_client, "oro:order:32")
    assert (row["CombinedInvoiceStatus"], row["CombinedPaymentStatus"]) == ("INVOICED", "UNPAID")
    assert row["InvoiceNumber"] == invoice["InvoiceNumber"]
    assert ok(cin7_client.get("saleList", params={"Search": invoice["InvoiceNumber"]}))["Total"] == 1

    def pay(amount: str) -> httpx.Response:
        body = {
            "TaskID": invoice["TaskID"],
            "Type": "PAYMENT",
            "Amount": amount,
            "DatePaid": "2026-07-29T00:00:00",
        }
        return send(cin7_client, "POST", "sale/payment", body)

    assert ok(pay("58.40"))["Amount"] == 58.4
    assert pay("100.01").status_code == 400  # more than the balance
    row = sale_row(cin7_client, "oro:order:32")
    assert (row["CombinedPaymentStatus"], Decimal(str(row["PaidAmount"]))) == (
        "PARTIALLY PAID",
        Decimal("58.40"),
    )
    ok(pay("100.00"))
    row = sale_row(cin7_client, "oro:order:32")
    assert (row["CombinedInvoiceStatus"], row["CombinedPaymentStatus"]) == ("PAID", "PAID")
    assert row["Status"] != "COMPLETED"  # paid, not yet shipped
    ship_part(cin7_client, sale["ID"], 12, "ST-C")
    assert sale_row(cin7_client, "oro:order:32")["Status"] == "COMPLETED"

    authorised = cin7_webhook_receiver.wait_for(1, event_type="Sale/InvoiceAuthorised")[0]["body"]
    assert authorised == {
        "SaleTaskID": sale["ID"],
        "TenantID": cin7_demo.get("account_id", authorised["TenantID"]),
        "OrderNumber": row["OrderNumber"],
        "InvoiceNumber": invoice["InvoiceNumber"],
        "EventType": "Sale/InvoiceAuthorised",
    }
    partial = cin7_webhook_receiver.wait_for(1, event_type="Sale/PartialPaymentReceived")[0]["body"]
    full = cin7_webhook_receiver.wait_for(1, event_type="Sale/FullPaymentReceived")[0]["body"]
    for body in (partial, full):
        assert body["SaleID"] == sale["ID"] and body["DocumentNumber"] == invoice["InvoiceNumber"]
        assert body["DocumentType"] == "Invoice" and body["DocumentDate"] == "29/07/2026"
    assert (Decimal(str(partial["AmountPercent"])), Decimal(str(full["AmountPercent"]))) == (
        Decimal("36.87"),
        Decimal("63.13"),
    )


def test_a_sale_with_an_authorised_invoice_cannot_be_voided_and_a_draft_one_is_voided_with_it(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    invoiced = create_sale(cin7_client, cin7_demo, "oro:order:33")
    ok(post_order(cin7_client, invoiced["ID"], "AUTHORISED", [line("WID-100", 2, "12.0")]))
    ok(send(cin7_client, "POST", "sale/invoice", {"SaleID": invoiced["ID"], "Status": "AUTHORISED"}))
    assert cin7_client.delete("sale", params={"ID": invoiced["ID"], "Void": "true"}).status_code == 400

    draft = create_sale(cin7_client, cin7_demo, "oro:order:34")
    ok(post_order(cin7_client, draft["ID"], "AUTHORISED", [line("WID-100", 2, "12.0")]))
    ok(send(cin7_client, "POST", "sale/invoice", {"SaleID": draft["ID"], "Status": "DRAFT"}))
    assert sale_row(cin7_client, "oro:order:34")["CombinedInvoiceStatus"] == "DRAFT"
    ok(cin7_client.delete("sale", params={"ID": draft["ID"], "Void": "true"}))
    invoices = ok(cin7_client.get("sale/invoice", params={"SaleID": draft["ID"]}))["Invoices"]
    assert [i["Status"] for i in invoices] == ["VOIDED"]
    assert sale_row(cin7_client, "oro:order:34")["CombinedInvoiceStatus"] == "VOIDED"


def test_a_further_invoice_needs_its_lines_and_cannot_invoice_more_than_ordered(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    sale = create_sale(cin7_client, cin7_demo, "oro:order:35")
    ok(post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 10, "12.0")]))
    first = {"SaleID": sale["ID"], "Status": "AUTHORISED", "Lines": [line("WID-100", 4, "12.0")]}
    ok(send(cin7_client, "POST", "sale/invoice", first))
    new_task = "00000000-0000-0000-0000-000000000000"
    no_lines = send(
        cin7_client, "POST", "sale/invoice", {"SaleID": sale["ID"], "TaskID": new_task, "Status": "DRAFT"}
    )
    assert no_lines.status_code == 400
    too_many = {
        "SaleID": sale["ID"],
        "TaskID": new_task,
        "Status": "DRAFT",
        "Lines": [line("WID-100", 7, "12.0")],
    }
    assert send(cin7_client, "POST", "sale/invoice", too_many).status_code == 400
    rest = {
        "SaleID": sale["ID"],
        "TaskID": new_task,
        "Status": "AUTHORISED",
        "Lines": [line("WID-100", 6, "12.0")],
    }
    second = ok(send(cin7_client, "POST", "sale/invoice", rest))
    assert second["TaskID"] not in (sale["ID"], new_task)
    invoices = ok(cin7_client.get("sale/invoice", params={"SaleID": sale["ID"]}))["Invoices"]
    assert [i["InvoiceNumber"] for i in invoices] == ["INV-00001", "INV-00002"]
    assert Decimal(str(sale_row(cin7_client, "oro:order:35")["SaleInvoicesTotalAmount"])) == Decimal("132.00")


def test_each_ship_invoice_payment_and_void_moves_the_sale_into_updated_since(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    sale = create_sale(cin7_client, cin7_demo, "oro:order:36")
    ok(post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 12, "12.0")]))
    other = create_sale(cin7_client, cin7_demo, "oro:order:37")
    ok(post_order(cin7_client, other["ID"], "AUTHORISED", [line("WID-100", 1, "12.0")]))

    def latest() -> str:
        rows = [sale_row(cin7_client, x) for x in ("oro:order:36", "oro:order:37")]
        return max((r["Updated"] for r in rows), key=parse_cin7_time)  # type: ignore[arg-type,return-value]

    def changed_since(mark: str) -> set[str]:
        rows = ok(cin7_client.get("saleList", params={"UpdatedSince": mark.rstrip("Z")}))["SaleList"]
        return {r["SaleID"] for r in rows if parse_cin7_time(r["Updated"]) > parse_cin7_time(mark)}  # type: ignore[operator]

    steps = [
        lambda: ship_part(cin7_client, sale["ID"], 12, "ST-D"),
        lambda: ok(send(cin7_client, "POST", "sale/invoice", {"SaleID": sale["ID"], "Status": "AUTHORISED"})),
        lambda: ok(
            send(
                cin7_client, "POST", "sale/payment", {"TaskID": sale["ID"], "Type": "PAYMENT", "Amount": "1"}
            )
        ),
    ]
    for step in steps:
        mark = latest()
        time.sleep(0.002)  # `Updated` is written to the millisecond: the step's change lands after the mark
        step()
        assert changed_since(mark) == {sale["ID"]}
    mark = latest()
    time.sleep(0.002)
    ok(cin7_client.delete("sale", params={"ID": other["ID"], "Void": "true"}))
    assert changed_since(mark) == {other["ID"]}
