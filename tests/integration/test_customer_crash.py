"""`orosync local up` killed with SIGKILL while new accounts are being onboarded into Cin7 (creates in flight,
a create through but its binding not yet written), then started again from its state folder against the same
sandboxes: every account ends with exactly one Cin7 customer, on hold and carrying its Oro id, never sent
twice, and bound to it (issue 11)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from local.aws import EmbeddedAws
from local.environment import LocalEnvironment
from shared.adapters.aws.state import StateStore
from tests.fixtures.order_env import OrderWorld, order_config
from tests.integration.test_customer_sync import cin7_named, posts
from tests.integration.test_lost_state import LocalUp, _local_credentials

N = 12
NAMES = [f"Crash Onboard {i:02d}" for i in range(N)]
LATENCY_MS = (
    1500  # each create waits this long in Cin7 before it is made: a kill lands while some are in flight
)


@pytest.fixture
def world(tmp_path: Path, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    """Seeded sandboxes whose webhooks point at a port that `orosync local up` then takes over. The seeded
    top-level accounts are onboarded first, so every Cin7 create counted below is one of this test's."""
    config = order_config(tmp_path, **{"customers.onboard": "top_level"})
    env = LocalEnvironment(config, tmp_path, run_schedules=False, aws=aws_server)
    with env:
        env.seed()
        assert env.runtime is not None
        env.runtime.fire("customer_sync")
        env.wait_until_settled(60)
        env.runtime.stop()
        w = OrderWorld(env)
        try:
            yield w
        finally:
            w.close()


def bound_in_save(save: Path) -> set[str]:
    """The accounts whose binding the last save of the killed process holds."""
    items = json.loads(save.read_text())["tables"]["state"]
    return {i["pk"]["S"].removeprefix("customer#") for i in items if i["sk"]["S"] == "binding"}


def test_local_up_killed_mid_onboarding_and_started_again_creates_each_customer_once(
    world: OrderWorld, tmp_path: Path
) -> None:
    env = world.env
    config = env.config
    assert env.cin7 is not None
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
    args += ["--state-dir", str(state_dir), "--time-scale", "60"]  # customer_sync every 15 s
    before = posts(world)
    [slow] = env.cin7.add_faults({"method": "POST", "path": "/customer$", "latency_ms": LATENCY_MS})

    first = LocalUp(args)
    try:
        first.wait_for("Ctrl-C to stop")
        # made in the back office: each customer.created webhook queues the account's onboarding
        accounts = {
            name: str(world.oro.create("customers", {"name": name}).resources()[0].id) for name in NAMES
        }
        deadline = time.monotonic() + 60
        # killed once a third of the creates were sent and a save has been made; creates take 1.5 s in Cin7
        # and follow one another, so one is in flight: it is made after the kill, its binding never written
        while not (posts(world) - before >= N // 3 and save.is_file()):
            assert time.monotonic() < deadline, ("too few creates", "".join(first.lines[-30:]))
            time.sleep(0.05)
        first.kill()
    finally:
        first.stop()
    sent_before = posts(world) - before
    assert sent_before < N, "killed too late: every create was already sent"
    time.sleep(2 * LATENCY_MS / 1000)  # the creates in flight at the kill are made meanwhile
    made = {n for n in NAMES if cin7_named(world, n)}
    assert made - {n for n in NAMES if accounts[n] in bound_in_save(save)}, (
        "no create went through unbound: the kill missed what this test is for"
    )
    env.cin7.clear_faults(slow["id"])

    second = LocalUp(args)
    try:
        endpoint = second.wait_for(r"on embedded AWS at (http://\S+)").group(1)
        dlq = second.wait_for(r"^\s+customers-dlq\s+(\S+)").group(1)
        second.wait_for("Ctrl-C to stop")
        assert re.search(r"restored \d+ records", "".join(second.lines))
        store = StateStore(
            "orosync-local-state",
            dynamodb=boto3.resource("dynamodb", endpoint_url=endpoint, **_local_credentials()),
        )
        deadline = time.monotonic() + 100
        while unbound := [n for n in NAMES if store.customer_binding(accounts[n]) is None]:
            assert time.monotonic() < deadline, (unbound, "".join(second.lines[-40:]))
            time.sleep(0.5)
        bindings = {n: store.customer_binding(accounts[n]) for n in NAMES}
        duplicates = [e for e in store.open_exceptions() if e["code"] == "CUSTOMER_DUPLICATE_NAME"]
        sqs = boto3.client("sqs", endpoint_url=endpoint, **_local_credentials())
        dead = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    finally:
        second.stop()

    # what Cin7 holds, read from the sandbox
    assert posts(world) - before == N  # each create sent once, none again after the restart
    carrying = {}
    for customer in world.cin7.iter_customers(include_deprecated=True):
        if customer.AdditionalAttribute1 in accounts.values():
            carrying.setdefault(customer.AdditionalAttribute1, []).append(customer)
    for name in NAMES:
        [customer] = cin7_named(world, name)
        assert customer.AdditionalAttribute1 == accounts[name]
        assert [c.ID for c in carrying[accounts[name]]] == [customer.ID]
        assert customer.IsOnCreditHold is True
        binding = bindings[name]
        assert binding is not None and binding.erp_customer_id == customer.ID and binding.pending
    assert dead["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert duplicates == []
