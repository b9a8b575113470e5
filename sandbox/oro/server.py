"""The sandbox OroCommerce back-office API server (stdlib ThreadingHTTPServer).

    from sandbox.oro.server import OroSandbox
    sb = OroSandbox(port=0, client_id="id", client_secret="secret", token_ttl=3600).start()
    sb.base_url, sb.api_url, sb.token_url, sb.control_url
    sb.stop()

Endpoints:
- `POST /oauth2-token` at the site root (JSON or form body, or HTTP Basic client credentials).
- `/admin/api/...` the JSON:API (bearer token required). A request whose Content-Type (POST/PATCH) or Accept
  (GET/DELETE) is not `application/vnd.api+json` is a "plain" API request and gets a plain JSON answer, as the
  reference says (DOC client-requirements); a JSON:API Content-Type with media-type parameters answers 415.
- `/__sandbox/...` the control API (no auth, not counted as API calls): see `_control` below and README text in
  `sandbox/oro/__init__.py`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from ..httpbody import BadBody, linger, read_body
from .batch import BatchProcessor
from .faults import Decision, FaultConfigError, FaultInjector
from .query import ApiError, ApiErrors, Query, error_document, fmt_ts, parse_query
from .schema import REGISTRY, ref
from .store import (
    Options,
    Record,
    Store,
    Tx,
    Writer,
    add_category,
    bulk_prices,
    bulk_products,
    collect_included,
    delete_record,
    resource_object,
    select,
    validate_include,
)
from .webhooks import WebhookDispatcher, new_message_id

JSONAPI = "application/vnd.api+json"
PLAIN = "application/json"
MAX_REQUEST_BYTES = 64 * 1024 * 1024  # far above any batch the service sends; a larger body gets 413


@dataclass
class Resp:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, obj: Any, content_type: str = PLAIN, headers: dict[str, str] | None = None) -> Resp:
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return Resp(status, body, {"Content-Type": content_type, **(headers or {})})


def _property_path(pointer: str | None) -> str | None:
    """`/data/attributes/name` -> `name`, `/data/relationships/parent/data` -> `parent` (plain API errors)."""
    if not pointer:
        return None
    parts = [p for p in pointer.split("/") if p]
    if parts[:1] == ["data"]:
        parts = parts[1:]
    if parts[:1] in (["attributes"], ["relationships"]):
        parts = parts[1:]
    if parts[-1:] == ["data"]:
        parts = parts[:-1]
    return ".".join(parts) or None


def _max_page_size(value: Any) -> int:
    """Oro's `max_entities`: -1 (no cap) or a positive number of records per list page."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"max_page_size must be -1 (no cap) or a positive integer, not {value!r}") from None
    if size != -1 and size < 1:
        raise ValueError(f"max_page_size must be -1 (no cap) or a positive integer, not {size}")
    return size


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Request:
    method: str
    path: str
    qs: str
    headers: Any  # email.message.Message (case-insensitive get)
    body: bytes
    jsonapi: bool = True
    api_url: str = ""
    base: str = ""  # scheme://host of the request, for links

    def header(self, name: str) -> str:
        return str(self.headers.get(name) or "")

    def x_include(self) -> set[str]:
        return {p.strip() for p in self.header("X-Include").replace(";", ",").split(",") if p.strip()}


class OroSandbox:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = "orosync-sandbox",
        client_secret: str = "orosync-sandbox-secret",  # noqa: S107 - sandbox default
        token_ttl: int = 3600,
        *,
        external_status_management: bool = False,
        state_file: str | None = None,
        seed: str | None = None,
        backend_prefix: str = "admin",
        default_page_size: int = 10,
        max_page_size: int = -1,
        webhook_includes: tuple[str, ...] | list[str] = (),
        webhook_retry_base: float = 1.0,
        webhook_retry_cap: float = 10.0,
        webhook_max_attempts: int = 5,
        webhook_timeout: float = 30.0,
        batch_delay: float = 0.0,
        log_requests: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.client_secret = client_secret
        self._start_client_secret = client_secret
        self.token_ttl = token_ttl
        self.state_file = state_file
        self.seed = seed
        self.backend_prefix = backend_prefix.strip("/")
        self.log_requests = log_requests
        self.seed_result: dict[str, Any] | None = None
        self._start_config: dict[str, Any] = {
            "external_status_management": external_status_management,
            "default_page_size": default_page_size,
            "max_page_size": _max_page_size(max_page_size),
            "webhook_includes": list(webhook_includes),
            "token_ttl": token_ttl,
            "batch_delay": batch_delay,
        }
        self.options = Options(
            external_status_management=external_status_management,
            default_page_size=default_page_size,
            max_page_size=_max_page_size(max_page_size),
            webhook_includes=tuple(webhook_includes),
        )
        self._clock_offset = 0.0
        self.store = Store(self.now, self.options)
        self.faults = FaultInjector()
        self.webhooks = WebhookDispatcher(
            on_gone=self._webhook_gone,
            clock=lambda: self.now().timestamp(),
            retry_base=webhook_retry_base,
            retry_cap=webhook_retry_cap,
            max_attempts=webhook_max_attempts,
            timeout=webhook_timeout,
        )
        self.batch = BatchProcessor(self)
        self.batch.delay = batch_delay
        self._jwt_key = secrets.token_bytes(32)
        self._revoked_before = 0
        self._stats_lock = threading.Lock()
        self._stats: Counter[str] = Counter()
        self._stop = threading.Event()
        self._httpd: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._saved_version = -1

    # ------------------------------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/{self.backend_prefix}/api"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2-token"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/__sandbox"

    def start(self) -> OroSandbox:
        if self.state_file and os.path.exists(self.state_file):
            with open(self.state_file, encoding="utf-8") as fh:
                self.store.load(json.load(fh))
        self._httpd = _Server((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        serve = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="oro-sandbox-http",
            daemon=True,
        )
        serve.start()
        self._threads.append(serve)
        self.webhooks.start()
        self.batch.start()
        if self.state_file:
            saver = threading.Thread(target=self._saver, name="oro-sandbox-saver", daemon=True)
            saver.start()
            self._threads.append(saver)
        if self.seed == "demo":
            from .seed import seed_demo

            self.seed_result = seed_demo(self.base_url, self.client_id, self.client_secret)
            self._reset_stats()
        elif self.seed:
            raise ValueError(f"unknown seed {self.seed!r} (known: demo)")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        self.webhooks.stop()
        self.batch.stop()
        self._save()

    def __enter__(self) -> OroSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI)."""
        try:
            while not self._stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass

    def _saver(self) -> None:
        while not self._stop.wait(0.5):
            self._save()

    def _save(self) -> None:
        if not self.state_file or self.store.version == self._saved_version:
            return
        snap = self.store.snapshot()
        version = self.store.version
        tmp = f"{self.state_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(snap, fh)
        os.replace(tmp, self.state_file)
        self._saved_version = version

    def reset(self, seed: str | None = None) -> dict[str, Any] | None:
        """Back to the empty start state: records, faults, deliveries, batch queue, stats, clock, config, the
        client secret."""
        self.faults.clear()
        self.webhooks.clear()
        self.batch.clear()
        with self.store.lock:
            cfg = self._start_config
            self.options.external_status_management = bool(cfg["external_status_management"])
            self.options.default_page_size = int(cfg["default_page_size"])
            self.options.max_page_size = int(cfg["max_page_size"])
            self.options.webhook_includes = tuple(cfg["webhook_includes"])
            self.options.taxation = None
            self.token_ttl = int(cfg["token_ttl"])
            self.batch.delay = float(cfg["batch_delay"])
            self.batch.pause(False)
            self._clock_offset = 0.0
            self.client_secret = self._start_client_secret
            self.store.reset()
        result = None
        if seed == "demo":
            from .seed import seed_demo

            result = seed_demo(self.base_url, self.client_id, self.client_secret)
        elif seed:
            raise ValueError(f"unknown seed {seed!r}")
        self._reset_stats()
        return result

    # ------------------------------------------------------------------------------------------ helpers
    def now(self) -> datetime:
        return (datetime.now(UTC) + timedelta(seconds=self._clock_offset)).replace(microsecond=0)

    def new_tx(self) -> Tx:
        return Tx(self.store, serializer=self._serialize_for_webhook)

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        return self.webhooks.wait_idle(timeout)

    def deliveries(self) -> list[dict[str, Any]]:
        return self.webhooks.deliveries()

    def _reset_stats(self) -> None:
        with self._stats_lock:
            self._stats = Counter()

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self._stats[key] += 1

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            s = dict(self._stats)
        return {
            "api_calls": s.pop("api_calls", 0),
            "token_requests": s.pop("token_requests", 0),
            "by_endpoint": {k[4:]: v for k, v in sorted(s.items()) if k.startswith("api ")},
        }

    # ------------------------------------------------------------------------------------------ tokens
    def issue_token(self, client_id: str | None = None) -> str:
        now = int(self.now().timestamp())
        header = {"typ": "JWT", "alg": "HS256"}
        payload = {
            "aud": client_id or self.client_id,
            "jti": secrets.token_hex(20),
            "iat": now,
            "nbf": now,
            "exp": now + int(self.token_ttl),
            "sub": "",
            "scopes": [],
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
        signature = hmac.new(self._jwt_key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def _check_token(self, authorization: str) -> str | None:
        """None when the bearer token is valid, else the reason."""
        if not authorization.lower().startswith("bearer "):
            return "The access token is missing."
        token = authorization[7:].strip()
        try:
            head, payload_b64, sig = token.split(".")
            expected = hmac.new(self._jwt_key, f"{head}.{payload_b64}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(sig)):
                return "The access token could not be verified."
            payload = json.loads(_unb64(payload_b64))
        except (ValueError, json.JSONDecodeError):
            return "The access token is malformed."
        now = self.now().timestamp()
        if payload.get("exp", 0) <= now:
            return "The access token has expired."
        if payload.get("iat", 0) < self._revoked_before:
            return "The access token has been revoked."
        return None

    def _token_endpoint(self, req: Request) -> Resp:
        if req.method != "POST":
            return _json(
                405, {"error": "invalid_request", "error_description": "Use POST."}, headers={"Allow": "POST"}
            )
        ctype = req.header("Content-Type").split(";")[0].strip().lower()
        text = req.body.decode("utf-8", "replace")
        params: dict[str, Any] = {}
        if ctype.endswith("json"):
            try:
                loaded = json.loads(text or "{}")
                params = loaded if isinstance(loaded, dict) else {}
            except json.JSONDecodeError:
                params = {}
        else:
            params = {k: v[0] for k, v in parse_qs(text).items()}
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        auth = req.header("Authorization")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
                client_id, client_secret = client_id or unquote(user), client_secret or unquote(password)
            except ValueError:
                pass
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        grant = params.get("grant_type")
        if grant != "client_credentials":
            return _json(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported by the authorization server.",
                    "hint": "Check that all required parameters have been provided",
                    "message": "The authorization grant type is not supported by the authorization server.",
                },
                headers=headers,
            )
        if not client_id:
            detail = (
                "The request is missing a required parameter, includes an invalid parameter value, includes a "
                "parameter more than once, or is otherwise malformed."
            )
            return _json(
                400,
                {
                    "error": "invalid_request",
                    "error_description": detail,
                    "hint": "Check the `client_id` parameter",
                    "message": detail,
                },
                headers=headers,
            )
        if not (
            hmac.compare_digest(str(client_id), self.client_id)
            and hmac.compare_digest(str(client_secret or ""), self.client_secret)
        ):
            return _json(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                    "message": "Client authentication failed",
                },
                headers=headers,
            )
        return _json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": int(self.token_ttl),
                "access_token": self.issue_token(str(client_id)),
            },
            headers=headers,
        )

    # ------------------------------------------------------------------------------------------ entry
    def handle(self, req: Request) -> tuple[Resp, Decision | None]:
        if req.path == "/__sandbox" or req.path.startswith("/__sandbox/"):
            try:
                return self._control(req), None
            except FaultConfigError as exc:
                return _json(400, {"error": str(exc)}), None
            except ValueError as exc:
                return _json(400, {"error": str(exc)}), None
        api_prefix = f"/{self.backend_prefix}/api"
        if req.path == "/oauth2-token":
            self._count("token_requests")
        elif req.path.startswith(api_prefix):
            self._count("api_calls")
            segs = [s for s in req.path[len(api_prefix) :].split("/") if s]
            shape = (
                "/".join([segs[0]] + ["{id}" if i == 1 else s for i, s in enumerate(segs[1:], 1)])
                if segs
                else ""
            )
            self._count(f"api {req.method} {shape}")
        decision = self.faults.decide(req.method, req.path)
        if decision.latency_s:
            self._stop.wait(decision.latency_s)
        if decision.status is not None:
            return self._fault_response(decision), None
        if req.path == "/oauth2-token":
            resp = self._token_endpoint(req)
        elif req.path == api_prefix or req.path.startswith(api_prefix + "/"):
            resp = self._api(req)
        else:
            resp = _json(
                404, error_document([ApiError(404, "not found http exception", "No route found.")]), JSONAPI
            )
        return resp, decision if decision.drop else None

    def _fault_response(self, decision: Decision) -> Resp:
        status = decision.status or 500
        if decision.kind == "throttle":
            text = {429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "Request blocked")
            return Resp(status, f"{status} {text}\n".encode(), {"Content-Type": "text/plain; charset=utf-8"})
        title = {
            500: "internal server error",
            502: "bad gateway",
            503: "service unavailable",
            504: "gateway timeout",
        }.get(status, "injected fault")
        return _json(status, error_document([ApiError(status, title, "Injected fault.")]), JSONAPI)

    # ------------------------------------------------------------------------------------------ API
    def _api(self, req: Request) -> Resp:
        api_prefix = f"/{self.backend_prefix}/api"
        req.api_url = f"{req.base}{api_prefix}"
        ctype = req.header("Content-Type")
        ctype_main = ctype.split(";")[0].strip().lower()
        accept = req.header("Accept").lower()
        if req.method in ("POST", "PATCH") or (req.method == "DELETE" and req.body):
            req.jsonapi = ctype_main == JSONAPI or (not ctype_main and JSONAPI in accept)
            if ctype_main == JSONAPI and ";" in ctype:
                return self._error(
                    req,
                    [
                        ApiError(
                            415,
                            "unsupported media type http exception",
                            "The media type must not have parameters.",
                        )
                    ],
                )
        else:
            req.jsonapi = JSONAPI in accept
        reason = self._check_token(req.header("Authorization"))
        if reason is not None:
            return self._error(
                req, [ApiError(401, "authentication error", reason)], {"WWW-Authenticate": "Bearer"}
            )
        segs = [unquote(s) for s in req.path[len(api_prefix) :].split("/") if s]
        try:
            return self._route(req, segs)
        except ApiErrors as exc:
            return self._error(req, exc.errors)
        except ApiError as exc:
            return self._error(req, [exc], exc.headers)

    def _error(self, req: Request, errors: list[ApiError], headers: dict[str, str] | None = None) -> Resp:
        statuses = {e.status for e in errors}
        status = errors[0].status if len(statuses) == 1 else 400
        if req.jsonapi:
            return _json(status, error_document(errors), JSONAPI, headers)
        plain = [
            {
                "code": e.status,
                "title": e.title,
                "detail": e.detail,
                "source": _property_path(e.pointer) or e.parameter,
            }
            for e in errors
        ]
        return _json(status, plain, PLAIN, headers)

    def _route(self, req: Request, segs: list[str]) -> Resp:
        if not segs:
            raise ApiError(404, "not found http exception", "No route found.")
        type_ = segs[0]
        res = REGISTRY.get(type_)
        if res is None:
            raise ApiError(404, "not found http exception", f'The "{type_}" resource type is not known.')
        m = req.method
        if len(segs) == 1:
            if m == "GET":
                return self._get_list(req, type_)
            if m == "POST":
                return self._create(req, type_)
            if m == "PATCH":
                return self._batch(req, type_)
            if m == "DELETE":
                return self._delete_list(req, type_)
            raise self._not_allowed(res.actions, collection=True)
        id_ = segs[1]
        if len(segs) == 2:
            if m == "GET":
                return self._get_one(req, type_, id_)
            if m == "PATCH":
                return self._update(req, type_, id_)
            if m == "DELETE":
                return self._delete(req, type_, id_)
            raise self._not_allowed(res.actions, collection=False)
        if type_ == "asyncoperations" and len(segs) == 3 and segs[2] == "errors":
            if m != "GET":
                raise ApiError(
                    405, "method not allowed http exception", "Method not allowed.", headers={"Allow": "GET"}
                )
            return self._async_errors(req, id_)
        if not res.subresources:
            raise ApiError(404, "not found http exception", "The subresource is not available.")
        if len(segs) == 3:
            if m != "GET":
                raise ApiError(
                    405, "method not allowed http exception", "Method not allowed.", headers={"Allow": "GET"}
                )
            return self._get_related(req, type_, id_, segs[2])
        if len(segs) == 4 and segs[2] == "relationships":
            return self._relationship(req, type_, id_, segs[3])
        raise ApiError(404, "not found http exception", "No route found.")

    @staticmethod
    def _not_allowed(actions: frozenset[str], collection: bool) -> ApiError:
        if collection:
            allowed = [
                v
                for v, a in (
                    ("GET", "get_list"),
                    ("POST", "create"),
                    ("PATCH", "update_list"),
                    ("DELETE", "delete_list"),
                )
                if a in actions
            ]
        else:
            allowed = [
                v for v, a in (("GET", "get"), ("PATCH", "update"), ("DELETE", "delete")) if a in actions
            ]
        return ApiError(
            405,
            "method not allowed http exception",
            "Method not allowed.",
            headers={"Allow": ", ".join(allowed)},
        )

    def _require(self, type_: str, action: str, collection: bool) -> None:
        res = REGISTRY[type_]
        if action not in res.actions:
            err = self._not_allowed(res.actions, collection)
            err.title, err.detail = "action not allowed exception", f"The '{action}' action is not allowed."
            raise err

    def _body(self, req: Request) -> Any:
        if not req.body:
            raise ApiError(
                400, "request data constraint", "The request data should not be empty.", pointer="/"
            )
        try:
            return json.loads(req.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(
                400, "request data constraint", f"The request data is not valid JSON: {exc}.", pointer="/"
            ) from None

    def _from_plain(self, type_: str, body: Any, id_: str | None = None) -> dict[str, Any]:
        """A plain API body ({"name": .., "parent": 5}) as a JSON:API document."""
        if not isinstance(body, dict):
            raise ApiError(
                400, "request data constraint", "The request data should be an object.", pointer="/"
            )
        res = REGISTRY[type_]
        data: dict[str, Any] = {"type": type_, "attributes": {}, "relationships": {}}
        if id_ is not None:
            data["id"] = id_
        for name, value in body.items():
            if name == "id":
                data["id"] = str(value)
                continue
            rel = res.rel(name)
            if rel is None:
                data["attributes"][name] = value
                continue

            def one(v: Any, rel: Any = rel) -> dict[str, str]:
                if isinstance(v, dict):
                    return {"type": str(v.get("type") or rel.target), "id": str(v.get("id"))}
                return {"type": str(rel.target), "id": str(v)}

            if rel.many:
                data["relationships"][name] = {"data": [one(v) for v in (value or [])]}
            else:
                data["relationships"][name] = {"data": None if value is None else one(value)}
        return {"data": data}

    def _doc(
        self, req: Request, doc: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
    ) -> Resp:
        if req.jsonapi:
            return _json(status, doc, JSONAPI, headers)
        data = doc.get("data")
        plain: Any = (
            [self._plain(o) for o in data]
            if isinstance(data, list)
            else (self._plain(data) if data else None)
        )
        return _json(status, plain, PLAIN, headers)

    @staticmethod
    def _plain(obj: dict[str, Any]) -> dict[str, Any]:
        res = REGISTRY.get(obj.get("type", ""))
        id_ = obj.get("id", "")
        out: dict[str, Any] = {"id": int(id_) if str(id_).isdigit() else id_}
        out.update(obj.get("attributes") or {})
        for name, body in (obj.get("relationships") or {}).items():
            rel = res.rel(name) if res else None
            data = body.get("data")

            def conv(r: dict[str, str], rel: Any = rel) -> Any:
                if rel is not None and rel.target is None:
                    return {"type": r["type"], "id": r["id"]}
                return int(r["id"]) if r["id"].isdigit() else r["id"]

            out[name] = [conv(r) for r in data] if isinstance(data, list) else (conv(data) if data else None)
        return out

    def _links(self, req: Request) -> bool:
        return "noHateoas" not in req.x_include()

    def _one_doc(
        self,
        req: Request,
        tx: Tx,
        type_: str,
        rec: Record,
        q: Query,
        include_map: list[tuple[tuple[str, str], str]] | None = None,
    ) -> dict[str, Any]:
        links = self._links(req)
        doc: dict[str, Any] = {"data": resource_object(tx, type_, rec, req.api_url, q.fields, links)}
        included: list[dict[str, Any]] = []
        seen = {(type_, rec["id"])}
        for key, include_id in include_map or []:
            irec = tx.get(*key)
            if irec is None or key in seen:
                continue
            seen.add(key)
            obj = resource_object(tx, key[0], irec, req.api_url, q.fields, links)
            obj["meta"] = {"includeId": include_id}
            included.append(obj)
        for t, irec in collect_included(tx, type_, [rec], q.include, seen):
            included.append(resource_object(tx, t, irec, req.api_url, q.fields, links))
        if included:
            doc["included"] = included
        return doc

    def _page_links(self, req: Request, q: Query, total: int, has_more: bool) -> dict[str, str]:
        size = self.options.page_size(q.page_size)
        base = f"{req.base}{req.path}"
        kept = [
            p
            for p in req.qs.split("&")
            if p and unquote(p.split("=", 1)[0].replace("+", " ")) != "page[number]"
        ]

        def url(n: int | None) -> str:
            parts = list(kept) + ([f"{quote('page[number]')}={n}"] if n is not None else [])
            return f"{base}?{'&'.join(parts)}" if parts else base

        links = {"self": url(q.page_number if q.page_number > 1 else None)}
        if size == -1:
            return links
        last = max(1, -(-total // size))
        if q.page_number > 1:
            links["first"] = url(None)
            links["prev"] = url(q.page_number - 1 if q.page_number > 2 else None)
        if has_more:
            links["next"] = url(q.page_number + 1)
        if q.page_number < last:
            links["last"] = url(last)
        return links

    def _list_doc(self, req: Request, tx: Tx, type_: str, q: Query, base: list[Record] | None = None) -> Resp:
        if q.include:
            validate_include(type_, q.include)
        page, total, has_more = select(tx, type_, q, self.options, base=base)
        links = self._links(req)
        doc: dict[str, Any] = {
            "data": [resource_object(tx, type_, r, req.api_url, q.fields, links) for r in page]
        }
        if links:
            doc["links"] = self._page_links(req, q, total, has_more)
        included = collect_included(tx, type_, page, q.include, {(type_, r["id"]) for r in page})
        if included:
            doc["included"] = [resource_object(tx, t, r, req.api_url, q.fields, links) for t, r in included]
        headers = {"X-Include-Total-Count": str(total)} if "totalCount" in req.x_include() else {}
        return self._doc(req, doc, 200, headers)

    # ---- reads --------------------------------------------------------------------------------------------
    def _get_list(self, req: Request, type_: str) -> Resp:
        self._require(type_, "get_list", True)
        q = parse_query(req.qs)
        with self.store.lock:
            return self._list_doc(req, self.store.view(), type_, q)

    def _get_one(self, req: Request, type_: str, id_: str) -> Resp:
        self._require(type_, "get", False)
        q = parse_query(req.qs)
        if q.include:
            validate_include(type_, q.include)
        with self.store.lock:
            tx = self.store.view()
            rec = tx.get(type_, id_)
            if rec is None:
                raise ApiError(
                    404, "not found http exception", "An entity with the requested identifier does not exist."
                )
            return self._doc(req, self._one_doc(req, tx, type_, rec, q))

    def _get_related(self, req: Request, type_: str, id_: str, rel_name: str) -> Resp:
        res = REGISTRY[type_]
        rel = res.rel(rel_name)
        if rel is None:
            raise ApiError(404, "not found http exception", f'The "{rel_name}" relationship does not exist.')
        q = parse_query(req.qs)
        with self.store.lock:
            tx = self.store.view()
            rec = tx.get(type_, id_)
            if rec is None:
                raise ApiError(404, "not found http exception", "The parent entity does not exist.")
            value = tx.rel_value(res, rel, rec)
            if rel.many:
                if rel.target is None or rel.target not in REGISTRY:
                    return self._doc(req, {"data": value})
                targets = [t for t in (tx.get(rel.target, v["id"]) for v in value) if t is not None]
                return self._list_doc(req, tx, rel.target, q, base=targets)
            if not value or value["type"] not in REGISTRY:
                return self._doc(req, {"data": value})
            target = tx.get(value["type"], value["id"])
            if target is None:
                return self._doc(req, {"data": None})
            return self._doc(req, self._one_doc(req, tx, value["type"], target, q))

    def _relationship(self, req: Request, type_: str, id_: str, rel_name: str) -> Resp:
        res = REGISTRY[type_]
        rel = res.rel(rel_name)
        if rel is None:
            raise ApiError(404, "not found http exception", f'The "{rel_name}" relationship does not exist.')
        with self.store.lock:
            tx = self.new_tx()
            rec = tx.get(type_, id_)
            if rec is None:
                raise ApiError(404, "not found http exception", "The parent entity does not exist.")
            if req.method == "GET":
                doc: dict[str, Any] = {"data": tx.rel_value(res, rel, rec)}
                if self._links(req):
                    self_url = f"{req.api_url}/{type_}/{quote(id_, safe='')}"
                    doc["links"] = {
                        "self": f"{self_url}/relationships/{rel_name}",
                        "related": f"{self_url}/{rel_name}",
                    }
                return self._doc(req, doc)
            allowed = {"PATCH"} | ({"POST", "DELETE"} if rel.many else set())
            if req.method not in allowed or rel.read_only or rel.create_only or "update" not in res.actions:
                raise ApiError(
                    405,
                    "method not allowed http exception",
                    f'The "{rel_name}" relationship cannot be changed.',
                    headers={"Allow": "GET"},
                )
            if not req.jsonapi:
                raise ApiError(
                    400, "request data constraint", "Relationship endpoints accept JSON:API documents only."
                )
            body = self._body(req)
            if not isinstance(body, dict) or "data" not in body:
                raise ApiError(
                    400, "request data constraint", "The primary data object should exist.", pointer="/data"
                )
            data = body["data"]
            if rel.many and not isinstance(data, list):
                raise ApiError(
                    400,
                    "request data constraint",
                    "The primary data object collection should be an array.",
                    pointer="/data",
                )
            if not rel.many and data is not None and not isinstance(data, dict):
                raise ApiError(
                    400,
                    "request data constraint",
                    "The primary data object should be an object or null.",
                    pointer="/data",
                )
            items = data if isinstance(data, list) else [data] if data else []
            refs = []
            for i, item in enumerate(items):
                if not isinstance(item, dict) or "type" not in item or "id" not in item:
                    raise ApiError(
                        400,
                        "request data constraint",
                        "The 'type' and 'id' properties are required.",
                        pointer=f"/data/{i}",
                    )
                if rel.target is not None and item["type"] != rel.target:
                    raise ApiError(
                        400,
                        "request data constraint",
                        f'The type should be "{rel.target}".',
                        pointer=f"/data/{i}/type",
                    )
                refs.append(ref(str(item["type"]), str(item["id"])))
            if type_ == "orders" and rel_name == "status" and not self.options.external_status_management:
                return Resp(204)  # ignored unless External Status Management is enabled
            how = {"PATCH": "replace", "POST": "add", "DELETE": "remove"}[req.method]
            Writer(tx, self.options).change_relationship(type_, id_, rel, refs, how)
            tx.commit()
            self.publish(tx)
            return Resp(204)

    def _async_errors(self, req: Request, id_: str) -> Resp:
        with self.store.lock:
            if id_ not in self.store.data["asyncoperations"]:
                raise ApiError(
                    404, "not found http exception", "An entity with the requested identifier does not exist."
                )
            errors = list(self.store.async_errors.get(id_, []))
        q = parse_query(req.qs)
        size = self.options.page_size(q.page_size)
        start = (q.page_number - 1) * size if size != -1 else 0
        page = errors[start : start + size] if size != -1 else errors
        data = [
            {
                "type": "asyncoperationerrors",
                "id": e["id"],
                "attributes": {k: v for k, v in e.items() if k != "id"},
            }
            for e in page
        ]
        doc: dict[str, Any] = {"data": data}
        if self._links(req):
            doc["links"] = self._page_links(
                req, q, len(errors), start + len(page) < len(errors) and size != -1
            )
        headers = {"X-Include-Total-Count": str(len(errors))} if "totalCount" in req.x_include() else {}
        if req.jsonapi:
            return _json(200, doc, JSONAPI, headers)
        return _json(200, [{"id": d["id"], **d["attributes"]} for d in data], PLAIN, headers)

    # ---- writes -------------------------------------------------------------------------------------------
    def _create(self, req: Request, type_: str) -> Resp:
        self._require(type_, "create", True)
        body = self._body(req)
        if not req.jsonapi:
            body = self._from_plain(type_, body)
        if not isinstance(body, dict):
            raise ApiError(
                400, "request data constraint", "The request data should be an object.", pointer="/"
            )
        q = parse_query(req.qs)
        with self.store.lock:
            tx = self.new_tx()
            result = Writer(tx, self.options).write(type_, body.get("data"), body.get("included"), "create")
            tx.commit()
            self.publish(tx)
            rec = self.store.data[type_][result.key[1]]
            view = self.store.view()
            doc = self._one_doc(req, view, type_, rec, q, result.included)
        return self._doc(req, doc, result.status)

    def _update(self, req: Request, type_: str, id_: str) -> Resp:
        self._require(type_, "update", False)
        body = self._body(req)
        if not req.jsonapi:
            body = self._from_plain(type_, body, id_)
        if not isinstance(body, dict):
            raise ApiError(
                400, "request data constraint", "The request data should be an object.", pointer="/"
            )
        q = parse_query(req.qs)
        with self.store.lock:
            tx = self.new_tx()
            result = Writer(tx, self.options).write(
                type_, body.get("data"), body.get("included"), "update", url_id=id_
            )
            tx.commit()
            self.publish(tx)
            view = self.store.view()
            rec = self.store.data[type_][result.key[1]]
            doc = self._one_doc(req, view, type_, rec, q, result.included)
        return self._doc(req, doc, result.status)

    def _delete(self, req: Request, type_: str, id_: str) -> Resp:
        self._require(type_, "delete", False)
        with self.store.lock:
            tx = self.new_tx()
            if tx.get(type_, id_) is None:
                raise ApiError(
                    404, "not found http exception", "An entity with the requested identifier does not exist."
                )
            delete_record(tx, type_, id_)
            Writer(tx, self.options).finish()
            tx.commit()
            self.publish(tx)
        return Resp(204)

    def _delete_list(self, req: Request, type_: str) -> Resp:
        self._require(type_, "delete_list", True)
        q = parse_query(req.qs)
        if not q.filters:
            raise ApiError(
                400, "filter constraint", "At least one filter must be provided.", parameter="filter"
            )
        with self.store.lock:
            tx = self.new_tx()
            recs, total, _ = select(tx, type_, q, self.options, paged=False)
            if len(recs) > 100:
                raise ApiError(
                    400, "request data constraint", "The maximum number of entities to delete is 100."
                )
            for rec in recs:
                delete_record(tx, type_, rec["id"])
            Writer(tx, self.options).finish()
            tx.commit()
            self.publish(tx)
        headers = {}
        if "totalCount" in req.x_include():
            headers["X-Include-Total-Count"] = str(total)
        if "deletedCount" in req.x_include():
            headers["X-Include-Deleted-Count"] = str(len(recs))
        return Resp(204, b"", headers)

    def _batch(self, req: Request, type_: str) -> Resp:
        self._require(type_, "update_list", True)
        if not req.jsonapi:
            raise ApiError(400, "request data constraint", "The batch API accepts JSON:API documents only.")
        body = self._body(req)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list) or not body["data"]:
            raise ApiError(
                400,
                "request data constraint",
                "The primary data object collection should not be empty.",
                pointer="/data",
            )
        included = body.get("included") or []
        if not isinstance(included, list):
            raise ApiError(
                400,
                "request data constraint",
                "The 'included' property should be an array.",
                pointer="/included",
            )
        items = body["data"]
        if req.header("X-Mode").strip().lower() == "sync":
            with self.store.lock:
                tx = self.new_tx()
                results = self.batch.run_sync(tx, type_, items, included)
                tx.commit()
                self.publish(tx)
                view = self.store.view()
                links = self._links(req)
                data, inc = [], []
                for result, data_id, _ in results:
                    obj = resource_object(view, type_, view.get(*result.key) or {}, req.api_url, None, links)
                    if data_id is not None:
                        obj["meta"] = {"dataId": str(data_id)}
                    data.append(obj)
                    for key, include_id in result.included:
                        irec = view.get(*key)
                        if irec is not None:
                            iobj = resource_object(view, key[0], irec, req.api_url, None, links)
                            iobj["meta"] = {"includeId": include_id}
                            inc.append(iobj)
            doc: dict[str, Any] = {"data": data}
            if inc:
                doc["included"] = inc
            return _json(200, doc, JSONAPI)
        with self.store.lock:
            op_id = self.store.next_id("asyncoperations")
            now = fmt_ts(self.now())
            rec: Record = {
                "id": op_id,
                "attributes": {
                    "status": "new",
                    "progress": None,
                    "elapsedTime": 0,
                    "entityType": type_,
                    "summary": None,
                    "hasErrors": False,
                    "createdAt": now,
                    "updatedAt": now,
                },
                "relationships": {"owner": ref("users", "1"), "organization": ref("organizations", "1")},
            }
            self.store.data["asyncoperations"][op_id] = rec
            self.store.index_add("asyncoperations", rec)
            self.store.version += 1
            doc = {
                "data": resource_object(self.store.view(), "asyncoperations", rec, req.api_url, None, True)
            }
        self.batch.submit(op_id, type_, items, included)
        return _json(202, doc, JSONAPI, {"Content-Location": f"{req.api_url}/asyncoperations/{op_id}"})

    # ------------------------------------------------------------------------------------------ webhooks
    def _serialize_for_webhook(self, tx: Tx, type_: str, rec: Record) -> dict[str, Any]:
        doc: dict[str, Any] = {"data": resource_object(tx, type_, rec, self.api_url)}
        res = REGISTRY[type_]
        paths = [p for p in self.options.webhook_includes if res.rel(p.split(".")[0]) is not None]
        included = collect_included(tx, type_, [rec], paths, {(type_, rec["id"])})
        if included:
            doc["included"] = [resource_object(tx, t, r, self.api_url) for t, r in included]
        return doc

    def publish(self, tx: Tx) -> None:
        """Queue the notifications of a committed write (created / updated / deleted)."""
        events = tx.events()
        if not events:
            return
        with self.store.lock:
            hooks = [w for w in self.store.data["webhooks"].values() if w["attributes"].get("enabled")]
            if not hooks:
                return
            view = self.store.view()
            timestamp = int(self.now().timestamp())
            for event in events:
                base_topic = f"{event.alias}.{event.event}"
                topics = (
                    {base_topic, f"{base_topic}.{event.id}"} if event.event != "created" else {base_topic}
                )
                subs = [w for w in hooks if (w["relationships"].get("topic") or {}).get("id") in topics]
                if not subs:
                    continue
                full = event.document
                if full is None:
                    rec = view.get(event.type, event.id)
                    if rec is None:
                        continue
                    full = self._serialize_for_webhook(view, event.type, rec)
                for sub in subs:
                    fmt = (sub["relationships"].get("format") or {}).get("id", "default")
                    event_data = full if fmt != "thin" else {"data": {"type": event.type, "id": event.id}}
                    topic = sub["relationships"]["topic"]["id"]
                    message_id = new_message_id()
                    body = json.dumps(
                        {
                            "topic": topic,
                            "eventData": event_data,
                            "timestamp": timestamp,
                            "messageId": message_id,
                        },
                        separators=(",", ":"),
                        ensure_ascii=False,
                    ).encode()
                    job = self.webhooks.new_job(
                        sub["id"],
                        topic,
                        sub["attributes"]["notificationUrl"],
                        sub["attributes"].get("secret"),
                        bool(sub["attributes"].get("verifySsl", True)),
                        body,
                        message_id,
                    )
                    fate = self.faults.webhook_fate()
                    if fate == "drop":
                        self.webhooks.record(job, "dropped")
                        continue
                    self.webhooks.enqueue(job)
                    if fate == "duplicate":
                        dup = self.webhooks.new_job(
                            job.webhook_id, topic, job.url, job.secret, job.verify_ssl, body, message_id
                        )
                        dup.duplicate = True
                        self.webhooks.enqueue(dup)

    def _webhook_gone(self, webhook_id: str) -> None:
        with self.store.lock:
            tx = self.new_tx()
            if tx.get("webhooks", webhook_id) is not None:
                delete_record(tx, "webhooks", webhook_id)
                tx.commit()

    # ------------------------------------------------------------------------------------------ control API
    def _control(self, req: Request) -> Resp:
        parts = [unquote(p) for p in req.path[len("/__sandbox") :].split("/") if p]
        m = req.method
        body: Any = {}
        if req.body:
            try:
                body = json.loads(req.body)
            except json.JSONDecodeError as exc:
                return _json(400, {"error": f"invalid JSON: {exc}"})
        route = "/".join(parts)
        if route == "health" and m == "GET":
            with self.store.lock:
                counts = {
                    t: len(v)
                    for t, v in self.store.data.items()
                    if v and REGISTRY[t].actions != frozenset({"get", "get_list"})
                }
            return _json(
                200,
                {
                    "status": "ok",
                    "base_url": self.base_url,
                    "api_url": self.api_url,
                    "token_url": self.token_url,
                    "records": counts,
                    "pending_webhooks": self.webhooks.pending(),
                    "now": fmt_ts(self.now()),
                },
            )
        if route == "reset" and m == "POST":
            seed = body.get("seed") if isinstance(body, dict) else None
            result = self.reset(seed)
            return _json(200, {"status": "reset", "seed": result})
        if route == "webhook-deliveries":
            if m == "DELETE":
                self.webhooks.clear()
                return Resp(204)
            if m == "GET":
                q = {k: v[0] for k, v in parse_qs(req.qs).items()}
                rows = self.webhooks.deliveries()
                for key in ("topic", "messageId", "webhookId", "outcome"):
                    if key in q:
                        rows = [r for r in rows if str(r.get(key)) == q[key]]
                return _json(200, {"deliveries": rows, "pending": self.webhooks.pending()})
        if route == "webhook-deliveries/wait" and m == "POST":
            timeout = float(body.get("timeout", 10)) if isinstance(body, dict) else 10.0
            idle = self.webhooks.wait_idle(min(timeout, 120.0))
            return _json(200, {"idle": idle, "pending": self.webhooks.pending()})
        if route == "faults":
            if m == "GET":
                return _json(200, self.faults.to_json())
            if m == "POST":
                self.faults.configure(body)
                return _json(200, self.faults.to_json())
            if m == "DELETE":
                self.faults.clear()
                return Resp(204)
        if route == "config":
            if m == "POST":
                self._configure(body)
            if m in ("GET", "POST"):
                return _json(200, self._config())
        if route == "clock":
            if m == "POST":
                if not isinstance(body, dict):
                    raise ValueError("body must be an object")
                if "offset_seconds" in body:
                    self._clock_offset = float(body["offset_seconds"])
                self._clock_offset += float(body.get("advance_seconds", 0))
            if m in ("GET", "POST"):
                return _json(200, {"now": fmt_ts(self.now()), "offset_seconds": self._clock_offset})
        if route == "oauth-client" and m == "POST":
            # A person changes the OAuth application's secret in the back office: the token endpoint refuses
            # the old one (401 invalid_client); tokens already issued live on until revoked or expired.
            secret = body.get("client_secret") if isinstance(body, dict) else None
            if not isinstance(secret, str) or not secret:
                raise ValueError("client_secret must be a non-empty string")
            self.client_secret = secret
            return _json(200, {"client_id": self.client_id})
        if route == "tokens/revoke" and m == "POST":
            self._revoked_before = int(self.now().timestamp()) + 1
            return _json(200, {"revoked_before": self._revoked_before})
        if route == "tokens" and m == "POST":
            return _json(
                200,
                {"token_type": "Bearer", "expires_in": self.token_ttl, "access_token": self.issue_token()},
            )
        if route == "stats":
            if m == "GET":
                return _json(200, self.stats())
            if m == "DELETE":
                self._reset_stats()
                return Resp(204)
        if route == "batch" and m == "POST":
            if isinstance(body, dict) and "paused" in body:
                self.batch.pause(bool(body["paused"]))
            return _json(200, {"paused": self.batch.paused, "delay": self.batch.delay})
        if route == "state" and m == "GET":
            return _json(200, self.store.snapshot())
        if route == "products" and m == "POST":
            if not isinstance(body, dict) or set(body) != {"products"}:
                raise ValueError('body must be {"products": [{"sku": .., "units": [[code, rate], ..]}, ..]}')
            with self.store.lock:
                return _json(200, {"created": bulk_products(self.store, body["products"])})
        if route == "product-prices" and m == "POST":
            if not isinstance(body, dict) or set(body) != {"priceList", "prices"}:
                raise ValueError(
                    'body must be {"priceList": "<id>", "prices": [{"sku", "unit", "quantity", "value", '
                    '"currency"}, ..]}'
                )
            with self.store.lock:
                return _json(200, {"created": bulk_prices(self.store, body["priceList"], body["prices"])})
        if route == "categories" and m == "POST":
            if not isinstance(body, dict) or not set(body) <= {"title", "parent"}:
                raise ValueError('body must be {"title": "..", "parent": "<category id>" (optional)}')
            with self.store.lock:
                category = add_category(self.store, body.get("title"), body.get("parent"))
            return _json(200, {"id": category["id"]})
        if len(parts) == 3 and parts[0] == "orders" and parts[2] == "internal-status" and m == "POST":
            status = body.get("status") if isinstance(body, dict) else None
            return self._set_status(parts[1], "orders", {"internalStatus": ("orderinternalstatuses", status)})
        if len(parts) == 3 and parts[0] in ("quotes", "rfqs") and parts[2] == "status" and m == "POST":
            if not isinstance(body, dict):
                raise ValueError("body must be an object")
            if parts[0] == "quotes":
                mapping = {
                    "internalStatus": "quoteinternalstatuses",
                    "customerStatus": "quotecustomerstatuses",
                }
                rels = {"internalStatus": "internalStatus", "customerStatus": "customerStatus"}
            else:
                mapping = {"internalStatus": "rfqinternalstatuses", "customerStatus": "rfqcustomerstatuses"}
                rels = {"internalStatus": "internal_status", "customerStatus": "customer_status"}
            changes = {rels[k]: (mapping[k], body[k]) for k in mapping if k in body}
            return self._set_status(parts[1], parts[0], changes)
        return _json(404, {"error": f"no control route {m} /__sandbox/{route}"})

    def _set_status(self, id_: str, type_: str, changes: dict[str, tuple[str, Any]]) -> Resp:
        if not changes:
            return _json(400, {"error": "nothing to change"})
        with self.store.lock:
            tx = self.new_tx()
            if tx.get(type_, id_) is None:
                return _json(404, {"error": f"{type_} {id_} does not exist"})
            for rel_name, (enum_type, value) in changes.items():
                if not isinstance(value, str) or tx.get(enum_type, value) is None:
                    known = sorted(self.store.data[enum_type])
                    return _json(400, {"error": f"unknown {rel_name} {value!r}; known: {known}"})
            rec = tx.edit(type_, id_)
            for rel_name, (enum_type, value) in changes.items():
                rec["relationships"][rel_name] = ref(enum_type, value)
            Writer(tx, self.options).finish()
            tx.commit()
            self.publish(tx)
            view = self.store.view()
            doc = {"data": resource_object(view, type_, self.store.data[type_][id_], self.api_url)}
        return _json(200, doc, JSONAPI)

    def _config(self) -> dict[str, Any]:
        return {
            "external_status_management": self.options.external_status_management,
            "default_page_size": self.options.default_page_size,
            "max_page_size": self.options.max_page_size,
            "webhook_includes": list(self.options.webhook_includes),
            "token_ttl": self.token_ttl,
            "batch_delay": self.batch.delay,
            "batch_paused": self.batch.paused,
            "client_id": self.client_id,
            "default_internal_status": self.options.default_internal_status,
            "taxation": self.options.taxation,
        }

    def _configure(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise ValueError("body must be an object")
        known = {
            "external_status_management",
            "default_page_size",
            "max_page_size",
            "webhook_includes",
            "token_ttl",
            "batch_delay",
            "batch_paused",
            # Oro's system setting oro_order.order_creation_new_internal_order_status
            "default_internal_status",
            # Oro's taxation: null (off) or {"rates": {tax code: percent}, "shipping_percent": percent}
            "taxation",
        }
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        with self.store.lock:
            if "external_status_management" in body:
                self.options.external_status_management = bool(body["external_status_management"])
            if "default_page_size" in body:
                self.options.default_page_size = int(body["default_page_size"])
            if "max_page_size" in body:
                self.options.max_page_size = _max_page_size(body["max_page_size"])
            if "webhook_includes" in body:
                self.options.webhook_includes = tuple(body["webhook_includes"])
            if "token_ttl" in body:
                self.token_ttl = int(body["token_ttl"])
            if "batch_delay" in body:
                self.batch.delay = float(body["batch_delay"])
            if "batch_paused" in body:
                self.batch.pause(bool(body["batch_paused"]))
            if "default_internal_status" in body:
                status = str(body["default_internal_status"])
                if status not in ("open", "pending", "processing", "cancelled", "closed"):
                    raise ValueError(f"default_internal_status: unknown order internal status {status!r}")
                self.options.default_internal_status = status
            if "taxation" in body:
                self.options.taxation = _taxation(body["taxation"])


def _taxation(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"rates", "shipping_percent"}:
        raise ValueError('taxation: null or {"rates": {code: percent}, "shipping_percent": percent}')
    rates = value.get("rates") or {}
    if not isinstance(rates, dict):
        raise ValueError("taxation.rates: an object of tax code -> percent")
    try:
        return {
            "rates": {str(code): str(Decimal(str(pct))) for code, pct in rates.items()},
            "shipping_percent": str(Decimal(str(value.get("shipping_percent") or 0))),
        }
    except ArithmeticError:
        raise ValueError("taxation: percents must be numbers") from None


# ---------------------------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], sandbox: OroSandbox
    ) -> None:
        self.sandbox = sandbox
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "OroCommerceSandbox/6.1"
    timeout = 120
    disable_nagle_algorithm = True  # headers and body leave together: no 40 ms delayed-ACK stalls
    wbufsize = -1  # buffered writer, flushed once per response
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.sandbox.log_requests:
            sys.stderr.write(f"[oro-sandbox] {self.address_string()} {format % args}\n")

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        sandbox = self.server.sandbox
        try:
            body = read_body(self.rfile, self.headers, MAX_REQUEST_BYTES)
        except BadBody as err:  # the framing cannot be read: answer, then close (the connection is lost)
            title = "request entity too large" if err.status == 413 else "bad request"
            self._send(
                _json(err.status, error_document([ApiError(err.status, title, err.message)]), JSONAPI),
                method,
                close=True,
            )
            self.wfile.flush()
            linger(self.connection)
            return
        path, _, qs = self.path.partition("?")
        host = self.headers.get("Host") or f"{sandbox.host}:{sandbox.port}"
        req = Request(method, path, qs, self.headers, body, base=f"http://{host}")
        drop: Decision | None = None
        try:
            resp, drop = sandbox.handle(req)
        except Exception as exc:  # a bug in the sandbox: answer 500 with the trace, keep serving
            traceback.print_exc()
            resp = _json(
                500, error_document([ApiError(500, "sandbox error", f"{type(exc).__name__}: {exc}")]), JSONAPI
            )
        if drop is not None and drop.drop is not None:
            mode, hold = drop.drop
            if mode == "hold":
                sandbox._stop.wait(hold)
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
            return
        self._send(resp, method)

    def _send(self, resp: Resp, method: str, close: bool = False) -> None:
        self.send_response(resp.status)
        headers = dict(resp.headers)
        headers.setdefault("X-Request-Id", uuid.uuid4().hex)
        if close:
            headers["Connection"] = "close"  # send_header also ends the connection after this answer
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if resp.body and method != "HEAD":
            self.wfile.write(resp.body)


def wait_until_up(url: str, timeout: float = 5.0) -> bool:
    """Poll GET {url}/__sandbox/health (for scripts that start the CLI in another process)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/__sandbox/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            time.sleep(0.05)
    return False
