"""Stock levels written through Oro's Batch API (`stock.oro_writes: batch`): a batch Oro applies in part has
only its refused records written again, and what it applied is recorded once (issue 9)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from local.aws import EmbeddedAws
from tests.fixtures.order_env import OrderWorld, order_config, order_world

SKUS = ("WID-100", "GAD-200", "BOLT-300")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("stock-batch")
    config = order_config(workdir, **{"stock.oro_writes": "batch", "stock.fast_path": False})
    with order_world(workdir, aws_server, config) as w:
        yield w


def level_ids(world: OrderWorld) -> dict[tuple[str, str], tuple[str, Decimal]]:
    products = {p.id: p.sku for p in world.oro.iter_products(SKUS, with_units=False)}
    return {
        (products[lv.product_id or ""], lv.unit or ""): (lv.id, lv.quantity)
        for lv in world.oro.iter_inventory_levels(products)
    }


def level_batches(world: OrderWorld) -> list[int]:
    """How many records each inventory-level batch Oro was sent held, oldest first."""
    sizes = []
    op_id = 1
    while True:
        try:
            op = world.oro.get_async_operation(str(op_id))
        except Exception:  # noqa: BLE001 - past the last operation
            return sizes
        if op.entity_type == "inventorylevels":
            sizes.append(op.summary.read_count)
        op_id += 1


def test_a_batch_applied_in_part_writes_again_only_what_was_refused(world: OrderWorld) -> None:
    ids = level_ids(world)
    refused_id = ids[("WID-100", "each")][0]
    world.oro_ctl("POST", "faults", {"batch_fail_ids": {"inventorylevels": [refused_id]}})
    assert world.env.runtime is not None
    world.env.runtime.fire("stock_sync")
    # The run's one batch is checked within seconds: everything but the refused level is applied and recorded.
    deadline = time.monotonic() + 30
    while not world.state.stock_records(["GAD-200"])["GAD-200"].pushed:
        assert time.monotonic() < deadline, "the batch was never checked"
        time.sleep(0.1)
    world.oro_ctl("DELETE", "faults")
    world.env.wait_until_settled(60)

    got = {key: q for key, (_, q) in level_ids(world).items()}
    assert got[("WID-100", "each")] == 684 and got[("WID-100", "case")] == 57
    assert got[("GAD-200", "each")] == 285 and got[("BOLT-300", "each")] == 11875
    records = world.state.stock_records(list(SKUS))
    assert records["WID-100"].pushed == {"each": Decimal(684), "case": Decimal(57)}
    # One batch of the six changed levels, then one of the refused level alone.
    assert level_batches(world)[-2:] == [6, 1]
    assert world.env.function_stats()["stock_push"].errors == 0
