"""The sandbox Cin7's stock side over real HTTP: `Stock/AvailableStockLevelChanged` (reference §5, §7), the bulk
stock seed of the control API, and `/ref/productavailability` paging over a large catalogue."""

from __future__ import annotations

import math
from typing import Any

import httpx

from sandbox.cin7.server import Cin7Sandbox
from tests.fixtures.cin7_sandbox import WebhookReceiver
from tests.integration.test_sandbox_cin7 import (
    availability,
    create_sale,
    line,
    post_order,
    register,
    send,
    wait_until,
)

STOCK = "Stock/AvailableStockLevelChanged"
SECRET = {"ExternalHeaders": [{"Key": "X-Orosync-Secret", "Value": "stock-s3cret"}]}
ROW_KEYS = [
    "ID",
    "SKU",
    "Name",
    "Barcode",
    "Location",
    "Bin",
    "Batch",
    "ExpiryDate",
    "Category",
    "OnHand",
    "Allocated",
    "Available",
    "OnOrder",
    "StockOnHand",
    "MaxRows",
]


def adjust(client: httpx.Client, status: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"EffectiveDate": "2026-07-01T00:00:00", "Status": status, "Lines": lines}
    response = send(client, "POST", "stockadjustment", body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def stock_deliveries(sandbox: Cin7Sandbox) -> list[dict[str, Any]]:
    response = httpx.get(sandbox.control_url + "webhook-deliveries", params={"type": STOCK})
    assert response.status_code == 200
    return list(response.json()["deliveries"])


def seed_levels(sandbox: Cin7Sandbox, products: list[dict[str, Any]], **extra: Any) -> httpx.Response:
    return httpx.post(sandbox.control_url + "stock-levels", json={"products": products, **extra}, timeout=60)


def empty_tenant(client: httpx.Client) -> None:
    """Two locations and the unit "Item", no products."""
    for path, name in (
        ("ref/unit", "Item"),
        ("ref/location", "Main Warehouse"),
        ("ref/location", "Sydney DC"),
    ):
        assert send(client, "POST", path, {"Name": name}).status_code == 200


# ------------------------------------------------------------------------------------------ the webhook


def test_completed_stock_adjustment_sends_a_bare_array_of_changed_rows_with_the_registered_header(
    cin7_sandbox: Cin7Sandbox,
    cin7_client: httpx.Client,
    cin7_demo: dict,
    cin7_webhook_receiver: WebhookReceiver,
) -> None:
    register(cin7_client, cin7_webhook_receiver.url, STOCK, **SECRET)
    adjust(cin7_client, "DRAFT", [{"SKU": "WID-100", "Location": "Sydney DC", "Quantity": 999}])
    # Adjusting to the level it already has changes nothing: no row for BOLT-300.
    adjust(
        cin7_client,
        "COMPLETED",
        [
            {"SKU": "WID-100", "Location": "Sydney DC", "Quantity": 150},
            {"SKU": "GAD-200", "Location": "Main Warehouse", "Quantity": 280},
            {"SKU": "BOLT-300", "Location": "Main Warehouse", "Quantity": 10000},
        ],
    )

    received = cin7_webhook_receiver.wait_for(1)
    assert len(received) == 1
    assert received[0]["headers"]["x-orosync-secret"] == "stock-s3cret"
    body = received[0]["body"]
    assert isinstance(body, list) and all(list(row) == ROW_KEYS for row in body)
    assert [(r["SKU"], r["Location"], r["OnHand"], r["Allocated"], r["Available"]) for r in body] == [
        ("WID-100", "Sydney DC", 150, 0, 150),
        ("GAD-200", "Main Warehouse", 280, 0, 280),
    ]
    assert {r["MaxRows"] for r in body} == {2} and body[0]["Category"] == "Hardware"
    assert body[0]["ID"] == cin7_demo["products"]["WID-100"]
    # The delivery record keeps the array as it was sent; the DRAFT made none.
    deliveries = wait_until(lambda: [d for d in stock_deliveries(cin7_sandbox) if d["State"] == "delivered"])
    assert len(stock_deliveries(cin7_sandbox)) == 1 and deliveries[0]["Payload"] == body
    assert availability(cin7_client, "WID-100", "Sydney DC")["OnHand"] == 150


def test_a_draft_stock_adjustment_sends_nothing(
    cin7_sandbox: Cin7Sandbox,
    cin7_client: httpx.Client,
    cin7_demo: dict,
    cin7_webhook_receiver: WebhookReceiver,
) -> None:
    register(cin7_client, cin7_webhook_receiver.url, STOCK, **SECRET)
    draft = adjust(cin7_client, "DRAFT", [{"SKU": "GAD-200", "Location": "Sydney DC", "Quantity": 40}])
    assert stock_deliveries(cin7_sandbox) == []
    completed = send(
        cin7_client, "PUT", "stockadjustment", {"TaskID": draft["TaskID"], "Status": "COMPLETED"}
    )
    assert completed.status_code == 200
    body = cin7_webhook_receiver.wait_for(1)[0]["body"]
    assert [(r["SKU"], r["Location"], r["Available"], r["MaxRows"]) for r in body] == [
        ("GAD-200", "Sydney DC", 40, 1)
    ]
    assert len(stock_deliveries(cin7_sandbox)) == 1


def test_authorising_a_sale_and_voiding_it_send_the_allocation_changes(
    cin7_client: httpx.Client, cin7_demo: dict, cin7_webhook_receiver: WebhookReceiver
) -> None:
    register(cin7_client, cin7_webhook_receiver.url, STOCK, **SECRET)
    sale = create_sale(cin7_client, cin7_demo, "oro:order:stock-1")
    assert post_order(cin7_client, sale["ID"], "DRAFT", [line("WID-100", 12, "12.0")]).status_code == 200
    authorised = post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 12, "12.0")])
    assert authorised.status_code == 200, authorised.text
    body = cin7_webhook_receiver.wait_for(1)[0]["body"]
    assert [(r["SKU"], r["Location"], r["OnHand"], r["Allocated"], r["Available"]) for r in body] == [
        ("WID-100", "Main Warehouse", 600, 12, 588)
    ]
    assert cin7_client.delete("sale", params={"ID": sale["ID"], "Void": "true"}).status_code == 200
    released = cin7_webhook_receiver.wait_for(2)[1]["body"]
    assert [(r["SKU"], r["Allocated"], r["Available"]) for r in released] == [("WID-100", 0, 600)]
    assert len(cin7_webhook_receiver.requests) == 2  # the DRAFT order allocated nothing


def test_auto_assembly_sends_the_components_change_but_not_the_case_that_is_built_and_allocated(
    cin7_client: httpx.Client, cin7_demo: dict, cin7_webhook_receiver: WebhookReceiver
) -> None:
    register(cin7_client, cin7_webhook_receiver.url, STOCK, **SECRET)
    sale = create_sale(cin7_client, cin7_demo, "oro:order:stock-3")
    authorised = post_order(cin7_client, sale["ID"], "AUTHORISED", [line("GAD-200-CASE6", 2, "43.7")])
    assert authorised.status_code == 200, authorised.text
    body = cin7_webhook_receiver.wait_for(1)[0]["body"]
    # Two cases built from 12 singles and allocated at once: the case's OnHand rose but its Available did not.
    assert [(r["SKU"], r["OnHand"], r["Allocated"], r["Available"], r["MaxRows"]) for r in body] == [
        ("GAD-200", 288, 0, 288, 1)
    ]
    case = availability(cin7_client, "GAD-200-CASE6", "Main Warehouse")
    assert (case["OnHand"], case["Allocated"], case["Available"]) == (2, 2, 0)


def test_stock_webhook_is_switched_off_after_six_failed_deliveries(
    cin7_sandbox: Cin7Sandbox,
    cin7_client: httpx.Client,
    cin7_demo: dict,
    cin7_webhook_receiver: WebhookReceiver,
) -> None:
    cin7_webhook_receiver.status = 503
    webhook = register(cin7_client, cin7_webhook_receiver.url, STOCK, **SECRET)
    adjust(cin7_client, "COMPLETED", [{"SKU": "BOLT-300", "Location": "Sydney DC", "Quantity": 7}])
    received = cin7_webhook_receiver.wait_for(6)
    assert len(received) == 6 and all(r["body"] == received[0]["body"] for r in received)
    assert received[0]["body"][0]["Available"] == 7
    failed = wait_until(lambda: [d for d in stock_deliveries(cin7_sandbox) if d["State"] == "failed"])
    assert len(failed) == 1 and len(failed[0]["Attempts"]) == 6
    assert cin7_client.get("webhooks").json()["Webhooks"] == [{**webhook, "IsActive": False}]


# ------------------------------------------------------------------------------------------ the bulk seed


def test_stock_seed_creates_new_skus_sets_on_hand_and_names_an_unknown_location(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client, cin7_webhook_receiver: WebhookReceiver
) -> None:
    empty_tenant(cin7_client)
    register(cin7_client, cin7_webhook_receiver.url, STOCK, **SECRET)
    first = seed_levels(
        cin7_sandbox,
        [
            {"SKU": "S-1", "Name": "Seed 1", "levels": {"Main Warehouse": "12", "Sydney DC": "3"}},
            {"SKU": "S-2", "Name": "Seed 2", "Category": "Bolts", "levels": {"Sydney DC": 5}},
        ],
    )
    assert first.status_code == 200 and first.json() == {"created": 2, "updated": 0}
    product = cin7_client.get("product", params={"Sku": "S-2"}).json()["Products"][0]
    assert (product["Type"], product["UOM"], product["Category"], product["Status"]) == (
        "Stock",
        "Item",
        "Bolts",
        "Active",
    )
    assert availability(cin7_client, "S-1", "Sydney DC")["OnHand"] == 3

    unknown = seed_levels(
        cin7_sandbox,
        [
            {"SKU": "S-3", "Name": "Seed 3", "levels": {"Main Warehouse": "1"}},
            {"SKU": "S-1", "levels": {"Melbourne DC": "4"}},
        ],
    )
    assert unknown.status_code == 400 and "Melbourne DC" in unknown.json()["error"]
    assert cin7_client.get("product", params={"Sku": "S-3"}).json()["Total"] == 0  # nothing half-done

    # Only the rows whose Available changes are sent (S-1 at Sydney DC stays 3).
    second = seed_levels(
        cin7_sandbox,
        [
            {"SKU": "s-1", "levels": {"Main Warehouse": "20", "Sydney DC": "3"}},
            {"SKU": "S-3", "Name": "Seed 3", "levels": {"Main Warehouse": "1"}},
        ],
        emit=True,
    )
    assert second.json() == {"created": 1, "updated": 1}
    assert availability(cin7_client, "S-1", "Main Warehouse")["OnHand"] == 20
    body = cin7_webhook_receiver.wait_for(1)[0]["body"]  # the first seed (no "emit") sent nothing
    assert [(r["SKU"], r["Location"], r["Available"], r["MaxRows"]) for r in body] == [
        ("S-1", "Main Warehouse", 20, 2),
        ("S-3", "Main Warehouse", 1, 2),
    ]
    assert len(stock_deliveries(cin7_sandbox)) == 1


def test_stock_seed_leaves_allocations_alone(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    sale = create_sale(cin7_client, cin7_demo, "oro:order:stock-2")
    assert post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 12, "12.0")]).status_code == 200
    seeded = seed_levels(cin7_sandbox, [{"SKU": "WID-100", "levels": {"Main Warehouse": "50"}}])
    assert seeded.json() == {"created": 0, "updated": 1}
    row = availability(cin7_client, "WID-100", "Main Warehouse")
    assert (row["OnHand"], row["Allocated"], row["Available"]) == (50, 12, 38)


def test_twenty_thousand_seeded_products_page_as_forty_thousand_rows(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client
) -> None:
    empty_tenant(cin7_client)
    products = [
        {
            "SKU": f"S-{n:05d}",
            "Name": f"Seed {n}",
            "levels": {"Main Warehouse": str(n % 97), "Sydney DC": "3"},
        }
        for n in range(1, 20_001)
    ]
    assert seed_levels(cin7_sandbox, products).json() == {"created": 20_000, "updated": 0}

    rows: list[dict[str, Any]] = []
    pages = 0
    while True:
        pages += 1
        page = cin7_client.get("ref/productavailability", params={"Page": pages, "Limit": 1000}).json()
        assert page["Total"] == 40_000 and page["Page"] == pages
        rows += page["ProductAvailabilityList"]
        if pages * 1000 >= page["Total"]:
            break
    assert pages == math.ceil(40_000 / 1000) == 40
    # Every row once, in creation order then location order; the quantities are the seeded ones.
    assert [(r["SKU"], r["Location"]) for r in rows] == [
        (p["SKU"], location) for p in products for location in ("Main Warehouse", "Sydney DC")
    ]
    assert len({(r["ID"], r["Location"]) for r in rows}) == 40_000
    assert rows[2 * 12_344]["OnHand"] == 12_345 % 97

    one = cin7_client.get("ref/productavailability", params={"Sku": "S-12345"}).json()
    assert [(r["SKU"], r["Location"]) for r in one["ProductAvailabilityList"]] == [
        ("S-12345", "Main Warehouse"),
        ("S-12345", "Sydney DC"),
    ]
    assert cin7_client.get("ref/productavailability", params={"Sku": "S-1234"}).json()["Total"] == 0  # exact
    by_id = cin7_client.get("ref/productavailability", params={"ID": one["ProductAvailabilityList"][0]["ID"]})
    assert [r["SKU"] for r in by_id.json()["ProductAvailabilityList"]] == ["S-12345", "S-12345"]
    sydney = cin7_client.get(
        "ref/productavailability", params={"Location": "Sydney DC", "Page": 20, "Limit": 1000}
    ).json()
    assert sydney["Total"] == 20_000
    assert {r["Location"] for r in sydney["ProductAvailabilityList"]} == {"Sydney DC"}
    assert sydney["ProductAvailabilityList"][-1]["SKU"] == "S-20000"
