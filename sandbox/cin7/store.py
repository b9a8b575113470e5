"""The sandbox tenant: reference data, customers, products, stock, sales and webhooks, with Cin7's rules.

Every public method validates the whole request first and only then changes state, so an answer of 400 never
leaves half a write behind. One re-entrant lock guards everything. Webhook events are handed to `emit` after the
change is in place. Records are kept in their wire shape; keys starting with `_` are private bookkeeping that
the JSON writer never sends.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.cin7.util import (
    FOUR_PLACES,
    ZERO,
    ApiError,
    IdFactory,
    Query,
    bad,
    bool_value,
    decimal_value,
    now_utc,
    paginate,
    parse_datetime,
    req_decimal,
    req_text,
    required,
    tenant_date,
    text_value,
)

Json = dict[str, Any]
Emit = Callable[[str, Json | list[Json]], None]

ONE = Decimal(1)
HUNDRED = Decimal(100)
TOTAL_TOLERANCE = Decimal("0.01")
DEFAULT_TIER_NAMES = [f"Tier {n}" for n in range(1, 11)]

WEBHOOK_TYPES = (
    "Sale/Created",
    "Sale/QuoteAuthorised",
    "Sale/OrderAuthorised",
    "Sale/Voided",
    "Sale/Backordered",
    "Sale/ShipmentAuthorised",
    "Sale/InvoiceAuthorised",
    "Sale/PickAuthorised",
    "Sale/PackAuthorised",
    "Sale/CreditNoteAuthorised",
    "Sale/Undo",
    "Sale/PartialPaymentReceived",
    "Sale/FullPaymentReceived",
    "Sale/AttachmentAdded",
    "Sale/AdditionalAttributesChanged",
    "Sale/ShipmentTrackingNumberChanged",
    "Purchase/OrderAuthorised",
    "Purchase/InvoiceAuthorised",
    "Purchase/StockReceivedAuthorised",
    "Purchase/CreditNoteAuthorised",
    "Purchase/Updated",
    "Customer/Updated",
    "Supplier/Updated",
    "Product/Updated",
    "Stock/AvailableStockLevelChanged",
    "Lead/Updated",
    "Lead/Converted",
    "Opportunity/Authorized",
    "Opportunity/AttachmentAdded",
    "Opportunity/Voided",
    "Opportunity/Converted",
    "Task/Overdue",
)
MAX_WEBHOOKS_PER_TYPE = 5
STOCK_EVENT = "Stock/AvailableStockLevelChanged"
PRODUCT_EVENT = "Product/Updated"
CUSTOMER_EVENT = "Customer/Updated"

CUSTOMER_TEXT_FIELDS = {
    "DisplayName": 256,
    "PaymentTerm": 256,
    "Carrier": 256,
    "SalesRepresentative": 256,
    "Comments": 2000,
    "AccountReceivable": 50,
    "RevenueAccount": 50,
    "TaxNumber": 50,
    "AttributeSet": 50,
    "Tags": 2000,
    **{f"AdditionalAttribute{n}": 256 for n in range(1, 11)},
}
PRODUCT_TEXT_FIELDS = {
    "Category": 256,
    "Brand": 256,
    "Barcode": 50,
    "ShortDescription": 2000,
    "Description": 10000,
    "InternalNote": 2000,
    "AttributeSet": 50,
    "DiscountRule": 256,
    "Tags": 2000,
    "StockLocator": 256,
    "COGSAccount": 50,
    "RevenueAccount": 50,
    "ExpenseAccount": 50,
    "InventoryAccount": 50,
    "PurchaseTaxRule": 50,
    "SaleTaxRule": 50,
    "PickZones": 256,
    "AssemblyInstructionURL": 256,
    "AssemblyCostEstimationMethod": 50,
    "HSCode": 50,
    "CountryOfOrigin": 256,
    "CountryOfOriginCode": 10,
    "WeightUnits": 10,
    "DimensionsUnits": 10,
    **{f"AdditionalAttribute{n}": 256 for n in range(1, 11)},
}
PRODUCT_NUMBER_FIELDS = (
    "Length",
    "Width",
    "Height",
    "Weight",
    "CartonLength",
    "CartonWidth",
    "CartonHeight",
    "CartonQuantity",
    "CartonInnerQuantity",
    "MinimumBeforeReorder",
    "ReorderQuantity",
    "QuantityToProduce",
)
COSTING_METHODS = (
    "FIFO",
    "Special - Batch",
    "Special - Serial Number",
    "FIFO - Serial Number",
    "FIFO - Batch",
    "FEFO - Batch",
    "FEFO - Serial Number",
)
SALE_TEXT_FIELDS = {
    "Contact": 256,
    "Phone": 256,
    "Email": 256,
    "DefaultAccount": 50,
    "ShippingNotes": 2000,
    "Note": 2000,
    "CustomerReference": 256,
    "SalesRepresentative": 256,
    "Carrier": 256,
    "ExternalID": 256,
}
PRODUCT_LISTS = ("Suppliers", "ReorderLevels", "Movements", "Attachments", "CustomPrices")
SEED_TEMPLATE_FIELDS = ("SKU", "Name", "Category", "UOM")
SEED_PRODUCT_FIELDS = {
    *SEED_TEMPLATE_FIELDS,
    *PRODUCT_TEXT_FIELDS,
    *PRODUCT_NUMBER_FIELDS,
    *(f"PriceTier{n}" for n in range(1, 11)),
    "PriceTiers",
}
AUTO_PICK_MODES = ("NOPICK", "AUTOPICK", "AUTOPICKPACK", "AUTOPICKPACKSHIP")
NEW_TASK_ID = "00000000-0000-0000-0000-000000000000"  # an invoice POST with this TaskID opens a new invoice
PAYMENT_TYPES = ("PREPAYMENT", "PAYMENT", "REFUND")


def q4(value: Decimal) -> Decimal:
    return value.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def _key(name: str) -> str:
    return name.strip().casefold()


class Store:
    def __init__(
        self,
        *,
        account_id: str,
        base_currency: str = "AUD",
        company: str = "Orosync Sandbox Pty Ltd",
        guid_seed: int | None = None,
        price_tier_names: list[str] | None = None,
        reject_duplicate_lines: bool = True,
        emit: Emit | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.account_id = account_id
        self.base_currency = base_currency
        self.company = company
        self.reject_duplicate_lines = reject_duplicate_lines
        self.emit: Emit = emit or (lambda _type, _payload: None)
        # While `stock_events()` is open: "<productID>|<locationID>" -> Available when first touched.
        self._touched: dict[str, Decimal] | None = None
        self._initial_tiers = list(price_tier_names or DEFAULT_TIER_NAMES)
        self.reset(guid_seed=guid_seed)

    # ------------------------------------------------------------------------------------------ state

    def reset(self, *, guid_seed: int | None = None) -> None:
        with self.lock:
            self.guid_seed = guid_seed
            self.ids = IdFactory(guid_seed)
            self.price_tiers: list[str] = list(self._initial_tiers)
            self.locations: dict[str, Json] = {}
            self.units: dict[str, Json] = {}
            self.tax_rules: dict[str, Json] = {}
            self.customers: dict[str, Json] = {}
            self.products: dict[str, Json] = {}
            self.stock: dict[str, Json] = {}  # "<productID>|<locationID>" -> {OnHand, Allocated}
            self.adjustments: dict[str, Json] = {}
            self.sales: dict[str, Json] = {}
            self.webhooks: dict[str, Json] = {}
            self.counters: dict[str, int] = {"sale": 0, "adjustment": 0, "invoice": 0}

    def set_guid_seed(self, seed: int | None) -> None:
        with self.lock:
            self.guid_seed = seed
            self.ids = IdFactory(seed)

    def snapshot(self) -> Json:
        with self.lock:
            return {
                "price_tiers": self.price_tiers,
                "locations": self.locations,
                "units": self.units,
                "tax_rules": self.tax_rules,
                "customers": self.customers,
                "products": self.products,
                "stock": self.stock,
                "adjustments": self.adjustments,
                "sales": self.sales,
                "webhooks": self.webhooks,
                "counters": self.counters,
            }

    def restore(self, data: Json) -> None:
        with self.lock:
            self.price_tiers = list(data.get("price_tiers", self._initial_tiers))
            for name in ("locations", "units", "tax_rules", "customers", "products", "stock"):
                setattr(self, name, dict(data.get(name, {})))
            self.adjustments = dict(data.get("adjustments", {}))
            self.sales = dict(data.get("sales", {}))
            self.webhooks = dict(data.get("webhooks", {}))
            self.counters = {
                "sale": 0,
                "adjustment": 0,
                "invoice": 0,
                **data.get("counters", {}),
            }
            # A seeded id generator would hand out the restored records' ids again: go random after a restore.
            self.ids = IdFactory(None)

    def rename_price_tiers(self, names: dict[int, str]) -> list[Json]:
        with self.lock:
            for code, name in names.items():
                if not 1 <= code <= 10:
                    raise bad(f"Price tier code {code} is out of range 1..10.")
                if not isinstance(name, str) or not name.strip():
                    raise bad(f"Price tier {code} needs a name.")
            for code, name in names.items():
                old = self.price_tiers[code - 1]
                self.price_tiers[code - 1] = name.strip()
                for customer in self.customers.values():
                    if customer.get("PriceTier") == old:
                        customer["PriceTier"] = name.strip()
            return self._tier_list()

    def stats(self) -> Json:
        with self.lock:
            by_external: dict[str, int] = {}
            for sale in self.sales.values():
                if sale.get("ExternalID"):
                    by_external[sale["ExternalID"]] = by_external.get(sale["ExternalID"], 0) + 1
            by_status: dict[str, int] = {}
            for sale in self.sales.values():
                by_status[sale["Status"]] = by_status.get(sale["Status"], 0) + 1
            return {
                "sales": len(self.sales),
                "sales_by_status": by_status,
                "sales_by_external_id": by_external,
                "duplicate_external_ids": sorted(k for k, v in by_external.items() if v > 1),
                "customers": len(self.customers),
                "products": len(self.products),
                "webhooks": len(self.webhooks),
            }

    # ------------------------------------------------------------------------------------------ lookups

    def _tier_list(self) -> list[Json]:
        return [{"Code": n + 1, "Name": name} for n, name in enumerate(self.price_tiers)]

    def _location_by_name(self, name: Any, field: str = "Location") -> Json:
        if not isinstance(name, str) or not name.strip():
            raise required(field)
        for location in self.locations.values():
            if _key(location["Name"]) == _key(name):
                return location
        raise bad(f"Location '{name}' not found.")

    def _location(self, name: Any = None, location_id: Any = None, *, default: Json | None = None) -> Json:
        if location_id:
            location = self.locations.get(str(location_id))
            if location is None:
                raise bad(f"Location with ID '{location_id}' not found.")
            return location
        if name:
            return self._location_by_name(name)
        if default is not None:
            return default
        raise required("Location")

    def _tax_rule(self, name: Any, field: str = "TaxRule") -> Json:
        if not isinstance(name, str) or not name:
            raise required(field)
        for rule in self.tax_rules.values():
            if rule["Name"] == name:  # exact: the reference says a near match fails the post
                return rule
        raise bad(f"Tax rule '{name}' not found.")

    def _tier_name(self, name: Any, field: str = "PriceTier") -> str:
        if not isinstance(name, str) or name not in self.price_tiers:
            raise bad(
                f"{field} '{name}' is not a price tier name. Price tiers: {', '.join(self.price_tiers)}."
            )
        return name

    def _product(self, product_id: Any, sku: Any, where: str) -> Json:
        if product_id:
            product = self.products.get(str(product_id))
            if product is None:
                raise bad(f"{where}: product with ID '{product_id}' not found.")
            if sku and _key(str(sku)) != _key(product["SKU"]):
                raise bad(f"{where}: SKU '{sku}' does not belong to product '{product_id}'.")
            return product
        if sku:
            for product in self.products.values():
                if _key(product["SKU"]) == _key(str(sku)):
                    return product
            raise bad(f"{where}: product with SKU '{sku}' not found.")
        raise bad(f"{where}: ProductID or SKU is required.")

    def _customer_by_name(self, name: str) -> Json | None:
        for customer in self.customers.values():
            if _key(customer["Name"]) == _key(name):
                return customer
        return None

    def _sale(self, sale_id: Any, field: str = "SaleID") -> Json:
        if not sale_id:
            raise required(field)
        sale = self.sales.get(str(sale_id))
        if sale is None:
            raise bad(f"Sale with ID '{sale_id}' not found.")
        return sale

    def _stock(self, product_id: str, location_id: str) -> Json:
        """The level every write changes stock through (so `stock_events` sees each change)."""
        key = f"{product_id}|{location_id}"
        level = self.stock.setdefault(key, {"OnHand": ZERO, "Allocated": ZERO})
        if self._touched is not None and key not in self._touched:
            self._touched[key] = level["OnHand"] - level["Allocated"]
        return level

    @contextmanager
    def stock_events(self) -> Iterator[None]:
        """Around one write: if it ends without error and the Available (OnHand - Allocated) of any product at
        any location changed, one `Stock/AvailableStockLevelChanged` event whose payload is a bare array with a
        row per changed (product, location). Nested uses report in the outermost one."""
        with self.lock:
            if self._touched is not None:
                yield
                return
            self._touched = {}
            try:
                yield
                rows = self._changed_rows(self._touched)
            finally:
                self._touched = None
            if rows:
                for row in rows:
                    row["MaxRows"] = len(rows)
                self.emit(STOCK_EVENT, rows)

    def _changed_rows(self, before: dict[str, Decimal]) -> list[Json]:
        rows = []
        for key, available in before.items():
            level = self.stock[key]
            if level["OnHand"] - level["Allocated"] == available:
                continue
            product_id, location_id = key.split("|", 1)
            product, location = self.products[product_id], self.locations[location_id]
            rows.append(self._availability_row(product, location, webhook=True))
        return rows

    # ------------------------------------------------------------------------------------------ /me, /ref

    def me(self, _query: Query, _body: Any) -> Json:
        return {
            "Company": self.company,
            "Currency": self.base_currency,
            "TimeZone": "Australia/Sydney",
            "DefaultWeightUnits": "kg",
            "DefaultDimensionsUnits": "cm",
            "LockDate": None,
            "OpeningBalanceDate": None,
            "TaxCalculationMethod": "Row Total",
            "MaximumDecimalPlacesInQuantity": "N4",
            "DiscountRule": "Discount",
            "AutomaticallyApplyDiscounts": False,
            "ApplyCustomerDiscountsAfterOtherDiscounts": False,
        }

    def price_tier_get(self, _query: Query, _body: Any) -> Json:
        with self.lock:
            return {"PriceTiers": self._tier_list()}

    def _filter_ref(self, items: list[Json], query: Query) -> list[Json]:
        if query.has("ID"):
            items = [i for i in items if i["ID"] == query.get("ID")]
        if query.has("Name"):
            prefix = _key(query.get("Name") or "")
            items = [i for i in items if _key(i["Name"]).startswith(prefix)]
        return items

    def location_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            items = self._filter_ref(list(self.locations.values()), query)
            if not query.as_bool("IncludeDeprecated", False):
                items = [i for i in items if not i["Deprecated"]]
            return paginate(items, query, "LocationList")

    def location_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            name = req_text(body.get("Name"), "Name")
            if any(_key(loc["Name"]) == _key(name) for loc in self.locations.values()):
                raise bad(f"Location with name '{name}' already exists.")
            is_default = bool_value(body.get("IsDefault"), "IsDefault", not self.locations)
            location: Json = {
                "ID": self.ids.new(),
                "Name": name,
                "IsDefault": is_default,
                "Deprecated": False,
                "ParentID": None,
                "AddressLine1": text_value(body.get("AddressLine1"), "AddressLine1") or "",
                "AddressLine2": text_value(body.get("AddressLine2"), "AddressLine2") or "",
                "AddressCitySuburb": text_value(body.get("AddressCitySuburb"), "AddressCitySuburb") or "",
                "AddressStateProvince": text_value(body.get("AddressStateProvince"), "AddressStateProvince")
                or "",
                "AddressZipPostCode": text_value(body.get("AddressZipPostCode"), "AddressZipPostCode") or "",
                "AddressCountry": text_value(body.get("AddressCountry"), "AddressCountry") or "",
                "Bins": [],
            }
            if is_default:
                for other in self.locations.values():
                    other["IsDefault"] = False
            self.locations[location["ID"]] = location
            return {"Total": 1, "Page": 1, "LocationList": [location]}

    def unit_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            return paginate(self._filter_ref(list(self.units.values()), query), query, "UnitList")

    def unit_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            name = req_text(body.get("Name"), "Name", max_len=50)
            if any(_key(u["Name"]) == _key(name) for u in self.units.values()):
                raise bad(f"Unit with name '{name}' already exists.")
            unit = {"ID": self.ids.new(), "Name": name}
            self.units[unit["ID"]] = unit
            return {"Total": 1, "Page": 1, "UnitList": [unit]}

    def tax_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            items = self._filter_ref(list(self.tax_rules.values()), query)
            for flag in ("IsActive", "IsTaxForSale", "IsTaxForPurchase"):
                if query.has(flag):
                    wanted = query.as_bool(flag)
                    items = [i for i in items if i[flag] == wanted]
            if query.has("Account"):
                items = [i for i in items if i["Account"] == query.get("Account")]
            return paginate(items, query, "TaxRuleList")

    def tax_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            name = req_text(body.get("Name"), "Name", max_len=50)
            if any(_key(r["Name"]) == _key(name) for r in self.tax_rules.values()):
                raise bad(f"Tax rule with name '{name}' already exists.")
            raw_components = body.get("Components")
            if raw_components is None and body.get("TaxPercent") is not None:
                raw_components = [{"Name": name, "Percent": body.get("TaxPercent")}]
            if not isinstance(raw_components, list) or not raw_components:
                raise required("Components")
            components = []
            for index, raw in enumerate(raw_components, start=1):
                raw = _object(raw, f"Components[{index}]")
                components.append(
                    {
                        "Name": req_text(raw.get("Name"), f"Components[{index}].Name", max_len=50),
                        "Percent": req_decimal(
                            raw.get("Percent"), f"Components[{index}].Percent", minimum=ZERO, maximum=HUNDRED
                        ),
                        "AccountCode": text_value(raw.get("AccountCode"), "AccountCode", max_len=50) or "",
                        "ComponentOrder": raw.get("ComponentOrder", index),
                    }
                )
            rule: Json = {
                "ID": self.ids.new(),
                "Name": name,
                "Account": text_value(body.get("Account"), "Account", max_len=50) or "",
                "IsActive": bool_value(body.get("IsActive"), "IsActive", True),
                "TaxInclusive": bool_value(body.get("TaxInclusive"), "TaxInclusive", False),
                "TaxPercent": sum((c["Percent"] for c in components), ZERO),
                "IsTaxForSale": bool_value(body.get("IsTaxForSale"), "IsTaxForSale", True),
                "IsTaxForPurchase": bool_value(body.get("IsTaxForPurchase"), "IsTaxForPurchase", True),
                "Components": components,
            }
            self.tax_rules[rule["ID"]] = rule
            return {"Total": 1, "Page": 1, "TaxRuleList": [rule]}

    # ------------------------------------------------------------------------------------------ customers

    def customer_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            items = list(self.customers.values())
            if query.has("ID"):
                items = [c for c in items if c["ID"] == query.get("ID")]
            if query.has("Name"):
                prefix = _key(query.get("Name") or "")
                items = [c for c in items if _key(c["Name"]).startswith(prefix)]
            if query.has("ContactFilter"):
                needle = _key(query.get("ContactFilter") or "")
                items = [
                    c
                    for c in items
                    if any(
                        _key(k.get("Name") or "").startswith(needle) or _key(k.get("Email") or "") == needle
                        for k in c["Contacts"]
                    )
                ]
            since = query.as_date("ModifiedSince")
            if since is not None:
                items = [c for c in items if c["LastModifiedOn"] >= since]
            if not query.as_bool("IncludeDeprecated", False) and not query.has("ID"):
                items = [c for c in items if c["Status"] != "Deprecated"]
            page = paginate(items, query, "CustomerList")
            with_prices = query.as_bool("IncludeProductPrices", False)
            page["CustomerList"] = [self._customer_out(c, with_prices) for c in page["CustomerList"]]
            return page

    def _customer_out(self, customer: Json, with_prices: bool = False) -> Json:
        out = dict(customer)
        # Customer-specific prices come only when asked for (reference §3, `IncludeProductPrices`).
        out["ProductPrices"] = [dict(p) for p in customer["ProductPrices"]] if with_prices else []
        out["ChildCustomers"] = [
            {"CustomerID": c["ID"], "CustomerName": c["Name"]}
            for c in self.customers.values()
            if c.get("CustomerParentID") == customer["ID"]
        ]
        return out

    def customer_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            customer = self._customer_write(None, body)
            self.customers[customer["ID"]] = customer
            self._emit_customer(customer)
            return {"Total": 1, "Page": 1, "CustomerList": [self._customer_out(customer)]}

    def customer_put(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            existing = self.customers.get(str(body.get("ID") or ""))
            if existing is None:
                raise (
                    bad(f"Customer with ID '{body.get('ID')}' not found.")
                    if body.get("ID")
                    else required("ID")
                )
            customer = self._customer_write(existing, body)
            self.customers[customer["ID"]] = customer
            self._emit_customer(customer)
            return {"Total": 1, "Page": 1, "CustomerList": [self._customer_out(customer)]}

    def _emit_customer(self, customer: Json) -> None:
        """`Customer/Updated` (reference §7) on every accepted POST and PUT: `{NumberOfCustomers,
        CustomerDetailsList: [{Customer: {...the customer's fields}, Addresses, Contacts}], EventType}`. A copy:
        the payload must not follow later writes."""
        out = copy.deepcopy(self._customer_out(customer))
        addresses, contacts = out.pop("Addresses"), out.pop("Contacts")
        out.pop("ProductPrices")
        detail = {"Customer": out, "Addresses": addresses, "Contacts": contacts}
        self.emit(
            CUSTOMER_EVENT,
            {"NumberOfCustomers": 1, "CustomerDetailsList": [detail], "EventType": CUSTOMER_EVENT},
        )

    # ------------------------------------------------------------------------------------ custom prices

    def custom_prices_post(self, _query: Query, body: Any) -> Json:
        """`{"CustomPrices": [{CustomerID|CustomerName, ProductID|ProductSKU, Price}]}` sets each customer's
        price for the product (POST and PUT alike); a row that cannot be applied is reported in `Errors`, the
        others are applied (reference §1, errors inside a 200, and §6)."""
        body = _object(body)
        rows = body.get("CustomPrices")
        if not isinstance(rows, list):
            raise bad("CustomPrices must be an array.")
        errors: list[str] = []
        with self.lock:
            by_sku: dict[str, Json] | None = None  # built once per call, not scanned per row
            touched: dict[str, dict[str, Json]] = {}  # customer ID -> its prices by product ID
            for index, raw in enumerate(rows, start=1):
                where = f"CustomPrices[{index}]"
                try:
                    raw = _object(raw, where)
                    customer = self._price_customer(raw, where)
                    sku = raw.get("ProductSKU")
                    if not raw.get("ProductID") and sku:
                        if by_sku is None:
                            by_sku = {_key(p["SKU"]): p for p in self.products.values()}
                        found = by_sku.get(_key(str(sku)))
                        if found is None:
                            raise bad(f"{where}: product with SKU '{sku}' not found.")
                        product = found
                    else:
                        product = self._product(raw.get("ProductID"), sku, where)
                    price = req_decimal(raw.get("Price"), f"{where}.Price", minimum=ZERO)
                except ApiError as err:
                    errors.append(err.message)
                    continue
                prices = touched.get(customer["ID"])
                if prices is None:  # one index per customer and call: 500 rows never rescan the whole list
                    prices = touched[customer["ID"]] = {p["ProductID"]: p for p in customer["ProductPrices"]}
                prices[product["ID"]] = {
                    "ProductID": product["ID"],
                    "ProductSKU": product["SKU"],
                    "ProductName": product["Name"],
                    "CustomerID": customer["ID"],
                    "CustomerName": customer["Name"],
                    "Price": price,
                }
            for customer_id, prices in touched.items():
                self.customers[customer_id]["ProductPrices"] = list(prices.values())
                self.customers[customer_id]["LastModifiedOn"] = now_utc()
            return {"Errors": errors}

    def custom_prices_delete(self, query: Query, _body: Any) -> Json:
        """`?ProductID=&CustomerID=` removes that customer's price for the product."""
        with self.lock:
            customer = self._price_customer({"CustomerID": query.get("CustomerID")}, "CustomerID")
            product = self._product(query.get("ProductID"), None, "ProductID")
            before = len(customer["ProductPrices"])
            customer["ProductPrices"] = [
                p for p in customer["ProductPrices"] if p["ProductID"] != product["ID"]
            ]
            if len(customer["ProductPrices"]) == before:
                raise bad(f"Customer '{customer['Name']}' has no custom price for '{product['SKU']}'.")
            customer["LastModifiedOn"] = now_utc()
            return {"Errors": []}

    def _price_customer(self, raw: Json, where: str) -> Json:
        if raw.get("CustomerID"):
            customer = self.customers.get(str(raw["CustomerID"]))
            if customer is None:
                raise bad(f"{where}: customer with ID '{raw['CustomerID']}' not found.")
            return customer
        if raw.get("CustomerName"):
            customer = self._customer_by_name(str(raw["CustomerName"]))
            if customer is None:
                raise bad(f"{where}: customer '{raw['CustomerName']}' not found.")
            return customer
        raise bad(f"{where}: CustomerID or CustomerName is required.")

    def _customer_write(self, existing: Json | None, body: Json) -> Json:
        """Validate and build the new version of a customer (POST when `existing` is None, else PUT)."""
        creating = existing is None
        cur: Json = dict(existing) if existing else {}

        def given(name: str) -> bool:
            return name in body and (creating or body[name] is not None)

        if creating or given("Name"):
            name = req_text(body.get("Name"), "Name")
            other = self._customer_by_name(name)
            if other is not None and other["ID"] != cur.get("ID"):
                raise bad(f"Customer with name '{name}' already exists.")
            cur["Name"] = name
        if creating or given("Status"):
            status = body.get("Status")
            if status is None and creating:
                raise required("Status")
            if status not in ("Active", "Deprecated"):
                raise bad("Status must be 'Active' or 'Deprecated'.")
            cur["Status"] = status
        if creating or given("Currency"):
            currency = req_text(body.get("Currency"), "Currency", max_len=3)
            if len(currency) != 3 or not currency.isalpha():
                raise bad(f"Currency '{currency}' is not a valid currency code.")
            cur["Currency"] = currency.upper()
        for field in ("PaymentTerm", "AccountReceivable", "RevenueAccount"):
            if creating or given(field):
                cur[field] = req_text(body.get(field), field, max_len=CUSTOMER_TEXT_FIELDS[field])
        if creating or given("TaxRule"):
            cur["TaxRule"] = self._tax_rule(body.get("TaxRule"))["Name"]
        if given("PriceTier") or creating:
            tier = body.get("PriceTier")
            cur["PriceTier"] = self._tier_name(tier) if tier else self.price_tiers[0]
        if given("Location") or creating:
            location = body.get("Location")
            cur["Location"] = self._location_by_name(location)["Name"] if location else ""
        for field, max_len in CUSTOMER_TEXT_FIELDS.items():
            if field in ("PaymentTerm", "AccountReceivable", "RevenueAccount"):
                continue
            if given(field) or creating:
                cur[field] = text_value(body.get(field), field, max_len=max_len) or ""
        if given("Discount") or creating:
            cur["Discount"] = decimal_value(
                body.get("Discount"), "Discount", places=2, default=ZERO, minimum=ZERO, maximum=HUNDRED
            )
        if given("CreditLimit") or creating:
            cur["CreditLimit"] = decimal_value(
                body.get("CreditLimit"), "CreditLimit", default=ZERO, minimum=ZERO
            )
        for flag in ("IsOnCreditHold", "IsBillParent", "IsLegalEntity"):
            if given(flag) or creating:
                cur[flag] = bool_value(body.get(flag), flag, cur.get(flag, False))
        if creating or "CustomerParentID" in body or "CustomerParentName" in body:
            self._set_parent(cur, body)
        if given("Addresses") or creating:
            cur["Addresses"] = self._merge_children(
                cur.get("Addresses", []), body.get("Addresses"), "Addresses", self._address
            )
        if given("Contacts") or creating:
            cur["Contacts"] = self._merge_children(
                cur.get("Contacts", []), body.get("Contacts"), "Contacts", self._contact
            )
        cur.setdefault("ProductPrices", [])
        if creating:
            cur["ID"] = self.ids.new()
        cur["LastModifiedOn"] = now_utc()
        return _ordered(cur, CUSTOMER_ORDER)

    def _set_parent(self, cur: Json, body: Json) -> None:
        parent_id = body.get("CustomerParentID")
        parent_name = body.get("CustomerParentName")
        parent: Json | None = None
        if parent_id:
            parent = self.customers.get(str(parent_id))
            if parent is None:
                raise bad(f"Parent customer with ID '{parent_id}' not found.")
        elif parent_name:
            parent = self._customer_by_name(str(parent_name))
            if parent is None:
                raise bad(f"Parent customer '{parent_name}' not found.")
        if parent is None:
            cur["CustomerParentID"] = None
            cur["CustomerParentName"] = ""
            return
        if parent["ID"] == cur.get("ID"):
            raise bad("A customer cannot be its own parent.")
        if parent.get("CustomerParentID"):
            raise bad(
                f"Customer '{parent['Name']}' is itself a child customer; hierarchies have one level only."
            )
        if cur.get("ID") and any(c.get("CustomerParentID") == cur["ID"] for c in self.customers.values()):
            raise bad(f"Customer '{cur['Name']}' has child customers and cannot have a parent.")
        if parent["Status"] != "Active":
            raise bad(f"Parent customer '{parent['Name']}' is not active.")
        if parent["Currency"] != cur.get("Currency"):
            raise bad("A child customer must use the same currency as its parent.")
        cur["CustomerParentID"] = parent["ID"]
        cur["CustomerParentName"] = parent["Name"]

    def _merge_children(
        self, current: list[Json], raw: Any, field: str, build: Callable[[Json, str], Json]
    ) -> list[Json]:
        if raw is None:
            return list(current)
        if not isinstance(raw, list):
            raise bad(f"{field} must be an array.")
        merged = {item["ID"]: item for item in current}
        for index, item in enumerate(raw, start=1):
            item = _object(item, f"{field}[{index}]")
            built = build(item, f"{field}[{index}]")
            if item.get("ID"):
                if item["ID"] not in merged:
                    raise bad(f"{field}[{index}]: ID '{item['ID']}' not found.")
                built["ID"] = item["ID"]
            else:
                built["ID"] = self.ids.new()
            merged[built["ID"]] = built
        return list(merged.values())

    def _address(self, raw: Json, where: str) -> Json:
        address_type = raw.get("Type") or "Business"
        if address_type not in ("Billing", "Business", "Shipping"):
            raise bad(f"{where}.Type must be Billing, Business or Shipping.")
        return {
            "ID": None,
            "Line1": req_text(raw.get("Line1"), f"{where}.Line1"),
            "Line2": text_value(raw.get("Line2"), f"{where}.Line2") or "",
            "City": text_value(raw.get("City"), f"{where}.City") or "",
            "State": text_value(raw.get("State"), f"{where}.State") or "",
            "Postcode": text_value(raw.get("Postcode"), f"{where}.Postcode", max_len=20) or "",
            "Country": req_text(raw.get("Country"), f"{where}.Country"),
            "Type": address_type,
            "DefaultForType": bool_value(raw.get("DefaultForType"), f"{where}.DefaultForType", False),
        }

    def _contact(self, raw: Json, where: str) -> Json:
        contact: Json = {"ID": None, "Name": req_text(raw.get("Name"), f"{where}.Name")}
        for field in ("JobTitle", "Phone", "MobilePhone", "Fax", "Email", "Website", "Comment"):
            contact[field] = text_value(raw.get(field), f"{where}.{field}") or ""
        contact["Default"] = bool_value(raw.get("Default"), f"{where}.Default", False)
        contact["IncludeInEmail"] = bool_value(raw.get("IncludeInEmail"), f"{where}.IncludeInEmail", False)
        contact["MarketingConsent"] = raw.get("MarketingConsent", 1)
        return contact

    # ------------------------------------------------------------------------------------------ products

    def product_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            items = list(self.products.values())
            if query.has("ID"):
                items = [p for p in items if p["ID"] == query.get("ID")]
            if query.has("Name"):
                needle = _key(query.get("Name") or "")
                items = [p for p in items if _key(p["Name"]).startswith(needle)]
            if query.has("Sku"):
                # Documented both as "containing" and "starting with": the sandbox uses containing, the looser
                # reading, so a client that does not re-check the SKU exactly gets caught.
                needle = _key(query.get("Sku") or "")
                items = [p for p in items if needle in _key(p["SKU"])]
            since = query.as_date("ModifiedSince")
            if since is not None:
                items = [p for p in items if p["LastModifiedOn"] >= since]
            if not query.as_bool("IncludeDeprecated", False) and not query.has("ID"):
                items = [p for p in items if p["Status"] != "Deprecated"]
            page = paginate(items, query, "Products")
            include_bom = query.as_bool("IncludeBOM", False)
            page["Products"] = [self._product_out(p, include_bom) for p in page["Products"]]
            return page

    def _product_out(self, product: Json, include_bom: bool = True) -> Json:
        out = dict(product)
        out["PriceTiers"] = (
            {name: product[f"PriceTier{n + 1}"] for n, name in enumerate(self.price_tiers)}
            if len(set(self.price_tiers)) == len(self.price_tiers)
            else {}
        )
        if not include_bom:
            out["BillOfMaterialsProducts"] = []
            out["BillOfMaterialsServices"] = []
        return out

    def product_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            product = self._product_write(None, body)
            self.products[product["ID"]] = product
            self._emit_product(product, "Creation")
            return {"Total": 1, "Page": 1, "Products": [self._product_out(product)]}

    def product_put(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            existing = self.products.get(str(body.get("ID") or ""))
            if existing is None:
                raise (
                    bad(f"Product with ID '{body.get('ID')}' not found.")
                    if body.get("ID")
                    else required("ID")
                )
            product = self._product_write(existing, body)
            if _changed(existing, product):
                self.products[product["ID"]] = product
                self._emit_product(product, "Update")
            else:  # a PUT that sets what is already there: no new LastModifiedOn, no event
                product = existing
            return {"Total": 1, "Page": 1, "Products": [self._product_out(product)]}

    def _emit_product(self, product: Json, event: str) -> None:
        """`Product/Updated` (reference §7): `{NumberOfProducts, ProductDetailsList: [{Event, ...the product}],
        EventType}`; it fires for a creation too. A copy: the payload must not follow later writes."""
        detail = copy.deepcopy({"Event": event, **self._product_out(product)})
        self.emit(
            PRODUCT_EVENT,
            {"NumberOfProducts": 1, "ProductDetailsList": [detail], "EventType": PRODUCT_EVENT},
        )

    def _product_write(self, existing: Json | None, body: Json) -> Json:
        creating = existing is None
        cur: Json = dict(existing) if existing else {}

        def given(name: str) -> bool:
            return name in body and (creating or body[name] is not None)

        if creating or given("SKU"):
            sku = req_text(body.get("SKU"), "SKU", max_len=50)
            for other in self.products.values():
                if _key(other["SKU"]) == _key(sku) and other["ID"] != cur.get("ID"):
                    raise bad(f"Product with SKU '{sku}' already exists.")
            cur["SKU"] = sku
        if creating or given("Name"):
            cur["Name"] = req_text(body.get("Name"), "Name")
        if creating or given("Category"):
            req_text(body.get("Category"), "Category")  # required: a PUT cannot blank it either
        if creating or given("UOM"):
            uom = req_text(body.get("UOM"), "UOM", max_len=50)
            unit = next((u for u in self.units.values() if _key(u["Name"]) == _key(uom)), None)
            if unit is None:
                raise bad(f"Unit of measure '{uom}' not found.")
            cur["UOM"] = unit["Name"]
        if creating:
            product_type = body.get("Type") or "Stock"
            if product_type not in ("Stock", "Service"):
                raise bad("Type must be 'Stock' or 'Service'.")
            cur["Type"] = product_type
        if creating or given("CostingMethod"):
            method = body.get("CostingMethod") or cur.get("CostingMethod") or "FIFO"
            if method not in COSTING_METHODS:
                raise bad(f"CostingMethod '{method}' is not valid.")
            cur["CostingMethod"] = method
        if creating or given("DropShipMode"):
            mode = body.get("DropShipMode") or "No Drop Ship"
            if mode not in ("No Drop Ship", "Optional Drop Ship", "Always Drop Ship"):
                raise bad(f"DropShipMode '{mode}' is not valid.")
            cur["DropShipMode"] = mode
        if creating or given("Status"):
            status = body.get("Status") or "Active"
            if status not in ("Active", "Setup required", "Deprecated"):
                raise bad("Status must be 'Active', 'Setup required' or 'Deprecated'.")
            cur["Status"] = status
        if creating or given("DefaultLocation"):
            location = body.get("DefaultLocation")
            cur["DefaultLocation"] = (
                self._location_by_name(location, "DefaultLocation")["Name"] if location else ""
            )
        for field, max_len in PRODUCT_TEXT_FIELDS.items():
            if creating or given(field):
                cur[field] = text_value(body.get(field), field, max_len=max_len) or ""
        for field in PRODUCT_NUMBER_FIELDS:
            if creating or given(field):
                cur[field] = decimal_value(body.get(field), field, default=ZERO, minimum=ZERO)
        for n in range(1, 11):
            field = f"PriceTier{n}"
            if creating or given(field):
                cur[field] = decimal_value(body.get(field), field, default=ZERO, minimum=ZERO)
        cur.update(self._named_tiers(body.get("PriceTiers"), "PriceTiers"))
        for flag in ("Sellable", "BillOfMaterial", "AutoAssembly", "AutoDisassembly"):
            if creating or given(flag):
                cur[flag] = bool_value(body.get(flag), flag, flag == "Sellable")
        if creating or given("BillOfMaterialsProducts"):
            cur["BillOfMaterialsProducts"] = self._bom(body.get("BillOfMaterialsProducts"), cur)
        cur.setdefault("BillOfMaterialsServices", [])
        if cur["BillOfMaterialsProducts"] and not cur["BillOfMaterial"]:
            raise bad("BillOfMaterialsProducts needs BillOfMaterial = true.")
        if cur["AutoAssembly"] and not cur["BillOfMaterialsProducts"]:
            raise bad("AutoAssembly needs a bill of materials (BillOfMaterialsProducts).")
        cur["BOMType"] = "Assembly" if cur["BillOfMaterial"] else ""
        for name in PRODUCT_LISTS:
            cur.setdefault(name, [])
        cur.setdefault("AverageCost", ZERO)
        if creating:
            cur["ID"] = self.ids.new()
        cur["LastModifiedOn"] = now_utc()
        return _ordered(cur, PRODUCT_ORDER)

    def _named_tiers(self, tiers: Any, where: str) -> Json:
        """`PriceTiers` (`{tier name: price}`) as `{"PriceTierN": price}`. Cin7 disables it when two tiers share a
        name (reference §4); the sandbox then refuses it rather than drop the prices silently."""
        if tiers is None:
            return {}
        if not isinstance(tiers, dict):
            raise bad(f"{where} must be an object keyed by price tier name.")
        if tiers and len(set(self.price_tiers)) != len(self.price_tiers):
            raise bad(f"{where} is disabled while two price tiers share a name; use PriceTier1..10.")
        out: Json = {}
        for name, value in tiers.items():
            if name not in self.price_tiers:
                raise bad(f"{where}: '{name}' is not a price tier name.")
            index = self.price_tiers.index(name) + 1
            out[f"PriceTier{index}"] = req_decimal(value, f"{where}['{name}']", minimum=ZERO)
        return out

    def _bom(self, raw: Any, product: Json) -> list[Json]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise bad("BillOfMaterialsProducts must be an array.")
        lines = []
        for index, item in enumerate(raw, start=1):
            where = f"BillOfMaterialsProducts[{index}]"
            item = _object(item, where)
            component = self._product(item.get("ComponentProductID"), item.get("ProductCode"), where)
            if component["ID"] == product.get("ID"):
                raise bad(f"{where}: a product cannot be a component of itself.")
            lines.append(
                {
                    "ComponentProductID": component["ID"],
                    "ProductCode": component["SKU"],
                    "Name": component["Name"],
                    "Quantity": req_decimal(
                        item.get("Quantity"), f"{where}.Quantity", minimum=Decimal("0.0001")
                    ),
                    "WastagePercent": decimal_value(
                        item.get("WastagePercent"), "WastagePercent", default=ZERO
                    ),
                    "WastageQuantity": decimal_value(
                        item.get("WastageQuantity"), "WastageQuantity", default=ZERO
                    ),
                    "CostPercentage": decimal_value(
                        item.get("CostPercentage"), "CostPercentage", default=ZERO
                    ),
                }
            )
        return lines

    # ------------------------------------------------------------------------------------------ stock

    def availability_get(self, query: Query, _body: Any) -> Json:
        """One row per stock product × location, in product creation order then location order (stable pages
        while the tenant is unchanged). Only the rows of the asked page are built, so a page of 1000 out of
        40,000 rows costs about as much as a page out of 1000."""
        with self.lock:
            products = [p for p in self.products.values() if p["Type"] == "Stock"]
            if query.has("ID"):
                products = [p for p in products if p["ID"] == query.get("ID")]
            if query.has("Sku"):
                sku = _key(query.get("Sku") or "")
                products = [p for p in products if _key(p["SKU"]) == sku]
            if query.has("Name"):
                name = _key(query.get("Name") or "")
                products = [p for p in products if _key(p["Name"]).startswith(name)]
            if query.has("Category"):
                category = _key(query.get("Category") or "")
                products = [p for p in products if _key(p.get("Category") or "") == category]
            locations = list(self.locations.values())
            if query.has("Location"):
                location_name = _key(query.get("Location") or "")
                locations = [loc for loc in locations if _key(loc["Name"]) == location_name]
            if query.has("Batch"):
                products = []  # the sandbox keeps no batches
            return paginate(
                _Grid(products, locations, self._availability_row), query, "ProductAvailabilityList"
            )

    def _availability_row(self, product: Json, location: Json, *, webhook: bool = False) -> Json:
        """A `/ref/productavailability` row; `webhook`: the `Stock/AvailableStockLevelChanged` row (reference §7:
        `Category` instead of `InTransit`/`NextDeliveryDate`; the caller adds `MaxRows`)."""
        level = self.stock.get(f"{product['ID']}|{location['ID']}") or {"OnHand": ZERO, "Allocated": ZERO}
        row: Json = {
            "ID": product["ID"],
            "SKU": product["SKU"],
            "Name": product["Name"],
            "Barcode": product.get("Barcode") or "",
            "Location": location["Name"],
            "Bin": None,
            "Batch": None,
            "ExpiryDate": None,
        }
        if webhook:
            row["Category"] = product.get("Category") or ""
        row.update(
            {
                "OnHand": level["OnHand"],
                "Allocated": level["Allocated"],
                "Available": level["OnHand"] - level["Allocated"],
                "OnOrder": ZERO,
                "StockOnHand": q4(level["OnHand"] * product.get("AverageCost", ZERO)),
            }
        )
        if not webhook:
            row.update({"InTransit": ZERO, "NextDeliveryDate": None})
        return row

    def adjustment_list(self, query: Query, _body: Any) -> Json:
        with self.lock:
            items = list(self.adjustments.values())
            if query.has("Status"):
                items = [a for a in items if a["Status"] == (query.get("Status") or "").upper()]
            rows = [
                {
                    "TaskID": a["TaskID"],
                    "StocktakeNumber": a["StocktakeNumber"],
                    "EffectiveDate": a["EffectiveDate"],
                    "Status": a["Status"],
                    "Reference": a["Reference"],
                    "Account": a["Account"],
                }
                for a in items
            ]
            return paginate(rows, query, "StockAdjustmentList")

    def adjustment_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            task_id = query.get("TaskID") or query.get("ID")
            adjustment = self.adjustments.get(task_id or "")
            if adjustment is None:
                raise (
                    bad(f"Stock adjustment with TaskID '{task_id}' not found.")
                    if task_id
                    else required("TaskID")
                )
            return adjustment

    def adjustment_post(self, _query: Query, body: Any) -> Json:
        return self._adjustment_write(_object(body), None)

    def adjustment_put(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            task_id = body.get("TaskID") or body.get("ID")
            existing = self.adjustments.get(str(task_id or ""))
            if existing is None:
                raise (
                    bad(f"Stock adjustment with TaskID '{task_id}' not found.")
                    if task_id
                    else required("TaskID")
                )
            if existing["Status"] != "DRAFT":
                raise bad(f"Stock adjustment '{task_id}' is {existing['Status']} and cannot be changed.")
            return self._adjustment_write(body, existing)

    def _adjustment_write(self, body: Json, existing: Json | None) -> Json:
        """Quantity on a line is the level to adjust TO, not a delta (the UI's "adjust to" column).

        Default: the new Available, so OnHand = Quantity + Allocated; `UpdateOnHand=true`: the new OnHand.
        """
        with self.lock:
            effective = body.get("EffectiveDate") or (existing or {}).get("EffectiveDate")
            if not effective:
                raise required("EffectiveDate")
            effective_dt = (
                effective if isinstance(effective, datetime) else parse_datetime(effective, "EffectiveDate")
            )
            status = (body.get("Status") or "DRAFT").upper()
            if status not in ("DRAFT", "COMPLETED"):
                raise bad("Status must be DRAFT or COMPLETED.")
            update_on_hand = bool_value(body.get("UpdateOnHand"), "UpdateOnHand", False)
            raw_lines = body.get("Lines")
            if raw_lines is None and existing is not None:
                raw_lines = existing["_raw_lines"]
            if not isinstance(raw_lines, list) or not raw_lines:
                raise required("Lines")
            default_location = next((loc for loc in self.locations.values() if loc["IsDefault"]), None)
            lines, seen = [], set()
            for index, raw in enumerate(raw_lines, start=1):
                where = f"Lines[{index}]"
                raw = _object(raw, where)
                product = self._product(raw.get("ProductID"), raw.get("SKU"), where)
                if product["Type"] != "Stock":
                    raise bad(f"{where}: '{product['SKU']}' is not a stock product.")
                location = self._location(
                    raw.get("Location"), raw.get("LocationID"), default=default_location
                )
                if (product["ID"], location["ID"]) in seen:
                    raise bad(f"{where}: '{product['SKU']}' at '{location['Name']}' appears twice.")
                seen.add((product["ID"], location["ID"]))
                lines.append(
                    {
                        "ProductID": product["ID"],
                        "SKU": product["SKU"],
                        "ProductName": product["Name"],
                        "Quantity": req_decimal(raw.get("Quantity"), f"{where}.Quantity", minimum=ZERO),
                        "UnitCost": decimal_value(
                            raw.get("UnitCost"), f"{where}.UnitCost", default=ZERO, minimum=ZERO
                        ),
                        "Location": location["Name"],
                        "LocationID": location["ID"],
                        "BatchSN": text_value(raw.get("BatchSN"), "BatchSN") or None,
                        "ExpiryDate": raw.get("ExpiryDate"),
                        "ReceivedDate": raw.get("ReceivedDate"),
                        "Comments": text_value(raw.get("Comments"), "Comments", max_len=2000) or "",
                    }
                )
            if existing is None:
                self.counters["adjustment"] += 1
            adjustment: Json = {
                "TaskID": existing["TaskID"] if existing else self.ids.new(),
                "StocktakeNumber": existing["StocktakeNumber"]
                if existing
                else f"SA-{self.counters['adjustment']:05d}",
                "EffectiveDate": effective_dt,
                "Status": status,
                "Account": text_value(body.get("Account"), "Account", max_len=50) or "",
                "Reference": text_value(body.get("Reference"), "Reference") or "",
                "Comment": text_value(body.get("Comment"), "Comment", max_len=2000) or "",
                "UpdateOnHand": update_on_hand,
                "Lines": lines,
                "_raw_lines": raw_lines,
            }
            if status == "COMPLETED":
                for line in lines:
                    level = self._stock(line["ProductID"], line["LocationID"])
                    target = line["Quantity"]
                    level["OnHand"] = target if update_on_hand else target + level["Allocated"]
                    if line["UnitCost"]:
                        self.products[line["ProductID"]]["AverageCost"] = line["UnitCost"]
            self.adjustments[adjustment["TaskID"]] = adjustment
            return adjustment

    def seed_stock_levels(self, raw_products: Any) -> Json:
        """Control API (`POST /__sandbox/stock-levels`): a large catalogue without API calls or rate limit.

        Each item `{"SKU", "Name", "Category"?, "Barcode"?, "levels": {location name: OnHand}}` creates the stock
        product when its SKU is new (unit "Item", the defaults of `POST /product`) and SETS OnHand at each named
        location (Allocated untouched). An existing product keeps its fields. All is checked before anything
        changes. Events are the caller's choice (`stock_events`).
        """
        if not isinstance(raw_products, list):
            raise bad("products must be an array.")
        with self.lock:
            by_sku = {_key(p["SKU"]): p for p in self.products.values()}
            locations = {_key(loc["Name"]): loc for loc in self.locations.values()}
            plan: list[tuple[Json | None, Json, list[tuple[str, Decimal]]]] = []
            seen: set[str] = set()
            for index, raw in enumerate(raw_products, start=1):
                where = f"products[{index}]"
                raw = _object(raw, where)
                sku = req_text(raw.get("SKU"), f"{where}.SKU", max_len=50)
                if _key(sku) in seen:
                    raise bad(f"{where}: SKU '{sku}' appears twice.")
                seen.add(_key(sku))
                product = by_sku.get(_key(sku))
                if product is not None and product["Type"] != "Stock":
                    raise bad(f"{where}: '{product['SKU']}' is not a stock product.")
                fields: Json = {}
                if product is None:
                    fields = {
                        "SKU": sku,
                        "Name": req_text(raw.get("Name"), f"{where}.Name"),
                        "Category": text_value(raw.get("Category"), f"{where}.Category") or "General",
                        "Barcode": text_value(raw.get("Barcode"), f"{where}.Barcode", max_len=50) or "",
                    }
                levels = raw.get("levels")
                if not isinstance(levels, dict):
                    raise bad(f"{where}.levels must be an object of location name to OnHand.")
                targets = []
                for name, value in levels.items():
                    location = locations.get(_key(name))
                    if location is None:
                        raise bad(f"{where}: location '{name}' not found.")
                    on_hand = req_decimal(value, f"{where}.levels['{name}']", minimum=ZERO)
                    targets.append((location["ID"], on_hand))
                plan.append((product, fields, targets))
            template: Json | None = None
            created = 0
            for product, fields, targets in plan:
                if product is None:
                    if template is None:  # the first one goes the API's way: every default and check
                        product = template = self._product_write(None, {**fields, "UOM": "Item"})
                    else:
                        product = {**template, **fields, "ID": self.ids.new()}
                        for name in ("BillOfMaterialsProducts", "BillOfMaterialsServices", *PRODUCT_LISTS):
                            product[name] = []
                    self.products[product["ID"]] = product
                    created += 1
                for location_id, on_hand in targets:
                    self._stock(product["ID"], location_id)["OnHand"] = on_hand
            return {"created": created, "updated": len(plan) - created}

    def seed_products(self, raw_products: Any) -> Json:
        """Control API (`POST /__sandbox/products`): create or update a large catalogue without API calls, rate
        limit or webhooks.

        Each item `{"SKU", "Name", "Category"?, "UOM"?, "PriceTier1".."PriceTier10"?, "PriceTiers"?: {tier name:
        price}, ...}` (also Brand, Barcode, ShortDescription, Description, Weight, Length, Width, Height and the
        other documented text and number fields) creates the product when its SKU is new (the `POST /product`
        defaults: unit "Item", Category "General", Stock, FIFO) or updates the fields given. A product whose
        fields change gets a new `LastModifiedOn`. All is checked before anything changes.
        """
        if not isinstance(raw_products, list):
            raise bad("products must be an array.")
        with self.lock:
            by_sku = {_key(p["SKU"]): p for p in self.products.values()}
            units = {_key(u["Name"]): u["Name"] for u in self.units.values()}
            plan: list[tuple[Json | None, Json]] = []
            seen: set[str] = set()
            for index, raw in enumerate(raw_products, start=1):
                where = f"products[{index}]"
                raw = _object(raw, where)
                sku = req_text(raw.get("SKU"), f"{where}.SKU", max_len=50)
                if _key(sku) in seen:
                    raise bad(f"{where}: SKU '{sku}' appears twice.")
                seen.add(_key(sku))
                unknown = set(raw) - SEED_PRODUCT_FIELDS
                if unknown:
                    raise bad(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
                product = by_sku.get(_key(sku))
                fields: Json = {"SKU": product["SKU"] if product else sku}
                if product is None or raw.get("Name") is not None:
                    fields["Name"] = req_text(raw.get("Name"), f"{where}.Name")
                if product is None or raw.get("Category") is not None:
                    fields["Category"] = text_value(raw.get("Category"), f"{where}.Category") or "General"
                if product is None or raw.get("UOM") is not None:
                    uom = units.get(_key(str(raw.get("UOM") or "Item")))
                    if uom is None:
                        raise bad(f"{where}: unit of measure '{raw.get('UOM') or 'Item'}' not found.")
                    fields["UOM"] = uom
                for field, max_len in PRODUCT_TEXT_FIELDS.items():
                    if field != "Category" and raw.get(field) is not None:
                        fields[field] = text_value(raw[field], f"{where}.{field}", max_len=max_len) or ""
                for field in (*PRODUCT_NUMBER_FIELDS, *(f"PriceTier{n}" for n in range(1, 11))):
                    if raw.get(field) is not None:
                        fields[field] = decimal_value(raw[field], f"{where}.{field}", minimum=ZERO)
                fields.update(self._named_tiers(raw.get("PriceTiers"), f"{where}.PriceTiers"))
                plan.append((product, fields))
            now = now_utc()
            template: Json | None = None
            counts = {"created": 0, "updated": 0, "unchanged": 0}
            for product, fields in plan:
                if product is None:
                    if template is None:  # the first one goes the API's way: every default and check
                        template = self._product_write(None, {k: fields[k] for k in SEED_TEMPLATE_FIELDS})
                        product = dict(template)
                    else:
                        product = {**template, "ID": self.ids.new()}
                    for name in ("BillOfMaterialsProducts", "BillOfMaterialsServices", *PRODUCT_LISTS):
                        product[name] = []
                    product.update(fields, LastModifiedOn=now)
                    self.products[product["ID"]] = product
                    counts["created"] += 1
                elif any(product.get(k) != v for k, v in fields.items()):
                    product.update(fields, LastModifiedOn=now)
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
            return counts

    # ------------------------------------------------------------------------------------------ sales

    def sale_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            return self._sale(query.get("ID"), "ID")

    def sale_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            customer = self._sale_customer(body)
            sale_type = body.get("SaleType") or "Simple"
            if sale_type not in ("Simple", "Advanced"):
                raise bad("SaleType must be 'Simple' or 'Advanced'.")
            header = self._sale_header(body, customer, None)
            skip_quote = bool_value(body.get("SkipQuote"), "SkipQuote", False)
            self.counters["sale"] += 1
            now = now_utc()
            sale: Json = {
                "ID": self.ids.new(),
                **header,
                "SkipQuote": skip_quote,
                "Status": "ESTIMATED" if skip_quote else "ESTIMATING",
                "COGSAmount": ZERO,
                "CombinedPickingStatus": "NOT AVAILABLE",
                "CombinedPackingStatus": "NOT AVAILABLE",
                "CombinedShippingStatus": "NOT AVAILABLE",
                "FulFilmentStatus": "NOT AVAILABLE",
                "CombinedInvoiceStatus": "NOT AVAILABLE",
                "CombinedPaymentStatus": "UNPAID",
                "CombinedTrackingNumbers": "",
                "Type": f"{sale_type} Sale",
                "SourceChannel": "API",
                "ServiceOnly": bool_value(body.get("ServiceOnly"), "ServiceOnly", False),
                "Quote": {
                    "Memo": "",
                    "Status": "NOT AVAILABLE" if skip_quote else "DRAFT",
                    "Prepayments": [],
                    "Lines": [],
                    "AdditionalCharges": [],
                    "TotalBeforeTax": ZERO,
                    "Tax": ZERO,
                    "Total": ZERO,
                },
                "Order": {
                    "SaleOrderNumber": f"SO-{self.counters['sale']:05d}",
                    "Memo": "",
                    "Status": "NOT AVAILABLE",
                    "Lines": [],
                    "AdditionalCharges": [],
                    "TotalBeforeTax": ZERO,
                    "Tax": ZERO,
                    "Total": ZERO,
                },
                "Fulfilments": [],
                "Invoices": [],
                "CreditNotes": [],
                "ManualJournals": {"Status": "NOT AVAILABLE", "Lines": []},
                "Attachments": [],
                "InventoryMovements": [],
                "Transactions": [],
                "LastModifiedOn": now,
                "_created": now,
                "_alloc": {},
            }
            self._apply_ship_to_other(sale, customer)
            self.sales[sale["ID"]] = sale
            self.emit(
                "Sale/Created",
                {
                    "SaleID": sale["ID"],
                    "SaleOrderNumber": sale["Order"]["SaleOrderNumber"],
                    "CustomerName": sale["Customer"],
                    "EventType": "Sale/Created",
                },
            )
            return sale

    def sale_put(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            sale = self._sale(body.get("ID"), "ID")
            if sale["Status"] == "VOIDED":
                raise bad("The sale is voided and cannot be changed.")
            customer = self.customers[sale["CustomerID"]]
            if body.get("CustomerID") or body.get("Customer"):
                customer = self._sale_customer(body)
                if customer["ID"] != sale["CustomerID"] and sale["Order"]["Status"] not in (
                    "NOT AVAILABLE",
                    "DRAFT",
                ):
                    raise bad("The customer of an authorised sale cannot be changed.")
            header = self._sale_header(body, customer, sale)
            sale.update(header)
            if "SkipQuote" in body and sale["Quote"]["Status"] in ("DRAFT", "NOT AVAILABLE"):
                sale["SkipQuote"] = bool_value(body.get("SkipQuote"), "SkipQuote", sale["SkipQuote"])
            self._apply_ship_to_other(sale, customer)
            sale["LastModifiedOn"] = now_utc()
            return sale

    def _sale_customer(self, body: Json) -> Json:
        customer: Json | None
        if body.get("CustomerID"):
            customer = self.customers.get(str(body["CustomerID"]))
            if customer is None:
                raise bad(f"Customer with ID '{body['CustomerID']}' not found.")
        elif body.get("Customer"):
            customer = self._customer_by_name(str(body["Customer"]))
            if customer is None:
                raise bad(f"Customer '{body['Customer']}' not found.")
        else:
            raise required("Customer or CustomerID")
        if customer["Status"] != "Active":
            raise bad(f"Customer '{customer['Name']}' is deprecated.")
        return customer

    def _sale_header(self, body: Json, customer: Json, sale: Json | None) -> Json:
        """The writable header fields, defaulting from the customer on POST and from the sale on PUT."""
        base: Json = sale or {}

        def pick(field: str, fallback: Any) -> Any:
            return body[field] if body.get(field) not in (None, "") else base.get(field, fallback)

        location_name = pick("Location", customer.get("Location") or None)
        if not location_name:
            raise required("Location")
        location = self._location_by_name(location_name)
        tier = self._tier_name(pick("PriceTier", customer.get("PriceTier")))
        tax_rule = self._tax_rule(pick("TaxRule", customer.get("TaxRule")))
        if "TaxInclusive" in body:
            inclusive = bool_value(body.get("TaxInclusive"), "TaxInclusive", tax_rule["TaxInclusive"])
        elif sale is not None:
            inclusive = sale["TaxCalculation"] == "Inclusive"
        else:
            inclusive = tax_rule["TaxInclusive"]
        currency = customer["Currency"]
        rate = decimal_value(body.get("CurrencyRate"), "CurrencyRate", places=5, minimum=Decimal("0.00001"))
        if rate is None:
            if currency != self.base_currency and base.get("CustomerCurrency") != currency:
                raise bad(
                    f"CurrencyRate is required: the customer currency {currency} differs from {self.base_currency}."
                )
            rate = base.get("CurrencyRate", ONE)
        header: Json = {
            "Customer": customer["Name"],
            "CustomerID": customer["ID"],
        }
        for field, max_len in SALE_TEXT_FIELDS.items():
            if field in body:
                header[field] = text_value(body.get(field), field, max_len=max_len) or ""
            else:
                header[field] = base.get(field, "")
        for field in ("BillingAddress", "ShippingAddress"):
            if body.get(field) is not None:
                header[field] = self._sale_address(_object(body[field], field), field)
            else:
                header[field] = base.get(field)
        for field in ("ShipBy", "SaleOrderDate"):
            if body.get(field):
                header[field] = parse_datetime(body[field], field)
            else:
                header[field] = base.get(field, now_utc() if field == "SaleOrderDate" else None)
        attributes = body.get("AdditionalAttributes")
        if attributes is not None:
            attributes = _object(attributes, "AdditionalAttributes")
            header["AdditionalAttributes"] = {
                f"AdditionalAttribute{n}": text_value(
                    attributes.get(f"AdditionalAttribute{n}"), f"AdditionalAttribute{n}"
                )
                or ""
                for n in range(1, 11)
            }
        else:
            header["AdditionalAttributes"] = base.get(
                "AdditionalAttributes", {f"AdditionalAttribute{n}": "" for n in range(1, 11)}
            )
        header.update(
            {
                "Location": location["Name"],
                "PriceTier": tier,
                "TaxRule": tax_rule["Name"],
                "TaxCalculation": "Inclusive" if inclusive else "Exclusive",
                "Terms": text_value(pick("Terms", customer.get("PaymentTerm")), "Terms") or "",
                "BaseCurrency": self.base_currency,
                "CustomerCurrency": currency,
                "CurrencyRate": rate,
            }
        )
        return header

    def _sale_address(self, raw: Json, where: str) -> Json:
        address: Json = {
            field: text_value(raw.get(field), f"{where}.{field}") or ""
            for field in ("Line1", "Line2", "City", "State", "Postcode", "Country")
        }
        if where == "ShippingAddress":
            address["Company"] = text_value(raw.get("Company"), f"{where}.Company") or ""
            address["Contact"] = text_value(raw.get("Contact"), f"{where}.Contact") or ""
            address["ShipToOther"] = bool_value(raw.get("ShipToOther"), f"{where}.ShipToOther", False)
        return address

    def _apply_ship_to_other(self, sale: Json, customer: Json) -> None:
        """ShipToOther=false with an unknown Line1 adds a shipping address to the customer (reference §2)."""
        address = sale.get("ShippingAddress")
        if not address or address.get("ShipToOther") or not address.get("Line1"):
            return
        if any(_key(a["Line1"]) == _key(address["Line1"]) for a in customer["Addresses"]):
            return
        customer["Addresses"].append(
            {
                "ID": self.ids.new(),
                **{f: address.get(f, "") for f in ("Line1", "Line2", "City", "State", "Postcode", "Country")},
                "Type": "Shipping",
                "DefaultForType": False,
            }
        )
        customer["LastModifiedOn"] = now_utc()

    def sale_delete(self, query: Query, _body: Any) -> Json:
        with self.lock:
            sale = self._sale(query.get("ID"), "ID")
            if query.as_bool("Void", False):
                self._void(sale)
            else:
                self._undo(sale)
            sale["LastModifiedOn"] = now_utc()
            return sale

    def _void(self, sale: Json) -> None:
        if sale["Status"] == "VOIDED":
            raise bad("The sale is already voided.")
        if any(f["Ship"]["Status"] in ("AUTHORISED", "PARTIALLY AUTHORISED") for f in sale["Fulfilments"]):
            raise bad("The sale has been shipped and cannot be voided.")
        if sale["Order"]["Status"] == "FULFILLED":
            raise bad("The sale is fulfilled and cannot be voided.")
        if any(i["Status"] in ("AUTHORISED", "PAID") for i in sale["Invoices"]):
            raise bad("The sale has an authorised invoice and cannot be voided.")
        location = self._location_by_name(sale["Location"])
        for invoice in sale["Invoices"]:
            invoice["Status"] = "VOIDED"
        for fulfilment in sale["Fulfilments"]:
            if fulfilment["Pick"]["Status"] == "AUTHORISED":
                for line in fulfilment["Pick"]["Lines"]:  # picked stock goes back on the shelf
                    self._stock(line["ProductID"], line["LocationID"])["OnHand"] += line["Quantity"]
            for stage in ("Pick", "Pack", "Ship"):
                fulfilment[stage]["Status"] = "VOIDED"
            fulfilment["FulFilmentStatus"] = "VOIDED"
        self._release(sale, location)
        sale["Status"] = "VOIDED"
        sale["Quote"]["Status"] = "VOIDED"
        sale["Order"]["Status"] = "VOIDED"
        for field in (
            "CombinedPickingStatus",
            "CombinedPackingStatus",
            "CombinedShippingStatus",
            "FulFilmentStatus",
            "CombinedInvoiceStatus",
            "CombinedPaymentStatus",
        ):
            sale[field] = "VOIDED"
        self.emit("Sale/Voided", self._thin_event(sale, "Sale/Voided"))

    def _undo(self, sale: Json) -> None:
        """`Void=false` is documented only as "undo"; the sandbox undoes an order authorisation, nothing more."""
        if sale["Status"] == "VOIDED":
            raise bad("The sale is voided.")
        if sale["Fulfilments"] or sale["Invoices"]:
            raise bad("The sale has fulfilments or invoices; undo them first.")
        if sale["Order"]["Status"] != "AUTHORISED":
            raise bad("There is no authorised stage to undo.")
        self._release(sale, self._location_by_name(sale["Location"]))
        sale["Order"]["Status"] = "DRAFT"
        sale["Status"] = "ORDERING"
        for field in (
            "CombinedPickingStatus",
            "CombinedPackingStatus",
            "CombinedShippingStatus",
            "FulFilmentStatus",
        ):
            sale[field] = "NOT AVAILABLE"
        sale["CombinedInvoiceStatus"] = "NOT AVAILABLE"
        self.emit("Sale/Undo", self._thin_event(sale, "Sale/Undo"))

    def _release(self, sale: Json, location: Json) -> None:
        for product_id, quantity in sale["_alloc"].items():
            level = self._stock(product_id, location["ID"])
            level["Allocated"] = max(ZERO, level["Allocated"] - quantity)
        sale["_alloc"] = {}

    def _thin_event(self, sale: Json, event_type: str) -> Json:
        return {
            "SaleID": sale["ID"],
            "SaleOrderNumber": sale["Order"]["SaleOrderNumber"],
            "EventType": event_type,
        }

    # ------------------------------------------------------------------------------------------ quote / order

    def quote_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            sale = self._sale(query.get("SaleID"))
            return {"SaleID": sale["ID"], **sale["Quote"]}

    def quote_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            sale = self._sale(body.get("SaleID"))
            status = self._stage_status(body)
            if sale["SkipQuote"]:
                raise bad("The sale skips the quote stage (SkipQuote = true).")
            if sale["Quote"]["Status"] != "DRAFT":
                raise bad(f"The quote is {sale['Quote']['Status']} and cannot be changed.")
            lines = self._lines(body.get("Lines"), sale)
            charges = self._charges(body.get("AdditionalCharges"), sale)
            sale["Quote"].update(
                {"Memo": text_value(body.get("Memo"), "Memo", max_len=2000) or "", "Status": status}
            )
            sale["Quote"].update(self._totals(lines, charges))
            if status == "AUTHORISED":
                sale["Status"] = "ESTIMATED"
                self.emit("Sale/QuoteAuthorised", self._thin_event(sale, "Sale/QuoteAuthorised"))
            sale["LastModifiedOn"] = now_utc()
            return {"SaleID": sale["ID"], **sale["Quote"]}

    def order_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            sale = self._sale(query.get("SaleID"))
            return {"SaleID": sale["ID"], **sale["Order"]}

    def order_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            sale = self._sale(body.get("SaleID"))
            status = self._stage_status(body)
            if sale["Status"] == "VOIDED":
                raise bad("The sale is voided.")
            if sale["Order"]["Status"] not in ("NOT AVAILABLE", "DRAFT"):
                raise bad(f"The sale order is {sale['Order']['Status']} and cannot be changed.")
            if not sale["SkipQuote"] and sale["Quote"]["Status"] != "AUTHORISED":
                raise bad(
                    "The quote must be authorised before the order (or create the sale with SkipQuote)."
                )
            mode = (body.get("AutoPickPackShipMode") or "NOPICK").upper()
            if mode not in AUTO_PICK_MODES:
                raise bad(f"AutoPickPackShipMode must be one of {', '.join(AUTO_PICK_MODES)}.")
            lines = self._lines(body.get("Lines"), sale)
            charges = self._charges(body.get("AdditionalCharges"), sale)
            customer = self.customers[sale["CustomerID"]]
            if status == "AUTHORISED":
                if not lines:
                    raise bad("An order needs at least one line to be authorised.")
                if customer.get("IsOnCreditHold"):
                    raise bad(
                        f"Customer '{customer['Name']}' is on credit hold; the order cannot be authorised."
                    )
            order = sale["Order"]
            order["Memo"] = text_value(body.get("Memo"), "Memo", max_len=2000) or ""
            order["Lines"] = lines
            order["AdditionalCharges"] = charges
            order.update(self._totals(lines, charges))
            if status == "DRAFT":
                order["Status"] = "DRAFT"
                sale["Status"] = "ORDERING"
            else:
                self._authorise_order(sale, mode)
            sale["LastModifiedOn"] = now_utc()
            return {"SaleID": sale["ID"], **order}

    def _stage_status(self, body: Json) -> str:
        status = body.get("Status")
        if not status:
            raise required("Status")
        status = str(status).upper()
        if status not in ("DRAFT", "AUTHORISED"):
            raise bad("Status must be DRAFT or AUTHORISED.")
        return status

    def _lines(self, raw_lines: Any, sale: Json) -> list[Json]:
        if raw_lines is None:
            return []
        if not isinstance(raw_lines, list):
            raise bad("Lines must be an array.")
        inclusive = sale["TaxCalculation"] == "Inclusive"
        lines, seen = [], set()
        for index, raw in enumerate(raw_lines, start=1):
            where = f"Lines[{index}]"
            raw = _object(raw, where)
            product = self._product(raw.get("ProductID"), raw.get("SKU"), where)
            if product["Status"] == "Deprecated":
                raise bad(f"{where}: product '{product['SKU']}' is deprecated.")
            if self.reject_duplicate_lines and product["ID"] in seen:
                raise bad(f"{where}: product '{product['SKU']}' appears more than once in the order lines.")
            seen.add(product["ID"])
            line = self._priced_line(raw, where, inclusive)
            lines.append(
                {
                    "ProductID": product["ID"],
                    "SKU": product["SKU"],
                    "Name": req_text(raw.get("Name"), f"{where}.Name", max_len=1024),
                    "Quantity": line["Quantity"],
                    "Price": line["Price"],
                    "Discount": line["Discount"],
                    "Tax": line["Tax"],
                    "AverageCost": product.get("AverageCost", ZERO),
                    "TaxRule": line["TaxRule"],
                    "Comment": text_value(raw.get("Comment"), f"{where}.Comment") or "",
                    "DropShip": bool_value(raw.get("DropShip"), f"{where}.DropShip", False),
                    "BackorderQuantity": ZERO,
                    "Total": line["Total"],
                }
            )
        return lines

    def _charges(self, raw_charges: Any, sale: Json) -> list[Json]:
        if raw_charges is None:
            return []
        if not isinstance(raw_charges, list):
            raise bad("AdditionalCharges must be an array.")
        inclusive = sale["TaxCalculation"] == "Inclusive"
        charges = []
        for index, raw in enumerate(raw_charges, start=1):
            where = f"AdditionalCharges[{index}]"
            raw = _object(raw, where)
            if raw.get("Quantity") in (None, ""):
                raw = {**raw, "Quantity": 1}
            line = self._priced_line(raw, where, inclusive)
            charges.append(
                {
                    "Description": req_text(raw.get("Description"), f"{where}.Description"),
                    "Quantity": line["Quantity"],
                    "Price": line["Price"],
                    "Discount": line["Discount"],
                    "Tax": line["Tax"],
                    "TaxRule": line["TaxRule"],
                    "Total": line["Total"],
                    "Comment": text_value(raw.get("Comment"), f"{where}.Comment") or "",
                }
            )
        return charges

    def _priced_line(self, raw: Json, where: str, inclusive: bool) -> Json:
        """Quantity/Price/Tax/Total with 4 decimals, Discount with 2, and Total checked within 0.01.

        Exclusive tax: Total = Qty x Price x (1 - Discount/100) + Tax. Inclusive: the price already holds the tax,
        so Total = Qty x Price x (1 - Discount/100), and Tax must be what that Total holds at the rule's percent,
        Total x p / (100 + p), within 0.01.
        """
        quantity = req_decimal(raw.get("Quantity"), f"{where}.Quantity", minimum=ONE)  # "minimal value is 1"
        price = req_decimal(raw.get("Price"), f"{where}.Price", minimum=ZERO)
        discount = decimal_value(
            raw.get("Discount"), f"{where}.Discount", places=2, default=ZERO, minimum=ZERO, maximum=HUNDRED
        )
        assert discount is not None
        tax = req_decimal(raw.get("Tax"), f"{where}.Tax", minimum=ZERO)
        tax_rule = self._tax_rule(raw.get("TaxRule"), f"{where}.TaxRule")
        net = quantity * price * (ONE - discount / HUNDRED)
        expected = net if inclusive else net + tax
        total = decimal_value(raw.get("Total"), f"{where}.Total")
        if total is None:
            total = q4(expected)
        elif abs(total - expected) > TOTAL_TOLERANCE:
            raise bad(
                f"{where}: Total {total} does not match Quantity x Price x (1 - Discount/100)"
                f"{'' if inclusive else ' + Tax'} = {q4(expected)}."
            )
        if inclusive:
            # The price holds the tax: Cin7 splits it out of the line's total at the rule's percent.
            percent = tax_rule["TaxPercent"]
            held = total * percent / (HUNDRED + percent)
            if abs(tax - held) > TOTAL_TOLERANCE:
                raise bad(
                    f"{where}: Tax {tax} does not match the tax {q4(held)} a tax-inclusive Total of {total} holds "
                    f"at {percent}% ({tax_rule['Name']})."
                )
        return {
            "Quantity": quantity,
            "Price": price,
            "Discount": discount,
            "Tax": tax,
            "TaxRule": tax_rule["Name"],
            "Total": total,
        }

    def _totals(self, lines: list[Json], charges: list[Json]) -> Json:
        # Line totals already follow the sale's tax mode, so the document totals are the same sums either way.
        tax = sum((item["Tax"] for item in lines + charges), ZERO)
        total = sum((item["Total"] for item in lines + charges), ZERO)
        return {"TotalBeforeTax": q4(total - tax), "Tax": q4(tax), "Total": q4(total)}

    def _authorise_order(self, sale: Json, mode: str) -> None:
        """Allocate stock at the sale's location; auto-assemble BOM products short of stock; backorder the rest."""
        location = self._location_by_name(sale["Location"])
        order = sale["Order"]
        backordered = False
        allocations: dict[str, Decimal] = {}
        for line in order["Lines"]:
            product = self.products[line["ProductID"]]
            if product["Type"] != "Stock" or line["DropShip"]:
                continue
            level = self._stock(product["ID"], location["ID"])
            wanted = line["Quantity"]
            available = level["OnHand"] - level["Allocated"]
            if available < wanted and product.get("AutoAssembly") and product["BillOfMaterialsProducts"]:
                self._auto_assemble(product, location, wanted - max(available, ZERO))
                available = level["OnHand"] - level["Allocated"]
            allocated = min(wanted, max(available, ZERO))
            line["BackorderQuantity"] = wanted - allocated
            backordered = backordered or line["BackorderQuantity"] > 0
            level["Allocated"] += allocated
            allocations[product["ID"]] = allocations.get(product["ID"], ZERO) + allocated
        sale["_alloc"] = allocations
        order["Status"] = "AUTHORISED"
        sale["Status"] = "BACKORDERED" if backordered else "ORDERED"
        sale["CombinedPickingStatus"] = "NOT PICKED"
        sale["CombinedPackingStatus"] = "NOT PACKED"
        sale["CombinedShippingStatus"] = "NOT SHIPPED"
        sale["FulFilmentStatus"] = "NOT FULFILLED"
        sale["CombinedInvoiceStatus"] = "NOT INVOICED"
        self.emit("Sale/OrderAuthorised", self._thin_event(sale, "Sale/OrderAuthorised"))
        if backordered:
            self.emit("Sale/Backordered", self._thin_event(sale, "Sale/Backordered"))
        elif mode != "NOPICK" and sale["Type"] == "Simple Sale":
            fulfilment = self._new_fulfilment(sale)
            self._pick(sale, fulfilment, "AUTHORISED", None, auto=True)
            if mode in ("AUTOPICKPACK", "AUTOPICKPACKSHIP"):
                self._pack(sale, fulfilment, "AUTHORISED", None)
            if mode == "AUTOPICKPACKSHIP":
                self._ship(sale, fulfilment, {"Status": "AUTHORISED", "Lines": []})

    def _auto_assemble(self, product: Json, location: Json, shortfall: Decimal) -> None:
        """Build as many whole units as the components allow, up to the shortfall (reference §4, inference)."""
        whole = shortfall.to_integral_value(rounding=ROUND_CEILING)
        can_build = whole
        for component in product["BillOfMaterialsProducts"]:
            level = self._stock(component["ComponentProductID"], location["ID"])
            free = max(level["OnHand"] - level["Allocated"], ZERO)
            can_build = min(can_build, (free / component["Quantity"]).to_integral_value(rounding=ROUND_FLOOR))
        if can_build <= 0:
            return
        for component in product["BillOfMaterialsProducts"]:
            self._stock(component["ComponentProductID"], location["ID"])["OnHand"] -= (
                component["Quantity"] * can_build
            )
        self._stock(product["ID"], location["ID"])["OnHand"] += can_build

    # ------------------------------------------------------------------------------------------ fulfilment

    def fulfilment_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            sale = self._sale(query.get("SaleID"))
            return {"SaleID": sale["ID"], "Fulfilments": sale["Fulfilments"]}

    def fulfilment_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            sale = self._sale(body.get("SaleID"))
            self._require_authorised(sale)
            if any(f["Pick"]["Status"] != "AUTHORISED" for f in sale["Fulfilments"]):
                raise bad("Every existing fulfilment must have an authorised pick before a new one is added.")
            fulfilment = self._new_fulfilment(sale)
            sale["LastModifiedOn"] = now_utc()
            return {"SaleID": sale["ID"], **fulfilment}

    def _require_authorised(self, sale: Json) -> None:
        if sale["Status"] == "VOIDED":
            raise bad("The sale is voided.")
        if sale["Order"]["Status"] not in ("AUTHORISED", "FULFILLED"):
            raise bad("The sale order must be authorised first.")

    def _new_fulfilment(self, sale: Json) -> Json:
        number = len(sale["Fulfilments"]) + 1
        if number > 1:
            sale["Type"] = "Advanced Sale"  # a second fulfilment turns a simple sale into an advanced one
        fulfilment = {
            "TaskID": sale["ID"] if number == 1 else self.ids.new(),
            "FulfillmentNumber": number,
            "LinkedInvoiceNumber": None,
            "FulFilmentStatus": "NOT FULFILLED",
            "Pick": {"Status": "NOT AVAILABLE", "Lines": []},
            "Pack": {"Status": "NOT AVAILABLE", "Lines": []},
            "Ship": {
                "Status": "NOT AVAILABLE",
                "RequireBy": sale.get("ShipBy"),
                "ShippingAddress": sale.get("ShippingAddress"),
                "ShippingNotes": sale.get("ShippingNotes", ""),
                "Lines": [],
            },
        }
        sale["Fulfilments"].append(fulfilment)
        return fulfilment

    def _task(self, task_id: Any, *, create: bool = False) -> tuple[Json, Json]:
        if not task_id:
            raise required("TaskID")
        for sale in self.sales.values():
            for fulfilment in sale["Fulfilments"]:
                if fulfilment["TaskID"] == task_id:
                    return sale, fulfilment
        found = self.sales.get(str(task_id))
        if found is not None and create and not found["Fulfilments"]:
            # A simple sale's first fulfilment has TaskID = SaleID and exists once the order is authorised.
            self._require_authorised(found)
            return found, self._new_fulfilment(found)
        raise bad(f"Fulfilment task with TaskID '{task_id}' not found.")

    def stage_get(self, stage: str) -> Callable[[Query, Any], Json]:
        def handler(query: Query, _body: Any) -> Json:
            with self.lock:
                _sale, fulfilment = self._task(query.get("TaskID"))
                return {"TaskID": fulfilment["TaskID"], **fulfilment[stage]}

        return handler

    def pick_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            sale, fulfilment = self._task(body.get("TaskID"), create=True)
            self._require_authorised(sale)
            auto = (body.get("AutoPickMode") or "").upper() == "AUTOPICK"
            status = "AUTHORISED" if auto and not body.get("Status") else self._stage_status(body)
            self._pick(sale, fulfilment, status, None if auto else body.get("Lines"), auto=auto)
            sale["LastModifiedOn"] = now_utc()
            return {"TaskID": fulfilment["TaskID"], **fulfilment["Pick"]}

    def _pick(self, sale: Json, fulfilment: Json, status: str, raw_lines: Any, *, auto: bool) -> None:
        if fulfilment["Pick"]["Status"] in ("AUTHORISED", "VOIDED"):
            raise bad(f"The pick is {fulfilment['Pick']['Status']} and cannot be changed.")
        location = self._location_by_name(sale["Location"])
        ordered = self._ordered_quantities(sale)
        picked_elsewhere = self._stage_quantities(sale, "Pick", exclude=fulfilment)
        if auto:
            lines = []
            for product_id, quantity in ordered.items():
                remaining = min(
                    quantity - picked_elsewhere.get(product_id, ZERO), sale["_alloc"].get(product_id, ZERO)
                )
                if remaining > 0:
                    lines.append(self._stock_line(self.products[product_id], location, remaining))
            if not lines:
                raise bad("Nothing is allocated to pick.")
        else:
            lines = self._stage_lines(raw_lines, sale, location, "Pick")
            totals: dict[str, Decimal] = {}
            for line in lines:
                totals[line["ProductID"]] = totals.get(line["ProductID"], ZERO) + line["Quantity"]
            for product_id, quantity in totals.items():
                if product_id not in ordered:
                    raise bad(f"Pick: '{self.products[product_id]['SKU']}' is not on the order.")
                if picked_elsewhere.get(product_id, ZERO) + quantity > ordered[product_id]:
                    raise bad(f"Pick: more '{self.products[product_id]['SKU']}' than ordered.")
        if status == "AUTHORISED":
            for line in lines:
                level = self._stock(line["ProductID"], line["LocationID"])
                own = (
                    sale["_alloc"].get(line["ProductID"], ZERO)
                    if line["LocationID"] == location["ID"]
                    else ZERO
                )
                free = level["OnHand"] - level["Allocated"]
                if line["Quantity"] > own + max(free, ZERO):
                    raise bad(f"Pick: not enough '{line['SKU']}' at '{line['Location']}'.")
            for line in lines:  # picking takes the stock off the shelf: OnHand and the allocation both drop
                level = self._stock(line["ProductID"], line["LocationID"])
                own = (
                    sale["_alloc"].get(line["ProductID"], ZERO)
                    if line["LocationID"] == location["ID"]
                    else ZERO
                )
                release = min(own, line["Quantity"])
                level["OnHand"] -= line["Quantity"]
                level["Allocated"] -= release
                if release:
                    sale["_alloc"][line["ProductID"]] = own - release
        fulfilment["Pick"] = {"Status": status, "Lines": lines}
        self._refresh_fulfilment(sale)

    def pack_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            sale, fulfilment = self._task(body.get("TaskID"))
            self._require_authorised(sale)
            self._pack(sale, fulfilment, self._stage_status(body), body.get("Lines"))
            sale["LastModifiedOn"] = now_utc()
            return {"TaskID": fulfilment["TaskID"], **fulfilment["Pack"]}

    def _pack(self, sale: Json, fulfilment: Json, status: str, raw_lines: Any) -> None:
        if fulfilment["Pick"]["Status"] != "AUTHORISED":
            raise bad("The pick must be authorised before packing.")
        if fulfilment["Pack"]["Status"] in ("AUTHORISED", "VOIDED"):
            raise bad(f"The pack is {fulfilment['Pack']['Status']} and cannot be changed.")
        location = self._location_by_name(sale["Location"])
        if raw_lines is None:  # convenience: pack everything picked in one box
            lines = [{**line, "Box": "1"} for line in fulfilment["Pick"]["Lines"]]
        else:
            lines = self._stage_lines(raw_lines, sale, location, "Pack")
            picked: dict[str, Decimal] = {}
            for line in fulfilment["Pick"]["Lines"]:
                picked[line["ProductID"]] = picked.get(line["ProductID"], ZERO) + line["Quantity"]
            packed: dict[str, Decimal] = {}
            for line in lines:
                packed[line["ProductID"]] = packed.get(line["ProductID"], ZERO) + line["Quantity"]
            for product_id, quantity in packed.items():
                if quantity > picked.get(product_id, ZERO):
                    raise bad(f"Pack: more '{self.products[product_id]['SKU']}' than picked.")
        fulfilment["Pack"] = {"Status": status, "Lines": lines}
        self._refresh_fulfilment(sale)

    def ship_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            sale, fulfilment = self._task(body.get("TaskID"))
            self._require_authorised(sale)
            if fulfilment["Ship"]["Status"] in ("AUTHORISED", "VOIDED"):
                raise bad(
                    f"The shipment is {fulfilment['Ship']['Status']}; use PUT with AddTrackingNumbers=true "
                    "to change tracking numbers."
                )
            self._ship(sale, fulfilment, body)
            sale["LastModifiedOn"] = now_utc()
            return {"TaskID": fulfilment["TaskID"], **fulfilment["Ship"]}

    def ship_put(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            sale, fulfilment = self._task(body.get("TaskID"))
            self._require_authorised(sale)
            ship = fulfilment["Ship"]
            if ship["Status"] == "VOIDED":
                raise bad("The shipment is voided.")
            if ship["Status"] in ("AUTHORISED", "PARTIALLY AUTHORISED"):
                if not bool_value(body.get("AddTrackingNumbers"), "AddTrackingNumbers", False):
                    raise bad(
                        "The shipment is authorised; send AddTrackingNumbers=true to change tracking numbers."
                    )
                self._add_tracking(sale, fulfilment, body.get("Lines"))
            else:
                self._ship(sale, fulfilment, body)
            sale["LastModifiedOn"] = now_utc()
            return {"TaskID": fulfilment["TaskID"], **fulfilment["Ship"]}

    def _ship_lines(self, raw_lines: Any) -> list[Json]:
        if raw_lines is None:
            return []
        if not isinstance(raw_lines, list):
            raise bad("Lines must be an array.")
        lines = []
        for index, raw in enumerate(raw_lines, start=1):
            where = f"Lines[{index}]"
            raw = _object(raw, where)
            shipped = raw.get("ShipmentDate")
            box = raw.get("Box", raw.get("Boxes"))
            lines.append(
                {
                    "ID": raw.get("ID") or self.ids.new(),
                    "ShipmentDate": parse_datetime(shipped, f"{where}.ShipmentDate") if shipped else None,
                    "Carrier": text_value(raw.get("Carrier"), f"{where}.Carrier") or "",
                    "Boxes": "" if box is None else str(box),
                    "TrackingNumber": text_value(raw.get("TrackingNumber"), f"{where}.TrackingNumber") or "",
                    "TrackingURL": "",
                    "IsShipped": bool_value(raw.get("IsShipped"), f"{where}.IsShipped", False),
                }
            )
        return lines

    def _ship(self, sale: Json, fulfilment: Json, body: Json) -> None:
        if fulfilment["Pack"]["Status"] != "AUTHORISED":
            raise bad("The pack must be authorised before shipping.")
        status = self._stage_status(body)
        lines = self._ship_lines(body.get("Lines"))
        before = self._tracking(fulfilment)
        boxes_packed = {str(line.get("Box") or "") for line in fulfilment["Pack"]["Lines"]} - {""}
        shipped = [line for line in lines if line["IsShipped"]]
        boxes_shipped = {line["Boxes"] for line in shipped}
        all_boxes = bool(shipped) and (
            any(not line["Boxes"] for line in shipped) or boxes_packed <= boxes_shipped
        )
        if status == "AUTHORISED" or all_boxes:
            new_status = "AUTHORISED"
            now = now_utc()
            for line in lines:
                line["IsShipped"] = True
                line["ShipmentDate"] = line["ShipmentDate"] or now
        elif shipped:
            new_status = "PARTIALLY AUTHORISED"
        else:
            new_status = "DRAFT"
        ship = fulfilment["Ship"]
        ship["Status"] = new_status
        ship["Lines"] = lines
        if body.get("RequireBy"):
            ship["RequireBy"] = parse_datetime(body["RequireBy"], "RequireBy")
        if body.get("ShippingAddress") is not None:
            ship["ShippingAddress"] = self._sale_address(_object(body["ShippingAddress"]), "ShippingAddress")
        if "ShippingNotes" in body:
            ship["ShippingNotes"] = text_value(body.get("ShippingNotes"), "ShippingNotes", max_len=2000) or ""
        self._refresh_fulfilment(sale)
        if new_status == "AUTHORISED":
            self.emit(
                "Sale/ShipmentAuthorised",
                {
                    "SaleTaskID": fulfilment["TaskID"],
                    "TenantID": self.account_id,
                    "OrderNumber": sale["Order"]["SaleOrderNumber"],
                    "EventType": "Sale/ShipmentAuthorised",
                },
            )
        if self._tracking(fulfilment) != before and self._tracking(fulfilment):
            self._emit_tracking(sale, fulfilment)

    def _add_tracking(self, sale: Json, fulfilment: Json, raw_lines: Any) -> None:
        before = self._tracking(fulfilment)
        lines = self._ship_lines(raw_lines)
        existing = {line["ID"]: line for line in fulfilment["Ship"]["Lines"]}
        for line in lines:
            if line["ID"] in existing:
                target = existing[line["ID"]]
                for field in ("TrackingNumber", "Carrier"):
                    if line[field]:
                        target[field] = line[field]
                if line["ShipmentDate"]:
                    target["ShipmentDate"] = line["ShipmentDate"]
            else:
                line["IsShipped"] = True
                line["ShipmentDate"] = line["ShipmentDate"] or now_utc()
                fulfilment["Ship"]["Lines"].append(line)
        self._refresh_fulfilment(sale)
        if self._tracking(fulfilment) != before:
            self._emit_tracking(sale, fulfilment)

    def _tracking(self, fulfilment: Json) -> list[tuple[str, str]]:
        return [
            (line["TrackingNumber"], line["Carrier"])
            for line in fulfilment["Ship"]["Lines"]
            if line["TrackingNumber"]
        ]

    def _emit_tracking(self, sale: Json, fulfilment: Json) -> None:
        self.emit(
            "Sale/ShipmentTrackingNumberChanged",
            {
                "SaleID": sale["ID"],
                "TaskID": fulfilment["TaskID"],
                "SaleOrderNumber": sale["Order"]["SaleOrderNumber"],
                "SaleOrderDate": tenant_date(sale.get("SaleOrderDate")),
                "CustomerName": sale["Customer"],
                "CustomerContact": sale.get("Contact") or "",
                "CustomerEmail": sale.get("Email") or "",
                "TaskTypeSign": 0,
                "Shipments": [
                    {
                        "ShipmentDate": tenant_date(line["ShipmentDate"]),
                        "TrackingNumber": line["TrackingNumber"],
                        "TrackingUrl": "",
                        "Carrier": line["Carrier"],
                    }
                    for line in fulfilment["Ship"]["Lines"]
                    if line["TrackingNumber"]
                ],
                "EventType": "Sale/ShipmentTrackingNumberChanged",
            },
        )

    def _stage_lines(self, raw_lines: Any, sale: Json, location: Json, stage: str) -> list[Json]:
        if not isinstance(raw_lines, list) or not raw_lines:
            raise required("Lines")
        lines = []
        for index, raw in enumerate(raw_lines, start=1):
            where = f"{stage} Lines[{index}]"
            raw = _object(raw, where)
            product = self._product(raw.get("ProductID"), raw.get("SKU"), where)
            line_location = self._location(raw.get("Location"), raw.get("LocationID"), default=location)
            quantity = req_decimal(raw.get("Quantity"), f"{where}.Quantity", minimum=Decimal("0.0001"))
            line = self._stock_line(product, line_location, quantity)
            line["BatchSN"] = text_value(raw.get("BatchSN"), "BatchSN") or None
            if stage == "Pack":
                box = raw.get("Box")
                line["Box"] = "" if box is None else str(box)
            lines.append(line)
        return lines

    def _stock_line(self, product: Json, location: Json, quantity: Decimal) -> Json:
        return {
            "ProductID": product["ID"],
            "SKU": product["SKU"],
            "Name": product["Name"],
            "Location": location["Name"],
            "LocationID": location["ID"],
            "Quantity": quantity,
            "BatchSN": None,
            "ExpiryDate": None,
            "NonInventory": product["Type"] != "Stock",
        }

    def _ordered_quantities(self, sale: Json) -> dict[str, Decimal]:
        ordered: dict[str, Decimal] = {}
        for line in sale["Order"]["Lines"]:
            ordered[line["ProductID"]] = ordered.get(line["ProductID"], ZERO) + line["Quantity"]
        return ordered

    def _stage_quantities(self, sale: Json, stage: str, *, exclude: Json | None = None) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for fulfilment in sale["Fulfilments"]:
            if fulfilment is exclude or fulfilment[stage]["Status"] in ("NOT AVAILABLE", "VOIDED"):
                continue
            for line in fulfilment[stage]["Lines"]:
                totals[line["ProductID"]] = totals.get(line["ProductID"], ZERO) + line["Quantity"]
        return totals

    def _refresh_fulfilment(self, sale: Json) -> None:
        """Recompute the sale's combined statuses and tracking numbers from its fulfilments."""
        ordered = self._ordered_quantities(sale)

        def done(stage: str, only: Callable[[Json], bool]) -> dict[str, Decimal]:
            totals: dict[str, Decimal] = {}
            for fulfilment in sale["Fulfilments"]:
                if only(fulfilment):
                    for line in fulfilment[stage]["Lines"]:
                        totals[line["ProductID"]] = totals.get(line["ProductID"], ZERO) + line["Quantity"]
            return totals

        def combined(totals: dict[str, Decimal], word: str) -> str:
            if ordered and all(totals.get(p, ZERO) >= q for p, q in ordered.items()):
                return word
            return f"PARTIALLY {word}" if any(v > 0 for v in totals.values()) else f"NOT {word}"

        picked = done("Pick", lambda f: f["Pick"]["Status"] == "AUTHORISED")
        packed = done("Pack", lambda f: f["Pack"]["Status"] == "AUTHORISED")
        shipped = done("Pack", lambda f: f["Ship"]["Status"] == "AUTHORISED")
        sale["CombinedPickingStatus"] = combined(picked, "PICKED")
        sale["CombinedPackingStatus"] = combined(packed, "PACKED")
        sale["CombinedShippingStatus"] = combined(shipped, "SHIPPED")
        if sale["CombinedShippingStatus"] == "NOT SHIPPED" and any(
            f["Ship"]["Status"] == "PARTIALLY AUTHORISED" for f in sale["Fulfilments"]
        ):
            sale["CombinedShippingStatus"] = "PARTIALLY SHIPPED"
        sale["FulFilmentStatus"] = combined(shipped, "FULFILLED")
        for fulfilment in sale["Fulfilments"]:
            ship_status = fulfilment["Ship"]["Status"]
            fulfilment["FulFilmentStatus"] = "FULFILLED" if ship_status == "AUTHORISED" else "NOT FULFILLED"
        numbers: list[str] = []
        for fulfilment in sale["Fulfilments"]:
            for line in fulfilment["Ship"]["Lines"]:
                if line["TrackingNumber"] and line["TrackingNumber"] not in numbers:
                    numbers.append(line["TrackingNumber"])
        sale["CombinedTrackingNumbers"] = ", ".join(numbers)
        if sale["FulFilmentStatus"] == "FULFILLED":
            sale["Order"]["Status"] = "FULFILLED"
        if sale["Type"] == "Simple Sale" and sale["Fulfilments"]:
            # SHIPPED is not a sale status (reference §2); a simple sale shows its furthest fulfilment stage.
            fulfilment = sale["Fulfilments"][0]
            if fulfilment["Ship"]["Status"] not in ("NOT AVAILABLE",):
                sale["Status"] = "SHIPPING"
            elif fulfilment["Pack"]["Status"] == "AUTHORISED":
                sale["Status"] = "PACKED"
            elif fulfilment["Pack"]["Status"] == "DRAFT":
                sale["Status"] = "PACKING"
            elif fulfilment["Pick"]["Status"] == "AUTHORISED":
                sale["Status"] = "PICKED"
            elif fulfilment["Pick"]["Status"] == "DRAFT":
                sale["Status"] = "PICKING"
        self._refresh_invoicing(sale)

    # ------------------------------------------------------------------------------------------ invoice / payment

    def invoice_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            sale = self._sale(query.get("SaleID"))
            return {"SaleID": sale["ID"], "Invoices": sale["Invoices"]}

    def invoice_post(self, _query: Query, body: Any) -> Json:
        """Create or change a DRAFT invoice, or authorise it (reference §2): the order must be authorised; no
        `TaskID` (or the sale's) names the simple sale's invoice, `TaskID` 000…0 opens a further one. Without
        `Lines` the first invoice takes the order's lines and charges; a further one needs its lines."""
        body = _object(body)
        with self.lock:
            sale = self._sale(body.get("SaleID"))
            self._require_authorised(sale)
            status = self._stage_status(body)
            invoice = self._invoice_task(sale, body.get("TaskID"))
            others = [i for i in sale["Invoices"] if i is not invoice and i["Status"] != "VOIDED"]
            if body.get("Lines") is None:
                if others:
                    raise required("Lines")
                lines = copy.deepcopy(sale["Order"]["Lines"])
            else:
                lines = self._lines(body.get("Lines"), sale)
            if body.get("AdditionalCharges") is None:
                charges = [] if others else copy.deepcopy(sale["Order"]["AdditionalCharges"])
            else:
                charges = self._charges(body.get("AdditionalCharges"), sale)
            ordered = self._ordered_quantities(sale)
            invoiced: dict[str, Decimal] = {}
            for line in [*(x for i in others for x in i["Lines"]), *lines]:
                invoiced[line["ProductID"]] = invoiced.get(line["ProductID"], ZERO) + line["Quantity"]
            for product_id, quantity in invoiced.items():
                if quantity > ordered.get(product_id, ZERO):
                    raise bad(f"Invoice: more '{self.products[product_id]['SKU']}' than ordered.")
            if status == "AUTHORISED" and not lines and not charges:
                raise bad("An invoice needs at least one line to be authorised.")
            now = now_utc()
            invoice_date = (
                parse_datetime(body["InvoiceDate"], "InvoiceDate") if body.get("InvoiceDate") else None
            )
            due = (
                parse_datetime(body["InvoiceDueDate"], "InvoiceDueDate")
                if body.get("InvoiceDueDate")
                else None
            )
            account = text_value(body.get("Account"), "Account", max_len=50) or "4000"
            memo = text_value(body.get("Memo"), "Memo", max_len=2000) or ""
            linked = text_value(body.get("LinkedFulfillmentNumber"), "LinkedFulfillmentNumber") or ""
            if "TaskID" not in invoice:
                self.counters["invoice"] += 1
                invoice["TaskID"] = sale["ID"] if not sale["Invoices"] else self.ids.new()
                invoice["InvoiceNumber"] = f"INV-{self.counters['invoice']:05d}"
            invoice.update(
                {
                    "Memo": memo,
                    "Status": status,
                    "InvoiceDate": invoice_date or invoice.get("InvoiceDate") or now,
                    "InvoiceDueDate": due or invoice.get("InvoiceDueDate") or invoice_date or now,
                    "LinkedFulfillmentNumber": linked,
                    "Lines": [{**line, "Account": line.get("Account") or account} for line in lines],
                    "AdditionalCharges": charges,
                    **self._totals(lines, charges),
                }
            )
            if all(i is not invoice for i in sale["Invoices"]):
                if sale["Invoices"]:
                    sale["Type"] = "Advanced Sale"  # a second invoice, like a second fulfilment
                sale["Invoices"].append(invoice)
            self._refresh_invoicing(sale)
            sale["LastModifiedOn"] = now_utc()
            if status == "AUTHORISED":
                self.emit(
                    "Sale/InvoiceAuthorised",
                    {
                        "SaleTaskID": invoice["TaskID"],
                        "TenantID": self.account_id,
                        "OrderNumber": sale["Order"]["SaleOrderNumber"],
                        "InvoiceNumber": invoice["InvoiceNumber"],
                        "EventType": "Sale/InvoiceAuthorised",
                    },
                )
            return {"SaleID": sale["ID"], **invoice}

    def _invoice_task(self, sale: Json, task_id: Any) -> Json:
        """The DRAFT invoice `task_id` names, or a new one (not yet on the sale)."""
        task = str(task_id or "")
        if task and task != NEW_TASK_ID:
            invoice = next((i for i in sale["Invoices"] if i["TaskID"] == task), None)
            if invoice is None and not (task == sale["ID"] and not sale["Invoices"]):
                raise bad(f"Invoice task with TaskID '{task}' not found.")
        elif not task and sale["Invoices"]:
            invoice = sale["Invoices"][0]
        else:
            invoice = None
        if invoice is not None:
            if invoice["Status"] != "DRAFT":
                raise bad(f"The invoice is {invoice['Status']} and cannot be changed.")
            return invoice
        return {  # TaskID and InvoiceNumber are given once the request is found valid
            "CurrencyConversionRate": sale["CurrencyRate"],
            "BillingAddressLine1": (sale.get("BillingAddress") or {}).get("Line1", ""),
            "BillingAddressLine2": (sale.get("BillingAddress") or {}).get("Line2", ""),
            "Payments": [],
        }

    def payment_post(self, _query: Query, body: Any) -> Json:
        """A payment against an authorised invoice (`TaskID` = the invoice's). The sandbox models `PAYMENT`
        only. Paying the balance makes the invoice PAID and fires `Sale/FullPaymentReceived`, anything less
        `Sale/PartialPaymentReceived`."""
        body = _object(body)
        with self.lock:
            task = body.get("TaskID")
            if not task:
                raise required("TaskID")
            found = [(s, i) for s in self.sales.values() for i in s["Invoices"] if i["TaskID"] == str(task)]
            if not found:
                raise bad(f"Invoice task with TaskID '{task}' not found.")
            sale, invoice = found[0]
            kind = str(body.get("Type") or "").upper()
            if kind not in PAYMENT_TYPES:
                raise bad(f"Type must be one of {', '.join(PAYMENT_TYPES)}.")
            if kind != "PAYMENT":
                raise bad(f"Type {kind} is not modelled by the sandbox; send PAYMENT.")
            if invoice["Status"] != "AUTHORISED":
                raise bad(f"The invoice is {invoice['Status']}; payments need an authorised invoice.")
            amount = req_decimal(body.get("Amount"), "Amount", places=2, minimum=Decimal("0.01"))
            outstanding = invoice["Total"] - sum((p["Amount"] for p in invoice["Payments"]), ZERO)
            if amount > outstanding:
                raise bad(f"Amount {amount} is more than the invoice's balance {q4(outstanding)}.")
            paid_on = body.get("DatePaid")
            date_paid = parse_datetime(paid_on, "DatePaid") if paid_on else now_utc()
            reference = text_value(body.get("Reference"), "Reference") or ""
            account = text_value(body.get("Account"), "Account", max_len=50) or "1000"
            rate = decimal_value(body.get("CurrencyRate"), "CurrencyRate", default=ONE) or ONE
            payment = {
                "ID": self.ids.new(),
                "TaskID": invoice["TaskID"],
                "Type": kind,
                "Reference": reference,
                "Amount": amount,
                "DatePaid": date_paid,
                "Account": account,
                "CurrencyRate": rate,
            }
            invoice["Payments"].append(payment)
            full = amount == outstanding
            if full:
                invoice["Status"] = "PAID"
            self._refresh_invoicing(sale)
            sale["LastModifiedOn"] = now_utc()
            event = "Sale/FullPaymentReceived" if full else "Sale/PartialPaymentReceived"
            percent = (
                (amount * HUNDRED / invoice["Total"]).quantize(Decimal("0.01"))
                if invoice["Total"]
                else HUNDRED
            )
            self.emit(
                event,
                {
                    "SaleID": sale["ID"],
                    "SaleOrderNumber": sale["Order"]["SaleOrderNumber"],
                    "CustomerName": sale["Customer"],
                    "DocumentNumber": invoice["InvoiceNumber"],
                    "DocumentType": "Invoice",
                    "DocumentDate": tenant_date(payment["DatePaid"]),
                    "AmountPercent": percent,
                    "EventType": event,
                },
            )
            return payment

    def _refresh_invoicing(self, sale: Json) -> None:
        """The sale's invoice and payment statuses from its invoices; COMPLETED once shipped and paid."""
        if sale["Status"] == "VOIDED":
            return
        invoices = [i for i in sale["Invoices"] if i["Status"] != "VOIDED"]
        issued = [i for i in invoices if i["Status"] in ("AUTHORISED", "PAID")]
        if not invoices:
            sale["CombinedInvoiceStatus"] = (
                "NOT INVOICED" if sale["Order"]["Status"] in ("AUTHORISED", "FULFILLED") else "NOT AVAILABLE"
            )
        elif all(i["Status"] == "PAID" for i in invoices):
            sale["CombinedInvoiceStatus"] = "PAID"
        elif issued:
            sale["CombinedInvoiceStatus"] = "INVOICED"
        else:
            sale["CombinedInvoiceStatus"] = "DRAFT"
        due = sum((i["Total"] for i in issued), ZERO)
        paid = sum((p["Amount"] for i in issued for p in i["Payments"]), ZERO)
        if paid <= 0:
            sale["CombinedPaymentStatus"] = "UNPAID"
        elif paid >= due:
            sale["CombinedPaymentStatus"] = "PAID"
        else:
            sale["CombinedPaymentStatus"] = "PARTIALLY PAID"
        invoiced: dict[str, Decimal] = {}
        for invoice in issued:
            for line in invoice["Lines"]:
                invoiced[line["ProductID"]] = invoiced.get(line["ProductID"], ZERO) + line["Quantity"]
        all_invoiced = all(invoiced.get(p, ZERO) >= q for p, q in self._ordered_quantities(sale).items())
        if issued and all_invoiced and sale["FulFilmentStatus"] == "FULFILLED":
            paid_up = all(i["Status"] == "PAID" for i in issued)
            sale["Status"] = "COMPLETED" if paid_up else "INVOICED"
        elif issued and sale["Type"] == "Simple Sale" and not sale["Fulfilments"]:
            sale["Status"] = "INVOICED" if all_invoiced else "INVOICING"

    # ------------------------------------------------------------------------------------------ /saleList

    def sale_list(self, query: Query, _body: Any) -> Json:
        with self.lock:
            updated_since = query.as_date("UpdatedSince", allow_zone=False)
            updated_until = query.as_date("UpdatedUntil")
            created_since = query.as_date("CreatedSince")
            ship_by = query.as_date("ShipBy")
            sales = list(self.sales.values())
            if query.has("ExternalID"):
                sales = [s for s in sales if s.get("ExternalID") == query.get("ExternalID")]
            if query.has("Search"):
                needle = _key(query.get("Search") or "")
                sales = [
                    s
                    for s in sales
                    if any(
                        needle in _key(str(value or ""))
                        for value in (
                            s["Order"]["SaleOrderNumber"],
                            s["Status"],
                            s["Customer"],
                            s.get("CustomerReference"),
                            *(i["InvoiceNumber"] for i in s["Invoices"]),
                        )
                    )
                ]
            if updated_since is not None:
                sales = [s for s in sales if s["LastModifiedOn"] >= updated_since]
            if updated_until is not None:
                sales = [s for s in sales if s["LastModifiedOn"] <= updated_until]
            if created_since is not None:
                sales = [s for s in sales if s["_created"] >= created_since]
            if ship_by is not None:
                sales = [s for s in sales if s.get("ShipBy") and s["ShipBy"] <= ship_by]
            rows = [self._sale_row(s) for s in sales]
            filters = {
                "Status": "Status",
                "QuoteStatus": "QuoteStatus",
                "OrderStatus": "OrderStatus",
                "CombinedPickStatus": "CombinedPickingStatus",
                "CombinedPackStatus": "CombinedPackingStatus",
                "CombinedShippingStatus": "CombinedShippingStatus",
                "CombinedInvoiceStatus": "CombinedInvoiceStatus",
                "CreditNoteStatus": "CreditNoteStatus",
                "OrderLocationID": "OrderLocationID",
            }
            for parameter, field in filters.items():
                if query.has(parameter):
                    wanted = _key(query.get(parameter) or "")
                    rows = [r for r in rows if _key(str(r[field] or "")) == wanted]
            if query.has("ReadyForShipping") and query.as_bool("ReadyForShipping"):
                rows = [
                    r
                    for r in rows
                    if r["CombinedPackingStatus"] == "PACKED" and r["CombinedShippingStatus"] != "SHIPPED"
                ]
            return paginate(rows, query, "SaleList")

    def _sale_row(self, sale: Json) -> Json:
        location = next((loc for loc in self.locations.values() if loc["Name"] == sale["Location"]), None)
        issued = [i for i in sale["Invoices"] if i["Status"] in ("AUTHORISED", "PAID")]
        first = issued[0] if issued else None
        return {
            "SaleID": sale["ID"],
            "OrderNumber": sale["Order"]["SaleOrderNumber"],
            "Status": sale["Status"],
            "OrderDate": sale.get("SaleOrderDate"),
            "InvoiceDate": first["InvoiceDate"] if first else None,
            "Customer": sale["Customer"],
            "CustomerID": sale["CustomerID"],
            "InvoiceNumber": first["InvoiceNumber"] if first else "",
            "CustomerReference": sale.get("CustomerReference") or "",
            "InvoiceAmount": first["Total"] if first else sale["Order"]["Total"],
            "PaidAmount": sum((p["Amount"] for i in issued for p in i["Payments"]), ZERO),
            "SaleInvoicesTotalAmount": sum((i["Total"] for i in issued), ZERO),
            "InvoiceDueDate": first["InvoiceDueDate"] if first else None,
            "ShipBy": sale.get("ShipBy"),
            "BaseCurrency": sale["BaseCurrency"],
            "CustomerCurrency": sale["CustomerCurrency"],
            "CreditNoteNumber": "",
            "Updated": sale["LastModifiedOn"],
            "QuoteStatus": sale["Quote"]["Status"],
            "OrderStatus": sale["Order"]["Status"],
            "CombinedPickingStatus": sale["CombinedPickingStatus"],
            "CombinedPackingStatus": sale["CombinedPackingStatus"],
            "CombinedShippingStatus": sale["CombinedShippingStatus"],
            "FulFilmentStatus": sale["FulFilmentStatus"],
            "CombinedInvoiceStatus": sale["CombinedInvoiceStatus"],
            "CombinedPaymentStatus": sale["CombinedPaymentStatus"],
            "CreditNoteStatus": "VOIDED" if sale["Status"] == "VOIDED" else "NOT AVAILABLE",
            "Type": sale["Type"],
            "CombinedTrackingNumbers": sale["CombinedTrackingNumbers"],
            "SourceChannel": sale["SourceChannel"],
            "ExternalID": sale.get("ExternalID") or "",
            "OrderLocationID": location["ID"] if location else None,
        }

    # ------------------------------------------------------------------------------------------ /webhooks

    def webhooks_get(self, query: Query, _body: Any) -> Json:
        with self.lock:
            items = list(self.webhooks.values())
            if query.has("ID"):
                items = [w for w in items if w["ID"] == query.get("ID")]
            return {"Webhooks": items}

    def webhooks_post(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            webhook = self._webhook_write(None, body)
            self.webhooks[webhook["ID"]] = webhook
            return {"Webhooks": [webhook]}

    def webhooks_put(self, _query: Query, body: Any) -> Json:
        body = _object(body)
        with self.lock:
            existing = self.webhooks.get(str(body.get("ID") or ""))
            if existing is None:
                raise (
                    bad(f"Webhook with ID '{body.get('ID')}' not found.")
                    if body.get("ID")
                    else required("ID")
                )
            webhook = self._webhook_write(existing, body)
            self.webhooks[webhook["ID"]] = webhook
            return {"Webhooks": [webhook]}

    def webhooks_delete(self, query: Query, _body: Any) -> Json:
        with self.lock:
            webhook_id = query.get("ID")
            if not webhook_id:
                raise required("ID")
            webhook = self.webhooks.pop(webhook_id, None)
            if webhook is None:
                raise bad(f"Webhook with ID '{webhook_id}' not found.")
            return {"Webhooks": [webhook]}

    def _webhook_write(self, existing: Json | None, body: Json) -> Json:
        cur: Json = dict(existing) if existing else {}
        merged = {**cur, **{k: v for k, v in body.items() if v is not None}}
        webhook_type = merged.get("Type")
        if not webhook_type:
            raise required("Type")
        if webhook_type not in WEBHOOK_TYPES:
            raise bad(f"Type '{webhook_type}' is not a webhook type.")
        same_type = [
            w for w in self.webhooks.values() if w["Type"] == webhook_type and w["ID"] != cur.get("ID")
        ]
        if len(same_type) >= MAX_WEBHOOKS_PER_TYPE:
            raise bad(f"There can be at most {MAX_WEBHOOKS_PER_TYPE} webhooks of type '{webhook_type}'.")
        url = req_text(merged.get("ExternalURL"), "ExternalURL", max_len=2048)
        if not url.lower().startswith(("http://", "https://")):
            raise bad("ExternalURL must be an http(s) URL.")
        auth = (merged.get("ExternalAuthorizationType") or "noauth").lower()
        if auth not in ("noauth", "basicauth", "bearerauth"):
            raise bad("ExternalAuthorizationType must be noauth, basicauth or bearerauth.")
        if auth == "basicauth" and not merged.get("ExternalUserName"):
            raise required("ExternalUserName")
        if auth == "bearerauth" and not merged.get("ExternalBearerToken"):
            raise required("ExternalBearerToken")
        headers = merged.get("ExternalHeaders") or []
        if not isinstance(headers, list):
            raise bad("ExternalHeaders must be an array of {Key, Value}.")
        clean_headers = []
        for index, header in enumerate(headers, start=1):
            header = _object(header, f"ExternalHeaders[{index}]")
            clean_headers.append(
                {
                    "Key": req_text(header.get("Key"), f"ExternalHeaders[{index}].Key"),
                    "Value": text_value(header.get("Value"), f"ExternalHeaders[{index}].Value", max_len=4096)
                    or "",
                }
            )
        return {
            "ID": cur.get("ID") or self.ids.new(),
            "Type": webhook_type,
            "Name": webhook_type,
            "IsActive": bool_value(merged.get("IsActive"), "IsActive", True),
            "ExternalURL": url,
            "ExternalAuthorizationType": auth,
            "ExternalUserName": merged.get("ExternalUserName") or "",
            "ExternalPassword": merged.get("ExternalPassword") or "",
            "ExternalBearerToken": merged.get("ExternalBearerToken") or "",
            "ExternalHeaders": clean_headers,
        }

    def active_webhooks(self, event_type: str) -> list[Json]:
        with self.lock:
            return [dict(w) for w in self.webhooks.values() if w["Type"] == event_type and w["IsActive"]]

    def webhook(self, webhook_id: str) -> Json | None:
        with self.lock:
            webhook = self.webhooks.get(webhook_id)
            return dict(webhook) if webhook else None

    def deactivate_webhook(self, webhook_id: str) -> None:
        with self.lock:
            if webhook_id in self.webhooks:
                self.webhooks[webhook_id]["IsActive"] = False


class _Grid(Sequence[Json]):
    """The rows products × locations (product-major), built only for the indexes asked for."""

    def __init__(
        self, products: list[Json], locations: list[Json], row: Callable[[Json, Json], Json]
    ) -> None:
        self._products, self._locations, self._row = products, locations, row

    def __len__(self) -> int:
        return len(self._products) * len(self._locations)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not 0 <= index < len(self):
            raise IndexError(index)
        product, location = divmod(index, len(self._locations))
        return self._row(self._products[product], self._locations[location])


def _object(value: Any, where: str = "The request body") -> Json:
    if not isinstance(value, dict):
        raise ApiError(400, f"{where} must be a JSON object.")
    return value


CUSTOMER_ORDER = (
    "ID",
    "Name",
    "Status",
    "Currency",
    "PaymentTerm",
    "Discount",
    "TaxRule",
    "Carrier",
    "SalesRepresentative",
    "Location",
    "Comments",
    "AccountReceivable",
    "RevenueAccount",
    "PriceTier",
    "TaxNumber",
    *(f"AdditionalAttribute{n}" for n in range(1, 11)),
    "AttributeSet",
    "Tags",
    "CreditLimit",
    "IsOnCreditHold",
    "LastModifiedOn",
    "DisplayName",
    "CustomerParentID",
    "CustomerParentName",
    "IsBillParent",
    "IsLegalEntity",
    "Addresses",
    "Contacts",
    "ProductPrices",
)
PRODUCT_ORDER = (
    "ID",
    "SKU",
    "Name",
    "Category",
    "Brand",
    "Type",
    "CostingMethod",
    "DropShipMode",
    "DefaultLocation",
    "UOM",
    "Barcode",
    *(f"PriceTier{n}" for n in range(1, 11)),
    "AverageCost",
    "Status",
    "BillOfMaterial",
    "AutoAssembly",
    "AutoDisassembly",
    "BOMType",
    "Sellable",
    "LastModifiedOn",
)


def _changed(before: Json, after: Json) -> bool:
    """Whether a write changed any field of a record (its `LastModifiedOn` aside)."""
    keys = (before.keys() | after.keys()) - {"LastModifiedOn"}
    return any(before.get(key) != after.get(key) for key in keys)


def _ordered(record: Json, order: tuple[str, ...]) -> Json:
    """Stable key order (the known fields first) so responses read like the documented examples."""
    out = {key: record[key] for key in order if key in record}
    out.update({key: value for key, value in record.items() if key not in out})
    return out
