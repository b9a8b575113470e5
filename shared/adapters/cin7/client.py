"""Cin7 Core External API v2 client: header auth, Page/Limit paging, naive-UTC dates, error classification,
the shared ERP rate budget before every request, and no blind re-send of a create.

Classification (reference §1, §8), once, here:
- 429, and any answer whose text says "API limit" (Cin7's 503 does: `You have reached 60 calls per 60
  seconds API limit.`) → `Throttled` (the budget is penalised so every worker slows down). Cin7 sends no
  Retry-After; one that is present is honoured.
- a 503 without that message is an outage, not throttling → `Transient` (backoff, the shared budget
  untouched); so are other 5xx, 408, timeouts, connection errors. 400/405/409/422… → `Permanent` carrying
  Cin7's `Exception` text (a 400 that says "… not found" → `NotFound`); 401/403 → `CredentialsRejected`
  (an outage, not bad data: never retried here, the key never echoed); 404 → `NotFound` (Cin7 uses it for unknown endpoints too: the message says so).
- 200 with a body that is not JSON (Cin7 answers an unknown path with an HTML page and 200) → `Permanent`:
  the same request gets the same page, so retrying would only spend the rate budget. A 200 whose JSON is
  cut short → `Transient` (or `OutcomeUnknown` for a create: it was processed).
- `Throttled`/`Transient` are retried a bounded number of times with jittered exponential backoff. A POST
  (every Cin7 POST creates: `/sale`, `/sale/order`, `/webhooks`…) that may have reached Cin7 without an
  answer (read timeout, dropped connection, 500/502/503/504 without the API-limit message) raises `OutcomeUnknown` (`outcome_unknown=True`)
  and is never re-sent: the order flow looks the sale up by ExternalID and adopts it. A throttled POST is
  retried: Cin7 did nothing with it.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from shared.adapters.cin7.models import (
    Cin7AdditionalCharge,
    Cin7Availability,
    Cin7Customer,
    Cin7Fulfilment,
    Cin7Invoice,
    Cin7Location,
    Cin7PriceTier,
    Cin7Product,
    Cin7Sale,
    Cin7SaleLine,
    Cin7SaleListRow,
    Cin7SaleOrder,
    Cin7TaxRule,
    Cin7Webhook,
)
from shared.adapters.http import (
    OutcomeUnknown,
    RetryPolicy,
    Sleep,
    dumps,
    loads,
    retry_after_seconds,
    run_with_retries,
    transport_error,
)
from shared.config import Cin7Endpoint
from shared.errors import CredentialsRejected, IntegrationError, NotFound, Permanent, Throttled, Transient
from shared.observability import logger

SYSTEM = "cin7"
DEFAULT_BASE_URL = "https://inventory.dearsystems.com/ExternalApi/v2/"
DECIMAL_PLACES = 4  # Quantity, Price, Tax, Total (reference §8.5)
# Rows per POST /custom-prices. The reference gives no maximum; 500 keeps a body well under any sane request
# limit while 50,000 prices still take only 100 calls.
CUSTOM_PRICES_PER_CALL = 500
_API_LIMIT = re.compile(r"api\s+limit", re.IGNORECASE)
_NOT_FOUND = re.compile(r"\bnot\s+found\b|\bdoes\s+not\s+exist\b", re.IGNORECASE)


class Budget(Protocol):
    """The ERP rate budget (shared.adapters.aws.rate_budget.RateBudget)."""

    def acquire(self, flow: str) -> None: ...

    def penalise(self) -> None: ...


class _BudgetRefused(Exception):  # noqa: N818 - internal carrier, never leaves this module
    """Carries the budget's own Throttled past the retry loop: the budget already waited what it may."""

    def __init__(self, error: Throttled) -> None:
        super().__init__(str(error))
        self.error = error


def cin7_time(moment: datetime) -> str:
    """A date parameter as Cin7 takes it: naive UTC, no `Z` (`saleList?UpdatedSince=` rejects one)."""
    if moment.tzinfo is None:
        raise ValueError("Cin7 date parameters must be built from timezone-aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class _Counters:
    """Calls per flow, shared by every `for_flow` view of one client."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_flow: Counter[str] = Counter()


class Cin7Client:
    """One Cin7 Core API application. Thread-safe; reuse one per cold start (`for_flow` for other flows)."""

    def __init__(
        self,
        account_id: str,
        application_key: str | SecretStr,
        *,
        base_url: str = DEFAULT_BASE_URL,
        page_limit: int = 1000,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        budget: Budget | None = None,
        flow: str = "orders",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not 1 <= page_limit <= 1000:
            raise ValueError("Cin7 page_limit must be between 1 and 1000")
        self.base_url = str(base_url).rstrip("/") + "/"
        self.page_limit = page_limit
        self.retry = retry or RetryPolicy()
        self.budget = budget
        self.flow = flow
        self._sleep = sleep
        self._key = application_key if isinstance(application_key, SecretStr) else SecretStr(application_key)
        self._account_id = SecretStr(account_id)
        self._counters = _Counters()
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "orosync"},
        )

    @classmethod
    def from_config(
        cls, endpoint: Cin7Endpoint, account_id: str, application_key: str | SecretStr, **kwargs: Any
    ) -> Cin7Client:
        kwargs.setdefault("page_limit", endpoint.page_limit)
        kwargs.setdefault("timeout_seconds", endpoint.timeout_seconds)
        return cls(account_id, application_key, base_url=str(endpoint.base_url), **kwargs)

    def for_flow(self, flow: str) -> Cin7Client:
        """The same application (connection, budget, counters) working for another flow."""
        other = object.__new__(Cin7Client)
        other.__dict__.update(self.__dict__)
        other.flow = flow
        return other

    def __repr__(self) -> str:
        return f"Cin7Client(base_url={self.base_url!r}, flow={self.flow!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Cin7Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------- counters

    @property
    def calls_by_flow(self) -> dict[str, int]:
        """HTTP requests sent to Cin7 per flow (retries included), by this client and its `for_flow` views."""
        with self._counters.lock:
            return dict(self._counters.by_flow)

    @property
    def calls(self) -> int:
        with self._counters.lock:
            return sum(self._counters.by_flow.values())

    # --------------------------------------------------------------------------- requests, errors

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        creates: bool | None = None,
        partial: bool = False,
    ) -> Any:
        """One API call with budget, retries and classification; returns the parsed JSON (Decimals).

        `creates` defaults to True for POST: such a request is never re-sent once it may have landed.
        `partial`: a 200 listing refused rows in `Errors` is returned to the caller (a bulk write whose other
        rows were applied), not raised.
        """
        creates = method.upper() == "POST" if creates is None else creates
        operation = f"{method} /{path.lstrip('/')}"
        content = dumps(body, places=DECIMAL_PLACES, moment=cin7_time) if body is not None else None
        query = {k: v for k, v in (params or {}).items() if v is not None}

        def attempt() -> Any:
            if self.budget is not None:
                try:
                    self.budget.acquire(self.flow)
                except Throttled as err:
                    raise _BudgetRefused(err) from None
            response = self._send(method, path, query, content, operation, creates)
            return self._classify(response, operation, creates, partial)

        def on_retry(n: int, err: IntegrationError, delay: float) -> None:
            logger.info(
                "cin7 call retried",
                extra={
                    "operation": operation,
                    "flow": self.flow,
                    "retry": n,
                    "error": type(err).__name__,
                    "status": err.status,
                    "delay_seconds": round(delay, 3),
                },
            )

        try:
            return run_with_retries(attempt, self.retry, self._sleep, on_retry)
        except _BudgetRefused as refused:
            raise refused.error from None

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        content: bytes | None,
        operation: str,
        creates: bool,
    ) -> httpx.Response:
        headers = {
            "api-auth-accountid": self._account_id.get_secret_value(),
            "api-auth-applicationkey": self._key.get_secret_value(),
        }
        if content is not None:
            headers["Content-Type"] = "application/json"
        with self._counters.lock:
            self._counters.by_flow[self.flow] += 1
        try:
            return self._http.request(
                method, path.lstrip("/"), params=params, content=content, headers=headers
            )
        except httpx.HTTPError as err:
            raise transport_error(err, system=SYSTEM, operation=operation, creates=creates) from None

    def _penalise(self, operation: str) -> None:
        """Tell the shared budget Cin7 throttled us. Failing to record it must not hide the throttle itself."""
        if self.budget is None:
            return
        try:
            self.budget.penalise()
        except IntegrationError as err:
            logger.warning(
                "rate budget penalty not recorded",
                extra={"operation": operation, "flow": self.flow, "error": type(err).__name__},
            )

    def _scrub(self, text: str) -> str:
        for secret in (self._key.get_secret_value(), self._account_id.get_secret_value()):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    @staticmethod
    def _error_texts(body: Any) -> list[str]:
        items = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
        texts = []
        for item in items:
            if isinstance(item, dict):
                text = item.get("Exception") or item.get("Message") or item.get("message")
                if text:
                    texts.append(str(text))
        return texts

    def _classify(
        self, response: httpx.Response, operation: str, creates: bool, partial: bool = False
    ) -> Any:
        status = response.status_code
        raw = response.content
        ctype = response.headers.get("Content-Type", "").lower()
        looks_html = raw[:200].lstrip().lower().startswith((b"<!doctype", b"<html")) or "html" in ctype
        if 200 <= status < 300:
            if status == 204 or not raw.strip():
                return None
            if looks_html or ("json" not in ctype and raw.strip()[:1] not in (b"{", b"[")):
                raise Permanent(
                    f"cin7: {operation}: {status} but the answer is not JSON "
                    f"({ctype or 'no content type'}): Cin7 answers an unknown endpoint this way; check the path",
                    system=SYSTEM,
                    status=status,
                )
            try:
                body = loads(raw)
            except ValueError:
                if creates:
                    raise OutcomeUnknown(
                        f"cin7: {operation}: {status} with a truncated answer; the outcome is unknown",
                        system=SYSTEM,
                        status=status,
                    ) from None
                raise Transient(
                    f"cin7: {operation}: {status} with invalid JSON", system=SYSTEM, status=status
                ) from None
            if (
                not partial
                and isinstance(body, dict)
                and isinstance(body.get("Errors"), list)
                and body["Errors"]
            ):
                # Some write endpoints answer 200 and list what they refused (reference §1).
                texts = self._error_texts(body["Errors"]) or [str(e) for e in body["Errors"][:5]]
                raise Permanent(
                    f"cin7: {operation}: {self._scrub('; '.join(texts))[:800]}", system=SYSTEM, status=status
                )
            return body

        try:
            body = loads(raw) if raw and not looks_html else None
        except ValueError:
            body = None
        texts = self._error_texts(body)
        detail = self._scrub("; ".join(texts))[:800]
        suffix = f": {detail}" if detail else ""
        raw_text = raw[:2000].decode("utf-8", "replace")

        if status == 429 or _API_LIMIT.search(raw_text):
            self._penalise(operation)
            raise Throttled(
                f"cin7: {operation}: {status} rate limited{suffix}",
                system=SYSTEM,
                status=status,
                retry_after_seconds=retry_after_seconds(response),
            )
        if status in (401, 403):
            raise CredentialsRejected(
                f"cin7: {operation}: {status} authentication failed: check the account id and application "
                "key of this API application",
                system=SYSTEM,
                status=status,
            )
        if status == 404:
            raise NotFound(
                f"cin7: {operation}: 404 (no such endpoint or record){suffix}", system=SYSTEM, status=status
            )
        if creates and status in (500, 502, 503, 504):
            # The request reached something that may have passed it on: never re-send a create blindly.
            raise OutcomeUnknown(
                f"cin7: {operation}: {status} after the request was sent; the outcome is unknown{suffix}",
                system=SYSTEM,
                status=status,
            )
        if status == 503:
            raise Transient(
                f"cin7: {operation}: 503 service unavailable without Cin7's API-limit message (an outage, "
                f"not throttling){suffix}",
                system=SYSTEM,
                status=status,
            )
        if status == 408:
            raise Transient(f"cin7: {operation}: 408 request timeout", system=SYSTEM, status=status)
        if 400 <= status < 500:
            if status == 400 and _NOT_FOUND.search(detail):
                raise NotFound(f"cin7: {operation}: {detail}", system=SYSTEM, status=status)
            raise Permanent(
                f"cin7: {operation}: {status}{suffix or ' ' + response.reason_phrase}",
                system=SYSTEM,
                status=status,
            )
        raise Transient(f"cin7: {operation}: {status}{suffix}", system=SYSTEM, status=status)

    # -------------------------------------------------------------------------------------- paging

    @staticmethod
    def _rows(body: Any, key: str, operation: str) -> list[Any]:
        if isinstance(body, list):
            return body
        if not isinstance(body, dict):
            raise Permanent(f"cin7: {operation}: expected a JSON object with {key}", system=SYSTEM)
        rows = body.get(key)
        if rows is None:
            lists = [v for k, v in body.items() if isinstance(v, list) and k != "Errors"]
            if len(lists) == 1:
                rows = lists[0]
            elif not lists:
                return []
            else:
                raise Permanent(f"cin7: {operation}: the answer has no {key} list", system=SYSTEM)
        if not isinstance(rows, list):
            raise Permanent(f"cin7: {operation}: {key} is not a list", system=SYSTEM)
        return rows

    def iter_pages(
        self, path: str, key: str, params: Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every row of a paged list (`Page`/`Limit`), stopping when `Page * Limit >= Total` (or, without a
        `Total`, at a short page)."""
        limit = limit or self.page_limit
        page = 1
        operation = f"GET /{path}"
        while True:
            query = {**(params or {}), "Page": page, "Limit": limit}
            body = self.request("GET", path, params=query)
            rows = self._rows(body, key, operation)
            yield from rows
            total = body.get("Total") if isinstance(body, dict) else None
            if total is not None:
                if page * limit >= int(total) or not rows:
                    return
            elif len(rows) < limit:
                return
            page += 1

    @staticmethod
    def _model(model: type[Any], data: Any, operation: str) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise Permanent(
                f"cin7: {operation}: unexpected {model.__name__} ({where}: {first['msg']})", system=SYSTEM
            ) from None

    def _iter_models(
        self,
        model: type[Any],
        path: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[Any]:
        for row in self.iter_pages(path, key, params, limit=limit):
            yield self._model(model, row, f"GET /{path}")

    # --------------------------------------------------------------------------------------- sales

    def create_sale(self, header: Mapping[str, Any] | BaseModel) -> Cin7Sale:
        """POST /sale (the header; `ExternalID` should carry our idempotency key). Never re-sent after an
        unanswered attempt: `OutcomeUnknown` → look the sale up with `find_sales_by_external_id`."""
        body = _as_body(header)
        data = self.request("POST", "sale", body=body)
        return self._model(Cin7Sale, data, "POST /sale")  # type: ignore[no-any-return]

    def create_sale_order(
        self,
        sale_id: str,
        lines: Sequence[Mapping[str, Any] | Cin7SaleLine],
        status: str,
        additional_charges: Sequence[Mapping[str, Any] | Cin7AdditionalCharge] = (),
        *,
        memo: str | None = None,
        auto_pick_pack_ship: str | None = None,
    ) -> Cin7SaleOrder:
        """POST /sale/order with `DRAFT` or `AUTHORISED` lines (the stage's lines are replaced)."""
        if status not in ("DRAFT", "AUTHORISED"):
            raise ValueError("the sale order status must be DRAFT or AUTHORISED")
        body: dict[str, Any] = {
            "SaleID": sale_id,
            "Status": status,
            "Lines": [_as_body(line) for line in lines],
            "AdditionalCharges": [_as_body(c) for c in additional_charges],
        }
        if memo is not None:
            body["Memo"] = memo
        if auto_pick_pack_ship is not None:
            body["AutoPickPackShipMode"] = auto_pick_pack_ship
        data = self.request("POST", "sale/order", body=body)
        return self._model(Cin7SaleOrder, data, "POST /sale/order")  # type: ignore[no-any-return]

    def update_sale(self, header: Mapping[str, Any] | BaseModel) -> Cin7Sale:
        """PUT /sale (the header, with its `ID`): safe to repeat, it sets the same fields again."""
        data = self.request("PUT", "sale", body=_as_body(header))
        return self._model(Cin7Sale, data, "PUT /sale")  # type: ignore[no-any-return]

    def get_sale(self, sale_id: str) -> Cin7Sale:
        data = self.request("GET", "sale", params={"ID": sale_id})
        if not isinstance(data, dict) or not data.get("ID"):
            raise NotFound(f"cin7: GET /sale: no sale {sale_id}", system=SYSTEM)
        return self._model(Cin7Sale, data, "GET /sale")  # type: ignore[no-any-return]

    def find_sales_by_external_id(self, external_id: str) -> list[Cin7SaleListRow]:
        """Sales whose ExternalID is exactly `external_id` (Cin7 filters exactly; we check again)."""
        rows = self._iter_models(Cin7SaleListRow, "saleList", "SaleList", {"ExternalID": external_id})
        return [row for row in rows if row.ExternalID == external_id]

    def void_sale(self, sale_id: str) -> None:
        """DELETE /sale?Void=true. Idempotent: a refusal for a sale that is already VOIDED is success."""
        try:
            self.request("DELETE", "sale", params={"ID": sale_id, "Void": "true"})
        except Permanent as err:
            if isinstance(err, NotFound):
                raise
            if self.get_sale(sale_id).Status == "VOIDED":
                return
            raise

    def iter_sales_updated_since(
        self, since: datetime, *, until: datetime | None = None, limit: int | None = None
    ) -> Iterator[Cin7SaleListRow]:
        params = {"UpdatedSince": cin7_time(since), "UpdatedUntil": cin7_time(until) if until else None}
        yield from self._iter_models(Cin7SaleListRow, "saleList", "SaleList", params, limit)

    def iter_sales_created_since(self, since: datetime, *, limit: int = 1000) -> Iterator[Cin7SaleListRow]:
        """`saleList?CreatedSince=`, `limit` rows a call (Cin7's maximum page is 1000)."""
        yield from self._iter_models(
            Cin7SaleListRow, "saleList", "SaleList", {"CreatedSince": cin7_time(since)}, limit
        )

    def get_fulfilments(self, sale_id: str) -> list[Cin7Fulfilment]:
        data = self.request("GET", "sale/fulfilment", params={"SaleID": sale_id})
        rows = self._rows(data, "Fulfilments", "GET /sale/fulfilment")
        return [self._model(Cin7Fulfilment, row, "GET /sale/fulfilment") for row in rows]

    def get_invoices(self, sale_id: str) -> list[Cin7Invoice]:
        """GET /sale/invoice?SaleID=: the sale's invoices with their payments. `get_sale` carries the same
        `Invoices` (and `Fulfilments`) in one call; this is for when only the invoices are wanted."""
        data = self.request("GET", "sale/invoice", params={"SaleID": sale_id})
        rows = self._rows(data, "Invoices", "GET /sale/invoice")
        return [self._model(Cin7Invoice, row, "GET /sale/invoice") for row in rows]

    def find_sale_by_order_number(self, order_number: str) -> Cin7SaleListRow | None:
        """The sale whose `OrderNumber` is exactly `order_number` (`saleList?Search=`, a substring search over
        several fields, filtered here for equality), or None. For the events that name a task and an order
        number but no SaleID (`Sale/ShipmentAuthorised`, `Sale/InvoiceAuthorised`, reference §7)."""
        rows = self._iter_models(Cin7SaleListRow, "saleList", "SaleList", {"Search": order_number})
        found = [row for row in rows if row.OrderNumber == order_number]
        return found[0] if found else None

    # ----------------------------------------------------------------------------------- customers

    def iter_customers(
        self,
        *,
        modified_since: datetime | None = None,
        name: str | None = None,
        include_deprecated: bool = False,
        limit: int | None = None,
    ) -> Iterator[Cin7Customer]:
        """Customers; `name` is Cin7's starts-with filter (compare exactly yourself)."""
        params = {
            "ModifiedSince": cin7_time(modified_since) if modified_since else None,
            "Name": name,
            "IncludeDeprecated": "true" if include_deprecated else None,
        }
        yield from self._iter_models(Cin7Customer, "customer", "CustomerList", params, limit)

    def get_customer(self, customer_id: str) -> Cin7Customer:
        """The customer with its customer-specific prices (`ProductPrices`), in one call."""
        data = self.request(
            "GET",
            "customer",
            params={"ID": customer_id, "IncludeDeprecated": "true", "IncludeProductPrices": "true"},
        )
        for row in self._rows(data, "CustomerList", "GET /customer"):
            customer = self._model(Cin7Customer, row, "GET /customer")
            if customer.ID == customer_id:
                return customer  # type: ignore[no-any-return]
        raise NotFound(f"cin7: GET /customer: no customer {customer_id}", system=SYSTEM)

    def find_customers_by_name(self, name: str) -> list[Cin7Customer]:
        """Customers named exactly `name` (Cin7 names are unique; its filter is starts-with)."""
        return [c for c in self.iter_customers(name=name, include_deprecated=True) if c.Name == name]

    def create_customer(self, customer: Mapping[str, Any] | BaseModel) -> Cin7Customer:
        data = self.request("POST", "customer", body=_as_body(customer))
        rows = self._rows(data, "CustomerList", "POST /customer")
        if not rows:
            raise Permanent("cin7: POST /customer: the answer holds no customer", system=SYSTEM)
        return self._model(Cin7Customer, rows[0], "POST /customer")  # type: ignore[no-any-return]

    def update_customer(self, customer: Mapping[str, Any] | BaseModel) -> Cin7Customer:
        data = self.request("PUT", "customer", body=_as_body(customer))
        rows = self._rows(data, "CustomerList", "PUT /customer")
        if not rows:
            raise Permanent("cin7: PUT /customer: the answer holds no customer", system=SYSTEM)
        return self._model(Cin7Customer, rows[0], "PUT /customer")  # type: ignore[no-any-return]

    # ------------------------------------------------------------------------------------ products

    def iter_products(
        self,
        modified_since: datetime | None = None,
        *,
        sku: str | None = None,
        include_bom: bool = False,
        include_deprecated: bool = False,
        limit: int | None = None,
    ) -> Iterator[Cin7Product]:
        """Products (one call per page of `limit`, `page_limit` by default: 1000), with their tier prices,
        unit, barcode, names, category, brand, weight, dimensions and `LastModifiedOn`; `modified_since`: only
        those changed since then (`ModifiedSince`, naive UTC). `sku` is Cin7's fuzzy filter. Pages of 100 by
        default when BOMs are included (heavy pages, reference §8.9)."""
        params = {
            "ModifiedSince": cin7_time(modified_since) if modified_since else None,
            "Sku": sku,
            "IncludeBOM": "true" if include_bom else None,
            "IncludeDeprecated": "true" if include_deprecated else None,
        }
        if limit is None and include_bom:
            limit = min(100, self.page_limit)
        yield from self._iter_models(Cin7Product, "product", "Products", params, limit)

    def get_product_by_sku(self, sku: str, *, include_bom: bool = True) -> Cin7Product:
        """The product whose SKU is exactly `sku` (Cin7's own filter is fuzzy); `NotFound` otherwise."""
        for product in self.iter_products(sku=sku, include_bom=include_bom, include_deprecated=True):
            if product.SKU == sku:
                return product
        raise NotFound(f"cin7: GET /product: no product with SKU {sku!r}", system=SYSTEM)

    def update_product(self, product_id: str, fields: Mapping[str, Any]) -> Cin7Product:
        """PUT /product with `ID` and only `fields` (e.g. `{"PriceTier2": Decimal("7.6")}`, `{"PriceTiers":
        {"Contract": ...}}` by tier name, `{"Name": ...}`); the fields not given are left as they are. Absolute
        values, so safe to repeat: retried on 5xx and timeouts like any idempotent call."""
        if not product_id:
            raise ValueError("update_product needs the product's ID")
        if not fields:
            raise ValueError("update_product needs at least one field to change")
        if fields.get("ID", product_id) != product_id:
            raise ValueError("update_product: fields carry another product's ID")
        data = self.request("PUT", "product", body={**fields, "ID": product_id})
        rows = self._rows(data, "Products", "PUT /product")
        if not rows:
            raise Permanent("cin7: PUT /product: the answer holds no product", system=SYSTEM)
        return self._model(Cin7Product, rows[0], "PUT /product")  # type: ignore[no-any-return]

    def create_product(self, fields: Mapping[str, Any]) -> Cin7Product:
        """POST /product: a new product (`SKU`, `Name`, `Category` and `UOM` are required by Cin7). Not retried
        blindly on a timeout: the caller looks the SKU up first (Cin7 refuses a second product with it)."""
        for required in ("SKU", "Name", "Category", "UOM"):
            if not fields.get(required):
                raise ValueError(f"create_product needs {required}")
        data = self.request("POST", "product", body=dict(fields))
        rows = self._rows(data, "Products", "POST /product")
        if not rows:
            raise Permanent("cin7: POST /product: the answer holds no product", system=SYSTEM)
        return self._model(Cin7Product, rows[0], "POST /product")  # type: ignore[no-any-return]

    def set_custom_prices(
        self, rows: Iterable[tuple[str, str, Decimal]], *, by_sku: bool = False
    ) -> list[str]:
        """Customer-specific prices, `(customer_id, product_id, price)` rows (`by_sku`: the product by its SKU,
        sent as `ProductSKU`), through POST /custom-prices, `CUSTOM_PRICES_PER_CALL` rows a call. Cin7 applies
        the rows it can and answers 200 listing the others in `Errors` (reference §1, §6): their texts are
        returned (empty: every row applied). Prices are absolute, so a call is safe to repeat (retried on 5xx
        and timeouts)."""
        product_key = "ProductSKU" if by_sku else "ProductID"
        body_rows: list[dict[str, Any]] = []
        for customer_id, product, price in rows:
            if not customer_id or not product:
                raise ValueError(f"a custom price needs a customer ID and a {product_key}")
            if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
                raise ValueError(f"custom price {price!r} for product {product} must be a Decimal >= 0")
            body_rows.append({"CustomerID": customer_id, product_key: product, "Price": price})
        errors: list[str] = []
        for start in range(0, len(body_rows), CUSTOM_PRICES_PER_CALL):
            chunk = body_rows[start : start + CUSTOM_PRICES_PER_CALL]
            data = self.request(
                "POST", "custom-prices", body={"CustomPrices": chunk}, creates=False, partial=True
            )
            refused = data.get("Errors") if isinstance(data, dict) else None
            for item in refused if isinstance(refused, list) else []:
                texts = self._error_texts([item])  # {ErrorCode, Exception} objects, or plain strings
                errors.append(self._scrub(texts[0] if texts else str(item)))
        return errors

    # ---------------------------------------------------------------------------- reference lists

    def price_tiers(self) -> list[Cin7PriceTier]:
        data = self.request("GET", "ref/priceTier")
        return [
            self._model(Cin7PriceTier, r, "GET /ref/priceTier")
            for r in self._rows(data, "PriceTiers", "GET /ref/priceTier")
        ]

    def tax_rules(self, *, for_sale_only: bool = False) -> list[Cin7TaxRule]:
        params = {"IsTaxForSale": "true" if for_sale_only else None}
        return list(self._iter_models(Cin7TaxRule, "ref/tax", "TaxRuleList", params))

    def locations(self) -> list[Cin7Location]:
        return list(self._iter_models(Cin7Location, "ref/location", "LocationList"))

    def iter_availability(
        self, location: str | None = None, *, sku: str | None = None, limit: int | None = None
    ) -> Iterator[Cin7Availability]:
        """`/ref/productavailability` rows (one per product × location × bin × batch); no date filter
        exists, so a stock run reads it all (1000 rows a page)."""
        params = {"Location": location, "Sku": sku}
        yield from self._iter_models(
            Cin7Availability, "ref/productavailability", "ProductAvailabilityList", params, limit
        )

    def availability_page(self, page: int, limit: int = 1000) -> tuple[list[Cin7Availability], int]:
        """One page of `/ref/productavailability` and the `Total` row count (one call)."""
        operation = "GET /ref/productavailability"
        body = self.request("GET", "ref/productavailability", params={"Page": page, "Limit": limit})
        rows = [
            self._model(Cin7Availability, r, operation)
            for r in self._rows(body, "ProductAvailabilityList", operation)
        ]
        total = body.get("Total") if isinstance(body, dict) else None
        try:
            count = int(total) if total is not None else len(rows)
        except (TypeError, ValueError):
            raise Permanent(f"cin7: {operation}: Total {total!r} is not a number", system=SYSTEM) from None
        return rows, count

    # ------------------------------------------------------------------------------------ webhooks

    def list_webhooks(self) -> list[Cin7Webhook]:
        data = self.request("GET", "webhooks")
        return [
            self._model(Cin7Webhook, r, "GET /webhooks")
            for r in self._rows(data, "Webhooks", "GET /webhooks")
        ]

    def create_webhook(self, webhook: Cin7Webhook) -> Cin7Webhook:
        """POST /webhooks. An unanswered attempt is resolved by listing (same Type and URL) before re-sending."""
        try:
            data = self.request("POST", "webhooks", body=webhook.to_wire())
        except OutcomeUnknown:
            for existing in self.list_webhooks():
                if existing.Type == webhook.Type and existing.ExternalURL == webhook.ExternalURL:
                    return existing
            data = self.request("POST", "webhooks", body=webhook.to_wire())
        return self._one_webhook(data, "POST /webhooks")

    def update_webhook(self, webhook: Cin7Webhook) -> Cin7Webhook:
        """PUT /webhooks (e.g. `IsActive=True` again after Cin7 switched it off, reference §7)."""
        if not webhook.ID:
            raise ValueError("update_webhook needs the webhook's ID")
        data = self.request("PUT", "webhooks", body=webhook.to_wire())
        return self._one_webhook(data, "PUT /webhooks")

    def delete_webhook(self, webhook_id: str) -> None:
        self.request("DELETE", "webhooks", params={"ID": webhook_id})

    def _one_webhook(self, data: Any, operation: str) -> Cin7Webhook:
        rows = (
            self._rows(data, "Webhooks", operation)
            if isinstance(data, dict) and "Webhooks" in data
            else [data]
        )
        if not rows or not isinstance(rows[0], dict):
            raise Permanent(f"cin7: {operation}: the answer holds no webhook", system=SYSTEM)
        return self._model(Cin7Webhook, rows[0], operation)  # type: ignore[no-any-return]


def _as_body(value: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python", exclude_none=True)
    return dict(value)
