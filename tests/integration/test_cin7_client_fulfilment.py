"""Cin7Client's order-to-cash reads against the sandbox Cin7 Core API over real HTTP: a sale shipped in two parts
(fulfilments with ship lines and per-SKU quantities), its invoice and payments, the sale-level statuses, the
sales changed since a moment, and a sale found by the order number the shipment/invoice events carry."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.cin7.server import Cin7Sandbox
from shared.adapters.cin7.client import Cin7Client
from tests.integration.test_cin7_client import LINE, _client, _header

SECOND_LINE = {
    **LINE,
    "SKU": "BOLT-300",
    "Name": "Bolt 300",
    "Quantity": Decimal("10"),
    "Price": Decimal("0.25"),
    "Total": Decimal("2.5"),
}


def _sale(client: Cin7Client, demo: dict[str, Any], external_id: str) -> str:
    sale = client.create_sale(_header(demo, external_id))
    client.create_sale_order(sale.ID, [LINE, SECOND_LINE], "AUTHORISED")
    return sale.ID


def _ship(
    client: Cin7Client, task_id: str, lines: dict[str, int], tracking: str, *, box_draft: bool = False
) -> None:
    picked = [{"SKU": sku, "Quantity": qty} for sku, qty in lines.items()]
    client.request(
        "POST", "sale/fulfilment/pick", body={"TaskID": task_id, "Status": "AUTHORISED", "Lines": picked}
    )
    packed = [
        {"SKU": sku, "Quantity": qty, "Box": str(n)} for n, (sku, qty) in enumerate(lines.items(), start=1)
    ]
    client.request(
        "POST", "sale/fulfilment/pack", body={"TaskID": task_id, "Status": "AUTHORISED", "Lines": packed}
    )
    ship_line = {
        "Carrier": "StarTrack",
        "TrackingNumber": tracking,
        "Box": "1",
        "IsShipped": True,
        "ShipmentDate": "2026-07-11T00:00:00",
    }
    status = "DRAFT" if box_draft else "AUTHORISED"
    client.request(
        "POST", "sale/fulfilment/ship", body={"TaskID": task_id, "Status": status, "Lines": [ship_line]}
    )


def test_a_sale_shipped_in_parts_reads_back_with_its_fulfilments_and_shipped_quantities(
    cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox
):
    with _client(cin7_sandbox) as client:
        sale_id = _sale(client, cin7_demo, "oro:order:2001")
        # Box 1 (WID-100 × 10) ships, box 2 (BOLT-300 × 4) is still on the dock: a partially authorised shipment.
        _ship(client, sale_id, {"WID-100": 10, "BOLT-300": 4}, "ST-1", box_draft=True)
        sale = client.get_sale(sale_id)
        assert sale.CombinedShippingStatus == "PARTIALLY SHIPPED" and sale.FulFilmentStatus == "NOT FULFILLED"
        assert sale.shipped_quantities == {"WID-100": Decimal(10)}
        assert sale.ordered_quantities == {"WID-100": Decimal(24), "BOLT-300": Decimal(10)}

        second = client.request("POST", "sale/fulfilment", body={"SaleID": sale_id})["TaskID"]
        _ship(client, second, {"WID-100": 14}, "ST-2")
        sale = client.get_sale(sale_id)
        fulfilments = client.get_fulfilments(sale_id)
    assert [f.TaskID for f in sale.Fulfilments] == [f.TaskID for f in fulfilments] == [sale_id, second]
    first, later = sale.Fulfilments
    assert first.Ship is not None and first.Ship.Status == "PARTIALLY AUTHORISED" and not first.shipped
    assert later.shipped and later.shipped_quantities == {"WID-100": Decimal(14)}
    ship_line = later.tracking[0]
    assert (ship_line.TrackingNumber, ship_line.Carrier) == ("ST-2", "StarTrack")
    assert ship_line.ShipmentDate is not None and ship_line.ShipmentDate.tzinfo is not None
    assert (
        first.Pack is not None
        and first.Pack.Lines[1].Quantity == Decimal(4)
        and first.Pack.Lines[1].Box == "2"
    )
    assert sale.shipped_quantities == {"WID-100": Decimal(24)}
    assert sale.CombinedShippingStatus == "PARTIALLY SHIPPED" and sale.tracking_numbers == ["ST-1", "ST-2"]


def test_an_invoice_and_its_payments_read_back_with_the_sale_statuses(
    cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox
):
    with _client(cin7_sandbox) as client:
        sale_id = _sale(client, cin7_demo, "oro:order:2002")
        assert client.get_invoices(sale_id) == []
        client.request("POST", "sale/invoice", body={"SaleID": sale_id, "Status": "AUTHORISED"})
        client.request(
            "POST", "sale/payment", body={"TaskID": sale_id, "Type": "PAYMENT", "Amount": "100.00"}
        )
        invoices = client.get_invoices(sale_id)
        sale = client.get_sale(sale_id)
        row = client.find_sale_by_order_number((sale.Order.SaleOrderNumber if sale.Order else None) or "")
    (invoice,) = invoices
    assert invoice.issued and invoice.Status == "AUTHORISED" and invoice.Total == Decimal("302.5")
    assert invoice.paid == Decimal("100") and invoice.Payments[0].DatePaid is not None
    assert invoice.InvoiceDate is not None and invoice.InvoiceDate.tzinfo is not None
    assert sale.Invoices == invoices
    assert (sale.CombinedInvoiceStatus, sale.CombinedPaymentStatus) == ("INVOICED", "PARTIALLY PAID")
    assert row is not None and row.SaleID == sale_id and row.InvoiceNumber == invoice.InvoiceNumber
    assert (row.CombinedInvoiceStatus, row.CombinedPaymentStatus, row.PaidAmount) == (
        "INVOICED",
        "PARTIALLY PAID",
        Decimal("100"),
    )


def test_a_sale_is_found_by_its_exact_order_number_only(cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox):
    with _client(cin7_sandbox) as client:
        ids = [_sale(client, cin7_demo, f"oro:order:21{n:02d}") for n in range(11)]  # SO-00001 … SO-00011
        found = client.find_sale_by_order_number("SO-00001")
        assert found is not None and found.SaleID == ids[0]  # not SO-00010 or SO-00011
        assert client.find_sale_by_order_number("SO-0000") is None


def test_sales_updated_since_show_a_sale_just_shipped_as_changed_and_leave_the_other_alone(
    cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox
):
    with _client(cin7_sandbox) as client:
        shipped = _sale(client, cin7_demo, "oro:order:2201")
        idle = _sale(client, cin7_demo, "oro:order:2202")
        since = datetime.now(UTC) - timedelta(hours=1)
        before = {r.SaleID: r for r in client.iter_sales_updated_since(since)}
        time.sleep(0.002)  # `Updated` is written to the millisecond
        _ship(client, shipped, {"WID-100": 24, "BOLT-300": 10}, "ST-3")
        after = {r.SaleID: r for r in client.iter_sales_updated_since(since)}
    assert set(before) == set(after) == {shipped, idle}
    assert after[shipped].Updated > before[shipped].Updated  # type: ignore[operator]
    assert after[idle].Updated == before[idle].Updated
    assert (
        after[shipped].CombinedShippingStatus == "SHIPPED"
        and after[shipped].CombinedTrackingNumbers == "ST-3"
    )
    assert before[shipped].CombinedShippingStatus == "NOT SHIPPED"
