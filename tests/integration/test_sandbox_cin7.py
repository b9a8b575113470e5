"""The sandbox Cin7 Core v2 API over real HTTP, checked against the facts in reference/cin7-core-api.md."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.cin7.cli import build_parser
from sandbox.cin7.seed import seed_demo
from sandbox.cin7.server import Cin7Sandbox
from tests.fixtures.cin7_sandbox import CIN7_BULK_APPLICATION_KEY, WebhookReceiver

TAX = Decimal("0.10")


def _num(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # only for the wire; the sandbox reads numbers back as Decimal
    raise TypeError(type(value).__name__)


def send(client: httpx.Client, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
    content = None if body is None else json.dumps(body, default=_num)
    return client.request(method, path, content=content, **kwargs)


def line(sku: str, quantity: int, price: str, *, discount: str = "0", tax_rule: str = "Tax on Sales") -> dict:
    net = Decimal(quantity) * Decimal(price) * (1 - Decimal(discount) / 100)
    tax = (net * (TAX if tax_rule == "Tax on Sales" else 0)).quantize(Decimal("0.01"))
    return {
        "SKU": sku,
        "Name": sku,
        "Quantity": quantity,
        "Price": Decimal(price),
        "Discount": Decimal(discount),
        "Tax": tax,
        "TaxRule": tax_rule,
        "Total": net + tax,
    }


def create_sale(client: httpx.Client, demo: dict, external_id: str, **extra: Any) -> dict:
    body = {
        "CustomerID": demo["customers"]["Acme Holdings"],
        "Location": "Main Warehouse",
        "SkipQuote": True,
        "ExternalID": external_id,
        "CustomerReference": f"PO-{external_id}",
        "TaxRule": "Tax on Sales",
        "TaxInclusive": False,
        **extra,
    }
    response = send(client, "POST", "sale", body)
    assert response.status_code == 200, response.text
    return response.json()


def post_order(client: httpx.Client, sale_id: str, status: str, lines: list[dict]) -> httpx.Response:
    return send(client, "POST", "sale/order", {"SaleID": sale_id, "Status": status, "Lines": lines})


def availability(client: httpx.Client, sku: str, location: str) -> dict:
    rows = client.get("ref/productavailability", params={"Sku": sku, "Location": location}).json()
    assert rows["Total"] == 1
    return rows["ProductAvailabilityList"][0]


def sale_row(client: httpx.Client, external_id: str) -> dict:
    rows = client.get("saleList", params={"ExternalID": external_id}).json()
    assert rows["Total"] == 1
    return rows["SaleList"][0]


def wait_until(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)


# ------------------------------------------------------------------------------------------ auth, paths


def test_call_is_refused_with_403_when_an_auth_header_is_missing(cin7_sandbox: Cin7Sandbox) -> None:
    headers = cin7_sandbox.headers()
    del headers["api-auth-applicationkey"]
    response = httpx.get(cin7_sandbox.base_url + "me", headers=headers)
    assert response.status_code == 403
    body = response.json()
    assert isinstance(body, list) and body[0]["ErrorCode"] == 403 and body[0]["Exception"]


def test_call_is_refused_with_403_when_the_key_or_account_is_wrong(cin7_sandbox: Cin7Sandbox) -> None:
    wrong_key = cin7_sandbox.headers(application_key="not-a-key")
    assert httpx.get(cin7_sandbox.base_url + "me", headers=wrong_key).status_code == 403
    wrong_account = {**cin7_sandbox.headers(), "api-auth-accountid": "someone-else"}
    assert httpx.get(cin7_sandbox.base_url + "me", headers=wrong_account).status_code == 403
    assert cin7_sandbox.stats()["unauthorised"] == 2


def test_the_old_key_is_refused_with_403_when_the_application_key_is_regenerated(
    cin7_sandbox: Cin7Sandbox,
) -> None:
    old = cin7_sandbox.headers()
    control = httpx.post(cin7_sandbox.control_url + "application-key", json={"application_key": "key-2"})
    assert control.status_code == 200
    refused = httpx.get(cin7_sandbox.base_url + "me", headers=old)
    assert refused.status_code == 403 and refused.json()[0]["Exception"].startswith("Incorrect credentials")
    assert httpx.get(cin7_sandbox.base_url + "me", headers=cin7_sandbox.headers("key-2")).status_code == 200
    cin7_sandbox.reset()
    assert httpx.get(cin7_sandbox.base_url + "me", headers=old).status_code == 200


def test_paths_are_case_insensitive_and_a_wrong_path_is_404(cin7_sandbox: Cin7Sandbox) -> None:
    headers = cin7_sandbox.headers()
    root = cin7_sandbox.root_url
    assert httpx.get(f"{root}/externalapi/v2/ME", headers=headers).status_code == 200
    assert httpx.get(f"{root}/ExternalApi/v2/SaleList", headers=headers).json()["SaleList"] == []
    missing = httpx.get(f"{root}/ExternalApi/v2/Products", headers=headers)
    assert missing.status_code == 404 and missing.json()[0]["ErrorCode"] == 404
    assert missing.headers["content-type"].startswith("application/json")


# ------------------------------------------------------------------------------------------ paging


def test_pages_carry_total_and_page_when_the_list_spans_several_pages(cin7_client: httpx.Client) -> None:
    for n in range(25):
        assert send(cin7_client, "POST", "ref/unit", {"Name": f"Unit {n:02d}"}).status_code == 200
    seen = []
    for page in (1, 2, 3):
        body = cin7_client.get("ref/unit", params={"Page": page, "Limit": 10}).json()
        assert body["Total"] == 25 and body["Page"] == page
        seen += [u["Name"] for u in body["UnitList"]]
    assert seen == [f"Unit {n:02d}" for n in range(25)]
    assert cin7_client.get("ref/unit", params={"page": 4, "limit": 10}).json()["UnitList"] == []
    assert len(cin7_client.get("ref/unit").json()["UnitList"]) == 25  # default Limit 100


def test_limit_above_1000_is_rejected_with_400(cin7_client: httpx.Client) -> None:
    assert cin7_client.get("saleList", params={"Limit": 1000}).status_code == 200
    response = cin7_client.get("saleList", params={"Limit": 1001})
    assert response.status_code == 400 and response.json()[0]["ErrorCode"] == 400
    assert cin7_client.get("saleList", params={"Page": 0}).status_code == 400


# ------------------------------------------------------------------------------------------ rate limit


def test_the_61st_call_in_a_window_is_throttled_with_429_and_changes_nothing(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client
) -> None:
    cin7_sandbox.configure(window_seconds=30)
    for _ in range(60):
        assert cin7_client.get("me").status_code == 200
    throttled = send(cin7_client, "POST", "ref/unit", {"Name": "Pallet"})
    assert throttled.status_code == 429
    assert throttled.json() == [{"ErrorCode": 429, "Exception": "You reached 60 calls per minute API limit"}]
    assert "retry-after" not in throttled.headers
    # Another API application of the same account has its own window.
    other = httpx.get(cin7_sandbox.base_url + "me", headers=cin7_sandbox.headers(CIN7_BULK_APPLICATION_KEY))
    assert other.status_code == 200
    cin7_sandbox.advance_clock(30)
    units = cin7_client.get("ref/unit").json()["UnitList"]
    assert units == []  # the throttled POST created nothing
    assert cin7_sandbox.stats()["throttled"] == 1 and cin7_sandbox.throttled_count == 1


def test_the_window_rolls_in_real_time_when_window_seconds_is_short(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client
) -> None:
    cin7_sandbox.configure(calls_per_minute=5, window_seconds=0.3)
    statuses = [cin7_client.get("me").status_code for _ in range(5)]
    # Calls older than the window do not count, so on a slow machine the 6th may already be allowed.
    assert statuses == [200] * 5
    assert wait_until(lambda: cin7_client.get("me").status_code == 200, timeout=5)


def test_throttle_answers_503_with_a_bare_object_in_503_mode(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client
) -> None:
    cin7_sandbox.configure(calls_per_minute=2, throttle_status="503")
    cin7_client.get("me")
    cin7_client.get("me")
    response = cin7_client.get("me")
    assert response.status_code == 503
    assert response.json() == {
        "ErrorCode": 503,
        "Exception": "You have reached 2 calls per 60 seconds API limit.",
    }
    assert "retry-after" not in response.headers


def test_mixed_mode_answers_both_429_and_503_reproducibly(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client
) -> None:
    def run() -> list[int]:
        cin7_sandbox.reset()
        cin7_sandbox.configure(calls_per_minute=1, throttle_status="mixed", throttle_seed=3)
        cin7_client.get("me")
        return [cin7_client.get("me").status_code for _ in range(12)]

    first = run()
    assert set(first) == {429, 503}
    assert run() == first
    assert cin7_sandbox.stats()["throttled_by_status"] == {
        "429": first.count(429),
        "503": first.count(503),
    }


# ------------------------------------------------------------------------------------------ sales


def test_sale_is_found_by_its_exact_external_id_and_not_by_a_near_miss(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    sale = create_sale(cin7_client, cin7_demo, "oro:order:1001")
    assert sale["ID"] and sale["Status"] == "ESTIMATED" and sale["Order"]["SaleOrderNumber"] == "SO-00001"
    assert post_order(cin7_client, sale["ID"], "DRAFT", [line("WID-100", 10, "12.0")]).status_code == 200
    row = sale_row(cin7_client, "oro:order:1001")
    assert row["SaleID"] == sale["ID"] and row["Status"] == "ORDERING" and row["OrderStatus"] == "DRAFT"
    for near_miss in ("oro:order:100", "oro:order:10011", "ORO:ORDER:1001", "oro:order:1001 "):
        assert cin7_client.get("saleList", params={"ExternalID": near_miss}).json()["Total"] == 0
    found = cin7_client.get("saleList", params={"Search": "PO-oro:order:1001"}).json()
    assert found["Total"] == 1


def test_order_goes_from_draft_to_authorised_and_allocates_stock(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    sale = create_sale(cin7_client, cin7_demo, "oro:order:2")
    lines = [line("WID-100", 10, "12.0"), line("BOLT-300", 400, "0.2375", discount="5")]
    draft = post_order(cin7_client, sale["ID"], "DRAFT", lines)
    assert draft.status_code == 200 and draft.json()["Status"] == "DRAFT"
    assert availability(cin7_client, "WID-100", "Main Warehouse")["Allocated"] == 0
    authorised = post_order(cin7_client, sale["ID"], "AUTHORISED", lines)
    assert authorised.status_code == 200, authorised.text
    order = authorised.json()
    assert Decimal(str(order["Total"])) == sum(item["Total"] for item in lines) == Decimal("231.27")
    assert sale_row(cin7_client, "oro:order:2")["Status"] == "ORDERED"
    widget = availability(cin7_client, "WID-100", "Main Warehouse")
    assert (widget["OnHand"], widget["Allocated"], widget["Available"]) == (600, 10, 590)
    again = post_order(cin7_client, sale["ID"], "AUTHORISED", lines)
    assert again.status_code == 400  # the order is already authorised
    assert cin7_client.get("sale/order", params={"SaleID": sale["ID"]}).json()["Lines"][1]["Price"] == 0.2375


def test_over_ordering_backorders_silently(cin7_client: httpx.Client, cin7_demo: dict) -> None:
    sale = create_sale(cin7_client, cin7_demo, "oro:order:3", Location="Sydney DC")
    response = post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 150, "12.0")])
    assert response.status_code == 200
    assert response.json()["Lines"][0]["BackorderQuantity"] == 30
    assert sale_row(cin7_client, "oro:order:3")["Status"] == "BACKORDERED"


def test_case_product_is_auto_assembled_from_singles_when_authorised(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    bom = cin7_client.get("product", params={"Sku": "GAD-200-CASE6", "IncludeBOM": "true"}).json()["Products"]
    assert bom[0]["BillOfMaterialsProducts"][0]["Quantity"] == 6 and bom[0]["AutoAssembly"] is True
    sale = create_sale(cin7_client, cin7_demo, "oro:order:4")
    assert (
        post_order(cin7_client, sale["ID"], "AUTHORISED", [line("GAD-200-CASE6", 3, "43.7")]).status_code
        == 200
    )
    assert availability(cin7_client, "GAD-200", "Main Warehouse")["OnHand"] == 300 - 18
    case = availability(cin7_client, "GAD-200-CASE6", "Main Warehouse")
    assert (case["OnHand"], case["Allocated"]) == (3, 3)


@pytest.mark.parametrize(
    ("bad_line", "why"),
    [
        ({**line("WID-100", 2, "12.5"), "Total": Decimal("27.52")}, "Total"),
        ({**line("WID-100", 2, "12.5"), "SKU": "WID-1000"}, "WID-1000"),
        ({**line("WID-100", 2, "12.5"), "TaxRule": "tax on sales"}, "tax on sales"),
        ({**line("WID-100", 2, "12.5"), "Price": Decimal("12.50001")}, "decimal places"),
        ({**line("WID-100", 2, "12.5"), "Discount": Decimal("1.005")}, "decimal places"),
    ],
)
def test_order_is_rejected_with_400_when_a_line_is_invalid(
    cin7_client: httpx.Client, cin7_demo: dict, bad_line: dict, why: str
) -> None:
    sale = create_sale(cin7_client, cin7_demo, "oro:order:5")
    good = line("BOLT-300", 100, "0.25")
    response = post_order(cin7_client, sale["ID"], "AUTHORISED", [good, bad_line])
    assert response.status_code == 400
    assert why in response.json()[0]["Exception"]
    assert cin7_client.get("sale/order", params={"SaleID": sale["ID"]}).json()["Lines"] == []
    within = {**line("WID-100", 2, "12.5"), "Total": Decimal("27.51")}  # 27.50 expected, 0.01 tolerance
    assert post_order(cin7_client, sale["ID"], "DRAFT", [within]).status_code == 200


def test_tax_inclusive_sale_takes_totals_without_tax_added_and_refuses_a_tax_the_total_does_not_hold(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    sale = create_sale(cin7_client, cin7_demo, "oro:order:inclusive", TaxInclusive=True)
    assert sale["TaxCalculation"] == "Inclusive"
    # 12 × 9.1666 = 109.9992 holds 10 % tax of 109.9992 × 10 / 110 = 10.00; Total has no tax added
    gross = {**line("WID-100", 12, "9.1666"), "Tax": Decimal("10.00"), "Total": Decimal("109.9992")}
    exclusive_tax = {**gross, "Tax": Decimal("11.00")}  # tax on the gross, as if it were a net
    response = post_order(cin7_client, sale["ID"], "DRAFT", [exclusive_tax])
    assert response.status_code == 400
    assert "Tax 11.0 does not match the tax 9.9999" in response.json()[0]["Exception"]
    assert (
        post_order(cin7_client, sale["ID"], "DRAFT", [{**gross, "Total": Decimal("120.9992")}]).status_code
        == 400
    )
    response = post_order(cin7_client, sale["ID"], "DRAFT", [gross])
    assert response.status_code == 200, response.text
    assert (response.json()["Total"], response.json()["Tax"]) == (109.9992, 10.0)


def test_order_for_a_customer_on_credit_hold_stays_draft(cin7_client: httpx.Client, cin7_demo: dict) -> None:
    sale = create_sale(
        cin7_client, cin7_demo, "oro:order:6", CustomerID=cin7_demo["customers"]["Northwind Wholesale"]
    )
    assert sale["PriceTier"] == "Wholesale"
    assert post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 1, "12.5")]).status_code == 400
    assert post_order(cin7_client, sale["ID"], "DRAFT", [line("WID-100", 1, "12.5")]).status_code == 200


def test_void_releases_stock_and_refuses_a_second_void(cin7_client: httpx.Client, cin7_demo: dict) -> None:
    sale = create_sale(cin7_client, cin7_demo, "oro:order:7")
    post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 25, "12.0")])
    assert availability(cin7_client, "WID-100", "Main Warehouse")["Allocated"] == 25
    voided = cin7_client.delete("sale", params={"ID": sale["ID"], "Void": "true"})
    assert voided.status_code == 200 and voided.json()["Status"] == "VOIDED"
    assert availability(cin7_client, "WID-100", "Main Warehouse")["Allocated"] == 0
    assert sale_row(cin7_client, "oro:order:7")["Status"] == "VOIDED"
    assert cin7_client.delete("sale", params={"ID": sale["ID"], "Void": "true"}).status_code == 400
    assert post_order(cin7_client, sale["ID"], "DRAFT", [line("WID-100", 1, "12.0")]).status_code == 400


def ship(client: httpx.Client, sale_id: str, tracking: str) -> httpx.Response:
    assert (
        send(
            client, "POST", "sale/fulfilment/pick", {"TaskID": sale_id, "AutoPickMode": "AUTOPICK"}
        ).status_code
        == 200
    )
    packed = send(
        client,
        "POST",
        "sale/fulfilment/pack",
        {
            "TaskID": sale_id,
            "Status": "AUTHORISED",
            "Lines": [{"SKU": "WID-100", "Quantity": 12, "Box": "1"}],
        },
    )
    assert packed.status_code == 200, packed.text
    return send(
        client,
        "POST",
        "sale/fulfilment/ship",
        {
            "TaskID": sale_id,
            "Status": "DRAFT",
            "Lines": [
                {
                    "ShipmentDate": "2026-07-11T00:00:00",
                    "Carrier": "StarTrack",
                    "Box": "1",
                    "TrackingNumber": tracking,
                    "IsShipped": True,
                }
            ],
        },
    )


def test_fulfilment_with_tracking_updates_the_sale_list_fields(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    sale = create_sale(cin7_client, cin7_demo, "oro:order:8")
    post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 12, "12.0")])
    before = sale_row(cin7_client, "oro:order:8")
    assert (before["CombinedShippingStatus"], before["FulFilmentStatus"]) == ("NOT SHIPPED", "NOT FULFILLED")
    shipped = ship(cin7_client, sale["ID"], "ST123456789AU")
    assert shipped.status_code == 200 and shipped.json()["Status"] == "AUTHORISED"  # every packed box shipped
    row = sale_row(cin7_client, "oro:order:8")
    assert row["CombinedShippingStatus"] == "SHIPPED"
    assert row["FulFilmentStatus"] == "FULFILLED"
    assert row["CombinedTrackingNumbers"] == "ST123456789AU"
    widget = availability(cin7_client, "WID-100", "Main Warehouse")
    assert (widget["OnHand"], widget["Allocated"]) == (588, 0)
    fulfilments = cin7_client.get("sale/fulfilment", params={"SaleID": sale["ID"]}).json()["Fulfilments"]
    assert fulfilments[0]["Ship"]["Lines"][0]["TrackingNumber"] == "ST123456789AU"
    assert cin7_client.delete("sale", params={"ID": sale["ID"], "Void": "true"}).status_code == 400


def test_updated_since_with_a_trailing_z_is_rejected_but_naive_utc_works(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    create_sale(cin7_client, cin7_demo, "oro:order:9")
    rejected = cin7_client.get("saleList", params={"UpdatedSince": "2020-01-01T00:00:00Z"})
    assert rejected.status_code == 400 and rejected.json()[0]["ErrorCode"] == 400
    assert cin7_client.get("saleList", params={"UpdatedSince": "2020-01-01T00:00:00"}).json()["Total"] == 1
    assert (
        cin7_client.get("saleList", params={"UpdatedSince": "2999-01-01T00:00:00.000"}).json()["Total"] == 0
    )
    assert cin7_client.get("saleList", params={"CreatedSince": "2020-01-01T00:00:00Z"}).json()["Total"] == 1
    updated = sale_row(cin7_client, "oro:order:9")["Updated"]
    assert updated.endswith("Z")


# ------------------------------------------------------------------------------------------ master data


def test_customer_names_are_unique_and_hierarchies_have_one_level(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    base = {
        "Status": "Active",
        "Currency": "AUD",
        "PaymentTerm": "30 days",
        "AccountReceivable": "1100",
        "RevenueAccount": "4000",
        "TaxRule": "Tax Exempt",
    }
    duplicate = send(cin7_client, "POST", "customer", {**base, "Name": "acme holdings"})
    assert duplicate.status_code == 400
    child = send(
        cin7_client, "POST", "customer", {**base, "Name": "Acme Perth", "CustomerParentName": "Acme Holdings"}
    )
    assert (
        child.status_code == 200
        and child.json()["CustomerList"][0]["CustomerParentID"] == cin7_demo["customers"]["Acme Holdings"]
    )
    grandchild = send(
        cin7_client,
        "POST",
        "customer",
        {**base, "Name": "Acme Perth North", "CustomerParentName": "Acme Perth"},
    )
    assert grandchild.status_code == 400
    parent = cin7_client.get("customer", params={"ID": cin7_demo["customers"]["Acme Holdings"]}).json()
    assert parent["CustomerList"][0]["ChildCustomers"][0]["CustomerName"] == "Acme Perth"
    assert cin7_client.get("customer", params={"Name": "acme"}).json()["Total"] == 2  # starts-with


def test_custom_prices_are_set_per_customer_and_answered_only_with_IncludeProductPrices(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    acme = cin7_demo["customers"]["Acme Holdings"]
    rows = [
        {"CustomerID": acme, "ProductSKU": "WID-100", "Price": "11.00"},
        {"CustomerName": "Acme Holdings", "ProductID": cin7_demo["products"]["GAD-200"], "Price": "7.10"},
        {"CustomerID": acme, "ProductSKU": "NOPE-1", "Price": "1.00"},
    ]
    answer = send(cin7_client, "POST", "custom-prices", {"CustomPrices": rows})
    # reference §1/§6: a bulk write answers 200, with what it could not apply inside `Errors`
    assert answer.status_code == 200
    assert [("NOPE-1" in e) for e in answer.json()["Errors"]] == [True]

    def prices(**params: str) -> dict[str, Decimal]:
        found = cin7_client.get("customer", params={"ID": acme, **params}).json()["CustomerList"][0]
        return {p["ProductSKU"]: Decimal(str(p["Price"])) for p in found["ProductPrices"]}

    assert prices() == {}
    assert prices(IncludeProductPrices="true") == {"WID-100": Decimal("11"), "GAD-200": Decimal("7.1")}
    gone = cin7_client.delete(
        "custom-prices", params={"ProductID": cin7_demo["products"]["WID-100"], "CustomerID": acme}
    )
    assert gone.status_code == 200
    assert prices(IncludeProductPrices="true") == {"GAD-200": Decimal("7.1")}


def test_price_tiers_are_ten_and_products_carry_them_by_name(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    tiers = cin7_client.get("ref/priceTier").json()["PriceTiers"]
    assert len(tiers) == 10 and tiers[0] == {"Code": 1, "Name": "Wholesale"} and tiers[2]["Name"] == "Tier 3"
    bolt = cin7_client.get("product", params={"Sku": "BOLT"}).json()["Products"][0]
    assert (bolt["PriceTier1"], bolt["PriceTier2"]) == (0.25, 0.2375)
    assert bolt["PriceTiers"]["Contract"] == 0.2375
    updated = send(
        cin7_client, "PUT", "product", {"ID": bolt["ID"], "PriceTiers": {"Tier 3": Decimal("0.2")}}
    )
    assert updated.json()["Products"][0]["PriceTier3"] == 0.2


def test_stock_adjustment_sets_levels_only_when_completed(cin7_client: httpx.Client, cin7_demo: dict) -> None:
    body = {
        "EffectiveDate": "2026-07-01T00:00:00",
        "Status": "DRAFT",
        "Lines": [{"SKU": "WID-100", "Location": "Sydney DC", "Quantity": 150}],
    }
    draft = send(cin7_client, "POST", "stockadjustment", body)
    assert draft.status_code == 200 and availability(cin7_client, "WID-100", "Sydney DC")["OnHand"] == 120
    completed = send(
        cin7_client, "PUT", "stockadjustment", {"TaskID": draft.json()["TaskID"], "Status": "COMPLETED"}
    )
    assert completed.status_code == 200
    assert availability(cin7_client, "WID-100", "Sydney DC")["OnHand"] == 150  # adjusted to, not by
    unknown = send(
        cin7_client, "POST", "stockadjustment", {**body, "Lines": [{"SKU": "NOPE", "Quantity": 1}]}
    )
    assert unknown.status_code == 400


def test_sale_header_is_validated_and_updatable(cin7_client: httpx.Client, cin7_demo: dict) -> None:
    customer = cin7_demo["customers"]["Acme Holdings"]
    too_long = send(
        cin7_client,
        "POST",
        "sale",
        {"CustomerID": customer, "Location": "Main Warehouse", "ExternalID": "x" * 257},
    )
    assert too_long.status_code == 400
    no_customer = send(cin7_client, "POST", "sale", {"Location": "Main Warehouse"})
    assert no_customer.status_code == 400
    sale = create_sale(
        cin7_client, cin7_demo, "x" * 256, CustomerID=None, Customer="Acme Holdings", CustomerReference=""
    )
    assert sale["CustomerID"] == customer and sale["TaxCalculation"] == "Exclusive"
    updated = send(
        cin7_client, "PUT", "sale", {"ID": sale["ID"], "CustomerReference": "PO-77", "ExternalID": "oro:77"}
    )
    assert updated.status_code == 200 and updated.json()["CustomerReference"] == "PO-77"
    assert sale_row(cin7_client, "oro:77")["CustomerReference"] == "PO-77"
    assert cin7_client.get("sale", params={"ID": "00000000-0000-0000-0000-000000000000"}).status_code == 400


def test_seed_demo_is_reproducible_with_a_guid_seed(cin7_sandbox: Cin7Sandbox) -> None:
    first = seed_demo(
        cin7_sandbox.base_url, cin7_sandbox.account_id, cin7_sandbox.application_key, guid_seed=11
    )
    cin7_sandbox.reset()
    second = seed_demo(
        cin7_sandbox.base_url, cin7_sandbox.account_id, cin7_sandbox.application_key, guid_seed=11
    )
    assert first["customers"] == second["customers"] and first["products"] == second["products"]
    assert set(first["products"]) == {"WID-100", "GAD-200", "GAD-200-CASE6", "BOLT-300"}
    assert first["api_calls"] < 60


# ------------------------------------------------------------------------------------------ webhooks


def register(client: httpx.Client, url: str, event_type: str, **extra: Any) -> dict:
    body = {"Type": event_type, "IsActive": True, "ExternalURL": url, **extra}
    response = send(client, "POST", "webhooks", body)
    assert response.status_code == 200, response.text
    return response.json()["Webhooks"][0]


def test_webhooks_are_delivered_with_the_bearer_token_and_custom_headers(
    cin7_client: httpx.Client, cin7_demo: dict, cin7_webhook_receiver: WebhookReceiver
) -> None:
    auth = {
        "ExternalAuthorizationType": "bearerauth",
        "ExternalBearerToken": "s3cret-token",
        "ExternalHeaders": [{"Key": "X-Tenant", "Value": "acme"}],
    }
    for event_type in (
        "Sale/Created",
        "Sale/OrderAuthorised",
        "Sale/ShipmentAuthorised",
        "Sale/ShipmentTrackingNumberChanged",
        "Sale/Voided",
    ):
        register(cin7_client, cin7_webhook_receiver.url, event_type, **auth)
    sale = create_sale(cin7_client, cin7_demo, "oro:order:20", SaleOrderDate="2026-07-10T00:00:00")
    post_order(cin7_client, sale["ID"], "AUTHORISED", [line("WID-100", 12, "12.0")])
    ship(cin7_client, sale["ID"], "ST1")
    other = create_sale(cin7_client, cin7_demo, "oro:order:21")
    cin7_client.delete("sale", params={"ID": other["ID"], "Void": "true"})

    created = cin7_webhook_receiver.wait_for(2, event_type="Sale/Created")
    assert created[0]["headers"]["authorization"] == "Bearer s3cret-token"
    assert created[0]["headers"]["x-tenant"] == "acme"
    assert created[0]["body"]["SaleID"] == sale["ID"]
    authorised = cin7_webhook_receiver.wait_for(1, event_type="Sale/OrderAuthorised")[0]["body"]
    assert authorised == {
        "SaleID": sale["ID"],
        "SaleOrderNumber": "SO-00001",
        "EventType": "Sale/OrderAuthorised",
    }
    shipment = cin7_webhook_receiver.wait_for(1, event_type="Sale/ShipmentAuthorised")[0]["body"]
    assert (
        set(shipment) == {"SaleTaskID", "TenantID", "OrderNumber", "EventType"} and "SaleID" not in shipment
    )
    tracking = cin7_webhook_receiver.wait_for(1, event_type="Sale/ShipmentTrackingNumberChanged")[0]["body"]
    assert tracking["SaleOrderDate"] == "10/07/2026"
    assert tracking["Shipments"] == [
        {"ShipmentDate": "11/07/2026", "TrackingNumber": "ST1", "TrackingUrl": "", "Carrier": "StarTrack"}
    ]
    voided = cin7_webhook_receiver.wait_for(1, event_type="Sale/Voided")[0]["body"]
    assert voided["SaleID"] == other["ID"]


def test_webhook_is_deactivated_after_six_failed_deliveries(
    cin7_sandbox: Cin7Sandbox,
    cin7_client: httpx.Client,
    cin7_demo: dict,
    cin7_webhook_receiver: WebhookReceiver,
) -> None:
    cin7_webhook_receiver.status = 500
    webhook = register(
        cin7_client,
        cin7_webhook_receiver.url,
        "Sale/Created",
        ExternalAuthorizationType="basicauth",
        ExternalUserName="cin7",
        ExternalPassword="pw",
    )
    create_sale(cin7_client, cin7_demo, "oro:order:30")
    assert len(cin7_webhook_receiver.wait_for(6)) == 6
    assert cin7_webhook_receiver.requests[0]["headers"]["authorization"].startswith("Basic ")
    deliveries = wait_until(
        lambda: [d for d in cin7_sandbox.webhook_deliveries() if d["State"] == "failed"], timeout=10
    )
    assert len(deliveries[0]["Attempts"]) == 6
    listed = cin7_client.get("webhooks").json()["Webhooks"]
    assert listed == [{**webhook, "IsActive": False}]
    time.sleep(0.05)
    assert len(cin7_webhook_receiver.requests) == 6  # no seventh try


def test_at_most_five_webhooks_of_one_type(
    cin7_client: httpx.Client, cin7_webhook_receiver: WebhookReceiver
) -> None:
    for _ in range(5):
        register(cin7_client, cin7_webhook_receiver.url, "Sale/Voided")
    sixth = send(
        cin7_client, "POST", "webhooks", {"Type": "Sale/Voided", "ExternalURL": cin7_webhook_receiver.url}
    )
    assert sixth.status_code == 400
    first = cin7_client.get("webhooks").json()["Webhooks"][0]
    assert cin7_client.delete("webhooks", params={"ID": first["ID"]}).status_code == 200
    assert len(cin7_client.get("webhooks").json()["Webhooks"]) == 4


# ------------------------------------------------------------------------------------------ faults


def test_injected_error_answers_the_status_and_changes_nothing(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    cin7_sandbox.add_faults({"method": "POST", "path": "^/sale$", "error_rate": 1.0, "error_status": 500})
    body = {
        "CustomerID": cin7_demo["customers"]["Acme Holdings"],
        "Location": "Main Warehouse",
        "ExternalID": "x1",
    }
    response = send(cin7_client, "POST", "sale", body)
    assert response.status_code == 500 and response.json()[0]["ErrorCode"] == 500
    assert cin7_client.get("saleList").json()["Total"] == 0
    assert cin7_client.get("me").status_code == 200  # other endpoints untouched
    stats = cin7_sandbox.stats()
    assert stats["injected_errors"] == 1 and stats["sales"] == 0


def test_seeded_error_rate_gives_the_same_faults_on_every_run(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client
) -> None:
    def run() -> list[int]:
        cin7_sandbox.clear_faults()
        cin7_sandbox.limiter.reset()
        cin7_sandbox.add_faults(
            {"method": "GET", "path": "^/me$", "error_rate": 0.5, "error_status": 502, "seed": 42}
        )
        return [cin7_client.get("me").status_code for _ in range(20)]

    first = run()
    assert set(first) == {200, 502}
    assert run() == first


def test_latency_is_injected_per_endpoint(cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client) -> None:
    rule = cin7_sandbox.add_faults({"path": "^/me$", "latency_ms": 30})[0]
    assert cin7_client.get("me").status_code == 200
    assert cin7_client.get("saleList").status_code == 200
    described = {r["id"]: r for r in cin7_sandbox.stats()["faults"]}
    assert described[rule["id"]]["delayed"] == 1


def test_throttle_bursts_come_periodically(cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client) -> None:
    cin7_sandbox.add_faults({"path": "^/me$", "throttle_burst": {"every_n_calls": 4, "length": 2}})
    statuses = [cin7_client.get("me").status_code for _ in range(8)]
    assert statuses == [200, 200, 429, 429, 200, 200, 429, 429]
    stats = cin7_sandbox.stats()
    assert stats["throttled_by_fault"] == 4 and stats["throttled_by_limit"] == 0
    assert stats["rate_window"][cin7_sandbox.application_key]["used"] == 8  # faulted calls still count


def test_drop_after_commit_closes_the_connection_but_leaves_the_sale(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    cin7_sandbox.add_faults({"method": "POST", "path": "^/sale$", "drop_after_commit_rate": 1.0})
    body = {
        "CustomerID": cin7_demo["customers"]["Acme Holdings"],
        "Location": "Main Warehouse",
        "ExternalID": "oro:9",
    }
    with pytest.raises(httpx.TransportError):
        send(cin7_client, "POST", "sale", body)
    # The adapter's recovery path: look the sale up by ExternalID and adopt it instead of creating another.
    assert cin7_client.get("saleList", params={"ExternalID": "oro:9"}).json()["Total"] == 1
    stats = cin7_sandbox.stats()
    assert stats["sales_by_external_id"] == {"oro:9": 1} and stats["dropped_after_commit"] == 1


def test_drop_after_commit_can_hold_the_connection_past_the_client_timeout(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    cin7_sandbox.add_faults(
        {
            "method": "POST",
            "path": "^/sale$",
            "drop_after_commit_rate": 1.0,
            "drop_mode": "hold",
            "hold_seconds": 2,
        }
    )
    body = {
        "CustomerID": cin7_demo["customers"]["Acme Holdings"],
        "Location": "Main Warehouse",
        "ExternalID": "oro:10",
    }
    with pytest.raises(httpx.ReadTimeout):
        send(cin7_client, "POST", "sale", body, timeout=0.3)
    assert cin7_client.get("saleList", params={"ExternalID": "oro:10"}).json()["Total"] == 1


def test_bad_fault_rule_is_refused_by_the_control_api(cin7_sandbox: Cin7Sandbox) -> None:
    response = httpx.post(cin7_sandbox.control_url + "faults", json={"path": "(", "error_rate": 0.1})
    assert response.status_code == 400
    response = httpx.post(
        cin7_sandbox.control_url + "faults", json={"rules": [{"path": "^/sale", "error_rate": 0.2}]}
    )
    assert response.status_code == 200 and response.json()["rules"][0]["id"] >= 1
    assert httpx.delete(cin7_sandbox.control_url + "faults").json()["removed"] == 1


# ------------------------------------------------------------------------------------------ control API, CLI


def test_control_api_reports_health_stats_and_resets(
    cin7_sandbox: Cin7Sandbox, cin7_client: httpx.Client
) -> None:
    control = cin7_sandbox.control_url
    assert httpx.get(control + "health").json()["status"] == "ok"
    cin7_client.get("me")
    cin7_client.get("Me")
    stats = httpx.get(control + "stats").json()
    assert stats["calls"]["GET /me"] == 2 and stats["calls_total"] == 2
    seeded = httpx.post(control + "reset", json={"seed": "demo"}, timeout=30).json()
    assert set(seeded["seeded"]["customers"]) == {"Acme Holdings", "Northwind Wholesale"}
    assert httpx.get(control + "webhook-deliveries").json() == {"deliveries": []}
    assert httpx.post(control + "reset").json()["seeded"] == {}
    assert cin7_client.get("customer").json()["Total"] == 0


def test_state_survives_a_restart_when_a_state_file_is_given(tmp_path: Any) -> None:
    path = tmp_path / "cin7.json"
    with Cin7Sandbox(account_id="a", application_key="k", state_file=path) as first:
        response = httpx.post(first.base_url + "ref/unit", json={"Name": "Item"}, headers=first.headers())
        assert response.status_code == 200
    with Cin7Sandbox(account_id="a", application_key="k", state_file=path) as second:
        units = httpx.get(second.base_url + "ref/unit", headers=second.headers()).json()["UnitList"]
        assert [u["Name"] for u in units] == ["Item"]


def test_garbage_bodies_get_cin7_errors_and_change_nothing(
    cin7_client: httpx.Client, cin7_demo: dict
) -> None:
    not_json = cin7_client.post("sale", content=b"{not json")
    assert not_json.status_code == 500 and not_json.json()[0]["ErrorCode"] == 500  # "could not be parsed"
    not_object = send(cin7_client, "POST", "sale", [1, 2])
    assert not_object.status_code == 400 and not_object.json()[0]["ErrorCode"] == 400
    wrong_types = send(cin7_client, "POST", "sale/order", {"SaleID": "x", "Status": "SHIPPED", "Lines": "no"})
    assert wrong_types.status_code == 400
    assert cin7_client.put("saleList").status_code == 405
    assert cin7_client.get("saleList").json()["Total"] == 0


def test_cli_rejects_an_unknown_throttle_status() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--throttle-status", "418"])


def test_cli_accepts_the_documented_options() -> None:
    args = build_parser().parse_args(
        [
            "--host", "127.0.0.1", "--port", "0", "--account-id", "A", "--application-key", "K",
            "--calls-per-minute", "60", "--window-seconds", "5", "--throttle-status", "mixed",
            "--seed", "demo", "--state-file", "state.json",
        ]
    )  # fmt: skip
    assert (args.calls_per_minute, args.window_seconds, args.throttle_status, args.seed) == (
        60,
        5.0,
        "mixed",
        "demo",
    )
