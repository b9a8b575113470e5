"""`orosync dlq list|redrive QUEUE`: the dead letters of a queue, and sending them back.

`list` shows each message in the queue's DLQ: what it is about (order, sale, customer, or its kind), the
last error its consumer recorded (functions record it by message id: shared/flows/dead_letters.py; "not
recorded" for a message that died before that, or whose consumer could not write it), how often the
consumer received it, and its age.

`redrive` sends the whole DLQ back to its queue through an SQS message move task (StartMessageMoveTask; a
copy where the endpoint lacks it, as `orosync redrive` does), or, with `--order` or `--error`, only the
matching messages, one by one: each is sent to the queue and only then deleted from the DLQ; the others
stay. `--dry-run` changes nothing and says what each message would do: an order already synced, an order
still blocked by an open exception (it would be held again), or will be processed. Every redrive is recorded
as an operator action (`orosync actions list`) with who (`--by`) and when.

Looking at a DLQ receives its messages (and hides them for a moment), so SQS counts one more receive for
each; the receive count shown leaves that one out.

QUEUE is a queue key (orders, stock, prices, fulfilment, customers) or a queue URL; the state table is found
as in `orosync orders` (see `orosync orders --help`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cli import redrive_cmd
from cli.orders_cmd import CliError, Location, default_by, open_location, run, table_text, to_json
from shared.adapters.aws.state import StateStore
from shared.domain.exceptions_catalogue import exception_type
from shared.resources import QUEUES
from shared.runtime import SystemClock

# What identifies the work of each kind of message (shared/flows/intake.py and the flows' *Work models).
IDENTIFIERS = (
    "order_id",
    "sale_id",
    "order_number",
    "oro_id",
    "erp_id",
    "erp_skus",
    "mapping",
    "run",
    "page",
)
SYNCED = "already synced"
BLOCKED = "still blocked by an exception"
WILL_PROCESS = "will be processed"
HOLD_SECONDS = 120  # messages looked at stay hidden this long at most, should the command die midway


@dataclass
class DeadLetter:
    message: dict[str, Any]  # as received from the DLQ
    identity: dict[str, Any]
    receives: int  # the consumer's receives (not this look)
    sent_at: datetime
    error: str | None  # the last error its consumer recorded
    outcome: str = ""

    @property
    def message_id(self) -> str:
        return str(self.message["MessageId"])

    def view(self, now: datetime) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "subject": subject(self.identity),
            **self.identity,
            "error": self.error,
            "receives": self.receives,
            "sent_at": self.sent_at.isoformat(),
            "age_seconds": int((now - self.sent_at).total_seconds()),
            **({"outcome": self.outcome} if self.outcome else {}),
        }


def identify(body: str) -> dict[str, Any]:
    """The message's kind and the identifiers of its work; kind `unreadable` for a body that is not JSON."""
    try:
        data = json.loads(body)
    except ValueError:
        return {"kind": "unreadable"}
    if not isinstance(data, dict):
        return {"kind": "unreadable"}
    return {
        "kind": str(data.get("kind", "?")),
        **{k: data[k] for k in IDENTIFIERS if data.get(k) is not None},
    }


def subject(identity: dict[str, Any]) -> str:
    """`order 1001`, `sale S-1`, `customer 7`, `stock_refresh erp_skus=A,B`: what a person looks it up by."""
    if "order_id" in identity:
        return f"order {identity['order_id']}"
    if "sale_id" in identity or "order_number" in identity:
        return f"sale {identity.get('sale_id') or identity.get('order_number')}"
    if "oro_id" in identity:
        return f"customer {identity['oro_id']}"
    if "erp_id" in identity:
        return f"ERP customer {identity['erp_id']}"
    rest = [
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in identity.items()
        if k != "kind"
    ]
    return " ".join([identity["kind"], *rest])


def redrive_outcome(store: StateStore, identity: dict[str, Any]) -> str:
    """What redriving the message would do now. An order message: `already synced` (synced or voided),
    `still blocked by an exception` (one that holds the order is open: it would be held again), else `will
    be processed`. Every other kind of message will be processed."""
    order_id = identity.get("order_id")
    if identity["kind"] != "order" or order_id is None:
        return WILL_PROCESS
    state = store.get_order(str(order_id))
    if state.status in ("synced", "voided"):
        return f"{SYNCED} ({state.status}, sale {state.sale_id or '-'})"
    blocking = [
        e["code"] for e in store.order_exceptions(str(order_id)) if exception_type(e["code"]).blocks_order
    ]
    if blocking:
        return f"{BLOCKED} ({', '.join(blocking)})"
    return WILL_PROCESS


# -- SQS -------------------------------------------------------------------------------------------------


def peek(sqs: Any, dlq_url: str) -> list[dict[str, Any]]:
    """Every message in the DLQ, received and held hidden until `let_go` (or HOLD_SECONDS)."""
    received: dict[str, dict[str, Any]] = {}
    empty_receives = 0
    while empty_receives < 2:  # one empty long poll can be a miss; two is an empty queue
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=redrive_cmd.SQS_BATCH,
            WaitTimeSeconds=1,
            VisibilityTimeout=HOLD_SECONDS,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        empty_receives = 0 if messages else empty_receives + 1
        received.update((m["MessageId"], m) for m in messages)
    return list(received.values())


def let_go(sqs: Any, dlq_url: str, messages: list[dict[str, Any]]) -> None:
    """Make messages looked at visible again, where they were."""
    for start in range(0, len(messages), redrive_cmd.SQS_BATCH):
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(messages[start : start + redrive_cmd.SQS_BATCH])
        ]
        sqs.change_message_visibility_batch(QueueUrl=dlq_url, Entries=entries)


def dead_letters(sqs: Any, store: StateStore, target: redrive_cmd.Target) -> list[DeadLetter]:
    messages = peek(sqs, target.dlq_url)
    failures = store.message_failures([m["MessageId"] for m in messages])
    letters = [
        DeadLetter(
            message=m,
            identity=identify(m["Body"]),
            receives=max(0, int(m["Attributes"].get("ApproximateReceiveCount", "1")) - 1),
            sent_at=datetime.fromtimestamp(int(m["Attributes"]["SentTimestamp"]) / 1000, UTC),
            error=failures.get(m["MessageId"], {}).get("error"),
        )
        for m in messages
    ]
    return sorted(letters, key=lambda d: d.sent_at)


def send_back(
    sqs: Any, target: redrive_cmd.Target, letters: list[DeadLetter], out: Callable[[str], None]
) -> tuple[list[DeadLetter], list[DeadLetter]]:
    """Send each letter to the queue, then delete from the DLQ those whose copy was sent: (moved, kept)."""
    fifo = target.queue_url.endswith(".fifo")
    moved: list[DeadLetter] = []
    kept: list[DeadLetter] = []
    for start in range(0, len(letters), redrive_cmd.SQS_BATCH):
        batch = letters[start : start + redrive_cmd.SQS_BATCH]
        sent = sqs.send_message_batch(
            QueueUrl=target.queue_url,
            Entries=[redrive_cmd._copy_entry(str(i), d.message, fifo) for i, d in enumerate(batch)],
        )
        for failure in sent.get("Failed", []):
            out(
                f"could not send a copy ({failure.get('Code')}: {failure.get('Message')}); it stays in the DLQ"
            )
        sent_ids = {s["Id"] for s in sent.get("Successful", [])}
        moved += [d for i, d in enumerate(batch) if str(i) in sent_ids]
        kept += [d for i, d in enumerate(batch) if str(i) not in sent_ids]
        to_delete = [
            {"Id": str(i), "ReceiptHandle": d.message["ReceiptHandle"]}
            for i, d in enumerate(batch)
            if str(i) in sent_ids
        ]
        if to_delete:
            deleted = sqs.delete_message_batch(QueueUrl=target.dlq_url, Entries=to_delete)
            for failure in deleted.get("Failed", []):
                out(
                    f"a sent message could not be deleted from the DLQ ({failure.get('Code')}): it may run twice"
                )
    return moved, kept


# -- commands --------------------------------------------------------------------------------------------


def age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def _rows(letters: list[DeadLetter], now: datetime, outcome: bool) -> str:
    header = ["MESSAGE", "ABOUT", "RECEIVES", "AGE", "ERROR"] + (["REDRIVE WOULD"] if outcome else [])
    rows = [
        [
            d.message_id,
            subject(d.identity),
            str(d.receives),
            age((now - d.sent_at).total_seconds()),
            d.error or "not recorded",
            *([d.outcome] if outcome else []),
        ]
        for d in letters
    ]
    return table_text(header, rows)


def list_letters(loc: Location, target: redrive_cmd.Target, as_json: bool) -> int:
    sqs = _sqs(loc)
    letters = dead_letters(sqs, loc.store, target)
    let_go(sqs, target.dlq_url, [d.message for d in letters])
    now = SystemClock().now()
    if as_json:
        print(to_json([d.view(now) for d in letters]))
        return 0
    if not letters:
        print(f"the dead-letter queue {target.dlq_url} is empty")
        return 0
    print(_rows(letters, now, outcome=False))
    print(f"{len(letters)} message(s) in {target.dlq_url}")
    return 0


def redrive(
    loc: Location,
    target: redrive_cmd.Target,
    queue: str,
    *,
    orders: list[str],
    error: str | None,
    dry_run: bool,
    by: str,
) -> int:
    sqs = _sqs(loc)
    if not (orders or error or dry_run):
        result = redrive_cmd.redrive(sqs, target)
        action = loc.store.record_operator_action(
            "redrive",
            f"queue:{queue}",
            by,
            SystemClock().now(),
            method=result.method,
            moved=result.moved,
            task=result.task_handle,
        )
        print(f"recorded: {action['action']} {action['target']} by {by} at {action['at']}")
        return 1 if result.failed or result.status in ("FAILED", "CANCELLED") else 0

    letters = dead_letters(sqs, loc.store, target)
    chosen = [d for d in letters if _matches(d, orders, error)]
    others = [d for d in letters if d not in chosen]
    for d in chosen:
        d.outcome = redrive_outcome(loc.store, d.identity)
    now = SystemClock().now()
    if dry_run:
        let_go(sqs, target.dlq_url, [d.message for d in letters])
        if chosen:
            print(_rows(chosen, now, outcome=True))
        how = "one by one" if orders or error else "by a message move task"
        print(
            f"dry run: {len(chosen)} of {len(letters)} message(s) in {target.dlq_url} would be redriven "
            f"{how}; nothing was changed"
        )
        return 0
    if not chosen:
        let_go(sqs, target.dlq_url, [d.message for d in letters])
        raise CliError(f"no message in {target.dlq_url} matches {_filters(orders, error)}: nothing redriven")
    moved, kept = send_back(sqs, target, chosen, print)
    let_go(sqs, target.dlq_url, [d.message for d in [*others, *kept]])
    for d in moved:
        print(f"redriven {d.message_id}  {subject(d.identity)}: {d.outcome}")
    print(f"moved {len(moved)} of {len(letters)} message(s) from {target.dlq_url} to {target.queue_url}")
    action = loc.store.record_operator_action(
        "redrive",
        f"queue:{queue}",
        by,
        SystemClock().now(),
        method="selected",
        filters=_filters(orders, error),
        moved=len(moved),
        messages={d.message_id: subject(d.identity) for d in moved},
    )
    print(f"recorded: {action['action']} {action['target']} by {by} at {action['at']}")
    return 1 if kept else 0


def _matches(d: DeadLetter, orders: list[str], error: str | None) -> bool:
    if orders and str(d.identity.get("order_id")) not in orders:
        return False
    return not error or (d.error is not None and error.lower() in d.error.lower())


def _filters(orders: list[str], error: str | None) -> str:
    parts = [f"order {', '.join(orders)}"] if orders else []
    parts += [f"error containing {error!r}"] if error else []
    return " and ".join(parts) or "everything"


def _sqs(loc: Location) -> Any:
    return loc.session.client("sqs", endpoint_url=loc.endpoint_url)


def _location_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "queue_key", metavar="QUEUE", help=f"queue key ({', '.join(q.key for q in QUEUES)}) or queue URL"
    )
    p.add_argument("--config", help="service config; its service_name gives the default prefix")
    p.add_argument(
        "--aws-endpoint",
        metavar="URL|aws",
        help="AWS endpoint URL (e.g. the local runtime's), or 'aws' for real AWS; "
        "default: the environment's (AWS_ENDPOINT_URL, else real AWS)",
    )
    p.add_argument("--prefix", help="table and queue name prefix (default: <service_name>-local)")
    p.add_argument("--table", help="state table name (a deployed stack's generated name); overrides --prefix")
    p.set_defaults(queue=None)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orosync dlq", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="{list,redrive}")
    ls = sub.add_parser("list", help="each dead letter: what it is about, its error, receives, age")
    _location_options(ls)
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    r = sub.add_parser("redrive", help="send dead letters back to their queue (all, or those selected)")
    _location_options(r)
    r.add_argument(
        "--order", action="append", default=[], metavar="ID", help="only this order's messages (repeatable)"
    )
    r.add_argument("--error", metavar="TEXT", help="only messages whose recorded error contains TEXT")
    r.add_argument("--dry-run", action="store_true", help="say what each message would do; change nothing")
    r.add_argument("--by", default=default_by(), help="who redrives, for the record (default: cli:<user>)")
    return p


def main(argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    for order in getattr(args, "order", None) or []:
        if not order.strip().isdigit():
            p.error(f"--order must be an Oro order id (a positive integer), got {order!r}")
    known = [q.key for q in QUEUES]
    if not args.queue_key.startswith(("https://", "http://")) and args.queue_key not in known:
        p.error(f"unknown queue {args.queue_key!r}: expected one of {', '.join(known)}, or a queue URL")

    def action() -> int:
        loc = open_location(args)
        try:
            target = redrive_cmd.resolve(_sqs(loc), args.queue_key, loc.prefix)
            if args.command == "list":
                return list_letters(loc, target, args.json)
            return redrive(
                loc,
                target,
                args.queue_key,
                orders=args.order,
                error=args.error,
                dry_run=args.dry_run,
                by=args.by,
            )
        except redrive_cmd.RedriveError as err:
            raise CliError(str(err)) from None

    return run(f"orosync dlq {args.command}", action)
