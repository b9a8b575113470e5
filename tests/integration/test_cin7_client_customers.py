"""Cin7Client's customer side against the sandbox Cin7 over real HTTP: customers changed since a moment, page
by page, typed with the fields onboarding reads (credit hold, payment term, parent, additional attributes, and
addresses and contacts with their IDs), and a PUT that updates an address by its ID."""

from __future__ import annotations

from typing import Any

from sandbox.cin7.server import Cin7Sandbox
from shared.adapters.cin7.models import Cin7CustomerAddress, Cin7CustomerContact
from tests.integration.test_cin7_client import _client, _next_second

BASE = {
    "Status": "Active",
    "Currency": "USD",
    "PaymentTerm": "30 days",
    "AccountReceivable": "1100",
    "RevenueAccount": "4000",
    "TaxRule": "Tax Exempt",
}


def test_customers_modified_since_are_paged_and_typed(cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox):
    with _client(cin7_sandbox) as client:
        client.create_customer({**BASE, "Name": "Before The Watermark"})
        since = _next_second()
        parent = client.create_customer({**BASE, "Name": "Zephyr Holdings"})
        created = [
            client.create_customer(
                {
                    **BASE,
                    "Name": f"Zephyr Store {n}",
                    "PaymentTerm": "On hold",
                    "IsOnCreditHold": True,
                    "CustomerParentID": parent.ID,
                    "AdditionalAttribute10": f"oro:{n}",
                    "Addresses": [
                        {"Line1": f"{n} Zephyr Way", "Country": "United States", "Type": "Billing"},
                        {"Line1": "1 Dock Rd", "Country": "United States", "Type": "Shipping"},
                    ],
                    "Contacts": [{"Name": "Zoe Zephyr", "Email": f"zoe{n}@zephyr.example", "Default": True}],
                }
            )
            for n in range(4)
        ]
        calls = client.calls
        changed = list(client.iter_customers(modified_since=since, limit=2))
        assert client.calls - calls == 3  # five customers, pages of two

    assert [c.Name for c in changed] == ["Zephyr Holdings"] + [f"Zephyr Store {n}" for n in range(4)]
    store = changed[3]
    assert (store.IsOnCreditHold, store.PaymentTerm, store.CustomerParentID) == (True, "On hold", parent.ID)
    assert store.AdditionalAttribute10 == "oro:2" and store.additional_attribute(10) == "oro:2"
    assert all(isinstance(a, Cin7CustomerAddress) and a.ID for a in store.Addresses)
    assert [(a.Line1, a.Type) for a in store.Addresses] == [
        ("2 Zephyr Way", "Billing"),
        ("1 Dock Rd", "Shipping"),
    ]
    assert [a.ID for a in store.Addresses] == [a.ID for a in created[2].Addresses]
    (contact,) = store.Contacts
    assert isinstance(contact, Cin7CustomerContact) and contact.ID and contact.Email == "zoe2@zephyr.example"
    assert not changed[0].IsOnCreditHold and changed[0].CustomerParentID is None


def test_a_put_updates_an_address_and_a_contact_by_id_and_adds_those_without(
    cin7_demo: dict[str, Any], cin7_sandbox: Cin7Sandbox
):
    with _client(cin7_sandbox) as client:
        customer = client.create_customer(
            {
                **BASE,
                "Name": "Zephyr Traders",
                "IsOnCreditHold": True,
                "Addresses": [{"Line1": "1 Zephyr Way", "Country": "United States", "Type": "Billing"}],
                "Contacts": [{"Name": "Zoe Zephyr", "Email": "zoe@zephyr.example"}],
            }
        )
        (address,) = customer.Addresses
        (contact,) = customer.Contacts
        updated = client.update_customer(
            {
                "ID": customer.ID,
                "IsOnCreditHold": False,
                "Addresses": [
                    {
                        "ID": address.ID,
                        "Line1": "2 Zephyr Way",
                        "Country": "United States",
                        "Type": "Billing",
                    },
                    {"Line1": "1 Dock Rd", "Country": "United States", "Type": "Shipping"},
                ],
                "Contacts": [{"ID": contact.ID, "Name": "Zoe Zephyr", "Email": "zoe.z@zephyr.example"}],
            }
        )
        again = client.get_customer(customer.ID)
    assert not updated.IsOnCreditHold and updated.PaymentTerm == "30 days"
    assert [(a.ID == address.ID, a.Line1) for a in again.Addresses] == [
        (True, "2 Zephyr Way"),
        (False, "1 Dock Rd"),
    ]
    assert [(c.ID, c.Email) for c in again.Contacts] == [(contact.ID, "zoe.z@zephyr.example")]
