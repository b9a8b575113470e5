"""OroCommerce wire models parse real-shaped JSON:API documents (reference appendix), and the client
classifies every answer once (httpx.MockTransport: pure, no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from shared.adapters.http import OutcomeUnknown, RetryPolicy, loads
from shared.adapters.orocommerce.client import OroClient, filters
from shared.adapters.orocommerce.models import (
    Document,
    OroAsyncOperation,
    OroAsyncOperationError,
    OroInventoryLevel,
    OroOrder,
    OroProduct,
    OroProductPrice,
)
from shared.errors import CredentialsRejected, NotFound, Permanent, Throttled, Transient

ORDER_DOC = """
{
  "data": {
    "type": "orders", "id": "1042",
    "attributes": {
      "identifier": "1042", "poNumber": "PO-88213", "customerNotes": "Deliver to dock 3", "shipUntil": "2026-06-15",
      "currency": "USD", "subtotalValue": "546.0000", "totalValue": "571.0000", "shippingMethod": "flat_rate_2",
      "shippingMethodType": "primary", "estimatedShippingCostAmount": "25.0000", "overriddenShippingCostAmount": null,
      "sourceEntityIdentifier": null, "totalDiscountsAmount": "0.0000", "external": false, "externalId": null,
      "createdAt": "2026-06-01T14:03:11Z", "updatedAt": "2026-06-01T14:03:12Z"
    },
    "relationships": {
      "customer": { "data": { "type": "customers", "id": "57" } },
      "customerUser": { "data": { "type": "customerusers", "id": "301" } },
      "lineItems": { "data": [ { "type": "orderlineitems", "id": "5001" }, { "type": "orderlineitems", "id": "5002" } ] },
      "discounts": { "data": [] },
      "shippingTrackings": { "data": [] },
      "internalStatus": { "data": { "type": "orderinternalstatuses", "id": "open" } },
      "status": { "data": null },
      "shippingStatus": { "data": { "type": "ordershippingstatuses", "id": "not_shipped" } },
      "source": { "data": { "type": "shoppinglists", "id": "77" } },
      "owner": { "data": { "type": "users", "id": "1" } }
    }
  },
  "included": [
    { "type": "orderlineitems", "id": "5001",
      "attributes": { "productSku": "WID-100", "productName": "Widget 100", "freeFormProduct": null, "quantity": 24,
        "productUnitCode": "each", "value": "12.5000", "currency": "USD", "priceType": 10, "shipBy": null,
        "comment": null, "checksum": "c3f2", "createdAt": "2026-06-01T14:03:11Z", "updatedAt": "2026-06-01T14:03:11Z" },
      "relationships": { "orders": { "data": [ { "type": "orders", "id": "1042" } ] },
        "product": { "data": { "type": "products", "id": "210" } }, "parentProduct": { "data": null },
        "productUnit": { "data": { "type": "productunits", "id": "each" } }, "kitItemLineItems": { "data": [] } } },
    { "type": "orderlineitems", "id": "5002",
      "attributes": { "productSku": "WID-100", "productName": "Widget 100", "freeFormProduct": null, "quantity": 2,
        "productUnitCode": "case", "value": "123.0000", "currency": "USD", "priceType": 10, "shipBy": null,
        "comment": "case of 12", "checksum": "9ab1", "createdAt": "2026-06-01T14:03:11Z", "updatedAt": "2026-06-01T14:03:11Z" },
      "relationships": { "orders": { "data": [ { "type": "orders", "id": "1042" } ] },
        "product": { "data": { "type": "products", "id": "210" } }, "parentProduct": { "data": null },
        "productUnit": { "data": { "type": "productunits", "id": "case" } }, "kitItemLineItems": { "data": [] } } },
    { "type": "customers", "id": "57",
      "attributes": { "name": "Acme Industrial Supply", "externalId": "CIN7-CUST-00457",
        "createdAt": "2025-11-03T09:12:00Z", "updatedAt": "2026-05-20T16:40:02Z" },
      "relationships": { "parent": { "data": { "type": "customers", "id": "12" } }, "children": { "data": [] },
        "group": { "data": { "type": "customergroups", "id": "3" } } } }
  ]
}
"""

PRICE_DOC = """
{ "data": { "type": "productprices", "id": "6390cd7b-7c1b-11e7-bda0-080027fb53ad-4",
    "attributes": { "quantity": 10, "value": "11.2500", "currency": "USD" },
    "relationships": { "priceList": { "data": { "type": "pricelists", "id": "4" } },
      "product": { "data": { "type": "products", "id": "210" } },
      "unit": { "data": { "type": "productunits", "id": "each" } } } } }
"""


def _doc(text: str) -> Document:
    return Document.model_validate(loads(text))


def test_order_document_maps_to_typed_order_with_lines_and_customer_when_included():
    doc = _doc(ORDER_DOC)
    order = OroOrder.from_resource(doc.single(), doc.index())
    assert order.id == "1042" and order.identifier == "1042" and order.po_number == "PO-88213"
    assert order.subtotal_value == Decimal("546.0000") and order.total_value == Decimal("571")
    assert order.updated_at == datetime(2026, 6, 1, 14, 3, 12, tzinfo=UTC)
    assert order.internal_status == "open" and order.status is None and order.shipping_status == "not_shipped"
    assert order.customer_id == "57" and order.customer_user_id == "301"
    assert (order.source_type, order.source_id) == ("shoppinglists", "77")
    assert order.parent_id is None and order.sub_order_ids == []
    assert order.lines_included
    each, case = order.line_items
    assert (each.product_sku, each.quantity, each.unit, each.value) == (
        "WID-100",
        Decimal(24),
        "each",
        Decimal("12.5"),
    )
    assert (case.unit, case.product_unit_code, case.quantity, case.value) == (
        "case",
        "case",
        Decimal(2),
        Decimal("123"),
    )
    assert isinstance(case.value, Decimal) and case.price_type == 10 and case.product_id == "210"
    assert order.customer is not None and order.customer.external_id == "CIN7-CUST-00457"
    assert order.customer.parent_id == "12"


def test_order_without_included_lines_says_so():
    raw = json.loads(ORDER_DOC)
    raw.pop("included")
    doc = Document.model_validate(raw)
    order = OroOrder.from_resource(doc.single(), doc.index())
    assert order.line_item_ids == ["5001", "5002"] and order.line_items == [] and not order.lines_included
    assert order.customer is None


def test_product_price_maps_id_tier_quantity_and_decimal_value():
    doc = _doc(PRICE_DOC)
    price = OroProductPrice.from_resource(doc.single(), doc.index())
    assert price.id.endswith("-4") and price.price_list_id == "4" and price.unit == "each"
    assert price.quantity == Decimal(10) and price.value == Decimal("11.25")


def test_product_with_unit_precisions_exposes_conversion_rates():
    doc = _doc(
        """{"data": {"type": "products", "id": "210", "attributes": {"sku": "WID-100", "status": "enabled",
             "productType": "simple", "updatedAt": "2026-05-01T00:00:00Z"},
           "relationships": {"primaryUnitPrecision": {"data": {"type": "productunitprecisions", "id": "1"}},
             "unitPrecisions": {"data": [{"type": "productunitprecisions", "id": "1"},
                                          {"type": "productunitprecisions", "id": "2"}]},
             "inventory_status": {"data": {"type": "prodinventorystatuses", "id": "in_stock"}}}},
         "included": [
           {"type": "productunitprecisions", "id": "1", "attributes": {"precision": 0, "conversionRate": 1, "sell": true},
            "relationships": {"unit": {"data": {"type": "productunits", "id": "each"}}}},
           {"type": "productunitprecisions", "id": "2", "attributes": {"precision": 0, "conversionRate": 12, "sell": true},
            "relationships": {"unit": {"data": {"type": "productunits", "id": "case"}}}}]}"""
    )
    product = OroProduct.from_resource(doc.single(), doc.index())
    assert product.sku == "WID-100" and product.primary_unit == "each"
    assert product.conversion_rate("case") == Decimal(12) and product.inventory_status == "in_stock"


def test_inventory_level_resolves_sku_and_unit_from_included():
    doc = _doc(
        """{"data": [{"type": "inventorylevels", "id": "431", "attributes": {"quantity": "17"},
            "relationships": {"product": {"data": {"type": "products", "id": "210"}},
              "productUnitPrecision": {"data": {"type": "productunitprecisions", "id": "2"}}}}],
           "included": [{"type": "products", "id": "210", "attributes": {"sku": "WID-100"}},
             {"type": "productunitprecisions", "id": "2", "attributes": {"conversionRate": "12"},
              "relationships": {"unit": {"data": {"type": "productunits", "id": "case"}}}}]}"""
    )
    level = OroInventoryLevel.from_resource(doc.resources()[0], doc.index())
    assert (level.id, level.quantity, level.product_sku, level.unit) == (
        "431",
        Decimal(17),
        "WID-100",
        "case",
    )


def test_async_operation_success_with_errors_still_has_errors():
    doc = _doc(
        """{"data": {"type": "asyncoperations", "id": "1", "attributes": {"status": "success", "progress": 1,
           "elapsedTime": 2, "entityType": "inventorylevels", "createdAt": "2026-06-01T00:00:00Z",
           "updatedAt": "2026-06-01T00:00:02Z", "summary": {"aggregateTime": 120, "readCount": 2, "writeCount": 1,
           "errorCount": 1, "createCount": 0, "updateCount": 1}}}}"""
    )
    op = OroAsyncOperation.from_resource(doc.single())
    assert op.finished and op.has_errors and op.summary.update_count == 1
    err_doc = _doc(
        """{"data": [{"type": "asyncoperationerrors", "id": "1-1-1", "attributes": {"status": 400,
          "title": "not blank constraint", "detail": "This value should not be blank.",
          "source": {"pointer": "/data/1/attributes/quantity"}}}]}"""
    )
    error = OroAsyncOperationError.from_resource(err_doc.resources()[0])
    assert error.record_index == 1 and error.status == "400"


def test_filters_use_utc_z_and_comma_lists():
    since = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert filters(updatedAt__gt=since, sku=["A", "B"], id=5) == {
        "filter[updatedAt][gt]": "2026-05-01T12:00:00Z",
        "filter[sku]": "A,B",
        "filter[id]": "5",
    }


# ----------------------------------------------------------------------------------- classification

SECRET = "s3cr3t-client-secret"  # noqa: S105 - a test value


def _token(request: httpx.Request, n: list[int], ttl: int = 3600) -> httpx.Response:
    n.append(1)
    return httpx.Response(
        200, json={"token_type": "Bearer", "expires_in": ttl, "access_token": f"tok-{len(n)}"}
    )


def _client(handler, *, attempts: int = 3) -> tuple[OroClient, list[float]]:
    slept: list[float] = []
    client = OroClient(
        "https://oro.example/",
        "client-id",
        SECRET,
        retry=RetryPolicy(attempts=attempts, base_delay=0.01),
        sleep=slept.append,
        transport=httpx.MockTransport(handler),
    )
    return client, slept


def _jsonapi(status: int, body: dict | None = None, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/vnd.api+json", **headers},
    )


ERRORS = {
    "errors": [
        {
            "status": "422",
            "title": "not blank constraint",
            "detail": "This value should not be blank.",
            "source": {"pointer": "/data/attributes/number"},
        }
    ]
}


@pytest.mark.parametrize(
    "status, body, headers, expected, text",
    [
        (
            403,
            {"errors": [{"title": "access denied exception", "detail": "No access to the entity."}]},
            {},
            Permanent,
            "ACL",
        ),
        (404, None, {}, NotFound, "404"),
        (
            400,
            {
                "errors": [
                    {
                        "title": "filter constraint",
                        "detail": "The filter is not supported.",
                        "source": {"parameter": "filter[nope]"},
                    }
                ]
            },
            {},
            Permanent,
            "filter[nope]",
        ),
        (409, None, {}, Permanent, "409"),
        (415, None, {}, Permanent, "415"),
        (422, ERRORS, {}, Permanent, "/data/attributes/number"),
        (429, None, {"Retry-After": "120"}, Throttled, "429"),
        (503, None, {}, Throttled, "503"),
        (500, None, {}, Transient, "500"),
        (502, None, {}, Transient, "502"),
    ],
)
def test_oro_errors_are_classified_once_when_the_api_answers(status, body, headers, expected, text):
    tokens: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, tokens)
        return _jsonapi(status, body, **headers)

    client, _ = _client(handler)
    with pytest.raises(expected) as caught:
        client.get("orders", "1")
    assert type(caught.value) is expected
    assert text in str(caught.value) and SECRET not in str(caught.value)


def test_throttled_with_short_retry_after_is_slept_then_succeeds():
    tokens: list[int] = []
    answers = [_jsonapi(503, None, **{"Retry-After": "2"}), _jsonapi(200, {"data": None})]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, tokens)
        assert request.headers["Accept"] == "application/vnd.api+json"
        assert request.url.path == "/admin/api/orders/1"
        return answers.pop(0)

    client, slept = _client(handler)
    client.get("orders", "1")
    assert slept == [2.0]


def test_401_is_retried_once_with_a_fresh_token_then_rejected_credentials():
    tokens: list[int] = []
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, tokens)
        seen.append(request.headers["Authorization"])
        return _jsonapi(401)

    client, slept = _client(handler)
    with pytest.raises(CredentialsRejected, match="fresh token") as caught:
        client.get("orders", "1")
    assert seen == ["Bearer tok-1", "Bearer tok-2"] and slept == []  # not retried beyond the fresh token
    assert "tok-" not in str(caught.value)


def test_token_refused_is_rejected_credentials_and_never_echoes_the_secret():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/oauth2-token"
        body = request.content.decode()
        assert "grant_type=client_credentials" in body
        return httpx.Response(401, json={"error": "invalid_client", "message": f"bad {SECRET}"})

    client, slept = _client(handler)
    with pytest.raises(CredentialsRejected, match="invalid_client") as caught:
        client.get("orders", "1")
    assert caught.value.system == "oro" and slept == []
    assert SECRET not in str(caught.value) and SECRET not in repr(client)


def test_token_request_falls_back_to_json_when_the_form_is_not_understood():
    formats: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            ctype = request.headers["Content-Type"]
            formats.append(ctype)
            if "json" not in ctype:
                return httpx.Response(400, json={"error": "invalid_request"})
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return _jsonapi(200, {"data": None})

    client, _ = _client(handler)
    client.get("orders", "1")
    client.get("orders", "1")
    assert formats == ["application/x-www-form-urlencoded", "application/json"]


def test_create_is_not_resent_when_the_answer_is_lost():
    tokens: list[int] = []
    posts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, tokens)
        posts.append(1)
        raise httpx.ReadTimeout("no answer", request=request)

    client, _ = _client(handler)
    with pytest.raises(OutcomeUnknown):
        client.create("ordershippingtrackings", {"method": "ups", "number": "1Z"})
    assert len(posts) == 1


def test_add_shipping_tracking_adopts_the_tracking_created_by_a_lost_attempt():
    tokens: list[int] = []
    posts: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, tokens)
        if request.method == "POST":
            posts.append(request.content)
            assert request.headers["Content-Type"] == "application/vnd.api+json"
            raise httpx.ReadTimeout("no answer", request=request)
        assert request.url.params["include"] == "shippingTrackings"
        return _jsonapi(
            200,
            {
                "data": {
                    "type": "orders",
                    "id": "7",
                    "relationships": {
                        "shippingTrackings": {"data": [{"type": "ordershippingtrackings", "id": "3"}]}
                    },
                },
                "included": [
                    {
                        "type": "ordershippingtrackings",
                        "id": "3",
                        "attributes": {"method": "ups", "number": "1Z999"},
                    }
                ],
            },
        )

    client, _ = _client(handler)
    tracking = client.add_shipping_tracking("7", "ups", "1Z999")
    assert tracking.id == "3" and len(posts) == 1
    sent = json.loads(posts[0])
    assert sent["data"]["relationships"]["orders"]["data"] == [{"type": "orders", "id": "7"}]


def test_connection_errors_are_retried_then_transient():
    tokens: list[int] = []
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, tokens)
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    client, slept = _client(handler, attempts=3)
    with pytest.raises(Transient):
        client.get("orders", "1")
    assert len(calls) == 3 and len(slept) == 2


def test_html_instead_of_json_is_permanent_naming_the_prefix():
    tokens: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, tokens)
        return httpx.Response(200, content=b"<html>storefront</html>", headers={"Content-Type": "text/html"})

    client, _ = _client(handler)
    with pytest.raises(Permanent, match="admin_prefix"):
        client.get("orders", "1")


def test_batch_update_sends_meta_update_and_returns_the_async_operation():
    tokens: list[int] = []
    sent: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, tokens)
        assert request.method == "PATCH" and request.url.path == "/admin/api/inventorylevels"
        sent.append(json.loads(request.content))
        return _jsonapi(
            202,
            {"data": {"type": "asyncoperations", "id": "99", "attributes": {"status": "new"}}},
            **{"Content-Location": "https://oro.example/admin/api/asyncoperations/99"},
        )

    client, _ = _client(handler)
    op_id = client.update_inventory_levels_batch([("431", Decimal("120")), ("432", Decimal("10.5"))])
    assert op_id == "99"
    assert sent[0]["data"] == [
        {"meta": {"update": True}, "type": "inventorylevels", "id": "431", "attributes": {"quantity": 120}},
        {"meta": {"update": True}, "type": "inventorylevels", "id": "432", "attributes": {"quantity": 10.5}},
    ]


def test_paging_stops_at_a_short_page():
    tokens: list[int] = []
    pages: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, tokens)
        number = int(request.url.params["page[number]"])
        size = int(request.url.params["page[size]"])
        pages.append(request.url.params["page[number]"])
        ids = range((number - 1) * size + 1, min(number * size, 7) + 1)
        return _jsonapi(
            200, {"data": [{"type": "customers", "id": str(i), "attributes": {"name": f"c{i}"}} for i in ids]}
        )

    client, _ = _client(handler)
    names = [c.name for c in client.iter_customers(page_size=3)]
    assert names == [f"c{i}" for i in range(1, 8)] and pages == ["1", "2", "3"]


def test_paging_follows_next_past_a_capped_page_and_stops_at_an_empty_one():
    # A server capping pages at 2 (Oro's max_entities) whose links still say `next` on the last, empty page.
    pages: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, [])
        number = int(request.url.params["page[number]"])
        pages.append(str(number))
        ids = range((number - 1) * 2 + 1, min(number * 2, 5) + 1)
        return _jsonapi(
            200,
            {
                "data": [{"type": "customers", "id": str(i), "attributes": {"name": f"c{i}"}} for i in ids],
                "links": {"self": "x", "next": "y"},
            },
        )

    client, _ = _client(handler)
    names = [c.name for c in client.iter_customers(page_size=10)]
    assert names == [f"c{i}" for i in range(1, 6)] and pages == ["1", "2", "3", "4"]


def test_order_addresses_buyer_and_oro_tax_map_to_the_storefront_order_with_or_without_their_includes():
    from shared.adapters.orocommerce.models import OroOrderSubtotal, Resource
    from shared.adapters.orocommerce.storefront import to_storefront_order

    raw = json.loads(ORDER_DOC)
    raw["data"]["relationships"]["shippingAddress"] = {"data": {"type": "orderaddresses", "id": "9002"}}
    raw["data"]["relationships"]["billingAddress"] = {"data": {"type": "orderaddresses", "id": "9001"}}
    raw["included"] += [
        {
            "type": "orderaddresses",
            "id": "9002",
            "attributes": {
                "street": "88 Dock Rd",
                "city": "Albany",
                "customRegion": None,
                "firstName": "Stella",
                "lastName": "Storm",
                "organization": "Store 12",
                "postalCode": "12207",
            },
            "relationships": {
                "country": {"data": {"type": "countries", "id": "US"}},
                "region": {"data": {"type": "regions", "id": "US-NY"}},
            },
        },
        {  # the country was not included: its ISO code stands in for the name
            "type": "orderaddresses",
            "id": "9001",
            "attributes": {"street": "1 Acme Plaza", "customRegion": "Canterbury", "phone": "+64 3 555 0100"},
            "relationships": {"country": {"data": {"type": "countries", "id": "NZ"}}},
        },
        {"type": "countries", "id": "US", "attributes": {"name": "United States"}},
        {
            "type": "customerusers",
            "id": "301",
            "attributes": {"email": "a@acme.example", "firstName": "Alice", "lastName": "Ackerman"},
        },
    ]
    doc = Document.model_validate(raw)
    tax_rows = [
        OroOrderSubtotal.from_resource(Resource.model_validate(r))
        for r in (
            {
                "type": "ordersubtotals",
                "id": "a",
                "attributes": {"orderSubtotalType": "subtotal", "amount": "546"},
            },
            {
                "type": "ordersubtotals",
                "id": "b",
                "attributes": {"orderSubtotalType": "tax", "amount": "54.6000"},
            },
        )
    ]
    order = to_storefront_order(OroOrder.from_resource(doc.single(), doc.index()), tax_rows)
    assert order.shipping_address is not None and order.billing_address is not None
    ship, bill = order.shipping_address, order.billing_address
    assert (ship.line1, ship.region, ship.country, ship.company, ship.contact) == (
        "88 Dock Rd",
        "NY",
        "United States",
        "Store 12",
        "Stella Storm",
    )
    assert (bill.region, bill.country, bill.contact) == ("Canterbury", "NZ", None)
    assert order.contact is not None
    assert (order.contact.name, order.contact.email, order.contact.phone) == (
        "Alice Ackerman",
        "a@acme.example",
        "+64 3 555 0100",
    )
    assert (order.customer_notes, order.ship_until, order.tax_total) == (
        "Deliver to dock 3",
        "2026-06-15",
        Decimal("54.6"),
    )
    bare = to_storefront_order(
        OroOrder.from_resource(_doc(ORDER_DOC).single(), _doc(ORDER_DOC).index()), None
    )
    assert (bare.shipping_address, bare.contact, bare.tax_total) == (None, None, None)
