"""The reconciliation's start: the orders step every run, the drift step once a day in its hour."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.flows.reconcile_schedule import DRIFT, ORDERS, start_reconcile


class Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any], delay_seconds: int = 0) -> str:
        self.messages.append(dict(message))
        return str(len(self.messages))


@given(hour=st.integers(0, 23), drift_hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_drift_is_queued_only_in_its_hour_and_orders_always(hour: int, drift_hour: int, minute: int) -> None:
    queue = Sent()
    kinds = start_reconcile(queue, datetime(2026, 12, 7, hour, minute, tzinfo=UTC), drift_hour)
    assert kinds == ([ORDERS, DRIFT] if hour == drift_hour else [ORDERS])
    assert [m["kind"] for m in queue.messages] == kinds
