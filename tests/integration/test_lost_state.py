"""Lost state never duplicates a sale (DESIGN §6, shared/flows/recovery.py): the state table emptied under a
running service, and `orosync local up` killed with SIGKILL mid-burst and started again from its state
folder, each end with exactly one Cin7 sale per order."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.aws import LOCAL_AWS_ENV, EmbeddedAws
from local.environment import LocalEnvironment
from local.provision import provision
from shared.adapters.aws.state import Epoch, StateStore
from shared.resources import table
from tests.fixtures.order_env import OrderWorld, order_config, order_world

LINES = [("WID-100", "each", 1, "12.00")]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    with order_world(tmp_path_factory.mktemp("lost-state"), aws_server) as w:
        yield w


def _empty(table_name: str, dynamodb: Any) -> int:
    t = dynamodb.Table(table_name)
    keys = []
    kwargs: dict[str, Any] = {"ProjectionExpression": "pk, sk"}
    while True:
        page = t.scan(**kwargs)
        keys += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    with t.batch_writer() as batch:
        for key in keys:
            batch.delete_item(Key=key)
    return len(keys)


def test_emptying_the_state_table_under_a_running_service_duplicates_no_sale(world: OrderWorld):
    # Oro's clock runs 30 s ahead of ours: its orders are stamped after the epoch the emptied store begins
    # just below, although they came before it.
    with world.oro_clock_at(datetime.now(UTC), plus_seconds=30):
        orders = [world.place("Acme Holdings", LINES) for _ in range(4)]
        world.settle()
    sale_ids = {o: world.the_sale(o).ID for o in orders}

    table_name = world.env.env[table("state").env_var]
    assert _empty(table_name, boto3.resource("dynamodb")) > 0
    cancelled, *kept = orders
    world.set_status(cancelled, "cancelled")  # a cancel of an order the store no longer knows
    # No watermark, no intake records: the poll takes in every order of its first-run lookback again.
    assert world.env.runtime is not None
    world.env.runtime.fire("order_poll")
    # The store began again (its epoch marker went with the table): the orders wait out the settling time
    # of the lost store's workers, then are checked against Cin7's sales in one listing.
    world.settle(timeout=180)

    stats = world.cin7_stats()
    assert not stats["duplicate_external_ids"]
    for order_id in orders:
        assert stats["sales_by_external_id"][world.external_id(order_id)] == 1
        state = world.state.get_order(order_id)
        status = "voided" if order_id == cancelled else "synced"
        assert (state.status, state.sale_id) == (status, sale_ids[order_id])
        kinds = world.kinds(order_id)
        assert "erp_sale_adopted" in kinds and "erp_sale_created" not in kinds
    assert world.the_sale(cancelled).Status == "VOIDED"
    assert {world.the_sale(o).Order.Status for o in kept} == {"AUTHORISED"}
    # one listing of Cin7's sales for the new store, not one lookup per order before it
    assert world.state._table.get_item(Key={"pk": "meta#erp_scan", "sk": "scan"})["Item"]["sales"] >= 4


def test_the_store_begins_again_when_its_table_is_emptied_or_restored_from_another(aws: EmbeddedAws):
    """The epoch marker: kept while the table lives; a restored copy (a new table carrying the old marker)
    or an emptied table begins a new epoch, which settles only after `settle_seconds`."""
    names = [
        provision(f"epoch-{uuid.uuid4().hex[:6]}", tables=[table("state")], queues=())[table("state").env_var]
        for _ in range(2)
    ]
    original, restored = (StateStore(n) for n in names)
    provisioned = original.epoch(datetime.now(UTC), settle_seconds=60)
    assert provisioned.settled_at == provisioned.started_at  # a new table: nothing can be in flight
    later = provisioned.started_at + timedelta(hours=1)
    assert original.epoch(later, settle_seconds=60) == provisioned

    marker = original._table.get_item(Key={"pk": "meta#epoch", "sk": "epoch"})["Item"]
    restored._table.put_item(Item=marker)  # what a point-in-time restore copies into its new table
    assert restored.epoch(later, settle_seconds=60) == Epoch(later, later + timedelta(seconds=60))

    _empty(names[0], boto3.resource("dynamodb"))
    assert original.epoch(later, settle_seconds=60) == Epoch(later, later + timedelta(seconds=60))


# -- a real process, killed -----------------------------------------------------------------------------


class LocalUp:
    """`orosync local up` as a child process, its output collected."""

    def __init__(self, args: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(  # noqa: S603 - our own CLI, arguments built by this test
            [sys.executable, "-m", "cli.main", "local", "up", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := re.search(pattern, line):
                    return m
            assert self.proc.poll() is None, "local up exited:\n" + "".join(self.lines)
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in local up's output:\n" + "".join(self.lines))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def sandboxes(tmp_path, aws_server: EmbeddedAws) -> Iterator[LocalEnvironment]:
    """Seeded sandboxes whose webhooks point at a port that `orosync local up` then takes over."""
    env = LocalEnvironment(order_config(tmp_path), tmp_path, run_schedules=False, aws=aws_server)
    with env:
        env.seed()
        assert env.runtime is not None
        env.runtime.stop()
        yield env


def test_local_up_killed_mid_burst_and_started_again_makes_exactly_one_sale_per_order(
    sandboxes: LocalEnvironment, tmp_path: Path
):
    env = sandboxes
    config = env.config
    secrets = tmp_path / "secrets.json"
    secrets.write_text(
        json.dumps(
            {
                config.secrets.oro_client: env.oro_credentials,
                config.secrets.oro_webhook: {"secret": env.webhook_secret},
                config.secrets.cin7_orders: env.cin7_credentials,
                config.secrets.cin7_webhook: {"secret": env.cin7_webhook_secret},
            }
        )
    )
    state_dir = tmp_path / "state"
    args = [
        "--config",
        str(env.config_path),
        "--port",
        str(env.runtime_port),
        "--secrets-file",
        str(secrets),
        "--state-dir",
        str(state_dir),
        "--time-scale",
        "60",  # the order poll every 5 s
    ]
    cin7 = env.cin7_client()

    def sales_by_order(orders: list[str]) -> dict[str, int]:
        assert env.cin7 is not None
        counts = env.cin7.stats()["sales_by_external_id"]
        return {o: counts.get(f"{config.orders.external_id_prefix}{o}", 0) for o in orders}

    first = LocalUp(args)
    try:
        first.wait_for("Ctrl-C to stop")
        assert f"state: kept in {state_dir}" in "".join(first.lines)
        orders = [env.place_order("Acme Holdings", LINES) for _ in range(20)]
        deadline = time.monotonic() + 60
        saved = state_dir / "orosync-local.json"
        # killed mid-burst, once a save has been made (the restart restores an older state than Cin7's)
        while not saved.is_file() or sum(1 for n in sales_by_order(orders).values() if n) < 8:
            assert time.monotonic() < deadline, "the first run made too few sales"
            time.sleep(0.05)
        first.kill()
    finally:
        first.stop()
    made_before = sum(1 for n in sales_by_order(orders).values() if n)
    assert made_before < len(orders), "killed too late: every order was already a sale"
    assert (state_dir / "orosync-local.json").is_file()

    second = LocalUp(args)
    try:
        endpoint = second.wait_for(r"on embedded AWS at (http://\S+)").group(1)
        second.wait_for("Ctrl-C to stop")
        assert re.search(r"restored \d+ records", "".join(second.lines))
        ddb = boto3.resource("dynamodb", endpoint_url=endpoint, **_local_credentials())
        store = StateStore("orosync-local-state", dynamodb=ddb)
        deadline = time.monotonic() + 180
        while any(store.get_order(o).status != "synced" for o in orders):
            left = {o: store.get_order(o) for o in orders if store.get_order(o).status != "synced"}
            assert time.monotonic() < deadline, (left, "".join(second.lines[-40:]))
            time.sleep(0.5)
    finally:
        second.stop()

    assert sales_by_order(orders) == {o: 1 for o in orders}
    assert env.cin7 is not None and not env.cin7.stats()["duplicate_external_ids"]
    for order_id in orders:
        (row,) = cin7.find_sales_by_external_id(f"{config.orders.external_id_prefix}{order_id}")
        sale = cin7.get_sale(row.SaleID)
        assert sale.Order is not None and sale.Order.Status == "AUTHORISED"
        assert [(ln.SKU, ln.Quantity) for ln in sale.Order.Lines] == [("WID-100", Decimal(1))]


def _local_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": LOCAL_AWS_ENV["AWS_REGION"],
    }
