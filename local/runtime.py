"""The service on a laptop, run as AWS runs it: API Gateway routes, SQS event source mappings, EventBridge schedules.

Everything comes from `shared.resources`, the same specs the CDK stack deploys: the routes of each
function, the queue each function consumes (batch size, partial batch responses, visibility, DLQ after
maxReceiveCount, all enforced by SQS itself), and the schedule of each function (its expression from
the config). Handlers are the real `lambda_handler`s, called in-process with the real event shapes.

Threads: one HTTP server (a thread per request), one poller per queue, one timer per schedule. They
share no mutable state but the counters below (one lock, held for an increment). Each function has one
"execution environment" (a lock around its invocations): Lambda never runs two events at once in one
environment, and the handlers keep per-invocation state in module globals (Powertools resolvers,
batch processors), so two concurrent calls in one process would corrupt each other.

Not emulated: concurrent environments (a queue is consumed one batch at a time), the function timeout
(an invocation that runs over it is logged and counted, not killed), asynchronous-invocation retries
of scheduled events (a failed scheduled run is logged and counted; the next tick runs again).
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3

from local import schedules
from local.events import DEFAULT_ACCOUNT, api_gateway_event, lambda_context, scheduled_event, sqs_event
from local.provision import DEFAULT_PREFIX, physical_name
from sandbox.httpbody import BadBody, linger, read_body
from shared.config import CONFIG_ENV_VAR, Config
from shared.resources import FUNCTIONS, QUEUES, FunctionSpec, QueueSpec

# Not under "orosync": that is the Powertools logger of the functions, which would stamp these
# lines with whichever function logged last.
log = logging.getLogger("local.runtime")

Handler = Callable[[dict[str, Any], Any], Any]
HandlerResolver = Callable[[FunctionSpec], Handler]

SQS_MAX_RECEIVE = 10  # ReceiveMessage returns at most 10 messages per call
# API Gateway's REST API payload limit (10 MB): a larger request gets 413 from the gateway, never reaching
# the function. The function's own limit is lower (see the webhook handler).
API_MAX_BODY_BYTES = 10 * 1024 * 1024
# How long the HTTP front waits for the next bytes of a request (or for the next request on a kept-alive
# connection) before it answers 408 (mid-body) or closes the connection (between requests).
READ_TIMEOUT_SECONDS = 30.0
INTERNAL_ERROR = (502, [("Content-Type", "application/json")], b'{"message": "Internal server error"}')
NOT_FOUND = (404, [("Content-Type", "application/json")], b'{"message": "Not Found"}')


def import_handler(spec: FunctionSpec) -> Handler:
    """The default resolver: imports `functions.<name>.handler` on first use, as a cold start would."""
    module, _, attr = spec.handler.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module), attr)
    return handler


def metrics_namespace(service_name: str) -> str:
    """`orosync` -> `Orosync`, as `shared.observability` names it."""
    return "".join(part.capitalize() for part in service_name.split("-"))


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0  # the handler raised (or returned a response AWS would reject)
    batch_item_failures: int = 0  # messages reported in `batchItemFailures`
    overran_timeout: int = 0  # invocations longer than the function timeout (AWS would have killed them)

    def __add__(self, other: FunctionStats) -> FunctionStats:
        return FunctionStats(
            invocations=self.invocations + other.invocations,
            errors=self.errors + other.errors,
            batch_item_failures=self.batch_item_failures + other.batch_item_failures,
            overran_timeout=self.overran_timeout + other.overran_timeout,
        )


def add_stats(*parts: Mapping[str, FunctionStats]) -> dict[str, FunctionStats]:
    """Per-function sums of several runtimes' `stats()`, functions in the order first seen."""
    out: dict[str, FunctionStats] = {}
    for part in parts:
        for name, s in part.items():
            out[name] = out.get(name, FunctionStats()) + s
    return out


def render_summary(stats: Mapping[str, FunctionStats]) -> str:
    """The per-function table `LocalRuntime.summary` and `LocalEnvironment.function_summary` print."""
    lines = [f"{'function':<24}{'invocations':>12}{'errors':>8}{'item failures':>15}{'over timeout':>14}"]
    for name, s in stats.items():
        lines.append(
            f"{name:<24}{s.invocations:>12}{s.errors:>8}{s.batch_item_failures:>15}{s.overran_timeout:>14}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class _Route:
    method: str
    resource: str
    pattern: re.Pattern[str]
    function: str


def _route_pattern(resource: str) -> re.Pattern[str]:
    # `{name}` matches one path segment, `{name+}` the rest of the path (API Gateway's greedy variable).
    out = ""
    for part in re.split(r"(\{[^}]+\})", resource):
        if part.startswith("{") and part.endswith("+}"):
            out += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            out += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$")


class LocalRuntime:
    """Runs the given functions against the queues and tables named in `env` (see `local.provision`)."""

    def __init__(
        self,
        config: Config,
        config_path: str,
        env: Mapping[str, str],
        functions: Sequence[FunctionSpec] = FUNCTIONS,
        queues: Sequence[QueueSpec] = QUEUES,
        handler_resolver: HandlerResolver = import_handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        time_scale: float = 1.0,
        prefix: str = DEFAULT_PREFIX,
        stage: str = "local",
        poll_wait_seconds: int = 1,
        run_schedules: bool = True,
        read_timeout_seconds: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self.config = config
        self.functions = {f.name: f for f in functions}
        if len(self.functions) != len(functions):
            raise ValueError("function names must be unique")
        self.queues = tuple(queues)
        for q in self.queues:
            if q.consumer not in self.functions:
                raise ValueError(f"queue {q.key!r}: consumer {q.consumer!r} is not among the functions")
            if q.env_var not in env:
                raise ValueError(f"queue {q.key!r}: {q.env_var} is not in the environment (provision first)")
        self.env = {
            **env,
            CONFIG_ENV_VAR: os.path.abspath(config_path),
            "POWERTOOLS_SERVICE_NAME": config.service_name,
            "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace(config.service_name),
        }
        self.host, self.port = host, port
        self.prefix, self.stage = prefix, stage
        self.poll_wait_seconds = poll_wait_seconds
        self.run_schedules = run_schedules
        self.read_timeout_seconds = read_timeout_seconds
        self._resolver = handler_resolver
        self._clock = schedules.ScaledClock(time_scale)
        self.schedule_expressions: dict[str, str] = {}
        self._schedules: dict[str, schedules.Schedule] = {}
        for f in functions:
            if f.schedule:
                expression = getattr(config.schedules, f.schedule.key, None) or f.schedule.default_expression
                try:
                    self._schedules[f.name] = schedules.parse(expression)
                except schedules.ScheduleError as err:
                    raise schedules.ScheduleError(f"schedules.{f.schedule.key}: {err}") from None
                self.schedule_expressions[f.name] = expression
        self.routes = [
            _Route(r.method.upper(), r.path, _route_pattern(r.path), f.name)
            for f in functions
            for r in f.routes
        ]

        self._handlers: dict[str, Handler] = {}
        self._environments = {name: threading.Lock() for name in self.functions}
        self._lock = threading.Lock()  # guards the counters below, nothing else
        self._stats = {name: FunctionStats() for name in self.functions}
        self._in_flight = 0
        self._finished = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: _ApiServer | None = None
        self._saved_env: dict[str, str | None] = {}
        self._sqs: Any = None
        self._queue_urls: dict[str, str] = {q.key: env[q.env_var] for q in self.queues}
        self._queue_arns: dict[str, str] = {}
        self.region = ""
        self.account = DEFAULT_ACCOUNT
        self.started = False

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LocalRuntime:
        if self.started:
            return self
        self._apply_env()
        try:
            self._cold_start()
            self._sqs = boto3.session.Session().client("sqs")
            self.region = self._sqs.meta.region_name or "us-east-1"
            for q in self.queues:
                attrs = self._sqs.get_queue_attributes(
                    QueueUrl=self._queue_urls[q.key], AttributeNames=["QueueArn"]
                )
                self._queue_arns[q.key] = attrs["Attributes"]["QueueArn"]
                self.account = self._queue_arns[q.key].split(":")[4]
            if self.routes:
                self._server = _ApiServer((self.host, self.port), self)
                self.port = self._server.server_port
        except BaseException:
            self._restore_env()
            raise
        self._stopping.clear()
        if self._server:
            self._spawn("api", self._server.serve_forever, 0.2)
        for q in self.queues:
            self._spawn(f"poll-{q.key}", self._poll_loop, q)
        if self.run_schedules:
            for name, schedule in self._schedules.items():
                self._spawn(f"schedule-{name}", self._schedule_loop, self.functions[name], schedule)
        self.started = True
        log.info(
            "local runtime started: %d route(s), %d queue(s), %d schedule(s)",
            len(self.routes),
            len(self.queues),
            len(self._schedules) if self.run_schedules else 0,
        )
        return self

    def stop(self) -> None:
        if not self.started:
            return
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        for t in self._threads:
            # A poller may be in a long poll, a handler in an invocation: wait for both to finish.
            t.join(timeout=self.poll_wait_seconds + max(f.timeout_seconds for f in self.functions.values()))
            if t.is_alive():
                log.warning("thread %s did not stop", t.name)
        self._threads.clear()
        self._restore_env()
        self.started = False

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The local stand-in for the API Gateway stage URL (routes sit directly under it)."""
        return f"http://{self.host}:{self.port}"

    def route_urls(self) -> list[tuple[str, str, str]]:
        """(method, URL, function) for each route."""
        return [(r.method, f"{self.base_url}{r.resource}", r.function) for r in self.routes]

    def _spawn(self, name: str, target: Callable[..., Any], *args: Any) -> None:
        t = threading.Thread(target=target, args=args, name=f"orosync-local-{name}", daemon=True)
        t.start()
        self._threads.append(t)

    def _apply_env(self) -> None:
        self._saved_env = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)

    def _restore_env(self) -> None:
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def _cold_start(self) -> None:
        # A new runtime is a new set of execution environments: drop what a previous one cached
        # in this process (config, clients, secrets), for the modules that were loaded at all.
        shared_runtime = sys.modules.get("shared.runtime")
        if shared_runtime is not None:
            shared_runtime.Runtime.reset()
        parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
        if parameters is not None:
            parameters.clear_caches()
        self._handlers.clear()

    # ---- invocation ------------------------------------------------------------------------------

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke one function synchronously with `event`; its exception, if any, is logged, counted and raised."""
        spec = self.functions[function]
        with self._tracked(function):
            with self._environments[function]:
                context = lambda_context(
                    spec, physical_name(self.prefix, spec.name), self.region or "us-east-1", self.account
                )
                started = time.monotonic()
                try:
                    handler = self._handlers.get(function)
                    if handler is None:
                        handler = self._handlers[function] = self._resolver(spec)
                    return handler(event, context)
                except Exception:
                    self._count(function, errors=1)
                    log.exception("function %s raised", function)
                    raise
                finally:
                    elapsed = time.monotonic() - started
                    if elapsed > spec.timeout_seconds:
                        self._count(function, overran_timeout=1)
                        log.warning(
                            "function %s ran %.1fs, over its %ds timeout",
                            function,
                            elapsed,
                            spec.timeout_seconds,
                        )

    @contextmanager
    def _tracked(self, function: str) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self._stats[function].invocations += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._finished += 1

    def _count(self, function: str, **increments: int) -> None:
        with self._lock:
            s = self._stats[function]
            for key, n in increments.items():
                setattr(s, key, getattr(s, key) + n)

    def stats(self) -> dict[str, FunctionStats]:
        with self._lock:
            return {name: replace(s) for name, s in self._stats.items()}

    def summary(self) -> str:
        return render_summary(self.stats())

    # ---- idle ------------------------------------------------------------------------------------

    def queue_depths(self) -> dict[str, int]:
        """Messages per queue: visible + in flight + delayed (not counting the DLQs)."""
        depths = {}
        for q in self.queues:
            a = self._sqs.get_queue_attributes(
                QueueUrl=self._queue_urls[q.key],
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            depths[q.key] = sum(int(v) for v in a.values())
        return depths

    def wait_until_idle(self, timeout: float = 30.0, poll_interval: float = 0.1) -> None:
        """Return once every queue is empty and no invocation runs; TimeoutError (saying what is left) otherwise.

        A message that failed waits out its visibility timeout in the queue, so idle also means
        "retried until it succeeded or moved to the DLQ".
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                before = (self._in_flight, self._finished)
            depths = self.queue_depths()
            with self._lock:
                after = (self._in_flight, self._finished)
            # Comparing the counters around the queue read catches an invocation that started or
            # ended (and maybe enqueued) while the queues were being read.
            if before == after and before[0] == 0 and not any(depths.values()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"local runtime not idle after {timeout}s: queue depths {depths}, {after[0]} invocation(s) running"
                )
            time.sleep(poll_interval)

    # ---- API Gateway -----------------------------------------------------------------------------

    def handle_http(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One HTTP request as API Gateway with a Lambda proxy integration answers it."""
        url = urlsplit(target)
        path = unquote(url.path) or "/"
        for route in self.routes:
            m = route.pattern.match(path)
            if m and route.method in (method, "ANY"):
                break
        else:
            return NOT_FOUND
        event = api_gateway_event(
            method=method,
            path=path,
            resource=route.resource,
            headers=headers,
            query=parse_qsl(url.query, keep_blank_values=True),
            body=body,
            path_parameters=m.groupdict(),
            source_ip=source_ip,
            stage=self.stage,
            account=self.account,
            api_id="local",
            domain_name=f"{self.host}:{self.port}",
        )
        try:
            result = self.invoke(route.function, event)
        except Exception:
            return INTERNAL_ERROR  # logged and counted by invoke
        try:
            return _proxy_response(result)
        except (TypeError, ValueError) as err:
            self._count(route.function, errors=1)
            log.error("function %s returned a response API Gateway rejects: %s", route.function, err)
            return INTERNAL_ERROR

    # ---- SQS event source mapping ----------------------------------------------------------------

    def _poll_loop(self, q: QueueSpec) -> None:
        url = self._queue_urls[q.key]
        while not self._stopping.is_set():
            try:
                messages = self._receive_batch(q, url)
            except Exception:
                log.exception("queue %s: receive failed; retrying", q.key)
                self._stopping.wait(1)
                continue
            if messages:
                self._deliver(q, url, messages)

    def _receive(self, url: str, count: int, wait: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(SQS_MAX_RECEIVE, count),
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def _receive_batch(self, q: QueueSpec, url: str) -> list[dict[str, Any]]:
        """Up to `batch_size` messages, gathered like the event source: within the batching window, if any."""
        batch = self._receive(url, q.batch_size, self.poll_wait_seconds)
        if not batch:
            return batch
        window_ends = time.monotonic() + q.max_batching_window_seconds
        while len(batch) < q.batch_size and not self._stopping.is_set():
            more = self._receive(url, q.batch_size - len(batch), 0)
            batch.extend(more)
            if not more:
                if time.monotonic() >= window_ends:
                    break
                self._stopping.wait(0.1)
        return batch

    def _deliver(self, q: QueueSpec, url: str, messages: list[dict[str, Any]]) -> None:
        event = sqs_event(messages, self._queue_arns[q.key], self.region)
        try:
            result = self.invoke(q.consumer, event)
        except Exception:
            # Nothing is deleted: the whole batch comes back after the visibility timeout.
            return
        ids = [m["MessageId"] for m in messages]
        try:
            failed = _batch_item_failures(result, ids)
        except ValueError as err:
            self._count(q.consumer, errors=1)
            log.error("function %s: %s; the whole batch will be retried", q.consumer, err)
            return
        if failed:
            self._count(q.consumer, batch_item_failures=len(failed))
            log.info("queue %s: %d of %d message(s) failed and will be retried", q.key, len(failed), len(ids))
        # Failed messages are left alone: they reappear when their visibility timeout (or the one the
        # handler set itself with ChangeMessageVisibility) ends, and SQS moves them to the DLQ after
        # maxReceiveCount receives.
        done = [m for m in messages if m["MessageId"] not in failed]
        for i in range(0, len(done), SQS_MAX_RECEIVE):
            chunk = done[i : i + SQS_MAX_RECEIVE]
            response = self._sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
            )
            for f in response.get("Failed", []):
                log.warning(
                    "queue %s: could not delete a processed message (%s); it will be redelivered",
                    q.key,
                    f.get("Code"),
                )

    # ---- EventBridge schedules -------------------------------------------------------------------

    def _schedule_loop(self, spec: FunctionSpec, schedule: schedules.Schedule) -> None:
        due = _next_due(schedule, self._clock.now(), None)
        while due is not None:
            if self._stopping.wait(self._clock.real_seconds_until(due)):
                return
            try:
                self._fire(spec)
            except Exception:  # noqa: S110 - logged and counted by invoke; the next tick runs again
                pass
            due = _next_due(schedule, self._clock.now(), due)
        log.warning("schedule of %s never fires again", spec.name)

    def _fire(self, spec: FunctionSpec) -> Any:
        assert spec.schedule is not None
        rule_arn = f"arn:aws:events:{self.region}:{self.account}:rule/{physical_name(self.prefix, spec.schedule.key)}"
        return self.invoke(spec.name, scheduled_event(rule_arn, self.region, self.account))

    def fire(self, name: str) -> Any:
        """Run a scheduled function now (by function name or schedule key); returns what it returned."""
        for spec in self.functions.values():
            if spec.schedule and name in (spec.name, spec.schedule.key):
                return self._fire(spec)
        raise KeyError(f"no scheduled function or schedule named {name!r}")


def _next_due(schedule: schedules.Schedule, now: datetime, previous: datetime | None) -> datetime | None:
    if isinstance(schedule, schedules.Rate):
        # A rate rule first fires one period after it is created, then every period; missed ticks are skipped.
        due = schedule.next_after(previous or now)
        while due <= now:
            due = schedule.next_after(due)
        return due
    return schedule.next_after(max(now, previous) if previous else now)


def _batch_item_failures(result: Any, ids: Sequence[str]) -> set[str]:
    """The message ids a partial batch response names; ValueError when Lambda would fail the whole batch."""
    if not isinstance(result, dict) or result.get("batchItemFailures") is None:
        return set()
    items = result["batchItemFailures"]
    if not isinstance(items, list):
        raise ValueError("batchItemFailures is not a list")
    failed = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in ids:
            raise ValueError(f"invalid batchItemFailures entry {item!r}")
        failed.add(identifier)
    return failed


def _proxy_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    if not isinstance(result, dict):
        raise TypeError(f"expected a proxy response object, got {type(result).__name__}")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    body = result.get("body")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise TypeError("body must be a string")
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    headers: list[tuple[str, str]] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    seen = {name.lower() for name, _ in headers}
    headers.extend(
        (name, str(v)) for name, v in (result.get("headers") or {}).items() if name.lower() not in seen
    )
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))  # API Gateway's default
    return status, headers, data


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _ApiRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every kept-alive connection. `shutdown()` only stops accepting: a sender that keeps its
        connection open (Oro's webhook client does) would otherwise go on being answered by this stopped
        runtime, with its old config, after a new one took the port. A handler waiting for the next
        request reads end-of-file and closes; one still answering finishes its answer first."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RD)
            except OSError:
                pass  # already closed by the client


class _ApiRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per request.
    disable_nagle_algorithm = True
    server: _ApiServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.runtime.read_timeout_seconds)

    def _handle(self) -> None:
        try:
            body = read_body(self.rfile, self.headers, API_MAX_BODY_BYTES)
        except BadBody as err:
            # Answered as the gateway answers a request it cannot read; the connection is not reused.
            data = json.dumps({"message": err.message}).encode()
            self._send(err.status, [("Content-Type", "application/json")], data, close=True)
            self.wfile.flush()
            linger(self.connection)
            return
        status, headers, data = self.server.runtime.handle_http(
            self.command, self.path, list(self.headers.items()), body, self.client_address[0]
        )
        self._send(status, headers, data)

    def _send(
        self, status: int, headers: Sequence[tuple[str, str]], data: bytes, close: bool = False
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")  # also ends the connection after this answer
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("api %s - %s", self.client_address[0], format % args)
