"""OroCommerce back-office JSON:API wire format: the generic document, and typed views of the resources
the flows read (orders, customers, products, inventory, prices, async operations, webhooks).

Oro sends money and quantities as strings ("789.0000"); they become `Decimal`. Times come as
`YYYY-MM-DDTHH:MM:SSZ` and become timezone-aware UTC datetimes. A typed view is built from one resource
plus the document's `included` index, so relationships resolve to objects when they were included and
to bare ids when they were not. Nothing outside the adapters imports these models.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# An Oro entity id (orders, customers, ...): a positive integer, written without leading zeros (reference §3:
# "type `orders`, id an integer"). Only such an id is ever put in a URL path for these resources.
_ORO_ID = re.compile(r"[1-9][0-9]{0,18}")


def is_oro_id(value: object) -> bool:
    """True for a positive integer id as Oro writes it (`1042` or `"1042"`); False for `"1/../3"`, `"3?x=1"`,
    `"007"`, `True`, `-1` and anything that is not text or an integer."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return False
    return _ORO_ID.fullmatch(str(value)) is not None


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
ResourceId = Annotated[str, BeforeValidator(_id_text)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# ------------------------------------------------------------------------------- generic JSON:API


class ResourceIdentifier(_Wire):
    type: str
    id: ResourceId


class Relationship(_Wire):
    data: ResourceIdentifier | list[ResourceIdentifier] | None = None


class Resource(_Wire):
    type: str
    id: ResourceId | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    relationships: dict[str, Relationship] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
    links: dict[str, Any] = Field(default_factory=dict)

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attributes.get(name, default)

    def one(self, name: str) -> ResourceIdentifier | None:
        """The to-one relationship `name` (None when absent, null, or unexpectedly to-many)."""
        rel = self.relationships.get(name)
        if rel is None or not isinstance(rel.data, ResourceIdentifier):
            return None
        return rel.data

    def one_id(self, name: str) -> str | None:
        ref = self.one(name)
        return ref.id if ref else None

    def many(self, name: str) -> list[ResourceIdentifier]:
        rel = self.relationships.get(name)
        if rel is None or rel.data is None:
            return []
        return rel.data if isinstance(rel.data, list) else [rel.data]

    def many_ids(self, name: str) -> list[str]:
        return [ref.id for ref in self.many(name)]


class Document(_Wire):
    """A JSON:API document: one resource or a list, the included ones, links and meta."""

    data: Resource | list[Resource] | None = None
    included: list[Resource] = Field(default_factory=list)
    links: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)

    def resources(self) -> list[Resource]:
        if self.data is None:
            return []
        return self.data if isinstance(self.data, list) else [self.data]

    def single(self) -> Resource:
        if not isinstance(self.data, Resource):
            raise ValueError("the document holds no single resource")
        return self.data

    def index(self) -> Included:
        return Included(self.included)


class Included:
    """The `included` array keyed by (type, id)."""

    def __init__(self, resources: list[Resource] | None = None) -> None:
        self._by_key: dict[tuple[str, str], Resource] = {}
        for r in resources or []:
            if r.id is not None:
                self._by_key[(r.type, r.id)] = r

    def get(self, ref: ResourceIdentifier | None) -> Resource | None:
        if ref is None:
            return None
        return self._by_key.get((ref.type, ref.id))

    def __len__(self) -> int:
        return len(self._by_key)


class JsonApiError(_Wire):
    status: str | None = None
    code: str | None = None
    title: str | None = None
    detail: str | None = None
    source: dict[str, Any] | None = None

    def describe(self) -> str:
        text = self.detail or self.title or "error"
        if self.title and self.detail and self.title not in self.detail:
            text = f"{self.title}: {self.detail}"
        where = (self.source or {}).get("pointer") or (self.source or {}).get("parameter")
        return f"{text} (at {where})" if where else text


# ------------------------------------------------------------------------------------- typed views


class OroOrderLine(_Wire):
    id: ResourceId
    product_sku: str | None = None
    product_name: str | None = None
    free_form_product: str | None = None
    quantity: Decimal
    product_unit_code: str | None = None
    product_unit_id: str | None = None
    value: Decimal | None = None  # unit price
    currency: str | None = None
    price_type: int | None = None  # 10 = per unit, 20 = bundled
    product_id: str | None = None
    comment: str | None = None
    checksum: str | None = None
    ship_by: str | None = None
    updated_at: UtcDatetime | None = None
    # The product's tax code (TaxBundle `producttaxcodes.code`), when the document included it.
    tax_code: str | None = None
    # The product's unit precisions, when the document included them: primary units in one of this line's
    # unit (`conversionRate`), and the primary unit.
    unit_rate: Decimal | None = None
    primary_unit: str | None = None

    @property
    def unit(self) -> str | None:
        """The Oro unit code: the relationship id when present, else the read-only attribute."""
        return self.product_unit_id or self.product_unit_code

    @classmethod
    def from_resource(cls, r: Resource, included: Included | None = None) -> OroOrderLine:
        tax_code = None
        unit_rate: Decimal | None = None
        primary_unit = None
        if included is not None:
            product = included.get(r.one("product"))
            code = included.get(product.one("taxCode")) if product is not None else None
            tax_code = code.attr("code") if code is not None else None
            if product is not None:
                units = OroProduct.from_resource(product, included)
                primary_unit = units.primary_unit
                unit_rate = units.conversion_rate(r.one_id("productUnit") or r.attr("productUnitCode") or "")
                if unit_rate is None and primary_unit is not None:
                    primary_unit = None  # the line's unit is not among the product's: nothing to compare
        return cls(
            tax_code=tax_code,
            unit_rate=unit_rate,
            primary_unit=primary_unit,
            id=r.id or "",
            product_sku=r.attr("productSku"),
            product_name=r.attr("productName"),
            free_form_product=r.attr("freeFormProduct"),
            quantity=r.attr("quantity"),
            product_unit_code=r.attr("productUnitCode"),
            product_unit_id=r.one_id("productUnit"),
            value=r.attr("value"),
            currency=r.attr("currency"),
            price_type=r.attr("priceType"),
            product_id=r.one_id("product"),
            comment=r.attr("comment"),
            checksum=r.attr("checksum"),
            ship_by=r.attr("shipBy"),
            updated_at=r.attr("updatedAt"),
        )


class OroCustomer(_Wire):
    id: ResourceId
    name: str
    external_id: str | None = None
    parent_id: str | None = None
    children_ids: list[str] = Field(default_factory=list)
    group_id: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None

    @classmethod
    def from_resource(cls, r: Resource) -> OroCustomer:
        return cls(
            id=r.id or "",
            name=r.attr("name") or "",
            external_id=r.attr("externalId"),
            parent_id=r.one_id("parent"),
            children_ids=r.many_ids("children"),
            group_id=r.one_id("group"),
            created_at=r.attr("createdAt"),
            updated_at=r.attr("updatedAt"),
        )


class OroOrderAddress(_Wire):
    """An `orderaddresses` resource: the order's own copy of a billing or shipping address."""

    id: ResourceId
    label: str | None = None
    organization: str | None = None
    name_prefix: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    name_suffix: str | None = None
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    custom_region: str | None = None
    region_id: str | None = None  # e.g. "US-NY"
    country_id: str | None = None  # ISO 3166-1 alpha-2, e.g. "US"
    country_name: str | None = None  # when the country was included

    @property
    def person(self) -> str | None:
        parts = (self.name_prefix, self.first_name, self.middle_name, self.last_name, self.name_suffix)
        return " ".join(p for p in parts if p) or None

    @property
    def region(self) -> str | None:
        """The free-text region, else the region's code (the part of its id after the country)."""
        if self.custom_region:
            return self.custom_region
        if self.region_id:
            return self.region_id.split("-", 1)[-1]
        return None

    @classmethod
    def from_resource(cls, r: Resource, included: Included | None = None) -> OroOrderAddress:
        country = (included or Included()).get(r.one("country"))
        return cls(
            id=r.id or "",
            label=r.attr("label"),
            organization=r.attr("organization"),
            name_prefix=r.attr("namePrefix"),
            first_name=r.attr("firstName"),
            middle_name=r.attr("middleName"),
            last_name=r.attr("lastName"),
            name_suffix=r.attr("nameSuffix"),
            street=r.attr("street"),
            street2=r.attr("street2"),
            city=r.attr("city"),
            postal_code=r.attr("postalCode"),
            phone=r.attr("phone"),
            custom_region=r.attr("customRegion"),
            region_id=r.one_id("region"),
            country_id=r.one_id("country"),
            country_name=country.attr("name") if country is not None else None,
        )


def _address_type_pairs(value: Any) -> Any:
    """Oro's `types` entries `{"addressType": "billing", "default": true}` → `("billing", True)`; anything else is
    passed on unchanged for the model to refuse, naming the entry."""
    if not isinstance(value, list):
        return value
    return [(v.get("addressType"), v.get("default")) if isinstance(v, dict) else v for v in value]


AddressType = Literal["billing", "shipping"]


class OroCustomerAddress(OroOrderAddress):
    """A `customeraddresses` resource (CP CustomerBundle api.yml): one of an account's addresses.

    `types` holds `(type, default)` pairs, e.g. `(("billing", True), ("shipping", False))`: the address is used
    for each type it lists, and is the account's default address for those flagged True. `country_id` is the
    ISO 3166-1 alpha-2 code (Oro requires a country); `region` is the region code or the custom region."""

    customer_id: str
    country_id: str
    primary: StrictBool = False
    types: Annotated[tuple[tuple[AddressType, StrictBool], ...], BeforeValidator(_address_type_pairs)] = ()
    updated_at: UtcDatetime | None = None

    def is_type(self, address_type: AddressType) -> bool:
        return any(t == address_type for t, _ in self.types)

    def is_default_for(self, address_type: AddressType) -> bool:
        return any(t == address_type and default for t, default in self.types)

    @classmethod
    def from_resource(cls, r: Resource, included: Included | None = None) -> OroCustomerAddress:
        base = OroOrderAddress.from_resource(r, included).model_dump()
        return cls(
            **base,
            customer_id=r.one_id("customer"),
            primary=r.attr("primary", False),
            types=r.attr("types") if r.attr("types") is not None else [],
            updated_at=r.attr("updatedAt"),
        )


class OroCustomerUser(_Wire):
    id: ResourceId
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    enabled: StrictBool | None = None  # None when the document did not carry it
    customer_id: str | None = None

    @property
    def name(self) -> str | None:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or None

    @classmethod
    def from_resource(cls, r: Resource) -> OroCustomerUser:
        return cls(
            id=r.id or "",
            email=r.attr("email"),
            first_name=r.attr("firstName"),
            last_name=r.attr("lastName"),
            enabled=r.attr("enabled"),
            customer_id=r.one_id("customer"),
        )


class OroOrderSubtotal(_Wire):
    """An `ordersubtotals` resource (6.1+, computed): one row of the order's totals block."""

    id: ResourceId
    order_subtotal_type: str | None = None  # subtotal | discount | shipping_cost | tax | ...
    label: str | None = None
    amount: Decimal | None = None
    signed_amount: Decimal | None = None
    currency: str | None = None
    visible: bool | None = None

    @classmethod
    def from_resource(cls, r: Resource) -> OroOrderSubtotal:
        return cls(
            id=r.id or "",
            order_subtotal_type=r.attr("orderSubtotalType"),
            label=r.attr("label"),
            amount=r.attr("amount"),
            signed_amount=r.attr("signedAmount"),
            currency=r.attr("currency"),
            visible=r.attr("visible"),
        )


class OroOrder(_Wire):
    id: ResourceId
    identifier: str | None = None
    po_number: str | None = None
    customer_notes: str | None = None
    ship_until: str | None = None
    currency: str | None = None
    subtotal_value: Decimal | None = None
    total_value: Decimal | None = None
    total_discounts_amount: Decimal | None = None
    estimated_shipping_cost_amount: Decimal | None = None
    overridden_shipping_cost_amount: Decimal | None = None
    shipping_method: str | None = None
    external: bool | None = None
    external_id: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime
    internal_status: str | None = None
    status: str | None = None
    shipping_status: str | None = None
    customer_id: str | None = None
    customer_user_id: str | None = None
    parent_id: str | None = None
    sub_order_ids: list[str] = Field(default_factory=list)
    source_type: str | None = None
    source_id: str | None = None
    line_item_ids: list[str] = Field(default_factory=list)
    shipping_tracking_ids: list[str] = Field(default_factory=list)
    # Filled only when the document included them (`include=lineItems,customer`).
    line_items: list[OroOrderLine] = Field(default_factory=list)
    customer: OroCustomer | None = None
    billing_address: OroOrderAddress | None = None
    shipping_address: OroOrderAddress | None = None
    customer_user: OroCustomerUser | None = None
    # The customer and the ancestors the document included (`customer.parent.parent...`), nearest first.
    customer_chain: list[OroCustomer] = Field(default_factory=list)

    @property
    def lines_included(self) -> bool:
        return len(self.line_items) == len(self.line_item_ids)

    @classmethod
    def from_resource(cls, r: Resource, included: Included | None = None) -> OroOrder:
        included = included or Included()
        lines = [included.get(ref) for ref in r.many("lineItems")]
        customer_res = included.get(r.one("customer"))
        billing = included.get(r.one("billingAddress"))
        shipping = included.get(r.one("shippingAddress"))
        user = included.get(r.one("customerUser"))
        chain: list[OroCustomer] = []
        current = customer_res
        while current is not None and all(c.id != current.id for c in chain):
            chain.append(OroCustomer.from_resource(current))
            current = included.get(current.one("parent"))
        source = r.one("source")
        return cls(
            id=r.id or "",
            identifier=r.attr("identifier"),
            po_number=r.attr("poNumber"),
            customer_notes=r.attr("customerNotes"),
            ship_until=r.attr("shipUntil"),
            currency=r.attr("currency"),
            subtotal_value=r.attr("subtotalValue"),
            total_value=r.attr("totalValue"),
            total_discounts_amount=r.attr("totalDiscountsAmount"),
            estimated_shipping_cost_amount=r.attr("estimatedShippingCostAmount"),
            overridden_shipping_cost_amount=r.attr("overriddenShippingCostAmount"),
            shipping_method=r.attr("shippingMethod"),
            external=r.attr("external"),
            external_id=r.attr("externalId"),
            created_at=r.attr("createdAt"),
            updated_at=r.attr("updatedAt"),
            internal_status=r.one_id("internalStatus"),
            status=r.one_id("status"),
            shipping_status=r.one_id("shippingStatus"),
            customer_id=r.one_id("customer"),
            customer_user_id=r.one_id("customerUser"),
            parent_id=r.one_id("parent"),
            sub_order_ids=r.many_ids("subOrders"),
            source_type=source.type if source else None,
            source_id=source.id if source else None,
            line_item_ids=r.many_ids("lineItems"),
            shipping_tracking_ids=r.many_ids("shippingTrackings"),
            line_items=[OroOrderLine.from_resource(x, included) for x in lines if x is not None],
            customer=OroCustomer.from_resource(customer_res) if customer_res else None,
            billing_address=OroOrderAddress.from_resource(billing, included) if billing else None,
            shipping_address=OroOrderAddress.from_resource(shipping, included) if shipping else None,
            customer_user=OroCustomerUser.from_resource(user) if user else None,
            customer_chain=chain,
        )


class OroUnitPrecision(_Wire):
    id: ResourceId
    unit: str | None = None
    precision: int | None = None
    conversion_rate: Decimal | None = None
    sell: bool | None = None

    @classmethod
    def from_resource(cls, r: Resource) -> OroUnitPrecision:
        return cls(
            id=r.id or "",
            unit=r.one_id("unit"),
            precision=r.attr("precision"),
            conversion_rate=r.attr("conversionRate"),
            sell=r.attr("sell"),
        )


class OroProduct(_Wire):
    id: ResourceId
    sku: str
    status: str | None = None
    product_type: str | None = None
    inventory_status: str | None = None
    updated_at: UtcDatetime | None = None
    primary_unit_precision_id: str | None = None
    unit_precision_ids: list[str] = Field(default_factory=list)
    # Filled when `include=unitPrecisions,primaryUnitPrecision` was asked for.
    unit_precisions: list[OroUnitPrecision] = Field(default_factory=list)

    @property
    def primary_unit(self) -> str | None:
        for p in self.unit_precisions:
            if p.id == self.primary_unit_precision_id:
                return p.unit
        return None

    def conversion_rate(self, unit: str) -> Decimal | None:
        """Primary units in one `unit` (the primary unit's own rate is 1)."""
        for p in self.unit_precisions:
            if p.unit == unit:
                return p.conversion_rate
        return None

    @classmethod
    def from_resource(cls, r: Resource, included: Included | None = None) -> OroProduct:
        included = included or Included()
        refs = r.many("unitPrecisions")
        primary = r.one("primaryUnitPrecision")
        if primary is not None and primary.id not in {x.id for x in refs}:
            refs = [primary, *refs]
        precisions = [included.get(ref) for ref in refs]
        return cls(
            id=r.id or "",
            sku=r.attr("sku") or "",
            status=r.attr("status"),
            product_type=r.attr("productType"),
            inventory_status=r.one_id("inventory_status"),
            updated_at=r.attr("updatedAt"),
            primary_unit_precision_id=primary.id if primary else None,
            unit_precision_ids=[ref.id for ref in refs],
            unit_precisions=[OroUnitPrecision.from_resource(p) for p in precisions if p is not None],
        )


def _default_string(refs: list[ResourceIdentifier], included: Included, attr: str = "string") -> str | None:
    """The default-localization value (`localization: null`) among included localized values."""
    for ref in refs:
        value = included.get(ref)
        if value is not None and value.one("localization") is None:
            found = value.attr(attr)
            if isinstance(found, dict):  # productdescriptions: `wysiwyg: {value, style, properties}`
                found = found.get("value")
            return str(found) if found is not None else None
    return None


class OroShippingOptions(_Wire):
    """A `productshippingoptions` record: weight and dimensions of one unit of the product."""

    id: ResourceId
    unit: str | None = None
    weight: Decimal | None = None
    weight_unit: str | None = None  # weightunits id, e.g. kg, lbs
    length: Decimal | None = None
    width: Decimal | None = None
    height: Decimal | None = None
    dimensions_unit: str | None = None  # lengthunits id, e.g. cm, m, inch
    freight_class: str | None = None

    @classmethod
    def from_resource(cls, r: Resource) -> OroShippingOptions:
        return cls(
            id=r.id or "",
            unit=r.one_id("productUnit"),
            weight=r.attr("weightValue"),
            weight_unit=r.one_id("weightUnit"),
            length=r.attr("dimensionsLength"),
            width=r.attr("dimensionsWidth"),
            height=r.attr("dimensionsHeight"),
            dimensions_unit=r.one_id("dimensionsUnit"),
            freight_class=r.one_id("freightClass"),
        )


class OroProductData(_Wire):
    """What product-data sync reads of a product (`PRODUCT_DATA_INCLUDE`): its default name and description,
    brand and category (their default titles), tax code, units (code, conversion rate) and shipping options.
    A name, brand or category is None when the product has none or the document did not include it."""

    id: ResourceId
    sku: str
    status: str | None = None
    updated_at: UtcDatetime | None = None
    name: str | None = None
    description: str | None = None
    brand_id: str | None = None
    brand: str | None = None
    category_id: str | None = None
    category: str | None = None
    tax_code: str | None = None
    primary_unit: str | None = None
    unit_precisions: list[OroUnitPrecision] = Field(default_factory=list)
    shipping_options: list[OroShippingOptions] = Field(default_factory=list)

    def conversion_rate(self, unit: str) -> Decimal | None:
        """Primary units in one `unit` (the primary unit's own rate is 1)."""
        for p in self.unit_precisions:
            if p.unit == unit:
                return p.conversion_rate
        return None

    def shipping(self, unit: str | None = None) -> OroShippingOptions | None:
        """The shipping options of `unit` (default: the primary unit)."""
        wanted = unit or self.primary_unit
        return next((o for o in self.shipping_options if o.unit == wanted), None)

    @classmethod
    def from_resource(cls, r: Resource, included: Included | None = None) -> OroProductData:
        included = included or Included()
        units = OroProduct.from_resource(r, included)
        brand = included.get(r.one("brand"))
        category = included.get(r.one("category"))
        tax_code = included.get(r.one("taxCode"))
        options = [included.get(ref) for ref in r.many("productShippingOptions")]
        return cls(
            id=r.id or "",
            sku=r.attr("sku") or "",
            status=r.attr("status"),
            updated_at=r.attr("updatedAt"),
            name=_default_string(r.many("names"), included),
            description=_default_string(r.many("descriptions"), included, "wysiwyg"),
            brand_id=r.one_id("brand"),
            brand=_default_string(brand.many("names"), included) if brand is not None else None,
            category_id=r.one_id("category"),
            category=_default_string(category.many("titles"), included) if category is not None else None,
            tax_code=tax_code.attr("code") if tax_code is not None else None,
            primary_unit=units.primary_unit,
            unit_precisions=units.unit_precisions,
            shipping_options=[OroShippingOptions.from_resource(o) for o in options if o is not None],
        )


# A product's `inventory_status` (`prodinventorystatuses` ids, reference §8).
INVENTORY_STATUSES = frozenset({"in_stock", "out_of_stock", "discontinued"})


class OroInventoryLevel(_Wire):
    id: ResourceId
    quantity: Decimal
    external_id: str | None = None
    product_id: str | None = None
    product_unit_precision_id: str | None = None
    # Filled when `include=product,productUnitPrecision` was asked for.
    product_sku: str | None = None
    unit: str | None = None

    @classmethod
    def from_resource(cls, r: Resource, included: Included | None = None) -> OroInventoryLevel:
        included = included or Included()
        product = included.get(r.one("product"))
        precision = included.get(r.one("productUnitPrecision"))
        return cls(
            id=r.id or "",
            quantity=r.attr("quantity", 0),
            external_id=r.attr("externalId"),
            product_id=r.one_id("product"),
            product_unit_precision_id=r.one_id("productUnitPrecision"),
            product_sku=product.attr("sku") if product else None,
            unit=precision.one_id("unit") if precision else None,
        )


class OroPriceList(_Wire):
    id: ResourceId
    name: str
    currencies: list[str] = Field(default_factory=list)
    active: bool | None = None
    updated_at: UtcDatetime | None = None

    @classmethod
    def from_resource(cls, r: Resource) -> OroPriceList:
        return cls(
            id=r.id or "",
            name=r.attr("name") or "",
            currencies=list(r.attr("priceListCurrencies") or []),
            active=r.attr("active"),
            updated_at=r.attr("updatedAt"),
        )


class OroPriceListAssignment(_Wire):
    """A `pricelisttocustomers` / `pricelisttocustomergroups` resource (OC PricingBundle api.yml). The LOWER
    `sort_order` is the HIGHER priority: Oro reads them by sortOrder ascending, first in the price list chain."""

    id: ResourceId
    price_list_id: str
    sort_order: StrictInt
    merge_allowed: StrictBool | None = None
    website_id: str | None = None

    @classmethod
    def from_resource(cls, r: Resource) -> OroPriceListAssignment:
        return cls(
            id=r.id or "",
            price_list_id=r.one_id("priceList"),
            sort_order=r.attr("sortOrder"),
            merge_allowed=r.attr("mergeAllowed"),
            website_id=r.one_id("website"),
        )


class OroProductPrice(_Wire):
    id: ResourceId  # "<GUID>-<priceListId>"
    quantity: Decimal  # the tier's minimum quantity
    value: Decimal
    currency: str
    price_list_id: str | None = None
    product_id: str | None = None
    unit: str | None = None
    product_sku: str | None = None  # when `include=product`

    @classmethod
    def from_resource(cls, r: Resource, included: Included | None = None) -> OroProductPrice:
        included = included or Included()
        product = included.get(r.one("product"))
        return cls(
            id=r.id or "",
            quantity=r.attr("quantity"),
            value=r.attr("value"),
            currency=r.attr("currency"),
            price_list_id=r.one_id("priceList"),
            product_id=r.one_id("product"),
            unit=r.one_id("unit"),
            product_sku=product.attr("sku") if product else None,
        )


class OroAsyncSummary(_Wire):
    aggregate_time: int | None = Field(default=None, alias="aggregateTime")
    read_count: int = Field(default=0, alias="readCount")
    write_count: int = Field(default=0, alias="writeCount")
    error_count: int = Field(default=0, alias="errorCount")
    create_count: int = Field(default=0, alias="createCount")
    update_count: int = Field(default=0, alias="updateCount")


ASYNC_FINISHED = frozenset({"success", "failed", "cancelled"})


class OroAsyncOperation(_Wire):
    id: ResourceId
    status: str  # new | running | failed | success | cancelled
    progress: Decimal | None = None
    elapsed_time: int | None = None
    entity_type: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    summary: OroAsyncSummary = Field(default_factory=OroAsyncSummary)

    @property
    def finished(self) -> bool:
        return self.status in ASYNC_FINISHED

    @property
    def has_errors(self) -> bool:
        """`success` can still carry errors (reference §2): read `/errors` whenever this is true."""
        return self.status in ("failed", "cancelled") or self.summary.error_count > 0

    @classmethod
    def from_resource(cls, r: Resource) -> OroAsyncOperation:
        return cls(
            id=r.id or "",
            status=r.attr("status") or "new",
            progress=r.attr("progress"),
            elapsed_time=r.attr("elapsedTime"),
            entity_type=r.attr("entityType"),
            created_at=r.attr("createdAt"),
            updated_at=r.attr("updatedAt"),
            summary=OroAsyncSummary.model_validate(r.attr("summary") or {}),
        )


class OroAsyncOperationError(_Wire):
    id: ResourceId
    status: str | None = None
    title: str | None = None
    detail: str | None = None
    pointer: str | None = None

    @property
    def record_index(self) -> int | None:
        """The position in the batch's `data` array the error is about (`/data/3/attributes/x` → 3)."""
        parts = (self.pointer or "").strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "data" and parts[1].isdigit():
            return int(parts[1])
        return None

    @classmethod
    def from_resource(cls, r: Resource) -> OroAsyncOperationError:
        source = r.attr("source") or {}
        status = r.attr("status")
        return cls(
            id=r.id or "",
            status=str(status) if status is not None else None,
            title=r.attr("title"),
            detail=r.attr("detail"),
            pointer=source.get("pointer") if isinstance(source, dict) else None,
        )


class OroShippingTracking(_Wire):
    id: ResourceId
    method: str | None = None
    number: str | None = None

    @classmethod
    def from_resource(cls, r: Resource) -> OroShippingTracking:
        return cls(id=r.id or "", method=r.attr("method"), number=r.attr("number"))


class OroWebhookSubscription(_Wire):
    id: ResourceId
    notification_url: str | None = None
    enabled: bool | None = None
    verify_ssl: bool | None = None
    topic: str | None = None
    format: str | None = None

    @classmethod
    def from_resource(cls, r: Resource) -> OroWebhookSubscription:
        return cls(
            id=r.id or "",
            notification_url=r.attr("notificationUrl"),
            enabled=r.attr("enabled"),
            verify_ssl=r.attr("verifySsl"),
            topic=r.one_id("topic"),
            format=r.one_id("format"),
        )
