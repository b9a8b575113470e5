"""The service configuration: one pydantic model, validated once at load, errors naming the bad key (DESIGN §9).

Secrets are not part of the config: it only names the Secrets Manager entries that hold them.
The same file drives the CDK stack (schedules, owners) and every function at run time
(`OROSYNC_CONFIG` points at it).
"""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from yaml.constructor import ConstructorError

from shared.errors import ConfigError
from shared.resources import FUNCTIONS
from shared.schedules import parse as parse_schedule

CONFIG_ENV_VAR = "OROSYNC_CONFIG"

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Strict(BaseModel):
    # No infinities or NaNs: `.inf` is no timeout, quantity or tolerance anything downstream can use.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class OrderAction(StrEnum):
    CREATE_AUTHORISED = "create_authorised"
    CREATE_DRAFT = "create_draft"
    HOLD = "hold"
    VOID = "void"
    IGNORE = "ignore"


class PricingAuthority(StrEnum):
    STOREFRONT = "storefront"
    ERP = "erp"


class SubOrderSide(StrEnum):
    PARENT = "parent"
    CHILDREN = "children"


class PriceDirection(StrEnum):
    ERP_TO_ORO = "erp_to_oro"
    ORO_TO_ERP = "oro_to_erp"


class Team(StrEnum):
    FINANCE = "finance"
    OPERATIONS = "operations"
    ECOMMERCE = "ecommerce"
    CUSTOMER_SERVICE = "customer_service"


PositiveDecimal = Annotated[Decimal, Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0)]


class OroEndpoint(_Strict):
    base_url: AnyHttpUrl  # site root; the token URL is <base_url>/oauth2-token
    admin_prefix: str = "admin"
    page_size: int = Field(default=100, ge=1, le=1000)
    timeout_seconds: float = Field(default=30, gt=0)


class Cin7Endpoint(_Strict):
    base_url: AnyHttpUrl = AnyHttpUrl("https://inventory.dearsystems.com/ExternalApi/v2/")
    page_limit: int = Field(default=1000, ge=1, le=1000)
    timeout_seconds: float = Field(default=30, gt=0)


class Endpoints(_Strict):
    oro: OroEndpoint
    cin7: Cin7Endpoint = Cin7Endpoint()


class Secrets(_Strict):
    """Names of Secrets Manager entries. Each holds a JSON object (shape given per field)."""

    oro_client: str = "orosync/oro-client"  # {"client_id": ..., "client_secret": ...}
    oro_webhook: str = "orosync/oro-webhook"  # {"secret": ...} (+ "previous_secret" while rotating)
    cin7_orders: str = "orosync/cin7-orders"  # {"account_id": ..., "application_key": ...}
    cin7_bulk: str | None = None  # a second API application for bulk flows (DESIGN §7)
    # {"secret": ...}: the header value Cin7's webhooks are registered with (they carry no signature)
    cin7_webhook: str = "orosync/cin7-webhook"
    max_age_seconds: int = Field(default=300, ge=0, le=86400)  # how long a read secret is reused
    # After a system refuses the credentials, a message comes back this much later, then twice as late each
    # time, up to SQS's 15 minutes: orders resume within that of the secret being fixed.
    rejected_retry_seconds: int = Field(default=30, ge=1, le=900)


class ErpApplication(_Strict):
    """One Cin7 API application: its own 60-calls-a-minute limit, hence its own token bucket."""

    secret: str  # which `secrets` entry holds its credentials: "cin7_orders" or "cin7_bulk"
    # The bucket refills `calls_per_minute` a minute and holds up to `burst`, so a rolling minute can see
    # calls_per_minute + burst calls: their sum must stay within the ERP's own limit.
    calls_per_minute: int = Field(default=55, ge=1)
    burst: int = Field(default=5, ge=1)  # the bucket's size: calls that may go out back to back
    # Bulk flows (stock, prices, reconcile) only take a token while more than `reserve` remain.
    reserve: int = Field(default=2, ge=0)
    limit_per_minute: int = Field(default=60, ge=1)  # Cin7's limit per API application
    flows: tuple[str, ...]

    @model_validator(mode="after")
    def _budget_within_limit(self) -> ErpApplication:
        if self.reserve >= self.burst:
            raise ValueError(
                f"reserve ({self.reserve}) must be below burst ({self.burst}) or bulk flows never run"
            )
        if self.calls_per_minute + self.burst > self.limit_per_minute:
            raise ValueError(
                f"calls_per_minute + burst ({self.calls_per_minute} + {self.burst}) exceeds "
                f"limit_per_minute ({self.limit_per_minute}): a rolling minute could trip the ERP's limit"
            )
        return self


class ChargeProduct(_Strict):
    """An ERP service product that carries an order-level amount beside the lines (Cin7 AdditionalCharges)."""

    product: str = Field(min_length=1, max_length=256)  # its name in the ERP
    tax_rule: str = Field(min_length=1, max_length=50)  # an ERP tax rule name


class Charges(_Strict):
    """Order-level amounts. An order that carries one with no product configured is held CHARGE_UNMAPPED."""

    shipping: ChargeProduct | None = None
    # What rounding prices down to 4 decimals left over (shared/domain/totals.py), so totals stay exact.
    rounding: ChargeProduct | None = None


class Erp(_Strict):
    applications: dict[str, ErpApplication] = Field(
        default_factory=lambda: {
            "orders": ErpApplication(
                secret="cin7_orders",  # noqa: S106 - the name of a secrets entry, not a secret
                flows=("orders", "fulfilment", "customers", "stock", "prices", "reconcile", "audit"),
            )
        }
    )
    default_location: str
    sale_type: str = "Simple"
    charges: Charges = Charges()
    # The ERP account's base currency. A customer invoiced in another currency needs its rate on each sale.
    base_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    # Currency -> the rate the ERP takes as the sale's CurrencyRate (up to 5 decimals), set by finance.
    # A customer in a currency with no rate here is held CURRENCY_RATE_MISSING, never sent at 1.
    currency_rates: dict[str, Decimal] = Field(default_factory=dict)

    @field_validator("currency_rates")
    @classmethod
    def _rates(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, rate in v.items():
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise ValueError(f"{currency!r} is not a currency code (three capital letters)")
            if rate <= 0 or rate != rate.quantize(Decimal("0.00001")):
                raise ValueError(f"{currency}: rate {rate} must be positive with at most 5 decimals")
        return v

    @model_validator(mode="after")
    def _no_rate_for_the_base(self) -> Erp:
        if self.base_currency is not None and self.base_currency in self.currency_rates:
            raise ValueError(f"currency_rates: {self.base_currency} is the base currency, its rate is 1")
        return self

    @model_validator(mode="after")
    def _each_flow_once(self) -> Erp:
        seen: dict[str, str] = {}
        for name, app in self.applications.items():
            for flow in app.flows:
                if flow in seen:
                    raise ValueError(f"flow {flow!r} is assigned to both {seen[flow]!r} and {name!r}")
                seen[flow] = name
        return self

    def application_for(self, flow: str) -> str:
        for name, app in self.applications.items():
            if flow in app.flows:
                return name
        raise ConfigError(f"erp.applications: no application serves flow {flow!r}")


class Orders(_Strict):
    # Oro internalStatus -> action. Anything not listed is ignored (DESIGN §4.1 step 1).
    status_policy: dict[str, OrderAction] = Field(
        default_factory=lambda: {
            "open": OrderAction.CREATE_AUTHORISED,
            # Oro's workflow moves confirmed orders on; one that reaches these unsynced is still a sale.
            "processing": OrderAction.CREATE_AUTHORISED,
            "closed": OrderAction.CREATE_AUTHORISED,
            "pending": OrderAction.CREATE_DRAFT,
            "cancelled": OrderAction.VOID,
        }
    )
    # Oro external `status` (an approval workflow's, with External Status Management on) -> a more cautious
    # action than the internal status gives: an order awaiting approval is not yet a sale to authorise.
    external_status_policy: dict[str, OrderAction] = Field(
        default_factory=lambda: {"wait_for_approval": OrderAction.CREATE_DRAFT}
    )
    sub_orders: SubOrderSide = SubOrderSide.CHILDREN
    external_id_prefix: str = "oro:order:"

    def order_id_of(self, external_id: str | None) -> str | None:
        """The Oro order id an ExternalID this service gave a Cin7 sale carries; None for anyone else's."""
        if not external_id or not external_id.startswith(self.external_id_prefix):
            return None
        return external_id.removeprefix(self.external_id_prefix) or None

    @field_validator("external_status_policy")
    @classmethod
    def _external_only_holds_back(cls, v: dict[str, OrderAction]) -> dict[str, OrderAction]:
        for status, action in v.items():
            if action not in (OrderAction.CREATE_DRAFT, OrderAction.HOLD):
                raise ValueError(
                    f"{status!r}: an external status can only hold an order back ('create_draft' or 'hold'), "
                    f"not {action.value!r}"
                )
        return v

    @field_validator("status_policy")
    @classmethod
    def _void_only_for_cancelled(cls, v: dict[str, OrderAction]) -> dict[str, OrderAction]:
        for status, action in v.items():
            if action is OrderAction.VOID and status != "cancelled":
                raise ValueError(f"{status!r}: only 'cancelled' can map to 'void'")
        return v


class Tolerance(_Strict):
    absolute: NonNegativeDecimal = Decimal("0.01")  # per base unit, in order currency
    percent: NonNegativeDecimal = Decimal("0")


class Pricing(_Strict):
    authority: PricingAuthority = PricingAuthority.STOREFRONT
    tolerance: Tolerance = Tolerance()


class UnitMapping(_Strict):
    """One Oro unit of one SKU: which ERP SKU it is sent as, and how many of that SKU's units it holds."""

    erp_sku: str = Field(min_length=1, max_length=50)
    factor: PositiveDecimal


class Tax(_Strict):
    # Oro tax code -> Cin7 tax rule name (matched exactly by Cin7).
    rules: dict[str, str] = Field(default_factory=dict)
    default_rule: str | None = None  # used for lines without a tax code; None = unmapped is an exception


class PriceListMapping(_Strict):
    """One Oro price list and the Cin7 prices it is kept equal to, in one direction (DESIGN §4.3)."""

    oro_price_list_id: str = Field(min_length=1, max_length=20)
    erp_tier: str | None = Field(
        default=None, min_length=1, max_length=50
    )  # a tier name, as in /ref/priceTier
    # oro_to_erp only: the price list is one customer's contract, kept as Cin7 customer-specific prices
    # (/custom-prices) of this Cin7 customer instead of a tier.
    erp_customer_id: str | None = Field(default=None, min_length=1, max_length=50)
    direction: PriceDirection = PriceDirection.ERP_TO_ORO
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")

    @model_validator(mode="after")
    def _one_target(self) -> PriceListMapping:
        if (self.erp_tier is None) == (self.erp_customer_id is None):
            raise ValueError("give exactly one of erp_tier and erp_customer_id")
        if self.erp_customer_id is not None and self.direction is not PriceDirection.ORO_TO_ERP:
            raise ValueError("erp_customer_id (customer-specific prices) needs direction oro_to_erp")
        return self

    @property
    def target(self) -> str:
        return f"tier:{self.erp_tier}" if self.erp_tier else f"customer:{self.erp_customer_id}"


class Prices(_Strict):
    # How prices reach Oro: "auto" (a few one by one, more in one Batch API request), "batch" or "patch" (one
    # request each: where Oro runs no message-queue consumers for batches).
    oro_writes: Literal["auto", "batch", "patch"] = "auto"
    # A full run (every price of every mapped list) only inside this UTC window, e.g. "22:00-06:00";
    # None: any time. Changes found by the regular runs move at any time.
    full_run_window: str | None = Field(
        default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
    )


# Product attributes that can follow Oro (issue 10): each is owned by "oro" or "erp". Oro 6.1 has no barcode
# field (reference orocommerce-api.md §6), so the barcode stays the ERP's and is not listed.
PRODUCT_ATTRIBUTES = ("name", "description", "category", "brand", "weight", "dimensions")
Ownership = Literal["oro", "erp"]


def _all_erp() -> dict[str, Ownership]:
    return dict.fromkeys(PRODUCT_ATTRIBUTES, "erp")


class ProductSync(_Strict):
    """Product data, Oro → ERP, for the attributes Oro owns (DESIGN §2, §4.3). Nothing moves by default."""

    owner: dict[str, Ownership] = Field(default_factory=_all_erp)
    # An Oro product with no ERP product of its SKU is created in the ERP (else it is PRODUCT_INCOMPLETE).
    create_in_erp: bool = False
    # What a created ERP product gets where Oro has nothing: its unit (a /ref/unit name) and, when the Oro
    # product has no category, its category (both required by Cin7).
    new_product_uom: str = Field(default="Item", min_length=1, max_length=50)
    new_product_category: str = Field(default="General", min_length=1, max_length=256)

    @field_validator("owner")
    @classmethod
    def _known_attributes(cls, v: dict[str, Ownership]) -> dict[str, Ownership]:
        unknown = sorted(set(v) - set(PRODUCT_ATTRIBUTES))
        if unknown:
            note = " (Oro has no barcode field: the ERP keeps it)" if "barcode" in unknown else ""
            raise ValueError(
                f"unknown product attribute(s) {', '.join(unknown)}: one of {', '.join(PRODUCT_ATTRIBUTES)}"
                + note
            )
        return {**_all_erp(), **v}

    def oro_owns(self, attribute: str) -> bool:
        return self.owner.get(attribute) == "oro"

    @property
    def active(self) -> bool:
        """Whether a price run has product data to move: an attribute Oro owns, or products to create."""
        return self.create_in_erp or any(o == "oro" for o in self.owner.values())


class Onboarding(StrEnum):
    """Which Oro accounts `customer_sync` creates in the ERP (the others resolve to an onboarded ancestor)."""

    NONE = "none"  # nothing is created: accounts are bound by hand (`orosync customers map`)
    TOP_LEVEL = "top_level"  # accounts without a parent
    ALL = "all"
    GROUPS = "groups"  # accounts in one of `customers.groups` (Oro customer group ids)


class CustomerHierarchy(StrEnum):
    """How an Oro sub-account reaches the ERP, which holds one level of parent and child."""

    BILLING_PARENT = "billing_parent"  # its orders go to the nearest onboarded ancestor's ERP customer
    CHILD_CUSTOMERS = "child_customers"  # its own ERP customer, a child (`CustomerParentID`) of the top one


class NewCustomerDefaults(_Strict):
    """What a customer created in the ERP gets where Oro has nothing: finance's fields (Cin7 requires them;
    names as the ERP knows them). Never written to a customer that exists already."""

    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")  # None: erp.base_currency, else USD
    payment_term: str = Field(min_length=1, max_length=256)
    account_receivable: str = Field(min_length=1, max_length=50)
    revenue_account: str = Field(min_length=1, max_length=50)
    tax_rule: str = Field(min_length=1, max_length=50)
    # The tier when none of the account's Oro price lists is mapped to one (`price_lists`); None: Cin7's own.
    price_tier: str | None = Field(default=None, min_length=1, max_length=50)


class Customers(_Strict):
    """Oro accounts → ERP customers (DESIGN §4.5, README "Customers"). Off by default."""

    onboard: Onboarding = Onboarding.NONE
    groups: tuple[str, ...] = ()
    hierarchy: CustomerHierarchy = CustomerHierarchy.BILLING_PARENT
    # The ERP customer field that carries the Oro account id (Cin7 cannot search by it: matched on our side).
    oro_id_attribute: str = Field(default="AdditionalAttribute1", pattern=r"^AdditionalAttribute([1-9]|10)$")
    # How a new customer waits for finance: Cin7's credit hold, or a payment term finance reserves for it.
    hold: Literal["credit_hold", "payment_term"] = "credit_hold"
    on_hold_payment_term: str | None = Field(default=None, min_length=1, max_length=256)
    defaults: NewCustomerDefaults | None = None
    # After onboarding, the account's name, addresses and contacts follow Oro (DESIGN §2); finance fields never.
    update_erp: bool = True

    @model_validator(mode="after")
    def _complete(self) -> Customers:
        if self.onboard is not Onboarding.NONE and self.defaults is None:
            raise ValueError(
                "customers.defaults: needed when customers.onboard is not 'none' (payment_term, "
                "account_receivable, revenue_account, tax_rule of a new ERP customer)"
            )
        if self.onboard is Onboarding.GROUPS and not self.groups:
            raise ValueError(
                "customers.groups: list the Oro customer group ids when customers.onboard is 'groups'"
            )
        if self.hold == "payment_term" and self.on_hold_payment_term is None:
            raise ValueError("customers.on_hold_payment_term: needed when customers.hold is 'payment_term'")
        return self


class StockBuffer(_Strict):
    default: NonNegativeDecimal = Decimal("0")  # base units held back per SKU
    percent: NonNegativeDecimal = Field(default=Decimal("0"), le=100)
    per_sku: dict[str, NonNegativeDecimal] = Field(default_factory=dict)


class Stock(_Strict):
    locations: tuple[str, ...] = Field(min_length=1)
    buffer: StockBuffer = StockBuffer()
    units_carrying_inventory: tuple[str, ...] = ("each",)
    # The fast path: Cin7's Stock/AvailableStockLevelChanged webhook is registered, and each run checks it
    # is still active (WEBHOOK_DISABLED when Cin7 switched it off).
    fast_path: bool = True
    # How levels reach Oro: "auto" (a few writes PATCHed one by one, more in one Batch API request), "batch"
    # (always the Batch API) or "patch" (always one PATCH each: where Oro runs no message-queue consumers
    # for batches).
    oro_writes: Literal["auto", "batch", "patch"] = "auto"


class FulfilmentSync(_Strict):
    """Cin7 → Oro after the sale (DESIGN §4.4, README "Fulfilment")."""

    enabled: bool = True  # Cin7's sale webhooks registered and the poll run
    shipping_status: bool = True  # the Oro order's shippingStatus follows what has shipped
    # The Oro order's external `status` per stage reached (`shipped`, `invoiced`, `paid`, `cancelled`): the
    # ids of `orderstatuses` options an admin defined, with External Status Management on. Empty: not set.
    external_status: dict[Literal["shipped", "invoiced", "paid", "cancelled"], str] = Field(
        default_factory=dict
    )


class Schedules(_Strict):
    order_poll: str = "rate(5 minutes)"
    order_poll_overlap_minutes: int = Field(default=10, ge=0, le=7 * 24 * 60)
    stock_sync: str = "rate(15 minutes)"
    price_sync: str = "rate(1 hour)"
    customer_sync: str = "rate(15 minutes)"
    customer_sync_overlap_minutes: int = Field(default=10, ge=0, le=7 * 24 * 60)
    fulfilment_poll: str = "rate(10 minutes)"
    fulfilment_poll_overlap_minutes: int = Field(default=10, ge=0, le=7 * 24 * 60)
    reconcile: str = "rate(1 hour)"
    reconcile_drift_hour_utc: int = Field(default=3, ge=0, le=23)  # the run of this hour also counts drift
    exception_digest: str = "rate(1 hour)"  # metrics hourly; the digest itself once a day (`alerts`)

    @field_validator(
        "order_poll",
        "stock_sync",
        "price_sync",
        "customer_sync",
        "fulfilment_poll",
        "reconcile",
        "exception_digest",
    )
    @classmethod
    def _expression(cls, v: str) -> str:
        parse_schedule(v)  # the grammar the local runtime fires and EventBridge takes (ScheduleError)
        return v


class Alerts(_Strict):
    """What the owners hear besides each exception's first opening (shared/flows/digest.py, README "Operations")."""

    digest_hour_utc: int = Field(default=7, ge=0, le=23)  # the daily digest goes out in this hour (UTC)
    held_order_max_hours: int = Field(default=24, ge=1, le=24 * 30)  # an order held longer alarms operations
    per_hour_per_team: int = Field(
        default=20, ge=1, le=1000
    )  # exception alerts a team gets in an hour at most


class Owner(_Strict):
    email: str

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not _EMAIL_RE.match(v):
            raise ValueError(f"{v!r} is not an email address")
        return v


class Config(_Strict):
    service_name: str = Field(default="orosync", pattern=r"^[a-z][a-z0-9-]{1,30}$")
    endpoints: Endpoints
    secrets: Secrets = Secrets()
    erp: Erp
    orders: Orders = Orders()
    pricing: Pricing = Pricing()
    # SKU -> {Oro unit code -> mapping}
    units: dict[str, dict[str, UnitMapping]] = Field(default_factory=dict)
    tax: Tax = Tax()
    price_lists: tuple[PriceListMapping, ...] = ()
    prices: Prices = Prices()
    products: ProductSync = ProductSync()
    customers: Customers = Customers()
    fulfilment: FulfilmentSync = FulfilmentSync()
    stock: Stock
    schedules: Schedules = Schedules()
    alerts: Alerts = Alerts()
    owners: dict[Team, Owner]

    @field_validator("owners")
    @classmethod
    def _every_team_has_an_owner(cls, v: dict[Team, Owner]) -> dict[Team, Owner]:
        missing = [t.value for t in Team if t not in v]
        if missing:
            raise ValueError(f"missing owner for {', '.join(missing)}")
        return v

    @model_validator(mode="after")
    def _every_erp_flow_is_served(self) -> Config:
        for spec in FUNCTIONS:
            for flow in spec.erp_flows:
                if not any(flow in app.flows for app in self.erp.applications.values()):
                    raise ValueError(
                        f"erp.applications: no application serves flow {flow!r}, which {spec.name} calls "
                        "the ERP for: add it to one application's `flows`"
                    )
        return self

    @model_validator(mode="after")
    def _applications_name_known_secrets(self) -> Config:
        for name, app in self.erp.applications.items():
            if app.secret not in ("cin7_orders", "cin7_bulk"):
                raise ValueError(f"erp.applications.{name}.secret: must be 'cin7_orders' or 'cin7_bulk'")
            if getattr(self.secrets, app.secret) is None:
                raise ValueError(f"erp.applications.{name}.secret: secrets.{app.secret} is not set")
        return self

    def unit_mapping(self, sku: str, unit: str) -> UnitMapping | None:
        return self.units.get(sku, {}).get(unit)


def _format_errors(err: ValidationError, source: str) -> str:
    lines = [f"{source}: {err.error_count()} problem(s)"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not part of the configuration)"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "config") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML without silent overrides: a key given twice in one mapping is an error, not "the last one wins"."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` may be overridden on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class names it
                continue
            if duplicate:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"duplicate key {key!r}")
        data[key] = value
    return data


def _parse_text(text: str, is_json: bool) -> Any:
    if is_json:
        return json.loads(text, object_pairs_hook=_unique_keys)
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def load_config(path: str | os.PathLike[str]) -> Config:
    """The validated config in a YAML or JSON file. Any problem with it is a `ConfigError` naming it."""
    p = Path(path)
    kind = "JSON" if p.suffix == ".json" else "YAML"
    try:
        if not p.is_file():
            raise ConfigError(f"{p}: no such config file")
        raw = p.read_bytes()
    except OSError as err:
        raise ConfigError(f"{p}: cannot be read ({err.strerror or type(err).__name__})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{p}: not UTF-8 text (byte {err.start} is 0x{raw[err.start]:02x}); is it a binary file?"
        ) from None
    try:
        data = _parse_text(text, kind == "JSON")
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{p}: not valid {kind}: {err}") from None
    except RecursionError:
        raise ConfigError(f"{p}: not valid {kind}: nested too deeply") from None
    except ValueError as err:  # a duplicate JSON key, or an integer too long to convert (over 4300 digits)
        raise ConfigError(f"{p}: not valid {kind}: {err}") from None
    return parse_config(data, str(p))


@lru_cache(maxsize=1)
def config_from_env() -> Config:
    """The config of a running function: loaded once per cold start from `OROSYNC_CONFIG`."""
    path = os.environ.get(CONFIG_ENV_VAR)
    if not path:
        raise ConfigError(f"{CONFIG_ENV_VAR} is not set: it must point at the service config file")
    return load_config(path)
