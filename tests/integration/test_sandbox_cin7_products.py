"""The sandbox Cin7's product side over real HTTP: `PUT /product` field by field (tiers by number and by name,
attributes), `LastModifiedOn` and `ModifiedSince`, the `Product/Updated` webhook (reference §4, §7) and the
bulk product seed of the control API."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

from sandbox.cin7.server import Cin7Sandbox
from tests.fixtures.cin7_sandbox import WebhookReceiver
from tests.integration.test_sandbox_cin7 import register, send
from tests.integration.test_sandbox_cin7_stock import empty_tenant

PRODUCT_EVENT = "Product/Updated"


def product(client: httpx.Client, sku: str) -> dict[str, Any]:
    found = [p for p in client.get("product", params={"Sku": sku}).json()["Products"] if p["SKU"] == sku]
    assert len(found) == 1
    return dict(found[0])


def put(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = send(client, "PUT", "product", body)
    assert response.status_code == 200, response.text
    return dict(response.json()["Products"][0])


def product_deliveries(sandbox: Cin7Sandbox) -> list[dict[str, Any]]:
    response = httpx.get(sandbox.control_url + "webhook-deliveries", params={"type": PRODUCT_EVENT})
    assert response.status_code == 200
    return list(response.json()["deliveries"])


def seed_products(sandbox: Cin7Sandbox, products: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(sandbox.control_url + "products", json={"products": products}, timeout=60)


def next_second() -> str:
    """Wait for the next whole second; that second as a naive UTC `ModifiedSince` (Cin7's format, no `Z`)."""
    now = datetime.now(UTC)
    time.sleep(1 - now.microsecond / 1_000_000)
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_put_product_sets_tiers_by_number_and_by_name_and_attributes_leaving_the_rest(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    before = product(cin7_client, "GAD-200")
    tier = put(cin7_client, {"ID": before["ID"], "PriceTier2": "7.65"})
    assert (tier["PriceTier1"], tier["PriceTier2"], tier["PriceTiers"]["Contract"]) == (8, 7.65, 7.65)
    named = put(cin7_client, {"ID": before["ID"], "PriceTiers": {"Wholesale": "8.1", "Tier 3": 7}})
    assert (named["PriceTier1"], named["PriceTier2"], named["PriceTier3"]) == (8.1, 7.65, 7)
    attributes = {
        "Name": "Gadget 200 (blue)",
        "Barcode": "9300000000012",
        "Brand": "Orosync",
        "Category": "Gadgets",
        "Weight": "0.35",
        "Length": "12",
        "Width": "8",
        "Height": "3.5",
        "ShortDescription": "A blue gadget",
        "Description": "<p>Blue.</p>",
    }
    put(cin7_client, {"ID": before["ID"], **attributes})
    after = product(cin7_client, "GAD-200")
    assert {k: after[k] for k in attributes} == {
        **attributes,
        "Weight": 0.35,
        "Length": 12,
        "Width": 8,
        "Height": 3.5,
    }
    assert after["PriceTier1"] == 8.1 and after["UOM"] == before["UOM"] and after["SKU"] == "GAD-200"
    assert after["LastModifiedOn"] > before["LastModifiedOn"]
    blank = send(cin7_client, "PUT", "product", {"ID": before["ID"], "Category": ""})
    assert blank.status_code == 400 and "Category" in blank.text  # required, on PUT too
    assert product(cin7_client, "GAD-200") == after


def test_price_tiers_by_name_are_refused_while_two_tiers_share_a_name(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    cin7_sandbox.rename_price_tiers({3: "Contract"})
    bolt = product(cin7_client, "BOLT-300")
    refused = send(cin7_client, "PUT", "product", {"ID": bolt["ID"], "PriceTiers": {"Contract": "0.1"}})
    assert refused.status_code == 400 and "share a name" in refused.text
    assert product(cin7_client, "BOLT-300")["PriceTier2"] == 0.2375  # nothing dropped silently


def test_last_modified_moves_only_on_a_change_and_modified_since_takes_naive_utc(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    since = next_second()
    widget = product(cin7_client, "WID-100")
    same = put(cin7_client, {"ID": widget["ID"], "PriceTier1": widget["PriceTier1"], "Name": widget["Name"]})
    assert same["LastModifiedOn"] == widget["LastModifiedOn"]  # a PUT that changes nothing
    changed = put(cin7_client, {"ID": widget["ID"], "PriceTier1": "12.75"})
    assert changed["LastModifiedOn"] > widget["LastModifiedOn"]
    modified = cin7_client.get("product", params={"ModifiedSince": since}).json()
    assert modified["Total"] == 1 and modified["Products"][0]["SKU"] == "WID-100"
    assert cin7_client.get("product", params={"ModifiedSince": "2000-01-01T00:00:00"}).json()["Total"] == 4


def test_product_updated_is_sent_on_create_and_change_but_not_on_a_no_op_put(
    cin7_sandbox: Cin7Sandbox,
    cin7_client: httpx.Client,
    cin7_demo: dict,
    cin7_webhook_receiver: WebhookReceiver,
) -> None:
    register(cin7_client, cin7_webhook_receiver.url, PRODUCT_EVENT)
    created = send(
        cin7_client,
        "POST",
        "product",
        {"SKU": "NEW-1", "Name": "New 1", "Category": "General", "UOM": "Item", "PriceTier1": "5"},
    )
    assert created.status_code == 200
    new_id = created.json()["Products"][0]["ID"]
    put(cin7_client, {"ID": new_id, "PriceTiers": {"Contract": "4.5"}})
    put(cin7_client, {"ID": new_id, "PriceTier2": "4.5000", "Name": "New 1"})  # no change
    bad = send(cin7_client, "PUT", "product", {"ID": new_id, "UOM": "Crate"})
    assert bad.status_code == 400  # a refused write sends nothing either

    received = cin7_webhook_receiver.wait_for(2, event_type=PRODUCT_EVENT)
    bodies = [r["body"] for r in received]
    assert [b["EventType"] for b in bodies] == [PRODUCT_EVENT] * 2
    assert [b["NumberOfProducts"] for b in bodies] == [1, 1]
    details = [b["ProductDetailsList"][0] for b in bodies]
    assert [(d["Event"], d["ID"], d["SKU"]) for d in details] == [
        ("Creation", new_id, "NEW-1"),
        ("Update", new_id, "NEW-1"),
    ]
    assert (details[0]["PriceTier2"], details[1]["PriceTier2"]) == (0, 4.5)
    assert details[1]["PriceTiers"]["Contract"] == 4.5 and details[1]["UOM"] == "Item"
    assert len(product_deliveries(cin7_sandbox)) == 2


def test_bulk_product_seed_creates_and_updates_10000_products_without_calls_or_webhooks(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client, cin7_webhook_receiver: WebhookReceiver
) -> None:
    empty_tenant(cin7_client)
    register(cin7_client, cin7_webhook_receiver.url, PRODUCT_EVENT)
    calls = cin7_sandbox.stats()["calls_total"]
    products = [
        {
            "SKU": f"S-{n:05d}",
            "Name": f"Seed {n}",
            "PriceTiers": {"Tier 1": f"{n}.5"},
            "PriceTier2": "3.25",
            "Brand": "Bulk",
        }
        for n in range(10_000)
    ]
    answer = seed_products(cin7_sandbox, products)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"created": 10_000, "updated": 0, "unchanged": 0}
    assert cin7_sandbox.stats()["calls_total"] == calls  # no API call, no rate window

    pages = [cin7_client.get("product", params={"Page": p, "Limit": 1000}).json() for p in (1, 10, 11)]
    assert [p["Total"] for p in pages] == [10_000] * 3
    assert [len(p["Products"]) for p in pages] == [1000, 1000, 0]
    last = pages[1]["Products"][-1]
    assert (last["SKU"], last["PriceTier1"], last["PriceTier2"], last["PriceTiers"]["Tier 1"]) == (
        "S-09999",
        9999.5,
        3.25,
        9999.5,
    )
    assert (last["UOM"], last["Category"], last["Type"], last["Brand"], last["CostingMethod"]) == (
        "Item",
        "General",
        "Stock",
        "Bulk",
        "FIFO",
    )
    assert len({p["ID"] for p in pages[0]["Products"] + pages[1]["Products"]}) == 2000

    since = next_second()
    again = seed_products(
        cin7_sandbox, [*products[:9_000], *({**p, "Brand": "New"} for p in products[9_000:])]
    )
    assert again.json() == {"created": 0, "updated": 1000, "unchanged": 9000}
    assert cin7_client.get("product", params={"ModifiedSince": since}).json()["Total"] == 1000
    assert product_deliveries(cin7_sandbox) == [] and cin7_webhook_receiver.requests == []

    twice = seed_products(cin7_sandbox, [{"SKU": "X-1", "Name": "X"}, {"SKU": "x-1", "Name": "X"}])
    assert twice.status_code == 400 and "appears twice" in twice.json()["error"]
    unknown = seed_products(cin7_sandbox, [{"SKU": "X-2", "Name": "X", "PriceTiers": {"Gold": "1"}}])
    assert unknown.status_code == 400 and "Gold" in unknown.json()["error"]
    assert cin7_client.get("product", params={"Limit": 1}).json()["Total"] == 10_000  # nothing changed
