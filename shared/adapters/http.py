"""What both HTTP adapters share: the retry policy (bounded exponential backoff with jitter), the
"outcome unknown" error, JSON with exact decimals, and the transport-error classification.

Only the classification of *transport* failures lives here; each client classifies its own API's
status codes and bodies, because the two APIs say "slow down" and "bad data" differently.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from shared.errors import CredentialsRejected, IntegrationError, Permanent, Throttled, Transient

Sleep = Callable[[float], None]


class OutcomeUnknown(Transient):
    """A request that creates something may have reached the server, and we never heard the answer.

    Retrying it blindly could create a duplicate, so the client does not: the caller looks the record up
    by its own key (Cin7 `ExternalID`, Oro tracking number…) and adopts it, or creates it if absent.
    """

    outcome_unknown = True


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` is the total number of tries (1 = no retry). The n-th retry waits
    `min(max_delay, base_delay * 2**(n-1))`, half of it fixed and half random ("equal jitter"), so
    workers that failed together do not come back together. A server's Retry-After wins when it is
    no longer than `max_delay`; a longer one is not slept in a paid Lambda: the error goes up with
    its `retry_after_seconds` so the worker can hand the message back to the queue with that delay.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays must not be negative")

    def backoff(self, retry: int) -> float:
        """The jittered delay before retry number `retry` (1-based)."""
        capped = min(self.max_delay, self.base_delay * (2 ** max(0, retry - 1)))
        return capped / 2 + self.rng.uniform(0, capped / 2)

    def delay_for(self, retry: int, error: IntegrationError) -> float | None:
        """Seconds to wait before retry number `retry`, or None when the error must go up now. Refused
        credentials go up at once: the same credentials get the same answer until the secret is fixed."""
        if not error.retryable or getattr(error, "outcome_unknown", False):
            return None
        if isinstance(error, CredentialsRejected):
            return None
        if retry >= self.attempts:
            return None
        hint = error.retry_after_seconds if isinstance(error, Throttled) else None
        if hint is not None:
            if hint > self.max_delay:
                return None
            return max(hint, 0.0)
        return self.backoff(retry)


NO_RETRY = RetryPolicy(attempts=1)


def run_with_retries(
    attempt: Callable[[], Any],
    policy: RetryPolicy,
    sleep: Sleep = time.sleep,
    on_retry: Callable[[int, IntegrationError, float], None] | None = None,
) -> Any:
    """Call `attempt` until it returns, or raises an error the policy will not retry (raised as is)."""
    retry = 0
    while True:
        try:
            return attempt()
        except IntegrationError as err:
            retry += 1
            delay = policy.delay_for(retry, err)
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(retry, err, delay)
            sleep(delay)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the delta form; the HTTP-date form is converted), None if absent/invalid."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


# A request that failed with one of these never left this machine: retrying cannot duplicate anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def transport_error(err: httpx.HTTPError, *, system: str, operation: str, creates: bool) -> IntegrationError:
    """A timeout or connection failure as the vocabulary. For a request that creates something and may
    have reached the server (read/write timeouts, a connection dropped mid-answer), `OutcomeUnknown`."""
    kind = type(err).__name__
    if isinstance(err, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return Permanent(f"{system}: {operation}: invalid URL ({kind})", system=system)
    if creates and not isinstance(err, _NOT_SENT):
        return OutcomeUnknown(
            f"{system}: {operation}: {kind} after the request was sent; the outcome is unknown, "
            "look the record up before creating it again",
            system=system,
        )
    return Transient(f"{system}: {operation}: {kind}", system=system)


# ------------------------------------------------------------------------------------------- JSON


def loads(content: bytes | str) -> Any:
    """JSON with every non-integer number as an exact Decimal (never a float)."""
    return json.loads(content, parse_float=Decimal)


def decimal_to_number(value: Decimal, *, places: int | None = None, where: str = "value") -> int | float:
    """A Decimal as a JSON number that prints exactly as the decimal does.

    Refuses (Permanent, naming `where`) more than `places` decimals, instead of rounding money silently:
    rounding is the domain's decision (DESIGN §4.1 step 3), not the wire's. Up to 15 significant digits
    the float's shortest repr is the decimal itself, so nothing is lost on the way out.
    """
    if not value.is_finite():
        raise Permanent(f"{where}: {value} is not a finite number")
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    assert isinstance(exponent, int)
    if places is not None and exponent < -places:
        raise Permanent(f"{where}: {value} has more than {places} decimal places")
    if exponent >= 0:
        return int(normal)
    number = float(normal)
    if Decimal(repr(number)) != normal:
        raise Permanent(f"{where}: {value} cannot be sent exactly as a JSON number")
    return number


def to_jsonable(
    value: Any,
    *,
    places: int | None = None,
    moment: Callable[[datetime], str] | None = None,
    where: str = "body",
) -> Any:
    """A copy of `value` ready for `json.dumps`: Decimals become exact numbers (see above), datetimes
    text in the API's own format (`moment`; ISO 8601 by default)."""
    if isinstance(value, Decimal):
        return decimal_to_number(value, places=places, where=where)
    if isinstance(value, datetime):
        return moment(value) if moment else value.isoformat()
    if isinstance(value, Mapping):
        return {
            k: to_jsonable(v, places=places, moment=moment, where=f"{where}.{k}") for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            to_jsonable(v, places=places, moment=moment, where=f"{where}[{i}]") for i, v in enumerate(value)
        ]
    return value


def dumps(value: Any, *, places: int | None = None, moment: Callable[[datetime], str] | None = None) -> bytes:
    jsonable = to_jsonable(value, places=places, moment=moment)
    return json.dumps(jsonable, separators=(",", ":"), ensure_ascii=False).encode()
