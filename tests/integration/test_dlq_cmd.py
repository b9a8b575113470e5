"""`orosync dlq list|redrive` and `orosync actions list` against the embedded AWS endpoint. Dead letters get
there the way they do in production: the real order_sync consumer fails them (its processor records each
error) until SQS moves them to the DLQ; order states are written through StateStore as order_sync does."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from cli.main import main
from functions.order_sync import handler as order_sync
from local.events import sqs_event
from local.provision import provision
from shared.adapters.aws.state import StateStore
from shared.resources import queue
from shared.runtime import Runtime

BAD_DEFERRALS = {"kind": "order", "order_id": "41", "version": "v1", "deferrals": "soon"}
WRONG_KIND = {"kind": "stock_page", "run": "r1", "page": 2}


class Shop:
    def __init__(self, endpoint: str) -> None:
        self.prefix = f"dlq-{uuid.uuid4().hex[:6]}"
        self.env = provision(self.prefix)
        self.store = StateStore(self.env["STATE_TABLE_NAME"])
        self.queue_url, self.dlq_url = self.env["ORDERS_QUEUE_URL"], self.env["ORDERS_DLQ_URL"]
        self.where = ["--aws-endpoint", endpoint, "--prefix", self.prefix]
        self.sqs = boto3.client("sqs")
        self.t = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t

    def fail_until_dead(self, body: dict[str, Any]) -> str:
        """Sent to the orders queue and handed to the order_sync consumer at every receive, until SQS moves
        it to the DLQ after maxReceiveCount receives."""
        message_id = str(
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))["MessageId"]
        )
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for _ in range(queue("orders").max_receive_count + 1):
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                break
            # A batch whose every message failed is failed whole (Lambda retries each of them).
            with pytest.raises(BatchProcessingError):
                order_sync.process_partial_response(
                    event=sqs_event(got, arn, "eu-west-1"),
                    record_handler=order_sync.record_handler,
                    processor=order_sync.processor,
                )
        return message_id

    def dead(self, body: dict[str, Any]) -> str:
        """Straight into the DLQ: a message that died before its consumer recorded errors."""
        return str(self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=json.dumps(body))["MessageId"])

    def visible(self, url: str) -> list[dict[str, Any]]:
        """Every message receivable now (received without hiding it)."""
        out: dict[str, dict[str, Any]] = {}
        for _ in range(4):
            for m in self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
                "Messages", []
            ):
                out[m["MessageId"]] = json.loads(m["Body"])
        return list(out.values())

    def sync(self, order_id: str) -> None:
        self.store.set_order_status(order_id, "synced", self.now(), version="v1", sale_id="SALE-1")

    def hold(self, order_id: str, code: str, detail: str) -> None:
        self.store.open_exception(code, f"order:{order_id}", self.now(), detail)
        self.store.set_order_status(
            order_id, "held", self.now(), reasons=[f"{code}: {detail}"], version="v1", open_codes=[code]
        )


@pytest.fixture
def shop(aws, monkeypatch) -> Shop:
    s = Shop(aws.endpoint_url)
    monkeypatch.setenv("STATE_TABLE_NAME", s.env["STATE_TABLE_NAME"])
    Runtime.reset()
    yield s
    Runtime.reset()


def order(order_id: str) -> dict[str, Any]:
    return {"kind": "order", "order_id": order_id, "version": "v1", "source": "webhook"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_each_dead_letter_with_its_order_recorded_error_receives_and_age(shop, capsys):
    bad = shop.fail_until_dead(BAD_DEFERRALS)
    wrong = shop.fail_until_dead(WRONG_KIND)
    early = shop.dead(order("3"))

    code, out, err = run(capsys, "dlq", "list", "orders", "--json", *shop.where)

    assert (code, err) == (0, "")
    letters = {d["message_id"]: d for d in json.loads(out)}
    assert letters.keys() == {bad, wrong, early}
    assert letters[bad]["subject"] == "order 41"
    assert letters[bad]["error"] == (
        "OrderWork message invalid: deferrals: Input should be a valid integer, unable to parse string as an integer"
    )
    assert letters[bad]["receives"] == queue("orders").max_receive_count
    assert letters[wrong]["subject"] == "stock_page run=r1 page=2"
    assert letters[wrong]["error"] == "OrderWork message invalid: order_id: Field required"
    assert (letters[early]["subject"], letters[early]["error"], letters[early]["receives"]) == (
        "order 3",
        None,
        0,
    )
    for d in letters.values():
        assert d["age_seconds"] >= 0
        assert datetime.fromisoformat(d["sent_at"]).tzinfo is not None

    code, out, _ = run(capsys, "dlq", "list", "orders", *shop.where)
    assert code == 0
    assert out.splitlines()[0].split() == ["MESSAGE", "ABOUT", "RECEIVES", "AGE", "ERROR"]
    line = next(r for r in out.splitlines() if r.startswith(early))
    assert "order 3" in line and line.endswith("not recorded")
    assert out.splitlines()[-1] == f"3 message(s) in {shop.dlq_url}"
    # Looking changed nothing: every message is back in the DLQ, visible, and none went to the queue.
    assert len(shop.visible(shop.dlq_url)) == 3
    assert shop.visible(shop.queue_url) == []


def test_selective_redrive_moves_only_the_chosen_orders_and_records_who_and_when(shop, capsys):
    for order_id in ("1", "2", "3", "4"):
        shop.dead(order(order_id))
    shop.fail_until_dead(WRONG_KIND)

    code, out, err = run(
        capsys, "dlq", "redrive", "orders", "--order", "1", "--order", "3", "--by", "ops:lee", *shop.where
    )

    assert (code, err) == (0, "")
    assert sorted(m["order_id"] for m in shop.visible(shop.queue_url)) == ["1", "3"]
    left = shop.visible(shop.dlq_url)
    assert sorted(m.get("order_id", m["kind"]) for m in left) == ["2", "4", "stock_page"]
    assert f"moved 2 of 5 message(s) from {shop.dlq_url} to {shop.queue_url}" in out
    (action,) = shop.store.operator_actions(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
    assert (action["action"], action["target"], action["by"], action["method"], action["moved"]) == (
        "redrive",
        "queue:orders",
        "ops:lee",
        "selected",
        2,
    )
    assert sorted(action["messages"].values()) == ["order 1", "order 3"]
    assert datetime.fromisoformat(action["at"]).tzinfo is not None


def test_redrive_by_error_moves_only_the_messages_whose_recorded_error_matches(shop, capsys):
    shop.fail_until_dead(BAD_DEFERRALS)
    wrong = shop.fail_until_dead(WRONG_KIND)
    shop.dead(order("3"))

    code, out, _ = run(capsys, "dlq", "redrive", "orders", "--error", "order_id: FIELD required", *shop.where)

    assert code == 0
    assert shop.visible(shop.queue_url) == [WRONG_KIND]
    assert sorted(m["order_id"] for m in shop.visible(shop.dlq_url)) == ["3", "41"]
    assert f"redriven {wrong}  stock_page run=r1 page=2: will be processed" in out

    code, _, err = run(capsys, "dlq", "redrive", "orders", "--error", "timeout", *shop.where)
    assert code == 1
    assert (
        err
        == f"orosync dlq redrive: no message in {shop.dlq_url} matches error containing 'timeout': nothing redriven\n"
    )
    assert len(shop.visible(shop.dlq_url)) == 2


def test_dry_run_says_what_each_message_would_do_and_changes_nothing(shop, capsys):
    shop.sync("1")
    shop.hold("2", "UOM_UNMAPPED", "WID-100 in unit 'pallet' has no ERP mapping")
    ids = {order_id: shop.dead(order(order_id)) for order_id in ("1", "2", "3")}
    depth_before = len(shop.visible(shop.dlq_url))

    code, out, err = run(capsys, "dlq", "redrive", "orders", "--dry-run", *shop.where)

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[-2:] == ["REDRIVE", "WOULD"]
    assert next(r for r in lines if r.startswith(ids["1"])).endswith("already synced (synced, sale SALE-1)")
    assert next(r for r in lines if r.startswith(ids["2"])).endswith(
        "still blocked by an exception (UOM_UNMAPPED)"
    )
    assert next(r for r in lines if r.startswith(ids["3"])).endswith("will be processed")
    assert lines[-1] == (
        f"dry run: 3 of 3 message(s) in {shop.dlq_url} would be redriven by a message move task; nothing was changed"
    )
    assert len(shop.visible(shop.dlq_url)) == depth_before == 3
    assert shop.visible(shop.queue_url) == []
    assert shop.store.operator_actions(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)) == []

    code, out, _ = run(capsys, "dlq", "redrive", "orders", "--dry-run", "--order", "2", *shop.where)
    assert code == 0
    assert [r for r in out.splitlines() if r.startswith(ids["2"])] and ids["1"] not in out
    assert "1 of 3 message(s)" in out and "one by one" in out
    assert len(shop.visible(shop.dlq_url)) == 3


def test_whole_queue_redrive_and_every_operator_action_are_recorded_with_who_and_when(shop, capsys):
    since = datetime.now(UTC) - timedelta(seconds=1)
    shop.hold("5", "CUSTOMER_UNMAPPED", "no ERP customer for storefront customer 7 or its parents")
    shop.store.open_exception("PRICE_DRIFT", "order:6", shop.now(), "tier drifted")
    shop.dead(order("8"))

    assert run(capsys, "orders", "release", "5", "--by", "ann", *shop.where)[0] == 0
    assert run(capsys, "customers", "map", "7", "ERP-7", "--by", "fin:bo", *shop.where)[0] == 0
    assert (
        run(
            capsys,
            "exceptions",
            "resolve",
            "PRICE_DRIFT",
            "order:6",
            "--note",
            "ok",
            "--by",
            "fin:cy",
            *shop.where,
        )[0]
        == 0
    )
    code, out, _ = run(capsys, "dlq", "redrive", "orders", "--by", "ops:di", *shop.where)
    assert code == 0 and "copying the messages instead" in out
    assert shop.visible(shop.dlq_url) == []

    code, out, err = run(capsys, "actions", "list", "--json", "--since", since.isoformat(), *shop.where)

    assert (code, err) == (0, "")
    actions = json.loads(out)
    assert [(a["action"], a["target"], a["by"]) for a in actions] == [
        ("release", "order:5", "ann"),
        ("map", "customer:7", "fin:bo"),
        ("resolve", "order:6", "fin:cy"),
        ("redrive", "queue:orders", "ops:di"),
    ]
    ats = [datetime.fromisoformat(a["at"]) for a in actions]
    assert ats == sorted(ats) and since <= ats[0] and ats[-1] <= datetime.now(UTC)
    assert (actions[3]["method"], actions[3]["moved"]) == ("copy", 1)
    assert actions[2]["code"] == "PRICE_DRIFT"

    code, out, _ = run(capsys, "actions", "list", *shop.where)
    assert code == 0 and out.splitlines()[0].split()[:4] == ["AT", "(UTC)", "ACTION", "TARGET"]
    assert len(out.splitlines()) == 5


def test_orosync_redrive_still_moves_the_whole_queue_and_is_recorded_too(shop, capsys):
    shop.dead(order("9"))

    code, out, _ = run(capsys, "redrive", "orders", "--by", "ops:ed", *shop.where)

    assert code == 0 and "copying the messages instead" in out
    assert shop.visible(shop.queue_url) == [order("9")]
    (action,) = shop.store.operator_actions(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
    assert (action["action"], action["target"], action["by"], action["moved"]) == (
        "redrive",
        "queue:orders",
        "ops:ed",
        1,
    )


@pytest.mark.parametrize(
    "argv, named",
    [
        (["dlq", "list", "invoices"], "unknown queue 'invoices': expected one of orders"),
        (["dlq", "redrive", "orders", "--order", "12; DROP", "--dry-run"], "--order must be an Oro order id"),
        (["dlq", "redrive", "orders", "--order", "-4"], "--order must be an Oro order id"),
    ],
)
def test_bad_arguments_are_named_before_any_queue_is_touched(argv, named, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--aws-endpoint", "http://127.0.0.1:1"])  # nothing listens there: never reached
    assert exited.value.code == 2
    assert named in capsys.readouterr().err
