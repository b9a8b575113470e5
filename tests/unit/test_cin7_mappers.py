"""Cin7 Core wire models parse real-shaped documents (reference §9 examples), and the client classifies
every answer once (httpx.MockTransport: pure, no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from shared.adapters.cin7.client import Cin7Client, cin7_time
from shared.adapters.cin7.models import (
    Cin7Availability,
    Cin7Fulfilment,
    Cin7Product,
    Cin7Sale,
    Cin7SaleListRow,
    Cin7Webhook,
    parse_cin7_time,
)
from shared.adapters.http import OutcomeUnknown, RetryPolicy, loads
from shared.errors import CredentialsRejected, NotFound, Permanent, Throttled, Transient

AVAILABILITY = """
{ "Total": 1842, "Page": 1, "ProductAvailabilityList": [
    { "ID": "4aadd8f6-4d3d-46ca-acbb-1a9a662f9bc1", "SKU": "WIDGET-BLU-CASE12", "Name": "Blue Widget (Case of 12)",
      "Barcode": "9300000000012", "Location": "Main Warehouse", "Bin": null, "Batch": null, "ExpiryDate": null,
      "OnHand": 0, "Allocated": 0, "Available": 0, "OnOrder": 0, "StockOnHand": 0, "InTransit": 0, "NextDeliveryDate": null },
    { "ID": "1d0c6a55-2e8b-4b7f-9a3e-0f4c2d1b6e77", "SKU": "WIDGET-BLU", "Name": "Blue Widget", "Barcode": "9300000000005",
      "Location": "Main Warehouse", "Bin": "A-01-03", "Batch": null, "ExpiryDate": null,
      "OnHand": 640, "Allocated": 36, "Available": 604, "OnOrder": 1200, "StockOnHand": 3840.0, "InTransit": 0,
      "NextDeliveryDate": "2026-07-21T00:00:00" } ] }
"""

SALE = """
{ "ID": "c3e1f0a2-7b54-4d0e-8a1c-55e2b9d7a901", "Customer": "Acme Retail Pty Ltd",
  "CustomerID": "8f2c1b7e-3d4a-4c1e-9b6f-2a7d5e9c0f11", "Status": "ORDERED", "ExternalID": "oro:order:100234",
  "Location": "Main Warehouse", "PriceTier": "Wholesale", "CustomerReference": "PO-4471", "CurrencyRate": 1,
  "LastModifiedOn": "2026-07-10T01:02:03.16Z", "CombinedShippingStatus": "PARTIALLY SHIPPED",
  "CombinedTrackingNumbers": "ST123456789AU, ST000000001AU",
  "Order": { "SaleOrderNumber": "SO-01877", "Status": "AUTHORISED", "Memo": "OroCommerce order 100234",
    "Lines": [
      { "ProductID": "4aadd8f6-4d3d-46ca-acbb-1a9a662f9bc1", "SKU": "WIDGET-BLU-CASE12", "Name": "Blue Widget (Case of 12)",
        "Quantity": 3, "Price": 96.0, "Discount": 5, "Tax": 27.36, "TaxRule": "GST on Income", "Total": 300.96 },
      { "ProductID": "9b7e2c11-0f3a-4e55-a2d4-7c1e6f0b3d22", "SKU": "GADGET-RED", "Name": "Red Gadget",
        "Quantity": 10, "Price": 12.5, "Discount": 0, "Tax": 12.5, "TaxRule": "GST on Income", "Total": 137.5 } ],
    "AdditionalCharges": [ { "Description": "Freight", "Quantity": 1, "Price": 25.0, "Discount": 0, "Tax": 2.5,
      "TaxRule": "GST on Income", "Total": 27.5 } ],
    "TotalBeforeTax": 433.46, "Tax": 42.36, "Total": 465.96 },
  "Fulfilments": [ { "TaskID": "f1", "FulfillmentNumber": 1, "FulFilmentStatus": "FULFILLED",
    "Pick": { "Status": "AUTHORISED", "Lines": [] }, "Pack": { "Status": "AUTHORISED", "Lines": [] },
    "Ship": { "Status": "AUTHORISED", "RequireBy": null, "ShippingNotes": "",
      "Lines": [ { "ID": "s1", "ShipmentDate": "2026-07-11T00:00:00", "Carrier": "StarTrack", "Box": "1",
                   "TrackingNumber": "ST123456789AU", "TrackingURL": "", "IsShipped": true } ] } } ] }
"""


def test_sale_parses_money_as_decimal_and_times_as_utc():
    sale = Cin7Sale.model_validate(loads(SALE))
    assert sale.ExternalID == "oro:order:100234" and sale.has_lines
    assert sale.LastModifiedOn == datetime(2026, 7, 10, 1, 2, 3, 160000, tzinfo=UTC)
    line = sale.Order.Lines[0]
    assert line.Price == Decimal("96.0") and line.Tax == Decimal("27.36") and isinstance(line.Total, Decimal)
    assert sale.Order.AdditionalCharges[0].Description == "Freight"
    assert sale.Order.Total == Decimal("465.96")
    assert sale.tracking_numbers == ["ST123456789AU", "ST000000001AU"]
    fulfilment = sale.Fulfilments[0]
    assert fulfilment.shipped and [t.TrackingNumber for t in fulfilment.tracking] == ["ST123456789AU"]
    assert fulfilment.tracking[0].ShipmentDate == datetime(2026, 7, 11, tzinfo=UTC)


def test_availability_rows_parse_and_keep_stock_on_hand_apart():
    body = loads(AVAILABILITY)
    rows = [Cin7Availability.model_validate(r) for r in body["ProductAvailabilityList"]]
    assert rows[1].Available == Decimal(604) and rows[1].StockOnHand == Decimal("3840.0")
    assert rows[1].NextDeliveryDate == datetime(2026, 7, 21, tzinfo=UTC) and rows[0].Bin is None


def test_product_with_bom_and_named_tiers():
    product = Cin7Product.model_validate(
        loads(
            """{"ID": "p-case", "SKU": "WIDGET-BLU-CASE12", "Name": "Blue Widget (Case of 12)", "UOM": "Case",
            "PriceTier1": 96.0, "PriceTier2": 90.5, "PriceTiers": {"Tier 1": 96.0, "Wholesale": 90.5},
            "BillOfMaterial": true, "AutoAssembly": true, "AutoDisassembly": true,
            "BillOfMaterialsProducts": [{"ComponentProductID": "p-each", "ProductCode": "WIDGET-BLU",
              "Name": "Blue Widget", "Quantity": 12, "WastagePercent": 0, "WastageQuantity": 0, "CostPercentage": 100}],
            "LastModifiedOn": "2026-01-01T00:00:00Z", "Suppliers": []}"""
        )
    )
    assert product.price_for_tier("Wholesale") == Decimal("90.5") and product.tier_price(1) == Decimal("96.0")
    assert product.BillOfMaterialsProducts[0].Quantity == Decimal(12)
    assert product.model_extra == {"Suppliers": []}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2017-09-29T03:03:13.913Z", datetime(2017, 9, 29, 3, 3, 13, 913000, tzinfo=UTC)),
        ("2017-09-29T03:03:13", datetime(2017, 9, 29, 3, 3, 13, tzinfo=UTC)),
        ("2023-08-01T00:00:00.0000000", datetime(2023, 8, 1, tzinfo=UTC)),
        ("2023-08-01T02:00:00+02:00", datetime(2023, 8, 1, tzinfo=UTC)),
        ("12/06/2018", datetime(2018, 6, 12, tzinfo=UTC)),
        ("", None),
    ],
)
def test_cin7_times_parse_leniently_to_utc(text, expected):
    assert parse_cin7_time(text) == expected


def test_date_parameters_are_naive_utc_without_z():
    moment = datetime(2026, 7, 10, 12, 0, tzinfo=timezone(timedelta(hours=10)))
    assert cin7_time(moment) == "2026-07-10T02:00:00"
    with pytest.raises(ValueError):
        cin7_time(datetime(2026, 7, 10))


def test_webhook_secrets_stay_out_of_reprs_but_reach_the_wire():
    hook = Cin7Webhook(
        Type="Sale/ShipmentAuthorised",
        ExternalURL="https://x.example/h",
        ExternalAuthorizationType="bearerauth",
        ExternalBearerToken="tok-very-secret",
    )
    assert "tok-very-secret" not in repr(hook) and "tok-very-secret" not in str(hook.model_dump())
    assert hook.to_wire()["ExternalBearerToken"] == "tok-very-secret"


def test_sale_list_row_parses():
    row = Cin7SaleListRow.model_validate(
        {
            "SaleID": "s",
            "ExternalID": "oro:order:1",
            "Updated": "2026-01-01T00:00:00Z",
            "InvoiceAmount": 10.5,
            "Status": "ORDERED",
        }
    )
    assert row.InvoiceAmount == Decimal("10.5") and row.Updated.tzinfo is UTC


def test_fulfilment_without_ship_is_not_shipped():
    assert not Cin7Fulfilment.model_validate({"TaskID": "t"}).shipped


# ----------------------------------------------------------------------------------- classification

KEY = "app-key-0123456789"  # a test value


def _client(handler, *, attempts: int = 3, budget=None) -> tuple[Cin7Client, list[float]]:
    slept: list[float] = []
    client = Cin7Client(
        "acct-1",
        KEY,
        base_url="https://cin7.example/ExternalApi/v2/",
        retry=RetryPolicy(attempts=attempts, base_delay=0.01),
        sleep=slept.append,
        transport=httpx.MockTransport(handler),
        budget=budget,
    )
    return client, slept


def _json(status: int, body, **headers) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )


@pytest.mark.parametrize(
    "response, expected, text",
    [
        (
            _json(429, [{"ErrorCode": 429, "Exception": "You reached 60 calls per minute API limit"}]),
            Throttled,
            "API limit",
        ),
        (
            _json(
                503, {"ErrorCode": 503, "Exception": "You have reached 60 calls per 60 seconds API limit."}
            ),
            Throttled,
            "API limit",
        ),
        (httpx.Response(503, content=b"Service Unavailable"), Transient, "503 service unavailable"),
        (
            _json(503, {"ErrorCode": 503, "Exception": "The service is temporarily unavailable."}),
            Transient,
            "not throttling): The service is temporarily unavailable.",
        ),
        (
            httpx.Response(
                503, content=b"<html><body>Maintenance</body></html>", headers={"Content-Type": "text/html"}
            ),
            Transient,
            "503",
        ),
        (
            httpx.Response(503, content=b"You have reached 60 calls per 60 seconds API limit."),
            Throttled,
            "503 rate limited",
        ),
        (
            _json(
                500, [{"ErrorCode": 500, "Exception": "You have reached 60 calls per 60 seconds API limit."}]
            ),
            Throttled,
            "500",
        ),
        (
            _json(400, [{"ErrorCode": 400, "Exception": "Required attribute Location is not provided."}]),
            Permanent,
            "Location",
        ),
        (_json(400, {"ErrorCode": 400, "Exception": "Sale with ID 'x' not found."}), NotFound, "not found"),
        (_json(405, [{"ErrorCode": 405, "Exception": "Method not allowed"}]), Permanent, "405"),
        (
            _json(403, [{"ErrorCode": 403, "Exception": f"Invalid key {KEY}"}]),
            CredentialsRejected,
            "authentication failed",
        ),
        (httpx.Response(404, content=b""), NotFound, "404"),
        (_json(500, [{"ErrorCode": 500, "Exception": "Unexpected"}]), Transient, "Unexpected"),
        (httpx.Response(502, content=b"bad gateway"), Transient, "502"),
        (
            httpx.Response(
                200, content=b"<!DOCTYPE html><html>Login</html>", headers={"Content-Type": "text/html"}
            ),
            Permanent,
            "not JSON",
        ),
        (
            _json(200, {"Errors": [{"ErrorCode": 400, "Exception": "Price is invalid"}]}),
            Permanent,
            "Price is invalid",
        ),
    ],
)
def test_cin7_answers_are_classified_once(response, expected, text):
    client, _ = _client(lambda request: response, attempts=1)
    with pytest.raises(expected) as caught:
        client.request("GET", "saleList")
    assert type(caught.value) is expected
    assert text in str(caught.value) and KEY not in str(caught.value) and "acct-1" not in str(caught.value)


def test_auth_headers_are_sent_and_secrets_not_in_repr():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        assert request.url.path == "/ExternalApi/v2/ref/priceTier"
        return _json(200, {"PriceTiers": [{"Code": 1, "Name": "Tier 1"}]})

    client, _ = _client(handler)
    assert client.price_tiers()[0].Name == "Tier 1"
    assert seen["api-auth-accountid"] == "acct-1" and seen["api-auth-applicationkey"] == KEY
    assert KEY not in repr(client) and KEY not in repr(client.__dict__)


def test_paging_stops_when_page_times_limit_reaches_total():
    pages = []

    def handler(request: httpx.Request) -> httpx.Response:
        page, limit = int(request.url.params["Page"]), int(request.url.params["Limit"])
        pages.append(page)
        rows = [{"ID": f"c{i}", "Name": f"C{i}"} for i in range((page - 1) * limit, min(page * limit, 7))]
        return _json(200, {"Total": 7, "Page": page, "CustomerList": rows})

    client, _ = _client(handler)
    assert len(list(client.iter_customers(limit=3))) == 7 and pages == [1, 2, 3]


class _Budget:
    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.penalties = 0

    def acquire(self, flow: str) -> None:
        self.acquired.append(flow)

    def penalise(self) -> None:
        self.penalties += 1


def test_budget_is_taken_before_every_request_and_penalised_on_throttle():
    answers = [
        _json(503, {"ErrorCode": 503, "Exception": "API limit"}),
        _json(200, {"Total": 0, "SaleList": []}),
    ]
    budget = _Budget()
    client, slept = _client(lambda request: answers.pop(0), budget=budget)
    assert client.find_sales_by_external_id("oro:order:1") == []
    assert budget.acquired == ["orders", "orders"] and budget.penalties == 1 and len(slept) == 1
    assert client.calls_by_flow == {"orders": 2}


def test_a_503_without_the_api_limit_message_is_retried_without_penalising_the_budget():
    answers = [
        httpx.Response(503, content=b"Service Unavailable"),
        _json(200, {"Total": 0, "SaleList": []}),
    ]
    budget = _Budget()
    client, slept = _client(lambda request: answers.pop(0), budget=budget)
    assert client.find_sales_by_external_id("oro:order:1") == []
    assert budget.acquired == ["orders", "orders"] and budget.penalties == 0 and len(slept) == 1


def test_budget_refusal_goes_up_without_a_request_or_a_retry():
    class Empty(_Budget):
        def acquire(self, flow: str) -> None:
            raise Throttled("no token", system="budget", retry_after_seconds=9)

    requests = []
    client, slept = _client(lambda request: requests.append(1) or _json(200, {}), budget=Empty())
    with pytest.raises(Throttled) as caught:
        client.request("GET", "me")
    assert caught.value.retry_after_seconds == 9 and requests == [] and slept == [] and client.calls == 0


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_create_sale_is_never_resent_when_the_outcome_is_unknown(failure):
    posts = []

    def handler(request: httpx.Request) -> httpx.Response:
        posts.append(json.loads(request.content))
        raise failure("lost", request=request)

    client, _ = _client(handler)
    with pytest.raises(OutcomeUnknown) as caught:
        client.create_sale({"CustomerID": "c", "Location": "Main", "ExternalID": "oro:order:1"})
    assert caught.value.outcome_unknown and len(posts) == 1


def test_create_sale_500_is_outcome_unknown_but_throttle_is_retried():
    answers = [
        _json(429, [{"ErrorCode": 429, "Exception": "API limit"}]),
        _json(500, [{"ErrorCode": 500, "Exception": "boom"}]),
    ]
    client, _ = _client(lambda request: answers.pop(0))
    with pytest.raises(OutcomeUnknown):
        client.create_sale({"CustomerID": "c"})
    assert answers == [] and client.calls == 2


def test_create_sale_plain_503_is_outcome_unknown_not_resent_but_an_api_limit_503_is_retried():
    answers = [
        _json(503, {"ErrorCode": 503, "Exception": "You have reached 60 calls per 60 seconds API limit."}),
        _json(503, {"message": "Service Unavailable"}),
    ]
    client, _ = _client(lambda request: answers.pop(0))
    with pytest.raises(OutcomeUnknown):
        client.create_sale({"CustomerID": "c"})
    assert answers == [] and client.calls == 2  # the throttle retried, the outage not re-sent


def test_create_sale_order_sends_exact_numbers_and_status():
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return _json(
            200, {"SaleID": "s1", "Status": "AUTHORISED", "Lines": json.loads(request.content)["Lines"]}
        )

    client, _ = _client(handler)
    order = client.create_sale_order(
        "s1",
        [
            {
                "SKU": "A",
                "Name": "A",
                "Quantity": Decimal("24"),
                "Price": Decimal("10.2500"),
                "Tax": Decimal("0"),
                "TaxRule": "Tax Exempt",
                "Total": Decimal("246.0000"),
            }
        ],
        "AUTHORISED",
    )
    assert b'"Quantity":24,"Price":10.25' in sent[0] and b'"Total":246' in sent[0]
    assert order.Lines[0].Price == Decimal("10.25")
    with pytest.raises(Permanent, match="decimal places"):
        client.create_sale_order("s1", [{"SKU": "A", "Quantity": 1, "Price": Decimal("0.12345")}], "DRAFT")


def test_find_sales_by_external_id_matches_exactly_client_side():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["ExternalID"] == "oro:order:1"
        return _json(
            200,
            {
                "Total": 2,
                "Page": 1,
                "SaleList": [
                    {"SaleID": "a", "ExternalID": "oro:order:1"},
                    {"SaleID": "b", "ExternalID": "oro:order:10"},
                ],
            },
        )

    client, _ = _client(handler)
    assert [r.SaleID for r in client.find_sales_by_external_id("oro:order:1")] == ["a"]


def test_get_product_by_sku_matches_exactly_and_raises_not_found():
    def handler(request: httpx.Request) -> httpx.Response:
        return _json(
            200,
            {
                "Total": 2,
                "Page": 1,
                "Products": [{"ID": "1", "SKU": "WID-100-CASE"}, {"ID": "2", "SKU": "WID-100"}],
            },
        )

    client, _ = _client(handler)
    assert client.get_product_by_sku("WID-100").ID == "2"
    with pytest.raises(NotFound):
        client.get_product_by_sku("WID")


def test_void_sale_is_idempotent_when_already_voided():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return _json(400, [{"ErrorCode": 400, "Exception": "Sale is already voided."}])
        return _json(200, {"ID": "s1", "Status": "VOIDED"})

    client, _ = _client(handler)
    client.void_sale("s1")


def test_iter_sales_updated_since_sends_naive_utc():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["UpdatedSince"] == "2026-07-01T00:00:00"
        assert "UpdatedUntil" not in request.url.params
        return _json(200, {"Total": 0, "Page": 1, "SaleList": []})

    client, _ = _client(handler)
    assert list(client.iter_sales_updated_since(datetime(2026, 7, 1, tzinfo=UTC))) == []


def test_for_flow_shares_counters():
    client, _ = _client(lambda request: _json(200, {"PriceTiers": []}))
    client.price_tiers()
    client.for_flow("stock").price_tiers()
    assert client.calls_by_flow == {"orders": 1, "stock": 1} and client.calls == 2
