"""Resource definitions of the sandbox OroCommerce back-office JSON:API.

Written from `reference/orocommerce-api.md` (OroCommerce 6.1 LTS), independently of the project's `shared/`
package. Each resource names its attributes, its relationships, the filters it accepts, the actions it allows,
how its ids are made and whether upsert is on. Behaviour that does not fit a table (totals, unit checks,
inventory rows created with a unit precision) lives in `store.py` as per-type hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Attribute kinds:
#   string, text      plain strings
#   int, bool         JSON numbers / booleans
#   money             decimal, returned as a string with 4 decimals ("12.5000")
#   number            decimal, returned as a JSON number (quantities, conversion rates)
#   decstr            decimal, returned as a string without padding (inventory quantity "17")
#   float             JSON number (progress)
#   datetime          returned as YYYY-MM-DDTHH:MM:SSZ (UTC, seconds)
#   date              YYYY-MM-DD
#   array, object     JSON values kept as given

ALL_ACTIONS = frozenset({"get", "get_list", "create", "update", "delete", "delete_list", "update_list"})
READ_ONLY = frozenset({"get", "get_list"})

CMP_OPS = frozenset({"eq", "neq", "lt", "lte", "gt", "gte", "exists", "neq_or_null"})
STR_OPS = frozenset({"eq", "neq", "exists", "neq_or_null"})
BOOL_OPS = frozenset({"eq", "neq", "exists"})
REL_OPS = frozenset({"eq", "neq", "exists", "neq_or_null"})


@dataclass(frozen=True)
class Attr:
    name: str
    kind: str = "string"
    required: bool = False
    read_only: bool = False  # computed or ignored when sent
    create_only: bool = False  # writable on create, ignored on update
    write_only: bool = False  # accepted, never returned (secret, password)
    default: Any = None  # value or zero-argument callable
    unique: bool = False
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Rel:
    name: str
    target: str | None  # None: polymorphic (any type)
    many: bool = False
    required: bool = False
    read_only: bool = False  # ignored when sent; update_relationship answers 405
    create_only: bool = False
    inverse: tuple[str, str] | None = None  # derived from (owner type, owner relationship); writes go there
    owns: bool = False  # targets are deleted with the owner (order line items, product names)
    on_delete: str = (
        "null"  # what happens to this reference when the target is deleted: null|cascade|restrict
    )
    default: Any = None  # {"type","id"} / list, or zero-argument callable


@dataclass(frozen=True)
class Filt:
    name: str
    kind: str  # int, string, datetime, bool, money, number, rel
    path: str | None = None  # attribute / relationship name (defaults to name), "id" for the identifier
    arrays: bool = True
    ops: frozenset[str] = CMP_OPS
    required: bool = False
    getter: Callable[[Any, str, dict[str, Any]], Any] | None = None  # (tx, id, record) -> value(s)


@dataclass
class Resource:
    type: str
    attrs: list[Attr] = field(default_factory=list)
    rels: list[Rel] = field(default_factory=list)
    filters: list[Filt] = field(default_factory=list)
    id_kind: str = "int"  # int | code (client-given, e.g. productunits) | uuid | price (<GUID>-<priceListId>)
    actions: frozenset[str] = ALL_ACTIONS
    upsert_by_id: bool = False
    upsert_fields: tuple[tuple[str, ...], ...] = ()
    webhook_alias: str | None = None
    loose: bool = False  # accept any attribute / relationship (peripheral resources)
    sortable: frozenset[str] | None = None  # None: id and every scalar attribute
    subresources: bool = True
    timestamps: bool = False  # createdAt / updatedAt maintained by the server

    def attr(self, name: str) -> Attr | None:
        return self._attrs().get(name)

    def rel(self, name: str) -> Rel | None:
        return self._rels().get(name)

    def filt(self, name: str) -> Filt | None:
        for f in self.filters:
            if f.name == name:
                return f
        return None

    def _attrs(self) -> dict[str, Attr]:
        cache = self.__dict__.get("_attr_cache")
        if cache is None:
            cache = {a.name: a for a in self.attrs}
            self.__dict__["_attr_cache"] = cache
        return cache

    def _rels(self) -> dict[str, Rel]:
        cache = self.__dict__.get("_rel_cache")
        if cache is None:
            cache = {r.name: r for r in self.rels}
            self.__dict__["_rel_cache"] = cache
        return cache


def ref(type_: str, id_: str) -> dict[str, str]:
    return {"type": type_, "id": id_}


def _one(type_: str, id_: str) -> Callable[[], dict[str, str]]:
    return lambda: ref(type_, id_)


def _empty() -> list[Any]:
    return []


OWNER = Rel("owner", "users", default=_one("users", "1"))
ORGANIZATION = Rel("organization", "organizations", default=_one("organizations", "1"))
WEBSITE = Rel("website", "websites", default=_one("websites", "1"))
CREATED = Attr("createdAt", "datetime", read_only=True)
UPDATED = Attr("updatedAt", "datetime", read_only=True)
ID_INT = Filt("id", "int", path="id")
ID_STR = Filt("id", "string", path="id")
CREATED_F = Filt("createdAt", "datetime", arrays=False)
UPDATED_F = Filt("updatedAt", "datetime", arrays=False)


def _line_customers(field_name: str) -> Callable[[Any, str, dict[str, Any]], Any]:
    """orderlineitems filter[customer] / filter[customerUser]: through the orders of the line."""

    def get(tx: Any, id_: str, rec: dict[str, Any]) -> list[str]:
        out: list[str] = []
        for order in tx.owners_of("orders", "lineItems", id_):
            target = order["relationships"].get(field_name)
            if target:
                out.append(target["id"])
        return out

    return get


def _enum(type_: str) -> Resource:
    return Resource(
        type_,
        attrs=[Attr("name"), Attr("priority", "int", default=0), Attr("default", "bool", default=False)],
        filters=[ID_STR],
        id_kind="code",
        actions=READ_ONLY,
        subresources=False,
    )


def _address_types(tx: Any, id_: str, rec: dict[str, Any]) -> list[Any]:
    """customeraddresses filter[addressType]: the address's type names."""
    return [t.get("addressType") for t in rec["attributes"].get("types") or [] if isinstance(t, dict)]


def _price_list_relation(type_: str, owner: str, owner_type: str) -> Resource:
    return Resource(
        type_,
        attrs=[Attr("sortOrder", "int", required=True), Attr("mergeAllowed", "bool", default=True)],
        rels=[
            Rel(owner, owner_type, required=True, create_only=True, on_delete="cascade"),
            Rel("priceList", "pricelists", required=True, on_delete="cascade"),
            Rel("website", "websites", create_only=True, default=_one("websites", "1")),
        ],
        filters=[
            ID_INT,
            Filt(owner, "rel", ops=REL_OPS),
            Filt("priceList", "rel", ops=REL_OPS),
            Filt("website", "rel", ops=REL_OPS),
        ],
    )


def _loose(type_: str, attrs: list[Attr] | None = None, rels: list[Rel] | None = None) -> Resource:
    return Resource(type_, attrs=attrs or [], rels=rels or [], filters=[ID_INT], loose=True)


def build_registry() -> dict[str, Resource]:
    resources: list[Resource] = [
        # ---- customers -------------------------------------------------------------------------------
        Resource(
            "customers",
            attrs=[Attr("name", required=True), Attr("externalId", unique=True), CREATED, UPDATED],
            rels=[
                Rel("parent", "customers"),
                Rel("children", "customers", many=True, inverse=("customers", "parent")),
                Rel(
                    "users", "customerusers", many=True, inverse=("customerusers", "customer"), read_only=True
                ),
                Rel("group", "customergroups"),
                Rel("paymentTerm", "paymentterms"),
                Rel("internal_rating", "customerratings"),
                Rel("salesRepresentatives", "users", many=True, default=_empty),
                Rel(
                    "addresses",
                    "customeraddresses",
                    many=True,
                    inverse=("customeraddresses", "customer"),
                    read_only=True,
                ),
                Rel("taxCode", "customertaxcodes"),
                OWNER,
                ORGANIZATION,
            ],
            filters=[
                ID_INT,
                Filt("name", "string", arrays=False, ops=STR_OPS),
                Filt("externalId", "string", ops=STR_OPS),
                CREATED_F,
                UPDATED_F,
                Filt("parent", "rel", ops=REL_OPS),
                Filt("group", "rel", ops=REL_OPS),
            ],
            upsert_fields=(("externalId",),),
            webhook_alias="customer",
            timestamps=True,
        ),
        Resource(
            "customerusers",
            attrs=[
                Attr("email", required=True),
                Attr("firstName", required=True),
                Attr("lastName", required=True),
                Attr("namePrefix"),
                Attr("middleName"),
                Attr("nameSuffix"),
                Attr("birthday", "date"),
                Attr("password", write_only=True, create_only=True),
                Attr("enabled", "bool", default=True),
                Attr("confirmed", "bool", default=True),
                Attr("isGuest", "bool", read_only=True, default=False),
                Attr("externalId", unique=True),
                Attr("loginCount", "int", read_only=True, default=0),
                Attr("lastLogin", "datetime", read_only=True),
                Attr("passwordChangedAt", "datetime", read_only=True),
                Attr("passwordRequestedAt", "datetime", read_only=True),
                CREATED,
                UPDATED,
            ],
            rels=[
                Rel("customer", "customers", required=True, on_delete="cascade"),
                Rel("userRoles", "customeruserroles", many=True, default=_empty),
                Rel("salesRepresentatives", "users", many=True, default=_empty),
                Rel("addresses", "customeruseraddresses", many=True, read_only=True, default=_empty),
                OWNER,
                ORGANIZATION,
                WEBSITE,
            ],
            filters=[
                ID_INT,
                Filt("email", "string", ops=STR_OPS),
                Filt("customer", "rel", ops=REL_OPS),
                Filt("externalId", "string", ops=STR_OPS),
            ],
            upsert_fields=(("externalId",),),
            webhook_alias="customer_user",
            timestamps=True,
        ),
        # CP CustomerBundle api.yml: the account's addresses. `organization` is the company name on the address
        # (the owning organization is `systemOrganization`); `customer` (the entity's frontendOwner) is required
        # and cannot be changed after create; `types` is a list of {addressType: billing|shipping, default: bool};
        # `primary` is unique per customer (setting it clears the others). Filter by customer, country, region,
        # customRegion and addressType (not by `types`).
        Resource(
            "customeraddresses",
            attrs=[
                Attr("label"),
                Attr("organization"),
                Attr("namePrefix"),
                Attr("firstName"),
                Attr("middleName"),
                Attr("lastName"),
                Attr("nameSuffix"),
                Attr("street", required=True),
                Attr("street2"),
                Attr("city", required=True),
                Attr("postalCode", required=True),
                Attr("phone"),
                Attr("customRegion"),
                Attr("primary", "bool", default=False),
                Attr("types", "array", default=_empty),
                Attr("validatedAt", "datetime"),
                CREATED,
                UPDATED,
            ],
            rels=[
                Rel("customer", "customers", required=True, create_only=True, on_delete="cascade"),
                Rel("country", "countries", required=True),
                Rel("region", "regions"),
                OWNER,
                Rel("systemOrganization", "organizations", default=_one("organizations", "1")),
            ],
            filters=[
                ID_INT,
                Filt("customer", "rel", ops=REL_OPS),
                Filt("country", "rel", ops=REL_OPS),
                Filt("region", "rel", ops=REL_OPS),
                Filt("customRegion", "string", ops=STR_OPS),
                Filt("addressType", "string", ops=STR_OPS, getter=_address_types),
                CREATED_F,
                UPDATED_F,
            ],
            timestamps=True,
        ),
        Resource(
            "customeruserroles",
            attrs=[Attr("role"), Attr("label"), Attr("selfManaged", "bool", default=True)],
            filters=[ID_INT],
            actions=READ_ONLY,
        ),
        _loose(
            "customergroups",
            [Attr("name", required=True)],
            [Rel("paymentTerm", "paymentterms"), OWNER, ORGANIZATION],
        ),
        _loose("paymentterms", [Attr("label", required=True)]),
        # ---- products and units ----------------------------------------------------------------------
        Resource(
            "products",
            attrs=[
                Attr("sku", required=True, unique=True),
                Attr("status", default="disabled", choices=("enabled", "disabled")),
                Attr(
                    "productType",
                    default="simple",
                    choices=("simple", "configurable", "kit"),
                    create_only=True,
                ),
                Attr("variantFields", "array", default=_empty),
                Attr("featured", "bool", default=False),
                Attr("newArrival", "bool", default=False),
                Attr("availability_date", "date"),
                CREATED,
                UPDATED,
            ],
            rels=[
                Rel("names", "productnames", many=True, owns=True, default=_empty),
                Rel("descriptions", "productdescriptions", many=True, owns=True, default=_empty),
                Rel("primaryUnitPrecision", "productunitprecisions"),
                Rel(
                    "unitPrecisions",
                    "productunitprecisions",
                    many=True,
                    inverse=("productunitprecisions", "product"),
                ),
                Rel(
                    "inventory_status",
                    "prodinventorystatuses",
                    default=_one("prodinventorystatuses", "in_stock"),
                ),
                Rel("attributeFamily", "attributefamilies", default=_one("attributefamilies", "1")),
                Rel("category", "categories"),
                Rel("brand", "brands"),
                Rel("taxCode", "producttaxcodes"),
                # ShippingBundle: weight and dimensions, one record per product unit (read through the product).
                Rel(
                    "productShippingOptions",
                    "productshippingoptions",
                    many=True,
                    inverse=("productshippingoptions", "product"),
                ),
                Rel("owner", "businessunits", default=_one("businessunits", "1")),
                ORGANIZATION,
            ],
            filters=[
                ID_INT,
                Filt("sku", "string", ops=STR_OPS),
                Filt("status", "string", ops=STR_OPS),
                Filt("productType", "string", ops=STR_OPS),
                CREATED_F,
                UPDATED_F,
                Filt("inventory_status", "rel", ops=REL_OPS),
            ],
            webhook_alias="product",
            timestamps=True,
        ),
        Resource(
            "productnames",
            attrs=[Attr("fallback"), Attr("string"), Attr("text", "text")],
            rels=[
                Rel("localization", "localizations"),
                Rel("product", "products", inverse=("products", "names"), read_only=True),
            ],
            filters=[ID_INT],
        ),
        # Descriptions: Oro 6.1 keeps them as WYSIWYG values (`wysiwyg: {value, style, properties}`).
        Resource(
            "productdescriptions",
            attrs=[Attr("fallback"), Attr("wysiwyg", "object")],
            rels=[
                Rel("localization", "localizations"),
                Rel("product", "products", inverse=("products", "descriptions"), read_only=True),
            ],
            filters=[ID_INT],
        ),
        # Generic localized values (brand names); `localization: null` is the default value.
        Resource(
            "localizedfallbackvalues",
            attrs=[Attr("fallback"), Attr("string"), Attr("text", "text")],
            rels=[Rel("localization", "localizations")],
            filters=[ID_INT],
        ),
        Resource(
            "brands",
            attrs=[
                Attr("status", default="enabled", choices=("enabled", "disabled")),
                CREATED,
                UPDATED,
            ],
            rels=[
                Rel("names", "localizedfallbackvalues", many=True, owns=True, default=_empty),
                Rel("owner", "businessunits", default=_one("businessunits", "1")),
                ORGANIZATION,
            ],
            filters=[ID_INT],
            actions=ALL_ACTIONS - {"update_list"},
            timestamps=True,
        ),
        # The master catalog is read-only in the API (CatalogBundle api.yml): categories are made in the back
        # office, here through the control API (`POST /__sandbox/categories`).
        Resource(
            "categories",
            attrs=[CREATED, UPDATED],
            rels=[
                Rel("titles", "categorytitles", many=True, owns=True, default=_empty),
                Rel("parentCategory", "categories"),
                ORGANIZATION,
            ],
            filters=[ID_INT],
            actions=READ_ONLY,
            timestamps=True,
        ),
        Resource(
            "categorytitles",
            attrs=[Attr("fallback"), Attr("string")],
            rels=[Rel("localization", "localizations")],
            filters=[ID_INT],
            actions=READ_ONLY,
        ),
        Resource(
            "productshippingoptions",
            attrs=[
                Attr("weightValue", "number"),
                Attr("dimensionsLength", "number"),
                Attr("dimensionsWidth", "number"),
                Attr("dimensionsHeight", "number"),
            ],
            rels=[
                Rel("product", "products", required=True, on_delete="cascade"),
                Rel("productUnit", "productunits", required=True),
                Rel("weightUnit", "weightunits"),
                Rel("dimensionsUnit", "lengthunits"),
                Rel("freightClass", "freightclasses"),
            ],
            filters=[ID_INT, Filt("product", "rel", ops=REL_OPS)],
            actions=ALL_ACTIONS - {"update_list"},
        ),
        # TaxBundle: the tax code a product carries (reference: products -> taxCode).
        Resource(
            "producttaxcodes",
            attrs=[Attr("code", required=True, unique=True), Attr("description"), CREATED, UPDATED],
            filters=[ID_INT, Filt("code", "string", ops=STR_OPS)],
            actions=ALL_ACTIONS - {"update_list"},
            timestamps=True,
        ),
        Resource(
            "productunits",
            attrs=[
                Attr("defaultPrecision", "int", default=0),
                Attr("label"),
                Attr("shortLabel"),
                Attr("pluralLabel"),
                Attr("shortPluralLabel"),
            ],
            filters=[ID_STR],
            id_kind="code",
            upsert_by_id=True,
            actions=ALL_ACTIONS - {"update_list"},
        ),
        Resource(
            "productunitprecisions",
            attrs=[
                Attr("precision", "int", required=True),
                Attr("conversionRate", "number", default="1"),
                Attr("sell", "bool", default=True),
            ],
            rels=[
                Rel("product", "products", required=True, on_delete="cascade"),
                Rel("unit", "productunits", required=True, on_delete="restrict"),
            ],
            filters=[ID_INT, Filt("product", "rel", ops=REL_OPS), Filt("unit", "rel", ops=REL_OPS)],
            actions=ALL_ACTIONS - {"update_list"},
        ),
        Resource(
            "inventorylevels",
            attrs=[Attr("quantity", "decstr", default="0"), Attr("externalId")],
            rels=[
                Rel("product", "products", read_only=True, on_delete="cascade"),
                Rel("productUnitPrecision", "productunitprecisions", read_only=True, on_delete="cascade"),
                Rel("organization", "organizations", read_only=True, default=_one("organizations", "1")),
            ],
            filters=[
                ID_INT,
                Filt("product", "rel", ops=REL_OPS),
                Filt("productUnitPrecision", "rel", ops=REL_OPS),
                Filt("externalId", "string", ops=STR_OPS),
            ],
            actions=frozenset({"get", "get_list", "update", "update_list"}),
        ),
        _enum("prodinventorystatuses"),
        # ---- pricing -----------------------------------------------------------------------------------
        Resource(
            "pricelists",
            attrs=[
                Attr("name", required=True),
                Attr("priceListCurrencies", "array", required=True),
                Attr("active", "bool", default=True),
                Attr("actual", "bool", read_only=True, default=True),
                Attr("containSchedule", "bool", read_only=True, default=False),
                Attr("productAssignmentRule", "text"),
                CREATED,
                UPDATED,
            ],
            rels=[
                Rel("priceRules", "pricerules", many=True, read_only=True, default=_empty),
                Rel("schedules", "pricelistschedules", many=True, read_only=True, default=_empty),
                ORGANIZATION,
            ],
            filters=[ID_INT, Filt("name", "string", ops=STR_OPS), Filt("active", "bool", ops=BOOL_OPS)],
            timestamps=True,
        ),
        Resource(
            "productprices",
            attrs=[
                Attr("quantity", "number", required=True),
                Attr("value", "money", required=True),
                Attr("currency", required=True),
            ],
            rels=[
                Rel("priceList", "pricelists", required=True, create_only=True, on_delete="cascade"),
                Rel("product", "products", required=True, on_delete="cascade"),
                Rel("unit", "productunits", required=True, on_delete="restrict"),
            ],
            filters=[
                Filt("priceList", "rel", arrays=False, ops=frozenset({"eq"}), required=True),
                Filt("product", "rel", ops=REL_OPS),
                Filt("unit", "rel", ops=REL_OPS),
                Filt("currency", "string", ops=STR_OPS),
                Filt("quantity", "number"),
            ],
            id_kind="price",
            subresources=False,
        ),
        # OC PricingBundle api.yml: price lists assigned to a customer / a customer group, per website.
        # Priority: Oro reads the assignments ordered by sortOrder ASCENDING and puts them at the head of the
        # price list chain, before the group's and the website's (PriceListCollectionProvider,
        # PriceListToCustomerRepository::getPriceLists, PriceListCollectionType::DEFAULT_ORDER = ASC), and the
        # merge strategy lets the first list in the chain win: the LOWEST sortOrder is the HIGHEST priority.
        # (priceList, website, customer|customerGroup) is unique; customer/group and website are create-only.
        _price_list_relation("pricelisttocustomers", "customer", "customers"),
        _price_list_relation("pricelisttocustomergroups", "customerGroup", "customergroups"),
        # ---- orders ------------------------------------------------------------------------------------
        Resource(
            "orders",
            attrs=[
                Attr("identifier"),
                Attr("poNumber"),
                Attr("customerNotes", "text"),
                Attr("shipUntil", "date"),
                Attr("currency", required=True, create_only=True),
                Attr("subtotalValue", "money", read_only=True),
                Attr("subtotalWithDiscountsValue", "money", read_only=True),
                Attr("totalValue", "money", read_only=True),
                Attr("totalDiscountsAmount", "money", read_only=True),
                Attr("shippingMethod"),
                Attr("shippingMethodType"),
                Attr("estimatedShippingCostAmount", "money"),
                Attr("overriddenShippingCostAmount", "money"),
                Attr("sourceEntityIdentifier"),
                Attr("external", "bool", default=False, create_only=True),
                Attr("externalId", unique=True),
                Attr("disablePromotions", "bool", default=False),
                Attr("createdAt", "datetime", create_only=True),
                UPDATED,
            ],
            rels=[
                Rel("customer", "customers", required=True, on_delete="restrict"),
                Rel("customerUser", "customerusers"),
                Rel("lineItems", "orderlineitems", many=True, required=True, owns=True),
                Rel("billingAddress", "orderaddresses", owns=True),
                Rel("shippingAddress", "orderaddresses", owns=True),
                Rel("discounts", "orderdiscounts", many=True, owns=True, default=_empty),
                Rel(
                    "shippingTrackings",
                    "ordershippingtrackings",
                    many=True,
                    inverse=("ordershippingtrackings", "orders"),
                ),
                Rel("paymentTerm", "paymentterms"),
                Rel("internalStatus", "orderinternalstatuses", read_only=True),
                Rel("status", "orderstatuses"),
                Rel("shippingStatus", "ordershippingstatuses"),
                Rel("source", None),
                Rel("parent", "orders"),
                Rel("subOrders", "orders", many=True, inverse=("orders", "parent"), read_only=True),
                Rel(
                    "orderSubtotals",
                    "ordersubtotals",
                    many=True,
                    inverse=("ordersubtotals", "order"),
                    read_only=True,
                ),
                Rel("createdBy", "users", read_only=True, default=_one("users", "1")),
                OWNER,
                ORGANIZATION,
                WEBSITE,
            ],
            filters=[
                ID_INT,
                Filt("identifier", "string", ops=STR_OPS),
                Filt("poNumber", "string", ops=STR_OPS),
                Filt("externalId", "string", ops=STR_OPS),
                Filt("external", "bool", arrays=False, ops=BOOL_OPS),
                CREATED_F,
                UPDATED_F,
                Filt("customer", "rel", ops=REL_OPS),
                Filt("customerUser", "rel", ops=REL_OPS),
                Filt("internalStatus", "rel", ops=REL_OPS),
                Filt("status", "rel", ops=REL_OPS),
                Filt("shippingStatus", "rel", ops=REL_OPS),
                Filt("parent", "rel", ops=REL_OPS),
            ],
            sortable=frozenset({"id", "identifier", "poNumber", "createdAt", "updatedAt", "external"}),
            upsert_fields=(("externalId",),),
            webhook_alias="order",
            timestamps=True,
        ),
        Resource(
            "orderlineitems",
            attrs=[
                Attr("productSku"),
                Attr("productName"),
                Attr("productVariantFields", "array", default=_empty),
                Attr("freeFormProduct"),
                Attr("quantity", "number", required=True),
                Attr("productUnitCode", read_only=True),
                Attr("value", "money"),
                Attr("currency", required=True),
                Attr("priceType", "int", default=10),
                Attr("shipBy", "date"),
                Attr("fromExternalSource", "bool", default=False),
                Attr("comment", "text"),
                Attr("shippingMethod"),
                Attr("shippingMethodType"),
                Attr("shippingEstimateAmount", "money"),
                Attr("checksum", read_only=True),
                CREATED,
                UPDATED,
            ],
            rels=[
                Rel("orders", "orders", many=True, inverse=("orders", "lineItems")),
                Rel("product", "products", on_delete="null"),
                Rel("parentProduct", "products"),
                Rel("productUnit", "productunits", required=True, on_delete="restrict"),
                Rel(
                    "kitItemLineItems",
                    "orderproductkititemlineitems",
                    many=True,
                    read_only=True,
                    default=_empty,
                ),
            ],
            filters=[
                ID_INT,
                CREATED_F,
                UPDATED_F,
                Filt("orders", "rel", ops=REL_OPS),
                Filt("product", "rel", ops=REL_OPS),
                Filt("customer", "rel", ops=REL_OPS, getter=_line_customers("customer")),
                Filt("customerUser", "rel", ops=REL_OPS, getter=_line_customers("customerUser")),
            ],
            sortable=frozenset({"id", "createdAt", "updatedAt"}),
            timestamps=True,
        ),
        _loose(
            "orderaddresses",
            [
                Attr("label"),
                Attr("organization"),
                Attr("namePrefix"),
                Attr("firstName"),
                Attr("middleName"),
                Attr("lastName"),
                Attr("nameSuffix"),
                Attr("street"),
                Attr("street2"),
                Attr("city"),
                Attr("postalCode"),
                Attr("phone"),
                Attr("customRegion"),
            ],
            [Rel("country", "countries"), Rel("region", "regions")],
        ),
        # The order's totals block (6.1+, computed, read-only): list it with filter[order] (OC order_subtotal.md).
        Resource(
            "ordersubtotals",
            attrs=[
                Attr("orderSubtotalType"),
                Attr("label"),
                Attr("amount", "money"),
                Attr("signedAmount", "money"),
                Attr("currency"),
                Attr("visible", "bool", default=True),
                Attr("data", "array"),
            ],
            rels=[Rel("order", "orders", on_delete="cascade"), Rel("priceList", "pricelists")],
            filters=[Filt("order", "rel", ops=REL_OPS, required=True)],
            id_kind="code",
            actions=READ_ONLY,
            subresources=False,
        ),
        # OC order_discount.md: description, amount, percent, orderDiscountType; relationship `order`.
        Resource(
            "orderdiscounts",
            attrs=[
                Attr("description"),
                Attr("amount", "money"),
                Attr("percent", "money"),
                Attr("orderDiscountType", default="oro_order_discount_item_type_amount"),
            ],
            rels=[Rel("order", "orders")],
            filters=[ID_INT],
        ),
        Resource(
            "ordershippingtrackings",
            attrs=[Attr("method", required=True), Attr("number", required=True)],
            rels=[Rel("orders", "orders", many=True, required=True)],
            filters=[ID_INT, Filt("orders", "rel", ops=REL_OPS), Filt("number", "string", ops=STR_OPS)],
        ),
        _enum("orderinternalstatuses"),
        _enum("orderstatuses"),
        _enum("ordershippingstatuses"),
        # ---- quotes and RFQs -----------------------------------------------------------------------------
        Resource(
            "quotes",
            attrs=[
                Attr("identifier", read_only=True),
                Attr("poNumber"),
                Attr("shipUntil", "date"),
                Attr("validUntil", "datetime"),
                Attr("currency", create_only=True, default="USD"),
                Attr("guestAccessId", read_only=True),
                Attr("pricesChanged", "bool", read_only=True, default=False),
                Attr("externalId", unique=True),
                CREATED,
                UPDATED,
            ],
            rels=[
                Rel("quoteProducts", "quoteproducts", many=True, inverse=("quoteproducts", "quote")),
                Rel("customer", "customers"),
                Rel("customerUser", "customerusers"),
                Rel("request", "rfqs"),
                Rel("shippingAddress", "quoteshippingaddresses", owns=True, create_only=True),
                Rel("paymentTerm", "paymentterms"),
                Rel("assignedUsers", "users", many=True, default=_empty),
                Rel("assignedCustomerUsers", "customerusers", many=True, default=_empty),
                Rel("customerStatus", "quotecustomerstatuses", read_only=True),
                Rel("internalStatus", "quoteinternalstatuses", read_only=True),
                OWNER,
                ORGANIZATION,
                WEBSITE,
            ],
            filters=[
                ID_INT,
                Filt("externalId", "string", ops=STR_OPS),
                CREATED_F,
                UPDATED_F,
                Filt("customer", "rel", ops=REL_OPS),
                Filt("internalStatus", "rel", ops=REL_OPS),
                Filt("customerStatus", "rel", ops=REL_OPS),
                Filt("request", "rel", ops=REL_OPS),
            ],
            upsert_fields=(("externalId",),),
            webhook_alias="quote",
            timestamps=True,
        ),
        Resource(
            "quoteproducts",
            attrs=[
                Attr("productSku"),
                Attr("freeFormProduct"),
                Attr("comment", "text"),
                Attr("commentCustomer", "text"),
                Attr("type", "int", default=1),
            ],
            rels=[
                Rel("quote", "quotes", required=True, on_delete="cascade"),
                Rel("product", "products"),
                Rel(
                    "quoteProductOffers",
                    "quoteproductoffers",
                    many=True,
                    inverse=("quoteproductoffers", "quoteProduct"),
                ),
            ],
            filters=[ID_INT, Filt("quote", "rel", ops=REL_OPS)],
        ),
        Resource(
            "quoteproductoffers",
            attrs=[
                Attr("quantity", "number", required=True),
                Attr("value", "money", required=True),
                Attr("currency", required=True),
                Attr("priceType", "int", default=10),
                Attr("allowIncrements", "bool", default=False),
                Attr("productUnitCode", read_only=True),
            ],
            rels=[
                Rel("quoteProduct", "quoteproducts", required=True, on_delete="cascade"),
                Rel("productUnit", "productunits", required=True, on_delete="restrict"),
            ],
            filters=[ID_INT, Filt("quoteProduct", "rel", ops=REL_OPS)],
        ),
        _loose("quoteshippingaddresses", [Attr("label"), Attr("street"), Attr("city"), Attr("postalCode")]),
        _enum("quoteinternalstatuses"),
        _enum("quotecustomerstatuses"),
        Resource(
            "rfqs",
            attrs=[
                Attr("firstName", required=True),
                Attr("lastName", required=True),
                Attr("email", required=True),
                Attr("phone"),
                Attr("company", required=True),
                Attr("role"),
                Attr("note", "text"),
                Attr("poNumber"),
                Attr("shipUntil", "date"),
                CREATED,
                UPDATED,
            ],
            rels=[
                Rel("customer", "customers"),
                Rel("customerUser", "customerusers"),
                Rel("requestProducts", "rfqproducts", many=True, inverse=("rfqproducts", "request")),
                Rel("quotes", "quotes", many=True, inverse=("quotes", "request"), read_only=True),
                Rel("internal_status", "rfqinternalstatuses", read_only=True),
                Rel("customer_status", "rfqcustomerstatuses", read_only=True),
                OWNER,
                ORGANIZATION,
                WEBSITE,
            ],
            filters=[ID_INT, CREATED_F, UPDATED_F, Filt("customer", "rel", ops=REL_OPS)],
            timestamps=True,
        ),
        Resource(
            "rfqproducts",
            attrs=[Attr("productSku"), Attr("comment", "text")],
            rels=[
                Rel("request", "rfqs", required=True, on_delete="cascade"),
                Rel("product", "products"),
                Rel(
                    "requestProductItems",
                    "rfqproductitems",
                    many=True,
                    inverse=("rfqproductitems", "requestProduct"),
                ),
            ],
            filters=[ID_INT, Filt("request", "rel", ops=REL_OPS)],
        ),
        Resource(
            "rfqproductitems",
            attrs=[
                Attr("quantity", "number", required=True),
                Attr("value", "money"),
                Attr("currency"),
                Attr("productUnitCode", read_only=True),
            ],
            rels=[
                Rel("requestProduct", "rfqproducts", required=True, on_delete="cascade"),
                Rel("productUnit", "productunits", required=True, on_delete="restrict"),
            ],
            filters=[ID_INT, Filt("requestProduct", "rel", ops=REL_OPS)],
        ),
        _enum("rfqinternalstatuses"),
        _enum("rfqcustomerstatuses"),
        # ---- webhooks and batch -------------------------------------------------------------------------
        Resource(
            "webhooks",
            attrs=[
                Attr("notificationUrl", required=True),
                Attr("secret", write_only=True),
                Attr("enabled", "bool", default=True),
                Attr("verifySsl", "bool", default=True),
                CREATED,
                UPDATED,
            ],
            rels=[
                Rel("topic", "webhooktopics", required=True),
                Rel("format", "webhookformats", required=True),
                OWNER,
                ORGANIZATION,
            ],
            filters=[
                ID_STR,
                Filt("enabled", "bool", arrays=False, ops=BOOL_OPS),
                Filt("topic", "rel", ops=REL_OPS),
            ],
            id_kind="uuid",
            actions=ALL_ACTIONS - {"update_list"},
            timestamps=True,
        ),
        Resource("webhooktopics", attrs=[Attr("label")], filters=[ID_STR], id_kind="code", actions=READ_ONLY),
        Resource(
            "webhookformats", attrs=[Attr("label")], filters=[ID_STR], id_kind="code", actions=READ_ONLY
        ),
        Resource(
            "asyncoperations",
            attrs=[
                Attr("status"),
                Attr("progress", "float"),
                Attr("elapsedTime", "int", default=0),
                Attr("entityType"),
                Attr("summary", "object"),
                Attr("hasErrors", "bool", default=False),
                CREATED,
                UPDATED,
            ],
            rels=[OWNER, ORGANIZATION],
            filters=[ID_INT],
            actions=frozenset({"get"}),
            timestamps=True,
        ),
        # ---- the back-office context every record points at -----------------------------------------------
        Resource(
            "users",
            attrs=[Attr("username"), Attr("email"), Attr("firstName"), Attr("lastName")],
            filters=[ID_INT],
            actions=READ_ONLY,
        ),
        # Countries (ISO 3166-1 alpha-2 ids), read-only reference data like Oro's own.
        Resource(
            "countries",
            attrs=[Attr("name"), Attr("iso3Code")],
            filters=[ID_STR],
            id_kind="code",
            actions=READ_ONLY,
        ),
        Resource("organizations", attrs=[Attr("name")], filters=[ID_INT], actions=READ_ONLY),
        Resource("businessunits", attrs=[Attr("name")], filters=[ID_INT], actions=READ_ONLY),
        Resource("websites", attrs=[Attr("name")], filters=[ID_INT], actions=READ_ONLY),
    ]
    return {r.type: r for r in resources}


REGISTRY: dict[str, Resource] = build_registry()

# Types whose updates are processed in this order inside one write (line items before the order that sums them).
PREPARE_ORDER = [
    "productunits",
    "productnames",
    "productdescriptions",
    "products",
    "productunitprecisions",
    "inventorylevels",
    "pricelists",
    "productprices",
    "customers",
    "customerusers",
    "customeraddresses",
    "pricelisttocustomers",
    "pricelisttocustomergroups",
    "orderaddresses",
    "orderlineitems",
    "orderdiscounts",
    "orders",
    "ordersubtotals",
    "ordershippingtrackings",
    "quoteproductoffers",
    "quoteproducts",
    "quotes",
    "rfqproductitems",
    "rfqproducts",
    "rfqs",
    "webhooks",
]

# Topics listed by GET /webhooktopics (entity alias + event); per-record variants are accepted but not listed.
WEBHOOK_ENTITIES = ["order", "customer", "customer_user", "product", "quote"]
WEBHOOK_TOPICS = [f"{e}.{ev}" for e in WEBHOOK_ENTITIES for ev in ("created", "updated", "deleted")] + [
    "order.payment_status_updated"
]

ENUMS: dict[str, list[tuple[str, str]]] = {
    "orderinternalstatuses": [
        ("open", "Open"),
        ("pending", "Pending"),
        ("processing", "Processing"),
        ("cancelled", "Cancelled"),
        ("closed", "Closed"),
    ],
    # Community 6.1 seeds no external statuses; the admin defines them. These are the sandbox's.
    "orderstatuses": [
        ("open", "Open"),
        ("wait_for_approval", "Wait For Approval"),
        ("processing", "Processing"),
        ("partially_shipped", "Partially Shipped"),
        ("shipped", "Shipped"),
        ("closed", "Closed"),
        ("cancelled", "Cancelled"),
    ],
    "ordershippingstatuses": [
        ("not_shipped", "Not Shipped"),
        ("shipped", "Shipped"),
        ("partially_shipped", "Partially Shipped"),
    ],
    "prodinventorystatuses": [
        ("in_stock", "In Stock"),
        ("out_of_stock", "Out of Stock"),
        ("discontinued", "Discontinued"),
    ],
    "quoteinternalstatuses": [
        (c, c.replace("_", " ").title())
        for c in (
            "draft",
            "template",
            "open",
            "sent_to_customer",
            "expired",
            "accepted",
            "declined",
            "deleted",
            "cancelled",
            "submitted_for_review",
            "under_review",
            "reviewed",
            "not_approved",
        )
    ],
    "quotecustomerstatuses": [
        (c, c.replace("_", " ").title())
        for c in ("open", "expired", "accepted", "declined", "pending_approval", "approved", "not_approved")
    ],
    "rfqinternalstatuses": [
        (c, c.replace("_", " ").title())
        for c in ("open", "processed", "more_info_requested", "declined", "cancelled_by_customer", "deleted")
    ],
    "rfqcustomerstatuses": [
        (c, c.replace("_", " ").title())
        for c in ("submitted", "pending_approval", "requires_attention", "cancelled")
    ],
}

COUNTRIES: list[tuple[str, str, str]] = [
    ("AU", "AUS", "Australia"),
    ("CA", "CAN", "Canada"),
    ("DE", "DEU", "Germany"),
    ("FR", "FRA", "France"),
    ("GB", "GBR", "United Kingdom"),
    ("NZ", "NZL", "New Zealand"),
    ("US", "USA", "United States"),
]

DEFAULT_UNITS: list[tuple[str, int]] = [
    ("each", 0),
    ("hour", 0),
    ("item", 0),
    ("kg", 3),
    ("piece", 0),
    ("set", 0),
]
