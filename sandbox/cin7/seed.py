"""The demo tenant, created through the sandbox's own v2 API (plus one control call to rename price tiers).

Rate budget: a full run makes 22 API calls (one /me, then a look-up before each create so a second run adopts
what is there instead of failing). That fits in one window of the default 60 calls/minute, so the sandbox does
not need a higher limit for seeding. If the window is already busy the seeder is throttled like any client:
it waits and retries on 429/503 (no Retry-After exists; it backs off 1, 2, 4... seconds, capped at 15), so it
also completes under a lower limit, just more slowly.

The names match what the OroCommerce sandbox seeds on the storefront side; keep them in step.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from sandbox.cin7.util import dumps

LOCATIONS = ("Main Warehouse", "Sydney DC")
PRICE_TIER_NAMES = {1: "Wholesale", 2: "Contract"}  # tiers 3..10 keep "Tier 3".."Tier 10"
TAX_RULES = (
    {"Name": "Tax on Sales", "Percent": Decimal("10"), "Component": "GST"},
    {"Name": "Tax Exempt", "Percent": Decimal("0"), "Component": "Exempt"},
    # Prices under it include the tax (Cin7 splits it out): for customers invoiced tax-inclusive.
    {"Name": "Tax on Sales Inclusive", "Percent": Decimal("10"), "Component": "GST", "Inclusive": True},
)
UNIT = "Item"
PRODUCTS: tuple[dict[str, Any], ...] = (
    {"SKU": "WID-100", "Name": "Widget 100", "PriceTier1": Decimal("12.5"), "PriceTier2": Decimal("12.0")},
    {"SKU": "GAD-200", "Name": "Gadget 200", "PriceTier1": Decimal("8.0"), "PriceTier2": Decimal("7.6")},
    {
        "SKU": "GAD-200-CASE6",
        "Name": "Gadget 200 (Case of 6)",
        "PriceTier1": Decimal("46.0"),
        "PriceTier2": Decimal("43.7"),
        "BillOfMaterial": True,
        "AutoAssembly": True,
        "BOM": (("GAD-200", Decimal("6")),),
    },
    {"SKU": "BOLT-300", "Name": "Bolt 300", "PriceTier1": Decimal("0.25"), "PriceTier2": Decimal("0.2375")},
)
CUSTOMERS: tuple[dict[str, Any], ...] = (
    {
        "Name": "Acme Holdings",
        "PriceTier": "Contract",
        "IsOnCreditHold": False,
        "Contacts": [{"Name": "Jane Buyer", "Email": "purchasing@acme.example", "Default": True}],
        "Addresses": [
            {
                "Line1": "12 Collins St",
                "City": "Melbourne",
                "State": "VIC",
                "Postcode": "3000",
                "Country": "Australia",
                "Type": "Business",
            }
        ],
    },
    {
        "Name": "Northwind Wholesale",
        "PriceTier": "Wholesale",
        "IsOnCreditHold": True,
        "Contacts": [{"Name": "Accounts Payable", "Email": "ap@northwind.example", "Default": True}],
        "Addresses": [
            {
                "Line1": "88 Dock Rd",
                "City": "Port Melbourne",
                "State": "VIC",
                "Postcode": "3207",
                "Country": "Australia",
                "Type": "Business",
            }
        ],
    },
)
# (SKU, location) -> quantity on hand, set by one COMPLETED stock adjustment.
STOCK = {
    ("WID-100", "Main Warehouse"): Decimal("600"),
    ("WID-100", "Sydney DC"): Decimal("120"),
    ("GAD-200", "Main Warehouse"): Decimal("300"),
    ("GAD-200", "Sydney DC"): Decimal("0"),
    ("GAD-200-CASE6", "Main Warehouse"): Decimal("0"),
    ("GAD-200-CASE6", "Sydney DC"): Decimal("0"),
    ("BOLT-300", "Main Warehouse"): Decimal("10000"),
    ("BOLT-300", "Sydney DC"): Decimal("2500"),
}
UNIT_COST = {
    "WID-100": Decimal("6.2"),
    "GAD-200": Decimal("3.9"),
    "GAD-200-CASE6": Decimal("23.4"),
    "BOLT-300": Decimal("0.08"),
}


class SeedError(RuntimeError):
    pass


class _PacedClient:
    """A v2 client that treats 429/503 as "wait and try again", as every Cin7 client has to."""

    def __init__(
        self, base_url: str, account_id: str, application_key: str, timeout: float, max_wait: float
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            headers={
                "api-auth-accountid": account_id,
                "api-auth-applicationkey": application_key,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            timeout=timeout,
        )
        self._max_wait = max_wait
        self.calls = 0

    def close(self) -> None:
        self._client.close()

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        waited, delay = 0.0, 1.0
        while True:
            self.calls += 1
            response = self._client.request(
                method, path, params=params, content=None if body is None else dumps(body).encode("utf-8")
            )
            if response.status_code in (429, 503) and waited < self._max_wait:
                time.sleep(delay)
                waited += delay
                delay = min(delay * 2, 15.0)
                continue
            if response.status_code >= 400:
                raise SeedError(f"{method} {path} -> {response.status_code}: {response.text}")
            return response.json()


def seed_demo(
    base_url: str,
    account_id: str,
    application_key: str,
    *,
    guid_seed: int | None = None,
    timeout: float = 10.0,
    max_wait_seconds: float = 300.0,
) -> dict[str, Any]:
    """Create (or adopt) the demo data and return its ids.

    `guid_seed` makes the sandbox hand out reproducible GUIDs (set through the control API before anything is
    created), so two runs against fresh sandboxes return the same ids.
    """
    parts = urlsplit(base_url)
    control = httpx.Client(base_url=f"{parts.scheme}://{parts.netloc}/__sandbox/", timeout=timeout)
    api = _PacedClient(base_url, account_id, application_key, timeout, max_wait_seconds)
    try:
        if guid_seed is not None:
            control.post("config", json={"guid_seed": guid_seed}).raise_for_status()
        # Cin7 has no API to rename price tiers (it is a settings page); the sandbox offers a control call.
        tiers = control.post(
            "price-tiers", json={"PriceTiers": [{"Code": c, "Name": n} for c, n in PRICE_TIER_NAMES.items()]}
        )
        tiers.raise_for_status()
        me = api.call("GET", "me")
        ids: dict[str, Any] = {
            "account_id": account_id,
            "company": me.get("Company"),
            "price_tiers": {t["Code"]: t["Name"] for t in tiers.json()["PriceTiers"]},
        }
        ids["locations"] = _ensure_named(
            api, "ref/location", "LocationList", [{"Name": name} for name in LOCATIONS]
        )
        ids["tax_rules"] = _ensure_named(
            api,
            "ref/tax",
            "TaxRuleList",
            [
                {
                    "Name": rule["Name"],
                    "TaxInclusive": rule.get("Inclusive", False),
                    "IsActive": True,
                    "IsTaxForSale": True,
                    "IsTaxForPurchase": True,
                    "Account": "2200",
                    "Components": [
                        {"Name": rule["Component"], "Percent": rule["Percent"], "AccountCode": "2200"}
                    ],
                }
                for rule in TAX_RULES
            ],
        )
        ids["units"] = _ensure_named(api, "ref/unit", "UnitList", [{"Name": UNIT}])
        ids["products"] = {}
        for spec in PRODUCTS:
            found = api.call(
                "GET", "product", params={"Sku": spec["SKU"], "IncludeBOM": "true", "Limit": 100}
            )
            match = next((p for p in found["Products"] if p["SKU"] == spec["SKU"]), None)
            if match is None:
                body: dict[str, Any] = {
                    "SKU": spec["SKU"],
                    "Name": spec["Name"],
                    "Category": "Hardware",
                    "Type": "Stock",
                    "CostingMethod": "FIFO",
                    "UOM": UNIT,
                    "Status": "Active",
                    "DefaultLocation": LOCATIONS[0],
                    "PriceTier1": spec["PriceTier1"],
                    "PriceTier2": spec["PriceTier2"],
                    "SaleTaxRule": "Tax on Sales",
                }
                if spec.get("BOM"):
                    body["BillOfMaterial"] = True
                    body["AutoAssembly"] = spec["AutoAssembly"]
                    body["BillOfMaterialsProducts"] = [
                        {"ComponentProductID": ids["products"][sku], "Quantity": quantity}
                        for sku, quantity in spec["BOM"]
                    ]
                match = api.call("POST", "product", body)["Products"][0]
            ids["products"][spec["SKU"]] = match["ID"]
        ids["customers"] = {}
        for spec in CUSTOMERS:
            found = api.call("GET", "customer", params={"Name": spec["Name"], "IncludeDeprecated": "true"})
            match = next((c for c in found["CustomerList"] if c["Name"] == spec["Name"]), None)
            if match is None:
                body = {
                    "Name": spec["Name"],
                    "Status": "Active",
                    "Currency": me.get("Currency") or "AUD",  # the tenant's base currency
                    "PaymentTerm": "30 days",
                    "AccountReceivable": "1100",
                    "RevenueAccount": "4000",
                    "TaxRule": "Tax on Sales",
                    "PriceTier": spec["PriceTier"],
                    "Location": LOCATIONS[0],
                    "IsOnCreditHold": spec["IsOnCreditHold"],
                    "Contacts": spec["Contacts"],
                    "Addresses": spec["Addresses"],
                }
                match = api.call("POST", "customer", body)["CustomerList"][0]
            ids["customers"][spec["Name"]] = match["ID"]
        adjustment = api.call(
            "POST",
            "stockadjustment",
            {
                "EffectiveDate": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                "Status": "COMPLETED",
                "Reference": "Demo opening stock",
                "Account": "1400",
                "Lines": [
                    {
                        "ProductID": ids["products"][sku],
                        "SKU": sku,
                        "Location": location,
                        "Quantity": quantity,
                        "UnitCost": UNIT_COST[sku],
                    }
                    for (sku, location), quantity in STOCK.items()
                ],
            },
        )
        ids["stock_adjustment"] = adjustment["TaskID"]
        ids["api_calls"] = api.calls
        return ids
    finally:
        api.close()
        control.close()


def _ensure_named(
    api: _PacedClient, path: str, list_key: str, wanted: list[dict[str, Any]]
) -> dict[str, str]:
    existing = {item["Name"]: item["ID"] for item in api.call("GET", path, params={"Limit": 1000})[list_key]}
    for body in wanted:
        if body["Name"] not in existing:
            created = api.call("POST", path, body)[list_key][0]
            existing[created["Name"]] = created["ID"]
    return {body["Name"]: existing[body["Name"]] for body in wanted}
