"""Customer onboarding (issue 11), through the running service over HTTP: a new Oro account reaches Cin7 on
credit hold and never twice; its first order waits for finance; the hold cleared in Cin7 releases it.

The seed: Oro "Acme Holdings" (externalId = its Cin7 customer) > "Acme Retail East" > "Acme East Store 12",
and "Bolt Brothers" (no Cin7 customer); Cin7 "Acme Holdings" and "Northwind Wholesale". Accounts made here
send Oro's customer.created webhook, which queues their onboarding at once.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.aws import EmbeddedAws
from shared.adapters.aws.queue import SqsQueue
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.cin7.webhook import SECRET_HEADER
from shared.adapters.http import RetryPolicy
from shared.adapters.orocommerce.client import OroClient
from shared.config import parse_config
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


def quiet(world: OrderWorld) -> None:
    """Cin7 has delivered every webhook it owes (its first try comes a retry unit after the change) and the
    service has worked off what they queued."""
    world.env.wait_for_cin7_webhooks(20)
    world.settle()


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
    world.oro.patch("customers", branch, {}, relationships={"parent": ("customers", second)})
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


def test_a_default_cin7_refuses_is_named_and_nothing_is_bound(world: OrderWorld) -> None:
    data = world.env.config.model_dump(mode="json")
    data["customers"]["defaults"]["tax_rule"] = "No Such Rule"
    refusing = flow(world)
    refusing.config = parse_config(data)
    with world.webhooks_dropped():
        doc = world.oro.create("customers", {"name": "Refused Co"})
    account = str(doc.resources()[0].id)
    outcome = refusing.sync_account(account)
    assert outcome.action == "rejected"
    assert world.state.customer_binding(account) is None
    opened = {e["code"]: e for e in world.state.open_exceptions() if e["entity"] == f"customer:{account}"}
    assert set(opened) == {"CUSTOMER_REJECTED"} and opened["CUSTOMER_REJECTED"]["owner"] == "operations"
    assert "No Such Rule" in opened["CUSTOMER_REJECTED"]["detail"]
    assert cin7_named(world, "Refused Co") == []
    # fixed (the real config): the next run onboards it and closes the exception
    assert flow(world).sync_account(account).action == "pending"
    assert not [
        e
        for e in world.state.open_exceptions()
        if e["entity"] == f"customer:{account}" and e["code"] == "CUSTOMER_REJECTED"
    ]


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


# -- without webhooks: the poll ------------------------------------------------------------------------------


def run_customer_sync(world: OrderWorld) -> None:
    assert world.env.runtime is not None
    world.env.runtime.fire("customer_sync")
    world.env.wait_until_settled(60)


def test_without_webhooks_the_poll_onboards_and_sees_the_approval(world: OrderWorld) -> None:
    run_customer_sync(world)  # the watermark moves past every account made so far
    with world.webhooks_dropped():
        world.tick()
        doc = world.oro.create("customers", {"name": "Quiet Supplies"})
    account = str(doc.resources()[0].id)
    world.env.ids["oro"]["customers"]["Quiet Supplies"] = account
    assert world.state.customer_binding(account) is None
    run_customer_sync(world)
    binding = world.state.customer_binding(account)
    assert binding is not None and binding.pending
    order = world.place("Quiet Supplies", LINES)
    world.settle()
    assert world.state.get_order(order).status == "held"

    hook = next(w for w in world.cin7.list_webhooks() if w.Type == "Customer/Updated")
    world.cin7.update_webhook(hook.model_copy(update={"IsActive": False}))
    try:
        world.cin7.update_customer({"ID": binding.erp_customer_id, "IsOnCreditHold": False})
        time.sleep(1.5)  # the webhook would have come by now
        assert world.state.customer_binding(account).pending  # type: ignore[union-attr]
        run_customer_sync(world)  # one Cin7 read of the customers modified since the last poll
    finally:
        world.cin7.update_webhook(hook.model_copy(update={"IsActive": True}))
    assert not world.state.customer_binding(account).pending  # type: ignore[union-attr]
    world.settle()
    assert world.state.get_order(order).status == "synced"
    assert len(world.sales(order)) == 1


def test_the_approval_check_makes_no_cin7_call_while_no_account_waits(world: OrderWorld) -> None:
    for binding in list(world.state.customer_bindings("pending")):
        clear_hold(world, binding.erp_customer_id)
    before = int(world.cin7_stats()["calls"].get("GET /customer", 0))
    assert flow(world).scan_erp() == {"waiting": 0, "erp_calls": 0}
    assert int(world.cin7_stats()["calls"].get("GET /customer", 0)) == before


# -- the command line ----------------------------------------------------------------------------------------


def test_customers_list_show_and_onboard(world: OrderWorld, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    assert world.env.aws is not None
    where = ["--aws-endpoint", world.env.aws.endpoint_url, "--prefix", world.env.prefix]
    account = new_account(world, "Listed Lumber")
    assert main(["customers", "list", "--pending", *where]) == 0
    out = capsys.readouterr().out
    assert "Listed Lumber" in out and "pending" in out
    assert main(["customers", "show", account, *where]) == 0
    out = capsys.readouterr().out
    assert "waiting for finance's approval" in out and "CUSTOMER_PENDING_APPROVAL" in out

    branch = new_account(world, "Listed Lumber Yard", parent=account)
    assert main(["customers", "show", branch, *where]) == 0
    assert f"bills to account {account}" in capsys.readouterr().out

    # onboard on request: a sub-account outside the scope gets its own Cin7 customer
    assert main(["customers", "onboard", branch, *where]) == 0
    assert "queued" in capsys.readouterr().out
    world.env.wait_until_settled(30)
    binding = world.state.customer_binding(branch)
    assert binding is not None and cin7_named(world, "Listed Lumber Yard")[0].ID == binding.erp_customer_id


def test_onboard_refuses_a_bad_id(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(["customers", "onboard", "12; DROP"])
    assert exited.value.code == 2
    assert "ORO_ID must be an Oro account id" in capsys.readouterr().err


# -- hostile requests ----------------------------------------------------------------------------------------


def post_customer_webhook(world: OrderWorld, body: bytes, secret: str | None) -> httpx.Response:
    assert world.env.runtime is not None
    headers = {"Content-Type": "application/json", **({SECRET_HEADER: secret} if secret is not None else {})}
    return httpx.post(f"{world.env.runtime.base_url}/webhooks/cin7/customer", content=body, headers=headers)


@pytest.mark.parametrize("secret", [None, "", "wrong", "x" * 300])
def test_a_customer_webhook_without_the_right_secret_is_refused(
    world: OrderWorld, secret: str | None
) -> None:
    body = json.dumps(
        {
            "NumberOfCustomers": 1,
            "CustomerDetailsList": [{"Customer": {"ID": str(uuid.uuid4())}}],
            "EventType": "Customer/Updated",
        }
    ).encode()
    quiet(world)
    answer = post_customer_webhook(world, body, secret)
    assert answer.status_code == 401
    assert world.env.runtime is not None and world.env.runtime.queue_depths()["customers"] == 0


@pytest.mark.parametrize(
    "body, named",
    [
        (b"not json", "JSON"),
        (b"[]", "object"),
        (b'{"EventType": "Customer/Updated", "CustomerDetailsList": [{"Customer": {"ID": "x"}}]}', "ID"),
    ],
)
def test_a_bad_customer_webhook_body_is_named(world: OrderWorld, body: bytes, named: str) -> None:
    answer = post_customer_webhook(world, body, world.env.cin7_webhook_secret)
    assert answer.status_code == 400 and named in answer.text


def test_child_customers_mode_gives_a_sub_account_its_own_cin7_child_and_moves_it(world: OrderWorld) -> None:
    data = world.env.config.model_dump(mode="json")
    data["customers"]["hierarchy"] = "child_customers"
    children = flow(world)
    children.config = parse_config(data)
    first, second = new_account(world, "Parent One Co"), new_account(world, "Parent Two Co")
    parents = {a: world.state.customer_binding(a).erp_customer_id for a in (first, second)}  # type: ignore[union-attr]
    for erp_id in parents.values():
        clear_hold(world, erp_id)
    with world.webhooks_dropped():
        world.tick()
        doc = world.oro.create("customers", {"name": "Child Branch Co"}, {"parent": ("customers", first)})
        child = str(doc.resources()[0].id)
        assert children.sync_account(child).action == "pending"
        binding = world.state.customer_binding(child)
        assert binding is not None and binding.parent_erp_customer_id == parents[first]
        made = world.cin7.get_customer(binding.erp_customer_id)
        assert (made.Name, made.CustomerParentID, made.IsBillParent) == (
            "Child Branch Co",
            parents[first],
            True,
        )
        assert made.IsOnCreditHold is True

        world.tick()  # re-parented in Oro: the Cin7 child follows, on its next sync
        world.oro.patch("customers", child, {}, {"parent": ("customers", second)})
        assert children.sync_account(child).action == "updated"
    moved = world.cin7.get_customer(binding.erp_customer_id)
    assert moved.CustomerParentID == parents[second]
    assert world.state.customer_binding(child).parent_erp_customer_id == parents[second]  # type: ignore[union-attr]
    assert world.state.customer_binding(child).path == (second, child)  # type: ignore[union-attr]


# -- bad documents -------------------------------------------------------------------------------------------


class CorruptingTransport(httpx.BaseTransport):
    """A fault in front of the real Oro sandbox: answers for `path_part` come back with `corrupt` applied."""

    def __init__(self, path_part: str, corrupt: Callable[[dict[str, Any]], None]) -> None:
        self._real = httpx.HTTPTransport()
        self._path_part = path_part
        self._corrupt = corrupt

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._real.handle_request(request)
        if self._path_part not in request.url.path:
            return response
        response.read()
        body = response.json()
        self._corrupt(body)
        return httpx.Response(
            response.status_code, headers={"Content-Type": "application/vnd.api+json"}, json=body
        )


def test_an_oro_account_that_cannot_be_read_is_named_not_lost(world: OrderWorld) -> None:
    with world.webhooks_dropped():
        doc = world.oro.create("customers", {"name": "Garbled Goods"})
        account = str(doc.resources()[0].id)
        world.oro.create(
            "customeraddresses",
            {
                "organization": "Garbled Goods",
                "street": "1 Side St",
                "city": "Town",
                "postalCode": "10001",
                "types": [{"addressType": "billing", "default": True}],
            },
            {"customer": ("customers", account), "country": ("countries", "US")},
        )

    def corrupt(body: dict[str, Any]) -> None:
        for item in body.get("data", []):
            item["attributes"]["types"] = [{"addressType": "warehouse", "default": "maybe"}]

    bad_oro = OroClient.from_config(
        world.env.config.endpoints.oro,
        **world.env.oro_credentials,
        transport=CorruptingTransport("customeraddresses", corrupt),
    )
    garbled = flow(world)
    garbled.oro = bad_oro
    outcome = garbled.sync_account(account)
    assert outcome.action == "rejected"
    opened = {e["code"]: e for e in world.state.open_exceptions() if e["entity"] == f"customer:{account}"}
    assert "types" in opened["CUSTOMER_REJECTED"]["detail"]
    assert cin7_named(world, "Garbled Goods") == [] and world.state.customer_binding(account) is None
    # the document readable again: onboarded, with its address, and the exception closed
    assert flow(world).sync_account(account).action == "pending"
    [made] = cin7_named(world, "Garbled Goods")
    assert [(a.Line1, a.Type, a.Country) for a in made.Addresses] == [("1 Side St", "Billing", "US")]
    assert "CUSTOMER_REJECTED" not in {
        e["code"] for e in world.state.open_exceptions() if e["entity"] == f"customer:{account}"
    }


def test_an_address_added_in_oro_reaches_cin7_by_the_poll(world: OrderWorld) -> None:
    account = new_account(world, "Address Later Ltd")
    erp_id = world.state.customer_binding(account).erp_customer_id  # type: ignore[union-attr]
    assert world.cin7.get_customer(erp_id).Addresses == []
    run_customer_sync(world)
    world.tick()
    world.oro.create(  # Oro sends no customer.updated for it, nor moves the account's updatedAt
        "customeraddresses",
        {
            "organization": "Address Later Ltd",
            "street": "9 Dock Rd",
            "city": "Port",
            "postalCode": "3000",
            "types": [{"addressType": "shipping", "default": True}],
        },
        {"customer": ("customers", account), "country": ("countries", "AU")},
    )
    run_customer_sync(world)
    made = world.cin7.get_customer(erp_id)
    assert [(a.Line1, a.Type, a.DefaultForType, a.Country) for a in made.Addresses] == [
        ("9 Dock Rd", "Shipping", True, "AU")
    ]
    assert made.IsOnCreditHold is True  # finance's hold untouched by the update
