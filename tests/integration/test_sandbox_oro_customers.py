"""The sandbox OroCommerce back office, customer side, over real HTTP: customer addresses, price lists assigned
to customers and groups, and the customer webhooks (reference §5, §7, §9; CP/OC api.yml)."""

from __future__ import annotations

import json
from typing import Any

from tests.fixtures.oro_sandbox import OroApi, WebhookReceiver
from tests.integration.test_sandbox_oro import rel, subscribe


def address(api: OroApi, customer_id: str, **attributes: Any) -> dict[str, Any]:
    attrs = {"street": "1 Acme Plaza", "city": "Chicago", "postalCode": "60601", "organization": "Acme"}
    attrs.update(attributes)
    relationships = {"customer": rel("customers", customer_id), "country": rel("countries", "US")}
    return dict(api.create("customeraddresses", attrs, relationships)["data"])


def errors(response: Any) -> list[tuple[str, str, str]]:
    return [(e["title"], e["detail"], e["source"]["pointer"]) for e in response.json()["errors"]]


def test_an_address_belongs_to_its_customer_and_shows_in_its_addresses(oro_api: OroApi) -> None:
    acme = oro_api.create("customers", {"name": "Acme Holdings"})["data"]
    bolt = oro_api.create("customers", {"name": "Bolt Brothers"})["data"]
    billing = address(
        oro_api,
        acme["id"],
        label="Head office",
        firstName="Ann",
        lastName="Acker",
        phone="+1 312 555 0100",
        primary=True,
        types=[{"addressType": "billing", "default": True}, {"addressType": "shipping", "default": False}],
    )
    assert billing["attributes"]["types"] == [
        {"addressType": "billing", "default": True},
        {"addressType": "shipping", "default": False},
    ]
    assert billing["relationships"]["customer"]["data"] == rel("customers", acme["id"])
    dock = oro_api.create(
        "customeraddresses",
        {
            "street": "88 Dock Rd",
            "city": "Gary",
            "postalCode": "46402",
            "organization": "Acme",
            "customRegion": "Lake County",
            "types": [{"addressType": "shipping", "default": True}],
        },
        {
            "customer": rel("customers", acme["id"]),
            "country": rel("countries", "US"),
            "region": rel("regions", "US-IN"),
        },
    )["data"]
    address(oro_api, bolt["id"])

    doc = oro_api.http.get(f"/customers/{acme['id']}", params={"include": "addresses"}).json()
    assert doc["data"]["relationships"]["addresses"]["data"] == [
        rel("customeraddresses", billing["id"]),
        rel("customeraddresses", dock["id"]),
    ]
    assert {i["id"] for i in doc["included"]} == {billing["id"], dock["id"]}
    listed = oro_api.http.get("/customeraddresses", params={"filter[customer]": acme["id"]}).json()["data"]
    assert [a["id"] for a in listed] == [billing["id"], dock["id"]]
    assert listed[1]["relationships"]["region"]["data"] == rel("regions", "US-IN")
    shipping = oro_api.http.get(
        "/customeraddresses", params={"filter[customer]": acme["id"], "filter[addressType]": "billing"}
    ).json()["data"]
    assert [a["id"] for a in shipping] == [billing["id"]]
    assert oro_api.http.get("/customeraddresses", params={"filter[types]": "billing"}).status_code == 400

    # the customer of an address is not changed by an update (CP api.yml: customer `mapped: false` on update)
    r = oro_api.http.patch(
        f"/customeraddresses/{dock['id']}",
        json={
            "data": {
                "type": "customeraddresses",
                "id": dock["id"],
                "attributes": {"primary": True},
                "relationships": {"customer": {"data": rel("customers", bolt["id"])}},
            }
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["relationships"]["customer"]["data"] == rel("customers", acme["id"])
    # one primary address per customer
    got = oro_api.http.get(f"/customeraddresses/{billing['id']}").json()["data"]
    assert got["attributes"]["primary"] is False

    assert oro_api.http.delete(f"/customers/{bolt['id']}").status_code == 204
    assert len(oro_api.http.get("/customeraddresses").json()["data"]) == 2  # deleted with its customer


def test_address_documents_are_validated_and_errors_point_at_the_field(oro_api: OroApi) -> None:
    acme = oro_api.create("customers", {"name": "Acme Holdings"})["data"]

    def post(attributes: dict[str, Any], relationships: dict[str, Any] | None = None) -> Any:
        attrs = {"street": "1 Acme Plaza", "city": "Chicago", "postalCode": "60601", **attributes}
        rels = relationships or {"customer": rel("customers", acme["id"]), "country": rel("countries", "US")}
        return oro_api.http.post(
            "/customeraddresses",
            json={
                "data": {
                    "type": "customeraddresses",
                    "attributes": attrs,
                    "relationships": {k: {"data": v} for k, v in rels.items()},
                }
            },
        )

    r = post({"firstName": "Ann"})
    assert r.status_code == 400
    assert [(t, p) for t, _, p in errors(r)] == [
        ("name or organization constraint", "/data/attributes/organization"),
        ("name or organization constraint", "/data/attributes/firstName"),
    ]
    r = post(
        {
            "organization": "Acme",
            "types": [{"addressType": "shipping", "default": True}, "test", {"addressType": "home"}],
        }
    )
    assert errors(r) == [
        ("form constraint", "This value is not valid.", "/data/attributes/types/1"),
        ("form constraint", "This value is mandatory.", "/data/attributes/types/2/default"),
        ("form constraint", "This value is not valid.", "/data/attributes/types/2/addressType"),
    ]
    r = post({"organization": "Acme"}, {"country": rel("countries", "US")})
    assert [p for *_, p in errors(r)] == ["/data/relationships/customer/data"]
    r = post({"organization": "Acme"}, {"customer": rel("customers", acme["id"])})
    assert [p for *_, p in errors(r)] == ["/data/relationships/country/data"]
    assert oro_api.http.get("/customeraddresses").json()["data"] == []


def test_price_lists_are_assigned_to_customers_and_groups_and_listed_by_filter(oro_api: OroApi) -> None:
    group = oro_api.create("customergroups", {"name": "Wholesale"})["data"]
    acme = oro_api.create(
        "customers", {"name": "Acme Holdings"}, {"group": rel("customergroups", group["id"])}
    )["data"]
    bolt = oro_api.create("customers", {"name": "Bolt Brothers"})["data"]
    lists = [
        oro_api.create("pricelists", {"name": name, "priceListCurrencies": ["USD"]})["data"]
        for name in ("Trade", "Promo", "Wholesale")
    ]

    def assign(type_: str, owner: str, owner_ref: dict[str, str], price_list: str, order: int) -> Any:
        return oro_api.create(
            type_,
            {"sortOrder": order},
            {owner: owner_ref, "priceList": rel("pricelists", price_list)},
        )["data"]

    trade = assign("pricelisttocustomers", "customer", rel("customers", acme["id"]), lists[0]["id"], 20)
    promo = assign("pricelisttocustomers", "customer", rel("customers", acme["id"]), lists[1]["id"], 10)
    assign("pricelisttocustomers", "customer", rel("customers", bolt["id"]), lists[0]["id"], 1)
    wholesale = assign(
        "pricelisttocustomergroups", "customerGroup", rel("customergroups", group["id"]), lists[2]["id"], 5
    )
    assert trade["attributes"] == {"sortOrder": 20, "mergeAllowed": True}
    assert trade["relationships"]["website"]["data"] == rel("websites", "1")

    of_acme = oro_api.http.get("/pricelisttocustomers", params={"filter[customer]": acme["id"]}).json()[
        "data"
    ]
    assert [a["id"] for a in of_acme] == [trade["id"], promo["id"]]
    of_trade = oro_api.http.get("/pricelisttocustomers", params={"filter[priceList]": lists[0]["id"]}).json()
    assert len(of_trade["data"]) == 2
    of_group = oro_api.http.get(
        "/pricelisttocustomergroups", params={"filter[customerGroup]": group["id"]}
    ).json()["data"]
    assert [a["id"] for a in of_group] == [wholesale["id"]]

    # (priceList, website, customer) is unique; sortOrder is required and an integer
    again = oro_api.http.post(
        "/pricelisttocustomers",
        json={
            "data": {
                "type": "pricelisttocustomers",
                "attributes": {"sortOrder": 30},
                "relationships": {
                    "customer": {"data": rel("customers", acme["id"])},
                    "priceList": {"data": rel("pricelists", lists[0]["id"])},
                },
            }
        },
    )
    assert again.status_code == 400 and errors(again)[0][0] == "unique entity constraint"
    no_order = oro_api.http.post(
        "/pricelisttocustomergroups",
        json={
            "data": {
                "type": "pricelisttocustomergroups",
                "attributes": {"sortOrder": "first"},
                "relationships": {
                    "customerGroup": {"data": rel("customergroups", group["id"])},
                    "priceList": {"data": rel("pricelists", lists[0]["id"])},
                },
            }
        },
    )
    assert no_order.status_code == 400 and errors(no_order)[0][2] == "/data/attributes/sortOrder"

    # the customer is fixed once assigned; the sort order can change
    r = oro_api.http.patch(
        f"/pricelisttocustomers/{trade['id']}",
        json={
            "data": {
                "type": "pricelisttocustomers",
                "id": trade["id"],
                "attributes": {"sortOrder": 5},
                "relationships": {"customer": {"data": rel("customers", bolt["id"])}},
            }
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["attributes"]["sortOrder"] == 5
    assert r.json()["data"]["relationships"]["customer"]["data"] == rel("customers", acme["id"])
    assert oro_api.http.delete(f"/customers/{bolt['id']}").status_code == 204
    assert len(oro_api.http.get("/pricelisttocustomers").json()["data"]) == 2


def test_customer_created_and_updated_webhooks_are_sent(
    oro_api: OroApi, oro_webhook_receiver: WebhookReceiver
) -> None:
    subscribe(oro_api, oro_webhook_receiver.url, "customer.created", secret=None)
    subscribe(oro_api, oro_webhook_receiver.url, "customer.updated", secret=None)
    acme = oro_api.create("customers", {"name": "Acme Holdings"})["data"]
    r = oro_api.http.patch(
        f"/customers/{acme['id']}",
        json={"data": {"type": "customers", "id": acme["id"], "attributes": {"externalId": "CIN7-ACME"}}},
    )
    assert r.status_code == 200, r.text
    received = oro_webhook_receiver.wait_for(2)
    bodies = {h.headers["Webhook-Topic"]: json.loads(h.body) for h in received}
    assert sorted(bodies) == ["customer.created", "customer.updated"]
    assert {b["eventData"]["data"]["id"] for b in bodies.values()} == {acme["id"]}
    assert bodies["customer.updated"]["eventData"]["data"]["attributes"]["externalId"] == "CIN7-ACME"
    # the poll's filters on customers
    found = oro_api.http.get("/customers", params={"filter[externalId]": "CIN7-ACME,OTHER"}).json()["data"]
    assert [c["id"] for c in found] == [acme["id"]]
    since = r.json()["data"]["attributes"]["updatedAt"]  # the update's, not the create's (a second may pass)
    oro_api.control.post("/clock", json={"advance_seconds": 5})
    bolt = oro_api.create("customers", {"name": "Bolt Brothers"})["data"]
    later = oro_api.http.get("/customers", params={"filter[updatedAt][gt]": since}).json()["data"]
    assert [c["id"] for c in later] == [bolt["id"]]
