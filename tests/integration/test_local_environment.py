"""LocalEnvironment over real HTTP: the per-function counts it reports cover every runtime it ran, including
the ones `reconfigure` stopped and replaced (the demo prints them after scenarios that reconfigure)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.demo import render
from local.environment import LocalEnvironment
from local.runtime import render_summary
from shared.config import load_config

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


@pytest.fixture
def env(tmp_path: Path, aws_server) -> Iterator[LocalEnvironment]:
    with LocalEnvironment(load_config(EXAMPLE_CONFIG), tmp_path, run_schedules=False, aws=aws_server) as e:
        yield e


def _unsigned_webhook(env: LocalEnvironment, http: httpx.Client | None = None) -> None:
    assert env.runtime is not None
    url = f"{env.runtime.base_url}/webhooks/oro"
    response = http.post(url, content=b"{}") if http else httpx.post(url, content=b"{}", timeout=30)
    assert response.status_code == 401  # answered by webhook_ingest: one invocation


def _row(summary: str, function: str) -> list[str]:
    return next(line.split() for line in summary.splitlines() if line.split()[0] == function)


def test_function_counts_add_up_over_reconfigured_runtimes(env: LocalEnvironment) -> None:
    _unsigned_webhook(env)
    env.reconfigure({"pricing": {"authority": "erp"}})
    _unsigned_webhook(env)
    _unsigned_webhook(env)
    env.reconfigure({"pricing": {"authority": "storefront"}})
    _unsigned_webhook(env)
    assert env.runtime is not None
    env.runtime.wait_until_idle(30)

    assert env.runtime.stats()["webhook_ingest"].invocations == 1  # the last runtime only
    totals = env.function_stats()
    assert totals["webhook_ingest"].invocations == 4
    assert totals["order_sync"].invocations == 0  # nothing was enqueued
    assert set(totals) == set(env.runtime.stats())
    summary = env.function_summary()
    assert summary == render_summary(totals)
    assert _row(summary, "webhook_ingest") == ["webhook_ingest", "4", "0", "0", "0"]
    assert summary.splitlines()[0] == env.runtime.summary().splitlines()[0]  # one table, one header
    assert summary in render(env, [])  # the demo prints these figures


def test_a_kept_alive_connection_reaches_the_new_runtime_after_reconfigure(env: LocalEnvironment) -> None:
    # Oro's webhook sender keeps its connection open between deliveries (as the sandbox's httpx client
    # does); the runtime that reconfigure stopped must not go on answering on it with the old config.
    with httpx.Client(timeout=30) as http:
        _unsigned_webhook(env, http)
        retired = env.runtime
        env.reconfigure({"pricing": {"authority": "erp"}})
        _unsigned_webhook(env, http)
        _unsigned_webhook(env, http)
    assert env.runtime is not None and retired is not None and env.runtime is not retired
    assert retired.stats()["webhook_ingest"].invocations == 1
    assert env.runtime.stats()["webhook_ingest"].invocations == 2
    assert env.function_stats()["webhook_ingest"].invocations == 3
