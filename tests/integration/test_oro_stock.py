"""Stock into OroCommerce (issue 9) against the sandbox back office over real HTTP: the bulk catalogue seed, the
inventory level rules (a quantity is a number of 0 or more), a partial Batch API failure driven by the
`batch_fail_ids` fault, and the adapter calls the stock flow makes (product and level lookups by the hundred,
single and batch level updates, inventory statuses, async operations and their errors).

Assertions count requests (the client's own counter), never durations.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.oro.server import OroSandbox
from shared.adapters.http import RetryPolicy
from shared.adapters.orocommerce.client import FILTER_CHUNK, OroClient
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
        self.patches: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches.append(request.read())
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


def _seed(sandbox: OroSandbox, count: int) -> list[str]:
    skus = [f"S-{n:05d}" for n in range(1, count + 1)]
    body = {"products": [{"sku": sku, "units": [["each", "1"], ["case", "12"]]} for sku in skus]}
    created = _control(sandbox, "POST", "products", body)["created"]
    assert created == {
        "products": count,
        "productunitprecisions": 2 * count,
        "inventorylevels": 2 * count,
        "productunits": 1,  # `case` is not one of Oro's seeded units
    }
    return skus


def _finished(client: OroClient, op_id: str) -> OroAsyncOperation:
    deadline = time.monotonic() + 30
    while not (op := client.get_async_operation(op_id)).finished and time.monotonic() < deadline:
        time.sleep(0.02)
    return op


def _batch(api: OroApi, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    r = api.http.patch("/inventorylevels", json=body)
    assert r.status_code == 202
    for _ in range(1500):
        op = api.http.get(r.headers["Content-Location"]).json()["data"]
        if op["attributes"]["status"] in ("success", "failed"):
            errors = api.http.get(f"/asyncoperations/{op['id']}/errors").json()["data"]
            return op, [e["attributes"] for e in errors]
        time.sleep(0.02)
    raise AssertionError("async operation did not finish")


def _update(level_id: str, quantity: Any) -> dict[str, Any]:
    return {
        "meta": {"update": True},
        "type": "inventorylevels",
        "id": level_id,
        "attributes": {"quantity": quantity},
    }


# ------------------------------------------------------------------------------------------------ sandbox


def test_the_bulk_seed_creates_products_units_and_levels_all_or_nothing(oro_api: OroApi) -> None:
    skus = _seed(oro_api.sandbox, 20_000)
    wanted = skus[::200]  # 100 SKUs spread over the catalogue, asked for in one request
    products = oro_api.http.get(
        "/products",
        params={
            "filter[sku]": ",".join(wanted),
            "include": "primaryUnitPrecision,unitPrecisions",
            "page[size]": "100",
        },
    ).json()
    assert sorted(p["attributes"]["sku"] for p in products["data"]) == wanted
    assert {p["attributes"]["status"] for p in products["data"]} == {"enabled"}
    assert "next" not in products["links"]
    precisions = {i["id"]: i for i in products["included"]}
    first = products["data"][0]
    primary = precisions[first["relationships"]["primaryUnitPrecision"]["data"]["id"]]
    assert primary["relationships"]["unit"]["data"]["id"] == "each"
    assert primary["attributes"]["conversionRate"] == 1
    rates = {
        precisions[r["id"]]["relationships"]["unit"]["data"]["id"]: precisions[r["id"]]["attributes"][
            "conversionRate"
        ]
        for r in first["relationships"]["unitPrecisions"]["data"]
    }
    assert rates == {"each": 1, "case": 12}

    product_ids = [p["id"] for p in products["data"]]
    levels = oro_api.http.get(
        "/inventorylevels",
        params={
            "filter[product]": ",".join(product_ids),
            "include": "product,productUnitPrecision",
            "page[size]": "200",
        },
    ).json()
    assert len(levels["data"]) == 200 and {lv["attributes"]["quantity"] for lv in levels["data"]} == {"0"}
    assert {lv["relationships"]["product"]["data"]["id"] for lv in levels["data"]} == set(product_ids)
    assert {i["type"] for i in levels["included"]} == {"products", "productunitprecisions"}

    # a SKU already used (Oro's SKUs are unique whatever their case) refuses the whole request
    duplicate = {
        "products": [{"sku": "NEW-1", "units": [["each", "1"]]}, {"sku": "s-00007", "units": [["each", "1"]]}]
    }
    r = oro_api.control.post("/products", json=duplicate)
    assert r.status_code == 400 and "products[1]" in r.json()["error"] and "s-00007" in r.json()["error"]
    assert oro_api.http.get("/products", params={"filter[sku]": "NEW-1"}).json()["data"] == []
    bad_unit = {"products": [{"sku": "NEW-2", "units": [["each", "0"]]}]}
    assert oro_api.control.post("/products", json=bad_unit).status_code == 400


def test_an_inventory_quantity_must_be_a_number_of_zero_or_more(oro_api: OroApi) -> None:
    _seed(oro_api.sandbox, 2)
    ids = [lv["id"] for lv in oro_api.http.get("/inventorylevels").json()["data"]]
    for quantity, title in (("abc", "form constraint"), (-1, "range constraint")):
        r = oro_api.http.patch(
            f"/inventorylevels/{ids[0]}",
            json={"data": {"type": "inventorylevels", "id": ids[0], "attributes": {"quantity": quantity}}},
        )
        assert r.status_code == 400
        error = r.json()["errors"][0]
        assert error["title"] == title and error["source"]["pointer"] == "/data/attributes/quantity"

    op, errors = _batch(
        oro_api,
        {"data": [_update(ids[0], 5), _update(ids[1], "x"), _update(ids[2], "-0.5"), _update(ids[3], "2.5")]},
    )
    assert op["attributes"]["status"] == "success"
    assert op["attributes"]["summary"]["errorCount"] == 2 and op["attributes"]["summary"]["updateCount"] == 2
    assert [e["source"]["pointer"] for e in errors] == [
        "/data/1/attributes/quantity",
        "/data/2/attributes/quantity",
    ]
    quantities = {
        lv["id"]: lv["attributes"]["quantity"] for lv in oro_api.http.get("/inventorylevels").json()["data"]
    }
    assert quantities == {ids[0]: "5", ids[1]: "0", ids[2]: "0", ids[3]: "2.5"}


def test_the_batch_fail_ids_fault_refuses_chosen_records_and_applies_the_others(oro_api: OroApi) -> None:
    _seed(oro_api.sandbox, 3)
    ids = [lv["id"] for lv in oro_api.http.get("/inventorylevels").json()["data"]]
    r = oro_api.control.post("/faults", json={"batch_fail_ids": {"inventorylevels": [ids[1], int(ids[4])]}})
    assert r.status_code == 200 and r.json()["batch_fail_ids"] == {
        "inventorylevels": sorted([ids[1], ids[4]])
    }

    op, errors = _batch(oro_api, {"data": [_update(level_id, 10 + n) for n, level_id in enumerate(ids)]})
    summary = op["attributes"]["summary"]
    assert op["attributes"]["status"] == "success"
    assert summary["errorCount"] == 2 and summary["writeCount"] == 4 and summary["readCount"] == 6
    assert [(e["status"], e["title"], e["source"]["pointer"]) for e in errors] == [
        (400, "sandbox fault", "/data/1"),
        (400, "sandbox fault", "/data/4"),
    ]
    quantities = [lv["attributes"]["quantity"] for lv in oro_api.http.get("/inventorylevels").json()["data"]]
    assert quantities == ["10", "0", "12", "13", "0", "15"]
    assert oro_api.control.get("/faults").json()["batch_failed"] == 2

    assert oro_api.control.delete("/faults").status_code == 204
    op, errors = _batch(oro_api, {"data": [_update(ids[1], 7)]})
    assert op["attributes"]["summary"]["errorCount"] == 0 and errors == []
    bad = oro_api.control.post("/faults", json={"batch_fail_ids": ["1"]})
    assert bad.status_code == 400 and "batch_fail_ids" in bad.json()["error"]


# ------------------------------------------------------------------------------------------------ adapter


def test_products_and_levels_are_read_by_the_hundred_in_a_big_catalogue(oro_sandbox: OroSandbox) -> None:
    skus = _seed(oro_sandbox, 20_000)
    wanted = skus[5::97][: 2 * FILTER_CHUNK + 10]  # three chunks of SKUs
    with _client(oro_sandbox) as client:
        products = list(client.iter_products(wanted))
        assert client.requests == 3  # one page per chunk of 100 SKUs
        assert sorted(p.sku for p in products) == sorted(wanted)
        assert all(p.primary_unit == "each" and p.conversion_rate("case") == 12 for p in products)

        client.requests = 0
        ids = [p.id for p in products[:FILTER_CHUNK]]
        levels = list(client.iter_inventory_levels(ids))
        assert client.requests == 2  # 200 levels of 100 products: two pages of 100
        assert len(levels) == 200 and {lv.quantity for lv in levels} == {Decimal(0)}
        assert {(lv.product_id, lv.unit) for lv in levels} == {(i, u) for i in ids for u in ("each", "case")}
        by_product = {p.id: p.sku for p in products}
        assert all(lv.product_sku == by_product[lv.product_id] for lv in levels)


def test_levels_are_set_one_by_one_and_in_a_batch_that_partly_fails(oro_sandbox: OroSandbox) -> None:
    skus = _seed(oro_sandbox, 150)
    transport = RecordingTransport()
    with _client(oro_sandbox, transport=transport) as client:
        products = list(client.iter_products(skus))
        levels = list(client.iter_inventory_levels([p.id for p in products]))
        assert len(levels) == 300

        client.update_inventory_level(levels[0].id, Decimal("17.0000"))
        client.update_inventory_level(levels[1].id, Decimal("2.50"))
        assert b'"quantity":17}' in transport.patches[0]  # a whole number goes as 17, not "17.0000"
        assert b'"quantity":2.5}' in transport.patches[1]

        batch = levels[100:300]
        failing = {7: batch[7].id, 150: batch[150].id}
        _control(
            oro_sandbox, "POST", "faults", {"batch_fail_ids": {"inventorylevels": list(failing.values())}}
        )
        op_id = client.update_inventory_levels_batch([(lv.id, Decimal(n + 1)) for n, lv in enumerate(batch)])
        op = _finished(client, op_id)
        assert op.status == "success" and op.has_errors
        assert op.summary.error_count == 2 and op.summary.update_count == 198
        errors = client.get_async_operation_errors(op_id)
        assert sorted(e.record_index for e in errors if e.record_index is not None) == sorted(failing)

        after = {lv.id: lv.quantity for lv in client.iter_inventory_levels([p.id for p in products])}
    assert after[levels[0].id] == Decimal(17) and after[levels[1].id] == Decimal("2.5")
    for n, lv in enumerate(batch):
        assert after[lv.id] == (Decimal(0) if n in failing else Decimal(n + 1))


def test_inventory_statuses_are_set_one_by_one_and_in_a_batch(oro_sandbox: OroSandbox) -> None:
    skus = _seed(oro_sandbox, 4)
    with _client(oro_sandbox) as client:
        ids = {p.sku: p.id for p in client.iter_products(skus, with_units=False)}
        client.set_inventory_status(ids[skus[0]], "out_of_stock")

        _control(oro_sandbox, "POST", "faults", {"batch_fail_ids": {"products": [ids[skus[3]]]}})
        op_id = client.set_inventory_statuses_batch(
            [(ids[skus[1]], "discontinued"), (ids[skus[2]], "out_of_stock"), (ids[skus[3]], "out_of_stock")]
        )
        op = _finished(client, op_id)
        assert op.status == "success" and op.summary.update_count == 2 and op.summary.error_count == 1
        assert [e.record_index for e in client.get_async_operation_errors(op_id)] == [2]

        statuses = {p.sku: p.inventory_status for p in client.iter_products(skus, with_units=False)}
        assert statuses == {
            skus[0]: "out_of_stock",
            skus[1]: "discontinued",
            skus[2]: "out_of_stock",
            skus[3]: "in_stock",
        }
        client.set_inventory_status(ids[skus[0]], "in_stock")
        assert next(iter(client.iter_products([skus[0]], with_units=False))).inventory_status == "in_stock"

        sent = client.requests
        with pytest.raises(ValueError, match="'sold_out' is not an Oro inventory status"):
            client.set_inventory_status(ids[skus[0]], "sold_out")
        with pytest.raises(ValueError, match="at least one product"):
            client.set_inventory_statuses_batch([])
        assert client.requests == sent  # refused before any request
