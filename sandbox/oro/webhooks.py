"""Outgoing webhook deliveries, the way OroPlatform's IntegrationBundle sends them (reference §9).

Each notification is one HTTP POST with the body `{"topic", "eventData", "timestamp", "messageId"}`, headers
`Content-Type: application/json`, `Webhook-Topic`, `Webhook-Id` (= messageId) and, when the subscription has a
secret, `Webhook-Signature` (lowercase hex HMAC-SHA256 of the exact body bytes) and
`Webhook-Signature-Algorithm: HMAC-SHA256`. Redirects are not followed.

Responses: 2xx delivered; 410 deletes the subscription; 423/425/429/502/503 and transport errors are retried
with exponential backoff (base × 2^n, jitter 0.1, capped, `Retry-After` honoured) up to `max_attempts`; any other
status is recorded and not retried. Every attempt is recorded.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRYABLE = frozenset({423, 425, 429, 502, 503})
MAX_RECORDS = 20000


@dataclass
class Job:
    message_id: str
    webhook_id: str
    topic: str
    url: str
    secret: str | None
    verify_ssl: bool
    body: bytes
    attempt: int = 1
    duplicate: bool = False
    generation: int = 0


@dataclass
class DeliveryLog:
    records: list[dict[str, Any]] = field(default_factory=list)
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    def __init__(
        self,
        on_gone: Callable[[str], None],
        clock: Callable[[], float],
        retry_base: float = 1.0,
        retry_cap: float = 10.0,
        max_attempts: int = 5,
        timeout: float = 30.0,
        workers: int = 4,
        seed: int = 7,
    ) -> None:
        self.on_gone = on_gone
        self.clock = clock  # sandbox clock, unix seconds (for the record timestamps)
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.max_attempts = max_attempts
        self.timeout = timeout
        self._rng = random.Random(seed)
        self._heap: list[tuple[float, int, Job]] = []
        self._tie = itertools.count()
        self._cond = threading.Condition()
        self._inflight = 0
        self._generation = 0
        self._stopped = False
        self._log = DeliveryLog()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="oro-webhook")
        self._thread = threading.Thread(target=self._loop, name="oro-webhook-scheduler", daemon=True)
        self._clients = {
            True: httpx.Client(follow_redirects=False, verify=True, timeout=timeout),
            False: httpx.Client(follow_redirects=False, verify=False, timeout=timeout),  # noqa: S501 - verifySsl=false
        }

    # ---- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self._clients.values():
            client.close()

    def clear(self) -> None:
        """Forget queued jobs and the delivery log (sandbox reset); in-flight sends finish unrecorded."""
        with self._cond:
            self._generation += 1
            self._heap.clear()
            self._log = DeliveryLog()
            self._cond.notify_all()

    # ---- queue ----------------------------------------------------------------------------------------
    def new_job(
        self,
        webhook_id: str,
        topic: str,
        url: str,
        secret: str | None,
        verify_ssl: bool,
        body: bytes,
        message_id: str,
    ) -> Job:
        return Job(message_id, webhook_id, topic, url, secret, verify_ssl, body, generation=self._generation)

    def enqueue(self, job: Job, delay: float = 0.0) -> None:
        with self._cond:
            if self._stopped or job.generation != self._generation:
                return
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._tie), job))
            self._cond.notify_all()

    def record(
        self, job: Job, outcome: str, status: int | None = None, error: str | None = None, **extra: Any
    ) -> None:
        with self._cond:
            if job.generation != self._generation:
                return
            entry = {
                "seq": next(self._log.seq),
                "messageId": job.message_id,
                "webhookId": job.webhook_id,
                "topic": job.topic,
                "url": job.url,
                "attempt": job.attempt,
                "duplicate": job.duplicate,
                "status": status,
                "error": error,
                "outcome": outcome,
                "at": self.clock(),
                "signed": bool(job.secret),
            }
            entry.update(extra)
            self._log.records.append(entry)
            if len(self._log.records) > MAX_RECORDS:
                del self._log.records[: len(self._log.records) - MAX_RECORDS]

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._log.records)

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._inflight

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._inflight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
            return True

    # ---- workers --------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic())
                    self._cond.wait(wait if wait is not None else 0.5)
                if self._stopped:
                    return
                _, _, job = heapq.heappop(self._heap)
                self._inflight += 1
            try:
                self._pool.submit(self._send, job)
            except RuntimeError:  # pool shut down
                with self._cond:
                    self._inflight -= 1
                return

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(self.retry_cap, float(retry_after.strip()))
        base = min(self.retry_cap, self.retry_base * (2 ** (attempt - 1)))
        return base * (1 + self._rng.uniform(-0.1, 0.1))

    def _send(self, job: Job) -> None:
        try:
            headers = {
                "Content-Type": "application/json",
                "Webhook-Topic": job.topic,
                "Webhook-Id": job.message_id,
            }
            if job.secret:
                headers["Webhook-Signature"] = sign(job.secret, job.body)
                headers["Webhook-Signature-Algorithm"] = "HMAC-SHA256"
            status: int | None = None
            error: str | None = None
            retry_after: str | None = None
            try:
                response = self._clients[job.verify_ssl].post(job.url, content=job.body, headers=headers)
                status = response.status_code
                retry_after = response.headers.get("Retry-After")
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            if status is not None and 200 <= status < 300:
                self.record(job, "delivered", status)
            elif status == 410:
                self.record(job, "gone", status)
                self.on_gone(job.webhook_id)
            elif status in RETRYABLE or status is None:
                if job.attempt < self.max_attempts:
                    delay = self._delay(job.attempt, retry_after)
                    self.record(job, "retry", status, error, retryIn=round(delay, 3))
                    self.enqueue(
                        Job(
                            job.message_id,
                            job.webhook_id,
                            job.topic,
                            job.url,
                            job.secret,
                            job.verify_ssl,
                            job.body,
                            job.attempt + 1,
                            job.duplicate,
                            job.generation,
                        ),
                        delay,
                    )
                else:
                    self.record(job, "failed", status, error)
            else:
                self.record(job, "rejected", status, error)
        finally:
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()


def new_message_id() -> str:
    return str(uuid.uuid4())
