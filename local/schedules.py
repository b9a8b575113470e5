"""Schedules for the local runtime: the EventBridge grammar (`shared.schedules`) and a clock that can run fast.

The grammar lives in `shared/` because the config validates its schedules with it: an expression that
`orosync config validate` accepts is one this runtime can fire, and EventBridge takes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from shared.schedules import Cron, Rate, Schedule, ScheduleError, parse

__all__ = ["Cron", "Rate", "Schedule", "ScheduleError", "ScaledClock", "parse"]


class ScaledClock:
    """Schedule time that runs `scale` times faster than the wall clock, from the moment it is made.

    With scale 60 a `rate(5 minutes)` rule fires every 5 seconds; with 1 it is the real clock.
    """

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ScheduleError(f"time scale must be positive, got {scale}")
        self.scale = scale
        self._wall0 = datetime.now(UTC)
        self._mono0 = time.monotonic()

    def now(self) -> datetime:
        return self._wall0 + timedelta(seconds=(time.monotonic() - self._mono0) * self.scale)

    def real_seconds_until(self, t: datetime) -> float:
        return max(0.0, (t - self.now()).total_seconds() / self.scale)
