"""The Batch API: `PATCH /admin/api/<collection>` with `data[]` (reference §2, DOC batch-api / sync-batch-api).

Asynchronous (default): answers 202 with an `asyncoperations` resource and a Content-Location header; a background
thread (the "message-queue consumer") processes the records one by one, each in its own transaction, so one bad
record does not stop the others: the operation ends `success` with `summary.errorCount` > 0 and the errors listed
under `/asyncoperations/{id}/errors`. It ends `failed` only when the request document itself cannot be processed.

Synchronous (`X-Mode: sync`): at most 100 primary and 50 included records, processed in order and atomically;
200 with the records (`meta.dataId` / `meta.includeId`) or 400 with every error of the first failing record.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING, Any

from .query import ApiError, ApiErrors, fmt_ts
from .store import Tx, Writer

if TYPE_CHECKING:
    from .server import OroSandbox

CHUNK_SIZE = 100
SYNC_LIMIT = 100
SYNC_INCLUDED_LIMIT = 50


def included_subset(item: Any, included: list[Any]) -> list[int]:
    """Indexes of the included records the item references, directly or through other included records."""
    by_key: dict[tuple[str, str], int] = {}
    for j, inc in enumerate(included):
        if isinstance(inc, dict) and "type" in inc and "id" in inc:
            by_key[(str(inc["type"]), str(inc["id"]))] = j
    wanted: list[int] = []
    seen: set[int] = set()

    def refs_of(obj: Any) -> list[tuple[str, str]]:
        out = []
        rels = obj.get("relationships") if isinstance(obj, dict) else None
        for body in (rels or {}).values():
            data = body.get("data") if isinstance(body, dict) else None
            for r in data if isinstance(data, list) else [data] if data else []:
                if isinstance(r, dict) and "type" in r and "id" in r:
                    out.append((str(r["type"]), str(r["id"])))
        return out

    own = (str(item.get("type")), str(item.get("id"))) if isinstance(item, dict) else None
    stack = refs_of(item)
    # included records that point back at the primary record (e.g. line items with `orders`)
    for inc in included:
        if own and own[1] != "None" and own in refs_of(inc):
            stack.append((str(inc["type"]), str(inc["id"])))
    while stack:
        key = stack.pop()
        index = by_key.get(key)
        if index is None or index in seen:
            continue
        seen.add(index)
        wanted.append(index)
        stack.extend(refs_of(included[index]))
    return sorted(wanted)


class BatchProcessor:
    def __init__(self, sandbox: OroSandbox) -> None:
        self.sandbox = sandbox
        self.delay = 0.0
        self._queue: queue.Queue[tuple[int, str, str, list[Any], list[Any]] | None] = queue.Queue()
        self._running = threading.Event()
        self._running.set()
        self._generation = 0
        self._thread = threading.Thread(target=self._loop, name="oro-batch-consumer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._running.set()
        self._queue.put(None)
        self._thread.join(timeout=5)

    def clear(self) -> None:
        self._generation += 1

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self, paused: bool) -> None:
        if paused:
            self._running.clear()
        else:
            self._running.set()

    def submit(self, op_id: str, type_: str, items: list[Any], included: list[Any]) -> None:
        self._queue.put((self._generation, op_id, type_, items, included))

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._running.wait()
            if self.delay:
                time.sleep(self.delay)
            generation, op_id, type_, items, included = job
            if generation != self._generation:
                continue
            try:
                self.process(op_id, type_, items, included)
            except Exception as exc:  # never let the consumer die
                self._finish(op_id, "failed", {}, [ApiError(500, "unexpected error", str(exc))])

    # ---- processing -----------------------------------------------------------------------------------
    def _update(self, op_id: str, **attrs: Any) -> None:
        store = self.sandbox.store
        with store.lock:
            rec = store.data["asyncoperations"].get(op_id)
            if rec is None:
                return
            rec["attributes"].update(attrs)
            rec["attributes"]["updatedAt"] = fmt_ts(self.sandbox.now())
            store.version += 1

    def process(self, op_id: str, type_: str, items: list[Any], included: list[Any]) -> None:
        started = time.monotonic()
        self._update(op_id, status="running", progress=0)
        counts = {"readCount": 0, "writeCount": 0, "errorCount": 0, "createCount": 0, "updateCount": 0}
        errors: list[ApiError] = []
        error_ids: list[str] = []
        store = self.sandbox.store
        for i, item in enumerate(items):
            counts["readCount"] += 1
            subset = included_subset(item, included)
            with store.lock:
                tx = self.sandbox.new_tx()
                writer = Writer(tx, store.options)
                try:
                    self._injected_failure(type_, item)
                    result = writer.write(
                        type_,
                        item,
                        [included[j] for j in subset] or None,
                        "create",
                        data_ptr=f"/data/{i}",
                        allow_meta_update=True,
                        included_indexes=subset,
                    )
                except ApiErrors as exc:
                    for e in exc.errors:
                        errors.append(e)
                        error_ids.append(f"{op_id}-{i // CHUNK_SIZE + 1}-{len(errors)}")
                    counts["errorCount"] += len(exc.errors)
                except ApiError as exc:
                    if exc.pointer is None:
                        exc.pointer = f"/data/{i}"
                    errors.append(exc)
                    error_ids.append(f"{op_id}-{i // CHUNK_SIZE + 1}-{len(errors)}")
                    counts["errorCount"] += 1
                else:
                    tx.commit()
                    counts["writeCount"] += 1
                    counts["createCount" if result.status == 201 else "updateCount"] += 1
                    self.sandbox.publish(tx)
            self._update(op_id, progress=round((i + 1) / max(1, len(items)), 4))
        counts_out = {"aggregateTime": int((time.monotonic() - started) * 1000), **counts}
        self._finish(op_id, "success", counts_out, errors, error_ids, started)

    def _injected_failure(self, type_: str, item: Any, pointer: str | None = None) -> None:
        """The control API's `batch_fail_ids` fault: this record is refused (faults.py)."""
        if isinstance(item, dict) and self.sandbox.faults.batch_fails(type_, item.get("id")):
            raise ApiError(
                400, "sandbox fault", f"The {type_} record {item['id']} is refused (batch_fail_ids).", pointer
            )

    def _finish(
        self,
        op_id: str,
        status: str,
        summary: dict[str, int],
        errors: list[ApiError],
        error_ids: list[str] | None = None,
        started: float | None = None,
    ) -> None:
        store = self.sandbox.store
        ids = error_ids or [f"{op_id}-1-{n + 1}" for n in range(len(errors))]
        with store.lock:
            store.async_errors[op_id] = [
                {
                    "id": ids[n],
                    "status": e.status,
                    "title": e.title,
                    "detail": e.detail,
                    "source": {"pointer": e.pointer} if e.pointer else None,
                }
                for n, e in enumerate(errors)
            ]
        elapsed = int(time.monotonic() - started) if started is not None else 0
        self._update(
            op_id,
            status=status,
            progress=1 if status == "success" else None,
            elapsedTime=elapsed,
            summary=summary or None,
            hasErrors=bool(errors),
        )

    def run_sync(
        self, tx: Tx, type_: str, items: list[Any], included: list[Any]
    ) -> list[tuple[Any, Any, Any]]:
        """Atomic, in order. Returns [(WriteResult, dataId, None)]; raises ApiErrors on the first failing record."""
        if len(items) > SYNC_LIMIT or len(included) > SYNC_INCLUDED_LIMIT:
            raise ApiError(
                400,
                "request data constraint",
                f"The data limit for the synchronous operation exceeded. The maximum number of primary records is "
                f"{SYNC_LIMIT}, the maximum number of included records is {SYNC_INCLUDED_LIMIT}.",
                pointer="/data",
            )
        out = []
        used: set[int] = set()
        for i, item in enumerate(items):
            subset = [j for j in included_subset(item, included) if j not in used]
            used.update(subset)
            writer = Writer(tx, tx.store.options)
            self._injected_failure(type_, item, f"/data/{i}")
            result = writer.write(
                type_,
                item,
                [included[j] for j in subset] or None,
                "create",
                data_ptr=f"/data/{i}",
                allow_meta_update=True,
                included_indexes=subset,
            )
            data_id = item.get("id") if isinstance(item, dict) else None
            out.append((result, data_id, None))
        return out
