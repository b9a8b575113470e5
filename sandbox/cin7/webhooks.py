"""Webhook deliveries: a background thread POSTs each event to every active webhook of its Type.

The schedule has the real shape (reference §7): the first try about one unit after the event, then +5, +10,
+15, +20 and +25 units after each previous try, six tries in all, after which the webhook is switched off
(`IsActive=false`). On the real service the unit is a minute; tests set `retry_unit_seconds` to a few hundredths
of a second. A delivery succeeds on any 2xx answer within `timeout_seconds`.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from sandbox.cin7.util import dumps, iso_z, now_utc

RETRY_UNITS = (1, 5, 10, 15, 20, 25)

Json = dict[str, Any]


def auth_headers(webhook: Json) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    kind = webhook.get("ExternalAuthorizationType", "noauth")
    if kind == "basicauth":
        raw = f"{webhook.get('ExternalUserName', '')}:{webhook.get('ExternalPassword', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
    elif kind == "bearerauth":
        headers["Authorization"] = f"Bearer {webhook.get('ExternalBearerToken', '')}"
    for header in webhook.get("ExternalHeaders") or []:
        headers[header["Key"]] = header["Value"]
    return headers


class WebhookDispatcher:
    def __init__(
        self,
        *,
        get_webhook: Callable[[str], Json | None],
        deactivate: Callable[[str], None],
        retry_unit_seconds: float = 60.0,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._get_webhook = get_webhook
        self._deactivate = deactivate
        self.retry_unit_seconds = retry_unit_seconds
        self.timeout_seconds = timeout_seconds
        self._records: dict[str, Json] = {}
        self._queue: list[tuple[float, int, str, int]] = []  # (due, tiebreak, delivery id, generation)
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._generation = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="cin7-sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        with self._cond:
            self._generation += 1
            self._records.clear()
            self._queue.clear()
            self._cond.notify_all()

    def enqueue(self, event_type: str, payload: Any, webhooks: list[Json]) -> None:
        with self._cond:
            for webhook in webhooks:
                delivery_id = str(next(self._ids))
                self._records[delivery_id] = {
                    "ID": delivery_id,
                    "WebhookID": webhook["ID"],
                    "Type": event_type,
                    "URL": webhook["ExternalURL"],
                    "Payload": payload,
                    "Headers": {},
                    "Attempts": [],
                    "State": "pending",
                    "CreatedAt": iso_z(now_utc()),
                }
                due = time.monotonic() + RETRY_UNITS[0] * self.retry_unit_seconds
                heapq.heappush(self._queue, (due, next(self._seq), delivery_id, self._generation))
            self._cond.notify_all()

    def records(self) -> list[Json]:
        with self._cond:
            return [dict(record, Attempts=list(record["Attempts"])) for record in self._records.values()]

    def counts(self) -> Json:
        with self._cond:
            counts: dict[str, int] = {}
            for record in self._records.values():
                counts[record["State"]] = counts.get(record["State"], 0) + 1
            return counts

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_seconds) as client:
            while True:
                with self._cond:
                    while not self._stopping and (not self._queue or self._queue[0][0] > time.monotonic()):
                        wait = None if not self._queue else max(0.0, self._queue[0][0] - time.monotonic())
                        self._cond.wait(timeout=wait)
                    if self._stopping:
                        return
                    _due, _seq, delivery_id, generation = heapq.heappop(self._queue)
                    record = self._records.get(delivery_id)
                    if record is None or generation != self._generation:
                        continue
                self._attempt(client, record, generation)

    def _attempt(self, client: httpx.Client, record: Json, generation: int) -> None:
        webhook = self._get_webhook(record["WebhookID"])
        if webhook is None or not webhook["IsActive"]:
            with self._cond:
                record["State"] = "cancelled"
            return
        headers = auth_headers(webhook)
        body = dumps(record["Payload"]).encode("utf-8")
        started = now_utc()
        status: int | None = None
        error: str | None = None
        try:
            response = client.post(webhook["ExternalURL"], content=body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._cond:
            if generation != self._generation:
                return
            record["Headers"] = headers
            record["URL"] = webhook["ExternalURL"]
            record["Attempts"].append(
                {
                    "Attempt": len(record["Attempts"]) + 1,
                    "At": iso_z(started),
                    "Status": status,
                    "Error": error,
                }
            )
            if error is None:
                record["State"] = "delivered"
                return
            attempts = len(record["Attempts"])
            if attempts < len(RETRY_UNITS):
                due = time.monotonic() + RETRY_UNITS[attempts] * self.retry_unit_seconds
                heapq.heappush(self._queue, (due, next(self._seq), record["ID"], generation))
                return
        # Six failed tries: Cin7 switches the webhook off. Called outside our lock (the store's lock is always
        # taken before ours when events are emitted), and before the record says "failed", so a watcher that
        # sees "failed" also sees IsActive=false.
        self._deactivate(record["WebhookID"])
        with self._cond:
            if generation == self._generation:
                record["State"] = "failed"
