"""Test-only Lambda handlers and the specs that route to them, for the local runtime's own tests.

Each handler records what it was called with in `RECORDER`, so a test can assert on the exact event
and context the runtime built, and behaves in one way a real handler can: answer, crash, fail some
messages of a batch, fail a whole batch once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.resources import FunctionSpec, QueueSpec, RouteSpec, ScheduleSpec


@dataclass(frozen=True)
class Call:
    function: str
    event: dict[str, Any]
    context: Any
    remaining_ms: int


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def record(self, function: str, event: dict[str, Any], context: Any) -> None:
        with self._lock:
            self._calls.append(Call(function, event, context, context.get_remaining_time_in_millis()))

    def calls(self, function: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if function is None or c.function == function]

    def records(self, function: str) -> list[dict[str, Any]]:
        """Every SQS record delivered to `function`, in delivery order."""
        return [r for c in self.calls(function) for r in c.event["Records"]]

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


RECORDER = Recorder()


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    RECORDER.record("t_http", event, context)
    return {
        "statusCode": 202,
        "headers": {"Content-Type": "application/json", "X-Handled-By": context.function_name},
        "body": json.dumps({"received": event["body"], "path": event["path"]}),
        "isBase64Encoded": False,
    }


def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
    RECORDER.record("t_crash", event, context)
    raise RuntimeError("handler crashed on purpose")


def partial_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fails every message whose body starts with "fail"; the others succeed."""
    RECORDER.record("t_worker", event, context)
    failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"].startswith("fail")]
    return {"batchItemFailures": failures}


def fails_first_delivery(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Raises while any message of the batch is on its first delivery, succeeds on redelivery."""
    RECORDER.record("t_worker", event, context)
    if any(r["attributes"]["ApproximateReceiveCount"] == "1" for r in event["Records"]):
        raise RuntimeError("batch failed on purpose")
    return {"batchItemFailures": []}


def scheduled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    RECORDER.record("t_poll", event, context)
    return {"polled": True}


HTTP_FN = FunctionSpec(
    name="t_http",
    description="echoes the proxy event",
    timeout_seconds=5,
    memory_mb=512,
    routes=(RouteSpec("POST", "/webhooks/test"), RouteSpec("GET", "/items/{item_id}")),
)
CRASH_FN = FunctionSpec(name="t_crash", description="always raises", routes=(RouteSpec("POST", "/crash"),))
WORKER_FN = FunctionSpec(name="t_worker", description="consumes the work queue", timeout_seconds=1)
POLL_FN = FunctionSpec(
    name="t_poll",
    description="a scheduled poll",
    timeout_seconds=120,
    schedule=ScheduleSpec(key="t_poll", default_expression="rate(1 minute)"),
)
WORK_QUEUE = QueueSpec(
    key="work", env_var="WORK_QUEUE_URL", consumer="t_worker", batch_size=3, max_receive_count=2
)


def resolver(handlers: Mapping[str, Callable[[dict[str, Any], Any], Any]]) -> Callable[[FunctionSpec], Any]:
    """A handler resolver for `LocalRuntime` that looks functions up by name instead of importing them."""
    return lambda spec: handlers[spec.name]
