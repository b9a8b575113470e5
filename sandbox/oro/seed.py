"""The demo dataset, created THROUGH the admin API (so seeding exercises the same paths as any client).

Idempotent: records that already exist (found by SKU, name, email) are reused, so `--seed demo` over a state file
does not duplicate anything. The Cin7 sandbox seeds the matching ERP side: keep names and SKUs in step with it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

JSONAPI = "application/vnd.api+json"

UNITS = [("case", "case", "cases"), ("pallet", "pallet", "pallets")]

# sku, name, [(unit, conversionRate)], inventory per unit (the first unit is the primary one)
PRODUCTS: list[tuple[str, str, list[tuple[str, int]], dict[str, int]]] = [
    (
        "WID-100",
        "Widget 100",
        [("each", 1), ("case", 12), ("pallet", 480)],
        {"each": 960, "case": 80, "pallet": 2},
    ),
    ("GAD-200", "Gadget 200", [("each", 1), ("case", 6)], {"each": 300, "case": 50}),
    # The pallet unit exists in the storefront only: the demo's "unmapped unit" (config maps each and case).
    (
        "BOLT-300",
        "Bolt 300",
        [("each", 1), ("case", 100), ("pallet", 5000)],
        {"each": 10000, "case": 100, "pallet": 2},
    ),
]

# Product tax codes (TaxBundle); BOLT-300 has none, so the integration's default rule applies to it.
# "reduced" is on no product and in no `tax.rules`: the demo's unmapped tax code (`orosync audit` names it).
TAX_CODES = [("standard", "Standard rate goods"), ("reduced", "Reduced rate goods")]
PRODUCT_TAX_CODES = {"WID-100": "standard", "GAD-200": "standard"}

# Wholesale prices per unit (quantity 1, USD); Contract is 5% lower except where the brief fixes it.
WHOLESALE = {
    "WID-100": {"each": "12.5000", "case": "144.0000"},
    "GAD-200": {"each": "8.0000", "case": "46.0000"},
    "BOLT-300": {"each": "0.2500", "case": "24.0000"},
}
CONTRACT_FIXED = {"WID-100": {"each": "12.0000", "case": "138.0000"}}


def contract_prices() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for sku, units in WHOLESALE.items():
        out[sku] = {}
        for unit, value in units.items():
            fixed = CONTRACT_FIXED.get(sku, {}).get(unit)
            out[sku][unit] = fixed or str((Decimal(value) * Decimal("0.95")).quantize(Decimal("0.0001")))
    return out


PRICE_LISTS = [("Wholesale", WHOLESALE), ("Contract", contract_prices())]

# name, externalId, parent name, buyer (first, last, email)
CUSTOMERS: list[tuple[str, str | None, str | None, tuple[str, str, str]]] = [
    ("Acme Holdings", "CIN7-ACME", None, ("Alice", "Ackerman", "alice.ackerman@acme-holdings.example.com")),
    ("Acme Retail East", None, "Acme Holdings", ("Evan", "Easton", "evan.easton@acme-east.example.com")),
    ("Acme East Store 12", None, "Acme Retail East", ("Stella", "Storm", "store12@acme-east.example.com")),
    ("Bolt Brothers", None, None, ("Bob", "Bolt", "bob@boltbrothers.example.com")),
]


class SeedError(RuntimeError):
    pass


class _Api:
    def __init__(
        self, http: httpx.Client, base_url: str, prefix: str, client_id: str, client_secret: str
    ) -> None:
        self.http = http
        self.api = f"{base_url}/{prefix}/api"
        response = http.post(
            f"{base_url}/oauth2-token",
            json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
        )
        if response.status_code != 200:
            raise SeedError(f"token request failed: {response.status_code} {response.text}")
        self.headers = {
            "Authorization": f"Bearer {response.json()['access_token']}",
            "Accept": JSONAPI,
            "Content-Type": JSONAPI,
        }

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        response = self.http.request(
            method, f"{self.api}{path}", json=body, params=params, headers={**self.headers, **(headers or {})}
        )
        if response.status_code >= 400:
            raise SeedError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def find(self, type_: str, **filters: str) -> list[dict[str, Any]]:
        params = {f"filter[{k}]": v for k, v in filters.items()}
        return self.list_all(f"/{type_}", params)

    def list_all(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every record of a list: paging off, and `links.next` followed should `max_entities` cap pages."""
        doc = self.call("GET", path, params={**(params or {}), "page[size]": "-1"})
        records = list(doc["data"])
        while doc.get("links", {}).get("next"):
            response = self.http.get(doc["links"]["next"], headers=self.headers)
            if response.status_code >= 400:
                raise SeedError(f"GET {path} (next page) -> {response.status_code}: {response.text}")
            doc = response.json()
            records.extend(doc["data"])
        return records


def seed_demo(
    base_url: str, client_id: str, client_secret: str, *, prefix: str = "admin", timeout: float = 15.0
) -> dict[str, Any]:
    """Create the demo dataset through the admin API; return the ids it created or found."""
    base_url = base_url.rstrip("/")
    with httpx.Client(timeout=timeout) as http:
        api = _Api(http, base_url, prefix, client_id, client_secret)
        out: dict[str, Any] = {
            "productUnits": ["each"],
            "products": {},
            "unitPrecisions": {},
            "inventoryLevels": {},
            "priceLists": {},
            "productPrices": {},
            "customers": {},
            "customerUsers": {},
        }
        for code, label, plural in UNITS:
            api.call(
                "POST",
                "/productunits",
                {
                    "data": {
                        "type": "productunits",
                        "id": code,
                        "meta": {"upsert": True},
                        "attributes": {
                            "defaultPrecision": 0,
                            "label": label,
                            "shortLabel": label,
                            "pluralLabel": plural,
                            "shortPluralLabel": plural,
                        },
                    }
                },
            )
            out["productUnits"].append(code)

        # ---- tax codes ------------------------------------------------------------------------------------
        out["taxCodes"] = {}
        for code, description in TAX_CODES:
            found = api.find("producttaxcodes", code=code)
            if found:
                out["taxCodes"][code] = found[0]["id"]
            else:
                doc = api.call(
                    "POST",
                    "/producttaxcodes",
                    {
                        "data": {
                            "type": "producttaxcodes",
                            "attributes": {"code": code, "description": description},
                        }
                    },
                )
                out["taxCodes"][code] = doc["data"]["id"]

        # ---- products, unit precisions, inventory levels ----------------------------------------------------
        for sku, name, units, stock in PRODUCTS:
            found = api.find("products", sku=sku)
            if found:
                product_id = found[0]["id"]
            else:
                included: list[dict[str, Any]] = [
                    {
                        "type": "productnames",
                        "id": "name-default",
                        "attributes": {"fallback": None, "string": name},
                        "relationships": {"localization": {"data": None}},
                    }
                ]
                for unit, rate in units:
                    included.append(
                        {
                            "type": "productunitprecisions",
                            "id": f"precision-{unit}",
                            "attributes": {"precision": 0, "conversionRate": rate, "sell": True},
                            "relationships": {"unit": {"data": {"type": "productunits", "id": unit}}},
                        }
                    )
                doc = api.call(
                    "POST",
                    "/products",
                    {
                        "data": {
                            "type": "products",
                            "attributes": {"sku": sku, "status": "enabled", "productType": "simple"},
                            "relationships": {
                                "names": {"data": [{"type": "productnames", "id": "name-default"}]},
                                "primaryUnitPrecision": {
                                    "data": {
                                        "type": "productunitprecisions",
                                        "id": f"precision-{units[0][0]}",
                                    }
                                },
                                "unitPrecisions": {
                                    "data": [
                                        {"type": "productunitprecisions", "id": f"precision-{u}"}
                                        for u, _ in units
                                    ]
                                },
                                "inventory_status": {
                                    "data": {"type": "prodinventorystatuses", "id": "in_stock"}
                                },
                                "taxCode": {
                                    "data": {
                                        "type": "producttaxcodes",
                                        "id": out["taxCodes"][PRODUCT_TAX_CODES[sku]],
                                    }
                                    if sku in PRODUCT_TAX_CODES
                                    else None
                                },
                            },
                        },
                        "included": included,
                    },
                )
                product_id = doc["data"]["id"]
            out["products"][sku] = product_id
            precisions = api.find("productunitprecisions", product=product_id)
            out["unitPrecisions"][sku] = {
                p["relationships"]["unit"]["data"]["id"]: p["id"] for p in precisions
            }
            by_precision = {v: k for k, v in out["unitPrecisions"][sku].items()}
            levels = api.find("inventorylevels", product=product_id)
            out["inventoryLevels"][sku] = {
                by_precision[lvl["relationships"]["productUnitPrecision"]["data"]["id"]]: lvl["id"]
                for lvl in levels
            }
            api.call(
                "PATCH",
                "/inventorylevels",
                {
                    "data": [
                        {
                            "meta": {"update": True},
                            "type": "inventorylevels",
                            "id": level_id,
                            "attributes": {"quantity": stock.get(unit, 0)},
                        }
                        for unit, level_id in out["inventoryLevels"][sku].items()
                    ]
                },
                headers={"X-Mode": "sync"},
            )

        # ---- price lists and prices ---------------------------------------------------------------------
        for list_name, prices in PRICE_LISTS:
            found = api.find("pricelists", name=list_name)
            if found:
                list_id = found[0]["id"]
            else:
                list_id = api.call(
                    "POST",
                    "/pricelists",
                    {
                        "data": {
                            "type": "pricelists",
                            "attributes": {"name": list_name, "priceListCurrencies": ["USD"], "active": True},
                        }
                    },
                )["data"]["id"]
            out["priceLists"][list_name] = list_id
            existing = {
                (p["relationships"]["product"]["data"]["id"], p["relationships"]["unit"]["data"]["id"]): p[
                    "id"
                ]
                for p in api.find("productprices", priceList=list_id)
                if p["attributes"]["quantity"] == 1 and p["attributes"]["currency"] == "USD"
            }
            missing = []
            for sku, units_prices in prices.items():
                for unit, value in units_prices.items():
                    if (out["products"][sku], unit) not in existing:
                        missing.append(
                            {
                                "type": "productprices",
                                "attributes": {"quantity": 1, "value": value, "currency": "USD"},
                                "relationships": {
                                    "priceList": {"data": {"type": "pricelists", "id": list_id}},
                                    "product": {"data": {"type": "products", "id": out["products"][sku]}},
                                    "unit": {"data": {"type": "productunits", "id": unit}},
                                },
                            }
                        )
            if missing:
                api.call("PATCH", "/productprices", {"data": missing}, headers={"X-Mode": "sync"})
            by_key = {
                (p["relationships"]["product"]["data"]["id"], p["relationships"]["unit"]["data"]["id"]): p[
                    "id"
                ]
                for p in api.find("productprices", priceList=list_id)
            }
            out["productPrices"][list_name] = {
                sku: {unit: by_key[(out["products"][sku], unit)] for unit in units_prices}
                for sku, units_prices in prices.items()
            }

        # ---- customers and their buyers ------------------------------------------------------------------
        for name, external_id, parent, (first, last, email) in CUSTOMERS:
            found = api.find("customers", name=name)
            if found:
                customer_id = found[0]["id"]
            else:
                relationships: dict[str, Any] = {}
                if parent:
                    relationships["parent"] = {"data": {"type": "customers", "id": out["customers"][parent]}}
                customer_id = api.call(
                    "POST",
                    "/customers",
                    {
                        "data": {
                            "type": "customers",
                            "attributes": {"name": name, "externalId": external_id},
                            "relationships": relationships,
                        }
                    },
                )["data"]["id"]
            out["customers"][name] = customer_id
            users = api.find("customerusers", email=email)
            if users:
                out["customerUsers"][name] = users[0]["id"]
                continue
            out["customerUsers"][name] = api.call(
                "POST",
                "/customerusers",
                {
                    "data": {
                        "type": "customerusers",
                        "attributes": {
                            "email": email,
                            "firstName": first,
                            "lastName": last,
                            "enabled": True,
                            "confirmed": True,
                            "password": "Demo-Password-1",
                        },
                        "relationships": {
                            "customer": {"data": {"type": "customers", "id": customer_id}},
                            "userRoles": {"data": [{"type": "customeruserroles", "id": "2"}]},
                        },
                    }
                },
            )["data"]["id"]
        out["webhookTopics"] = [t["id"] for t in api.list_all("/webhooktopics")]
        return out
