"""OroCommerce as the `Storefront` port: the client's wire models mapped to domain orders and customers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from shared.adapters.orocommerce.client import OroClient
from shared.adapters.orocommerce.models import OroCustomer, OroOrder, OroOrderAddress, OroOrderSubtotal
from shared.domain.orders import (
    Address,
    Contact,
    OrderLine,
    OrderVersion,
    StorefrontCustomer,
    StorefrontOrder,
)
from shared.errors import Permanent


def to_storefront_order(order: OroOrder, subtotals: list[OroOrderSubtotal] | None = None) -> StorefrontOrder:
    """`subtotals`: the order's totals block; its `tax` rows are Oro's own tax for the order (none, when
    Oro's taxation is off or the installation predates the resource: then there is nothing to compare)."""
    if not order.lines_included:
        raise Permanent(f"oro order {order.id}: line items were not included in the document", system="oro")
    if not order.customer_id:
        raise Permanent(f"oro order {order.id}: no customer", system="oro")
    lines = []
    for li in order.line_items:
        if not li.product_sku or not li.unit or li.value is None:
            raise Permanent(
                f"oro order {order.id} line {li.id}: missing "
                + ", ".join(
                    n
                    for n, v in (
                        ("productSku", li.product_sku),
                        ("productUnit", li.unit),
                        ("value", li.value),
                    )
                    if not v and v != 0
                ),
                system="oro",
            )
        lines.append(
            OrderLine(
                line_id=li.id,
                sku=li.product_sku,
                name=li.product_name or li.product_sku,
                unit=li.unit,
                quantity=li.quantity,
                unit_price=li.value,
                tax_code=li.tax_code,
                unit_rate=li.unit_rate,
                primary_unit=li.primary_unit,
            )
        )
    return StorefrontOrder(
        id=order.id,
        identifier=order.identifier or order.id,
        status=order.internal_status or "",
        customer_id=order.customer_id,
        currency=order.currency or "",
        lines=tuple(lines),
        updated_at=order.updated_at,
        created_at=order.created_at,
        po_number=order.po_number,
        customer_user_id=order.customer_user_id,
        subtotal=order.subtotal_value,
        total=order.total_value,
        discount_total=order.total_discounts_amount or Decimal(0),
        shipping_total=_shipping(order),
        parent_id=order.parent_id,
        sub_order_ids=tuple(order.sub_order_ids),
        source_type=order.source_type,
        ship_until=order.ship_until,
        customer_notes=order.customer_notes or None,
        billing_address=_address(order.billing_address),
        shipping_address=_address(order.shipping_address),
        contact=_contact(order),
        tax_total=_tax_total(subtotals),
        external_status=order.status,
        customers=tuple(to_storefront_customer(c) for c in order.customer_chain),
    )


def _address(address: OroOrderAddress | None) -> Address | None:
    if address is None or not address.street:
        return None
    return Address(
        line1=address.street,
        line2=address.street2 or None,
        city=address.city or None,
        region=address.region,
        postcode=address.postal_code or None,
        country=address.country_name or address.country_id,
        company=address.organization or None,
        contact=address.person,
        phone=address.phone or None,
    )


def _contact(order: OroOrder) -> Contact | None:
    """The buyer: the customer user who placed the order, with the billing (else shipping) address's phone."""
    user = order.customer_user
    address = order.billing_address or order.shipping_address
    name = (user.name if user else None) or (address.person if address else None)
    email = user.email if user else None
    phone = address.phone if address else None
    if not (name or email or phone):
        return None
    return Contact(name=name, email=email or None, phone=phone or None)


def _tax_total(subtotals: list[OroOrderSubtotal] | None) -> Decimal | None:
    rows = [s.amount for s in subtotals or [] if s.order_subtotal_type == "tax" and s.amount is not None]
    return sum(rows, Decimal(0)) if rows else None


def _shipping(order: OroOrder) -> Decimal:
    """What the buyer pays for shipping: the back office's override, else the checkout's estimate."""
    if order.overridden_shipping_cost_amount is not None:
        return order.overridden_shipping_cost_amount
    return order.estimated_shipping_cost_amount or Decimal(0)


def to_storefront_customer(customer: OroCustomer) -> StorefrontCustomer:
    return StorefrontCustomer(
        id=customer.id, name=customer.name, parent_id=customer.parent_id, external_id=customer.external_id
    )


class OroStorefront:
    def __init__(self, client: OroClient) -> None:
        self.client = client

    def get_order(self, order_id: str) -> StorefrontOrder:
        order = self.client.get_order(order_id)
        return to_storefront_order(order, self.client.order_subtotals(order_id))

    def get_customer(self, customer_id: str) -> StorefrontCustomer:
        return to_storefront_customer(self.client.get_customer(customer_id))

    def orders_updated_since(self, since: datetime) -> Iterator[OrderVersion]:
        for order in self.client.iter_orders_updated_since(since):
            yield OrderVersion(order.id, order.updated_at, order.internal_status, order.total_value)
