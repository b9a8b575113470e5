"""Cin7 Core webhooks (reference §7): no signature, so each is registered with a secret header that the
route compares in constant time; routed by URL, since some bodies (the stock one) carry no `EventType`.

`Stock/AvailableStockLevelChanged` is a bare JSON array of availability rows. Its figures are not used:
deliveries may repeat or arrive out of order, so the SKUs it names are re-read (shared/flows/stock.py).
`Customer/Updated` likewise gives only the customer IDs it names, to be re-read.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.adapters.cin7.client import Cin7Client
from shared.adapters.cin7.models import Cin7Webhook, Cin7WebhookHeader, parse_cin7_time
from shared.adapters.orocommerce.webhook import BadWebhook, load_json
from shared.config import Config, Onboarding, PriceDirection

AVAILABILITY_EVENT = "Stock/AvailableStockLevelChanged"
PRODUCT_EVENT = "Product/Updated"
CUSTOMER_EVENT = "Customer/Updated"
# Cin7 ids are GUIDs (reference §3: "store the Cin7 `ID` (GUID)"); nothing else is taken as one.
_CIN7_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
SHIPMENT_AUTHORISED = "Sale/ShipmentAuthorised"
TRACKING_CHANGED = "Sale/ShipmentTrackingNumberChanged"
INVOICE_AUTHORISED = "Sale/InvoiceAuthorised"
PARTIAL_PAYMENT = "Sale/PartialPaymentReceived"
FULL_PAYMENT = "Sale/FullPaymentReceived"
SALE_VOIDED = "Sale/Voided"
# What the fulfilment flow registers (issue 12); `Sale/PartialPaymentReceived` is parsed too, not registered.
FULFILMENT_EVENTS = (SHIPMENT_AUTHORISED, TRACKING_CHANGED, INVOICE_AUTHORISED, FULL_PAYMENT, SALE_VOIDED)
# Every documented sale event (reference §7): all are sale hints the parser takes.
SALE_EVENTS = frozenset(
    {
        "Sale/Created",
        "Sale/QuoteAuthorised",
        "Sale/OrderAuthorised",
        SALE_VOIDED,
        "Sale/Backordered",
        SHIPMENT_AUTHORISED,
        INVOICE_AUTHORISED,
        "Sale/PickAuthorised",
        "Sale/PackAuthorised",
        "Sale/CreditNoteAuthorised",
        "Sale/Undo",
        PARTIAL_PAYMENT,
        FULL_PAYMENT,
        "Sale/AttachmentAdded",
        "Sale/AdditionalAttributesChanged",
        TRACKING_CHANGED,
    }
)
SALE_ROUTE = "/webhooks/cin7/sale"
MAX_NUMBER_CHARS = 256  # order, invoice, document and tracking numbers, carriers
SECRET_HEADER = "X-Orosync-Secret"  # noqa: S105 - a header name; registered on each Cin7 webhook as an ExternalHeaders entry
MAX_SKU_CHARS = 50  # Cin7's SKU length
MAX_ROWS = 10_000


def secret_valid(given: str | None, secrets: list[str]) -> bool:
    if not given or not given.isascii():
        return False
    # Every candidate is compared (no early exit), each in constant time.
    matches = [hmac.compare_digest(given.encode(), s.encode()) for s in secrets if s]
    return any(matches)


def wanted_webhooks(
    *, stock_fast_path: bool, prices_from_erp: bool, customers: bool = False, fulfilment: bool = False
) -> list[tuple[str, str]]:
    """(Cin7 event type, route path) of every webhook the service listens to, given what the config turns on
    (`customers`: customer onboarding, which learns of a cleared credit hold from `Customer/Updated`;
    `fulfilment`: shipments, tracking, invoices, payments and voids back to Oro, all on one route)."""
    out = []
    if stock_fast_path:
        out.append((AVAILABILITY_EVENT, "/webhooks/cin7/stock"))
    if prices_from_erp:
        out.append((PRODUCT_EVENT, "/webhooks/cin7/product"))
    if customers:
        out.append((CUSTOMER_EVENT, "/webhooks/cin7/customer"))
    if fulfilment:
        out.extend((event, SALE_ROUTE) for event in FULFILMENT_EVENTS)
    return out


def webhooks_for(config: Config) -> list[tuple[str, str]]:
    """The Cin7 webhooks a config needs (`orosync webhooks ensure`, the local environment's seed)."""
    return wanted_webhooks(
        stock_fast_path=config.stock.fast_path,
        prices_from_erp=any(m.direction is PriceDirection.ERP_TO_ORO for m in config.price_lists),
        customers=config.customers.onboard is not Onboarding.NONE,
        fulfilment=config.fulfilment.enabled,
    )


def product_event_valid(raw_body: bytes) -> None:
    """A `Product/Updated` delivery is only a hint (the changed products are read by `ModifiedSince`): it must
    be a JSON object or array, nothing more is taken from it."""
    data = load_json(raw_body)
    if not isinstance(data, dict | list):
        raise BadWebhook(f"body must be a JSON object, got {type(data).__name__}")


def parse_customer_event(body: bytes) -> list[str]:
    """The distinct Cin7 customer IDs a `Customer/Updated` delivery names, in first-seen order.

    The body is `{NumberOfCustomers, CustomerDetailsList: [{Customer: {ID, ...}, Addresses, Contacts}],
    EventType}` (reference §7). Only the IDs are taken: the customers are re-read, since deliveries may repeat
    or arrive out of order. An entry without a customer ID is named, as is anything else unusable."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise BadWebhook(f"body must be a JSON object, got {type(data).__name__}")
    event = data.get("EventType", CUSTOMER_EVENT)
    if event != CUSTOMER_EVENT:
        raise BadWebhook(f"EventType: {str(event)[:40]!r}, expected {CUSTOMER_EVENT!r}")
    details = data.get("CustomerDetailsList")
    if not isinstance(details, list):
        raise BadWebhook("CustomerDetailsList: missing or not an array")
    if len(details) > MAX_ROWS:
        raise BadWebhook(f"CustomerDetailsList has {len(details)} entries; at most {MAX_ROWS} are taken")
    ids: dict[str, None] = {}
    for index, entry in enumerate(details):
        where = f"CustomerDetailsList[{index}]"
        if not isinstance(entry, dict):
            raise BadWebhook(f"{where}: an entry must be an object")
        customer = entry.get("Customer")
        if not isinstance(customer, dict):
            raise BadWebhook(f"{where}.Customer: missing or not an object")
        customer_id = customer.get("ID")
        if not isinstance(customer_id, str) or not _CIN7_ID.fullmatch(customer_id):
            raise BadWebhook(f"{where}.Customer.ID: missing or not a Cin7 ID")
        ids[customer_id] = None
    return list(ids)


@dataclass(frozen=True)
class Shipment:
    """One entry of a `Sale/ShipmentTrackingNumberChanged` body's `Shipments` (dates there are `dd/MM/yyyy`)."""

    tracking_number: str
    carrier: str
    shipment_date: date | None


@dataclass(frozen=True)
class SaleEvent:
    """What a sale webhook names. Most carry `SaleID` and `SaleOrderNumber`; `Sale/ShipmentAuthorised` and
    `Sale/InvoiceAuthorised` carry `SaleTaskID` (a fulfilment's or invoice's task, which is the SaleID only for
    a simple sale's first one) and `OrderNumber` instead (reference §7). It is a hint: re-read the sale, by
    `sale_id` when given, else by `order_number`."""

    event_type: str
    sale_id: str | None
    task_id: str | None
    order_number: str | None
    invoice_number: str | None = None  # Sale/InvoiceAuthorised
    document_number: str | None = None  # the payment events: the invoice paid
    shipments: tuple[Shipment, ...] = ()  # Sale/ShipmentTrackingNumberChanged

    @property
    def sale_or_task_id(self) -> str:
        """The SaleID if the body gave one, else the task id (one of the two is always there)."""
        return self.sale_id or self.task_id or ""


def _guid(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _CIN7_ID.fullmatch(value):
        raise BadWebhook(f"{key}: not a Cin7 ID")
    return value


def _text(data: dict[str, Any], key: str, where: str = "") -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadWebhook(f"{where}{key}: not a string")
    if len(value) > MAX_NUMBER_CHARS:
        raise BadWebhook(f"{where}{key}: longer than {MAX_NUMBER_CHARS} characters")
    return value.strip() or None


def _shipments(value: Any) -> tuple[Shipment, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadWebhook("Shipments: not an array")
    if len(value) > MAX_ROWS:
        raise BadWebhook(f"Shipments has {len(value)} entries; at most {MAX_ROWS} are taken")
    out = []
    for index, entry in enumerate(value):
        where = f"Shipments[{index}]."
        if not isinstance(entry, dict):
            raise BadWebhook(f"Shipments[{index}]: an entry must be an object")
        raw_date = entry.get("ShipmentDate")
        shipped_on = None
        if raw_date not in (None, ""):
            try:
                moment = parse_cin7_time(raw_date) if isinstance(raw_date, str) else None
            except ValueError:
                moment = None
            if moment is None:
                raise BadWebhook(f"{where}ShipmentDate: not a dd/MM/yyyy or ISO date")
            shipped_on = moment.date()
        out.append(
            Shipment(
                tracking_number=_text(entry, "TrackingNumber", where) or "",
                carrier=_text(entry, "Carrier", where) or "",
                shipment_date=shipped_on,
            )
        )
    return tuple(out)


def parse_sale_event(body: bytes) -> SaleEvent:
    """A sale webhook body (reference §7) read defensively: a JSON object with a documented sale `EventType`,
    a SaleID and/or a task id (GUIDs), and an order number whenever there is no SaleID (the task id alone
    does not find an advanced sale). Anything else raises `BadWebhook` naming the problem."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise BadWebhook(f"body must be a JSON object, got {type(data).__name__}")
    event = data.get("EventType")
    if not isinstance(event, str) or event not in SALE_EVENTS:
        shown = repr(event[:40]) if isinstance(event, str) else "missing or not a string"
        raise BadWebhook(f"EventType: {shown}, expected a sale event such as {SHIPMENT_AUTHORISED!r}")
    sale_id = _guid(data, "SaleID")
    task_id = _guid(data, "SaleTaskID") or _guid(data, "TaskID")
    order_number = _text(data, "SaleOrderNumber") or _text(data, "OrderNumber")
    if sale_id is None and task_id is None:
        raise BadWebhook("neither SaleID nor SaleTaskID/TaskID is given")
    if sale_id is None and order_number is None:
        raise BadWebhook("OrderNumber: missing (the body has a task id but no SaleID)")
    return SaleEvent(
        event_type=event,
        sale_id=sale_id,
        task_id=task_id,
        order_number=order_number,
        invoice_number=_text(data, "InvoiceNumber"),
        document_number=_text(data, "DocumentNumber"),
        shipments=_shipments(data.get("Shipments")),
    )


def availability_skus(raw_body: bytes) -> list[str]:
    """The distinct SKUs a `Stock/AvailableStockLevelChanged` delivery names, in first-seen order."""
    data = load_json(raw_body)
    if not isinstance(data, list):
        raise BadWebhook(f"body must be a JSON array of availability rows, got {type(data).__name__}")
    if len(data) > MAX_ROWS:
        raise BadWebhook(f"body has {len(data)} rows; at most {MAX_ROWS} are taken")
    skus: dict[str, None] = {}
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise BadWebhook(f"[{index}]: an availability row must be an object")
        sku = row.get("SKU")
        if not isinstance(sku, str) or not sku.strip():
            raise BadWebhook(f"[{index}].SKU: missing or not a string")
        if len(sku) > MAX_SKU_CHARS:
            raise BadWebhook(f"[{index}].SKU: longer than {MAX_SKU_CHARS} characters")
        skus[sku] = None
    return list(skus)


def ensure_webhook(client: Cin7Client, event_type: str, url: str, secret: str) -> str:
    """Register the webhook for `event_type` at `url` with our secret header, or bring an existing one (Cin7
    switched it off after failed deliveries, or its URL or header changed) back to that. Idempotent; returns
    what it did: "created", "updated" or "unchanged"."""
    header = Cin7WebhookHeader.model_validate({"Key": SECRET_HEADER, "Value": secret})
    for existing in client.list_webhooks():
        if existing.Type != event_type:
            continue
        ours = [h for h in existing.ExternalHeaders if h.Key == SECRET_HEADER]
        same_secret = len(ours) == 1 and ours[0].Value.get_secret_value() == secret
        if existing.IsActive and existing.ExternalURL == url and same_secret:
            return "unchanged"
        others = [h for h in existing.ExternalHeaders if h.Key != SECRET_HEADER]
        client.update_webhook(
            existing.model_copy(
                update={"IsActive": True, "ExternalURL": url, "ExternalHeaders": [*others, header]}
            )
        )
        return "updated"
    client.create_webhook(
        Cin7Webhook(Type=event_type, ExternalURL=url, IsActive=True, ExternalHeaders=[header])
    )
    return "created"
