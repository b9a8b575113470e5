"""EventBridge schedule expressions: `rate(...)` and the common `cron(...)` forms, parsed once for everyone.

The config validates its schedules with `parse`, the local runtime fires them with the same objects, so an
expression `orosync config validate` accepts is one `local up` runs and EventBridge takes (DESIGN §9).

Rate: `rate(1 minute)` but `rate(N minutes)` for N > 1 (likewise hour/hours, day/days), at most a year.
Cron fields (all UTC, as EventBridge): minutes, hours, day-of-month, month, day-of-week, year, each as `*`,
a number or name (JAN-DEC, SUN-SAT with 1 = SUN), a list `a,b`, a range `a-b` and a step `*/n`, `a/n`,
`a-b/n` (no step in day-of-week, as EventBridge); `?` only in day-of-month or day-of-week, and in exactly
one of them. Not supported: `L`, `W` and `#` (last day, nearest weekday, nth weekday): the local runtime
cannot fire them, so they are refused here rather than at deploy or fire time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_RATE_RE = re.compile(r"^rate\(([0-9]+) (minute|hour|day)(s?)\)$")
_CRON_RE = re.compile(r"^cron\((.*)\)$")
_NUMBER_RE = re.compile(r"^[0-9]{1,4}$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# A poll that runs less than once a year is a mistake; the bound also keeps every next time a real date.
_MAX_RATE_SECONDS = 366 * 86400
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split(), start=1)}
# Far enough for any yearly rule; a rule that never matches (cron for 30 FEB) ends the search here.
_SEARCH_DAYS = 366 * 8


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, previous: datetime) -> datetime:
        return previous + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: `?`, the day is chosen by day-of-week
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # 1 = Sunday, as EventBridge
    years: frozenset[int]

    def next_after(self, t: datetime) -> datetime | None:
        """The first matching minute strictly after `t` (UTC), or None if there is none."""
        start = (t.astimezone(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        day = start.date()
        for _ in range(_SEARCH_DAYS):
            if day.year > max(self.years):
                return None
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month in self.months and self._day_matches(day):
                first_day = day == start.date()
                for hour in sorted(self.hours):
                    if first_day and hour < start.hour:
                        continue
                    for minute in sorted(self.minutes):
                        if first_day and hour == start.hour and minute < start.minute:
                            continue
                        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
            day += timedelta(days=1)
        return None

    def _day_matches(self, day: date) -> bool:
        if self.days_of_month is not None and day.day not in self.days_of_month:
            return False
        eb_weekday = (day.weekday() + 1) % 7 + 1  # Python: Monday = 0; EventBridge: Sunday = 1
        return self.days_of_week is None or eb_weekday in self.days_of_week


Schedule = Rate | Cron


def parse(expression: str) -> Schedule:
    """The schedule of an EventBridge expression; `ScheduleError` names what is wrong with it."""
    m = _RATE_RE.match(expression)
    if m:
        value, unit, plural = int(m.group(1)), m.group(2), m.group(3) == "s"
        if value < 1:
            raise ScheduleError(f"{expression!r}: the rate must be at least 1")
        if plural != (value > 1):
            raise ScheduleError(
                f"{expression!r}: EventBridge wants 'rate(1 {unit})' or 'rate(N {unit}s)' with N > 1"
            )
        if value * _UNIT_SECONDS[unit] > _MAX_RATE_SECONDS:
            raise ScheduleError(f"{expression!r}: a rate longer than a year; use cron(...) for that")
        return Rate(value * _UNIT_SECONDS[unit])
    m = _CRON_RE.match(expression)
    if not m:
        raise ScheduleError(
            f"{expression!r} is not an EventBridge schedule: use 'rate(N minutes)' or "
            "'cron(minutes hours day-of-month month day-of-week year)'"
        )
    return _parse_cron(expression, m.group(1).split(" "))


def _parse_cron(expression: str, fields: list[str]) -> Cron:
    if len(fields) != 6 or not all(fields):
        raise ScheduleError(
            f"{expression!r} is not an EventBridge schedule: cron needs 6 fields separated by one space "
            "(minutes hours day-of-month month day-of-week year)"
        )
    minute, hour, dom, month, dow, year = fields
    for name, value in (("day-of-month", dom), ("day-of-week", dow)):
        if re.search(r"[LW#]", value):
            raise ScheduleError(
                f"{expression!r}: {name} {value!r} uses L, W or #, which the local runtime does not support"
            )
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    if "/" in dow:
        raise ScheduleError(f"{expression!r}: day-of-week {dow!r}: EventBridge allows no step there")
    return Cron(
        minutes=_field(expression, "minutes", minute, 0, 59),
        hours=_field(expression, "hours", hour, 0, 23),
        days_of_month=None if dom == "?" else _field(expression, "day-of-month", dom, 1, 31),
        months=_field(expression, "month", month, 1, 12, _MONTHS),
        days_of_week=None if dow == "?" else _field(expression, "day-of-week", dow, 1, 7, _DAYS),
        years=_field(expression, "year", year, 1970, 2199),
    )


def _field(
    expression: str, name: str, text: str, lo: int, hi: int, names: dict[str, int] | None = None
) -> frozenset[int]:
    def number(token: str) -> int:
        token = token.upper()
        if names and token in names:
            return names[token]
        if not _NUMBER_RE.match(token):
            raise ScheduleError(f"{expression!r}: {name} {text!r} is not understood")
        value = int(token)
        if not lo <= value <= hi:
            raise ScheduleError(f"{expression!r}: {name} {value} is outside {lo}-{hi}")
        return value

    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        if slash and not _NUMBER_RE.match(step_text):
            raise ScheduleError(f"{expression!r}: {name} step {step_text!r} is not a number")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = lo, hi
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = number(a), number(b)
        else:
            first = number(base)
            last = hi if step_text else first
        if step < 1 or first > last:
            raise ScheduleError(f"{expression!r}: {name} {part!r} is an empty range")
        values.update(range(first, last + 1, step))
    return frozenset(values)
