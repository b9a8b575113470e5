"""The state folder of `orosync local up` on the embedded endpoint, which otherwise lives only as long as the
process: every table's items and every queue's (and DLQ's) messages, saved every `SAVE_SECONDS` and on
shutdown, restored on the next start.

A run killed outright leaves the last save, which may be older than what it did in Cin7 after it. What
restoring cannot know is put right by the service itself, as after any lost state in AWS
(shared/flows/recovery.py): the store's epoch begins at the restore, so an order with no record is checked
against Cin7's sales before anything is created. Restoring also drops the order poll's watermark and the
intake records, so the first poll re-reads its whole lookback and nothing sent after the save is lost, and
the leases of the dead process, so nothing waits for them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3

from shared.adapters.aws.state import StateStore
from shared.resources import QUEUES, TABLES, dlq_env_var, table

log = logging.getLogger(__name__)

DEFAULT_FOLDER = ".local-state"
SAVE_SECONDS = 2.0
FORMAT = 1
# Records only the running process can vouch for (see the module docstring).
_DROPPED_PREFIXES = ("intake#", "watermark#")
_DEAD_ATTRIBUTES = ("lease_token", "lease_until")


@dataclass
class Restored:
    saved_at: str
    items: int
    messages: int


class StateFolder:
    """`path/<prefix>.json` for the tables and queues in `resources` (env var → name or URL)."""

    def __init__(
        self,
        path: Path,
        prefix: str,
        resources: Mapping[str, str],
        *,
        session: boto3.session.Session,
        endpoint_url: str,
    ) -> None:
        self.file = path / f"{prefix}.json"
        self.resources = dict(resources)
        self._ddb = session.client("dynamodb", endpoint_url=endpoint_url)
        self._sqs = session.client("sqs", endpoint_url=endpoint_url)
        self._dynamodb = session.resource("dynamodb", endpoint_url=endpoint_url)
        self._region = session.region_name or "us-east-1"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- what is kept ---------------------------------------------------------------------------------
    def _queues(self) -> dict[str, str]:
        """Queue key (and DLQ key) → URL."""
        urls = {}
        for q in QUEUES:
            urls[q.key] = self.resources[q.env_var]
            urls[q.dlq_key] = self.resources[dlq_env_var(q)]
        return urls

    def _items(self, name: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self._ddb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            items.extend(page.get("Items", []))
        return items

    def _messages(self, url: str) -> list[dict[str, Any]]:
        """Every message the queue holds, in flight and delayed ones included, read from the embedded moto
        backend (this process), since receiving them through the API would count toward the DLQ."""
        from moto.sqs.models import sqs_backends

        path = urlparse(url).path.strip("/").split("/")
        queue = sqs_backends[path[0]][self._region].get_queue(path[1])
        with queue._messages_lock:
            return [{"body": m.body} for m in queue._messages]

    # -- saving ---------------------------------------------------------------------------------------
    def save(self) -> None:
        # Tables first: a message sent after the tables were read is then in the save, or its order is
        # re-read by the first poll (no intake record or watermark is restored).
        with self._lock:
            tables = {t.key: self._items(self.resources[t.env_var]) for t in TABLES}
            queues = {key: self._messages(url) for key, url in self._queues().items()}
            data = {
                "format": FORMAT,
                "saved_at": datetime.now(UTC).isoformat(),
                "tables": tables,
                "queues": queues,
            }
            self.file.parent.mkdir(parents=True, exist_ok=True)
            partial = self.file.with_suffix(".json.partial")
            partial.write_text(json.dumps(data), encoding="utf-8")
            os.replace(partial, self.file)  # a kill mid-write leaves the previous save whole

    def start(self) -> None:
        """Save every `SAVE_SECONDS` until `stop`, which saves once more."""

        def loop() -> None:
            while not self._stop.wait(SAVE_SECONDS):
                try:
                    self.save()
                except Exception:  # the next tick tries again; the last whole save stays on disk
                    log.exception("saving the local state to %s failed", self.file)

        self._thread = threading.Thread(target=loop, name="state-folder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.save()

    # -- restoring ------------------------------------------------------------------------------------
    def restore(self, now: datetime) -> Restored | None:
        """Load the last save into the (new, empty) tables and queues; None if there is none. The state
        store's epoch begins `now` either way (the caller starts it when there is nothing to restore)."""
        if not self.file.is_file():
            return None
        data = json.loads(self.file.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"unknown state format {found!r}")
        items = 0
        for t in TABLES:
            kept = [_revived(i) for i in data["tables"].get(t.key, []) if not _dropped(i)]
            name = self.resources[t.env_var]
            for start in range(0, len(kept), 25):
                request = {name: [{"PutRequest": {"Item": i}} for i in kept[start : start + 25]]}
                while request:
                    request = self._ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            items += len(kept)
        messages = 0
        for key, url in self._queues().items():
            for message in data["queues"].get(key, []):
                self._sqs.send_message(QueueUrl=url, MessageBody=message["body"])
                messages += 1
        self.start_epoch(now)
        return Restored(saved_at=data["saved_at"], items=items, messages=messages)

    def start_epoch(self, now: datetime) -> None:
        """The state store begins now, settled: this process is the only one that uses it."""
        StateStore(self.resources[table("state").env_var], dynamodb=self._dynamodb).start_epoch(now)


def _dropped(item: dict[str, Any]) -> bool:
    pk = item.get("pk", {}).get("S", "")
    return pk.startswith(_DROPPED_PREFIXES)


def _revived(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _DEAD_ATTRIBUTES}
