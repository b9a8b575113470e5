"""`orosync local up` killed with SIGKILL while shipments are being applied to Oro orders (tracking numbers in
flight, slowed to 1.5 s each in Oro), then started again from its state folder against the same sandboxes:
every order ends with exactly its one tracking number and `shipped`, no tracking written twice, nothing in the
fulfilment DLQ (issue 12)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from local.aws import EmbeddedAws
from local.environment import LocalEnvironment
from tests.fixtures.order_env import OrderWorld, order_config
from tests.integration.test_lost_state import LocalUp, _local_credentials

N = 8
LATENCY_MS = 1500  # each tracking write waits this long in Oro: a kill lands while one is in flight


@pytest.fixture
def world(tmp_path: Path, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    """Seeded sandboxes whose webhooks (Oro's and Cin7's sale events) point at a port that `orosync local up`
    then takes over."""
    config = order_config(tmp_path, **{"fulfilment.enabled": True})
    env = LocalEnvironment(config, tmp_path, run_schedules=False, aws=aws_server)
    with env:
        env.seed()
        assert env.runtime is not None
        env.runtime.stop()
        w = OrderWorld(env)
        try:
            yield w
        finally:
            w.close()


def tracking_posts(world: OrderWorld) -> int:
    stats = world.oro_ctl("GET", "stats")["by_endpoint"]
    return int(stats.get("POST ordershippingtrackings", 0))


def shipping_status(world: OrderWorld, order: str) -> str | None:
    ship = world.get_order(order)["relationships"].get("shippingStatus") or {}
    return (ship.get("data") or {}).get("id")


def test_local_up_killed_mid_shipments_and_started_again_writes_each_tracking_once(
    world: OrderWorld, tmp_path: Path
) -> None:
    env = world.env
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
    save = state_dir / "orosync-local.json"
    args = ["--config", str(env.config_path), "--port", str(env.runtime_port), "--secrets-file", str(secrets)]
    args += ["--state-dir", str(state_dir), "--time-scale", "60"]  # fulfilment_poll every 10 s

    first = LocalUp(args)
    try:
        first.wait_for("Ctrl-C to stop")
        orders = [world.place("Acme Holdings", [("WID-100", "each", 2, Decimal("12.50"))]) for _ in range(N)]
        deadline = time.monotonic() + 60
        while not all(len(world.sales(o)) == 1 for o in orders):
            assert time.monotonic() < deadline, ("orders not synced", "".join(first.lines[-30:]))
            time.sleep(0.2)
        sales = {o: world.the_sale(o).ID for o in orders}
        [slow] = world.oro_ctl(
            "POST", "faults", {"method": "POST", "path": "ordershippingtrackings", "latency_ms": LATENCY_MS}
        )["rules"]
        before = tracking_posts(world)
        for n, order in enumerate(orders):  # the warehouse ships each: Cin7's sale webhooks follow
            world.ship(sales[order], tracking=f"KILL-{n}", carrier="DHL")
        deadline = time.monotonic() + 90
        # killed once a third of the trackings were sent and a save holds the work: one is in flight
        while not (tracking_posts(world) - before >= N // 3 and save.is_file()):
            assert time.monotonic() < deadline, ("too few trackings", "".join(first.lines[-30:]))
            time.sleep(0.05)
        first.kill()
    finally:
        first.stop()
    sent_before = tracking_posts(world) - before
    assert sent_before < N, "killed too late: every tracking was already written"
    world.oro_ctl("DELETE", "faults")
    assert slow["latency_ms"] == LATENCY_MS

    second = LocalUp(args)
    try:
        endpoint = second.wait_for(r"on embedded AWS at (http://\S+)").group(1)
        dlq = second.wait_for(r"^\s+fulfilment-dlq\s+(\S+)").group(1)
        second.wait_for("Ctrl-C to stop")
        deadline = time.monotonic() + 120  # Cin7's retries of the deliveries the kill refused, and the poll
        while missing := [o for o in orders if shipping_status(world, o) != "shipped"]:
            assert time.monotonic() < deadline, (missing, "".join(second.lines[-40:]))
            time.sleep(0.5)
        time.sleep(3)  # anything still queued for these sales would write now
        sqs = boto3.client("sqs", endpoint_url=endpoint, **_local_credentials())
        dead = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    finally:
        second.stop()

    for n, order in enumerate(orders):
        assert [t.number for t in world.oro.list_shipping_trackings(order)] == [f"KILL-{n}"], order
    assert tracking_posts(world) - before == N  # each tracking written once, none again after the restart
    assert dead["Attributes"]["ApproximateNumberOfMessages"] == "0"
