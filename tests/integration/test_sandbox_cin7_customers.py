"""The sandbox Cin7's customer side over real HTTP: the `Customer/Updated` webhook on every accepted customer
POST and PUT, with the customer, its addresses and its contacts (reference §3, §7)."""

from __future__ import annotations

import httpx

from sandbox.cin7.server import Cin7Sandbox
from tests.fixtures.cin7_sandbox import WebhookReceiver
from tests.integration.test_sandbox_cin7 import register, send

CUSTOMER_EVENT = "Customer/Updated"
BASE = {
    "Status": "Active",
    "Currency": "USD",
    "PaymentTerm": "30 days",
    "AccountReceivable": "1100",
    "RevenueAccount": "4000",
    "TaxRule": "Tax Exempt",
}


def test_customer_updated_is_sent_on_create_and_on_every_put(
    cin7_sandbox: Cin7Sandbox,
    cin7_client: httpx.Client,
    cin7_demo: dict,
    cin7_webhook_receiver: WebhookReceiver,
) -> None:
    register(cin7_client, cin7_webhook_receiver.url, CUSTOMER_EVENT)
    created = send(
        cin7_client,
        "POST",
        "customer",
        {
            **BASE,
            "Name": "Zephyr Traders",
            "IsOnCreditHold": True,
            "AdditionalAttribute3": "oro:57",
            "Addresses": [{"Line1": "1 Zephyr Way", "Country": "United States", "Type": "Billing"}],
            "Contacts": [{"Name": "Zoe Zephyr", "Email": "zoe@zephyr.example", "Default": True}],
        },
    )
    assert created.status_code == 200, created.text
    customer = created.json()["CustomerList"][0]
    put = send(cin7_client, "PUT", "customer", {"ID": customer["ID"], "IsOnCreditHold": False})
    assert put.status_code == 200, put.text
    refused = send(cin7_client, "PUT", "customer", {"ID": customer["ID"], "Status": "Gone"})
    assert refused.status_code == 400  # a refused write sends nothing

    received = cin7_webhook_receiver.wait_for(2, event_type=CUSTOMER_EVENT)
    bodies = [r["body"] for r in received]
    assert [(b["EventType"], b["NumberOfCustomers"], len(b["CustomerDetailsList"])) for b in bodies] == [
        (CUSTOMER_EVENT, 1, 1)
    ] * 2
    details = [b["CustomerDetailsList"][0] for b in bodies]
    assert [(d["Customer"]["ID"], d["Customer"]["IsOnCreditHold"]) for d in details] == [
        (customer["ID"], True),
        (customer["ID"], False),
    ]
    first = details[0]
    assert (
        first["Customer"]["Name"] == "Zephyr Traders"
        and first["Customer"]["AdditionalAttribute3"] == "oro:57"
    )
    assert "Addresses" not in first["Customer"] and "Contacts" not in first["Customer"]
    assert [(a["ID"], a["Line1"]) for a in first["Addresses"]] == [
        (customer["Addresses"][0]["ID"], "1 Zephyr Way")
    ]
    assert [(c["ID"], c["Email"]) for c in first["Contacts"]] == [
        (customer["Contacts"][0]["ID"], "zoe@zephyr.example")
    ]
    assert details[1]["Addresses"] == first["Addresses"]  # the PUT left them as they were
    deliveries = httpx.get(cin7_sandbox.control_url + "webhook-deliveries", params={"type": CUSTOMER_EVENT})
    assert len(deliveries.json()["deliveries"]) == 2
