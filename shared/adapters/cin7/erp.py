"""Cin7 Core as the `Erp` port: domain sale drafts in, Cin7 calls out (reference §2).

A sale is two calls: `POST /sale` (the header, `ExternalID` = our idempotency key, `SkipQuote`) and
`POST /sale/order` (the lines, DRAFT or AUTHORISED). Lookups by ExternalID are only for recovery.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.adapters.cin7.client import Cin7Client
from shared.domain.orders import Address, ErpCustomer, SaleCharge, SaleDraft, SaleLine, SaleRef, TaxRate
from shared.errors import AlreadyFulfilled, NotFound
from shared.observability import logger

# Status values meaning that nothing of the sale has left (or been taken off) the shelf yet.
_NOT_STARTED = frozenset({"NOT AVAILABLE", "NOT FULFILLED", "NOT PICKED", "NOT SHIPPED", "VOIDED", ""})


def sale_header(draft: SaleDraft, sale_type: str = "Simple") -> dict[str, Any]:
    """The `POST /sale` body. `TaxInclusive` is always sent (the customer's rule decides it, not a default);
    `CurrencyRate` only for a customer outside the base currency, where Cin7 requires it (reference §2)."""
    header: dict[str, Any] = {
        "CustomerID": draft.customer_id,
        "Location": draft.location,
        "ExternalID": draft.external_id,
        "SkipQuote": True,
        "SaleType": sale_type,
        "TaxInclusive": draft.tax_inclusive,
    }
    optional: dict[str, Any] = {
        "CustomerReference": draft.customer_reference,
        "Note": draft.note,
        "ShipBy": f"{draft.ship_by}T00:00:00" if draft.ship_by else None,
        # Up to 5 decimals, beyond the 4 the client allows numbers: sent as a string, as Cin7's own examples do.
        "CurrencyRate": str(draft.currency_rate) if draft.currency_rate is not None else None,
        "Contact": draft.contact.name if draft.contact else None,
        "Email": draft.contact.email if draft.contact else None,
        "Phone": draft.contact.phone if draft.contact else None,
        "BillingAddress": sale_address(draft.billing_address) if draft.billing_address else None,
        "ShippingAddress": sale_address(draft.shipping_address, shipping=True)
        if draft.shipping_address
        else None,
    }
    header.update({k: v for k, v in optional.items() if v not in (None, "")})
    return header


def sale_address(address: Address, *, shipping: bool = False) -> dict[str, Any]:
    """Cin7's Address Model; a shipping address adds Company, Contact and `ShipToOther=true`, so the order's
    delivery address stays on this sale instead of being added to the customer's record (reference §8.13)."""
    body: dict[str, Any] = {
        "Line1": address.line1,
        "Line2": address.line2 or "",
        "City": address.city or "",
        "State": address.region or "",
        "Postcode": address.postcode or "",
        "Country": address.country or "",
    }
    if shipping:
        body.update({"Company": address.company or "", "Contact": address.contact or "", "ShipToOther": True})
    return body


def sale_line(line: SaleLine) -> dict[str, Any]:
    body: dict[str, Any] = {
        "SKU": line.sku,
        "Name": line.name,
        "Quantity": line.quantity,
        "Price": line.price,
        "Discount": Decimal(0),  # storefront discounts are already in the price (shared/domain/totals.py)
        "Tax": line.tax,
        "TaxRule": line.tax_rule,
        "Total": line.total,
    }
    if line.comment:
        body["Comment"] = line.comment
    return body


def sale_charge(charge: SaleCharge) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Description": charge.description,
        "Quantity": Decimal(1),
        "Price": charge.price,
        "Discount": Decimal(0),
        "Tax": charge.tax,
        "TaxRule": charge.tax_rule,
        "Total": charge.total,
    }
    if charge.comment:
        body["Comment"] = charge.comment
    return body


class Cin7Erp:
    def __init__(self, client: Cin7Client, *, sale_type: str = "Simple") -> None:
        self.client = client
        self.sale_type = sale_type

    @property
    def calls(self) -> int:
        return self.client.calls_by_flow.get(self.client.flow, 0)

    def get_customer(self, customer_id: str) -> ErpCustomer | None:
        try:
            c = self.client.get_customer(customer_id)
        except NotFound:
            return None
        return ErpCustomer(
            id=c.ID,
            name=c.Name,
            on_credit_hold=bool(c.IsOnCreditHold),
            price_tier=c.PriceTier,
            discount=c.Discount or Decimal(0),
            prices={p.ProductSKU: p.Price for p in c.ProductPrices if p.ProductSKU and p.Price is not None},
            currency=c.Currency,
            tax_rule=c.TaxRule,
        )

    def tax_rates(self) -> Mapping[str, TaxRate]:
        return {
            rule.Name: TaxRate(rule.TaxPercent, bool(rule.TaxInclusive)) for rule in self.client.tax_rules()
        }

    def product_prices(self, sku: str) -> Mapping[str, Decimal] | None:
        try:
            product = self.client.get_product_by_sku(sku, include_bom=False)
        except NotFound:
            return None
        # Cin7 answers all ten tiers, 0 where the tenant set no price: a 0 is no price to check against,
        # not a contract that gives the product away.
        if product.PriceTiers:
            return {name: price for name, price in product.PriceTiers.items() if price}
        # Older answers carry only PriceTier1..10: name them from the tenant's tier list.
        return {
            tier.Name: price for tier in self.client.price_tiers() if (price := product.tier_price(tier.Code))
        }

    def find_sale(self, external_id: str) -> SaleRef | None:
        rows = self.client.find_sales_by_external_id(external_id)
        if not rows:
            return None
        if len(rows) > 1:
            # Should never happen (we look before every unsure create); adopt the first, keep it visible.
            logger.error(
                "several ERP sales carry one ExternalID",
                extra={"external_id": external_id, "sale_ids": [r.SaleID for r in rows]},
            )
        sale = self.client.get_sale(rows[0].SaleID)
        has_lines = bool(sale.Order and sale.Order.Lines)
        return SaleRef(id=sale.ID, has_lines=has_lines, status=sale.Order.Status if sale.Order else None)

    def sales_created_since(self, since: datetime, external_id_prefix: str) -> dict[str, str]:
        """ExternalID → sale id of the sales created since `since` whose ExternalID has the prefix: one call
        per 1000 sales."""
        return {
            row.ExternalID: row.SaleID
            for row in self.client.iter_sales_created_since(since, limit=1000)
            if row.ExternalID and row.ExternalID.startswith(external_id_prefix)
        }

    def create_sale(self, draft: SaleDraft) -> str:
        return self.client.create_sale(sale_header(draft, self.sale_type)).ID

    def add_sale_lines(self, sale_id: str, draft: SaleDraft) -> None:
        self.client.create_sale_order(
            sale_id,
            [sale_line(line) for line in draft.lines],
            "AUTHORISED" if draft.authorise else "DRAFT",
            [sale_charge(charge) for charge in draft.charges],
            memo=draft.note,
        )

    def update_sale_header(self, sale_id: str, draft: SaleDraft) -> None:
        header = sale_header(draft, self.sale_type)
        del header["SaleType"]  # POST only
        self.client.update_sale({**header, "ID": sale_id})

    def void_sale(self, sale_id: str) -> None:
        """Voids the sale unless any of it was fulfilled (then `AlreadyFulfilled`, nothing changed)."""
        sale = self.client.get_sale(sale_id)
        if sale.Status == "VOIDED":
            return
        started = [
            f"{name} {value}"
            for name, value in (
                ("fulfilment", sale.FulFilmentStatus),
                ("picking", sale.CombinedPickingStatus),
                ("shipping", sale.CombinedShippingStatus),
            )
            if value and value.upper() not in _NOT_STARTED
        ]
        if started:
            raise AlreadyFulfilled(f"cin7 sale {sale_id}: {', '.join(started)}", system="cin7")
        self.client.void_sale(sale_id)
