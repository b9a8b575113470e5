"""`orosync local up` killed with SIGKILL in the middle of a stock run, then started again from its state
folder: the next scheduled run brings every Oro level to what the rules say, a count made while it was down
included, and nothing is left half-recorded (issue 9)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import boto3
import httpx
import pytest

from local.aws import EmbeddedAws
from local.environment import LocalEnvironment
from shared.adapters.aws.state import StateStore
from shared.domain.stock import Buffer, sellable, units_of
from tests.fixtures.order_env import order_config
from tests.integration.test_lost_state import LocalUp, _local_credentials

N = 1500  # 3,000 availability rows: 3 pages, 15 pushes of 100 SKUs
SKUS = [f"K-{i:05d}" for i in range(N)]


def on_hand(i: int, generation: int = 0) -> tuple[int, int]:
    return (17 * i + 5 * generation) % 400, (i * 7 + generation) % 60


@pytest.fixture
def sandboxes(tmp_path: Path, aws_server: EmbeddedAws) -> Iterator[LocalEnvironment]:
    units = {
        sku: {"each": {"erp_sku": sku, "factor": 1}, "case": {"erp_sku": sku, "factor": 12}} for sku in SKUS
    }
    config = order_config(tmp_path, units=units, **{"stock.oro_writes": "batch", "stock.fast_path": False})
    env = LocalEnvironment(config, tmp_path, run_schedules=False, aws=aws_server)
    with env:
        env.seed()
        assert env.runtime is not None and env.oro is not None and env.cin7 is not None
        env.runtime.stop()
        products = [{"sku": sku, "units": [["each", "1"], ["case", "12"]]} for sku in SKUS]
        httpx.post(
            f"{env.oro.control_url.rstrip('/')}/products", json={"products": products}, timeout=60
        ).raise_for_status()
        set_stock(env, 0)
        # Oro's batch consumer takes a second per operation, so a run of 15 batches lasts long enough to be
        # killed in the middle of.
        httpx.post(
            f"{env.oro.control_url.rstrip('/')}/config", json={"batch_delay": 1.0}, timeout=10
        ).raise_for_status()
        yield env


def set_stock(env: LocalEnvironment, generation: int) -> None:
    assert env.cin7 is not None
    body = {
        "products": [
            {
                "SKU": sku,
                "Name": f"Seeded {sku}",
                "levels": dict(
                    zip(("Main Warehouse", "Sydney DC"), map(str, on_hand(i, generation)), strict=True)
                ),
            }
            for i, sku in enumerate(SKUS)
        ]
    }
    httpx.post(f"{env.cin7.control_url.rstrip('/')}/stock-levels", json=body, timeout=60).raise_for_status()


def expected(generation: int) -> dict[tuple[str, str], Decimal]:
    buffer = Buffer(percent=Decimal(5))
    out = {}
    for i, sku in enumerate(SKUS):
        base = sellable(sku, Decimal(sum(on_hand(i, generation))), buffer)
        out[(sku, "each")] = units_of(base, Decimal(1))
        out[(sku, "case")] = units_of(base, Decimal(12))
    return out


def oro_levels(env: LocalEnvironment) -> dict[tuple[str, str], Decimal]:
    with env.oro_client() as oro:
        products = {p.id: p.sku for p in oro.iter_products(SKUS, with_units=False)}
        return {
            (products[lv.product_id or ""], lv.unit or ""): lv.quantity
            for lv in oro.iter_inventory_levels(products)
        }


def test_local_up_killed_mid_stock_run_and_started_again_converges(
    sandboxes: LocalEnvironment, tmp_path: Path
):
    env = sandboxes
    config = env.config
    secrets = tmp_path / "secrets.json"
    secrets.write_text(
        json.dumps(
            {
                config.secrets.oro_client: env.oro_credentials,
                config.secrets.oro_webhook: {"secret": env.webhook_secret},
                config.secrets.cin7_orders: env.cin7_credentials,
                config.secrets.cin7_webhook: {"secret": env.cin7_webhook_secret},
            }
        )
    )
    state_dir = tmp_path / "state"
    args = ["--config", str(env.config_path), "--port", str(env.runtime_port), "--secrets-file", str(secrets)]
    args += ["--state-dir", str(state_dir), "--time-scale", "60"]  # a stock run every 15 s

    first = LocalUp(args)
    try:
        endpoint = first.wait_for(r"on embedded AWS at (http://\S+)").group(1)
        first.wait_for("Ctrl-C to stop")
        store = StateStore(
            "orosync-local-state",
            dynamodb=boto3.resource("dynamodb", endpoint_url=endpoint, **_local_credentials()),
        )
        deadline = time.monotonic() + 90
        recorded = 0
        # killed once part of the run is recorded in Oro and the state table, and a save has been made
        while not (0 < recorded < N and (state_dir / "orosync-local.json").is_file()):
            assert time.monotonic() < deadline, f"the run never got part-way ({recorded} of {N} recorded)"
            time.sleep(0.05)
            recorded = sum(1 for r in store.stock_records(SKUS[::50]).values() if r.pushed) * 50
        first.kill()
    finally:
        first.stop()
    assert oro_levels(env) != expected(0), "killed too late: the run had finished"

    set_stock(env, 1)  # the warehouse counts while the service is down
    assert env.oro is not None
    httpx.post(
        f"{env.oro.control_url.rstrip('/')}/config", json={"batch_delay": 0}, timeout=10
    ).raise_for_status()
    second = LocalUp(args)
    try:
        second.wait_for("Ctrl-C to stop")
        assert re.search(r"restored \d+ records", "".join(second.lines))
        want = expected(1)
        deadline = time.monotonic() + 120
        while (got := oro_levels(env)) != want:
            wrong = [k for k in want if got.get(k) != want[k]]
            assert time.monotonic() < deadline, (len(wrong), wrong[:5], "".join(second.lines[-30:]))
            time.sleep(1)
    finally:
        second.stop()
