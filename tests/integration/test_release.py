"""Releasing held orders over the embedded AWS endpoint: by command (one message, the event, accepted
prices), refused when not held, automatically once the mapping exists (once per hold), and by mapping a
customer. Orders are put into `held` the way order_sync holds them (status, reasons, version, exception)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.provision import provision
from shared.adapters.aws.queue import SqsQueue
from shared.adapters.aws.state import StateStore
from shared.config import Config, load_config, parse_config
from shared.domain.exceptions_catalogue import CATALOGUE
from shared.errors import Transient
from shared.flows.release import (
    BindingConflict,
    OrderNotFound,
    OrderNotHeld,
    map_customer,
    release_order,
    release_resolved,
)

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.yaml"
PALLET = "UOM_UNMAPPED: WID-100 in unit 'pallet' has no ERP mapping"
CRATE = "UOM_UNMAPPED: BOLT-300 in unit 'crate' has no ERP mapping"


def unmapped(customer: str) -> str:
    return f"CUSTOMER_UNMAPPED: no ERP customer for storefront customer {customer} or its parents"


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.t += timedelta(milliseconds=1)
        return self.t


class World:
    def __init__(self) -> None:
        env = provision(f"rel-{uuid.uuid4().hex[:6]}")
        self.store = StateStore(env["STATE_TABLE_NAME"])
        self.queue = SqsQueue(env["ORDERS_QUEUE_URL"])
        self.clock = Clock()

    def hold(self, order_id: str, *reasons: str, version: str = "v1", **attrs: Any) -> None:
        """What order_sync's `_hold` writes."""
        now = self.clock.now()
        for r in reasons:
            code, _, detail = r.partition(": ")
            if code in CATALOGUE:  # PENDING_APPROVAL holds without a named exception
                self.store.open_exception(code, f"order:{order_id}", now, detail)
        self.store.set_order_status(order_id, "held", now, reasons=list(reasons), version=version, **attrs)
        self.store.add_event(order_id, now, "held", reasons=list(reasons))

    def messages(self) -> list[dict[str, Any]]:
        """Every message on the orders queue (each received once, then hidden)."""
        sqs = boto3.client("sqs")
        out: list[dict[str, Any]] = []
        for _ in range(3):
            got = sqs.receive_message(QueueUrl=self.queue.url, MaxNumberOfMessages=10, VisibilityTimeout=60)
            out += [json.loads(m["Body"]) for m in got.get("Messages", [])]
        return out

    def kinds(self, order_id: str) -> list[str]:
        return [e["kind"] for e in self.store.timeline(order_id)]


@pytest.fixture
def world(aws) -> World:
    return World()


def config(units: Mapping[str, Mapping[str, Any]] | None = None) -> Config:
    data = load_config(EXAMPLE_CONFIG).model_dump(mode="json")
    del data["units"]["WID-100"]["pallet"]
    for sku, by_unit in (units or {}).items():
        data["units"].setdefault(sku, {}).update(by_unit)
    return parse_config(data)


PALLET_MAPPED = {"WID-100": {"pallet": {"erp_sku": "WID-100", "factor": 480}}}


# -- release by command -----------------------------------------------------------------------------------


def test_release_enqueues_exactly_one_message_and_records_the_event_when_the_order_is_held(world):
    world.hold("1", unmapped("7"))

    result = release_order(world.store, world.queue, world.clock, "1", by="cli:ann")

    assert world.messages() == [{"kind": "order", "order_id": "1", "version": "v1", "source": "release"}]
    assert (result.order_id, result.version, result.by) == ("1", "v1", "cli:ann")
    assert result.reasons == (unmapped("7"),)
    released = [e for e in world.store.timeline("1") if e["kind"] == "released"]
    assert len(released) == 1
    assert released[0]["by"] == "cli:ann" and released[0]["accept_storefront_price"] is False
    assert released[0]["reasons"] == [unmapped("7")]
    assert world.store.get_order("1").status == "held"  # until order_sync runs it again


def test_release_refuses_naming_the_status_when_the_order_is_not_held(world):
    world.store.set_order_status("2", "synced", world.clock.now(), version="v1", sale_id="S-1")

    with pytest.raises(OrderNotHeld, match="order 2 is synced, not held"):
        release_order(world.store, world.queue, world.clock, "2")
    with pytest.raises(OrderNotFound, match="order 404 is not in the state table"):
        release_order(world.store, world.queue, world.clock, "404")
    assert world.messages() == []
    assert "released" not in world.kinds("2")


def test_accept_storefront_price_is_recorded_for_the_held_version_when_releasing(world):
    world.hold("3", "PRICE_MISMATCH: GAD-200 at Contract: 8.0000 vs ERP 7.6000", version="v7")

    result = release_order(world.store, world.queue, world.clock, "3", accept_storefront_price=True, by="fin")

    state = world.store.get_order("3")
    assert state.price_accepted_version == "v7"
    assert result.accepted_storefront_price is True
    event = next(e for e in world.store.timeline("3") if e["kind"] == "released")
    assert event["accept_storefront_price"] is True and event["by"] == "fin"
    assert len(world.messages()) == 1


def test_release_undoes_its_mark_when_the_enqueue_fails_so_the_next_poll_tries_again(world):
    class DownQueue:
        def send(self, message: Mapping[str, Any], delay_seconds: int = 0) -> str:
            raise Transient("sqs send failed: EndpointConnectionError", system="sqs")

    world.hold("4", PALLET)

    assert release_resolved(world.store, DownQueue(), world.clock, config(PALLET_MAPPED)) == []
    assert "release_failed" in world.kinds("4")
    assert release_resolved(world.store, world.queue, world.clock, config(PALLET_MAPPED)) == ["4"]
    assert len(world.messages()) == 1


# -- automatic release ------------------------------------------------------------------------------------


def test_auto_release_waits_for_the_unit_mapping_then_releases_once_when_the_config_maps_it(world):
    world.hold("10", PALLET)

    assert release_resolved(world.store, world.queue, world.clock, config()) == []
    assert world.messages() == []

    assert release_resolved(world.store, world.queue, world.clock, config(PALLET_MAPPED)) == ["10"]
    assert (
        release_resolved(world.store, world.queue, world.clock, config(PALLET_MAPPED)) == []
    )  # once per hold
    assert world.messages() == [{"kind": "order", "order_id": "10", "version": "v1", "source": "release"}]
    event = next(e for e in world.store.timeline("10") if e["kind"] == "auto_released")
    assert event["by"] == "order_poll"
    assert event["because"] == ["WID-100 in unit 'pallet' is mapped to WID-100 x 480"]


def test_auto_release_stops_when_the_flow_held_the_order_again_for_the_same_reasons(world):
    world.hold("11", PALLET)
    assert release_resolved(world.store, world.queue, world.clock, config(PALLET_MAPPED)) == ["11"]
    world.hold("11", PALLET)  # the re-run disagreed with our check

    assert release_resolved(world.store, world.queue, world.clock, config(PALLET_MAPPED)) == []
    world.hold("11", CRATE)  # held again, for something else: a new question
    assert release_resolved(world.store, world.queue, world.clock, config(PALLET_MAPPED)) == []
    assert release_resolved(
        world.store,
        world.queue,
        world.clock,
        config({"BOLT-300": {"crate": {"erp_sku": "BOLT-300", "factor": 50}}}),
    ) == ["11"]


def test_auto_release_leaves_an_order_held_when_any_reason_needs_a_person(world):
    world.hold("12", PALLET, "TAX_MISMATCH: line 1: tax code 'zero' has no ERP tax rule")
    world.hold("13", "PENDING_APPROVAL: status 'pending' → hold")
    world.hold("14", PALLET, CRATE)  # one of two units mapped: not yet

    assert release_resolved(world.store, world.queue, world.clock, config(PALLET_MAPPED)) == []
    assert world.messages() == []


def test_auto_release_frees_a_customer_unmapped_order_when_its_customer_or_a_recorded_ancestor_is_bound(
    world,
):
    world.hold("20", unmapped("7"))
    world.hold("21", unmapped("8"), customer_path=["8", "5"])  # as order_sync may record it
    world.hold("22", unmapped("9"))
    world.hold("23", unmapped("7"), PALLET)
    assert release_resolved(world.store, world.queue, world.clock, config()) == []

    world.store.put_customer_binding("7", "ERP-7", world.clock.now())
    world.store.put_customer_binding("5", "ERP-5", world.clock.now())

    released = release_resolved(world.store, world.queue, world.clock, config())
    assert sorted(released) == ["20", "21"]  # 22: unbound; 23: the unit is still unmapped
    because = next(e for e in world.store.timeline("21") if e["kind"] == "auto_released")["because"]
    assert because == ["customer 5, an ancestor of customer 8, is bound"]
    assert sorted(m["order_id"] for m in world.messages()) == ["20", "21"]


# -- customers map ----------------------------------------------------------------------------------------


def test_customers_map_binds_and_releases_the_orders_waiting_for_a_customer_when_it_may_fix_them(world):
    world.hold("30", unmapped("7"))
    world.hold("31", unmapped("7"), PALLET)  # released only when the config maps the unit
    world.hold("32", unmapped("9"))  # may sit below 7: the state does not know the Oro tree
    world.hold("33", unmapped("9"), customer_path=["9", "4"])  # known not to be below 7
    world.hold("34", PALLET)  # not waiting for a customer at all

    result = map_customer(world.store, world.queue, world.clock, "7", "ERP-7", by="cli:fin")

    assert world.store.get_customer_binding("7") == "ERP-7"
    assert sorted(r.order_id for r in result.released) == ["30", "32"]
    because = {r.order_id: r.because for r in result.released}
    assert because["30"] == ("customer 7 is bound to an ERP customer",)
    assert because["32"] == ("customer 9 may sit below customer 7, now bound",)
    assert sorted(m["order_id"] for m in world.messages()) == ["30", "32"]

    again = map_customer(world.store, world.queue, world.clock, "7", "ERP-7", config=config(PALLET_MAPPED))
    assert sorted(r.order_id for r in again.released) == ["30", "31", "32"]


def test_customers_map_refuses_to_rebind_a_bound_customer_when_replace_is_not_given(world):
    world.store.put_customer_binding("7", "ERP-OLD", world.clock.now())
    world.hold("40", unmapped("7"))

    with pytest.raises(BindingConflict, match="already bound to ERP customer ERP-OLD: pass --replace"):
        map_customer(world.store, world.queue, world.clock, "7", "ERP-NEW")
    assert world.store.get_customer_binding("7") == "ERP-OLD"
    assert world.messages() == []

    result = map_customer(world.store, world.queue, world.clock, "7", "ERP-NEW", replace=True)
    assert result.previous == "ERP-OLD" and [r.order_id for r in result.released] == ["40"]
