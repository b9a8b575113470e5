"""`orosync redrive`: DLQ messages go back to their queue; copied over the embedded endpoint (moto lacks
StartMessageMoveTask), and the move task path checked against a stand-in SQS client."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cli import redrive_cmd
from local.provision import provision
from shared.resources import QUEUES


def _drain(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    out: dict[str, dict[str, Any]] = {}
    for _ in range(4):
        for m in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageAttributeNames=["All"]
        ).get("Messages", []):
            out[m["MessageId"]] = m
    return list(out.values())


@pytest.fixture
def dead_orders(aws) -> dict[str, str]:
    """The orders queue under prefix `rd`, with five messages in its DLQ."""
    env = provision("rd", tables=())
    sqs = boto3.client("sqs")
    for i in range(5):
        sqs.send_message(
            QueueUrl=env["ORDERS_DLQ_URL"],
            MessageBody=f'{{"kind": "order", "order_id": "{i}"}}',
            MessageAttributes={
                "source": {"DataType": "String", "StringValue": "webhook"},
                "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            },
        )
    return env


def test_redrive_moves_every_dlq_message_back_when_the_endpoint_lacks_move_tasks(dead_orders, aws, capsys):
    code = redrive_cmd.main(["orders", "--aws-endpoint", aws.endpoint_url, "--prefix", "rd"])

    assert code == 0
    assert "copying the messages instead" in capsys.readouterr().out
    assert _drain(dead_orders["ORDERS_DLQ_URL"]) == []
    back = _drain(dead_orders["ORDERS_QUEUE_URL"])
    assert sorted(m["Body"] for m in back) == sorted(
        f'{{"kind": "order", "order_id": "{i}"}}' for i in range(5)
    )
    for m in back:
        assert m["MessageAttributes"]["source"] == {"StringValue": "webhook", "DataType": "String"}
        assert m["MessageAttributes"]["raw"]["BinaryValue"] == b"\x00\x01"


def test_redrive_moves_at_most_max_messages_when_max_is_given(dead_orders, aws):
    url = dead_orders["ORDERS_QUEUE_URL"]
    assert redrive_cmd.main([url, "--aws-endpoint", aws.endpoint_url, "--max", "2"]) == 0
    assert len(_drain(url)) == 2
    assert len(_drain(dead_orders["ORDERS_DLQ_URL"])) == 3


def test_redrive_reports_an_empty_dlq(aws, capsys):
    provision("rd-empty", tables=())
    assert redrive_cmd.main(["orders", "--aws-endpoint", aws.endpoint_url, "--prefix", "rd-empty"]) == 1
    assert "is empty: nothing to redrive" in capsys.readouterr().err


def test_redrive_names_the_known_queues_when_the_key_is_unknown(aws, capsys):
    assert redrive_cmd.main(["invoices", "--aws-endpoint", aws.endpoint_url]) == 1
    known = ", ".join(q.key for q in QUEUES)
    assert f"unknown queue 'invoices': expected one of {known}, or a queue URL" in capsys.readouterr().err


def test_redrive_says_which_queue_is_missing_when_the_prefix_matches_nothing(aws, capsys):
    assert redrive_cmd.main(["orders", "--aws-endpoint", aws.endpoint_url, "--prefix", "nope"]) == 1
    assert "queue nope-orders does not exist" in capsys.readouterr().err


def test_redrive_rejects_a_bad_max_and_a_bad_config(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        redrive_cmd.main(["orders", "--max", "0"])
    assert exit_info.value.code == 2
    assert "--max: must be at least 1" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("service_name: orosync\n")
    assert redrive_cmd.main(["orders", "--config", str(bad)]) == 1
    assert "endpoints" in capsys.readouterr().err


# ---- StartMessageMoveTask (unit: moto does not implement it) -----------------------------------


class MoveTaskSqs:
    """Answers the SQS calls the move task path makes, the way AWS documents them."""

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.started: list[dict[str, Any]] = []

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:  # noqa: N803
        return {"Attributes": {"ApproximateNumberOfMessages": "4"}}

    def start_message_move_task(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        return {"TaskHandle": "task-1"}

    def list_message_move_tasks(self, SourceArn: str, MaxResults: int) -> dict[str, Any]:  # noqa: N803
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        moved = 4 if status == "COMPLETED" else 1
        return {
            "Results": [
                {
                    "TaskHandle": "task-1",
                    "Status": status,
                    "SourceArn": SourceArn,
                    "ApproximateNumberOfMessagesMoved": moved,
                    "ApproximateNumberOfMessagesToMove": 4,
                }
            ]
        }


TARGET = redrive_cmd.Target(
    queue_url="https://sqs.eu-west-1.amazonaws.com/111122223333/orders",
    queue_arn="arn:aws:sqs:eu-west-1:111122223333:orders",
    dlq_url="https://sqs.eu-west-1.amazonaws.com/111122223333/orders-dlq",
    dlq_arn="arn:aws:sqs:eu-west-1:111122223333:orders-dlq",
)


def test_redrive_starts_a_move_task_from_dlq_to_queue_and_follows_it_when_waiting():
    sqs = MoveTaskSqs(["RUNNING", "RUNNING", "COMPLETED"])
    lines: list[str] = []

    result = redrive_cmd.redrive(sqs, TARGET, wait=True, poll_seconds=0, out=lines.append)

    assert sqs.started == [{"SourceArn": TARGET.dlq_arn, "DestinationArn": TARGET.queue_arn}]
    assert (result.method, result.task_handle, result.status, result.moved) == (
        "move-task",
        "task-1",
        "COMPLETED",
        4,
    )
    assert "started message move task task-1" in lines
    assert lines[-1] == "task task-1: COMPLETED, 4/4 moved"


def test_redrive_reports_the_running_task_once_when_not_waiting():
    lines: list[str] = []
    result = redrive_cmd.redrive(MoveTaskSqs(["RUNNING"]), TARGET, out=lines.append)
    assert (result.status, result.moved) == ("RUNNING", 1)
    assert lines[-1] == "task task-1: RUNNING, 1/4 moved"


def test_redrive_does_not_fall_back_when_aws_refuses_the_move_task():
    class Refusing(MoveTaskSqs):
        def start_message_move_task(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError(
                {
                    "Error": {"Code": "AccessDenied", "Message": "no"},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                "StartMessageMoveTask",
            )

    with pytest.raises(ClientError):
        redrive_cmd.redrive(Refusing(["RUNNING"]), TARGET, out=lambda _: None)
