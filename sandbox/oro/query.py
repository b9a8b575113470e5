"""JSON:API query parameters (filter, page, sort, include, fields), value formats and error documents."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, unquote_plus

TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# ---------------------------------------------------------------------------------------------------- errors


class ApiError(Exception):
    """One JSON:API error object; raised to answer with an error document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        pointer: str | None = None,
        parameter: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.pointer = pointer
        self.parameter = parameter
        self.headers = headers or {}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": str(self.status), "title": self.title, "detail": self.detail}
        if self.pointer is not None:
            out["source"] = {"pointer": self.pointer}
        elif self.parameter is not None:
            out["source"] = {"parameter": self.parameter}
        return out


class ApiErrors(Exception):
    """Several errors answered together (validation); the status is the first one's."""

    def __init__(self, errors: list[ApiError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors

    @property
    def status(self) -> int:
        statuses = {e.status for e in self.errors}
        return self.errors[0].status if len(statuses) == 1 else 400


def error_document(errors: list[ApiError]) -> dict[str, Any]:
    return {"errors": [e.to_json() for e in errors]}


def not_blank(pointer: str) -> ApiError:
    return ApiError(400, "not blank constraint", "This value should not be blank.", pointer=pointer)


# ---------------------------------------------------------------------------------------------------- values


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def fmt_ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime(TS_FORMAT)


def parse_ts(value: str) -> datetime:
    return datetime.strptime(value, TS_FORMAT).replace(tzinfo=UTC)


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise InvalidOperation
    if isinstance(value, float):
        value = repr(value)
    d = Decimal(str(value).strip())
    if not d.is_finite():
        raise InvalidOperation
    return d


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.0001")))


def plain_decimal(value: Decimal) -> str:
    """`17` for 17, `17.5` for 17.50: the normalized form without exponent."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def json_number(stored: str | None) -> int | float | None:
    if stored is None:
        return None
    d = Decimal(stored)
    if d == d.to_integral_value():
        return int(d)
    return float(d)


_DT_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?)?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_dt_interval(raw: str) -> tuple[datetime, datetime]:
    """Parse a (possibly partial) ISO 8601 value into [start, end) at the precision that was given.

    `2026-05-01T10:00:00Z` covers one second, `2026-05-01` one day, `2026` one year. A space in the offset is
    read as `+` (an unencoded `+` arrives as a space).
    """
    value = raw.strip()
    m = re.match(r"^(.*\d)\s(\d{2}:?\d{2})$", value)
    if m:
        value = f"{m.group(1)}+{m.group(2)}"
    match = _DT_RE.match(value)
    if not match:
        raise ValueError(raw)
    year, month, day, hour, minute, second, tz = match.groups()
    tzinfo = UTC
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        tzinfo = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    start = datetime(
        int(year),
        int(month or 1),
        int(day or 1),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        tzinfo=tzinfo,
    )
    if second is not None:
        end = start + timedelta(seconds=1)
    elif minute is not None:
        end = start + timedelta(minutes=1)
    elif hour is not None:
        end = start + timedelta(hours=1)
    elif day is not None:
        end = start + timedelta(days=1)
    elif month is not None:
        end = start.replace(year=start.year + (start.month // 12), month=start.month % 12 + 1)
    else:
        end = start.replace(year=start.year + 1)
    return start.astimezone(UTC), end.astimezone(UTC)


# ---------------------------------------------------------------------------------------------------- query


@dataclass
class FilterExpr:
    name: str
    op: str
    value: str
    parameter: str


@dataclass
class Query:
    filters: list[FilterExpr] = field(default_factory=list)
    page_number: int = 1
    page_size: int | None = None  # None: the default
    sort: list[tuple[str, bool]] | None = None  # (field, descending)
    include: list[str] = field(default_factory=list)
    fields: dict[str, set[str]] = field(default_factory=dict)
    meta: list[str] = field(default_factory=list)
    raw_pairs: list[tuple[str, str]] = field(default_factory=list)


INLINE_OPS = {
    "=": "eq",
    "!=": "neq",
    "<>": "neq",
    "<": "lt",
    "<=": "lte",
    ">": "gt",
    ">=": "gte",
    "*": "exists",
    "!*": "neq_or_null",
    "~": "contains",
    "!~": "not_contains",
    "^": "starts_with",
    "!^": "not_starts_with",
    "$": "ends_with",
    "!$": "not_ends_with",
}
NAMED_OPS = set(INLINE_OPS.values()) | {"empty"}
_FILTER_RE = re.compile(
    r"^filter\[([^\]]+)\](?:\[([A-Za-z_]+)\])?(<=|>=|!=|<>|!\*|!~|!\^|!\$|<|>|=|\*|~|\^|\$)?(.*)$", re.S
)


def parse_query(raw: str) -> Query:
    q = Query()
    for part in raw.split("&") if raw else []:
        if not part:
            continue
        decoded = unquote(part.replace("+", " "))
        if decoded.startswith("filter["):
            m = _FILTER_RE.match(decoded)
            if not m:
                raise ApiError(
                    400, "filter constraint", f'The filter "{decoded}" is not valid.', parameter=decoded
                )
            name, named_op, inline_op, value = m.groups()
            parameter = f"filter[{name}]"
            if named_op:
                if named_op not in NAMED_OPS:
                    raise ApiError(
                        400,
                        "filter constraint",
                        f'The operator "{named_op}" is not supported.',
                        parameter=f"{parameter}[{named_op}]",
                    )
                if inline_op != "=":
                    raise ApiError(
                        400, "filter constraint", "Expected `=` after the operator.", parameter=parameter
                    )
                op = named_op
            else:
                op = INLINE_OPS.get(inline_op or "=", "eq")
                if inline_op is None:
                    value = ""
            q.filters.append(FilterExpr(name, op, value, parameter))
            continue
        key, _, value = part.partition("=")
        key = unquote_plus(key)
        value = unquote_plus(value)
        q.raw_pairs.append((key, value))
        if key == "page[number]":
            q.page_number = _positive_int(value, key)
        elif key == "page[size]":
            size = _int(value, key)
            if size != -1 and size < 1:
                raise ApiError(
                    400, "value constraint", "The value should be greater than 0 or -1.", parameter=key
                )
            q.page_size = size
        elif key == "sort":
            q.sort = []
            for item in value.split(","):
                item = item.strip()
                if item:
                    q.sort.append((item.lstrip("-"), item.startswith("-")))
        elif key == "include":
            q.include = [p.strip() for p in value.split(",") if p.strip()]
        elif key.startswith("fields[") and key.endswith("]"):
            q.fields[key[7:-1]] = {p.strip() for p in value.split(",") if p.strip()}
        elif key == "meta":
            q.meta = [p.strip() for p in value.split(",") if p.strip()]
    return q


def _int(value: str, parameter: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(
            400,
            "unexpected value exception",
            f'Expected integer value. Given "{value}".',
            parameter=parameter,
        ) from None


def _positive_int(value: str, parameter: str) -> int:
    n = _int(value, parameter)
    if n < 1:
        raise ApiError(
            400, "value constraint", "The value should be greater than or equal to 1.", parameter=parameter
        )
    return n
