"""OroClient against the sandbox OroCommerce back office over real HTTP: the OAuth2 token's life (cached,
refreshed early, replaced after a 401), auth failure, paging, orders, inventory through the batch API, prices,
webhooks, and faults (throttle, 5xx, a create whose answer is lost).

Time is moved, never waited for: the sandbox's clock through its control API, the client's through an
injected clock. Assertions count requests (the sandbox's own stats), never durations.
"""

from __future__ import annotations

import time
from datetime import UTC
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.oro.server import OroSandbox
from shared.adapters.http import RetryPolicy
from shared.adapters.orocommerce.client import OroClient
from shared.errors import CredentialsRejected, NotFound, Permanent
from tests.fixtures.oro_sandbox import ORO_CLIENT_ID, ORO_CLIENT_SECRET


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _control(sandbox: OroSandbox, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, f"{sandbox.control_url}/{path}", json=body, timeout=60)
    response.raise_for_status()
    return response.json() if response.content else None


def _stats(sandbox: OroSandbox) -> dict[str, Any]:
    return dict(_control(sandbox, "GET", "stats"))


def _client(sandbox: OroSandbox, **kwargs: Any) -> OroClient:
    kwargs.setdefault("retry", RetryPolicy(attempts=3, base_delay=0.0))
    kwargs.setdefault("sleep", lambda _s: None)
    kwargs.setdefault("timeout_seconds", 5.0)
    return OroClient(
        sandbox.base_url,
        kwargs.pop("client_id", ORO_CLIENT_ID),
        kwargs.pop("secret", ORO_CLIENT_SECRET),
        **kwargs,
    )


@pytest.fixture
def oro_demo(oro_sandbox: OroSandbox) -> dict[str, Any]:
    seeded = _control(oro_sandbox, "POST", "reset", {"seed": "demo"})["seed"]
    _control(oro_sandbox, "DELETE", "stats")
    return dict(seeded)


def _create_order(client: OroClient, demo: dict[str, Any], po: str) -> str:
    product = demo["products"]["WID-100"]
    lines = [("li-each", "each", 24, "12.5000"), ("li-case", "case", 2, "144.0000")]
    doc = client.create(
        "orders",
        {"poNumber": po, "currency": "USD"},
        {
            "customer": ("customers", demo["customers"]["Acme Retail East"]),
            "customerUser": ("customerusers", demo["customerUsers"]["Acme Retail East"]),
            "lineItems": [("orderlineitems", tmp) for tmp, *_ in lines],
        },
        included=[
            {
                "type": "orderlineitems",
                "id": tmp,
                "attributes": {"productSku": "WID-100", "quantity": qty, "value": value, "currency": "USD"},
                "relationships": {
                    "product": {"data": {"type": "products", "id": product}},
                    "productUnit": {"data": {"type": "productunits", "id": unit}},
                },
            }
            for tmp, unit, qty, value in lines
        ],
    )
    return str(doc.single().id)


# ------------------------------------------------------------------------------------------------- tokens


def test_the_token_is_cached_refreshed_before_expiry_and_replaced_after_a_401(oro_sandbox: OroSandbox):
    _control(oro_sandbox, "POST", "config", {"token_ttl": 40})  # the client refreshes 10 s early (ttl/4)
    # Live an hour in the past: the revocation below then cannot outlast this test (the sandbox's reset
    # puts the clock back but keeps the revocation time).
    _control(oro_sandbox, "POST", "clock", {"offset_seconds": -3600})
    clock = Clock()
    with _client(oro_sandbox, clock=clock) as client:
        for _ in range(3):
            list(client.iter_price_lists())
        assert _stats(oro_sandbox)["token_requests"] == 1 and client.requests == 3

        clock.now += 31  # inside the refresh margin: a new token before the old one lapses, no 401
        _control(oro_sandbox, "POST", "clock", {"advance_seconds": 31})
        list(client.iter_price_lists())
        assert _stats(oro_sandbox)["token_requests"] == 2 and client.requests == 4

        _control(oro_sandbox, "POST", "clock", {"advance_seconds": 45})  # expired on the server only
        list(client.iter_price_lists())
        assert _stats(oro_sandbox)["token_requests"] == 3 and client.requests == 6  # 401, then the retry

        _control(oro_sandbox, "POST", "tokens/revoke")
        _control(oro_sandbox, "POST", "clock", {"advance_seconds": 2})
        list(client.iter_price_lists())
        assert _stats(oro_sandbox)["token_requests"] == 4 and client.requests == 8
    assert client.token_requests == 4


def test_wrong_credentials_are_rejected_credentials_and_the_message_names_no_secret(oro_sandbox: OroSandbox):
    wrong = "definitely-not-the-secret"  # noqa: S105 - a test value
    with _client(oro_sandbox, secret=wrong) as client:
        with pytest.raises(CredentialsRejected) as caught:
            client.get_customer("1")
    text = f"{caught.value} {caught.value!r} {client!r}"
    assert "invalid_client" in text and "client id and secret" in text
    assert wrong not in text and ORO_CLIENT_SECRET not in text
    assert _stats(oro_sandbox)["token_requests"] == 1 and client.requests == 0  # not retried, no API call


# ------------------------------------------------------------------------------------------------- paging


def test_paging_reads_every_page_and_stops_without_an_extra_request(oro_sandbox: OroSandbox):
    names = ["Acme Holdings", "Acme Retail East", "Acme East Store 12", "Bolt Brothers"]
    with _client(oro_sandbox) as client:
        for name in names:
            client.create("customers", {"name": name})
        _control(oro_sandbox, "DELETE", "stats")
        one_by_one = [c.name for c in client.iter_customers(page_size=1)]
        assert _stats(oro_sandbox)["by_endpoint"]["GET customers"] == 4  # the 4th page had no `next` link
        by_three = [c.name for c in client.iter_customers(page_size=3)]
        assert _stats(oro_sandbox)["by_endpoint"]["GET customers"] == 4 + 2  # the 2nd page was short
    assert one_by_one == by_three == names


def test_paging_reads_every_record_when_the_installation_caps_the_page_size(oro_sandbox: OroSandbox):
    # Oro's `max_entities` (the sandbox's `max_page_size`) serves 3 when 10 are asked for: a short page
    # with a `next` link is not the last page.
    names = [f"Customer {n}" for n in range(7)]
    with _client(oro_sandbox) as client:
        for name in names:
            client.create("customers", {"name": name})
        _control(oro_sandbox, "POST", "config", {"max_page_size": 3})
        _control(oro_sandbox, "DELETE", "stats")
        read = [c.name for c in client.iter_customers(page_size=10)]
        requests = _stats(oro_sandbox)["by_endpoint"]["GET customers"]
    assert read == names
    assert requests == 3  # 3 + 3 + 1; the third page had no `next` link, so nothing more was asked


def test_orders_updated_since_filter_and_page(oro_demo: dict[str, Any], oro_sandbox: OroSandbox):
    with _client(oro_sandbox) as client:
        early = [_create_order(client, oro_demo, f"PO-E{i}") for i in range(2)]
        watermark = client.get_order(early[-1]).updated_at
        _control(oro_sandbox, "POST", "clock", {"advance_seconds": 10})
        late = [_create_order(client, oro_demo, f"PO-L{i}") for i in range(3)]
        before = _stats(oro_sandbox)["by_endpoint"].get("GET orders", 0)
        seen = list(client.iter_orders_updated_since(watermark, page_size=2))
        assert _stats(oro_sandbox)["by_endpoint"]["GET orders"] - before == 2
        picked = list(client.iter_orders(ids=[late[0], early[0]], include=("lineItems",)))
    assert sorted(o.id for o in picked) == sorted([early[0], late[0]]) and all(
        o.lines_included for o in picked
    )
    assert [o.id for o in seen] == late and all(o.updated_at > watermark for o in seen)


# ------------------------------------------------------------------------------------------------- orders


def test_an_order_reads_back_typed_and_takes_tracking_and_shipping_status(
    oro_demo: dict[str, Any], oro_sandbox: OroSandbox
):
    with _client(oro_sandbox) as client:
        order_id = _create_order(client, oro_demo, "PO-88213")
        order = client.get_order(order_id)
        assert order.po_number == "PO-88213" and order.internal_status == "open"
        assert (
            order.customer is not None and order.customer.parent_id == oro_demo["customers"]["Acme Holdings"]
        )
        assert [(li.unit, li.quantity, li.value) for li in order.line_items] == [
            ("each", Decimal(24), Decimal("12.5")),
            ("case", Decimal(2), Decimal(144)),
        ]
        assert order.subtotal_value == Decimal("588") and order.updated_at.tzinfo is UTC
        tracking = client.add_shipping_tracking(order_id, "ups", "1Z999AA10123456784")
        client.set_shipping_status(order_id, "shipped")
        reread = client.get_order(order_id)
        assert reread.shipping_status == "shipped" and reread.shipping_tracking_ids == [tracking.id]
        customer = client.get_customer(oro_demo["customers"]["Acme Holdings"])
        assert customer.external_id == "CIN7-ACME" and customer.children_ids == [
            oro_demo["customers"]["Acme Retail East"]
        ]
        with pytest.raises(NotFound):
            client.get_order("999999")


def test_a_tracking_create_whose_answer_is_lost_is_adopted_not_duplicated(
    oro_demo: dict[str, Any], oro_sandbox: OroSandbox
):
    with _client(oro_sandbox) as client:
        order_id = _create_order(client, oro_demo, "PO-DROP")
        _control(
            oro_sandbox,
            "POST",
            "faults",
            {"method": "POST", "path": "/ordershippingtrackings$", "drop_after_commit_rate": 1.0, "times": 1},
        )
        tracking = client.add_shipping_tracking(order_id, "fedex", "794698452160")
        trackings = client.list_shipping_trackings(order_id)
    assert [t.number for t in trackings] == ["794698452160"] and tracking.id == trackings[0].id
    assert _stats(oro_sandbox)["by_endpoint"]["POST ordershippingtrackings"] == 1


@pytest.mark.parametrize(
    "fault",
    [
        {"throttle_rate": 1.0, "throttle_status": 503},
        {"throttle_rate": 1.0},
        {"error_rate": 1.0, "error_status": 502},
        {"error_rate": 1.0},
    ],
)
def test_throttles_and_5xx_are_retried_and_succeed(oro_sandbox: OroSandbox, fault: dict[str, Any]):
    _control(oro_sandbox, "POST", "faults", {"method": "GET", "path": "/customers$", "times": 2, **fault})
    slept: list[float] = []
    with _client(oro_sandbox, sleep=slept.append) as client:
        client.create("customers", {"name": "Bolt Brothers"})
        names = [c.name for c in client.iter_customers()]
    assert names == ["Bolt Brothers"] and client.requests == 1 + 3 and len(slept) == 2


# -------------------------------------------------------------------------------------- products, stock


def test_products_inventory_levels_and_a_batch_update(oro_demo: dict[str, Any], oro_sandbox: OroSandbox):
    with _client(oro_sandbox) as client:
        products = {p.sku: p for p in client.iter_products(skus=["WID-100", "GAD-200"], page_size=1)}
        assert set(products) == {"WID-100", "GAD-200"}
        assert (
            products["WID-100"].primary_unit == "each" and products["WID-100"].conversion_rate("case") == 12
        )
        levels = {
            (lv.product_sku, lv.unit): lv
            for lv in client.iter_inventory_levels([p.id for p in products.values()])
        }
        assert levels[("WID-100", "case")].quantity == Decimal(80)

        op_id = client.update_inventory_levels_batch(
            [(levels[("WID-100", "each")].id, Decimal(720)), ("999999", Decimal(1))]
        )
        deadline = time.monotonic() + 10
        while not (op := client.get_async_operation(op_id)).finished and time.monotonic() < deadline:
            time.sleep(0.02)
        assert op.status == "success" and op.has_errors and op.summary.update_count == 1
        errors = client.get_async_operation_errors(op_id)
        assert [e.record_index for e in errors] == [1]
        after = {
            (lv.product_sku, lv.unit): lv.quantity
            for lv in client.iter_inventory_levels([products["WID-100"].id])
        }
    assert after[("WID-100", "each")] == Decimal(720) and after[("WID-100", "case")] == Decimal(80)


def test_price_lists_and_prices(oro_demo: dict[str, Any], oro_sandbox: OroSandbox):
    with _client(oro_sandbox) as client:
        lists = {pl.name: pl for pl in client.iter_price_lists()}
        prices = list(client.iter_product_prices(lists["Contract"].id, page_size=4))
    by_key = {(p.product_sku, p.unit): p.value for p in prices}
    assert lists["Contract"].currencies == ["USD"] and len(prices) == 6
    assert by_key[("WID-100", "case")] == Decimal("138") and by_key[("GAD-200", "each")] == Decimal("7.6")


def test_a_webhook_subscription_is_created(oro_sandbox: OroSandbox):
    with _client(oro_sandbox) as client:
        hook = client.create_webhook_subscription("https://hooks.example/oro", "order.created", "hook-secret")
        listed = list(client.iter_webhook_subscriptions())
    assert hook.topic == "order.created" and hook.enabled and [h.id for h in listed] == [hook.id]
    assert "hook-secret" not in repr(listed)  # write-only in Oro, and never kept by the client


@pytest.mark.parametrize("bad_id", ["1/../3", "3?x=1", "007", "0", "-1", "", "1%2F2", True])
def test_an_order_id_that_is_not_an_oro_id_is_never_put_in_a_url(oro_sandbox: OroSandbox, bad_id: Any):
    with _client(oro_sandbox) as client:
        for call in (
            lambda: client.get_order(bad_id),
            lambda: client.set_external_status(bad_id, "open"),
            lambda: client.get_async_operation_errors(bad_id),
        ):
            with pytest.raises(Permanent, match="is not an id of"):
                call()
        with pytest.raises(Permanent, match="is not an id of orderinternalstatuses"):
            client.get("orderinternalstatuses", "../orders/1")
        assert (client.requests, client.token_requests) == (0, 0)
        # an id of the right form is requested as usual (and a missing one is a 404)
        with pytest.raises(NotFound):
            client.get_order("999999")
        assert client.requests == 1
