"""Bad customer documents from Oro (addresses, buyers, price list assignments) are refused with the client's
typed error naming the operation and the field (httpx.MockTransport: the sandbox never serves such documents)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.adapters.orocommerce.client import OroClient
from shared.errors import Permanent
from tests.unit.test_oro_mappers import _client, _jsonapi, _token

GOOD_ADDRESS: dict[str, Any] = {
    "type": "customeraddresses",
    "id": "7",
    "attributes": {
        "street": "1 Acme Plaza",
        "city": "Chicago",
        "postalCode": "60601",
        "organization": "Acme",
        "primary": True,
        "types": [{"addressType": "billing", "default": True}],
    },
    "relationships": {
        "customer": {"data": {"type": "customers", "id": "57"}},
        "country": {"data": {"type": "countries", "id": "US"}},
    },
}
GOOD_ASSIGNMENT: dict[str, Any] = {
    "type": "pricelisttocustomers",
    "id": "3",
    "attributes": {"sortOrder": 10, "mergeAllowed": False},
    "relationships": {"priceList": {"data": {"type": "pricelists", "id": "2"}}},
}


def _serving(resource: dict[str, Any]) -> OroClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2-token":
            return _token(request, [])
        if request.url.path.endswith("/pricelisttocustomergroups"):
            return _jsonapi(200, {"data": []})
        return _jsonapi(200, {"data": [resource]})

    client, _ = _client(handler)
    return client


def _with(
    base: dict[str, Any], *, attributes: dict[str, Any] | None = None, drop_rel: str | None = None
) -> Any:
    out = {**base, "attributes": {**base["attributes"], **(attributes or {})}}
    out["relationships"] = {k: v for k, v in base["relationships"].items() if k != drop_rel}
    return out


def test_good_documents_read_typed() -> None:
    [address] = _serving(GOOD_ADDRESS).customer_addresses("57")
    assert (address.customer_id, address.country_id, address.types) == ("57", "US", (("billing", True),))
    assert _serving(GOOD_ASSIGNMENT).customer_price_lists("57", None) == ["2"]


@pytest.mark.parametrize(
    ("document", "read", "where"),
    [
        (
            _with(GOOD_ADDRESS, attributes={"types": [{"addressType": "home", "default": True}]}),
            "addresses",
            "types.0.0",
        ),
        (_with(GOOD_ADDRESS, attributes={"types": [{"addressType": "billing"}]}), "addresses", "types.0.1"),
        (
            _with(GOOD_ADDRESS, attributes={"types": [{"addressType": "billing", "default": "yes"}]}),
            "addresses",
            "types.0.1",
        ),
        (_with(GOOD_ADDRESS, attributes={"types": ["billing"]}), "addresses", "types.0"),
        (_with(GOOD_ADDRESS, attributes={"types": {"billing": True}}), "addresses", "types"),
        (_with(GOOD_ADDRESS, attributes={"primary": "true"}), "addresses", "primary"),
        (_with(GOOD_ADDRESS, drop_rel="country"), "addresses", "country_id"),
        (_with(GOOD_ADDRESS, drop_rel="customer"), "addresses", "customer_id"),
        (_with(GOOD_ASSIGNMENT, attributes={"sortOrder": None}), "price lists", "sort_order"),
        (_with(GOOD_ASSIGNMENT, attributes={"sortOrder": "first"}), "price lists", "sort_order"),
        (_with(GOOD_ASSIGNMENT, drop_rel="priceList"), "price lists", "price_list_id"),
    ],
)
def test_a_bad_document_is_permanent_and_names_the_field(document: Any, read: str, where: str) -> None:
    client = _serving(document)
    calls: dict[str, Callable[[], Any]] = {
        "addresses": lambda: client.customer_addresses("57"),
        "price lists": lambda: client.customer_price_lists("57", "4"),
    }
    with pytest.raises(Permanent, match=rf"unexpected document \({where}:"):
        calls[read]()


def test_a_buyer_with_a_non_boolean_enabled_flag_is_named() -> None:
    user = {"type": "customerusers", "id": "9", "attributes": {"email": "a@b.example", "enabled": "yes"}}
    with pytest.raises(Permanent, match=r"GET /customerusers: unexpected document \(enabled:"):
        _serving(user).customer_users("57")
