"""Wire helpers for the sandbox Cin7 Core API: the error model, decimals, dates, ids and JSON output.

Numbers are `Decimal` from the moment a request body is parsed (`parse_float=Decimal`) until they are written
back out as JSON numbers with at most 4 decimals; no float arithmetic happens anywhere in the sandbox.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

FOUR_PLACES = Decimal("0.0001")
FIVE_PLACES = Decimal("0.00001")
ZERO = Decimal("0")


class ApiError(Exception):
    """An answer in Cin7's error model: `[{"ErrorCode": n, "Exception": "..."}]` (or a bare object)."""

    def __init__(self, status: int, message: str, *, bare: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.bare = bare

    def body(self) -> Any:
        obj = {"ErrorCode": self.status, "Exception": self.message}
        return obj if self.bare else [obj]


def bad(message: str) -> ApiError:
    return ApiError(400, message)


def required(field: str) -> ApiError:
    # The wording of a live Cin7 answer quoted in the reference (§1, error model).
    return bad(f"Required attribute {field} is not provided.")


# ---------------------------------------------------------------------------------------------- JSON out


def format_decimal(value: Decimal) -> str:
    # Inputs are validated to 4 places (CurrencyRate: 5) and computed money is rounded to 4 where it is made;
    # this is only a safety net against a long expansion reaching the wire.
    if value.as_tuple().exponent < -5:  # type: ignore[operator]
        value = value.quantize(FIVE_PLACES, rounding=ROUND_HALF_UP)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def iso_z(moment: datetime) -> str:
    """UTC ISO timestamp with `Z` and a variable number of fractional digits (none, 1, 2 or 3), as Cin7 writes."""
    moment = moment.astimezone(UTC)
    fraction = f"{moment.microsecond // 1000:03d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def dumps(obj: Any, *, tagged: bool = False) -> str:
    """JSON text. Decimals become numbers (or `{"__decimal__": "..."}` when `tagged`, for the state file)."""
    out: list[str] = []
    _encode(obj, out, tagged)
    return "".join(out)


def _encode(obj: Any, out: list[str], tagged: bool) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, Decimal):
        out.append(json.dumps({"__decimal__": str(obj)}) if tagged else format_decimal(obj))
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, float):
        out.append(json.dumps(obj))
    elif isinstance(obj, str):
        out.append(json.dumps(obj, ensure_ascii=False))
    elif isinstance(obj, datetime):
        out.append(json.dumps({"__datetime__": obj.isoformat()}) if tagged else json.dumps(iso_z(obj)))
    elif isinstance(obj, Mapping):
        out.append("{")
        first = True
        for key, value in obj.items():
            if not tagged and isinstance(key, str) and key.startswith("_"):
                continue  # private bookkeeping never goes on the wire
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _encode(value, out, tagged)
        out.append("}")
    elif isinstance(obj, Iterable):
        out.append("[")
        for index, value in enumerate(obj):
            if index:
                out.append(",")
            _encode(value, out, tagged)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(obj).__name__}")


def loads_tagged(text: str) -> Any:
    def hook(obj: dict[str, Any]) -> Any:
        if len(obj) == 1 and "__decimal__" in obj:
            return Decimal(obj["__decimal__"])
        if len(obj) == 1 and "__datetime__" in obj:
            return datetime.fromisoformat(obj["__datetime__"])
        return obj

    return json.loads(text, object_hook=hook)


def parse_body(raw: bytes) -> Any:
    """A request body; numbers with a fraction become Decimal. Unparseable → 500, as the status table says."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(500, f"The request body could not be parsed as JSON: {exc}") from None


# ---------------------------------------------------------------------------------------------- values in


def decimal_value(
    value: Any,
    field: str,
    *,
    places: int = 4,
    default: Decimal | None = None,
    is_required: bool = False,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> Decimal | None:
    """A number from JSON (number or numeric string, as Cin7's own examples send), checked for precision."""
    if value is None or value == "":
        if is_required:
            raise required(field)
        return default
    if isinstance(value, bool):
        raise bad(f"{field} must be a number.")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise bad(f"{field} must be a number.") from None
    if not number.is_finite():
        raise bad(f"{field} must be a number.")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise bad(f"{field} must have no more than {places} decimal places.")
    if minimum is not None and number < minimum:
        raise bad(f"{field} must be greater than or equal to {format_decimal(minimum)}.")
    if maximum is not None and number > maximum:
        raise bad(f"{field} must be less than or equal to {format_decimal(maximum)}.")
    return number + ZERO  # normalises -0


def req_decimal(value: Any, field: str, **kwargs: Any) -> Decimal:
    result = decimal_value(value, field, is_required=True, **kwargs)
    assert result is not None
    return result


def bool_value(value: Any, field: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad(f"{field} must be true or false.")


def text_value(value: Any, field: str, *, max_len: int = 256, is_required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if is_required:
            raise required(field)
        return None if value is None else ""
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise bad(f"{field} must be a string.")
    text = str(value) if not isinstance(value, str) else value
    if len(text) > max_len:
        raise bad(f"{field} is longer than {max_len} characters.")
    return text


def req_text(value: Any, field: str, *, max_len: int = 256) -> str:
    result = text_value(value, field, max_len=max_len, is_required=True)
    assert result is not None
    return result


_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_datetime(value: Any, field: str, *, allow_zone: bool = True) -> datetime:
    """An ISO 8601 date parameter as an aware UTC datetime. Naive input is UTC, as Cin7 documents.

    `allow_zone=False` reproduces the 2023 change to `saleList?UpdatedSince=`: a `Z` or an offset is rejected.
    """
    if not isinstance(value, str):
        raise bad(f"{field} must be a date in the format yyyy-MM-ddTHH:mm:ss.")
    match = _DATE_RE.match(value.strip())
    if not match:
        raise bad(f"'{value}' is not a valid value for {field}. Use the format yyyy-MM-ddTHH:mm:ss.")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone and not allow_zone:
        raise bad(
            f"'{value}' is not a valid value for {field}. Use the format yyyy-MM-ddTHH:mm:ss (UTC, no zone)."
        )
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")[:6]),
        )
    except ValueError:
        raise bad(f"'{value}' is not a valid value for {field}.") from None
    tz: timezone = UTC
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return moment.replace(tzinfo=tz).astimezone(UTC)


def tenant_date(moment: datetime | None) -> str:
    """`dd/MM/yyyy`, the tenant date format some webhook payloads use."""
    return moment.astimezone(UTC).strftime("%d/%m/%Y") if moment else ""


def now_utc() -> datetime:
    return datetime.now(UTC)


class IdFactory:
    """GUIDs, random or (with a seed) reproducible from one run to the next."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed) if seed is not None else None

    def new(self) -> str:
        if self._rng is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


class Query:
    """Query parameters; names are case-insensitive as on the real API (`page`, `Page`, `PAGE`)."""

    def __init__(self, params: Mapping[str, list[str]]) -> None:
        self._params = {key.lower(): values[-1] for key, values in params.items() if values}

    def get(self, name: str) -> str | None:
        value = self._params.get(name.lower())
        return value if value not in (None, "") else None

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def as_int(self, name: str, default: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise bad(f"{name} must be an integer.") from None

    def as_bool(self, name: str, default: bool = False) -> bool:
        return bool_value(self.get(name), name, default)

    def as_date(self, name: str, *, allow_zone: bool = True) -> datetime | None:
        raw = self.get(name)
        return None if raw is None else parse_datetime(raw, name, allow_zone=allow_zone)


MAX_LIMIT = 1000


def paginate(items: Sequence[Any], query: Query, key: str) -> dict[str, Any]:
    """`{"Total": n, "Page": p, key: [...]}` with Page 1-based, Limit default 100, max 1000."""
    page = query.as_int("Page", 1)
    limit = query.as_int("Limit", 100)
    if page < 1:
        raise bad("Page must be greater than or equal to 1.")
    if limit < 1 or limit > MAX_LIMIT:
        raise bad(f"Limit must be between 1 and {MAX_LIMIT}.")
    start = (page - 1) * limit
    return {"Total": len(items), "Page": page, key: items[start : start + limit]}
