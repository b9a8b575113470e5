"""Price lists and product data from OroCommerce (issue 10) against the sandbox back office over real HTTP: the
bulk price seed, reading one price list among 30,000 prices, a Batch API request mixing price updates and
creates with refused records, single price writes, and products changed since a time with the data
product-data sync reads (name, description, brand, category, units, shipping options).

Assertions count records and requests, never durations.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.oro.server import OroSandbox
from shared.adapters.http import RetryPolicy
from shared.adapters.orocommerce.client import OroClient
from shared.adapters.orocommerce.models import OroAsyncOperation
from tests.fixtures.oro_sandbox import ORO_CLIENT_ID, ORO_CLIENT_SECRET, OroApi


def _control(sandbox: OroSandbox, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, f"{sandbox.control_url}/{path}", json=body, timeout=120)
    response.raise_for_status()
    return response.json() if response.content else None


class RecordingTransport(httpx.HTTPTransport):
    """Real HTTP; keeps the body of every PATCH it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.patches: list[Any] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches.append(json.loads(request.read()))
        return super().handle_request(request)


def _client(sandbox: OroSandbox, **kwargs: Any) -> OroClient:
    return OroClient(
        sandbox.base_url,
        ORO_CLIENT_ID,
        ORO_CLIENT_SECRET,
        retry=RetryPolicy(attempts=3, base_delay=0.0),
        sleep=lambda _s: None,
        timeout_seconds=30.0,
        **kwargs,
    )


def _products(sandbox: OroSandbox, count: int) -> list[str]:
    skus = [f"P-{n:05d}" for n in range(1, count + 1)]
    body = {"products": [{"sku": sku, "units": [["each", "1"], ["case", "12"]]} for sku in skus]}
    assert _control(sandbox, "POST", "products", body)["created"]["products"] == count
    return skus


def _price_list(api: OroApi, name: str, currencies: tuple[str, ...] = ("USD",)) -> str:
    doc = api.create("pricelists", {"name": name, "priceListCurrencies": list(currencies)})
    return str(doc["data"]["id"])


def _seed_prices(sandbox: OroSandbox, price_list: str, prices: list[dict[str, Any]]) -> int:
    body = {"priceList": price_list, "prices": prices}
    return int(_control(sandbox, "POST", "product-prices", body)["created"]["productprices"])


def _finished(client: OroClient, op_id: str) -> OroAsyncOperation:
    deadline = time.monotonic() + 30
    while not (op := client.get_async_operation(op_id)).finished and time.monotonic() < deadline:
        time.sleep(0.02)
    return op


# ------------------------------------------------------------------------------------------------ sandbox


def test_the_price_seed_writes_a_list_all_or_nothing_checked_as_the_api_checks(oro_api: OroApi) -> None:
    sandbox = oro_api.sandbox
    _products(sandbox, 3)
    usd = _price_list(oro_api, "Retail")
    prices = [
        {"sku": "P-00001", "unit": "each", "quantity": 1, "value": "10.5", "currency": "USD"},
        {"sku": "p-00001", "unit": "case", "quantity": "1", "value": 120, "currency": "USD"},
        {"sku": "P-00002", "unit": "each", "quantity": 10, "value": "9.12345", "currency": "USD"},
    ]
    assert _seed_prices(sandbox, usd, prices) == 3
    listed = oro_api.http.get(
        "/productprices", params={"filter[priceList]": usd, "include": "product", "page[size]": "10"}
    ).json()
    rows = {
        (
            {i["id"]: i for i in listed["included"]}[p["relationships"]["product"]["data"]["id"]][
                "attributes"
            ]["sku"],
            p["relationships"]["unit"]["data"]["id"],
            p["attributes"]["quantity"],
            p["attributes"]["value"],
        )
        for p in listed["data"]
    }
    assert rows == {
        ("P-00001", "each", 1, "10.5000"),
        ("P-00001", "case", 1, "120.0000"),
        ("P-00002", "each", 10, "9.1234"),
    }
    assert all(p["id"].endswith(f"-{usd}") for p in listed["data"])

    refused = [
        ({"sku": "NOPE", "unit": "each", "quantity": 1, "value": "1", "currency": "USD"}, "no product"),
        ({"sku": "P-00003", "unit": "kg", "quantity": 1, "value": "1", "currency": "USD"}, "unit 'kg'"),
        ({"sku": "P-00003", "unit": "each", "quantity": 1, "value": "1", "currency": "EUR"}, "currency"),
        ({"sku": "P-00003", "unit": "each", "quantity": 1, "value": "-1", "currency": "USD"}, "0 or more"),
        ({"sku": "P-00001", "unit": "each", "quantity": "1.0", "value": "1", "currency": "USD"}, "already"),
    ]
    for bad, words in refused:
        good = {"sku": "P-00003", "unit": "case", "quantity": 5, "value": "1", "currency": "USD"}
        r = oro_api.control.post("/product-prices", json={"priceList": usd, "prices": [good, bad]})
        assert r.status_code == 400 and "prices[1]" in r.json()["error"] and words in r.json()["error"]
    r = oro_api.control.post("/product-prices", json={"priceList": "999", "prices": []})
    assert r.status_code == 400 and "999" in r.json()["error"]
    after = oro_api.http.get("/productprices", params={"filter[priceList]": usd}).json()["data"]
    assert len(after) == 3  # nothing of the refused requests was written

    # Oro's rule: listing prices needs one price list
    r = oro_api.http.get("/productprices")
    assert r.status_code == 400 and r.json()["errors"][0]["source"] == {"parameter": "filter[priceList]"}


def test_a_price_batch_in_sync_mode_mixes_updates_and_creates(oro_api: OroApi) -> None:
    sandbox = oro_api.sandbox
    _products(sandbox, 2)
    pl = _price_list(oro_api, "Wholesale")
    _seed_prices(
        sandbox, pl, [{"sku": "P-00001", "unit": "each", "quantity": 1, "value": "5", "currency": "USD"}]
    )
    price_id = oro_api.http.get("/productprices", params={"filter[priceList]": pl}).json()["data"][0]["id"]
    product_2 = oro_api.http.get("/products", params={"filter[sku]": "P-00002"}).json()["data"][0]["id"]
    body = {
        "data": [
            {
                "type": "productprices",
                "id": price_id,
                "meta": {"update": True},
                "attributes": {"value": "6.2500"},
            },
            {
                "type": "productprices",
                "attributes": {"quantity": 12, "value": "4.0000", "currency": "USD"},
                "relationships": {
                    "priceList": {"data": {"type": "pricelists", "id": pl}},
                    "product": {"data": {"type": "products", "id": product_2}},
                    "unit": {"data": {"type": "productunits", "id": "case"}},
                },
            },
        ]
    }
    r = oro_api.http.patch("/productprices", json=body, headers={"X-Mode": "sync"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data[0]["id"] == price_id and data[0]["attributes"]["value"] == "6.2500"
    assert data[1]["id"].endswith(f"-{pl}") and data[1]["attributes"]["value"] == "4.0000"

    # sync mode is atomic: a unit the product lacks refuses the whole request, nothing is applied
    body["data"][0]["attributes"]["value"] = "7"
    body["data"][1]["attributes"]["quantity"] = 24
    body["data"][1]["relationships"]["unit"]["data"]["id"] = "kg"
    r = oro_api.http.patch("/productprices", json=body, headers={"X-Mode": "sync"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["source"]["pointer"] == "/data/1/relationships/unit/data"
    values = {
        p["attributes"]["value"]
        for p in oro_api.http.get("/productprices", params={"filter[priceList]": pl}).json()["data"]
    }
    assert values == {"6.2500", "4.0000"}


# ------------------------------------------------------------------------------------------------ adapter


def test_one_price_list_is_read_among_30000_prices(oro_api: OroApi) -> None:
    sandbox = oro_api.sandbox
    skus = _products(sandbox, 10_000)
    lists = [_price_list(oro_api, f"Tier {n}") for n in range(1, 4)]
    for n, pl in enumerate(lists, start=1):
        prices = [
            {"sku": sku, "unit": "each", "quantity": 1, "value": f"{i % 500 + n}.25", "currency": "USD"}
            for i, sku in enumerate(skus)
        ]
        assert _seed_prices(sandbox, pl, prices) == 10_000

    with _client(sandbox) as client:
        seen = list(client.iter_product_prices(lists[1], page_size=1000))
        assert client.requests == 10  # ten pages of 1,000, the last one without a `next` link
    assert len(seen) == 10_000 and len({p.id for p in seen}) == 10_000
    assert {p.price_list_id for p in seen} == {lists[1]}
    assert {(p.unit, p.quantity, p.currency) for p in seen} == {("each", Decimal(1), "USD")}
    by_sku = {p.product_sku: p.value for p in seen}
    assert len(by_sku) == 10_000
    assert by_sku["P-00001"] == Decimal("2.25") and by_sku["P-10000"] == Decimal(f"{9_999 % 500 + 2}.25")


def test_a_price_batch_updates_and_creates_and_names_the_records_refused(oro_sandbox: OroSandbox) -> None:
    api = OroApi(oro_sandbox)
    try:
        _products(oro_sandbox, 4)
        pl = _price_list(api, "Contract")
        seeded = [
            {"sku": sku, "unit": "each", "quantity": 1, "value": "10", "currency": "USD"}
            for sku in ("P-00001", "P-00002", "P-00003")
        ]
        _seed_prices(oro_sandbox, pl, seeded)
    finally:
        api.close()
    transport = RecordingTransport()
    with _client(oro_sandbox, transport=transport) as client:
        before = {p.product_sku: p for p in client.iter_product_prices(pl)}
        product_4 = next(client.iter_products(["P-00004"])).id
        # the third existing price is refused by the sandbox fault, the new one in `kg` by Oro's unit rule
        _control(oro_sandbox, "POST", "faults", {"batch_fail_ids": {"productprices": [before["P-00003"].id]}})
        records: list[dict[str, Any]] = [
            {"id": before["P-00001"].id, "value": Decimal("12.5")},
            {
                "price_list_id": pl,
                "product_id": product_4,
                "unit": "case",
                "quantity": Decimal(10),
                "currency": "USD",
                "value": Decimal("99.123456"),
            },
            {
                "price_list_id": pl,
                "product_id": product_4,
                "unit": "kg",
                "quantity": Decimal(1),
                "currency": "USD",
                "value": Decimal("1"),
            },
            {"id": before["P-00003"].id, "value": Decimal("11")},
            {"id": before["P-00002"].id, "value": "8.1"},
        ]
        op = _finished(client, client.write_product_prices_batch(records))
        assert op.status == "success" and op.has_errors
        assert (op.summary.write_count, op.summary.error_count) == (3, 2)
        assert (op.summary.update_count, op.summary.create_count) == (2, 1)
        errors = client.get_async_operation_errors(op.id)
        assert sorted((e.record_index, e.pointer) for e in errors) == [
            (2, "/data/2/relationships/unit/data"),
            (3, "/data/3"),
        ]
        after = {(p.product_sku, p.unit): p for p in client.iter_product_prices(pl)}

    assert len(transport.patches) == 1  # one Batch API request
    sent = transport.patches[0]["data"]
    assert sent[0] == {
        "type": "productprices",
        "id": before["P-00001"].id,
        "meta": {"update": True},
        "attributes": {"value": "12.5000"},
    }
    assert "meta" not in sent[1] and "id" not in sent[1]
    assert sent[1]["attributes"] == {"quantity": 10, "value": "99.1235", "currency": "USD"}
    assert after[("P-00001", "each")].value == Decimal("12.5")
    assert after[("P-00002", "each")].value == Decimal("8.1")
    assert after[("P-00003", "each")].value == Decimal("10")  # refused: unchanged
    created = after[("P-00004", "case")]
    assert (created.value, created.quantity, created.currency) == (Decimal("99.1235"), Decimal(10), "USD")
    assert created.id.endswith(f"-{pl}") and ("P-00004", "kg") not in after


def test_price_writes_one_by_one_and_records_refused_before_sending(oro_api: OroApi) -> None:
    sandbox = oro_api.sandbox
    _products(sandbox, 1)
    pl = _price_list(oro_api, "Single")
    with _client(sandbox) as client:
        product = next(client.iter_products(["P-00001"])).id
        created = client.create_product_price(pl, product, "case", Decimal(2), "USD", Decimal("30.00005"))
        assert created.id.endswith(f"-{pl}") and created.value == Decimal("30.0001")
        updated = client.update_product_price(created.id, Decimal("29.5"))
        assert updated.id == created.id and updated.value == Decimal("29.5")
        [read] = client.iter_product_prices(pl)
        assert (read.product_sku, read.unit, read.quantity, read.value) == (
            "P-00001",
            "case",
            2,
            Decimal("29.5"),
        )

        sent = client.requests
        for bad in (
            [{"id": created.id}],
            [{"id": created.id, "value": 1.5}],
            [{"id": created.id, "value": Decimal("-1")}],
            [{"price_list_id": pl, "product_id": product, "unit": "each", "quantity": 1, "value": 1}],
            [],
        ):
            with pytest.raises(ValueError):
                client.write_product_prices_batch(bad)
        assert client.requests == sent


def test_products_changed_since_carry_the_new_name_brand_category_units_and_shipping(oro_api: OroApi) -> None:
    sandbox = oro_api.sandbox
    _products(sandbox, 3)
    category = _control(sandbox, "POST", "categories", {"title": "Fasteners"})["id"]
    brand = oro_api.create(
        "brands",
        {"status": "enabled"},
        {"names": [{"type": "localizedfallbackvalues", "id": "b1"}]},
        included=[{"type": "localizedfallbackvalues", "id": "b1", "attributes": {"string": "Acme"}}],
    )["data"]["id"]
    with _client(sandbox) as client:
        product = next(client.iter_products(["P-00002"]))
        oro_api.create(
            "productshippingoptions",
            {"weightValue": "1.5", "dimensionsLength": 30, "dimensionsWidth": 20, "dimensionsHeight": "10.5"},
            {
                "product": {"type": "products", "id": product.id},
                "productUnit": {"type": "productunits", "id": "each"},
                "weightUnit": {"type": "weightunits", "id": "kg"},
                "dimensionsUnit": {"type": "lengthunits", "id": "cm"},
            },
        )
        r = oro_api.http.patch(
            f"/products/{product.id}",
            json={
                "data": {
                    "type": "products",
                    "id": product.id,
                    "relationships": {
                        "brand": {"data": {"type": "brands", "id": brand}},
                        "category": {"data": {"type": "categories", "id": category}},
                        "descriptions": {"data": [{"type": "productdescriptions", "id": "d1"}]},
                    },
                },
                "included": [
                    {
                        "type": "productdescriptions",
                        "id": "d1",
                        "attributes": {
                            "wysiwyg": {"value": "<p>Zinc plated</p>", "style": None, "properties": None}
                        },
                    }
                ],
            },
        )
        assert r.status_code == 200, r.text
        since = datetime.fromisoformat(_control(sandbox, "GET", "clock")["now"])
        assert list(client.iter_products_updated_since(since)) == []

        # the name alone changes (its own record): the product's updatedAt moves with it
        _control(sandbox, "POST", "clock", {"advance_seconds": 5})
        name_id = oro_api.http.get(f"/products/{product.id}").json()["data"]["relationships"]["names"][
            "data"
        ][0]["id"]
        r = oro_api.http.patch(
            f"/productnames/{name_id}",
            json={"data": {"type": "productnames", "id": name_id, "attributes": {"string": "Hex bolt M8"}}},
        )
        assert r.status_code == 200, r.text
        [changed] = list(client.iter_products_updated_since(since))
        assert changed.sku == "P-00002" and changed.name == "Hex bolt M8"
        assert changed.updated_at is not None and changed.updated_at > since
        assert changed.description == "<p>Zinc plated</p>"
        assert (changed.brand_id, changed.brand) == (brand, "Acme")
        assert (changed.category_id, changed.category) == (category, "Fasteners")
        assert changed.primary_unit == "each"
        assert {(u.unit, u.conversion_rate) for u in changed.unit_precisions} == {
            ("each", Decimal(1)),
            ("case", Decimal(12)),
        }
        shipping = changed.shipping()
        assert shipping is not None
        assert (shipping.weight, shipping.weight_unit) == (Decimal("1.5"), "kg")
        assert (shipping.length, shipping.width, shipping.height, shipping.dimensions_unit) == (
            Decimal(30),
            Decimal(20),
            Decimal("10.5"),
            "cm",
        )

        # the name changed through the product (an included name marked for update) moves it too
        later = datetime.fromisoformat(_control(sandbox, "GET", "clock")["now"])
        _control(sandbox, "POST", "clock", {"advance_seconds": 5})
        other = next(client.iter_products(["P-00003"]))
        other_name = oro_api.http.get(f"/products/{other.id}").json()["data"]["relationships"]["names"][
            "data"
        ][0]["id"]
        r = oro_api.http.patch(
            f"/products/{other.id}",
            json={
                "data": {
                    "type": "products",
                    "id": other.id,
                    "relationships": {"names": {"data": [{"type": "productnames", "id": other_name}]}},
                },
                "included": [
                    {
                        "type": "productnames",
                        "id": other_name,
                        "meta": {"update": True},
                        "attributes": {"string": "Washer M8"},
                    }
                ],
            },
        )
        assert r.status_code == 200, r.text
        assert [(p.sku, p.name) for p in client.iter_products_updated_since(later)] == [
            ("P-00003", "Washer M8")
        ]
