"""The order as the domain sees it: storefront order in, ERP sale out. No system names, no wire formats."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class OrderLine:
    line_id: str
    sku: str
    name: str
    unit: str
    quantity: Decimal
    unit_price: Decimal  # per storefront unit, in order currency
    tax_code: str | None = None
    # The storefront product's own units: how many of its primary unit one `unit` holds (its conversion
    # rate), and which unit is primary. None when the storefront did not say.
    unit_rate: Decimal | None = None
    primary_unit: str | None = None

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class StorefrontCustomer:
    id: str
    name: str
    parent_id: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class Address:
    """A postal address as the order carries it. Personal data: never logged unmasked."""

    line1: str
    line2: str | None = None
    city: str | None = None
    region: str | None = None  # state or province, as text (a code such as "NY" or a name)
    postcode: str | None = None
    country: str | None = None  # the country's name when known, else its ISO 3166 code
    company: str | None = None
    contact: str | None = None  # the person to deliver to or bill
    phone: str | None = None


@dataclass(frozen=True)
class Contact:
    """The buyer who placed the order. Personal data: never logged unmasked."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class StorefrontOrder:
    id: str
    identifier: str
    status: str  # the storefront's internal status code, e.g. "open", "pending", "cancelled"
    customer_id: str
    currency: str
    lines: tuple[OrderLine, ...]
    updated_at: datetime
    created_at: datetime | None = None
    po_number: str | None = None
    customer_user_id: str | None = None
    subtotal: Decimal | None = None  # the storefront's sum of line totals, before discounts
    total: Decimal | None = None
    discount_total: Decimal = Decimal(0)  # order-level discounts (promotions, manual), a positive amount
    shipping_total: Decimal = Decimal(0)  # the shipping cost charged to the buyer
    parent_id: str | None = None
    sub_order_ids: tuple[str, ...] = ()
    source_type: str | None = None  # e.g. "quotes", "shoppinglists"
    ship_until: str | None = None  # the date the buyer needs the goods by (YYYY-MM-DD)
    customer_notes: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    contact: Contact | None = None
    # The storefront's own tax total for the order; None when it computed none (taxation off, or not given).
    tax_total: Decimal | None = None
    # The ordering account and the ancestors the storefront sent with the order, nearest first (the walk
    # to the billing parent reads the rest): as they are now, never as an earlier order saw them.
    customers: tuple[StorefrontCustomer, ...] = ()
    # The status an external workflow (approval) set beside the internal one, e.g. "wait_for_approval".
    external_status: str | None = None

    @property
    def version(self) -> str:
        return self.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def content_hash(self) -> str:
        """What the ERP sale is made of (not the order's status: the gate acts on that); an unchanged hash
        means nothing to send again."""
        relevant: dict[str, object] = {
            "customer_id": self.customer_id,
            "currency": self.currency,
            "po_number": self.po_number,
            # what the line is, not the product's unit set-up (a rate that changes does not change the sale)
            "lines": [
                {k: v for k, v in asdict(line).items() if k not in ("unit_rate", "primary_unit")}
                for line in self.lines
            ],
            "discount_total": self.discount_total,
            "shipping_total": self.shipping_total,
        }
        # Where and when the sale ships is part of it too; absent fields are left out, so an order that
        # carries none keeps the hash it had before they were sent.
        header = {
            "shipping_address": self.shipping_address,
            "billing_address": self.billing_address,
            "ship_until": self.ship_until,
            "customer_notes": self.customer_notes,
        }
        relevant.update({k: asdict(v) if is_dataclass(v) else v for k, v in header.items() if v})
        text = json.dumps(relevant, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class OrderVersion:
    """An order id and the version (updatedAt) a webhook or a poll saw."""

    id: str
    updated_at: datetime
    status: str | None = None
    total: Decimal | None = None

    @property
    def version(self) -> str:
        return self.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ErpCustomer:
    id: str
    name: str
    on_credit_hold: bool = False
    price_tier: str | None = None
    discount: Decimal = Decimal(0)  # percent off its tier's prices
    prices: Mapping[str, Decimal] = field(default_factory=dict)  # customer-specific price per ERP SKU
    currency: str | None = None  # the currency the ERP invoices the customer in
    tax_rule: str | None = None  # the customer's default ERP tax rule (name)

    def as_record(self) -> dict[str, Any]:
        """Plain JSON-able data (decimals as strings), read back by `from_record`."""
        return {
            "id": self.id,
            "name": self.name,
            "on_credit_hold": self.on_credit_hold,
            "price_tier": self.price_tier,
            "discount": str(self.discount),
            "prices": {sku: str(price) for sku, price in self.prices.items()},
            "currency": self.currency,
            "tax_rule": self.tax_rule,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> ErpCustomer:
        return cls(
            id=data["id"],
            name=data["name"],
            on_credit_hold=bool(data.get("on_credit_hold", False)),
            price_tier=data.get("price_tier"),
            discount=Decimal(str(data.get("discount") or 0)),
            prices={sku: Decimal(str(price)) for sku, price in (data.get("prices") or {}).items()},
            currency=data.get("currency"),
            tax_rule=data.get("tax_rule"),
        )


@dataclass(frozen=True)
class TaxRate:
    """An ERP tax rule: its percentage, and whether prices under it include the tax."""

    percent: Decimal
    inclusive: bool = False


@dataclass(frozen=True)
class SaleLine:
    sku: str
    name: str
    quantity: Decimal  # in the ERP SKU's own unit
    price: Decimal  # per ERP unit, rounded to the ERP's 4 decimals
    tax_rule: str
    tax: Decimal
    total: Decimal  # quantity × price (+ tax unless the sale is tax-inclusive), as the ERP validates it
    comment: str | None = None  # e.g. the share of an order discount taken off this line's price


@dataclass(frozen=True)
class SaleCharge:
    """An order-level amount the ERP holds beside the lines (shipping, rounding): one service product."""

    kind: str  # "shipping" | "rounding"
    description: str  # the ERP's name of the service product
    price: Decimal
    tax_rule: str
    tax: Decimal
    comment: str | None = None
    tax_inclusive: bool = False  # the price already holds the tax

    @property
    def total(self) -> Decimal:
        return self.price if self.tax_inclusive else self.price + self.tax


@dataclass(frozen=True)
class SaleDraft:
    """Everything needed to create the ERP sale for one storefront order."""

    external_id: str
    customer_id: str
    location: str
    currency: str
    lines: tuple[SaleLine, ...]
    authorise: bool
    charges: tuple[SaleCharge, ...] = ()
    customer_reference: str | None = None
    note: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    ship_by: str | None = None  # YYYY-MM-DD
    contact: Contact | None = None
    tax_inclusive: bool = False  # line and charge prices include their tax (the customer's tax rule's)
    currency_rate: Decimal | None = None  # the customer's currency against the ERP's base; None: the base


@dataclass(frozen=True)
class SaleRef:
    id: str
    has_lines: bool
    status: str | None = None
