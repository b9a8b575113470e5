"""Product data, Oro → Cin7, for the attributes Oro owns (issue 10 point 2), through the running service: a
price run queues the product step, which writes only the Oro-owned attributes that differ, names products
orders cannot use (PRODUCT_INCOMPLETE) and, when configured, creates the products Cin7 lacks.

The demo seed: WID-100 "Widget 100", GAD-200 "Gadget 200", BOLT-300 "Bolt 300" on both sides (Cin7 category
"Hardware"), each mapped in `units`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.aws import EmbeddedAws
from tests.fixtures.order_env import OrderWorld, order_config, order_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("products")
    config = order_config(workdir, **{"products.owner": {"name": "oro", "description": "oro"}})
    with order_world(workdir, aws_server, config) as w:
        run(w)  # the first run reads the whole catalogue: everything already agrees
        yield w


def run(world: OrderWorld) -> None:
    assert world.env.runtime is not None
    world.env.runtime.fire("price_sync")
    world.env.wait_until_settled(60)


def cin7_calls(world: OrderWorld, endpoint: str) -> int:
    return int(world.cin7_stats()["calls"].get(endpoint, 0))


def rename(world: OrderWorld, sku: str, name: str) -> None:
    product_id = world.env.ids["oro"]["products"][sku]
    _, doc = world.oro.request("GET", f"products/{product_id}")
    name_id = doc["data"]["relationships"]["names"]["data"][0]["id"]
    world.tick()
    world.oro.patch("productnames", name_id, {"string": name})
    world.settle()  # Oro's product.updated webhook queues a product step at once: let it finish first


def describe(world: OrderWorld, sku: str, html: str) -> None:
    product_id = world.env.ids["oro"]["products"][sku]
    world.tick()
    body = {
        "data": {
            "type": "products",
            "id": product_id,
            "relationships": {"descriptions": {"data": [{"type": "productdescriptions", "id": "d1"}]}},
        },
        "included": [
            {
                "type": "productdescriptions",
                "id": "d1",
                "attributes": {"wysiwyg": {"value": html, "style": None, "properties": None}},
            }
        ],
    }
    world.oro.request("PATCH", f"products/{product_id}", body=body)
    world.settle()  # as in `rename`


def new_oro_product(world: OrderWorld, sku: str, name: str) -> str:
    """An Oro product sold by the `each` (as the seed makes them), with no tax code."""
    world.tick()
    body: dict[str, Any] = {
        "data": {
            "type": "products",
            "attributes": {"sku": sku, "status": "enabled", "productType": "simple"},
            "relationships": {
                "names": {"data": [{"type": "productnames", "id": "n"}]},
                "primaryUnitPrecision": {"data": {"type": "productunitprecisions", "id": "p"}},
                "unitPrecisions": {"data": [{"type": "productunitprecisions", "id": "p"}]},
            },
        },
        "included": [
            {
                "type": "productnames",
                "id": "n",
                "attributes": {"fallback": None, "string": name},
                "relationships": {"localization": {"data": None}},
            },
            {
                "type": "productunitprecisions",
                "id": "p",
                "attributes": {"precision": 0, "conversionRate": 1, "sell": True},
                "relationships": {"unit": {"data": {"type": "productunits", "id": "each"}}},
            },
        ],
    }
    _, doc = world.oro.request("POST", "products", body=body, creates=True)
    return str(doc["data"]["id"])


def incomplete(world: OrderWorld, sku: str) -> dict[str, Any] | None:
    found = [
        e
        for e in world.state.open_exceptions()
        if (e["code"], e["entity"]) == ("PRODUCT_INCOMPLETE", f"product:{sku}")
    ]
    return found[0] if found else None


def test_an_oro_name_change_reaches_cin7_when_oro_owns_names(world: OrderWorld) -> None:
    world.env.reconfigure({"products": {"owner": {"name": "oro", "description": "oro"}}})
    # the back office's own Cin7 description; Oro has none for WID-100, so Oro's empty one is not sent
    product_id = world.env.ids["cin7"]["products"]["WID-100"]
    world.cin7.update_product(product_id, {"Description": "Cin7's own text"})
    puts = cin7_calls(world, "PUT /product")
    rename(world, "WID-100", "Widget 100 Pro")
    run(world)
    product = world.cin7.get_product_by_sku("WID-100", include_bom=False)
    assert product.Name == "Widget 100 Pro"
    assert product.Description == "Cin7's own text" and product.Category == "Hardware"
    assert cin7_calls(world, "PUT /product") - puts == 1  # one product changed: one PUT
    puts = cin7_calls(world, "PUT /product")
    run(world)  # nothing changed since (the overlap re-reads it, but Cin7 already holds it)
    assert cin7_calls(world, "PUT /product") == puts


def test_only_the_owned_attributes_that_differ_are_sent(world: OrderWorld) -> None:
    world.env.reconfigure({"products": {"owner": {"name": "erp", "description": "oro"}}})
    run(world)
    puts, gets = cin7_calls(world, "PUT /product"), cin7_calls(world, "GET /product")
    rename(world, "GAD-200", "Gadget 200 (renamed in Oro)")  # the ERP owns names now: stays in Oro
    describe(world, "GAD-200", "<p>Die-cast</p>")
    rename(world, "BOLT-300", "Bolt 300 (renamed in Oro)")  # a change of nothing Oro owns: no call at all
    run(world)
    gadget = world.cin7.get_product_by_sku("GAD-200", include_bom=False)
    assert gadget.Description == "<p>Die-cast</p>" and gadget.Name == "Gadget 200"
    bolt = world.cin7.get_product_by_sku("BOLT-300", include_bom=False)
    assert bolt.Name == "Bolt 300"
    assert cin7_calls(world, "PUT /product") - puts == 1
    # a Cin7 product is read only for the product whose Oro-owned data changed (GAD-200), by its SKU; besides,
    # the Wholesale price mapping's read of the products changed in Cin7, and this test's own two reads
    assert cin7_calls(world, "GET /product") - gets == 1 + 1 + 2


def test_a_product_without_a_unit_mapping_is_incomplete_once_until_mapped(world: OrderWorld) -> None:
    world.env.reconfigure({"products": {"owner": {"name": "oro"}}})
    world.cin7.create_product({"SKU": "NUT-400", "Name": "Nut 400", "Category": "Hardware", "UOM": "Item"})
    new_oro_product(world, "NUT-400", "Nut 400")
    run(world)
    run(world)
    found = incomplete(world, "NUT-400")
    assert found is not None and found["owner"] == "ecommerce"
    assert "no unit mapping for its primary unit 'each'" in found["detail"]
    item = world.state._table.get_item(
        Key={"pk": "exception#PRODUCT_INCOMPLETE#product:NUT-400", "sk": "exception"}
    )["Item"]
    assert item["seen_count"] == 1
    units = world.env.config.model_dump(mode="json")["units"]
    units["NUT-400"] = {"each": {"erp_sku": "NUT-400", "factor": 1}}
    world.env.reconfigure({"units": units})
    run(world)
    assert incomplete(world, "NUT-400") is None


def test_create_in_erp_creates_a_missing_product_once(world: OrderWorld) -> None:
    world.env.reconfigure({"products": {"owner": {"name": "oro"}, "create_in_erp": False}})
    new_oro_product(world, "PIN-500", "Pin 500")
    run(world)
    assert "no Cin7 product with SKU 'PIN-500'" in (incomplete(world, "PIN-500") or {}).get("detail", "")
    world.env.reconfigure({"products": {"create_in_erp": True}})
    posts = cin7_calls(world, "POST /product")
    run(world)
    created = world.cin7.get_product_by_sku("PIN-500", include_bom=False)
    assert (created.Name, created.Category, created.UOM) == ("Pin 500", "General", "Item")
    assert cin7_calls(world, "POST /product") - posts == 1
    run(world)
    assert cin7_calls(world, "POST /product") - posts == 1
    assert [p.SKU for p in world.cin7.iter_products(sku="PIN-500")] == ["PIN-500"]
    # still incomplete for orders (no unit mapping), but no longer for want of a Cin7 product
    detail = (incomplete(world, "PIN-500") or {}).get("detail", "")
    assert "no unit mapping" in detail and "no Cin7 product" not in detail


def test_an_oro_product_webhook_moves_the_name_without_waiting_for_a_run(world: OrderWorld) -> None:
    import time

    run(world)
    rename(world, "BOLT-300", "Bolt 300 (zinc)")  # Oro sends product.updated; no price run is fired
    deadline = time.monotonic() + 30
    while world.cin7.get_product_by_sku("BOLT-300", include_bom=False).Name != "Bolt 300 (zinc)":
        assert time.monotonic() < deadline, "the product.updated webhook never moved the name"
        time.sleep(0.2)
