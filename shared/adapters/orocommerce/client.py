"""OroCommerce back-office JSON:API client: OAuth2 client credentials, paging, filters, error classification.

Every failure leaves this module as one of `shared.errors` (reference §1-2, §10):
- 401 is answered once with a fresh token; a second 401, or a token request refused (400/401/403: the client
  id or secret is wrong, or the application no longer allows the grant), is `CredentialsRejected`: an outage
  retried by the queue, never a per-order error, and never retried here.
- 403 is `Permanent` (the API user's ACL or organization), 404 `NotFound`, other 4xx `Permanent` naming the
  JSON:API error detail and pointer.
- 429 and 503 are `Throttled` (with Retry-After when sent), other 5xx, timeouts and connection errors
  `Transient`. Both are retried here a bounded number of times with jittered exponential backoff.
- A POST that creates something and may have reached the server without an answer raises
  `OutcomeUnknown` instead of being re-sent; the creating methods below look the record up and adopt it.

The client secret and the access token are `SecretStr`: never in a log line, an exception or a repr.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr, ValidationError

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
from shared.adapters.orocommerce.models import (
    INVENTORY_STATUSES,
    Document,
    Included,
    JsonApiError,
    OroAsyncOperation,
    OroAsyncOperationError,
    OroCustomer,
    OroCustomerAddress,
    OroCustomerUser,
    OroInventoryLevel,
    OroOrder,
    OroOrderSubtotal,
    OroPriceList,
    OroPriceListAssignment,
    OroProduct,
    OroProductData,
    OroProductPrice,
    OroShippingTracking,
    OroWebhookSubscription,
    Resource,
    is_oro_id,
)
from shared.config import OroEndpoint
from shared.errors import CredentialsRejected, IntegrationError, NotFound, Permanent, Throttled, Transient
from shared.observability import logger

SYSTEM = "oro"
T = TypeVar("T")
JSON_API = "application/vnd.api+json"
# Resources whose ids are Oro entity ids (positive integers): only such an id goes into their URLs.
ENTITY_ID_RESOURCES = frozenset(
    {
        "orders",
        "customers",
        "customerusers",
        "products",
        "inventorylevels",
        "asyncoperations",
        "ordershippingtrackings",
    }
)
# Any other id (an enum's `open`, a topic's `order.created`, a webhook's UUID) is one path segment: no `/`,
# `?`, `%`, `..`.
_ID_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")
# Ids per request when filtering by a list, so a URL never grows past what proxies accept.
FILTER_CHUNK = 100
# How many ancestors of the order's customer come with the order (`include=customer.parent.parent...`): a
# deeper billing parent costs one customer read per level beyond these.
CUSTOMER_ANCESTORS_INCLUDED = 3


def oro_time(moment: datetime) -> str:
    """A filter value for Oro: UTC with a `Z` (an offset's `+` would need URL-encoding, reference §2)."""
    if moment.tzinfo is None:
        raise ValueError("Oro filter times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def filter_value(value: Any) -> str:
    if isinstance(value, datetime):
        return oro_time(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(filter_value(v) for v in value)
    return str(value)


# What order sync reads with an order, in the one GET (reference §3 relationships).
ORDER_INCLUDE = (
    "lineItems",
    "lineItems.product.taxCode",
    "lineItems.product.primaryUnitPrecision",
    "lineItems.product.unitPrecisions",
    f"customer{'.parent' * CUSTOMER_ANCESTORS_INCLUDED}",
    "customerUser",
    "billingAddress",
    "billingAddress.country",
    "shippingAddress",
    "shippingAddress.country",
)

# What product-data sync reads with a product (reference §6; brand names and category titles are localized
# values, descriptions WYSIWYG values; `productShippingOptions` is ShippingBundle's weight and dimensions).
PRODUCT_DATA_INCLUDE = (
    "names",
    "descriptions",
    "brand",
    "brand.names",
    "category",
    "category.titles",
    "taxCode",
    "primaryUnitPrecision",
    "unitPrecisions",
    "productShippingOptions",
)
# Oro keeps prices with 4 decimals and sends them as strings (reference §2, §7).
PRICE_PLACES = Decimal("0.0001")
_PRICE_UPDATE_KEYS = frozenset({"id", "value"})
_PRICE_CREATE_KEYS = frozenset({"price_list_id", "product_id", "unit", "quantity", "currency", "value"})


def price_text(value: Any) -> str:
    """A price as Oro takes it: a string with 4 decimals (`Decimal("12.5")` → `"12.5000"`, half up).
    ValueError for a float, a negative or a non-number."""
    if isinstance(value, bool | float):
        raise ValueError(f"a price must be a Decimal, an int or a decimal string, not {type(value).__name__}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a price") from None
    if not d.is_finite() or d < 0:
        raise ValueError(f"{value!r} is not a price (a finite number of 0 or more)")
    return str(d.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP))


def _price_quantity(value: Any) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError(f"a price quantity must be a Decimal, an int or a decimal string, not {value!r}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a price quantity") from None
    if not d.is_finite() or d < 0:
        raise ValueError(f"{value!r} is not a price quantity (a finite number of 0 or more)")
    return d


def price_record(record: Mapping[str, Any], where: str = "record") -> dict[str, Any]:
    """One `productprices` batch item: `{"id", "value"}` updates that price (`meta.update`); `{"price_list_id",
    "product_id", "unit", "quantity", "currency", "value"}` creates one (no meta, no id: Oro makes it
    `<GUID>-<priceListId>`). ValueError naming `where` and the problem for anything else."""
    keys = set(record)
    if keys == _PRICE_UPDATE_KEYS:
        return {
            "type": "productprices",
            "id": str(record["id"]),
            "meta": {"update": True},
            "attributes": {"value": price_text(record["value"])},
        }
    if keys == _PRICE_CREATE_KEYS:
        for name in ("price_list_id", "product_id", "unit", "currency"):
            if not str(record[name] or "").strip():
                raise ValueError(f"{where}: {name} is empty")
        return {
            "type": "productprices",
            "attributes": {
                "quantity": _price_quantity(record["quantity"]),
                "value": price_text(record["value"]),
                "currency": str(record["currency"]),
            },
            "relationships": _relationships(
                {
                    "priceList": ("pricelists", record["price_list_id"]),
                    "product": ("products", record["product_id"]),
                    "unit": ("productunits", record["unit"]),
                }
            ),
        }
    raise ValueError(
        f"{where}: a price update has exactly {sorted(_PRICE_UPDATE_KEYS)}, a new price exactly "
        f"{sorted(_PRICE_CREATE_KEYS)}; got {sorted(keys)}"
    )


def filters(**conditions: Any) -> dict[str, str]:
    """`filters(updatedAt__gt=dt, sku=["A", "B"])` → `{"filter[updatedAt][gt]": "...Z", "filter[sku]": "A,B"}`."""
    out: dict[str, str] = {}
    for key, value in conditions.items():
        field, _, op = key.partition("__")
        name = f"filter[{field}]" + (f"[{op}]" if op else "")
        out[name] = filter_value(value)
    return out


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class OroClient:
    """One OroCommerce back office. Thread-safe; reuse one per cold start."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str | SecretStr,
        *,
        admin_prefix: str = "admin",
        page_size: int = 100,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        token_refresh_margin_seconds: float = 30.0,
        credentials_encoding: str = "form",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if credentials_encoding not in ("form", "json"):
            raise ValueError("credentials_encoding must be 'form' or 'json'")
        self.base_url = str(base_url).rstrip("/") + "/"
        prefix = admin_prefix.strip("/")
        self.api_prefix = f"{prefix}/api/" if prefix else "api/"
        self.page_size = page_size
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._client_id = client_id
        self._client_secret = (
            client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        )
        self._margin = token_refresh_margin_seconds
        self._credentials_encoding = credentials_encoding
        self._token: SecretStr | None = None
        self._token_expires_at = 0.0
        self._token_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.token_requests = 0  # token fetches that reached the server (tests and metrics)
        self.requests = 0  # API requests sent, retries included
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            follow_redirects=False,
            headers={"Accept": JSON_API, "User-Agent": "orosync"},
        )

    @classmethod
    def from_config(
        cls, endpoint: OroEndpoint, client_id: str, client_secret: str | SecretStr, **kwargs: Any
    ) -> OroClient:
        kwargs.setdefault("admin_prefix", endpoint.admin_prefix)
        kwargs.setdefault("page_size", endpoint.page_size)
        kwargs.setdefault("timeout_seconds", endpoint.timeout_seconds)
        return cls(str(endpoint.base_url), client_id, client_secret, **kwargs)

    def __repr__(self) -> str:
        return f"OroClient(base_url={self.base_url!r}, client_id={self._client_id!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OroClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------ tokens

    def _scrub(self, text: str) -> str:
        for secret in (
            self._client_secret.get_secret_value(),
            self._token.get_secret_value() if self._token else "",
        ):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def _access_token(self, stale: str | None = None) -> str:
        """The cached token, fetched when missing, about to expire, or equal to `stale` (it got a 401)."""
        with self._token_lock:
            current = self._token.get_secret_value() if self._token else None
            fresh_enough = current is not None and self._clock() < self._token_expires_at
            if fresh_enough and (stale is None or current != stale):
                assert current is not None
                return current
            return run_with_retries(self._fetch_token, self.retry, self._sleep)

    def _fetch_token(self) -> str:
        formats = [self._credentials_encoding, "json" if self._credentials_encoding == "form" else "form"]
        response: httpx.Response | None = None
        for i, fmt in enumerate(formats):
            form = {
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret.get_secret_value(),
            }
            try:
                with self._count_lock:
                    self.token_requests += 1
                if fmt == "form":
                    response = self._http.post(
                        "oauth2-token", data=form, headers={"Accept": "application/json"}
                    )
                else:
                    response = self._http.post(
                        "oauth2-token", json=form, headers={"Accept": "application/json"}
                    )
            except httpx.HTTPError as err:
                raise transport_error(
                    err, system=SYSTEM, operation="POST /oauth2-token", creates=False
                ) from None
            # The docs show a JSON body and Oro's own client sends a form (reference §1): if the server
            # says it cannot read the one we sent, try the other once and keep using whichever worked.
            if (
                response.status_code in (400, 415)
                and i == 0
                and self._token_error(response)
                in (
                    "invalid_request",
                    "unsupported_grant_type",
                    "",
                )
            ):
                continue
            if fmt != self._credentials_encoding and response.is_success:
                self._credentials_encoding = fmt
            break
        assert response is not None
        status = response.status_code
        if status in (400, 401, 403):
            code = self._token_error(response) or f"HTTP {status}"
            raise CredentialsRejected(
                f"oro: the token request was refused ({status} {code}): check the OAuth application's "
                "client id and secret and that it allows the client credentials grant",
                system=SYSTEM,
                status=status,
            )
        if not response.is_success:
            raise self._classify_failure(response, "POST /oauth2-token", creates=False)
        try:
            body = loads(response.content)
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise Permanent(
                "oro: POST /oauth2-token: the answer holds no access_token (is base_url the site root?)",
                system=SYSTEM,
                status=status,
            ) from None
        # Refresh ~30 s early, but never so early that a short-lived token is refetched on every call.
        margin = min(self._margin, expires_in / 4)
        self._token = SecretStr(token)
        self._token_expires_at = self._clock() + expires_in - margin
        return token

    @staticmethod
    def _token_error(response: httpx.Response) -> str:
        try:
            body = loads(response.content)
        except ValueError:
            return ""
        return str(body.get("error", "")) if isinstance(body, dict) else ""

    # --------------------------------------------------------------------------- requests, errors

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        creates: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[httpx.Response, Any]:
        """One API call under `<admin_prefix>/api/`, with retries; returns the response and parsed body.

        `creates=True` marks a request that must not be re-sent once it may have been processed.
        """
        url = self.api_prefix + path.lstrip("/")
        operation = f"{method} /{url.split('?')[0]}"
        content = dumps(body, moment=oro_time) if body is not None else None

        def attempt() -> tuple[httpx.Response, Any]:
            token = self._access_token()
            response = self._send(method, url, params, content, token, headers, operation, creates)
            if response.status_code == 401:
                token = self._access_token(stale=token)
                response = self._send(method, url, params, content, token, headers, operation, creates)
                if response.status_code == 401:
                    raise CredentialsRejected(
                        f"oro: {operation}: 401 Unauthorized even with a fresh token: the token is refused "
                        "(check the OAuth application, its user, and that the Web API feature is enabled)",
                        system=SYSTEM,
                        status=401,
                    )
            if not response.is_success:
                raise self._classify_failure(response, operation, creates=creates)
            return response, self._parse(response, operation)

        def on_retry(n: int, err: IntegrationError, delay: float) -> None:
            logger.info(
                "oro call retried",
                extra={
                    "operation": operation,
                    "retry": n,
                    "error": type(err).__name__,
                    "status": err.status,
                    "delay_seconds": round(delay, 3),
                },
            )

        return run_with_retries(attempt, self.retry, self._sleep, on_retry)  # type: ignore[no-any-return]

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        token: str,
        extra_headers: Mapping[str, str] | None,
        operation: str,
        creates: bool,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **(extra_headers or {})}
        if content is not None:
            headers["Content-Type"] = JSON_API
        with self._count_lock:
            self.requests += 1
        try:
            return self._http.request(method, url, params=params, content=content, headers=headers)
        except httpx.HTTPError as err:
            raise transport_error(err, system=SYSTEM, operation=operation, creates=creates) from None

    def _parse(self, response: httpx.Response, operation: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        ctype = response.headers.get("Content-Type", "")
        if "json" not in ctype:
            raise Permanent(
                f"oro: {operation}: expected a JSON:API document, got {ctype or 'no content type'} "
                "(check base_url and admin_prefix, and that the Web API feature is enabled)",
                system=SYSTEM,
                status=response.status_code,
            )
        try:
            return loads(response.content)
        except ValueError:
            raise Transient(
                f"oro: {operation}: the answer is not valid JSON (truncated?)", system=SYSTEM
            ) from None

    def _errors_text(self, response: httpx.Response) -> str:
        try:
            body = loads(response.content)
        except ValueError:
            return ""
        raw = body.get("errors") if isinstance(body, dict) else body if isinstance(body, list) else None
        if not isinstance(raw, list):
            return ""
        parts = []
        for item in raw[:5]:
            try:
                parts.append(JsonApiError.model_validate(item).describe())
            except ValidationError:
                continue
        return self._scrub("; ".join(parts))[:800]

    def _classify_failure(
        self, response: httpx.Response, operation: str, *, creates: bool
    ) -> IntegrationError:
        status = response.status_code
        detail = self._errors_text(response)
        suffix = f": {detail}" if detail else ""
        if status == 429 or status == 503:
            return Throttled(
                f"oro: {operation}: {status} (slow down){suffix}",
                system=SYSTEM,
                status=status,
                retry_after_seconds=retry_after_seconds(response),
            )
        if status == 403:
            return Permanent(
                f"oro: {operation}: 403 Forbidden: the API user's roles (ACL) or its organization do not "
                f"allow this{suffix}",
                system=SYSTEM,
                status=status,
            )
        if status == 401:
            return CredentialsRejected(
                f"oro: {operation}: 401 Unauthorized{suffix}", system=SYSTEM, status=status
            )
        if status == 404:
            return NotFound(f"oro: {operation}: 404 Not Found{suffix}", system=SYSTEM, status=status)
        if status == 408:
            return Transient(f"oro: {operation}: 408 Request Timeout", system=SYSTEM, status=status)
        if 400 <= status < 500:
            return Permanent(
                f"oro: {operation}: {status} {response.reason_phrase}{suffix}", system=SYSTEM, status=status
            )
        if creates and status in (500, 502, 504):
            # The server (or a proxy in front of it) may have committed before failing.
            return OutcomeUnknown(
                f"oro: {operation}: {status} after the request was sent; the outcome is unknown{suffix}",
                system=SYSTEM,
                status=status,
            )
        return Transient(
            f"oro: {operation}: {status} {response.reason_phrase}{suffix}", system=SYSTEM, status=status
        )

    # ------------------------------------------------------------------------- generic resources

    @staticmethod
    def _id_path(resource: str, resource_id: object) -> str:
        """`<resource>/<id>`; `Permanent` naming the id, before any request, when it is not an id of the
        resource (a webhook's `1/../3` or `3?x=1` must never reach a URL)."""
        text = str(resource_id)
        valid = is_oro_id(resource_id) if resource in ENTITY_ID_RESOURCES else _ID_SEGMENT.fullmatch(text)
        if not valid:
            raise Permanent(f"oro: {text[:40]!r} is not an id of {resource}: not requested", system=SYSTEM)
        return f"{resource}/{text}"

    def get(
        self,
        resource: str,
        resource_id: str | None = None,
        *,
        include: Iterable[str] = (),
        params: Mapping[str, Any] | None = None,
    ) -> Document:
        path = self._id_path(resource, resource_id) if resource_id is not None else resource
        query = dict(params or {})
        include = list(include)
        if include:
            query["include"] = ",".join(include)
        _, body = self.request("GET", path, params=query)
        return self._document(body, f"GET /{path}")

    def iter_pages(
        self,
        resource: str,
        *,
        params: Mapping[str, Any] | None = None,
        include: Iterable[str] = (),
        sort: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Document]:
        """Every page of a list, page by page (`page[number]`/`page[size]`).

        With HATEOAS links (the default) the links decide: a `next` link means there is another page even
        when this one is shorter than asked for (an installation's `max_entities` caps the page size), and no
        `next` ends the walk. Without links (`X-Include: noHateoas`) an empty or short page ends it. An empty
        page always ends it; a server that serves the same page twice stops the walk (Transient)."""
        size = page_size or self.page_size
        query = dict(params or {})
        include = list(include)
        if include:
            query["include"] = ",".join(include)
        if sort:
            query["sort"] = sort
        number = 1
        previous_ids: list[str | None] | None = None
        while True:
            query["page[number]"] = str(number)
            query["page[size]"] = str(size)
            _, body = self.request("GET", resource, params=query)
            doc = self._document(body, f"GET /{resource}")
            items = doc.resources()
            ids = [r.id for r in items]
            if items and ids == previous_ids:
                raise Transient(
                    f"oro: GET /{resource}: page {number} repeats page {number - 1}", system=SYSTEM
                )
            yield doc
            if not items:
                return
            if doc.links:
                if "next" not in doc.links:
                    return
            elif len(items) < size:
                return
            previous_ids = ids
            number += 1

    def iter_resources(
        self,
        resource: str,
        *,
        params: Mapping[str, Any] | None = None,
        include: Iterable[str] = (),
        sort: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[tuple[Resource, Included]]:
        for doc in self.iter_pages(resource, params=params, include=include, sort=sort, page_size=page_size):
            index = doc.index()
            for r in doc.resources():
                yield r, index

    def create(
        self,
        resource: str,
        attributes: Mapping[str, Any] | None = None,
        relationships: Mapping[str, Any] | None = None,
        *,
        included: Sequence[Mapping[str, Any]] = (),
        include: Iterable[str] = (),
    ) -> Document:
        """POST a new resource. `relationships` values: `(type, id)`, a list of them, or None. `included`
        carries related records created in the same request (JSON:API resource objects with temporary ids)."""
        data: dict[str, Any] = {"type": resource, "attributes": dict(attributes or {})}
        if relationships:
            data["relationships"] = _relationships(relationships)
        document: dict[str, Any] = {"data": data}
        if included:
            document["included"] = [dict(r) for r in included]
        include = list(include)
        params = {"include": ",".join(include)} if include else None
        _, body = self.request("POST", resource, params=params, body=document, creates=True)
        return self._document(body, f"POST /{resource}")

    def patch(
        self,
        resource: str,
        resource_id: str,
        attributes: Mapping[str, Any] | None = None,
        relationships: Mapping[str, Any] | None = None,
    ) -> Document:
        """PATCH one resource (absolute values: re-sending it is harmless, so it is retried)."""
        data: dict[str, Any] = {"type": resource, "id": str(resource_id)}
        if attributes:
            data["attributes"] = dict(attributes)
        if relationships:
            data["relationships"] = _relationships(relationships)
        _, body = self.request("PATCH", self._id_path(resource, resource_id), body={"data": data})
        return self._document(body, f"PATCH /{resource}/{resource_id}")

    def batch_update(self, resource: str, records: Sequence[Mapping[str, Any]]) -> OroAsyncOperation:
        """Batch API: `PATCH /<resource>` with `data[]` items marked `meta.update`; returns the async
        operation (202). Poll it with `get_async_operation` and read `get_async_operation_errors`."""
        return self.batch_write(
            resource,
            [{**{k: v for k, v in rec.items() if k != "meta"}, "meta": {"update": True}} for rec in records],
        )

    def batch_write(self, resource: str, records: Sequence[Mapping[str, Any]]) -> OroAsyncOperation:
        """Batch API: `PATCH /<resource>` with one `data[]` item per record, each a JSON:API resource object
        (`type` filled in) whose own `meta` decides what Oro does with it: `{"update": true}` with an `id`
        updates, `{"upsert": ...}` upserts, no meta creates (reference §2). Returns the async operation (202);
        errors name the item as `/data/<index in records>`.

        A batch that creates records is not re-sent once it may have reached Oro (5xx, timeout): that is
        `OutcomeUnknown`, and the caller re-reads before writing again (a second copy of the request would fail
        its creates as duplicates, or, for resources without a unique key, create them twice)."""
        if not records:
            raise ValueError(f"batch_write needs at least one {resource} record")
        data = [{**rec, "type": resource} for rec in records]
        creates = any(not (rec.get("meta") or {}).get("update") for rec in data)
        response, body = self.request("PATCH", resource, body={"data": data}, creates=creates)
        if body:
            doc = self._document(body, f"PATCH /{resource}")
            res = doc.resources()
            if res and res[0].type == "asyncoperations":
                return OroAsyncOperation.from_resource(res[0])
        location = response.headers.get("Content-Location", "")
        op_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not op_id.isdigit():
            raise Permanent(
                f"oro: PATCH /{resource}: the batch answer names no async operation ({response.status_code})",
                system=SYSTEM,
                status=response.status_code,
            )
        return self.get_async_operation(op_id)

    @staticmethod
    def _document(body: Any, operation: str) -> Document:
        if body is None:
            return Document()
        try:
            return Document.model_validate(body)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise Permanent(
                f"oro: {operation}: not a JSON:API document ({where}: {first['msg']})", system=SYSTEM
            ) from None

    @staticmethod
    def _typed(operation: str, build: Callable[..., T], *args: Any) -> T:
        """`build(*args)`, a model validation error becoming a Permanent naming the operation."""
        try:
            return build(*args)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise Permanent(
                f"oro: {operation}: unexpected document ({where}: {first['msg']})", system=SYSTEM
            ) from None

    # ------------------------------------------------------------------------------------- orders

    def get_order(
        self,
        order_id: str,
        *,
        include: Iterable[str] = ORDER_INCLUDE,
    ) -> OroOrder:
        """The order with its lines, each line's product tax code and unit precisions, its customer and that customer's nearest
        ancestors (the billing parent is usually among them), its addresses (with their countries) and the
        buyer, in one request."""
        doc = self.get("orders", str(order_id), include=include)
        return self._typed(f"GET /orders/{order_id}", OroOrder.from_resource, _single(doc), doc.index())

    def order_subtotals(self, order_id: str) -> list[OroOrderSubtotal] | None:
        """The order's totals block (`GET /ordersubtotals?filter[order]=`, 6.1+, reference §3); None where
        the installation has no such resource (before 6.1)."""
        try:
            doc = self.get("ordersubtotals", params=filters(order=str(order_id)))
        except NotFound:
            return None
        return [
            self._typed("GET /ordersubtotals", OroOrderSubtotal.from_resource, r) for r in doc.resources()
        ]

    def iter_orders(
        self,
        *,
        ids: Iterable[str] | None = None,
        updated_since: datetime | None = None,
        include: Iterable[str] = (),
        page_size: int | None = None,
    ) -> Iterator[OroOrder]:
        """Orders, optionally only `ids` (chunked) and/or those with `updatedAt` > `updated_since`; sorted by
        updatedAt then id when filtering by time, so pages stay stable while the walk goes on."""
        base = filters(updatedAt__gt=updated_since) if updated_since else {}
        sort = "updatedAt,id" if updated_since else None
        batches: list[dict[str, str]]
        if ids is None:
            batches = [base]
        else:
            wanted = sorted({str(i) for i in ids}, key=lambda x: (len(x), x))
            batches = [{**base, **filters(id=list(chunk))} for chunk in _chunks(wanted, FILTER_CHUNK)]
        include = list(include)
        for params in batches:
            for r, index in self.iter_resources(
                "orders", params=params, include=include, sort=sort, page_size=page_size
            ):
                yield self._typed("GET /orders", OroOrder.from_resource, r, index)

    def iter_orders_updated_since(
        self, since: datetime, page_size: int | None = None, *, include: Iterable[str] = ()
    ) -> Iterator[OroOrder]:
        """Orders with `updatedAt` > `since`, oldest change first (the poll's watermark walk)."""
        return self.iter_orders(updated_since=since, include=include, page_size=page_size)

    def list_shipping_trackings(self, order_id: str) -> list[OroShippingTracking]:
        doc = self.get("orders", str(order_id), include=("shippingTrackings",))
        order = _single(doc)
        index = doc.index()
        out = []
        for ref in order.many("shippingTrackings"):
            found = index.get(ref)
            out.append(OroShippingTracking.from_resource(found) if found else OroShippingTracking(id=ref.id))
        return out

    def add_shipping_tracking(self, order_id: str, method: str, number: str) -> OroShippingTracking:
        """Adds a tracking number to an order once: an unanswered create is looked up before it is repeated."""
        attributes = {"method": method, "number": number}
        relationships = {"orders": [("orders", str(order_id))]}
        try:
            doc = self.create("ordershippingtrackings", attributes, relationships)
        except OutcomeUnknown:
            for existing in self.list_shipping_trackings(order_id):
                if existing.number == number:
                    return existing
            doc = self.create("ordershippingtrackings", attributes, relationships)
        return OroShippingTracking.from_resource(_single(doc))

    def replace_shipping_tracking(self, tracking_id: str, method: str, number: str) -> OroShippingTracking:
        """Sets a tracking's carrier (`method`) and `number` in place (a PATCH: safe to repeat)."""
        doc = self.patch("ordershippingtrackings", str(tracking_id), {"method": method, "number": number})
        return self._typed(
            f"PATCH /ordershippingtrackings/{tracking_id}", OroShippingTracking.from_resource, _single(doc)
        )

    def delete_shipping_tracking(self, tracking_id: str) -> None:
        """Deletes a tracking; one already gone is success (a repeated delete, or one whose answer was lost)."""
        try:
            self.request("DELETE", self._id_path("ordershippingtrackings", tracking_id))
        except NotFound:
            return

    def set_shipping_status(self, order_id: str, status: str) -> None:
        """`shipped`, `partially_shipped` or `not_shipped` (read `/ordershippingstatuses` for the set)."""
        self.patch(
            "orders", str(order_id), relationships={"shippingStatus": ("ordershippingstatuses", status)}
        )

    def set_external_status(self, order_id: str, status: str) -> bool:
        """Sets the order's external `status` (`orderstatuses`); whether Oro took it. Oro honours it only
        with External Status Management enabled and otherwise answers 200 leaving it unchanged (reference §3),
        so the order in the answer is read: False means the setting is off (or the value was refused)."""
        doc = self.patch("orders", str(order_id), relationships={"status": ("orderstatuses", status)})
        return _single(doc).one_id("status") == status

    # ---------------------------------------------------------------------------------- customers

    def get_customer(self, customer_id: str) -> OroCustomer:
        doc = self.get("customers", str(customer_id))
        return self._typed(f"GET /customers/{customer_id}", OroCustomer.from_resource, _single(doc))

    def iter_customers(
        self, updated_since: datetime | None = None, page_size: int | None = None
    ) -> Iterator[OroCustomer]:
        params = filters(updatedAt__gt=updated_since) if updated_since else {}
        sort = "updatedAt,id" if updated_since else None
        for r, _ in self.iter_resources("customers", params=params, sort=sort, page_size=page_size):
            yield self._typed("GET /customers", OroCustomer.from_resource, r)

    def customer_addresses(self, customer_id: str) -> list[OroCustomerAddress]:
        """The account's addresses (`GET /customeraddresses?filter[customer]=`, every page), by id."""
        params = filters(customer=_oro_id(customer_id, "customer"))
        return [
            self._typed("GET /customeraddresses", OroCustomerAddress.from_resource, r, index)
            for r, index in self.iter_resources("customeraddresses", params=params)
        ]

    def customers_with_details_changed(self, since: datetime) -> set[str]:
        """The accounts whose addresses or buyers changed after `since`: Oro does not move an account's own
        `updatedAt` for those, so a poll of accounts alone would miss them."""
        out: set[str] = set()
        params = filters(updatedAt__gt=since)
        for resource in ("customeraddresses", "customerusers"):
            try:
                for r, _ in self.iter_resources(resource, params=params, sort="updatedAt,id"):
                    customer = r.one_id("customer")
                    if customer:
                        out.add(str(customer))
            except Permanent as err:
                # An Oro whose API has no updatedAt filter on this resource (UNCONFIRMED which versions
                # do): its changes travel with the account's next change instead.
                if err.status != 400 or "filter" not in str(err):
                    raise
                logger.info("no updatedAt filter on this resource", extra={"resource": resource})
        return out

    def customer_users(self, customer_id: str) -> list[OroCustomerUser]:
        """The account's buyers (`GET /customerusers?filter[customer]=`, every page), by id."""
        params = filters(customer=_oro_id(customer_id, "customer"))
        return [
            self._typed("GET /customerusers", OroCustomerUser.from_resource, r)
            for r, _ in self.iter_resources("customerusers", params=params)
        ]

    def customer_price_lists(
        self, customer_id: str, group_id: str | None, *, website_id: str | None = None
    ) -> list[str]:
        """The ids of the price lists assigned to the customer, highest priority first; when it has none, those
        of its group (`group_id`). Oro's priority is the lowest `sortOrder` first (OC
        PriceListToCustomerRepository::getPriceLists, ascending; the head of the price list chain wins); ties
        go by assignment id. `website_id` keeps only that website's assignments. Two requests at most."""
        of_customer = filters(customer=_oro_id(customer_id, "customer"))
        of_group = (
            filters(customerGroup=_oro_id(group_id, "customer group")) if group_id is not None else None
        )
        found = self._price_list_assignments("pricelisttocustomers", of_customer, website_id)
        if not found and of_group is not None:
            found = self._price_list_assignments("pricelisttocustomergroups", of_group, website_id)
        found.sort(key=lambda a: (a.sort_order, int(a.id) if a.id.isdigit() else 0, a.id))
        return list(dict.fromkeys(a.price_list_id for a in found))

    def _price_list_assignments(
        self, resource: str, params: dict[str, str], website_id: str | None
    ) -> list[OroPriceListAssignment]:
        if website_id is not None:
            params = {**params, **filters(website=_oro_id(website_id, "website"))}
        return [
            self._typed(f"GET /{resource}", OroPriceListAssignment.from_resource, r)
            for r, _ in self.iter_resources(resource, params=params)
        ]

    # ------------------------------------------------------------------------- products, inventory

    def iter_products(
        self, skus: Iterable[str] | None = None, page_size: int | None = None, *, with_units: bool = True
    ) -> Iterator[OroProduct]:
        """All products, or those with the given SKUs (exact, chunked); with unit precisions included."""
        include = ("primaryUnitPrecision", "unitPrecisions") if with_units else ()
        batches: Iterable[dict[str, str]]
        if skus is None:
            batches = [{}]
        else:
            wanted = sorted(set(skus))
            batches = [filters(sku=list(chunk)) for chunk in _chunks(wanted, FILTER_CHUNK)]
        for params in batches:
            for r, index in self.iter_resources(
                "products", params=params, include=include, page_size=page_size
            ):
                yield self._typed("GET /products", OroProduct.from_resource, r, index)

    def iter_products_updated_since(
        self,
        since: datetime,
        page_size: int | None = None,
        *,
        include: Iterable[str] = PRODUCT_DATA_INCLUDE,
    ) -> Iterator[OroProductData]:
        """Products with `updatedAt` > `since` (UTC `Z`), oldest change first, with what product-data sync
        reads (`OroProductData`: default name and description, brand, category, tax code, units, shipping
        options) in the same pages. A name or description edited on its own moves the product's `updatedAt`."""
        for r, index in self.iter_resources(
            "products",
            params=filters(updatedAt__gt=since),
            include=include,
            sort="updatedAt,id",
            page_size=page_size,
        ):
            yield self._typed("GET /products", OroProductData.from_resource, r, index)

    def iter_product_data(
        self,
        skus: Iterable[str],
        page_size: int | None = None,
        *,
        include: Iterable[str] = PRODUCT_DATA_INCLUDE,
    ) -> Iterator[OroProductData]:
        """The products with the given SKUs (exact, chunked) as `iter_products_updated_since` reads them."""
        for chunk in _chunks(sorted(set(skus)), FILTER_CHUNK):
            for r, index in self.iter_resources(
                "products", params=filters(sku=list(chunk)), include=include, page_size=page_size
            ):
                yield self._typed("GET /products", OroProductData.from_resource, r, index)

    def iter_inventory_levels(
        self, product_ids: Iterable[str], page_size: int | None = None
    ) -> Iterator[OroInventoryLevel]:
        """The levels of the given products, one per product unit, with SKU and unit code resolved."""
        wanted = sorted({str(p) for p in product_ids})
        for chunk in _chunks(wanted, FILTER_CHUNK):
            for r, index in self.iter_resources(
                "inventorylevels",
                params=filters(product=list(chunk)),
                include=("product", "productUnitPrecision"),
                page_size=page_size,
            ):
                yield self._typed("GET /inventorylevels", OroInventoryLevel.from_resource, r, index)

    def update_inventory_level(self, level_id: str, quantity: Decimal) -> None:
        self.patch("inventorylevels", str(level_id), attributes={"quantity": quantity})

    def update_inventory_levels_batch(self, levels: Iterable[tuple[str, Decimal]]) -> str:
        """Absolute quantities for many levels in one Batch API request; returns the async operation id.
        The caller sizes the batch (Oro processes it in chunks of 100 on its message queue)."""
        records = [{"id": str(level_id), "attributes": {"quantity": qty}} for level_id, qty in levels]
        if not records:
            raise ValueError("update_inventory_levels_batch needs at least one level")
        return self.batch_update("inventorylevels", records).id

    def set_inventory_status(self, product_id: str, status: str) -> None:
        """The product's `inventory_status` (`in_stock`, `out_of_stock`, `discontinued`): Oro never puts a
        product back in stock by itself (reference §8), so the integration sets it."""
        self.patch(
            "products",
            str(product_id),
            relationships={"inventory_status": ("prodinventorystatuses", _inventory_status(status))},
        )

    def set_inventory_statuses_batch(self, statuses: Iterable[tuple[str, str]]) -> str:
        """`(product id, status)` pairs in one Batch API request; returns the async operation id."""
        records = [
            {
                "id": str(product_id),
                "relationships": _relationships(
                    {"inventory_status": ("prodinventorystatuses", _inventory_status(status))}
                ),
            }
            for product_id, status in statuses
        ]
        if not records:
            raise ValueError("set_inventory_statuses_batch needs at least one product")
        return self.batch_update("products", records).id

    def get_async_operation(self, operation_id: str) -> OroAsyncOperation:
        doc = self.get("asyncoperations", str(operation_id))
        return self._typed(
            f"GET /asyncoperations/{operation_id}", OroAsyncOperation.from_resource, _single(doc)
        )

    def get_async_operation_errors(self, operation_id: str) -> list[OroAsyncOperationError]:
        return [
            OroAsyncOperationError.from_resource(r)
            for r, _ in self.iter_resources(f"{self._id_path('asyncoperations', operation_id)}/errors")
        ]

    # ------------------------------------------------------------------------------------- prices

    def iter_tax_codes(self, page_size: int | None = None) -> Iterator[str]:
        """The product tax codes (TaxBundle `producttaxcodes.code`), every page."""
        for r, _ in self.iter_resources("producttaxcodes", page_size=page_size):
            code = r.attr("code")
            if code:
                yield str(code)

    def iter_price_lists(self, page_size: int | None = None) -> Iterator[OroPriceList]:
        for r, _ in self.iter_resources("pricelists", page_size=page_size):
            yield self._typed("GET /pricelists", OroPriceList.from_resource, r)

    def iter_product_prices(
        self, price_list_id: str, page_size: int | None = None, *, include_product: bool = True
    ) -> Iterator[OroProductPrice]:
        """Prices of one price list (Oro requires `filter[priceList]`, one id, reference §7)."""
        include = ("product",) if include_product else ()
        for r, index in self.iter_resources(
            "productprices",
            params=filters(priceList=str(price_list_id)),
            include=include,
            page_size=page_size,
        ):
            yield self._typed("GET /productprices", OroProductPrice.from_resource, r, index)

    def write_product_prices_batch(self, records: Sequence[Mapping[str, Any]]) -> str:
        """Updates and creates of `productprices` in one Batch API request; returns the async operation id.

        Each record is `{"id", "value"}` (update of that price) or `{"price_list_id", "product_id", "unit",
        "quantity", "currency", "value"}` (a new price); values go as strings with 4 decimals, half up. Oro
        answers per record: read `get_async_operation_errors`, whose `record_index` is the index in `records`.
        ValueError, before any request, for a record of neither shape; `OutcomeUnknown` (not re-sent) when a
        batch holding creates may have reached Oro unanswered."""
        data = [price_record(rec, f"records[{i}]") for i, rec in enumerate(records)]
        if not data:
            raise ValueError("write_product_prices_batch needs at least one price")
        return self.batch_write("productprices", data).id

    def update_product_price(self, price_id: str, value: Decimal) -> OroProductPrice:
        """One price's value (`PATCH /productprices/<GUID>-<priceListId>`)."""
        doc = self.patch("productprices", str(price_id), attributes={"value": price_text(value)})
        return self._typed("PATCH /productprices", OroProductPrice.from_resource, _single(doc))

    def create_product_price(
        self,
        price_list_id: str,
        product_id: str,
        unit: str,
        quantity: Decimal,
        currency: str,
        value: Decimal,
    ) -> OroProductPrice:
        """One new price (`POST /productprices`). Prices are unique per (product, price list, quantity, unit,
        currency): a create that may have reached Oro unanswered is looked up in the list and adopted."""
        record = price_record(
            {
                "price_list_id": price_list_id,
                "product_id": product_id,
                "unit": unit,
                "quantity": quantity,
                "currency": currency,
                "value": value,
            }
        )
        relationships = {
            "priceList": ("pricelists", str(price_list_id)),
            "product": ("products", str(product_id)),
            "unit": ("productunits", unit),
        }
        try:
            doc = self.create("productprices", record["attributes"], relationships)
        except OutcomeUnknown:
            wanted = _price_quantity(quantity)
            for existing in self._prices_of_product(price_list_id, product_id):
                if (existing.unit, existing.currency, existing.quantity) == (unit, currency, wanted):
                    return existing
            doc = self.create("productprices", record["attributes"], relationships)
        return self._typed("POST /productprices", OroProductPrice.from_resource, _single(doc))

    def _prices_of_product(self, price_list_id: str, product_id: str) -> Iterator[OroProductPrice]:
        for r, index in self.iter_resources(
            "productprices", params=filters(priceList=str(price_list_id), product=str(product_id))
        ):
            yield self._typed("GET /productprices", OroProductPrice.from_resource, r, index)

    # ----------------------------------------------------------------------------------- webhooks

    def iter_webhook_subscriptions(self) -> Iterator[OroWebhookSubscription]:
        for r, _ in self.iter_resources("webhooks"):
            yield OroWebhookSubscription.from_resource(r)

    def create_webhook_subscription(
        self,
        url: str,
        topic: str,
        secret: str | SecretStr,
        *,
        format: str = "default",  # noqa: A002 - Oro's own name for it
        verify_ssl: bool = True,
    ) -> OroWebhookSubscription:
        """Subscribes `url` to `topic` (e.g. `order.created`), signed with `secret` (write-only in Oro)."""
        secret_value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        attributes = {
            "notificationUrl": url,
            "secret": secret_value,
            "enabled": True,
            "verifySsl": verify_ssl,
        }
        relationships = {"topic": ("webhooktopics", topic), "format": ("webhookformats", format)}
        try:
            doc = self.create("webhooks", attributes, relationships)
        except OutcomeUnknown:
            for existing in self.iter_webhook_subscriptions():
                if existing.notification_url == url and existing.topic == topic:
                    return existing
            doc = self.create("webhooks", attributes, relationships)
        return OroWebhookSubscription.from_resource(_single(doc))


def _inventory_status(status: str) -> str:
    if status not in INVENTORY_STATUSES:
        raise ValueError(
            f"{status!r} is not an Oro inventory status ({', '.join(sorted(INVENTORY_STATUSES))})"
        )
    return status


def _oro_id(value: str, what: str) -> str:
    """An Oro entity id for a filter: one positive integer (a comma would widen the filter to several)."""
    if not is_oro_id(value):
        raise Permanent(f"oro: {str(value)[:40]!r} is not an id of a {what}: not requested", system=SYSTEM)
    return str(value)


def _single(doc: Document) -> Resource:
    if not isinstance(doc.data, Resource):
        raise Permanent("oro: the answer holds no single resource where one was expected", system=SYSTEM)
    return doc.data


def _relationships(relationships: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in relationships.items():
        if value is None:
            out[name] = {"data": None}
        elif isinstance(value, list):
            out[name] = {"data": [{"type": t, "id": str(i)} for t, i in value]}
        else:
            t, i = value
            out[name] = {"data": {"type": t, "id": str(i)}}
    return out
