"""Cin7Client against the sandbox Cin7 Core API over real HTTP: auth, paging, the 60-calls window, transient
faults, a create whose answer is lost after commit, and the sale flow end to end.

Sleeps are injected: a retry "sleeps" by moving the sandbox's rate-limit clock forward, so a 60-second window
costs no wall-clock time and the assertions are about counts, never durations.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
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


# ------------------------------------------------------------------------------ products and prices


def _seed_products(sandbox: Cin7Sandbox, products: list[dict[str, Any]]) -> dict[str, int]:
    response = httpx.post(sandbox.control_url + "products", json={"products": products}, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _next_second() -> datetime:
    """Wait for the next whole second and return it: `ModifiedSince` is sent to the second (naive UTC)."""
    now = datetime.now(UTC)
    time.sleep(1 - now.microsecond / 1_000_000)
    return datetime.now(UTC)


def test_iter_products_pages_products_modified_since_with_their_tiers_and_attributes(
    cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox
):
    skus = [f"P-{n:05d}" for n in range(2500)]
    _seed_products(cin7_sandbox, [{"SKU": s, "Name": f"Product {s}", "PriceTier1": "10"} for s in skus])
    since = _next_second()
    changed = [
        {"SKU": s, "PriceTiers": {"Contract": "9.5"}, "Brand": "Acme", "Weight": "1.25"} for s in skus[:1500]
    ]
    assert _seed_products(cin7_sandbox, changed) == {"created": 0, "updated": 1500, "unchanged": 0}
    with _client(cin7_sandbox) as client:
        products = list(client.iter_products(since))  # Limit 1000: two pages
        assert client.calls == 2
        everything = list(client.iter_products(limit=1000))
        assert client.calls == 2 + 3
    assert sorted(p.SKU for p in products) == skus[:1500]
    first = products[0]
    assert (first.PriceTier1, first.PriceTier2, first.PriceTier3) == (
        Decimal("10"),
        Decimal("9.5"),
        Decimal("0"),
    )
    assert first.PriceTiers["Contract"] == Decimal("9.5") and first.Brand == "Acme"
    assert first.Weight == Decimal("1.25") and first.UOM == "Item" and first.Category == "General"
    assert first.LastModifiedOn is not None and first.LastModifiedOn >= since
    assert len(everything) == 2500 + len(cin7_demo["products"])


def test_update_product_changes_one_tier_and_leaves_the_other_fields(
    cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox
):
    gadget_id = cin7_demo["products"]["GAD-200"]
    with _client(cin7_sandbox) as client:
        before = client.get_product_by_sku("GAD-200")
        updated = client.update_product(gadget_id, {"PriceTier2": Decimal("7.6500")})
        assert client.calls == 2
        by_name = client.update_product(gadget_id, {"PriceTiers": {"Tier 3": Decimal("7.1234")}})
        renamed = client.update_product(
            gadget_id,
            {
                "Name": "Gadget 200 (blue)",
                "Barcode": "9300000000012",
                "Brand": "Orosync",
                "Category": "Gadgets",
                "Weight": Decimal("0.35"),
                "Length": Decimal("12"),
                "Width": Decimal("8"),
                "Height": Decimal("3.5"),
                "ShortDescription": "A blue gadget",
                "Description": "<p>Blue.</p>",
            },
        )
        read = client.get_product_by_sku("GAD-200")
        with pytest.raises(ValueError, match="at least one field"):
            client.update_product(gadget_id, {})
    assert updated.PriceTier2 == Decimal("7.65") and updated.PriceTier1 == before.PriceTier1 == Decimal("8")
    assert updated.Name == "Gadget 200" and updated.Barcode == before.Barcode
    assert by_name.PriceTier3 == Decimal("7.1234") and by_name.PriceTier2 == Decimal("7.65")
    assert renamed.PriceTier1 == Decimal("8") and renamed.PriceTier2 == Decimal("7.65")
    assert (read.Name, read.Barcode, read.Brand, read.Category) == (
        "Gadget 200 (blue)",
        "9300000000012",
        "Orosync",
        "Gadgets",
    )
    assert (read.Weight, read.Length, read.Width, read.Height) == (
        Decimal("0.35"),
        Decimal("12"),
        Decimal("8"),
        Decimal("3.5"),
    )
    assert (read.ShortDescription, read.Description, read.UOM) == ("A blue gadget", "<p>Blue.</p>", "Item")
    assert before.LastModifiedOn and read.LastModifiedOn and read.LastModifiedOn > before.LastModifiedOn


def test_update_product_is_retried_after_a_dropped_answer(
    cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox
):
    cin7_sandbox.add_faults({"method": "PUT", "path": "^/product$", "drop_after_commit_rate": 1.0})
    with _client(cin7_sandbox, sleep=lambda _s: cin7_sandbox.clear_faults()) as client:
        product = client.update_product(cin7_demo["products"]["WID-100"], {"PriceTier1": Decimal("13")})
    assert product.PriceTier1 == Decimal("13")  # PUT sets absolute values: re-sending it is safe
    assert cin7_sandbox.stats()["calls"]["PUT /product"] == 2 and len(client.slept) == 1


def test_set_custom_prices_applies_the_good_rows_and_returns_the_bad_rows_errors(
    cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox
):
    acme = cin7_demo["customers"]["Acme Holdings"]
    products = cin7_demo["products"]
    unknown = "00000000-0000-4000-8000-0000000000ff"
    with _client(cin7_sandbox) as client:
        errors = client.set_custom_prices(
            [
                (acme, products["WID-100"], Decimal("11.2500")),
                (unknown, products["GAD-200"], Decimal("7")),
                (acme, products["BOLT-300"], Decimal("0.2")),
                (acme, unknown, Decimal("1")),
            ]
        )
        assert client.calls == 1
        assert client.set_custom_prices([]) == [] and client.calls == 1
        by_sku = client.set_custom_prices(
            [(acme, "GAD-200", Decimal("7.05")), (acme, "NOPE-9", Decimal("1"))], by_sku=True
        )
        prices = {p.ProductSKU: p.Price for p in client.get_customer(acme).ProductPrices}
    assert len(errors) == 2 and unknown in errors[0] and unknown in errors[1]
    assert "customer" in errors[0].lower() and "product" in errors[1].lower()
    assert len(by_sku) == 1 and "NOPE-9" in by_sku[0]
    assert prices == {"WID-100": Decimal("11.25"), "BOLT-300": Decimal("0.2"), "GAD-200": Decimal("7.05")}


def test_set_custom_prices_sends_500_rows_a_call(cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox):
    _seed_products(cin7_sandbox, [{"SKU": f"CP-{n:04d}", "Name": f"Priced {n}"} for n in range(1001)])
    acme = cin7_demo["customers"]["Acme Holdings"]
    with _client(cin7_sandbox) as client:
        ids = [p.ID for p in client.iter_products(sku="CP-")]
        calls = client.calls
        rows = [(acme, product_id, Decimal(n) / 100) for n, product_id in enumerate(ids)]
        assert client.set_custom_prices(rows) == []
        assert client.calls - calls == 3  # 500 + 500 + 1
        assert len(client.get_customer(acme).ProductPrices) == 1001
