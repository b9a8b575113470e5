"""Owners are told (issue 13): a named exception's first opening is published to its owner team's SNS topic,
once however often it is seen, again after it closed and re-opened; the embedded endpoint's SNS delivers to the
inbox queue `orosync local up` subscribes in place of the owner's e-mail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from local.aws import EmbeddedAws
from local.provision import alerts_sent, provision
from shared.adapters.aws.state import StateStore
from shared.alerts import OwnerAlerts, topic_env_var
from shared.config import Team
from shared.resources import table
from tests.fixtures.order_env import OrderWorld, order_config, order_world

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def env(aws: EmbeddedAws) -> dict[str, str]:
    return provision(f"al{uuid.uuid4().hex[:8]}", tables=[table("state")], queues=[])


def store(env: dict[str, str], alerts: OwnerAlerts) -> StateStore:
    return StateStore(env[table("state").env_var], on_exception_opened=alerts.exception_opened)


def topics(env: dict[str, str]) -> dict[Team, str]:
    return {team: env[topic_env_var(team)] for team in Team}


def test_an_exception_seen_five_times_is_published_once_to_its_owner_with_the_command(env):
    state = store(env, OwnerAlerts(topics(env)))
    for n in range(5):
        state.open_exception("PRICE_MISMATCH", "order:1042", NOW + timedelta(minutes=n), f"attempt {n}")
    sent = alerts_sent(env)
    assert len(sent) == 1
    (alert,) = sent
    assert alert["team"] == "finance"
    assert alert["subject"] == "[orosync] PRICE_MISMATCH: order:1042"
    assert "orosync orders release 1042 --accept-storefront-price" in alert["message"]
    assert "attempt 0" in alert["message"] and "SLA: 8 h" in alert["message"]
    assert alert["attributes"] == {"kind": "exception", "code": "PRICE_MISMATCH"}
    assert state.open_exceptions()[0]["count"] == 5


def test_a_closed_exception_that_opens_again_is_published_again(env):
    state = store(env, OwnerAlerts(topics(env)))
    state.open_exception("WEBHOOK_DISABLED", "cin7:sale-webhooks", NOW, "off")
    state.close_exception("WEBHOOK_DISABLED", "cin7:sale-webhooks", NOW, "active again")
    state.open_exception("WEBHOOK_DISABLED", "cin7:sale-webhooks", NOW + timedelta(hours=1), "off again")
    state.open_exception("WEBHOOK_DISABLED", "cin7:sale-webhooks", NOW + timedelta(hours=2), "still off")
    sent = alerts_sent(env)
    assert [a["team"] for a in sent] == ["operations", "operations"]
    assert "orosync webhooks ensure" in sent[1]["message"] and "off again" in sent[1]["message"]


def test_a_publish_that_failed_is_tried_again_the_next_time_the_exception_is_seen(env):
    broken = {team: arn.replace("alerts-", "no-such-topic-") for team, arn in topics(env).items()}
    state = store(env, OwnerAlerts(broken))
    state.open_exception("SKU_UNKNOWN", "order:7", NOW, "no ERP product NOPE-1")
    assert alerts_sent(env) == []
    state.on_exception_opened = OwnerAlerts(topics(env)).exception_opened  # the topic is back
    state.open_exception("SKU_UNKNOWN", "order:7", NOW + timedelta(minutes=5), "no ERP product NOPE-1")
    state.open_exception("SKU_UNKNOWN", "order:7", NOW + timedelta(minutes=10), "no ERP product NOPE-1")
    assert [a["subject"] for a in alerts_sent(env)] == ["[orosync] SKU_UNKNOWN: order:7"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("alerts")
    with order_world(workdir, aws_server, order_config(workdir)) as w:
        yield w


def test_a_held_order_delivered_again_and_again_alerts_its_owner_once(world: OrderWorld) -> None:
    alerts_sent(world.env.env)  # what seeding left
    with world.webhooks_duplicated():
        order = world.place("Acme Holdings", [("BOLT-300", "pallet", 1, Decimal("400.00"))])
        world.settle()
    world.tick()
    world.set_status(order, "processing")  # a new version of the same held order
    world.settle()
    assert world.state.get_order(order).status == "held"
    sent = [a for a in alerts_sent(world.env.env) if a["attributes"].get("code") == "UOM_UNMAPPED"]
    assert len(sent) == 1
    assert sent[0]["team"] == "operations" and f"order:{order}" in sent[0]["subject"]
    assert world.exceptions(order)["UOM_UNMAPPED"]["count"] >= 2


def test_the_daily_digest_lists_each_owners_open_exceptions_oldest_first_once_a_day(env):
    from shared.config import load_config
    from shared.flows.digest import run_digest
    from shared.operations_guide import EXAMPLE_CONFIG

    config = load_config(EXAMPLE_CONFIG)
    state = store(env, OwnerAlerts(topics(env)))
    at_digest_hour = NOW.replace(hour=config.alerts.digest_hour_utc)
    state.open_exception("PRICE_DRIFT", "order:5", at_digest_hour - timedelta(hours=2), "drift 0.40")
    state.open_exception("PRICE_MISMATCH", "order:3", at_digest_hour - timedelta(hours=30), "mismatch 1.00")
    alerts_sent(env)  # the first-opening alerts

    first = run_digest(config, state, OwnerAlerts(topics(env)), at_digest_hour)
    again = run_digest(config, state, OwnerAlerts(topics(env)), at_digest_hour + timedelta(minutes=30))
    later = run_digest(config, state, OwnerAlerts(topics(env)), at_digest_hour + timedelta(hours=1))

    assert first["open"]["finance"] == 2 and first["past_sla"]["finance"] == 1  # the mismatch: 30 h > 8 h
    assert sorted(first["digests"]) == sorted(t.value for t in Team)
    assert again["digests"] == [] and later["digests"] == []  # once a day, and only in its hour
    sent = {a["team"]: a for a in alerts_sent(env)}
    assert set(sent) == {t.value for t in Team}
    finance = sent["finance"]
    assert finance["subject"].endswith("2 open, 1 past SLA")
    body = finance["message"]
    assert body.index("PRICE_MISMATCH order:3") < body.index("PRICE_DRIFT order:5")  # oldest first
    assert "PAST SLA" in body.split("PRICE_DRIFT")[0]
    assert "orosync orders release 3 --accept-storefront-price" in body
    assert sent["ecommerce"]["message"].startswith("Nothing open for ecommerce")
