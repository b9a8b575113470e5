"""Customer onboarding (issue 11), through the running service over HTTP: a new Oro account reaches Cin7 on
credit hold and never twice; its first order waits for finance; the hold cleared in Cin7 releases it.

The seed: Oro "Acme Holdings" (externalId = its Cin7 customer) > "Acme Retail East" > "Acme East Store 12",
and "Bolt Brothers" (no Cin7 customer); Cin7 "Acme Holdings" and "Northwind Wholesale". Accounts made here
send Oro's customer.created webhook, which queues their onboarding at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from local.aws import EmbeddedAws
from shared.adapters.aws.queue import SqsQueue
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.http import RetryPolicy
from shared.flows.customers import CustomerFlow
from shared.resources import queue
from shared.runtime import SystemClock
from tests.fixtures.order_env import OrderWorld, order_config, order_world

LINES = [("WID-100", "each", 2, Decimal("12.50"))]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("customers")
    config = order_config(workdir, **{"customers.onboard": "top_level"})
    with order_world(workdir, aws_server, config) as w:
        yield w


def new_account(world: OrderWorld, name: str, *, parent: str | None = None) -> str:
    """An Oro account as the back office makes one; its customer.created webhook queues the onboarding."""
    world.tick()
    relationships = {"parent": ("customers", parent)} if parent else {}
    doc = world.oro.create("customers", {"name": name}, relationships=relationships)
    customer_id = str(doc.resources()[0].id)
    world.env.ids["oro"]["customers"][name] = customer_id
    world.settle()
    return customer_id


def cin7_named(world: OrderWorld, name: str) -> list[Any]:
    return [c for c in world.cin7.iter_customers(name=name, include_deprecated=True) if c.Name == name]


def posts(world: OrderWorld) -> int:
    return int(world.cin7_stats()["calls"].get("POST /customer", 0))


def flow(world: OrderWorld, *, erp: Cin7Client | None = None) -> CustomerFlow:
    """The flow as customer_push runs it, on the service's state and queues (clients of the sandboxes)."""
    env = world.env.env
    return CustomerFlow(
        world.env.config,
        world.state,
        SqsQueue(env[queue("customers").env_var]),
        SystemClock(),
        erp=erp or world.cin7,
        oro=world.oro,
        orders_queue=SqsQueue(env[queue("orders").env_var]),
    )


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def approved(world: OrderWorld, erp_id: str) -> bool:
    accounts = world.state.erp_customer_accounts(erp_id)
    return bool(accounts) and all(
        (b := world.state.customer_binding(a)) is not None and not b.pending for a in accounts
    )


def clear_hold(world: OrderWorld, erp_id: str) -> None:
    """Finance approves in Cin7: its Customer/Updated webhook (Cin7's first try comes a unit after the
    change: a second here) reaches the service, which approves the account and releases its orders."""
    world.cin7.update_customer({"ID": erp_id, "IsOnCreditHold": False})
    wait_for(lambda: approved(world, erp_id))
    world.settle()


# -- the journey ---------------------------------------------------------------------------------------------


def test_a_new_account_is_created_on_hold_and_its_first_order_waits_for_finance(world: OrderWorld) -> None:
    account = new_account(world, "Corner Hardware")
    binding = world.state.customer_binding(account)
    assert binding is not None and binding.pending and binding.source == "onboarded"
    [created] = cin7_named(world, "Corner Hardware")
    assert created.ID == binding.erp_customer_id
    assert created.IsOnCreditHold is True
    assert created.AdditionalAttribute1 == account
    assert (created.PaymentTerm, created.TaxRule, created.PriceTier) == (
        "30 days",
        "Tax on Sales",
        "Wholesale",
    )
    opened = {e["code"] for e in world.state.open_exceptions() if e["entity"] == f"customer:{account}"}
    assert opened == {"CUSTOMER_PENDING_APPROVAL"}

    order = world.place("Corner Hardware", LINES)
    world.settle()
    assert world.state.get_order(order).status == "held"
    assert "CUSTOMER_PENDING_APPROVAL" in world.exceptions(order)
    assert world.sales(order) == []

    clear_hold(world, created.ID)
    world.settle()
    binding = world.state.customer_binding(account)
    assert binding is not None and not binding.pending
    [sale] = world.sales(order)
    assert sale.CustomerID == created.ID
    assert world.state.get_order(order).status == "synced"
    assert world.exceptions(order) == {}
    assert not [e for e in world.state.open_exceptions() if e["entity"] == f"customer:{account}"]
    # released exactly once: one release event, one sale
    assert [e["kind"] for e in world.timeline(order)].count("auto_released") == 1


def test_a_repeated_webhook_and_a_second_run_create_nothing_more(world: OrderWorld) -> None:
    account = new_account(world, "Repeat Traders")
    before = posts(world)
    for _ in range(3):
        flow(world).sync_account(account)
    world.env.wait_until_settled(30)
    assert posts(world) == before
    assert len(cin7_named(world, "Repeat Traders")) == 1


def test_two_concurrent_runs_create_one_customer(world: OrderWorld) -> None:
    with world.webhooks_dropped():  # the service does not hear of it: the two runs below are the only ones
        doc = world.oro.create("customers", {"name": "Parallel Parts"})
    account = str(doc.resources()[0].id)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            outcomes.append(flow(world).sync_account(account).action)
        except Exception as err:  # the loser may find the claim held: it is retried by the queue
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cin7_named(world, "Parallel Parts")) == 1
    assert "pending" in outcomes
    assert all(type(e).__name__ == "LeaseHeld" for e in errors)
    # the loser's retry finds the binding
    assert flow(world).sync_account(account).action in ("unchanged", "updated")
    assert len(cin7_named(world, "Parallel Parts")) == 1


def test_a_create_whose_answer_was_lost_is_found_by_name_never_sent_again(world: OrderWorld) -> None:
    with world.webhooks_dropped():
        doc = world.oro.create("customers", {"name": "Lost Answer Ltd"})
    account = str(doc.resources()[0].id)
    [rule] = world.env.cin7.add_faults(  # type: ignore[union-attr]
        {"method": "POST", "path": "/customer$", "drop_after_commit_rate": 1.0}
    )
    before = posts(world)
    try:  # the create goes through, its answer never comes: the flow looks it up by name and adopts it
        outcome = flow(world).sync_account(account)
    finally:
        world.env.cin7.clear_faults(rule["id"])  # type: ignore[union-attr]
    assert outcome.action == "pending"
    assert posts(world) == before + 1
    [customer] = cin7_named(world, "Lost Answer Ltd")
    assert world.state.customer_binding(account).erp_customer_id == customer.ID  # type: ignore[union-attr]


# -- matching ------------------------------------------------------------------------------------------------


def test_exact_name_a_prefix_of_another_customer_is_created_on_its_own(world: OrderWorld) -> None:
    account = new_account(world, "Acme")  # Cin7 has "Acme Holdings": a prefix match, not this customer
    binding = world.state.customer_binding(account)
    assert binding is not None
    assert binding.erp_customer_id != world.cin7_customer("Acme Holdings")
    assert [c.Name for c in cin7_named(world, "Acme")] == ["Acme"]


def test_an_account_named_as_an_existing_customer_is_bound_to_it(world: OrderWorld) -> None:
    before = posts(world)
    account = new_account(world, "Northwind Wholesale")
    binding = world.state.customer_binding(account)
    assert binding is not None
    assert (binding.erp_customer_id, binding.source, binding.status) == (
        world.cin7_customer("Northwind Wholesale"),
        "name",
        "approved",
    )
    assert posts(world) == before


def test_two_accounts_of_one_name_make_one_customer_and_a_named_exception(world: OrderWorld) -> None:
    first = new_account(world, "Zed Traders")
    second = new_account(world, "Zed Traders")
    assert len(cin7_named(world, "Zed Traders")) == 1
    assert world.state.customer_binding(first) is not None
    assert world.state.customer_binding(second) is None
    opened = {e["code"]: e for e in world.state.open_exceptions() if e["entity"] == f"customer:{second}"}
    assert (
        set(opened) == {"CUSTOMER_DUPLICATE_NAME"} and opened["CUSTOMER_DUPLICATE_NAME"]["owner"] == "finance"
    )


# -- the tree ------------------------------------------------------------------------------------------------


def test_a_four_level_tree_bills_to_its_top_account_and_records_the_path(world: OrderWorld) -> None:
    top = new_account(world, "Deep Group")
    region = new_account(world, "Deep Region", parent=top)
    branch = new_account(world, "Deep Branch", parent=region)
    store = new_account(world, "Deep Store", parent=branch)
    erp_id = world.state.customer_binding(top).erp_customer_id  # type: ignore[union-attr]
    placement = world.state.customer_placement(store)
    assert placement is not None
    assert placement["path"] == [top, region, branch, store]
    assert (placement["billing_parent"], placement["erp_customer_id"]) == (top, erp_id)
    assert cin7_named(world, "Deep Store") == []  # one level in Cin7: the sub-accounts are not created
    clear_hold(world, erp_id)
    order = world.place("Deep Store", LINES)
    world.settle()
    assert world.the_sale(order).CustomerID == erp_id


def test_a_reparented_account_follows_its_new_parent(world: OrderWorld) -> None:
    first = new_account(world, "Move From Co")
    second = new_account(world, "Move To Co")
    for top in (first, second):
        clear_hold(world, world.state.customer_binding(top).erp_customer_id)  # type: ignore[union-attr]
    branch = new_account(world, "Moving Branch", parent=first)
    world.tick()
    world.oro.patch(
        "customers", branch, {}, relationships={"parent": ("customers", second)}
    )
    world.settle()
    placement = world.state.customer_placement(branch)
    assert placement is not None and placement["path"] == [second, branch]
    order = world.place("Moving Branch", LINES)
    world.settle()
    assert world.the_sale(order).CustomerID == world.state.customer_binding(second).erp_customer_id  # type: ignore[union-attr]


# -- after onboarding ----------------------------------------------------------------------------------------


def test_a_rename_in_oro_follows_and_finance_fields_are_never_overwritten(world: OrderWorld) -> None:
    account = new_account(world, "Rename Me Pty")
    erp_id = world.state.customer_binding(account).erp_customer_id  # type: ignore[union-attr]
    # finance reviews the customer in Cin7: terms, credit, tier, and approves it
    world.cin7.update_customer(
        {
            "ID": erp_id,
            "PaymentTerm": "60 days",
            "CreditLimit": 5000,
            "PriceTier": "Contract",
            "IsOnCreditHold": False,
        }
    )
    world.env.wait_until_settled(30)
    world.tick()
    world.oro.patch("customers", account, {"name": "Renamed Pty"})
    world.settle()
    customer = world.cin7.get_customer(erp_id)
    assert customer.Name == "Renamed Pty"
    assert (customer.PaymentTerm, customer.CreditLimit, customer.PriceTier) == (
        "60 days",
        Decimal(5000),
        "Contract",
    )
    assert customer.IsOnCreditHold is False


def test_a_default_cin7_refuses_is_named_and_nothing_is_bound(
    tmp_path_factory: pytest.TempPathFactory, aws_server: EmbeddedAws
) -> None:
    workdir = tmp_path_factory.mktemp("customers-rejected")
    config = order_config(
        workdir, **{"customers.onboard": "top_level", "customers.defaults.tax_rule": "No Such Rule"}
    )
    with order_world(workdir, aws_server, config) as w:
        account = new_account(w, "Refused Co")
        assert w.state.customer_binding(account) is None
        opened = {e["code"]: e for e in w.state.open_exceptions() if e["entity"] == f"customer:{account}"}
        assert set(opened) == {"CUSTOMER_REJECTED"}
        assert "No Such Rule" in opened["CUSTOMER_REJECTED"]["detail"]
        assert cin7_named(w, "Refused Co") == []


def test_a_lost_create_is_found_under_the_name_it_was_sent_with_even_after_a_rename(
    world: OrderWorld,
) -> None:
    with world.webhooks_dropped():
        doc = world.oro.create("customers", {"name": "Before Rename Co"})
    account = str(doc.resources()[0].id)
    rules = world.env.cin7.add_faults(  # type: ignore[union-attr]
        [
            {"method": "POST", "path": "/customer$", "drop_after_commit_rate": 1.0},
            {"method": "GET", "path": "/customer$", "error_rate": 1.0, "error_status": 500},
        ]
    )
    before = posts(world)
    once = Cin7Client.from_config(  # no retry inside the call: the queue retries the step
        world.env.config.endpoints.cin7,
        world.env.cin7_credentials["account_id"],
        world.env.cin7_setup_key,
        retry=RetryPolicy(attempts=1),
    )
    try:
        with pytest.raises(Exception) as failed:  # the answer lost and the look-up failing: retried later
            flow(world, erp=once).sync_account(account)
    finally:
        for rule in rules:
            world.env.cin7.clear_faults(rule["id"])  # type: ignore[union-attr]
    assert getattr(failed.value, "retryable", False), failed.value
    assert world.state.customer_binding(account) is None
    with world.webhooks_dropped():
        world.tick()
        world.oro.patch("customers", account, {"name": "After Rename Co"})
    outcome = flow(world).sync_account(account)  # the queue's retry
    assert outcome.action == "pending"
    assert posts(world) == before + 1  # never sent again
    binding = world.state.customer_binding(account)
    assert binding is not None
    assert world.cin7.get_customer(binding.erp_customer_id).AdditionalAttribute1 == account
    assert len(cin7_named(world, "Before Rename Co") + cin7_named(world, "After Rename Co")) == 1
