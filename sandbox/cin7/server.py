"""The sandbox Cin7 Core v2 HTTP server: auth, rate limit, fault injection, routing, and the control API.

    from sandbox.cin7.server import Cin7Sandbox
    sb = Cin7Sandbox(port=0, account_id="acc", application_key="key", calls_per_minute=60, window_seconds=60)
    sb.start(); sb.base_url  # http://127.0.0.1:<port>/ExternalApi/v2/
    sb.stop()

Order of checks for a call under /ExternalApi/v2/: credentials (403) → the application's rate window (429/503,
not recorded in the window) → fault rules (latency, throttle bursts, errors; recorded in the window, see
limits.py) → routing (404/405) → the endpoint → drop-after-commit. The control API under /__sandbox/ needs no
credentials and never touches a rate window.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.cin7.limits import (
    THROTTLE_MODES,
    FaultInjector,
    FaultRuleError,
    RateLimiter,
    SandboxClock,
    throttle_response,
)
from sandbox.cin7.store import DEFAULT_TIER_NAMES, Store
from sandbox.cin7.util import ApiError, Query, bool_value, dumps, loads_tagged, parse_body
from sandbox.cin7.webhooks import WebhookDispatcher
from sandbox.httpbody import BadBody, linger, read_body

API_PREFIX = "/externalapi/v2"
CONTROL_PREFIX = "/__sandbox"
MAX_REQUEST_BYTES = 64 * 1024 * 1024  # far above any request the service sends; a larger body gets 413
Handler = Callable[[Query, Any], Any]


def _routes(store: Store) -> dict[str, tuple[str, dict[str, Handler]]]:
    """lower-cased path → (the documented spelling, {method: handler})."""
    return {
        "/me": ("/me", {"GET": store.me}),
        "/customer": (
            "/customer",
            {"GET": store.customer_get, "POST": store.customer_post, "PUT": store.customer_put},
        ),
        "/product": (
            "/product",
            {"GET": store.product_get, "POST": store.product_post, "PUT": store.product_put},
        ),
        "/custom-prices": (
            "/custom-prices",
            {
                "POST": store.custom_prices_post,
                "PUT": store.custom_prices_post,
                "DELETE": store.custom_prices_delete,
            },
        ),
        "/ref/pricetier": ("/ref/priceTier", {"GET": store.price_tier_get}),
        "/ref/tax": ("/ref/tax", {"GET": store.tax_get, "POST": store.tax_post}),
        "/ref/location": ("/ref/location", {"GET": store.location_get, "POST": store.location_post}),
        "/ref/unit": ("/ref/unit", {"GET": store.unit_get, "POST": store.unit_post}),
        "/ref/productavailability": ("/ref/productavailability", {"GET": store.availability_get}),
        "/stockadjustment": (
            "/stockadjustment",
            {"GET": store.adjustment_get, "POST": store.adjustment_post, "PUT": store.adjustment_put},
        ),
        "/stockadjustmentlist": ("/stockadjustmentList", {"GET": store.adjustment_list}),
        "/sale": (
            "/sale",
            {
                "GET": store.sale_get,
                "POST": store.sale_post,
                "PUT": store.sale_put,
                "DELETE": store.sale_delete,
            },
        ),
        "/sale/quote": ("/sale/quote", {"GET": store.quote_get, "POST": store.quote_post}),
        "/sale/order": ("/sale/order", {"GET": store.order_get, "POST": store.order_post}),
        "/salelist": ("/saleList", {"GET": store.sale_list}),
        "/sale/fulfilment": (
            "/sale/fulfilment",
            {"GET": store.fulfilment_get, "POST": store.fulfilment_post},
        ),
        "/sale/fulfilment/pick": (
            "/sale/fulfilment/pick",
            {"GET": store.stage_get("Pick"), "POST": store.pick_post},
        ),
        "/sale/fulfilment/pack": (
            "/sale/fulfilment/pack",
            {"GET": store.stage_get("Pack"), "POST": store.pack_post},
        ),
        "/sale/fulfilment/ship": (
            "/sale/fulfilment/ship",
            {"GET": store.stage_get("Ship"), "POST": store.ship_post, "PUT": store.ship_put},
        ),
        "/sale/invoice": ("/sale/invoice", {"GET": store.invoice_get, "POST": store.invoice_post}),
        "/sale/payment": ("/sale/payment", {"POST": store.payment_post}),
        "/webhooks": (
            "/webhooks",
            {
                "GET": store.webhooks_get,
                "POST": store.webhooks_post,
                "PUT": store.webhooks_put,
                "DELETE": store.webhooks_delete,
            },
        ),
    }


class _Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.calls: dict[str, int] = {}
        self.calls_by_application: dict[str, int] = {}
        self.throttled_by_limit = 0
        self.throttled_by_fault = 0
        self.throttled_by_status: dict[str, int] = {}
        self.injected_errors = 0
        self.dropped = 0
        self.unauthorised = 0

    def bump(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


class Cin7Sandbox:
    """A running sandbox tenant. All options can also be changed later with `configure` (or POST /__sandbox/config)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        account_id: str | None = None,
        application_key: str | None = None,
        extra_application_keys: list[str] | tuple[str, ...] = (),
        calls_per_minute: int = 60,
        window_seconds: float = 60.0,
        throttle_status: str = "429",
        throttle_seed: int = 0,
        count_throttled: bool = False,
        price_tier_names: list[str] | None = None,
        guid_seed: int | None = None,
        state_file: str | os.PathLike[str] | None = None,
        webhook_retry_unit_seconds: float = 60.0,
        webhook_timeout_seconds: float = 10.0,
        reject_duplicate_lines: bool = True,
        base_currency: str = "AUD",
        verbose: bool = False,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.account_id = account_id or str(uuid.uuid4())
        self.application_key = application_key or str(uuid.uuid4())
        self._initial_application_key = self.application_key
        self.extra_application_keys = list(extra_application_keys)
        self.state_file = Path(state_file) if state_file else None
        self.verbose = verbose
        self._initial_config: dict[str, Any] = {
            "calls_per_minute": calls_per_minute,
            "window_seconds": window_seconds,
            "throttle_status": throttle_status,
            "throttle_seed": throttle_seed,
            "count_throttled": count_throttled,
            "guid_seed": guid_seed,
            "webhook_retry_unit_seconds": webhook_retry_unit_seconds,
            "webhook_timeout_seconds": webhook_timeout_seconds,
            "reject_duplicate_lines": reject_duplicate_lines,
            "price_tier_names": list(price_tier_names or DEFAULT_TIER_NAMES),
        }
        _check_config(self._initial_config)
        self.clock = SandboxClock()
        self.limiter = RateLimiter(
            self.clock, calls_per_minute, window_seconds, count_throttled=count_throttled
        )
        self.faults = FaultInjector()
        self.stats_data = _Stats()
        self.store = Store(
            account_id=self.account_id,
            base_currency=base_currency,
            guid_seed=guid_seed,
            price_tier_names=self._initial_config["price_tier_names"],
            reject_duplicate_lines=reject_duplicate_lines,
            emit=self._emit,
        )
        self.dispatcher = WebhookDispatcher(
            get_webhook=self.store.webhook,
            deactivate=self._deactivate_webhook,
            retry_unit_seconds=webhook_retry_unit_seconds,
            timeout_seconds=webhook_timeout_seconds,
        )
        self.config: dict[str, Any] = {}
        self._apply_config(dict(self._initial_config))
        self.routes = _routes(self.store)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._persist_lock = threading.Lock()
        if self.state_file and self.state_file.exists():
            self.store.restore(loads_tagged(self.state_file.read_text(encoding="utf-8")))

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> Cin7Sandbox:
        server = ThreadingHTTPServer((self.host, self._requested_port), _RequestHandler)
        server.daemon_threads = True
        server.sandbox = self  # type: ignore[attr-defined]
        self._server = server
        self._stopping.clear()
        self.dispatcher.start()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="cin7-sandbox-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases held ("drop_mode": "hold") connections and latency sleeps
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.dispatcher.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Cin7Sandbox:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/ExternalApi/v2/"

    @property
    def control_url(self) -> str:
        return f"{self.root_url}/__sandbox/"

    @property
    def application_keys(self) -> list[str]:
        return [self.application_key, *self.extra_application_keys]

    def headers(self, application_key: str | None = None) -> dict[str, str]:
        """The two auth headers (for the main key unless another is named)."""
        return {
            "api-auth-accountid": self.account_id,
            "api-auth-applicationkey": application_key or self.application_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    # ------------------------------------------------------------------------------------------ control

    def reset(self, *, seed: str | None = None, guid_seed: int | None = None) -> dict[str, Any]:
        """Back to how the sandbox was started: empty tenant, initial config and key, no faults, fresh windows and
        counters."""
        self._apply_config(dict(self._initial_config))
        self.application_key = self._initial_application_key
        if guid_seed is not None:
            self.config["guid_seed"] = guid_seed
        self.store.reset(guid_seed=self.config["guid_seed"])
        self.limiter.reset()
        self.faults.clear()
        self.dispatcher.reset()
        with self.stats_data.lock:
            self.stats_data.reset()
        self._persist()
        if seed == "demo":
            from sandbox.cin7.seed import seed_demo

            return seed_demo(self.base_url, self.account_id, self.application_key)
        if seed not in (None, ""):
            raise ValueError(f"unknown seed {seed!r} (known: demo)")
        return {}

    def configure(self, **changes: Any) -> dict[str, Any]:
        config = {**self.config, **changes}
        _check_config(config)
        self._apply_config(config)
        return dict(self.config)

    def _apply_config(self, config: dict[str, Any]) -> None:
        if config.get("guid_seed") != self.config.get("guid_seed") and self.config:
            self.store.set_guid_seed(config.get("guid_seed"))
        self.config = config
        self.limiter.calls = int(config["calls_per_minute"])
        self.limiter.window_seconds = float(config["window_seconds"])
        self.limiter.count_throttled = bool(config["count_throttled"])
        self._throttle_rng = random.Random(config["throttle_seed"])
        self.dispatcher.retry_unit_seconds = float(config["webhook_retry_unit_seconds"])
        self.dispatcher.timeout_seconds = float(config["webhook_timeout_seconds"])
        self.store.reject_duplicate_lines = bool(config["reject_duplicate_lines"])
        names = config["price_tier_names"]
        if names != self.store.price_tiers:
            self.store.rename_price_tiers({n + 1: name for n, name in enumerate(names)})

    def rename_price_tiers(self, names: dict[int, str]) -> list[dict[str, Any]]:
        tiers = self.store.rename_price_tiers(names)
        self.config["price_tier_names"] = [t["Name"] for t in tiers]
        self._persist()
        return tiers

    def add_faults(self, rules: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]]:
        added = self.faults.add(rules if isinstance(rules, list) else [rules])
        return [rule.describe() for rule in added]

    def clear_faults(self, rule_id: int | None = None) -> int:
        return self.faults.clear(rule_id)

    def advance_clock(self, seconds: float) -> None:
        """Move the rate-limit clock forward (instead of sleeping through a window)."""
        self.clock.advance(seconds)

    @property
    def throttled_count(self) -> int:
        with self.stats_data.lock:
            return self.stats_data.throttled_by_limit + self.stats_data.throttled_by_fault

    def seed_stock_levels(self, products: Any, *, emit: bool = False) -> dict[str, Any]:
        """Create stock products and set OnHand in bulk (see `Store.seed_stock_levels`); webhooks only if `emit`."""
        if emit:
            with self.store.stock_events():
                counts = self.store.seed_stock_levels(products)
        else:
            counts = self.store.seed_stock_levels(products)
        self._persist()
        return counts

    def seed_products(self, products: Any) -> dict[str, Any]:
        """Create or update products in bulk (see `Store.seed_products`); no API call, no webhook."""
        counts = self.store.seed_products(products)
        self._persist()
        return counts

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return self.dispatcher.records()

    def stats(self) -> dict[str, Any]:
        data = self.stats_data
        with data.lock:
            out: dict[str, Any] = {
                "calls": dict(data.calls),
                "calls_total": sum(data.calls.values()),
                "calls_by_application": dict(data.calls_by_application),
                "throttled": data.throttled_by_limit + data.throttled_by_fault,
                "throttled_by_limit": data.throttled_by_limit,
                "throttled_by_fault": data.throttled_by_fault,
                "throttled_by_status": dict(data.throttled_by_status),
                "injected_errors": data.injected_errors,
                "dropped_after_commit": data.dropped,
                "unauthorised": data.unauthorised,
            }
        out["rate_window"] = {
            key: {"used": self.limiter.used(key), "limit": self.limiter.calls}
            for key in self.application_keys
        }
        out.update(self.store.stats())
        out["webhook_deliveries"] = self.dispatcher.counts()
        out["faults"] = self.faults.describe()
        return out

    # ------------------------------------------------------------------------------------------ internals

    def _emit(self, event_type: str, payload: dict[str, Any] | list[dict[str, Any]]) -> None:
        webhooks = self.store.active_webhooks(event_type)
        if webhooks:
            self.dispatcher.enqueue(event_type, payload, webhooks)

    def _deactivate_webhook(self, webhook_id: str) -> None:
        self.store.deactivate_webhook(webhook_id)
        self._persist()

    def _persist(self) -> None:
        if self.state_file is None:
            return
        with self._persist_lock, self.store.lock:
            text = dumps(self.store.snapshot(), tagged=True)
            tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.state_file)

    def throttle(self) -> tuple[int, Any]:
        with self.stats_data.lock:
            return throttle_response(self.config["throttle_status"], self.limiter.calls, self._throttle_rng)


def _check_config(config: dict[str, Any]) -> None:
    known = {
        "calls_per_minute",
        "window_seconds",
        "throttle_status",
        "throttle_seed",
        "count_throttled",
        "guid_seed",
        "webhook_retry_unit_seconds",
        "webhook_timeout_seconds",
        "reject_duplicate_lines",
        "price_tier_names",
    }
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"unknown sandbox options: {', '.join(unknown)}")
    if not isinstance(config["calls_per_minute"], int) or config["calls_per_minute"] < 1:
        raise ValueError("calls_per_minute must be a positive integer")
    if float(config["window_seconds"]) <= 0:
        raise ValueError("window_seconds must be positive")
    if str(config["throttle_status"]) not in THROTTLE_MODES:
        raise ValueError(f"throttle_status must be one of {', '.join(THROTTLE_MODES)}")
    config["throttle_status"] = str(config["throttle_status"])
    if float(config["webhook_retry_unit_seconds"]) < 0 or float(config["webhook_timeout_seconds"]) <= 0:
        raise ValueError("webhook timings must be positive")
    names = config["price_tier_names"]
    if isinstance(names, dict):
        current = list(DEFAULT_TIER_NAMES)
        for code, name in names.items():
            current[int(code) - 1] = name
        config["price_tier_names"] = names = current
    if (
        not isinstance(names, list)
        or len(names) != 10
        or not all(isinstance(n, str) and n.strip() for n in names)
    ):
        raise ValueError("price_tier_names must be 10 names (or a {code: name} object)")


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Cin7CoreSandbox/1.0"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per call.
    disable_nagle_algorithm = True
    # Seconds to wait for the next bytes of a request (or the next request on a kept-alive connection).
    timeout = 120

    @property
    def sandbox(self) -> Cin7Sandbox:
        return self.server.sandbox  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        if self.sandbox.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    # ------------------------------------------------------------------------------------------ plumbing

    def _send(self, status: int, payload: Any, close: bool = False) -> None:
        data = dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if close:
            self.send_header("Connection", "close")  # also ends the connection after this answer
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: ApiError) -> None:
        self._send(error.status, error.body())

    def _dispatch(self, method: str) -> None:
        try:
            raw = read_body(self.rfile, self.headers, MAX_REQUEST_BYTES)
        except BadBody as err:  # the framing cannot be read: answer, then close (the connection is lost)
            self._send(err.status, ApiError(err.status, err.message).body(), close=True)
            self.wfile.flush()
            linger(self.connection)
            return
        url = urlsplit(self.path)
        path = url.path.lower().rstrip("/") or "/"
        query = Query(parse_qs(url.query, keep_blank_values=True))
        try:
            if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
                self._control(method, path[len(CONTROL_PREFIX) :] or "/", query, raw)
            elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                self._api(method, path[len(API_PREFIX) :] or "/", query, raw)
            else:
                self._send_error(ApiError(404, f"Endpoint {url.path} does not exist."))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ------------------------------------------------------------------------------------------ the API

    def _api(self, method: str, path: str, query: Query, raw: bytes) -> None:
        sb = self.sandbox
        account = self.headers.get("api-auth-accountid")
        key = self.headers.get("api-auth-applicationkey")
        if not account or not key:
            with sb.stats_data.lock:
                sb.stats_data.unauthorised += 1
            self._send_error(
                ApiError(
                    403, "Authentication failed: api-auth-accountid and api-auth-applicationkey are required."
                )
            )
            return
        if account != sb.account_id or key not in sb.application_keys:
            with sb.stats_data.lock:
                sb.stats_data.unauthorised += 1
            self._send_error(
                ApiError(403, "Incorrect credentials! Check api-auth-accountid and api-auth-applicationkey.")
            )
            return
        route = sb.routes.get(path)
        endpoint = f"{method} {route[0] if route else path}"
        with sb.stats_data.lock:
            sb.stats_data.bump(sb.stats_data.calls, endpoint)
            sb.stats_data.bump(sb.stats_data.calls_by_application, key)
        if not sb.limiter.admit(key):
            status, body = sb.throttle()
            with sb.stats_data.lock:
                sb.stats_data.throttled_by_limit += 1
                sb.stats_data.bump(sb.stats_data.throttled_by_status, str(status))
            self._send(status, body)
            return
        decision = sb.faults.evaluate(method, path)
        if decision.latency_s and sb._stopping.wait(decision.latency_s):
            self.close_connection = True
            return
        if decision.action == "throttle":
            status, body = sb.throttle()
            with sb.stats_data.lock:
                sb.stats_data.throttled_by_fault += 1
                sb.stats_data.bump(sb.stats_data.throttled_by_status, str(status))
            self._send(status, body)
            return
        if decision.action == "error":
            with sb.stats_data.lock:
                sb.stats_data.injected_errors += 1
            self._send_error(
                ApiError(
                    decision.error_status,
                    "An unexpected error occurred while processing the request (sandbox fault).",
                )
            )
            return
        if route is None:
            self._send_error(ApiError(404, f"Endpoint {path} does not exist."))
            return
        handler = route[1].get(method)
        if handler is None:
            self._send_error(ApiError(405, f"Method {method} is not allowed for {route[0]}."))
            return
        try:
            body = parse_body(raw) if method in ("POST", "PUT") else None
            # Encode under the lock: the result may be a live record. A write that changes Available emits
            # Stock/AvailableStockLevelChanged once, after its own events.
            with sb.store.lock, sb.store.stock_events():
                payload = dumps(handler(query, body))
        except ApiError as error:
            self._send_error(error)
            return
        except Exception as exc:  # a sandbox bug answers like Cin7's 500, not with a dropped socket
            self._send_error(
                ApiError(500, f"An unexpected error occurred in the sandbox: {type(exc).__name__}: {exc}")
            )
            return
        if method != "GET":
            sb._persist()
        if decision.drop is not None:
            sb.faults.count_drop(decision.drop)
            with sb.stats_data.lock:
                sb.stats_data.dropped += 1
            if decision.drop.drop_mode == "hold":
                sb._stopping.wait(decision.drop.hold_seconds)
            self.close_connection = True  # the write happened; the caller never hears about it
            return
        data = payload.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # ------------------------------------------------------------------------------------------ control API

    def _control(self, method: str, path: str, query: Query, raw: bytes) -> None:
        sb = self.sandbox
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            self._send(400, {"error": "body is not JSON"})
            return
        try:
            result = self._control_route(sb, method, path, query, body)
        except (ValueError, TypeError, KeyError, AttributeError, FaultRuleError, ApiError) as exc:
            message = exc.message if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
            self._send(400, {"error": message})
            return
        if result is None:
            self._send(404, {"error": f"no control endpoint {method} /__sandbox{path}"})
        else:
            self._send(200, result)

    def _control_route(self, sb: Cin7Sandbox, method: str, path: str, query: Query, body: Any) -> Any:
        body = body if body is not None else {}
        if (method, path) == ("GET", "/health"):
            return {"status": "ok", "base_url": sb.base_url, "account_id": sb.account_id}
        if (method, path) == ("POST", "/reset"):
            created = sb.reset(seed=body.get("seed"), guid_seed=body.get("guid_seed"))
            return {"reset": True, "seeded": created}
        if (method, path) == ("GET", "/stats"):
            return sb.stats()
        if (method, path) == ("GET", "/faults"):
            return {"rules": sb.faults.describe()}
        if (method, path) == ("POST", "/faults"):
            rules = body.get("rules", body) if isinstance(body, dict) else body
            return {"rules": sb.add_faults(rules)}
        if (method, path) == ("DELETE", "/faults"):
            rule_id = query.get("id")
            return {"removed": sb.clear_faults(int(rule_id) if rule_id else None)}
        if (method, path) == ("GET", "/webhook-deliveries"):
            deliveries = sb.webhook_deliveries()
            if query.has("type"):
                deliveries = [d for d in deliveries if d["Type"] == query.get("type")]
            return {"deliveries": deliveries}
        if (method, path) == ("POST", "/stock-levels"):
            return sb.seed_stock_levels(
                body.get("products"), emit=bool_value(body.get("emit"), "emit", False)
            )
        if (method, path) == ("POST", "/products"):
            return sb.seed_products(body.get("products"))
        if (method, path) == ("GET", "/config"):
            return sb.config
        if (method, path) == ("POST", "/config"):
            return sb.configure(**body)
        if (method, path) == ("POST", "/clock"):
            sb.advance_clock(float(body.get("advance_seconds", 0)))
            return {"advanced": float(body.get("advance_seconds", 0))}
        if (method, path) == ("POST", "/application-key"):
            # A person regenerates the API application's key on Cin7's API page: the old one answers 403.
            key = body.get("application_key")
            if not isinstance(key, str) or not key:
                raise ValueError("application_key must be a non-empty string")
            sb.application_key = key
            return {"application_key": key}
        if (method, path) == ("POST", "/price-tiers"):
            tiers = body.get("PriceTiers") if isinstance(body, dict) else None
            if isinstance(tiers, list):
                names = {int(t["Code"]): str(t["Name"]) for t in tiers}
            else:
                names = {int(code): str(name) for code, name in body.items()}
            return {"PriceTiers": sb.rename_price_tiers(names)}
        if (method, path) == ("GET", "/state"):
            with sb.store.lock:
                return json.loads(dumps(sb.store.snapshot()))
        return None
