"""Cin7Client against the sandbox Cin7 Core API over real HTTP: auth, paging, the 60-calls window, transient
faults, a create whose answer is lost after commit, and the sale flow end to end.

Sleeps are injected: a retry "sleeps" by moving the sandbox's rate-limit clock forward, so a 60-second window
costs no wall-clock time and the assertions are about counts, never durations.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sandbox.cin7.server import Cin7Sandbox
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.http import OutcomeUnknown, RetryPolicy
from shared.errors import CredentialsRejected, NotFound, Throttled, Transient


def _client(
    sandbox: Cin7Sandbox, *, sleep=None, retry: RetryPolicy | None = None, **kwargs: Any
) -> Cin7Client:
    slept: list[float] = []

    def record(seconds: float) -> None:
        slept.append(seconds)
        if sleep is not None:
            sleep(seconds)

    client = Cin7Client(
        sandbox.account_id,
        kwargs.pop("application_key", sandbox.application_key),
        base_url=sandbox.base_url,
        retry=retry or RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05),
        sleep=record,
        timeout_seconds=kwargs.pop("timeout_seconds", 5.0),
        **kwargs,
    )
    client.slept = slept  # type: ignore[attr-defined]
    return client


def _header(demo: dict[str, Any], external_id: str) -> dict[str, Any]:
    return {
        "CustomerID": demo["customers"]["Acme Holdings"],
        "Location": "Main Warehouse",
        "SkipQuote": True,
        "ExternalID": external_id,
        "CustomerReference": "PO-1",
        "TaxRule": "Tax Exempt",
    }


LINE = {
    "SKU": "WID-100",
    "Name": "Widget 100",
    "Quantity": Decimal("24"),
    "Price": Decimal("12.5000"),
    "Discount": Decimal("0"),
    "Tax": Decimal("0"),
    "TaxRule": "Tax Exempt",
    "Total": Decimal("300.0000"),
}


def test_auth_failure_is_rejected_credentials_when_the_key_is_wrong(cin7_sandbox: Cin7Sandbox):
    wrong_key = "not-the-application-key-123"
    with _client(cin7_sandbox, application_key=wrong_key) as client:
        with pytest.raises(CredentialsRejected, match="authentication failed") as caught:
            client.price_tiers()
    text = str(caught.value) + repr(caught.value)
    assert wrong_key not in text and cin7_sandbox.account_id not in text
    assert caught.value.status == 403 and client.calls == 1  # no retry of an auth failure


def test_paging_reads_every_page_when_the_limit_is_small(
    cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox
):
    before = cin7_sandbox.stats()["calls"]
    with _client(cin7_sandbox) as client:
        products = list(client.iter_products(limit=1))
        rows = list(client.iter_availability(limit=3))
    assert sorted(p.SKU for p in products) == ["BOLT-300", "GAD-200", "GAD-200-CASE6", "WID-100"]
    assert client.calls == 4 + 3  # Page * Limit >= Total stops exactly at the last page
    widget = [r for r in rows if r.SKU == "WID-100"]
    assert sum(r.Available for r in widget) == Decimal("720")
    after = cin7_sandbox.stats()["calls"]
    assert after["GET /product"] - before.get("GET /product", 0) == 4
    assert after["GET /ref/productavailability"] - before.get("GET /ref/productavailability", 0) == 3


@pytest.mark.parametrize("mode", ["429", "503"])
def test_the_61st_call_is_throttled_and_the_client_backs_off_then_succeeds(
    cin7_sandbox: Cin7Sandbox, mode: str
):
    cin7_sandbox.configure(throttle_status=mode, window_seconds=60)
    client = _client(
        cin7_sandbox,
        sleep=cin7_sandbox.advance_clock,  # a retry's wait moves the sandbox's window forward
        retry=RetryPolicy(attempts=8, base_delay=8.0, max_delay=32.0),
    )
    with client:
        for _ in range(60):
            client.request("GET", "me")
        assert cin7_sandbox.stats()["throttled"] == 0
        tiers = client.price_tiers()  # the 61st call of the window
    stats = cin7_sandbox.stats()
    assert len(tiers) == 10
    assert stats["throttled_by_limit"] >= 1 and stats["throttled_by_status"] == {mode: stats["throttled"]}
    assert client.calls == 61 + stats["throttled"]  # every throttled try was retried, then one success
    assert len(client.slept) == stats["throttled"]  # each wait was injected, none slept for real


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_transient_5xx_is_retried_and_succeeds(cin7_sandbox: Cin7Sandbox, status: int):
    cin7_sandbox.add_faults(
        {"method": "GET", "path": "^/ref/pricetier$", "error_rate": 1.0, "error_status": status}
    )
    client = _client(
        cin7_sandbox, sleep=lambda _s: cin7_sandbox.clear_faults()
    )  # the fault heals while we wait
    with client:
        assert len(client.price_tiers()) == 10
    assert cin7_sandbox.stats()["injected_errors"] == 1 and client.calls == 2 and len(client.slept) == 1


class _RecordingBudget:
    """Stands in for the shared rate budget: every token granted, every penalty counted."""

    def __init__(self) -> None:
        self.penalties = 0

    def acquire(self, flow: str) -> None:
        pass

    def penalise(self) -> None:
        self.penalties += 1


def test_a_503_without_the_api_limit_message_is_an_outage_not_throttling(cin7_sandbox: Cin7Sandbox):
    # An injected error answers 503 with Cin7's error shape but no "API limit" text: an outage.
    cin7_sandbox.add_faults(
        {"method": "GET", "path": "^/ref/pricetier$", "error_rate": 1.0, "error_status": 503}
    )
    budget = _RecordingBudget()
    with _client(cin7_sandbox, retry=RetryPolicy(attempts=1), budget=budget) as client:
        with pytest.raises(Transient, match="503 service unavailable") as caught:
            client.price_tiers()
    assert type(caught.value) is Transient and caught.value.status == 503
    assert budget.penalties == 0  # the shared budget is left alone

    with _client(cin7_sandbox, sleep=lambda _s: cin7_sandbox.clear_faults(), budget=budget) as client:
        assert len(client.price_tiers()) == 10  # retried with backoff once the outage heals
    assert client.calls == 2 and len(client.slept) == 1 and budget.penalties == 0


def test_a_503_with_the_api_limit_message_is_throttling(cin7_sandbox: Cin7Sandbox):
    # The control for the test above: the sandbox's own 503 throttle carries the API-limit text.
    cin7_sandbox.configure(throttle_status="503")
    cin7_sandbox.add_faults(
        {"method": "GET", "path": "^/ref/pricetier$", "throttle_burst": {"every_n_calls": 1, "length": 1}}
    )
    budget = _RecordingBudget()
    with _client(cin7_sandbox, retry=RetryPolicy(attempts=1), budget=budget) as client:
        with pytest.raises(Throttled, match="API limit") as caught:
            client.price_tiers()
    assert caught.value.status == 503 and budget.penalties == 1
    assert cin7_sandbox.stats()["throttled_by_status"] == {"503": 1}


@pytest.mark.parametrize("drop_mode", ["close", "hold"])
def test_a_create_dropped_after_commit_is_outcome_unknown_and_found_by_external_id(
    cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox, drop_mode: str
):
    cin7_sandbox.add_faults(
        {
            "method": "POST",
            "path": "^/sale$",
            "drop_after_commit_rate": 1.0,
            "drop_mode": drop_mode,
            "hold_seconds": 2,
        }
    )
    external_id = f"oro:order:drop-{drop_mode}"
    with _client(cin7_sandbox, timeout_seconds=0.5) as client:
        with pytest.raises(OutcomeUnknown) as caught:
            client.create_sale(_header(cin7_demo, external_id))
        assert caught.value.outcome_unknown is True
        assert cin7_sandbox.stats()["calls"]["POST /sale"] == 1  # never re-sent blindly
        cin7_sandbox.clear_faults()
        found = client.find_sales_by_external_id(external_id)
        assert len(found) == 1
        # Adopt it: the order flow finishes the sale it did not hear about.
        order = client.create_sale_order(found[0].SaleID, [LINE], "AUTHORISED")
        sale = client.get_sale(found[0].SaleID)
    assert order.Status == "AUTHORISED" and sale.ExternalID == external_id and sale.has_lines
    stats = cin7_sandbox.stats()
    assert stats["sales"] == 1 and stats["duplicate_external_ids"] == []


def test_sale_flow_creates_finds_reads_and_voids(cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox):
    with _client(cin7_sandbox) as client:
        sale = client.create_sale(_header(cin7_demo, "oro:order:1042"))
        assert client.find_sales_by_external_id("oro:order:104") == []  # exact, not a prefix
        order = client.create_sale_order(sale.ID, [LINE], "DRAFT", memo="Oro order 1042")
        assert order.Status == "DRAFT" and order.Lines[0].Total == Decimal("300")
        read = client.get_sale(sale.ID)
        assert read.Order is not None and read.Order.Lines[0].Quantity == Decimal("24")
        assert read.LastModifiedOn is not None and read.LastModifiedOn.tzinfo is not None
        assert client.get_fulfilments(sale.ID) == []
        client.void_sale(sale.ID)
        client.void_sale(sale.ID)  # idempotent
        assert client.get_sale(sale.ID).Status == "VOIDED"
        with pytest.raises(NotFound):
            client.get_sale("00000000-0000-0000-0000-000000000001")


def test_reference_lists_customers_and_products_parse(cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox):
    with _client(cin7_sandbox) as client:
        tiers = client.price_tiers()
        rules = {r.Name: r for r in client.tax_rules()}
        locations = {loc.Name for loc in client.locations()}
        acme = client.get_customer(cin7_demo["customers"]["Acme Holdings"])
        northwind = client.find_customers_by_name("Northwind Wholesale")
        case = client.get_product_by_sku("GAD-200-CASE6")
        with pytest.raises(NotFound):
            client.get_product_by_sku("GAD-20")
    assert tiers[0].Name == "Wholesale" and rules["Tax on Sales"].TaxPercent == Decimal("10")
    assert {"Main Warehouse", "Sydney DC"} <= locations
    assert acme.PriceTier == "Contract" and not acme.IsOnCreditHold
    assert len(northwind) == 1 and northwind[0].IsOnCreditHold
    assert case.price_for_tier("Contract", tiers) == Decimal("43.7")
    assert case.BillOfMaterialsProducts[0].Quantity == Decimal("6")


def test_webhooks_can_be_listed_created_and_updated(cin7_sandbox: Cin7Sandbox):
    from shared.adapters.cin7.models import Cin7Webhook

    hook = Cin7Webhook(
        Type="Sale/ShipmentAuthorised",
        ExternalURL="https://hooks.example/cin7",
        ExternalAuthorizationType="bearerauth",
        ExternalBearerToken="bearer-secret-value",
    )
    with _client(cin7_sandbox) as client:
        created = client.create_webhook(hook)
        assert created.ID and created.IsActive
        created.IsActive = False
        created.ExternalBearerToken = hook.ExternalBearerToken
        updated = client.update_webhook(created)
        listed = client.list_webhooks()
    assert not updated.IsActive and [w.ID for w in listed] == [created.ID]
    assert "bearer-secret-value" not in repr(listed)


def test_an_unknown_endpoint_is_not_found_not_retried(cin7_sandbox: Cin7Sandbox):
    with _client(cin7_sandbox) as client:
        with pytest.raises(NotFound):
            client.request("GET", "Products")
    assert client.calls == 1


def test_connection_refused_is_transient_and_retried(cin7_sandbox: Cin7Sandbox):
    client = Cin7Client(
        "a",
        "b",
        base_url="http://127.0.0.1:9/ExternalApi/v2/",
        retry=RetryPolicy(attempts=3, base_delay=0),
        sleep=lambda _s: None,
    )
    with client, pytest.raises(Transient) as caught:
        client.price_tiers()
    assert type(caught.value) is Transient and client.calls == 3
