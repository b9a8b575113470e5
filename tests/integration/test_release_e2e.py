"""Held orders released end to end, over real HTTP through the whole local service: a Bolt Brothers order
(an Oro account with no Cin7 customer) is held CUSTOMER_UNMAPPED until `orosync customers map` binds it,
then becomes exactly one Cin7 sale; a pallet order held UOM_UNMAPPED is released by the order poll once a
redeployed config maps the unit, and not before."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from cli.main import main
from local.environment import LocalEnvironment
from shared.config import load_config, parse_config

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.yaml"
D = Decimal


@pytest.fixture(scope="module")
def env(tmp_path_factory, aws_server) -> Iterator[LocalEnvironment]:
    data = load_config(EXAMPLE_CONFIG).model_dump(mode="json")
    del data["units"]["WID-100"]["pallet"]  # so a pallet order is held UOM_UNMAPPED
    data["erp"]["applications"]["orders"].update(
        calls_per_minute=600, burst=100, limit_per_minute=700
    )  # budget has its own suite
    data["customers"]["onboard"] = "none"  # bound by hand here; test_customer_sync.py onboards
    environment = LocalEnvironment(
        parse_config(data), tmp_path_factory.mktemp("release"), run_schedules=False, aws=aws_server
    )
    with environment:
        environment.seed()
        yield environment


def _sales(env: LocalEnvironment, order_id: str) -> list:
    cin7 = env.cin7_client()
    rows = cin7.find_sales_by_external_id(f"{env.config.orders.external_id_prefix}{order_id}")
    return [cin7.get_sale(r.SaleID) for r in rows]


def _customer(env: LocalEnvironment, name: str, parent: str | None = None) -> str:
    """A new Oro account without an ERP customer (optionally below `parent`)."""
    relationships = {"parent": ("customers", env.ids["oro"]["customers"][parent])} if parent else None
    doc = env.oro_client().create("customers", {"name": name}, relationships)
    customer_id = str(doc.resources()[0].id)
    env.ids["oro"]["customers"][name] = customer_id
    return customer_id


def test_customers_map_releases_held_orders_of_the_account_and_its_children_into_one_sale_each(env, capsys):
    _customer(env, "Bolt Brothers East", parent="Bolt Brothers")
    _customer(env, "Crank Co")
    bolt = env.place_order("Bolt Brothers", [("BOLT-300", "each", D(100), D("0.25"))])
    child = env.place_order("Bolt Brothers East", [("BOLT-300", "each", D(40), D("0.25"))])
    other = env.place_order("Crank Co", [("BOLT-300", "each", D(10), D("0.25"))])
    env.wait_until_settled(30)
    state = env.state()
    for order_id in (bolt, child, other):
        assert state.get_order(order_id).status == "held"
        assert state.get_order(order_id).reasons[0].startswith("CUSTOMER_UNMAPPED: ")
        assert _sales(env, order_id) == []

    # Finance creates the account in Cin7 (searching first, in real life), then maps it.
    created_id = env.create_cin7_customer("Bolt Brothers")
    assert env.aws is not None
    where = ["--aws-endpoint", env.aws.endpoint_url, "--prefix", env.prefix]
    assert main(["customers", "map", env.ids["oro"]["customers"]["Bolt Brothers"], created_id, *where]) == 0
    out = capsys.readouterr().out
    # The held orders recorded the accounts the flow walked: only Bolt Brothers and its child are released.
    assert "released 2 held order(s):" in out
    env.wait_until_settled(30)

    for order_id in (bolt, child):
        sales = _sales(env, order_id)
        assert len(sales) == 1
        assert sales[0].CustomerID == created_id and sales[0].Order.Status == "AUTHORISED"
        assert state.get_order(order_id).status == "synced"
        kinds = [e["kind"] for e in state.timeline(order_id)]
        assert kinds.count("released") == 1 and kinds.count("erp_sale_created") == 1
    assert state.get_order(other).status == "held" and _sales(env, other) == []
    assert [e["kind"] for e in state.timeline(other)].count("held") == 1

    assert main(["orders", "show", bolt, *where]) == 0
    shown = capsys.readouterr().out  # the local runtime's own log lines come before it
    shown = shown[shown.index(f"order {bolt}: synced\n") :]
    kinds = [
        line.split()[2] for line in shown.split("timeline (UTC):\n")[1].splitlines() if line[2:3].isdigit()
    ]
    assert (
        kinds.index("held") < kinds.index("released") < kinds.index("erp_sale_created") < kinds.index("bound")
    )


def test_poll_releases_a_pallet_order_only_once_the_config_maps_the_unit(env):
    assert env.runtime is not None
    order_id = env.place_order("Acme Holdings", [("WID-100", "pallet", D(1), D("5760.00"))])
    env.wait_until_settled(30)
    state = env.state()
    assert state.get_order(order_id).reasons == ["UOM_UNMAPPED: WID-100 in unit 'pallet' has no ERP mapping"]

    assert env.runtime.fire("order_poll")["released"] == 0
    env.wait_until_settled(30)
    assert state.get_order(order_id).status == "held"

    env.reconfigure({"units": {"WID-100": {"pallet": {"erp_sku": "WID-100", "factor": 480}}}})
    assert env.runtime is not None
    assert env.runtime.fire("order_poll")["released"] == 1
    env.wait_until_settled(30)

    assert state.get_order(order_id).status == "synced"
    sales = _sales(env, order_id)
    assert len(sales) == 1
    assert [(ln.SKU, ln.Quantity) for ln in sales[0].Order.Lines] == [("WID-100", D(480))]
    assert env.runtime.fire("order_poll")["released"] == 0
    assert [e["kind"] for e in state.timeline(order_id)].count("auto_released") == 1
