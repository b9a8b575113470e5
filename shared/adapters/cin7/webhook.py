"""Cin7 Core webhooks (reference §7): no signature, so each is registered with a secret header that the
route compares in constant time; routed by URL, since some bodies (the stock one) carry no `EventType`.

`Stock/AvailableStockLevelChanged` is a bare JSON array of availability rows. Its figures are not used:
deliveries may repeat or arrive out of order, so the SKUs it names are re-read (shared/flows/stock.py).
`Customer/Updated` likewise gives only the customer IDs it names, to be re-read.
"""

from __future__ import annotations

import hmac
import re

from shared.adapters.cin7.client import Cin7Client
from shared.adapters.cin7.models import Cin7Webhook, Cin7WebhookHeader
from shared.adapters.orocommerce.webhook import BadWebhook, load_json
from shared.config import Config, Onboarding, PriceDirection

AVAILABILITY_EVENT = "Stock/AvailableStockLevelChanged"
PRODUCT_EVENT = "Product/Updated"
CUSTOMER_EVENT = "Customer/Updated"
# Cin7 ids are GUIDs (reference §3: "store the Cin7 `ID` (GUID)"); nothing else is taken as one.
_CIN7_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
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
    *, stock_fast_path: bool, prices_from_erp: bool, customers: bool = False
) -> list[tuple[str, str]]:
    """(Cin7 event type, route path) of every webhook the service listens to, given what the config turns on
    (`customers`: customer onboarding, which learns of a cleared credit hold from `Customer/Updated`)."""
    out = []
    if stock_fast_path:
        out.append((AVAILABILITY_EVENT, "/webhooks/cin7/stock"))
    if prices_from_erp:
        out.append((PRODUCT_EVENT, "/webhooks/cin7/product"))
    if customers:
        out.append((CUSTOMER_EVENT, "/webhooks/cin7/customer"))
    return out


def webhooks_for(config: Config) -> list[tuple[str, str]]:
    """The Cin7 webhooks a config needs (`orosync webhooks ensure`, the local environment's seed)."""
    return wanted_webhooks(
        stock_fast_path=config.stock.fast_path,
        prices_from_erp=any(m.direction is PriceDirection.ERP_TO_ORO for m in config.price_lists),
        customers=config.customers.onboard is not Onboarding.NONE,
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
