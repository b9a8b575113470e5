"""Cin7 Core External API v2 wire format: sales, customers, products, reference lists, availability,
fulfilments and webhooks, with Cin7's own (PascalCase) field names.

Numbers arrive as JSON numbers (parsed to `Decimal`, never float) and sometimes as strings; both become
`Decimal`. Times are UTC, with or without `Z` and with 0–7 fractional digits; they become aware UTC
datetimes. Enums stay open strings (Cin7 returns values its docs do not list, reference §8). Unknown fields
are kept (`extra="allow"`), so a round trip through these models never drops data.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$")
_TENANT_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")  # webhook payloads' dd/MM/yyyy


def parse_cin7_time(value: Any) -> datetime | None:
    """Cin7's timestamps, leniently: `2017-09-29T03:03:13.913Z`, `...28.16Z`, `...T00:00:00`, `.0000000`,
    a bare date, or the tenant `dd/MM/yyyy`. Naive values are UTC (the API's documented zone)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    text = value.strip()
    m = _ISO.match(text)
    if m:
        date, clock, fraction, zone = m.groups()
        if clock.count(":") == 1:
            clock += ":00"
        fraction = (fraction or "0")[:6].ljust(6, "0")
        zone = "+00:00" if zone in (None, "Z") else zone
        if zone and ":" not in zone:
            zone = zone[:3] + ":" + zone[3:]
        return datetime.fromisoformat(f"{date}T{clock}.{fraction}{zone}").astimezone(UTC)
    if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    m = _TENANT_DATE.match(text)
    if m:
        day, month, year = (int(x) for x in m.groups())
        return datetime(year, month, day, tzinfo=UTC)
    raise ValueError(f"not a Cin7 time: {value!r}")


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


Cin7Time = Annotated[datetime | None, BeforeValidator(parse_cin7_time)]
Money = Annotated[Decimal | None, BeforeValidator(_blank_to_none)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# ------------------------------------------------------------------------------------------ sales


class Cin7SaleLine(_Wire):
    ProductID: str | None = None
    SKU: str | None = None
    Name: str | None = None
    Quantity: Decimal
    Price: Decimal
    Discount: Money = None
    Tax: Money = None
    TaxRule: str | None = None
    Total: Money = None
    Comment: str | None = None
    AverageCost: Money = None
    DropShip: bool | None = None
    BackorderQuantity: Money = None


class Cin7AdditionalCharge(_Wire):
    Description: str
    Quantity: Money = None
    Price: Money = None
    Discount: Money = None
    Tax: Money = None
    TaxRule: str | None = None
    Total: Money = None
    Comment: str | None = None


class Cin7SaleOrder(_Wire):
    SaleID: str | None = None
    SaleOrderNumber: str | None = None
    Memo: str | None = None
    Status: str | None = None
    Lines: list[Cin7SaleLine] = Field(default_factory=list)
    AdditionalCharges: list[Cin7AdditionalCharge] = Field(default_factory=list)
    TotalBeforeTax: Money = None
    Tax: Money = None
    Total: Money = None


class Cin7ShipLine(_Wire):
    ID: str | None = None
    ShipmentDate: Cin7Time = None
    Carrier: str | None = None
    Box: str | None = None
    Boxes: str | None = None
    TrackingNumber: str | None = None
    TrackingURL: str | None = None
    IsShipped: bool | None = None


class Cin7Ship(_Wire):
    Status: str | None = None
    RequireBy: Cin7Time = None
    ShippingNotes: str | None = None
    Lines: list[Cin7ShipLine] = Field(default_factory=list)


class Cin7StockLine(_Wire):
    """A pick or pack line (reference §2): what left the shelf, per product and location; pack lines add `Box`."""

    ProductID: str | None = None
    SKU: str | None = None
    Name: str | None = None
    Location: str | None = None
    LocationID: str | None = None
    Quantity: Decimal
    BatchSN: str | None = None
    Box: str | None = None
    NonInventory: bool | None = None

    @field_validator("Box", mode="before")
    @classmethod
    def _box_text(cls, value: Any) -> Any:
        return None if value is None else str(value)


class Cin7FulfilmentStage(_Wire):
    Status: str | None = None
    Lines: list[Cin7StockLine] = Field(default_factory=list)


class Cin7Fulfilment(_Wire):
    TaskID: str | None = None
    FulfillmentNumber: int | str | None = None
    LinkedInvoiceNumber: str | None = None
    FulFilmentStatus: str | None = None
    Pick: Cin7FulfilmentStage | None = None
    Pack: Cin7FulfilmentStage | None = None
    Ship: Cin7Ship | None = None

    @property
    def shipped(self) -> bool:
        return bool(self.Ship and self.Ship.Status == "AUTHORISED")

    @property
    def tracking(self) -> list[Cin7ShipLine]:
        """Ship lines that carry a tracking number."""
        return [line for line in (self.Ship.Lines if self.Ship else []) if line.TrackingNumber]

    @property
    def shipped_quantities(self) -> dict[str, Decimal]:
        """Quantity shipped per SKU: Cin7 ships packed boxes, so these are the pack lines of an AUTHORISED
        shipment, or of the boxes a PARTIALLY AUTHORISED one has shipped (`IsShipped` ship lines naming a `Box`;
        a shipped line without a box ships every box). Nothing for a draft, voided or unshipped fulfilment."""
        ship, pack = self.Ship, self.Pack
        if ship is None or pack is None or ship.Status not in ("AUTHORISED", "PARTIALLY AUTHORISED"):
            return {}
        boxes: set[str] | None = None  # None: every box
        if ship.Status != "AUTHORISED":
            shipped = [line for line in ship.Lines if line.IsShipped]
            named = {str(line.Box or line.Boxes or "") for line in shipped}
            boxes = None if "" in named else named
        out: dict[str, Decimal] = {}
        for line in pack.Lines:
            if line.SKU and (boxes is None or str(line.Box or "") in boxes):
                out[line.SKU] = out.get(line.SKU, Decimal(0)) + line.Quantity
        return out


class Cin7Payment(_Wire):
    ID: str | None = None
    TaskID: str | None = None
    Type: str | None = None  # PREPAYMENT | PAYMENT | REFUND
    Reference: str | None = None
    Amount: Decimal
    DatePaid: Cin7Time = None
    Account: str | None = None
    CurrencyRate: Money = None


class Cin7Invoice(_Wire):
    """One invoice of a sale (reference §2); `Status` DRAFT | AUTHORISED | PAID | VOIDED (open)."""

    TaskID: str | None = None
    InvoiceNumber: str | None = None
    Status: str | None = None
    Memo: str | None = None
    InvoiceDate: Cin7Time = None
    InvoiceDueDate: Cin7Time = None
    LinkedFulfillmentNumber: str | int | None = None
    Lines: list[Cin7SaleLine] = Field(default_factory=list)
    AdditionalCharges: list[Cin7AdditionalCharge] = Field(default_factory=list)
    Payments: list[Cin7Payment] = Field(default_factory=list)
    TotalBeforeTax: Money = None
    Tax: Money = None
    Total: Money = None

    @property
    def issued(self) -> bool:
        return self.Status in ("AUTHORISED", "PAID")

    @property
    def paid(self) -> Decimal:
        """What the payments (less refunds) on this invoice add up to."""
        return sum(
            (-p.Amount if (p.Type or "").upper() == "REFUND" else p.Amount for p in self.Payments), Decimal(0)
        )


class Cin7Sale(_Wire):
    ID: str
    Customer: str | None = None
    CustomerID: str | None = None
    Status: str | None = None
    ExternalID: str | None = None
    Location: str | None = None
    PriceTier: str | None = None
    TaxRule: str | None = None
    CustomerReference: str | None = None
    Note: str | None = None
    Contact: str | None = None
    Phone: str | None = None
    Email: str | None = None
    BillingAddress: dict[str, Any] | None = None
    ShippingAddress: dict[str, Any] | None = None
    ShippingNotes: str | None = None
    TaxCalculation: str | None = None  # Inclusive | Exclusive (written as TaxInclusive)
    BaseCurrency: str | None = None
    CustomerCurrency: str | None = None
    CurrencyRate: Money = None
    Type: str | None = None
    SaleOrderDate: Cin7Time = None
    ShipBy: Cin7Time = None
    LastModifiedOn: Cin7Time = None
    Order: Cin7SaleOrder | None = None
    Fulfilments: list[Cin7Fulfilment] = Field(default_factory=list)
    Invoices: list[Cin7Invoice] = Field(default_factory=list)
    CombinedPickingStatus: str | None = None
    CombinedPackingStatus: str | None = None
    CombinedShippingStatus: str | None = None
    FulFilmentStatus: str | None = None
    CombinedInvoiceStatus: str | None = None
    CombinedPaymentStatus: str | None = None
    CombinedTrackingNumbers: str | None = None

    @property
    def has_lines(self) -> bool:
        return bool(self.Order and self.Order.Lines)

    @property
    def shipped_quantities(self) -> dict[str, Decimal]:
        """Quantity shipped per SKU over every fulfilment (see `Cin7Fulfilment.shipped_quantities`)."""
        out: dict[str, Decimal] = {}
        for fulfilment in self.Fulfilments:
            for sku, quantity in fulfilment.shipped_quantities.items():
                out[sku] = out.get(sku, Decimal(0)) + quantity
        return out

    @property
    def ordered_quantities(self) -> dict[str, Decimal]:
        """Quantity ordered per SKU (the order stage's lines)."""
        out: dict[str, Decimal] = {}
        for line in self.Order.Lines if self.Order else []:
            if line.SKU:
                out[line.SKU] = out.get(line.SKU, Decimal(0)) + line.Quantity
        return out

    @property
    def tracking_numbers(self) -> list[str]:
        text = self.CombinedTrackingNumbers or ""
        return [t.strip() for t in re.split(r"[,;\s]+", text) if t.strip()]


class Cin7SaleListRow(_Wire):
    SaleID: str
    OrderNumber: str | None = None
    Status: str | None = None
    OrderStatus: str | None = None
    OrderDate: Cin7Time = None
    Customer: str | None = None
    CustomerID: str | None = None
    CustomerReference: str | None = None
    InvoiceAmount: Money = None
    BaseCurrency: str | None = None
    CustomerCurrency: str | None = None
    Updated: Cin7Time = None
    InvoiceNumber: str | None = None
    InvoiceDate: Cin7Time = None
    PaidAmount: Money = None
    SaleInvoicesTotalAmount: Money = None
    CombinedPickingStatus: str | None = None
    CombinedPackingStatus: str | None = None
    CombinedShippingStatus: str | None = None
    CombinedInvoiceStatus: str | None = None
    CombinedPaymentStatus: str | None = None
    CombinedTrackingNumbers: str | None = None
    FulFilmentStatus: str | None = None
    ExternalID: str | None = None
    OrderLocationID: str | None = None
    Type: str | None = None


# --------------------------------------------------------------------------------------- customers


class Cin7CustomerPrice(_Wire):
    ProductID: str | None = None
    ProductSKU: str | None = None
    ProductName: str | None = None
    CustomerID: str | None = None
    CustomerName: str | None = None
    Price: Money = None


class Cin7CustomerAddress(_Wire):
    """One of a customer's addresses (reference §3): on PUT, one with an `ID` is updated, one without created."""

    ID: str | None = None
    Line1: str | None = None
    Line2: str | None = None
    City: str | None = None
    State: str | None = None
    Postcode: str | None = None
    Country: str | None = None  # a country name
    Type: str | None = None  # Billing | Business | Shipping
    DefaultForType: bool | None = None


class Cin7CustomerContact(_Wire):
    """One of a customer's contacts (reference §3); `ID` as for addresses."""

    ID: str | None = None
    Name: str | None = None
    JobTitle: str | None = None
    Phone: str | None = None
    MobilePhone: str | None = None
    Fax: str | None = None
    Email: str | None = None
    Website: str | None = None
    Comment: str | None = None
    Default: bool | None = None
    IncludeInEmail: bool | None = None
    MarketingConsent: int | None = None  # 1 unknown, 2 opt in, 3 opt out


class Cin7Customer(_Wire):
    ID: str
    Name: str
    DisplayName: str | None = None
    Status: str | None = None
    Currency: str | None = None
    PaymentTerm: str | None = None
    AccountReceivable: str | None = None
    RevenueAccount: str | None = None
    TaxRule: str | None = None
    PriceTier: str | None = None
    Location: str | None = None
    Discount: Money = None
    CreditLimit: Money = None
    IsOnCreditHold: bool = False
    CustomerParentID: str | None = None
    CustomerParentName: str | None = None
    IsBillParent: bool | None = None
    Tags: str | None = None
    AdditionalAttribute1: str | None = None
    AdditionalAttribute2: str | None = None
    AdditionalAttribute3: str | None = None
    AdditionalAttribute4: str | None = None
    AdditionalAttribute5: str | None = None
    AdditionalAttribute6: str | None = None
    AdditionalAttribute7: str | None = None
    AdditionalAttribute8: str | None = None
    AdditionalAttribute9: str | None = None
    AdditionalAttribute10: str | None = None
    LastModifiedOn: Cin7Time = None
    Addresses: list[Cin7CustomerAddress] = Field(default_factory=list)
    Contacts: list[Cin7CustomerContact] = Field(default_factory=list)
    ChildCustomers: list[dict[str, Any]] = Field(default_factory=list)
    # Customer-specific prices, answered with `IncludeProductPrices=true` (reference §3).
    ProductPrices: list[Cin7CustomerPrice] = Field(default_factory=list)

    def additional_attribute(self, n: int) -> str | None:
        if not 1 <= n <= 10:
            raise ValueError("Cin7 has AdditionalAttribute1..10")
        return getattr(self, f"AdditionalAttribute{n}")  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------- products


class Cin7BomComponent(_Wire):
    ComponentProductID: str | None = None
    ProductCode: str | None = None  # the component's SKU
    Name: str | None = None
    Quantity: Decimal
    WastagePercent: Money = None
    WastageQuantity: Money = None
    CostPercentage: Money = None


class Cin7Product(_Wire):
    ID: str
    SKU: str
    Name: str | None = None
    UOM: str | None = None
    Status: str | None = None
    Type: str | None = None
    Category: str | None = None
    Brand: str | None = None
    Barcode: str | None = None
    SaleTaxRule: str | None = None
    ShortDescription: str | None = None
    Description: str | None = None
    Weight: Money = None
    WeightUnits: str | None = None
    Length: Money = None
    Width: Money = None
    Height: Money = None
    DimensionsUnits: str | None = None
    PriceTier1: Money = None
    PriceTier2: Money = None
    PriceTier3: Money = None
    PriceTier4: Money = None
    PriceTier5: Money = None
    PriceTier6: Money = None
    PriceTier7: Money = None
    PriceTier8: Money = None
    PriceTier9: Money = None
    PriceTier10: Money = None
    PriceTiers: dict[str, Decimal] = Field(default_factory=dict)  # keyed by tier name
    BillOfMaterial: bool | None = None
    AutoAssembly: bool | None = None
    AutoDisassembly: bool | None = None
    BillOfMaterialsProducts: list[Cin7BomComponent] = Field(default_factory=list)
    LastModifiedOn: Cin7Time = None

    def tier_price(self, code: int) -> Decimal | None:
        if not 1 <= code <= 10:
            raise ValueError("Cin7 has PriceTier1..10")
        return getattr(self, f"PriceTier{code}")  # type: ignore[no-any-return]

    def price_for_tier(self, name: str, tiers: list[Cin7PriceTier] | None = None) -> Decimal | None:
        """The price of the tier called `name`: from `PriceTiers` by name, else by its code in `tiers`."""
        if name in self.PriceTiers:
            return self.PriceTiers[name]
        for tier in tiers or []:
            if tier.Name == name:
                return self.tier_price(tier.Code)
        return None


class Cin7PriceTier(_Wire):
    Code: int
    Name: str


class Cin7TaxComponent(_Wire):
    Name: str | None = None
    Percent: Money = None
    AccountCode: str | None = None
    ComponentOrder: int | None = None


class Cin7TaxRule(_Wire):
    ID: str | None = None
    Name: str
    Account: str | None = None
    IsActive: bool | None = None
    TaxInclusive: bool | None = None
    TaxPercent: Decimal = Decimal("0")
    IsTaxForSale: bool | None = None
    IsTaxForPurchase: bool | None = None
    Components: list[Cin7TaxComponent] = Field(default_factory=list)


class Cin7Location(_Wire):
    ID: str | None = None
    Name: str
    IsDefault: bool | None = None
    Deprecated: bool | None = None
    IsDeprecated: bool | None = None


class Cin7Availability(_Wire):
    ID: str  # the product id
    SKU: str
    Name: str | None = None
    Barcode: str | None = None
    Location: str | None = None
    Bin: str | None = None
    Batch: str | None = None
    ExpiryDate: Cin7Time = None
    OnHand: Decimal = Decimal("0")
    Allocated: Decimal = Decimal("0")
    Available: Decimal = Decimal("0")
    OnOrder: Decimal = Decimal("0")
    StockOnHand: Money = None  # looks like a value, not a quantity (reference §5): not used as stock
    InTransit: Money = None
    NextDeliveryDate: Cin7Time = None


# ---------------------------------------------------------------------------------------- webhooks


class Cin7WebhookHeader(_Wire):
    Key: str
    Value: SecretStr  # custom headers usually carry a shared secret


class Cin7Webhook(_Wire):
    ID: str | None = None
    Type: str
    IsActive: bool = True
    ExternalURL: str
    Name: str | None = None
    ExternalAuthorizationType: str = "noauth"  # noauth | basicauth | bearerauth
    ExternalUserName: str | None = None
    ExternalPassword: SecretStr | None = None
    ExternalBearerToken: SecretStr | None = None
    ExternalHeaders: list[Cin7WebhookHeader] = Field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        """The body Cin7 expects, secrets revealed (only ever sent to Cin7, never logged)."""
        body: dict[str, Any] = {
            "Type": self.Type,
            "IsActive": self.IsActive,
            "ExternalURL": self.ExternalURL,
            "ExternalAuthorizationType": self.ExternalAuthorizationType,
        }
        if self.ID:
            body["ID"] = self.ID
        if self.ExternalUserName is not None:
            body["ExternalUserName"] = self.ExternalUserName
        if self.ExternalPassword is not None:
            body["ExternalPassword"] = self.ExternalPassword.get_secret_value()
        if self.ExternalBearerToken is not None:
            body["ExternalBearerToken"] = self.ExternalBearerToken.get_secret_value()
        if self.ExternalHeaders:
            body["ExternalHeaders"] = [
                {"Key": h.Key, "Value": h.Value.get_secret_value()} for h in self.ExternalHeaders
            ]
        return body
