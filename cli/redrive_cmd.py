"""`orosync redrive QUEUE`: move the messages of a queue's dead-letter queue back to the queue.

Run it once the cause of the failures is fixed; every consumer is idempotent (DESIGN §6), so a message
that arrives twice does no harm. On AWS it starts an SQS message move task (StartMessageMoveTask) and
reports its progress; the redrive is recorded as an operator action (who: `--by`) in the state table
beside the queue, when there is one. `orosync dlq redrive` does the same, and redrives selected messages.
When the endpoint does not implement that API (the embedded moto endpoint), or
`--max` asks for part of the DLQ, it copies instead: receive from the DLQ, send to the queue, and
delete from the DLQ only what was sent.

QUEUE is a queue key from `shared.resources` (`orders`), resolved to `<prefix>-<key>`, or a queue URL
(a CDK-deployed queue has a generated name: pass its URL). The DLQ is the one named by the queue's
own redrive policy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from cli.orders_cmd import default_by
from local.provision import physical_name, session_for
from shared.adapters.aws.state import StateStore
from shared.config import load_config
from shared.errors import ConfigError
from shared.resources import QUEUES

SQS_BATCH = 10
# Error codes an endpoint answers for an action it does not implement. AWS itself never answers these
# for StartMessageMoveTask; moto answers a bare HTTP 500 (no AWS error code at all).
_NOT_IMPLEMENTED_CODES = {"NotImplemented", "InvalidAction", "UnknownOperation", "UnknownOperationException"}


class RedriveError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


@dataclass
class RedriveResult:
    method: str  # "move-task" or "copy"
    moved: int | None = None  # messages moved (copy), or last reported by the move task
    failed: int = 0  # messages left in the DLQ because their copy could not be sent
    task_handle: str | None = None
    status: str | None = None  # move task status: RUNNING, COMPLETED, FAILED, ...


def resolve(sqs: Any, queue: str, prefix: str) -> Target:
    if queue.startswith(("https://", "http://")):
        url = queue
    else:
        keys = [q.key for q in QUEUES]
        if queue not in keys:
            raise RedriveError(f"unknown queue {queue!r}: expected one of {', '.join(keys)}, or a queue URL")
        name = physical_name(prefix, queue)
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as err:
            if _code(err) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                raise
            raise RedriveError(
                f"queue {name} does not exist: check --prefix (now {prefix!r}) and the endpoint, or pass the queue URL"
            ) from None
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])["Attributes"]
    if "RedrivePolicy" not in attrs:
        raise RedriveError(f"queue {url} has no dead-letter queue (no redrive policy)")
    dlq_arn = json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"]
    _, _, _, _, account, dlq_name = dlq_arn.split(":")
    dlq_url = sqs.get_queue_url(QueueName=dlq_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    return Target(url, attrs["QueueArn"], dlq_url, dlq_arn)


def dlq_depth(sqs: Any, target: Target) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=target.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def redrive(
    sqs: Any,
    target: Target,
    *,
    max_messages: int | None = None,
    wait: bool = False,
    poll_seconds: float = 2.0,
    out: Callable[[str], None] = print,
) -> RedriveResult:
    waiting = dlq_depth(sqs, target)
    if waiting == 0:
        raise RedriveError(f"the dead-letter queue {target.dlq_url} is empty: nothing to redrive")
    out(f"{waiting} message(s) in {target.dlq_url}")
    if max_messages is None:
        try:
            return _move_task(sqs, target, wait=wait, poll_seconds=poll_seconds, out=out)
        except ClientError as err:
            if not _not_implemented(err):
                raise
            out("the endpoint does not implement StartMessageMoveTask: copying the messages instead")
    return _copy(sqs, target, max_messages, out)


def _move_task(
    sqs: Any, target: Target, *, wait: bool, poll_seconds: float, out: Callable[[str], None]
) -> RedriveResult:
    handle = sqs.start_message_move_task(SourceArn=target.dlq_arn, DestinationArn=target.queue_arn)[
        "TaskHandle"
    ]
    out(f"started message move task {handle}")
    result = RedriveResult(method="move-task", task_handle=handle, status="RUNNING")
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=target.dlq_arn, MaxResults=1).get("Results", [])
        task = next((t for t in tasks if t.get("TaskHandle") in (handle, None)), tasks[0] if tasks else None)
        if task:
            result.status = task.get("Status")
            result.moved = task.get("ApproximateNumberOfMessagesMoved")
            total = task.get("ApproximateNumberOfMessagesToMove")
            line = f"task {handle}: {result.status}, {result.moved or 0}/{total if total is not None else '?'} moved"
            if task.get("FailureReason"):
                line += f" ({task['FailureReason']})"
            out(line)
        if not wait or result.status not in ("RUNNING", "CANCELLING"):
            return result
        time.sleep(poll_seconds)


def _copy(sqs: Any, target: Target, max_messages: int | None, out: Callable[[str], None]) -> RedriveResult:
    result = RedriveResult(method="copy", moved=0)
    fifo = target.queue_url.endswith(".fifo")
    empty_receives = 0
    while max_messages is None or (result.moved or 0) < max_messages:
        want = SQS_BATCH if max_messages is None else min(SQS_BATCH, max_messages - (result.moved or 0))
        messages = sqs.receive_message(
            QueueUrl=target.dlq_url,
            MaxNumberOfMessages=want,
            WaitTimeSeconds=1,
            VisibilityTimeout=60,  # held while being copied; a failed copy reappears in the DLQ after it
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            empty_receives += 1
            if empty_receives >= 2:  # one empty long poll can be a miss; two is an empty queue
                break
            continue
        empty_receives = 0
        sent = sqs.send_message_batch(
            QueueUrl=target.queue_url, Entries=[_copy_entry(str(i), m, fifo) for i, m in enumerate(messages)]
        )
        for failure in sent.get("Failed", []):
            result.failed += 1
            out(
                f"could not send a copy ({failure.get('Code')}: {failure.get('Message')}); it stays in the DLQ"
            )
        sent_ids = {s["Id"] for s in sent.get("Successful", [])}
        # Only now that their copies are in the queue may the originals go.
        to_delete = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if str(i) in sent_ids
        ]
        if to_delete:
            deleted = sqs.delete_message_batch(QueueUrl=target.dlq_url, Entries=to_delete)
            for failure in deleted.get("Failed", []):
                out(
                    f"a copied message could not be deleted from the DLQ ({failure.get('Code')}): it may be redriven twice"
                )
        result.moved = (result.moved or 0) + len(sent_ids)
    out(f"moved {result.moved} message(s) from {target.dlq_url} to {target.queue_url}")
    return result


def _copy_entry(entry_id: str, m: dict[str, Any], fifo: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": m["Body"]}
    attributes = {
        name: {k: v for k, v in a.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, a in m.get("MessageAttributes", {}).items()
    }
    if attributes:
        entry["MessageAttributes"] = attributes
    if fifo:
        system = m.get("Attributes", {})
        entry["MessageGroupId"] = system["MessageGroupId"]
        entry["MessageDeduplicationId"] = system.get("MessageDeduplicationId") or m["MessageId"]
    return entry


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _not_implemented(err: ClientError) -> bool:
    code = _code(err)
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in _NOT_IMPLEMENTED_CODES or (status in (500, 501) and (code.isdigit() or not code))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="orosync redrive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "queue", metavar="QUEUE", help=f"queue key ({', '.join(q.key for q in QUEUES)}) or queue URL"
    )
    parser.add_argument("--config", help="service config; its service_name gives the default prefix")
    parser.add_argument(
        "--aws-endpoint", help="AWS endpoint URL (e.g. the local runtime's); default: real AWS"
    )
    parser.add_argument(
        "--prefix", help="queue name prefix (default: <service_name>-local, as `orosync local up`)"
    )
    parser.add_argument(
        "--max", type=_positive, dest="max_messages", help="move at most N messages (copies them)"
    )
    parser.add_argument("--wait", action="store_true", help="follow the move task until it ends")
    parser.add_argument(
        "--by", default=default_by(), help="who redrives, for the record (default: cli:<user>)"
    )
    args = parser.parse_args(argv)

    service_name = "orosync"
    if args.config:
        try:
            service_name = load_config(args.config).service_name
        except ConfigError as err:
            print(err, file=sys.stderr)
            return 1
    prefix = args.prefix or f"{service_name}-local"
    sqs = session_for(args.aws_endpoint).client("sqs", endpoint_url=args.aws_endpoint)
    try:
        target = resolve(sqs, args.queue, prefix)
        result = redrive(sqs, target, max_messages=args.max_messages, wait=args.wait)
    except RedriveError as err:
        print(f"orosync redrive: {err}", file=sys.stderr)
        return 1
    except ClientError as err:
        print(f"orosync redrive: {_code(err)}: {err}", file=sys.stderr)
        return 1
    _record(args, prefix, result)
    if result.failed or result.status in ("FAILED", "CANCELLED"):
        return 1
    return 0


def _record(args: argparse.Namespace, prefix: str, result: RedriveResult) -> None:
    """The redrive as an operator action (`orosync actions list`), in the state table beside the queue."""
    session = session_for(args.aws_endpoint)
    name = physical_name(prefix, "state")
    try:
        session.client("dynamodb", endpoint_url=args.aws_endpoint).describe_table(TableName=name)
    except ClientError as err:
        if _code(err) != "ResourceNotFoundException":
            raise
        print(
            f"not recorded as an operator action: no state table {name} (`orosync dlq redrive` takes --table)"
        )
        return
    store = StateStore(name, dynamodb=session.resource("dynamodb", endpoint_url=args.aws_endpoint))
    store.record_operator_action(
        "redrive",
        f"queue:{args.queue}",
        args.by,
        datetime.now(UTC),
        method=result.method,
        moved=result.moved,
        task=result.task_handle,
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
