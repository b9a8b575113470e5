"""The sandbox OroCommerce back-office API, over real HTTP, written from the API reference."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest

from sandbox.oro.server import OroSandbox
from tests.fixtures.oro_sandbox import JSONAPI, ORO_CLIENT_ID, ORO_CLIENT_SECRET, OroApi, WebhookReceiver

# ---------------------------------------------------------------------------------------------- helpers


def rel(type_: str, id_: str) -> dict[str, str]:
    return {"type": type_, "id": id_}


def make_catalog(api: OroApi) -> dict[str, Any]:
    """Unit `case`, product WID-100 (each primary, case 12), a customer and a buyer."""
    r = api.http.post(
        "/productunits",
        json={
            "data": {
                "type": "productunits",
                "id": "case",
                "attributes": {"defaultPrecision": 0, "label": "case"},
            }
        },
    )
    assert r.status_code == 201, r.text
    product = api.http.post(
        "/products",
        json={
            "data": {
                "type": "products",
                "attributes": {"sku": "WID-100", "status": "enabled", "productType": "simple"},
                "relationships": {
                    "names": {"data": [rel("productnames", "n1")]},
                    "primaryUnitPrecision": {"data": rel("productunitprecisions", "p-each")},
                    "unitPrecisions": {
                        "data": [
                            rel("productunitprecisions", "p-each"),
                            rel("productunitprecisions", "p-case"),
                        ]
                    },
                },
            },
            "included": [
                {
                    "type": "productnames",
                    "id": "n1",
                    "attributes": {"fallback": None, "string": "Widget 100"},
                },
                {
                    "type": "productunitprecisions",
                    "id": "p-each",
                    "attributes": {"precision": 0, "conversionRate": 1, "sell": True},
                    "relationships": {"unit": {"data": rel("productunits", "each")}},
                },
                {
                    "type": "productunitprecisions",
                    "id": "p-case",
                    "attributes": {"precision": 0, "conversionRate": 12, "sell": True},
                    "relationships": {"unit": {"data": rel("productunits", "case")}},
                },
            ],
        },
    )
    assert product.status_code == 201, product.text
    customer = api.create("customers", {"name": "Acme Holdings", "externalId": "CIN7-ACME"})["data"]
    user = api.create(
        "customerusers",
        {"email": "alice@acme.example.com", "firstName": "Alice", "lastName": "Ackerman"},
        {"customer": rel("customers", customer["id"]), "userRoles": [rel("customeruserroles", "2")]},
    )["data"]
    return {"product": product.json(), "customer": customer, "user": user}


def order_document(
    customer_id: str, lines: list[tuple[str, str, int, str]], **attributes: Any
) -> dict[str, Any]:
    """POST /orders body with line items created in the same request (temporary ids, product from productSku)."""
    included = [
        {
            "type": "orderlineitems",
            "id": f"line-{n}",
            "attributes": {
                "productSku": sku,
                "quantity": qty,
                "value": value,
                "currency": "USD",
                "priceType": 10,
            },
            "relationships": {"productUnit": {"data": rel("productunits", unit)}},
        }
        for n, (sku, unit, qty, value) in enumerate(lines)
    ]
    return {
        "data": {
            "type": "orders",
            "attributes": {"currency": "USD", "poNumber": "PO-1", **attributes},
            "relationships": {
                "customer": {"data": rel("customers", customer_id)},
                "lineItems": {"data": [rel("orderlineitems", f"line-{n}") for n in range(len(lines))]},
            },
        },
        "included": included,
    }


def create_order(api: OroApi, customer_id: str, **attributes: Any) -> dict[str, Any]:
    r = api.http.post(
        "/orders",
        json=order_document(
            customer_id, [("WID-100", "each", 24, "12.5"), ("WID-100", "case", 2, "144")], **attributes
        ),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def subscribe(api: OroApi, url: str, topic: str, secret: str | None = "s3cret") -> str:  # noqa: S107
    attributes: dict[str, Any] = {"notificationUrl": url, "enabled": True}
    if secret:
        attributes["secret"] = secret
    doc = api.create(
        "webhooks",
        attributes,
        {"topic": rel("webhooktopics", topic), "format": rel("webhookformats", "default")},
    )
    return str(doc["data"]["id"])


def deliveries(api: OroApi, **params: str) -> list[dict[str, Any]]:
    return list(api.control.get("/webhook-deliveries", params=params).json()["deliveries"])


def wait_idle(api: OroApi) -> None:
    assert api.control.post("/webhook-deliveries/wait", json={"timeout": 15}).json()["idle"]


def poll_operation(api: OroApi, location: str) -> dict[str, Any]:
    for _ in range(400):
        op = api.http.get(location).json()["data"]
        if op["attributes"]["status"] in ("success", "failed", "cancelled"):
            return dict(op)
        time.sleep(0.02)
    raise AssertionError("async operation did not finish")


# ---------------------------------------------------------------------------------------------- auth


def test_token_is_issued_for_form_and_json_bodies(oro_sandbox: OroSandbox) -> None:
    form = httpx.post(
        oro_sandbox.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": ORO_CLIENT_ID,
            "client_secret": ORO_CLIENT_SECRET,
        },
    )
    as_json = httpx.post(
        oro_sandbox.token_url,
        json={
            "grant_type": "client_credentials",
            "client_id": ORO_CLIENT_ID,
            "client_secret": ORO_CLIENT_SECRET,
        },
    )
    for r in (form, as_json):
        assert r.status_code == 200
        body = r.json()
        assert (
            body["token_type"] == "Bearer"  # noqa: S105
            and body["expires_in"] == 3600
            and body["access_token"].count(".") == 2
        )
    ok = httpx.get(
        f"{oro_sandbox.api_url}/customers",
        headers={"Authorization": f"Bearer {form.json()['access_token']}", "Accept": JSONAPI},
    )
    assert ok.status_code == 200 and ok.json()["data"] == []


def test_requests_without_token_or_with_wrong_credentials_are_refused(oro_sandbox: OroSandbox) -> None:
    r = httpx.get(f"{oro_sandbox.api_url}/orders", headers={"Accept": JSONAPI})
    assert r.status_code == 401
    assert r.json()["errors"][0]["status"] == "401"
    r = httpx.get(
        f"{oro_sandbox.api_url}/orders", headers={"Accept": JSONAPI, "Authorization": "Bearer not.a.token"}
    )
    assert r.status_code == 401
    bad = httpx.post(
        oro_sandbox.token_url,
        data={"grant_type": "client_credentials", "client_id": ORO_CLIENT_ID, "client_secret": "wrong"},
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    grant = httpx.post(oro_sandbox.token_url, data={"grant_type": "password", "client_id": ORO_CLIENT_ID})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"


def test_the_old_client_secret_is_refused_when_the_oauth_client_secret_changes(
    oro_sandbox: OroSandbox,
) -> None:
    def token(secret: str) -> httpx.Response:
        form = {"grant_type": "client_credentials", "client_id": ORO_CLIENT_ID, "client_secret": secret}
        return httpx.post(oro_sandbox.token_url, data=form)

    changed = httpx.post(f"{oro_sandbox.control_url.rstrip('/')}/oauth-client", json={"client_secret": "s-2"})
    assert changed.status_code == 200
    old = token(ORO_CLIENT_SECRET)
    assert old.status_code == 401 and old.json()["error"] == "invalid_client"
    assert token("s-2").status_code == 200
    oro_sandbox.reset()
    assert token(ORO_CLIENT_SECRET).status_code == 200


def test_token_expires_after_its_ttl(oro_sandbox: OroSandbox, oro_api: OroApi) -> None:
    assert oro_api.control.post("/config", json={"token_ttl": 60}).json()["token_ttl"] == 60
    token = oro_api.fetch_token()
    headers = {"Authorization": f"Bearer {token}", "Accept": JSONAPI}
    assert httpx.get(f"{oro_sandbox.api_url}/orders", headers=headers).status_code == 200
    oro_api.control.post("/clock", json={"advance_seconds": 61})  # the sandbox's clock, not a wall-clock wait
    expired = httpx.get(f"{oro_sandbox.api_url}/orders", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["errors"][0]["detail"]


def test_default_ttl_token_expires_when_the_sandbox_clock_moves_an_hour(oro_api: OroApi) -> None:
    assert oro_api.http.get("/orders").status_code == 200
    oro_api.control.post("/clock", json={"advance_seconds": 3601})
    assert oro_api.http.get("/orders").status_code == 401


# ---------------------------------------------------------------------------------------------- media types


def test_non_jsonapi_accept_gets_the_plain_format_and_parameters_get_415(oro_api: OroApi) -> None:
    oro_api.create("customers", {"name": "Plain Co"})
    plain = oro_api.http.get("/customers", headers={"Accept": "application/json"})
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/json")
    assert plain.json()[0]["name"] == "Plain Co" and plain.json()[0]["id"] == 1
    r = oro_api.http.post(
        "/customers",
        content=json.dumps({"data": {"type": "customers", "attributes": {"name": "X"}}}),
        headers={"Content-Type": "application/vnd.api+json; charset=utf-8"},
    )
    assert r.status_code == 415


# ---------------------------------------------------------------------------------------------- lists


def test_paging_walks_next_links_and_reports_the_total(oro_api: OroApi) -> None:
    for n in range(5):
        oro_api.create("customers", {"name": f"Customer {n}"})
    r = oro_api.http.get("/customers", params={"page[size]": 2}, headers={"X-Include": "totalCount"})
    assert r.headers["X-Include-Total-Count"] == "5"
    names, pages = [], 0
    while True:
        pages += 1
        doc = r.json()
        names += [d["attributes"]["name"] for d in doc["data"]]
        if "next" not in doc["links"]:
            break
        r = oro_api.http.get(doc["links"]["next"])
    assert pages == 3 and names == [f"Customer {n}" for n in range(5)]
    assert len(oro_api.http.get("/customers").json()["data"]) == 5  # default size 10
    assert len(oro_api.http.get("/customers", params={"page[size]": -1}).json()["data"]) == 5
    desc = oro_api.http.get("/customers", params={"sort": "-id", "page[size]": 2}).json()["data"]
    assert [d["attributes"]["name"] for d in desc] == ["Customer 4", "Customer 3"]


def test_filters_by_updated_at_id_list_sku_and_operators(oro_api: OroApi) -> None:
    early = [oro_api.create("customers", {"name": f"Early {n}"})["data"] for n in range(2)]
    oro_api.control.post("/clock", json={"advance_seconds": 120})
    late = [oro_api.create("customers", {"name": f"Late {n}"})["data"] for n in range(3)]
    watermark = early[-1]["attributes"]["updatedAt"]
    assert watermark.endswith("Z") and len(watermark) == 20
    r = oro_api.http.get("/customers", params={"filter[updatedAt][gt]": watermark, "sort": "updatedAt"})
    assert [d["id"] for d in r.json()["data"]] == [c["id"] for c in late]
    r = oro_api.http.get(f"/customers?filter[id]={early[0]['id']},{late[2]['id']}")
    assert [d["id"] for d in r.json()["data"]] == [early[0]["id"], late[2]["id"]]
    assert len(oro_api.http.get("/customers?filter[id]>2").json()["data"]) == 3
    assert len(oro_api.http.get("/customers", params={"filter[id][neq]": "1"}).json()["data"]) == 4
    make_catalog(oro_api)
    r = oro_api.http.get("/products", params={"filter[sku]": "WID-100,NOPE-1"})
    assert [d["attributes"]["sku"] for d in r.json()["data"]] == ["WID-100"]
    assert (
        oro_api.http.get("/customers", params={"filter[externalId]": "CIN7-ACME"}).json()["data"][0][
            "attributes"
        ]["name"]
        == "Acme Holdings"
    )


def test_unknown_filter_and_bad_values_answer_400_naming_the_parameter(oro_api: OroApi) -> None:
    r = oro_api.http.get("/orders", params={"filter[bogus]": "1"})
    assert r.status_code == 400
    error = r.json()["errors"][0]
    assert error["status"] == "400" and error["title"] == "filter constraint"
    assert error["source"] == {"parameter": "filter[bogus]"}
    r = oro_api.http.get("/orders", params={"filter[id]": "abc"})
    assert r.status_code == 400 and r.json()["errors"][0]["source"]["parameter"] == "filter[id]"
    r = oro_api.http.get("/productprices")
    assert r.status_code == 400 and r.json()["errors"][0]["source"]["parameter"] == "filter[priceList]"
    assert oro_api.http.get("/orders", params={"sort": "nope"}).status_code == 400


def test_customer_hierarchy_is_readable_from_both_sides(oro_api: OroApi) -> None:
    top = oro_api.create("customers", {"name": "Acme Holdings"})["data"]
    mid = oro_api.create("customers", {"name": "Acme Retail East"}, {"parent": rel("customers", top["id"])})[
        "data"
    ]
    leaf = oro_api.create(
        "customers", {"name": "Acme East Store 12"}, {"parent": rel("customers", mid["id"])}
    )["data"]
    doc = oro_api.http.get(f"/customers/{mid['id']}", params={"include": "parent,children"}).json()
    assert doc["data"]["relationships"]["children"]["data"] == [rel("customers", leaf["id"])]
    assert {(i["type"], i["id"]) for i in doc["included"]} == {
        ("customers", top["id"]),
        ("customers", leaf["id"]),
    }
    assert doc["data"]["attributes"]["externalId"] is None  # blank fields are null, not omitted
    cycle = oro_api.http.patch(
        f"/customers/{top['id']}",
        json={
            "data": {
                "type": "customers",
                "id": top["id"],
                "relationships": {"parent": {"data": rel("customers", leaf["id"])}},
            }
        },
    )
    assert cycle.status_code == 400


# ---------------------------------------------------------------------------------------------- orders


def test_order_create_with_included_line_items_totals_and_include(oro_api: OroApi) -> None:
    cat = make_catalog(oro_api)
    doc = create_order(oro_api, cat["customer"]["id"], estimatedShippingCostAmount="25")
    order = doc["data"]
    attrs = order["attributes"]
    assert attrs["subtotalValue"] == "588.0000"  # 24 x 12.5 + 2 x 144
    assert attrs["totalValue"] == "613.0000" and attrs["totalDiscountsAmount"] == "0.0000"
    assert attrs["identifier"] == order["id"]
    assert order["relationships"]["internalStatus"]["data"] == rel("orderinternalstatuses", "open")
    assert order["relationships"]["shippingStatus"]["data"] == rel("ordershippingstatuses", "not_shipped")
    assert order["relationships"]["status"]["data"] is None
    include_ids = sorted(i["meta"]["includeId"] for i in doc["included"])
    assert include_ids == ["line-0", "line-1"]
    line = next(i for i in doc["included"] if i["meta"]["includeId"] == "line-1")
    assert line["attributes"]["value"] == "144.0000" and line["attributes"]["productUnitCode"] == "case"
    assert line["attributes"]["productName"] == "Widget 100"
    assert line["relationships"]["product"]["data"] == rel("products", cat["product"]["data"]["id"])
    assert line["relationships"]["orders"]["data"] == [rel("orders", order["id"])]
    got = oro_api.http.get(
        f"/orders/{order['id']}", params={"include": "lineItems,customer,lineItems.product"}
    ).json()
    assert {i["type"] for i in got["included"]} == {"orderlineitems", "customers", "products"}
    assert got["data"]["attributes"]["createdAt"].endswith("Z")


def test_order_discounts_of_amount_and_percent_type_reduce_the_order_total(oro_api: OroApi) -> None:
    cat = make_catalog(oro_api)
    body = order_document(
        cat["customer"]["id"], [("WID-100", "each", 24, "12.5"), ("WID-100", "case", 2, "144")]
    )
    body["data"]["relationships"]["discounts"] = {
        "data": [rel("orderdiscounts", "d-amount"), rel("orderdiscounts", "d-percent")]
    }
    body["included"] += [
        {
            "type": "orderdiscounts",
            "id": "d-amount",
            "attributes": {"amount": "8", "orderDiscountType": "oro_order_discount_item_type_amount"},
        },
        {
            "type": "orderdiscounts",
            "id": "d-percent",
            "attributes": {"percent": "5", "orderDiscountType": "oro_order_discount_item_type_percent"},
        },
    ]
    r = oro_api.http.post("/orders", json=body)
    assert r.status_code == 201, r.text
    attrs = r.json()["data"]["attributes"]
    assert attrs["subtotalValue"] == "588.0000"
    assert attrs["totalDiscountsAmount"] == "37.4000"  # 8 + 5 % of 588
    assert attrs["subtotalWithDiscountsValue"] == attrs["totalValue"] == "550.6000"


def test_order_serves_its_addresses_with_countries_and_its_totals_block_with_tax_when_taxation_is_on(
    oro_api: OroApi,
) -> None:
    cat = make_catalog(oro_api)
    code = oro_api.create("producttaxcodes", {"code": "standard"})["data"]
    product_id = cat["product"]["data"]["id"]
    r = oro_api.http.patch(
        f"/products/{product_id}",
        json={
            "data": {
                "type": "products",
                "id": product_id,
                "relationships": {"taxCode": {"data": rel("producttaxcodes", code["id"])}},
            }
        },
    )
    assert r.status_code == 200, r.text
    untaxed = create_order(oro_api, cat["customer"]["id"], estimatedShippingCostAmount="25")["data"]
    r = oro_api.control.post(
        "/config", json={"taxation": {"rates": {"standard": "10"}, "shipping_percent": "10"}}
    )
    assert r.status_code < 300, r.text
    body = order_document(
        cat["customer"]["id"],
        [("WID-100", "each", 24, "12.5"), ("WID-100", "case", 2, "144")],
        estimatedShippingCostAmount="25",
        customerNotes="Deliver to dock 3",
        shipUntil="2026-07-14",
    )
    body["data"]["relationships"]["shippingAddress"] = {"data": rel("orderaddresses", "ship")}
    body["included"].append(
        {
            "type": "orderaddresses",
            "id": "ship",
            "attributes": {
                "organization": "Store 12",
                "firstName": "Stella",
                "lastName": "Storm",
                "street": "88 Dock Rd",
                "street2": "Unit 4",
                "city": "Springfield",
                "postalCode": "62704",
                "phone": "+1 217 555 0112",
            },
            "relationships": {
                "country": {"data": rel("countries", "US")},
                "region": {"data": rel("regions", "US-IL")},
            },
        }
    )
    r = oro_api.http.post("/orders", json=body)
    assert r.status_code == 201, r.text
    order = r.json()["data"]
    # 588.00 + 25.00 shipping + 58.80 tax on the lines + 2.50 on the shipping
    assert order["attributes"]["totalValue"] == "674.3000"
    got = oro_api.http.get(f"/orders/{order['id']}", params={"include": "shippingAddress.country"}).json()
    address = next(i for i in got["included"] if i["type"] == "orderaddresses")
    assert (
        address["attributes"]["street2"] == "Unit 4" and address["attributes"]["organization"] == "Store 12"
    )
    assert address["relationships"]["region"]["data"] == rel("regions", "US-IL")
    country = next(i for i in got["included"] if i["type"] == "countries")
    assert (country["id"], country["attributes"]["name"]) == ("US", "United States")

    def totals(order_id: str) -> dict[str, str]:
        r = oro_api.http.get("/ordersubtotals", params={"filter[order]": order_id})
        assert r.status_code == 200, r.text
        return {s["attributes"]["orderSubtotalType"]: s["attributes"]["amount"] for s in r.json()["data"]}

    assert totals(order["id"]) == {
        "subtotal": "588.0000",
        "shipping_cost": "25.0000",
        "tax": "61.3000",
    }
    # taxation off (as when the first order was placed): no tax row, no tax in the total
    assert totals(untaxed["id"]) == {"subtotal": "588.0000", "shipping_cost": "25.0000"}
    assert untaxed["attributes"]["totalValue"] == "613.0000"
    assert oro_api.http.get("/ordersubtotals").status_code == 400  # filter[order] is required


def test_order_validation_errors_point_at_the_field(oro_api: OroApi) -> None:
    cat = make_catalog(oro_api)
    missing = oro_api.http.post(
        "/orders", json={"data": {"type": "orders", "attributes": {"currency": "USD"}}}
    )
    assert missing.status_code == 400
    pointers = {e["source"]["pointer"] for e in missing.json()["errors"]}
    assert (
        "/data/relationships/customer/data" in pointers and "/data/relationships/lineItems/data" in pointers
    )
    bad_unit = oro_api.http.post(
        "/orders", json=order_document(cat["customer"]["id"], [("WID-100", "pallet", 1, "10")])
    )
    assert bad_unit.status_code == 400
    assert bad_unit.json()["errors"][0]["source"]["pointer"] == "/included/0/relationships/productUnit/data"
    no_name = oro_api.http.post("/customers", json={"data": {"type": "customers", "attributes": {}}})
    assert (
        no_name.status_code == 400
        and no_name.json()["errors"][0]["source"]["pointer"] == "/data/attributes/name"
    )
    extra = oro_api.http.post(
        "/customers", json={"data": {"type": "customers", "attributes": {"name": "X", "nmae": "typo"}}}
    )
    assert extra.status_code == 400 and extra.json()["errors"][0]["title"] == "extra fields constraint"
    assert oro_api.http.get("/orders").json()["data"] == []  # nothing half-created


def test_status_is_writable_only_with_external_status_management(oro_api: OroApi) -> None:
    cat = make_catalog(oro_api)
    order_id = create_order(oro_api, cat["customer"]["id"])["data"]["id"]

    def patch(rels: dict[str, Any]) -> dict[str, Any]:
        r = oro_api.http.patch(
            f"/orders/{order_id}", json={"data": {"type": "orders", "id": order_id, "relationships": rels}}
        )
        assert r.status_code == 200, r.text
        return dict(r.json()["data"]["relationships"])

    rels = patch(
        {
            "status": {"data": rel("orderstatuses", "shipped")},
            "internalStatus": {"data": rel("orderinternalstatuses", "closed")},
        }
    )
    assert rels["status"]["data"] is None and rels["internalStatus"]["data"]["id"] == "open"
    rels = patch({"shippingStatus": {"data": rel("ordershippingstatuses", "shipped")}})
    assert rels["shippingStatus"]["data"]["id"] == "shipped"
    oro_api.control.post("/config", json={"external_status_management": True})
    rels = patch({"status": {"data": rel("orderstatuses", "shipped")}})
    assert rels["status"]["data"] == rel("orderstatuses", "shipped")
    r = oro_api.http.patch(
        f"/orders/{order_id}/relationships/internalStatus",
        json={"data": rel("orderinternalstatuses", "closed")},
    )
    assert r.status_code == 405


def test_shipping_tracking_links_to_orders_and_source_quote(oro_api: OroApi) -> None:
    cat = make_catalog(oro_api)
    quote = oro_api.create(
        "quotes", {"poNumber": "Q-1"}, {"customer": rel("customers", cat["customer"]["id"])}
    )["data"]
    assert quote["relationships"]["internalStatus"]["data"]["id"] == "draft"
    order_id = create_order(oro_api, cat["customer"]["id"], sourceEntityIdentifier=quote["id"])["data"]["id"]
    oro_api.http.patch(
        f"/orders/{order_id}",
        json={
            "data": {
                "type": "orders",
                "id": order_id,
                "relationships": {"source": {"data": rel("quotes", quote["id"])}},
            }
        },
    ).raise_for_status()
    tracking = oro_api.create(
        "ordershippingtrackings", {"method": "UPS", "number": "1Z999"}, {"orders": [rel("orders", order_id)]}
    )["data"]
    got = oro_api.http.get(f"/orders/{order_id}", params={"include": "shippingTrackings"}).json()
    assert got["data"]["relationships"]["shippingTrackings"]["data"] == [
        rel("ordershippingtrackings", tracking["id"])
    ]
    assert got["data"]["relationships"]["source"]["data"] == rel("quotes", quote["id"])
    assert got["included"][0]["attributes"]["number"] == "1Z999"


# ---------------------------------------------------------------------------------------------- products, inventory


def test_unit_precision_creates_its_inventory_level_and_levels_cannot_be_created(oro_api: OroApi) -> None:
    cat = make_catalog(oro_api)
    product_id = cat["product"]["data"]["id"]
    r = oro_api.http.post(
        "/productunits",
        json={"data": {"type": "productunits", "id": "pallet", "attributes": {"defaultPrecision": 0}}},
    )
    assert r.status_code == 201 and r.json()["data"]["id"] == "pallet"
    precision = oro_api.create(
        "productunitprecisions",
        {"precision": 0, "conversionRate": 480, "sell": True},
        {"product": rel("products", product_id), "unit": rel("productunits", "pallet")},
    )["data"]
    assert precision["attributes"]["conversionRate"] == 480
    levels = oro_api.http.get(
        "/inventorylevels", params={"filter[product]": product_id, "include": "product,productUnitPrecision"}
    ).json()
    assert len(levels["data"]) == 3
    assert {i["type"] for i in levels["included"]} == {"products", "productunitprecisions"}
    level = next(
        lv
        for lv in levels["data"]
        if lv["relationships"]["productUnitPrecision"]["data"]["id"] == precision["id"]
    )
    patched = oro_api.http.patch(
        f"/inventorylevels/{level['id']}",
        json={"data": {"type": "inventorylevels", "id": level["id"], "attributes": {"quantity": 17}}},
    )
    assert patched.status_code == 200 and patched.json()["data"]["attributes"]["quantity"] == "17"
    create = oro_api.http.post(
        "/inventorylevels", json={"data": {"type": "inventorylevels", "attributes": {"quantity": 1}}}
    )
    assert create.status_code == 405
    assert oro_api.http.delete(f"/inventorylevels/{level['id']}").status_code == 405


def test_product_prices_have_sharded_ids_and_need_the_price_list_filter(oro_api: OroApi) -> None:
    cat = make_catalog(oro_api)
    price_list = oro_api.create("pricelists", {"name": "Wholesale", "priceListCurrencies": ["USD"]})["data"]
    price = oro_api.create(
        "productprices",
        {"quantity": 1, "value": "12.5", "currency": "USD"},
        {
            "priceList": rel("pricelists", price_list["id"]),
            "product": rel("products", cat["product"]["data"]["id"]),
            "unit": rel("productunits", "case"),
        },
    )["data"]
    assert price["id"].endswith(f"-{price_list['id']}") and len(price["id"]) == 36 + 1 + len(price_list["id"])
    assert price["attributes"]["value"] == "12.5000"
    listed = oro_api.http.get("/productprices", params={"filter[priceList]": price_list["id"]}).json()["data"]
    assert [p["id"] for p in listed] == [price["id"]]
    eur = oro_api.http.post(
        "/productprices",
        json={
            "data": {
                "type": "productprices",
                "attributes": {"quantity": 1, "value": "1", "currency": "EUR"},
                "relationships": {
                    "priceList": {"data": rel("pricelists", price_list["id"])},
                    "product": {"data": rel("products", cat["product"]["data"]["id"])},
                    "unit": {"data": rel("productunits", "each")},
                },
            }
        },
    )
    assert (
        eur.status_code == 400 and eur.json()["errors"][0]["source"]["pointer"] == "/data/attributes/currency"
    )


# ---------------------------------------------------------------------------------------------- batch API


def test_batch_update_of_inventory_levels_is_asynchronous(oro_api: OroApi) -> None:
    make_catalog(oro_api)
    levels = oro_api.http.get("/inventorylevels").json()["data"]
    body = {
        "data": [
            {
                "meta": {"update": True},
                "type": "inventorylevels",
                "id": lv["id"],
                "attributes": {"quantity": 100 + n},
            }
            for n, lv in enumerate(levels)
        ]
    }
    r = oro_api.http.patch("/inventorylevels", json=body)
    assert r.status_code == 202
    assert r.json()["data"]["type"] == "asyncoperations" and r.json()["data"]["attributes"]["status"] in (
        "new",
        "running",
        "success",
    )
    op = poll_operation(oro_api, r.headers["Content-Location"])
    assert op["attributes"]["status"] == "success"
    assert (
        op["attributes"]["summary"]["writeCount"] == len(levels)
        and op["attributes"]["summary"]["errorCount"] == 0
    )
    assert op["attributes"]["summary"]["updateCount"] == len(levels)
    quantities = sorted(
        lv["attributes"]["quantity"] for lv in oro_api.http.get("/inventorylevels").json()["data"]
    )
    assert quantities == [str(100 + n) for n in range(len(levels))]


def test_batch_create_of_inventory_levels_is_refused_per_record(oro_api: OroApi) -> None:
    make_catalog(oro_api)
    level_id = oro_api.http.get("/inventorylevels").json()["data"][0]["id"]
    body = {
        "data": [
            {"type": "inventorylevels", "attributes": {"quantity": 5}},
            {
                "meta": {"update": True},
                "type": "inventorylevels",
                "id": level_id,
                "attributes": {"quantity": 7},
            },
        ]
    }
    r = oro_api.http.patch("/inventorylevels", json=body)
    op = poll_operation(oro_api, r.headers["Content-Location"])
    assert op["attributes"]["status"] == "success"  # success, yet with errors: always read /errors
    assert op["attributes"]["summary"]["errorCount"] == 1 and op["attributes"]["summary"]["writeCount"] == 1
    errors = oro_api.http.get(f"/asyncoperations/{op['id']}/errors").json()["data"]
    assert errors[0]["type"] == "asyncoperationerrors"
    assert (
        errors[0]["attributes"]["status"] == 405 and errors[0]["attributes"]["source"]["pointer"] == "/data/0"
    )
    assert oro_api.http.get(f"/inventorylevels/{level_id}").json()["data"]["attributes"]["quantity"] == "7"


def test_sync_batch_is_atomic_and_maps_request_ids(oro_api: OroApi) -> None:
    body = {
        "data": [
            {"type": "customers", "id": "c1", "attributes": {"name": "One"}},
            {"type": "customers", "id": "c2", "attributes": {"name": "Two"}},
        ]
    }
    r = oro_api.http.patch("/customers", json=body, headers={"X-Mode": "sync"})
    assert r.status_code == 200
    assert [d["meta"]["dataId"] for d in r.json()["data"]] == ["c1", "c2"]
    bad = {
        "data": [
            {"type": "customers", "attributes": {"name": "Three"}},
            {"type": "customers", "attributes": {}},
        ]
    }
    r = oro_api.http.patch("/customers", json=bad, headers={"X-Mode": "sync"})
    assert r.status_code == 400 and r.json()["errors"][0]["source"]["pointer"] == "/data/1/attributes/name"
    assert len(oro_api.http.get("/customers").json()["data"]) == 2


# ---------------------------------------------------------------------------------------------- webhooks


def test_internal_status_change_fires_a_signed_webhook(
    oro_api: OroApi, oro_webhook_receiver: WebhookReceiver
) -> None:
    cat = make_catalog(oro_api)
    webhook_id = subscribe(oro_api, oro_webhook_receiver.url, "order.updated", secret="top-secret")  # noqa: S106
    listed = oro_api.http.get(f"/webhooks/{webhook_id}").json()["data"]
    assert "secret" not in listed["attributes"]  # write-only
    order = create_order(oro_api, cat["customer"]["id"])["data"]
    r = oro_api.control.post(f"/orders/{order['id']}/internal-status", json={"status": "cancelled"})
    assert r.status_code == 200
    received = oro_webhook_receiver.wait_for(1)
    assert len(received) == 1
    hook = received[0]
    assert hook.headers["Content-Type"] == "application/json"
    assert hook.headers["Webhook-Topic"] == "order.updated"
    assert hook.headers["Webhook-Signature-Algorithm"] == "HMAC-SHA256"
    expected = hmac.new(b"top-secret", hook.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hook.headers["Webhook-Signature"], expected)
    payload = json.loads(hook.body)
    assert set(payload) == {"topic", "eventData", "timestamp", "messageId"}
    assert payload["topic"] == "order.updated" and payload["messageId"] == hook.headers["Webhook-Id"]
    assert isinstance(payload["timestamp"], int)
    data = payload["eventData"]["data"]
    assert data["id"] == order["id"] and data["relationships"]["internalStatus"]["data"]["id"] == "cancelled"
    got = oro_api.http.get(f"/orders/{order['id']}").json()["data"]
    assert got["relationships"]["internalStatus"]["data"]["id"] == "cancelled"


def test_webhook_is_retried_on_503_then_delivered(
    oro_api: OroApi, oro_webhook_receiver: WebhookReceiver
) -> None:
    cat = make_catalog(oro_api)
    subscribe(oro_api, oro_webhook_receiver.url, "order.created", secret=None)
    oro_webhook_receiver.responses[:] = [503, 503]
    create_order(oro_api, cat["customer"]["id"])
    received = oro_webhook_receiver.wait_for(3)
    assert [r.status for r in received] == [503, 503, 200]
    assert len({r.headers["Webhook-Id"] for r in received}) == 1 and len({r.body for r in received}) == 1
    assert "Webhook-Signature" not in received[0].headers
    wait_idle(oro_api)
    outcomes = [(d["attempt"], d["outcome"]) for d in deliveries(oro_api)]
    assert outcomes == [(1, "retry"), (2, "retry"), (3, "delivered")]


def test_webhook_answered_410_deletes_the_subscription(
    oro_api: OroApi, oro_webhook_receiver: WebhookReceiver
) -> None:
    cat = make_catalog(oro_api)
    webhook_id = subscribe(oro_api, oro_webhook_receiver.url, "order.created")
    oro_webhook_receiver.responses[:] = [410]
    create_order(oro_api, cat["customer"]["id"])
    wait_idle(oro_api)
    assert deliveries(oro_api)[0]["outcome"] == "gone"
    assert oro_api.http.get(f"/webhooks/{webhook_id}").status_code == 404
    create_order(oro_api, cat["customer"]["id"])
    wait_idle(oro_api)
    assert len(oro_webhook_receiver.requests) == 1


def test_webhook_other_statuses_are_not_retried(
    oro_api: OroApi, oro_webhook_receiver: WebhookReceiver
) -> None:
    cat = make_catalog(oro_api)
    subscribe(oro_api, oro_webhook_receiver.url, "order.created")
    oro_webhook_receiver.responses[:] = [500]
    create_order(oro_api, cat["customer"]["id"])
    wait_idle(oro_api)
    assert [(d["status"], d["outcome"]) for d in deliveries(oro_api)] == [(500, "rejected")]


def test_shipping_status_change_fires_order_updated(
    oro_api: OroApi, oro_webhook_receiver: WebhookReceiver
) -> None:
    cat = make_catalog(oro_api)
    order_id = create_order(oro_api, cat["customer"]["id"])["data"]["id"]
    subscribe(oro_api, oro_webhook_receiver.url, f"order.updated.{order_id}")
    r = oro_api.http.patch(
        f"/orders/{order_id}/relationships/shippingStatus",
        json={"data": rel("ordershippingstatuses", "shipped")},
    )
    assert r.status_code == 204
    received = oro_webhook_receiver.wait_for(1)
    assert (
        json.loads(received[0].body)["eventData"]["data"]["relationships"]["shippingStatus"]["data"]["id"]
        == "shipped"
    )


# ---------------------------------------------------------------------------------------------- faults


def test_error_fault_answers_without_doing_anything(oro_api: OroApi) -> None:
    oro_api.control.post(
        "/faults",
        json={
            "method": "POST",
            "path": "^/admin/api/customers$",
            "error_rate": 1.0,
            "error_status": 503,
            "times": 1,
        },
    )
    r = oro_api.http.post(
        "/customers", json={"data": {"type": "customers", "attributes": {"name": "Faulty"}}}
    )
    assert r.status_code == 503
    assert oro_api.http.get("/customers").json()["data"] == []
    oro_api.create("customers", {"name": "Second try"})  # `times: 1` used up
    rules = oro_api.control.get("/faults").json()["rules"]
    assert rules[0]["stats"]["errors"] == 1 and rules[0]["stats"]["matched"] == 2


def test_throttle_fault_answers_429_and_latency_is_injected(oro_api: OroApi) -> None:
    oro_api.control.post(
        "/faults",
        json={
            "rules": [
                {"method": "GET", "path": "/orders", "throttle_rate": 1.0},
                {"method": "*", "path": "/customers", "latency_ms": 50},
            ]
        },
    )
    r = oro_api.http.get("/orders")
    assert r.status_code == 429 and "Retry-After" not in r.headers
    assert oro_api.http.get("/customers").status_code == 200
    stats = [rule["stats"] for rule in oro_api.control.get("/faults").json()["rules"]]
    assert stats[0]["throttled"] == 1 and stats[1]["delayed"] == 1
    oro_api.control.delete("/faults")
    assert oro_api.http.get("/orders").status_code == 200


def test_drop_after_commit_closes_the_connection_but_keeps_the_record(oro_api: OroApi) -> None:
    oro_api.control.post(
        "/faults", json={"method": "POST", "path": "/customers$", "drop_after_commit_rate": 1.0, "times": 1}
    )
    with pytest.raises(httpx.TransportError):
        oro_api.http.post("/customers", json={"data": {"type": "customers", "attributes": {"name": "Ghost"}}})
    found = oro_api.http.get("/customers", params={"filter[name]": "Ghost"}).json()["data"]
    assert len(found) == 1


def test_drop_after_commit_can_hold_the_connection_past_the_client_timeout(oro_api: OroApi) -> None:
    oro_api.control.post(
        "/faults",
        json={
            "method": "PATCH",
            "path": "/customers/",
            "drop_after_commit_rate": 1.0,
            "drop_mode": "hold",
            "hold_ms": 1500,
        },
    )
    customer_id = oro_api.create("customers", {"name": "Before"})["data"]["id"]
    with pytest.raises(httpx.ReadTimeout):
        oro_api.http.patch(
            f"/customers/{customer_id}",
            json={"data": {"type": "customers", "id": customer_id, "attributes": {"name": "After"}}},
            timeout=0.3,
        )
    assert oro_api.http.get(f"/customers/{customer_id}").json()["data"]["attributes"]["name"] == "After"


def test_seeded_faults_are_reproducible(oro_api: OroApi) -> None:
    def run() -> list[int]:
        oro_api.control.delete("/faults")
        oro_api.control.post(
            "/faults", json={"method": "GET", "path": "/orders", "error_rate": 0.5, "seed": 1234}
        )
        return [oro_api.http.get("/orders").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second and 500 in first and 200 in first
    with pytest.raises(httpx.HTTPStatusError):
        oro_api.control.post("/faults", json={"method": "GET", "error_rate": 2}).raise_for_status()


def test_webhook_duplicate_and_drop_faults(oro_api: OroApi, oro_webhook_receiver: WebhookReceiver) -> None:
    cat = make_catalog(oro_api)
    subscribe(oro_api, oro_webhook_receiver.url, "order.created")
    oro_api.control.post("/faults", json={"webhook_duplicate_rate": 1.0})
    create_order(oro_api, cat["customer"]["id"])
    received = oro_webhook_receiver.wait_for(2)
    assert len(received) == 2 and received[0].headers["Webhook-Id"] == received[1].headers["Webhook-Id"]
    assert received[0].body == received[1].body
    oro_api.control.post("/faults", json={"webhook_duplicate_rate": 0, "webhook_drop_rate": 1.0})
    create_order(oro_api, cat["customer"]["id"])
    wait_idle(oro_api)
    assert len(oro_webhook_receiver.requests) == 2
    assert deliveries(oro_api, outcome="dropped")[0]["topic"] == "order.created"


# ---------------------------------------------------------------------------------------------- control, demo


def test_control_api_is_not_counted_and_demo_seed_runs_through_the_api(oro_api: OroApi) -> None:
    seeded = oro_api.control.post("/reset", json={"seed": "demo"}).json()["seed"]
    assert oro_api.control.get("/stats").json()["api_calls"] == 0
    assert oro_api.control.get("/health").json()["status"] == "ok"
    assert seeded["priceLists"] == {"Wholesale": "1", "Contract": "2"}
    assert set(seeded["products"]) == {"WID-100", "GAD-200", "BOLT-300"}
    assert set(seeded["unitPrecisions"]["WID-100"]) == {"each", "case", "pallet"}
    customers = {c["attributes"]["name"]: c for c in oro_api.http.get("/customers").json()["data"]}
    assert customers["Acme Holdings"]["attributes"]["externalId"] == "CIN7-ACME"
    leaf = customers["Acme East Store 12"]["relationships"]["parent"]["data"]["id"]
    assert leaf == seeded["customers"]["Acme Retail East"]
    assert customers["Bolt Brothers"]["attributes"]["externalId"] is None
    contract = oro_api.http.get("/productprices", params={"filter[priceList]": "2", "page[size]": -1}).json()[
        "data"
    ]
    values = {
        (p["relationships"]["product"]["data"]["id"], p["relationships"]["unit"]["data"]["id"]): p[
            "attributes"
        ]["value"]
        for p in contract
    }
    assert values[(seeded["products"]["WID-100"], "each")] == "12.0000"
    assert values[(seeded["products"]["BOLT-300"], "each")] == "0.2375"
    wid_case = oro_api.http.get(
        f"/productunitprecisions/{seeded['unitPrecisions']['WID-100']['case']}"
    ).json()["data"]
    assert wid_case["attributes"]["conversionRate"] == 12
    assert oro_api.control.get("/stats").json()["api_calls"] == 3


# ------------------------------------------------------------------------------- max_entities (page cap)


def test_max_page_size_caps_pages_and_keeps_the_next_link(oro_api: OroApi) -> None:
    for n in range(5):
        oro_api.create("customers", {"name": f"Customer {n}"})
    assert oro_api.control.post("/config", json={"max_page_size": 2}).json()["max_page_size"] == 2
    names, pages = [], 0
    r = oro_api.http.get("/customers", params={"page[size]": 10})
    while True:
        pages += 1
        doc = r.json()
        assert len(doc["data"]) <= 2
        names += [d["attributes"]["name"] for d in doc["data"]]
        if "next" not in doc["links"]:
            break
        r = oro_api.http.get(doc["links"]["next"])
    assert pages == 3 and names == [f"Customer {n}" for n in range(5)]
    page_two = oro_api.http.get("/customers", params={"page[size]": 10, "page[number]": 2}).json()["data"]
    assert [d["attributes"]["name"] for d in page_two] == ["Customer 2", "Customer 3"]  # offsets by the cap
    paging_off = oro_api.http.get("/customers", params={"page[size]": -1}).json()
    assert len(paging_off["data"]) == 2 and "next" in paging_off["links"]  # the cap applies to -1 too
    bad = oro_api.control.post("/config", json={"max_page_size": 0})
    assert bad.status_code == 400 and "max_page_size" in bad.json()["error"]
    oro_api.control.post("/reset")
    assert oro_api.control.get("/config").json()["max_page_size"] == -1  # the start-up setting


def test_a_sandbox_started_with_a_page_cap_seeds_the_demo_and_serves_capped_pages() -> None:
    from sandbox.oro.cli import build_parser

    assert build_parser().parse_args(["--max-page-size", "3"]).max_page_size == 3
    sandbox = OroSandbox(
        port=0, client_id=ORO_CLIENT_ID, client_secret=ORO_CLIENT_SECRET, max_page_size=1, seed="demo"
    ).start()
    try:
        topics = sandbox.seed_result["webhookTopics"] if sandbox.seed_result else []
        assert len(topics) > 1  # every page of one record was read, past the cap
        api = OroApi(sandbox)
        try:
            doc = api.http.get("/webhooktopics", params={"page[size]": 50}).json()
            assert len(doc["data"]) == 1 and "next" in doc["links"]
        finally:
            api.close()
    finally:
        sandbox.stop()


def test_state_survives_a_restart_when_a_state_file_is_given(tmp_path: Any) -> None:
    path = str(tmp_path / "oro-state.json")
    kwargs: dict[str, Any] = {"port": 0, "client_id": ORO_CLIENT_ID, "client_secret": ORO_CLIENT_SECRET}
    with OroSandbox(state_file=path, **kwargs) as first:
        api = OroApi(first)
        top = api.create("customers", {"name": "Acme Holdings", "externalId": "CIN7-ACME"})["data"]
        api.create("customers", {"name": "Acme Retail East"}, {"parent": rel("customers", top["id"])})
        api.close()
    with OroSandbox(state_file=path, **kwargs) as second:
        api = OroApi(second)
        names = {c["attributes"]["name"]: c for c in api.http.get("/customers").json()["data"]}
        assert set(names) == {"Acme Holdings", "Acme Retail East"}
        assert names["Acme Retail East"]["relationships"]["parent"]["data"] == rel("customers", top["id"])
        # new ids go on from where the first run stopped
        third = api.create("customers", {"name": "Bolt Brothers"})["data"]
        assert int(third["id"]) > int(names["Acme Retail East"]["id"])
        api.close()
    with OroSandbox(**kwargs) as empty:  # no state file: starts empty
        api = OroApi(empty)
        assert api.http.get("/customers").json()["data"] == []
        api.close()
