"""Backoff maths, the retry loop, Retry-After parsing and exact decimals on the wire (pure, no network)."""

from __future__ import annotations

import random
from decimal import Decimal

import httpx
import pytest

from shared.adapters.http import (
    OutcomeUnknown,
    RetryPolicy,
    decimal_to_number,
    dumps,
    loads,
    retry_after_seconds,
    run_with_retries,
    transport_error,
)
from shared.errors import CredentialsRejected, NotFound, Permanent, Throttled, Transient


def test_backoff_doubles_within_jitter_bounds_when_retrying():
    policy = RetryPolicy(attempts=6, base_delay=1.0, max_delay=8.0, rng=random.Random(7))
    for retry, full in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0)):
        for _ in range(50):
            d = policy.backoff(retry)
            assert full / 2 <= d <= full


def test_backoff_is_jittered_when_many_workers_fail_together():
    policy = RetryPolicy(base_delay=1.0, rng=random.Random(1))
    assert len({round(policy.backoff(2), 6) for _ in range(20)}) > 10


def test_delay_for_stops_after_attempts_and_for_permanent_errors():
    policy = RetryPolicy(attempts=3, base_delay=0.1)
    assert policy.delay_for(1, Transient("x")) is not None
    assert policy.delay_for(2, Transient("x")) is not None
    assert policy.delay_for(3, Transient("x")) is None
    assert policy.delay_for(1, Permanent("x")) is None
    assert policy.delay_for(1, NotFound("x")) is None
    assert policy.delay_for(1, OutcomeUnknown("x")) is None
    assert policy.delay_for(1, CredentialsRejected("x", system="cin7")) is None  # the queue retries it


def test_delay_for_honours_retry_after_when_short_and_gives_up_when_long():
    policy = RetryPolicy(attempts=5, base_delay=0.1, max_delay=5.0)
    assert policy.delay_for(1, Throttled("x", retry_after_seconds=3)) == 3
    assert policy.delay_for(1, Throttled("x", retry_after_seconds=30)) is None
    no_hint = policy.delay_for(1, Throttled("x"))
    assert no_hint is not None and no_hint <= 0.1


def test_run_with_retries_sleeps_between_attempts_then_succeeds():
    slept: list[float] = []
    outcomes = [Transient("a"), Throttled("b", retry_after_seconds=0.25), "ok"]

    def attempt():
        out = outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out

    assert run_with_retries(attempt, RetryPolicy(attempts=3, base_delay=0.1), slept.append) == "ok"
    assert len(slept) == 2 and slept[1] == 0.25


def test_run_with_retries_raises_last_error_when_attempts_run_out():
    calls = []

    def attempt():
        calls.append(1)
        raise Transient("down")

    with pytest.raises(Transient):
        run_with_retries(attempt, RetryPolicy(attempts=4, base_delay=0), lambda s: None)
    assert len(calls) == 4


def test_outcome_unknown_is_transient_and_flagged():
    err = OutcomeUnknown("x")
    assert isinstance(err, Transient) and err.retryable and err.outcome_unknown


@pytest.mark.parametrize(
    "exc, creates, expected",
    [
        (httpx.ConnectError("refused"), True, Transient),
        (httpx.ConnectTimeout("slow"), True, Transient),
        (httpx.ReadTimeout("slow"), True, OutcomeUnknown),
        (httpx.RemoteProtocolError("dropped"), True, OutcomeUnknown),
        (httpx.ReadTimeout("slow"), False, Transient),
        (httpx.RemoteProtocolError("dropped"), False, Transient),
    ],
)
def test_transport_error_marks_outcome_unknown_only_when_a_create_may_have_landed(exc, creates, expected):
    err = transport_error(exc, system="cin7", operation="POST /sale", creates=creates)
    assert type(err) is expected


def test_retry_after_reads_seconds_and_ignores_garbage():
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Response(429)) is None


def test_decimals_leave_as_exact_json_numbers():
    assert dumps({"p": Decimal("12.5000"), "q": Decimal("24"), "t": Decimal("300.9600")}) == (
        b'{"p":12.5,"q":24,"t":300.96}'
    )
    assert decimal_to_number(Decimal("1234567.1234"), places=4) == 1234567.1234
    assert loads(b'{"v": 0.1}')["v"] == Decimal("0.1")


def test_decimals_with_too_many_places_are_refused_not_rounded():
    with pytest.raises(Permanent, match=r"Lines\[0\].Price"):
        dumps({"Lines": [{"Price": Decimal("1.23456")}]}, places=4)
