"""A refused credential is an outage, not a pile of held orders (DESIGN §6), over real HTTP through the whole
local service: Cin7 answering 403 to a regenerated key, or Oro refusing the client once its secret changed,
raises no exception and holds no order; every message is deferred (the `CredentialsRejected` metric names the
system); and once the corrected secret is in Secrets Manager every order syncs by itself, once."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from functions.order_sync.handler import MAX_CREDENTIAL_DEFERRALS
from local.events import sqs_event
from local.provision import put_secrets
from tests.fixtures.order_env import OrderWorld, order_config, order_world

# Each deferral doubles the delay (from 1 s here): on a loaded machine the outage lasts longer, so the last
# delay before the fix may be a minute or more. settle() returns as soon as all is done.
SETTLE_AFTER_FIX = 240


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("credentials")
    # A message meets the refusal, then comes back 1 s, 2 s, 4 s… later (30 s in the example config).
    with order_world(
        workdir, aws_server, order_config(workdir, **{"secrets.rejected_retry_seconds": 1})
    ) as w:
        yield w


class Emitted:
    """The EMF metric lines the functions print, read from captured stdout as they come."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.blobs: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        out = self.capsys.readouterr().out
        self.blobs += [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
        return self.blobs

    def count(self, name: str, **dimensions: str) -> int:
        return sum(
            int(sum(b[name]))
            for b in self.read()
            if name in b and all(b.get(k) == v for k, v in dimensions.items())
        )

    def wait_for(self, name: str, at_least: int, timeout: float = 30.0, **dimensions: str) -> int:
        deadline = time.monotonic() + timeout
        while (n := self.count(name, **dimensions)) < at_least:
            assert time.monotonic() < deadline, f"{name} {dimensions}: {n} of {at_least} after {timeout} s"
            time.sleep(0.2)
        return n


def _dlq_depth(world: OrderWorld) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=world.env.env["ORDERS_DLQ_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def _place_three(world: OrderWorld) -> list[str]:
    return [
        world.place("Acme Holdings", [("WID-100", "each", 2, "12.00")]),
        world.place("Acme Holdings", [("GAD-200", "each", 1, "8.00")]),
        world.place("Acme Holdings", [("BOLT-300", "each", 40, "0.25")]),
    ]


def _assert_waiting_not_held(world: OrderWorld, orders: list[str]) -> None:
    for order_id in orders:
        assert world.exceptions(order_id) == {}
        assert world.state.get_order(order_id).status == "new"
        assert "held" not in world.kinds(order_id) and "processed" not in world.kinds(order_id)
        assert world.sales(order_id) == []
    assert _dlq_depth(world) == 0


def _assert_synced_once(world: OrderWorld, orders: list[str]) -> None:
    for order_id in orders:
        state = world.state.get_order(order_id)
        assert (state.status, state.erp_status, state.open_codes) == ("synced", "AUTHORISED", [])
        assert world.the_sale(order_id).Order.Status == "AUTHORISED"
        assert world.kinds(order_id).count("processed") == 1 and "held" not in world.kinds(order_id)
        assert world.exceptions(order_id) == {}
    assert _dlq_depth(world) == 0


def test_a_regenerated_cin7_key_defers_every_order_and_they_sync_once_the_secret_is_fixed(
    world: OrderWorld, capsys: pytest.CaptureFixture[str]
):
    assert world.env.runtime is not None
    emitted = Emitted(capsys)
    errors_before = world.env.runtime.stats()["order_sync"].errors
    new_key = str(uuid.uuid4())
    world.cin7_ctl("POST", "application-key", {"application_key": new_key})  # the service's key is now 403

    orders = _place_three(world)
    # Every order met the refusal at least twice: deferred, and back again with the secret read afresh.
    emitted.wait_for("CredentialsRejected", 2 * len(orders), system="cin7", service="orosync")
    emitted.wait_for("OrderDeferred", 2 * len(orders))  # each refusal's deferral is counted just after it
    assert emitted.count("CredentialsRejected", system="oro") == 0
    _assert_waiting_not_held(world, orders)
    assert world.env.runtime.stats()["order_sync"].errors == errors_before  # nothing failed toward the DLQ

    creds = {**world.env.cin7_credentials, "application_key": new_key}
    put_secrets({world.env.config.secrets.cin7_orders: creds})
    world.env.cin7_credentials.update(creds)
    world.settle(SETTLE_AFTER_FIX)

    _assert_synced_once(world, orders)
    assert world.env.runtime.stats()["order_sync"].errors == errors_before


def test_a_changed_oro_client_secret_defers_every_order_and_the_poll_and_they_sync_once_it_is_fixed(
    world: OrderWorld, capsys: pytest.CaptureFixture[str]
):
    assert world.env.runtime is not None
    emitted = Emitted(capsys)
    errors_before = world.env.runtime.stats()["order_sync"].errors
    new_secret = uuid.uuid4().hex
    world.oro_ctl("POST", "oauth-client", {"client_secret": new_secret})
    world.oro_ctl("POST", "tokens/revoke")  # the service's token is refused now: 401, then invalid_client
    world.oro_ctl("POST", "clock", {"advance_seconds": 2})  # past the revocation's second
    world.env.oro_credentials["client_secret"] = new_secret
    world.oro.close()
    world.oro = world.env.oro_client()  # the storefront's own checkout keeps working

    orders = _place_three(world)
    emitted.wait_for("CredentialsRejected", 2 * len(orders), system="oro", service="orosync")
    poll = world.env.runtime.fire("order_poll")
    assert poll["credentials_rejected"] == "oro" and poll["seen"] == 0
    _assert_waiting_not_held(world, orders)
    assert world.env.runtime.stats()["order_sync"].errors == errors_before
    # A message that has waited out about three days of outage fails instead, toward the DLQ and its alarm.
    overdue = {"kind": "order", "order_id": "999999", "credential_deferrals": MAX_CREDENTIAL_DEFERRALS}
    batch = sqs_event(
        [{"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": json.dumps(overdue), "MD5OfBody": "-"}],
        "arn:aws:sqs:us-east-1:123456789012:orders",
        "us-east-1",
    )
    with pytest.raises(BatchProcessingError) as failed:  # the whole batch failed: SQS receives it again
        world.env.runtime.invoke("order_sync", batch)
    assert "CredentialsRejected" in str(failed.value)
    errors_before += 1

    creds = {"client_id": world.env.oro_credentials["client_id"], "client_secret": new_secret}
    put_secrets({world.env.config.secrets.oro_client: creds})
    world.settle(SETTLE_AFTER_FIX)

    _assert_synced_once(world, orders)
    assert world.env.runtime.stats()["order_sync"].errors == errors_before
    assert "credentials_rejected" not in world.env.runtime.fire("order_poll")
