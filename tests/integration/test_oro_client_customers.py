"""OroClient's customer reads against the sandbox back office over real HTTP: an account's addresses, its
buyers, and the price lists assigned to it (or to its group), highest priority first."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.oro.server import OroSandbox
from shared.adapters.orocommerce.client import OroClient
from shared.errors import Permanent
from tests.integration.test_oro_client import _client, _control, _stats


def _account(client: OroClient, name: str, group: str | None = None) -> str:
    rels: dict[str, Any] = {"group": ("customergroups", group)} if group else {}
    return str(client.create("customers", {"name": name}, rels).data.id)  # type: ignore[union-attr]


def _id(doc: Any) -> str:
    return str(doc.data.id)


def test_addresses_and_buyers_of_an_account_read_typed_over_every_page(oro_sandbox: OroSandbox) -> None:
    with _client(oro_sandbox, page_size=2) as client:
        acme = _account(client, "Acme Holdings")
        other = _account(client, "Bolt Brothers")
        base = {"street": "1 Acme Plaza", "city": "Chicago", "postalCode": "60601"}
        head = _id(
            client.create(
                "customeraddresses",
                {
                    **base,
                    "organization": "Acme Holdings",
                    "firstName": "Ann",
                    "lastName": "Acker",
                    "primary": True,
                    "types": [
                        {"addressType": "billing", "default": True},
                        {"addressType": "shipping", "default": False},
                    ],
                },
                {
                    "customer": ("customers", acme),
                    "country": ("countries", "US"),
                    "region": ("regions", "US-IL"),
                },
            )
        )
        dock = _id(
            client.create(
                "customeraddresses",
                {**base, "street": "88 Dock Rd", "organization": "Acme", "customRegion": "Lake County"},
                {"customer": ("customers", acme), "country": ("countries", "US")},
            )
        )
        third = _id(
            client.create(
                "customeraddresses",
                {**base, "organization": "Acme", "types": [{"addressType": "shipping", "default": True}]},
                {"customer": ("customers", acme), "country": ("countries", "CA")},
            )
        )
        client.create(
            "customeraddresses",
            {**base, "organization": "Bolt"},
            {"customer": ("customers", other), "country": ("countries", "US")},
        )
        for email, enabled in (("ann@acme.example", True), ("old@acme.example", False)):
            client.create(
                "customerusers",
                {"email": email, "firstName": "Ann", "lastName": "Acker", "enabled": enabled},
                {"customer": ("customers", acme), "userRoles": [("customeruserroles", "2")]},
            )
        client.create(
            "customerusers",
            {"email": "bo@bolt.example", "firstName": "Bo", "lastName": "Bolt"},
            {"customer": ("customers", other), "userRoles": [("customeruserroles", "2")]},
        )

        addresses = client.customer_addresses(acme)
        users = client.customer_users(acme)

    assert [a.id for a in addresses] == [head, dock, third]  # three addresses, pages of two
    first = addresses[0]
    assert (first.customer_id, first.country_id, first.region, first.primary) == (acme, "US", "IL", True)
    assert first.types == (("billing", True), ("shipping", False))
    assert (
        first.is_default_for("billing") and first.is_type("shipping") and not first.is_default_for("shipping")
    )
    assert first.person == "Ann Acker" and first.organization == "Acme Holdings"
    assert (addresses[1].types, addresses[1].region, addresses[1].primary) == ((), "Lake County", False)
    assert addresses[2].country_id == "CA" and addresses[2].is_default_for("shipping")
    assert [(u.email, u.enabled, u.customer_id) for u in users] == [
        ("ann@acme.example", True, acme),
        ("old@acme.example", False, acme),
    ]


def test_price_lists_come_highest_priority_first_and_fall_back_to_the_group(oro_sandbox: OroSandbox) -> None:
    with _client(oro_sandbox) as client:
        group = _id(client.create("customergroups", {"name": "Wholesale"}))
        acme = _account(client, "Acme Holdings", group)
        bolt = _account(client, "Bolt Brothers", group)
        lists = {
            name: _id(client.create("pricelists", {"name": name, "priceListCurrencies": ["USD"]}))
            for name in ("Trade", "Promo", "Clearance", "Wholesale", "Group promo")
        }

        def assign(resource: str, owner: tuple[str, str], name: str, order: int) -> None:
            owner_rel = "customer" if resource == "pricelisttocustomers" else "customerGroup"
            client.create(
                resource, {"sortOrder": order}, {owner_rel: owner, "priceList": ("pricelists", lists[name])}
            )

        # created out of priority order: the lowest sortOrder is Oro's highest priority
        assign("pricelisttocustomers", ("customers", acme), "Trade", 20)
        assign("pricelisttocustomers", ("customers", acme), "Promo", 5)
        assign("pricelisttocustomers", ("customers", acme), "Clearance", 20)  # a tie: assignment order
        assign("pricelisttocustomergroups", ("customergroups", group), "Wholesale", 2)
        assign("pricelisttocustomergroups", ("customergroups", group), "Group promo", 1)

        _control(oro_sandbox, "DELETE", "stats")
        of_acme = client.customer_price_lists(acme, group)
        of_bolt = client.customer_price_lists(bolt, group)
        without_group = client.customer_price_lists(bolt, None)
        by_endpoint = _stats(oro_sandbox)["by_endpoint"]

    assert of_acme == [lists["Promo"], lists["Trade"], lists["Clearance"]]
    assert of_bolt == [lists["Group promo"], lists["Wholesale"]]
    assert without_group == []
    assert by_endpoint["GET pricelisttocustomers"] == 3  # one each
    assert by_endpoint["GET pricelisttocustomergroups"] == 1  # only for the account without its own lists


@pytest.mark.parametrize("bad", ["1,2", "1/../2", "", "007"])
def test_an_id_that_is_not_an_oro_id_is_never_put_in_a_filter(oro_sandbox: OroSandbox, bad: str) -> None:
    with _client(oro_sandbox) as client:
        _control(oro_sandbox, "DELETE", "stats")
        for read in (client.customer_addresses, client.customer_users):
            with pytest.raises(Permanent, match="not an id"):
                read(bad)
        with pytest.raises(Permanent, match="not an id"):
            client.customer_price_lists("1", bad)
        with pytest.raises(Permanent, match="not an id"):
            client.customer_price_lists(bad, None)
    assert [k for k in _stats(oro_sandbox)["by_endpoint"] if k.startswith("GET ")] == []
