"""`orosync orders show|release|list`, `orosync customers map` and `orosync exceptions list` against the
embedded AWS endpoint: what they print, what they change, and one line plus exit 1 (or argparse's exit 2)
for every kind of bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from cli.main import main
from local.provision import provision
from shared.adapters.aws.state import StateStore

ROOT = Path(__file__).resolve().parents[2]
UNMAPPED_7 = "CUSTOMER_UNMAPPED: no ERP customer for storefront customer 7 or its parents"
PALLET = "UOM_UNMAPPED: WID-100 in unit 'pallet' has no ERP mapping"


class Shop:
    """Tables and queues under a fresh prefix, with a few orders in them as order_sync leaves them."""

    def __init__(self, endpoint: str) -> None:
        self.prefix = f"cli-{uuid.uuid4().hex[:6]}"
        env = provision(self.prefix)
        self.queue_url = env["ORDERS_QUEUE_URL"]
        self.store = StateStore(env["STATE_TABLE_NAME"])
        self.where = ["--aws-endpoint", endpoint, "--prefix", self.prefix]
        self.t = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t

    def hold(self, order_id: str, *reasons: str) -> None:
        for r in reasons:
            code, _, detail = r.partition(": ")
            self.store.open_exception(code, f"order:{order_id}", self.now(), detail)
        self.store.add_event(
            order_id, self.now(), "gated", version="v1", action="create_authorised", reason="open"
        )
        self.store.set_order_status(order_id, "held", self.now(), reasons=list(reasons), version="v1")
        self.store.add_event(order_id, self.now(), "held", reasons=list(reasons))

    def sync(self, order_id: str) -> None:
        self.store.set_order_status(
            order_id, "synced", self.now(), version="v1", sale_id="SALE-1", erp_status="AUTHORISED"
        )
        self.store.add_event(order_id, self.now(), "bound", sale_id="SALE-1", erp_status="AUTHORISED")

    def messages(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        out: list[dict[str, Any]] = []
        for _ in range(3):
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60)
            out += [json.loads(m["Body"]) for m in got.get("Messages", [])]
        return out


@pytest.fixture
def shop(aws) -> Shop:
    s = Shop(aws.endpoint_url)
    s.hold("1", UNMAPPED_7)
    s.hold("2", PALLET)
    s.sync("3")
    return s


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- orders show ------------------------------------------------------------------------------------------


def test_orders_show_prints_the_state_reasons_exceptions_and_timeline_when_the_order_is_held(shop, capsys):
    code, out, err = run(capsys, "orders", "show", "1", *shop.where)

    assert (code, err) == (0, "")
    assert out.startswith("order 1: held\n")
    assert f"reasons          {UNMAPPED_7}  [finance]" in out
    assert "open exceptions  CUSTOMER_UNMAPPED (finance): seen 1x" in out
    timeline = out.split("timeline (UTC):\n")[1].splitlines()
    assert [line.split()[2] for line in timeline] == ["gated", "held"]
    assert timeline[0].startswith("  2026-05-01 09:00:02.000  gated")


def test_orders_show_prints_json_when_asked(shop, capsys):
    code, out, _ = run(capsys, "orders", "show", "3", "--json", *shop.where)

    assert code == 0
    doc = json.loads(out)
    assert doc["order"]["status"] == "synced" and doc["order"]["sale_id"] == "SALE-1"
    assert doc["exceptions"] == []
    assert [e["kind"] for e in doc["timeline"]] == ["bound"]


# -- orders list ------------------------------------------------------------------------------------------


def test_orders_list_tabulates_the_held_orders_with_reasons_and_owners(shop, capsys):
    code, out, _ = run(capsys, "orders", "list", *shop.where)

    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ORDER", "SINCE", "(UTC)", "SALE", "OWNERS", "REASONS"]
    assert lines[1].split()[:5] == ["1", "2026-05-01", "09:00:03.000", "-", "finance"]
    assert lines[2].split()[:5] == ["2", "2026-05-01", "09:00:07.000", "-", "operations"]
    assert lines[-1] == "2 held order(s)"

    code, out, _ = run(capsys, "orders", "list", "--status", "synced", "--json", *shop.where)
    assert code == 0 and [r["order_id"] for r in json.loads(out)] == ["3"]


# -- orders release ---------------------------------------------------------------------------------------


def test_orders_release_queues_one_message_and_says_so_when_the_order_is_held(shop, capsys):
    code, out, err = run(capsys, "orders", "release", "1", "--by", "ann", *shop.where)

    assert (code, err) == (0, "")
    assert out.startswith("released order 1 (version v1), held for CUSTOMER_UNMAPPED\n")
    assert shop.messages() == [{"kind": "order", "order_id": "1", "version": "v1", "source": "release"}]
    code, out, _ = run(capsys, "orders", "show", "1", *shop.where)
    assert re.search(r"\n  release +queued \S+ \S+ by ann\n", out)
    assert re.search(r"\n  \S+ \S+  released +by ann\n", out)


def test_orders_release_records_accepted_prices_when_asked(shop, capsys):
    code, out, _ = run(
        capsys, "orders", "release", "2", "--accept-storefront-price", "--by", "fin", *shop.where
    )

    assert code == 0
    assert "storefront prices of version v1 accepted by fin" in out
    assert shop.store.get_order("2").price_accepted_version == "v1"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["orders", "release", "3"], "orosync orders release: order 3 is synced, not held"),
        (["orders", "release", "99"], "orosync orders release: order 99 is not in the state table"),
        (["orders", "show", "99"], "orosync orders show: order 99 is not in the state table"),
    ],
)
def test_orders_commands_exit_1_with_one_line_when_the_order_is_unknown_or_not_held(
    shop, capsys, argv, message
):
    code, out, err = run(capsys, *argv, *shop.where)

    assert code == 1 and out == ""
    assert err.startswith(message) and err.count("\n") == 1
    assert shop.messages() == []


def test_orders_commands_exit_1_naming_the_table_when_it_does_not_exist(aws, capsys):
    code, _, err = run(capsys, "orders", "list", "--aws-endpoint", aws.endpoint_url, "--prefix", "nowhere")

    assert code == 1
    assert err == (
        f"orosync orders list: table nowhere-state does not exist on AWS endpoint {aws.endpoint_url}: "
        "check --prefix (now 'nowhere') and --aws-endpoint\n"
    )


def test_orders_commands_take_the_prefix_from_the_config_service_name(aws, capsys, tmp_path):
    config = tmp_path / "c.json"
    data = (
        json.loads((ROOT / "config" / "example.json").read_text())
        if (ROOT / "config" / "example.json").exists()
        else None
    )
    assert data is None  # the example is YAML: rename its service
    text = (
        (ROOT / "config" / "example.yaml")
        .read_text()
        .replace("service_name: orosync", "service_name: elsewhere")
    )
    config = tmp_path / "c.yaml"
    config.write_text(text)

    code, _, err = run(capsys, "orders", "list", "--config", str(config), "--aws-endpoint", aws.endpoint_url)

    assert code == 1 and "table elsewhere-local-state does not exist" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["orders"],
        ["orders", "ship", "1"],
        ["orders", "release"],
        ["orders", "list", "--status", "lost"],
        ["orders", "release", "1", "--accept-storefront-prices"],
        ["customers", "map", "7"],
        ["customers", "map", "7", " "],
        ["exceptions", "list", "--owner", "nobody"],
    ],
)
def test_commands_exit_2_when_the_arguments_are_bad(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: orosync" in capsys.readouterr().err


# -- customers map and exceptions list --------------------------------------------------------------------


def test_customers_map_binds_and_releases_the_orders_it_may_fix(shop, capsys):
    code, out, err = run(capsys, "customers", "map", "7", "ERP-7", *shop.where)

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "bound storefront customer 7 to ERP customer ERP-7",
        "released 1 held order(s):",
        "  order 1: customer 7 is bound to an ERP customer",
    ]
    assert shop.store.get_customer_binding("7") == "ERP-7"
    assert [m["order_id"] for m in shop.messages()] == ["1"]

    code, _, err = run(capsys, "customers", "map", "7", "ERP-8", *shop.where)
    assert code == 1
    assert err == (
        "orosync customers map: storefront customer 7 is already bound to ERP customer ERP-7: "
        "pass --replace to rebind it\n"
    )


def test_exceptions_list_shows_one_owners_open_exceptions_when_filtered(shop, capsys):
    code, out, _ = run(capsys, "exceptions", "list", "--owner", "operations", *shop.where)

    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["OWNER", "CODE", "ENTITY", "SEEN"]
    assert lines[1].split()[:4] == ["operations", "UOM_UNMAPPED", "order:2", "1x"]
    assert len(lines) == 3


def test_exceptions_resolve_closes_a_non_blocking_exception_and_records_who_and_what(shop, capsys):
    shop.store.open_exception("CANCEL_AFTER_FULFILMENT", "order:3", shop.now(), "cin7 sale SALE-1: shipped")
    code, out, err = run(
        capsys,
        "exceptions",
        "resolve",
        "CANCEL_AFTER_FULFILMENT",
        "order:3",
        "--note",
        "credit note CN-7 issued",
        "--by",
        "cs:kim",
        *shop.where,
    )

    assert (code, err) == (0, "")
    assert "closed: resolved by cs:kim: credit note CN-7 issued" in out
    assert [e["code"] for e in shop.store.open_exceptions()] == ["CUSTOMER_UNMAPPED", "UOM_UNMAPPED"]
    resolved = [e for e in shop.store.timeline("3") if e["kind"] == "exception_resolved"]
    assert resolved == [
        {
            "at": resolved[0]["at"],
            "kind": "exception_resolved",
            "code": "CANCEL_AFTER_FULFILMENT",
            "by": "cs:kim",
            "note": "credit note CN-7 issued",
        }
    ]


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["CUSTOMER_UNMAPPED", "order:1", "--note", "x"],
            "CUSTOMER_UNMAPPED holds its order: it closes when the order passes",
        ),
        (
            ["PRICE_DRIFT", "sku:WID-100:tier:Contract", "--note", "x"],
            "no open PRICE_DRIFT exception for sku:",
        ),
        (["TOTAL_MISMATCH", "order:3", "--note", "  "], "--note must say what was done"),
    ],
)
def test_exceptions_resolve_exits_1_naming_why_when_it_cannot_close(shop, capsys, argv, message):
    code, _, err = run(capsys, "exceptions", "resolve", *argv, *shop.where)
    assert code == 1 and message in err
    assert len(shop.store.open_exceptions()) == 2  # nothing closed


# -- as a process -----------------------------------------------------------------------------------------


def test_orosync_runs_the_orders_commands_as_a_process(shop):
    def orosync(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own interpreter, fixed argv
            [sys.executable, "-m", "cli.main", *argv, *shop.where],
            cwd=ROOT,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    listed = orosync("orders", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["order_id"] for r in json.loads(listed.stdout)] == ["1", "2"]
    refused = orosync("orders", "release", "3")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "orosync orders release: order 3 is synced, not held: only a held order can be released"
    ]
