"""Schedule expressions and the event source's response rules, pure (no endpoint needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local import runtime, schedules


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions_give_their_period(expression, seconds):
    assert schedules.parse(expression) == schedules.Rate(seconds)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0/15 * * * ? *)", "2026-03-10T10:07:30", "2026-03-10T10:15:00"),
        ("cron(0/15 * * * ? *)", "2026-03-10T10:45:00", "2026-03-10T11:00:00"),
        ("cron(0 12 * * ? *)", "2026-03-10T12:00:00", "2026-03-11T12:00:00"),
        ("cron(30 8 ? * MON-FRI *)", "2026-03-13T09:00:00", "2026-03-16T08:30:00"),  # Fri -> Mon
        ("cron(0 0 ? * 1 *)", "2026-03-10T00:00:00", "2026-03-15T00:00:00"),  # 1 = Sunday
        ("cron(0 6 1 JAN,JUL ? *)", "2026-03-10T00:00:00", "2026-07-01T06:00:00"),
        ("cron(0 0 29 2 ? *)", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("cron(*/20 9-10 * * ? 2027)", "2026-12-31T23:59:00", "2027-01-01T09:00:00"),
    ],
)
def test_cron_gives_the_next_matching_minute(expression, after, expected):
    schedule = schedules.parse(expression)
    assert isinstance(schedule, schedules.Cron)
    assert schedule.next_after(at(after)) == at(expected)


def test_cron_that_can_never_fire_again_has_no_next_time():
    assert schedules.parse("cron(0 0 1 1 ? 2020)").next_after(at("2026-01-01T00:00:00")) is None


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(0 12 L * ? *)", "L, W or #"),
        ("cron(0 12 ? * 6#3 *)", "L, W or #"),
        ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 12 * *)", "6 fields"),
        ("cron(61 * * * ? *)", "outside 0-59"),
        ("cron(0 12 * FOO ? *)", "not understood"),
        ("rate(0 minutes)", "at least 1"),
        ("every 5 minutes", "not an EventBridge schedule"),
    ],
)
def test_unsupported_or_invalid_expressions_are_refused_with_the_reason(expression, problem):
    with pytest.raises(schedules.ScheduleError, match=problem):
        schedules.parse(expression)


def test_scaled_clock_runs_faster_than_the_wall_clock():
    clock = schedules.ScaledClock(3600)
    one_schedule_hour_ahead = clock.now() + timedelta(hours=1)
    assert 0.9 < clock.real_seconds_until(one_schedule_hour_ahead) <= 1.0


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
    ],
)
def test_partial_batch_responses_name_the_failed_messages(response, failed):
    assert runtime._batch_item_failures(response, ["a", "b"]) == failed


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "zzz"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"id": "a"}]},
        {"batchItemFailures": "a"},
    ],
)
def test_invalid_partial_batch_responses_fail_the_whole_batch(response):
    with pytest.raises(ValueError):
        runtime._batch_item_failures(response, ["a", "b"])


def test_proxy_responses_are_checked_like_api_gateway_checks_them():
    status, headers, body = runtime._proxy_response(
        {
            "statusCode": 200,
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": "aGk=",
            "isBase64Encoded": True,
        }
    )
    assert (status, body) == (200, b"hi")
    assert ("Set-Cookie", "a=1") in headers and ("Set-Cookie", "b=2") in headers
    assert ("Content-Type", "application/json") in headers
    for bad in ({"body": "x"}, {"statusCode": 200, "body": {"not": "a string"}}, "just text"):
        with pytest.raises((TypeError, ValueError)):
            runtime._proxy_response(bad)
