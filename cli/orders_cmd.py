"""`orosync orders show|release|list`: look at one order's state and timeline, release a held order, list
the orders in one status (held, by default) with their reasons and owners.

The state table and the orders queue are found as `orosync redrive` finds its queue: named
`<prefix>-state` and `<prefix>-orders`, the prefix being `<service_name>-local` (service_name from
`--config`, else `orosync`) unless `--prefix` says otherwise; on the endpoint `--aws-endpoint` names (a
URL, e.g. the local runtime's embedded one, or `aws` for real AWS with the default credential chain). A
CDK-deployed stack has generated names: pass them with `--table` and `--queue`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from local.provision import physical_name, session_for
from shared.adapters.aws.queue import SqsQueue
from shared.adapters.aws.state import StateStore
from shared.config import Config, load_config
from shared.errors import ConfigError, IntegrationError
from shared.flows.intake import order_entity
from shared.flows.release import (
    ReleaseError,
    owner_of,
    reason_code,
    release_order,
)
from shared.observability import SERVICE
from shared.runtime import SystemClock

REAL_AWS = "aws"
STATUSES = ("held", "new", "ignored", "synced", "draft", "voided", "cancel_blocked")


class CliError(Exception):
    """One line naming the problem; the command exits 1."""


# -- where the state lives (shared by `orders`, `customers` and `exceptions`) --------------------------------


def add_location_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="service config; its service_name gives the default prefix")
    p.add_argument(
        "--aws-endpoint",
        metavar="URL|aws",
        help="AWS endpoint URL (e.g. the local runtime's), or 'aws' for real AWS; "
        "default: the environment's (AWS_ENDPOINT_URL, else real AWS)",
    )
    p.add_argument("--prefix", help="table and queue name prefix (default: <service_name>-local)")
    p.add_argument("--table", help="state table name (a deployed stack's generated name); overrides --prefix")
    p.add_argument("--queue", help="orders queue URL (a deployed stack's); overrides --prefix")


@dataclass
class Location:
    store: StateStore
    table_name: str
    prefix: str
    where: str
    config: Config | None
    session: boto3.session.Session
    endpoint_url: str | None
    queue_url: str | None = None

    def queue(self, key: str = "orders") -> SqsQueue:
        """The orders queue (`--queue` overrides it), or another of the service's queues by its key."""
        sqs = self.session.client("sqs", endpoint_url=self.endpoint_url)
        url = self.queue_url if key == "orders" else None
        if url is None:
            name = physical_name(self.prefix, key)
            try:
                url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
            except ClientError as err:
                if _code(err) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                    raise
                raise CliError(
                    f"queue {name} does not exist on {self.where}: check --prefix (now {self.prefix!r}) "
                    "and --aws-endpoint, or pass --queue"
                ) from None
        return SqsQueue(url, sqs=sqs)


def open_location(args: argparse.Namespace) -> Location:
    config = None
    service_name = "orosync"
    if args.config:
        try:
            config = load_config(args.config)
        except ConfigError as err:
            raise CliError(str(err).replace("\n", "; ")) from None
        service_name = config.service_name
    prefix = args.prefix or f"{service_name}-local"
    endpoint = None if args.aws_endpoint in (None, REAL_AWS) else args.aws_endpoint
    where = f"AWS endpoint {endpoint}" if endpoint else "AWS"
    session = session_for(endpoint)
    table_name = args.table or physical_name(prefix, "state")
    try:
        session.client("dynamodb", endpoint_url=endpoint).describe_table(TableName=table_name)
    except ClientError as err:
        if _code(err) != "ResourceNotFoundException":
            raise
        hint = (
            "pass the right --table" if args.table else f"check --prefix (now {prefix!r}) and --aws-endpoint"
        )
        raise CliError(f"table {table_name} does not exist on {where}: {hint}") from None
    store = StateStore(table_name, dynamodb=session.resource("dynamodb", endpoint_url=endpoint))
    return Location(store, table_name, prefix, where, config, session, endpoint, args.queue)


def run(prog: str, action: Callable[[], int]) -> int:
    """Runs a command body; its known failures become one line on stderr and exit 1. The flows' own
    info logs (JSON lines meant for CloudWatch) are kept out of the command's output."""
    service_log = logging.getLogger(SERVICE)
    level = service_log.level
    service_log.setLevel(logging.WARNING)
    try:
        return action()
    except (CliError, ReleaseError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
    except NoCredentialsError:
        print(f"{prog}: no AWS credentials: configure a profile or pass --aws-endpoint URL", file=sys.stderr)
    except ClientError as err:
        print(
            f"{prog}: AWS {_code(err)}: {err.response.get('Error', {}).get('Message', '')}", file=sys.stderr
        )
    except (BotoCoreError, IntegrationError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
    finally:
        service_log.setLevel(level)
    return 1


def default_by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (containers)
        return "cli"


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


# -- output ----------------------------------------------------------------------------------------------


def when(iso: str | None) -> str:
    """`2026-05-01T10:00:00.123456Z` -> `2026-05-01 10:00:00.123` (UTC)."""
    if not iso:
        return "-"
    return iso.replace("T", " ").rstrip("Z")[:23]


def table_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    ]
    return "\n".join(lines)


def to_json(data: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        if isinstance(o, set | frozenset):
            return sorted(o)
        return str(o)

    return json.dumps(data, indent=2, default=default, ensure_ascii=False)


def describe_event(e: dict[str, Any]) -> list[str]:
    """One event as readable text: the first line, then any continuation lines."""
    kind = e["kind"]
    d = {k: v for k, v in e.items() if k not in ("at", "kind")}
    if kind == "received":
        text = f"version {d.get('version')} ({d.get('state')})"
        return [text + (f", message {d['message_id']}" if d.get("message_id") else "")]
    if kind == "gated":
        text = f"version {d.get('version')}: {d.get('action')}"
        return [text + (f" ({d['reason']})" if d.get("reason") else "")]
    if kind == "held":
        return list(d.get("reasons") or ["(no reason recorded)"])
    if kind in ("released", "auto_released"):
        text = f"by {d.get('by')}" + (
            ", storefront prices accepted" if d.get("accept_storefront_price") else ""
        )
        return [text, *(f"because {b}" for b in d.get("because", []))]
    if kind == "processed":
        return [f"{d.get('outcome')}, {d.get('erp_calls')} ERP call(s)"]
    if kind in ("erp_sale_created", "erp_sale_adopted", "erp_lines_adopted", "voided", "unchanged"):
        return [f"sale {d.get('sale_id')}" + (f", has lines: {d['has_lines']}" if "has_lines" in d else "")]
    if kind == "erp_lines_added":
        status = "AUTHORISED" if d.get("authorise") else "DRAFT"
        return [f"sale {d.get('sale_id')}: {d.get('lines')} line(s), {status}"]
    if kind == "bound":
        return [f"sale {d.get('sale_id')} ({d.get('erp_status')})"]
    # fulfilment (shared/flows/fulfilment.py)
    if kind == "tracking_added":
        return [f"{d.get('carrier') or 'carrier?'} {d.get('number')} (shipment {d.get('task')})"]
    if kind == "tracking_replaced":
        return [f"{d.get('number')} removed: Cin7 changed it (shipment {d.get('task')})"]
    if kind in ("shipped", "partially_shipped"):
        per_line = d.get("shipped_per_line") or {}
        return ["shipped per line: " + ", ".join(f"line {k}: {v}" for k, v in sorted(per_line.items()))]
    if kind in ("invoiced", "paid"):
        return [f"sale {d.get('sale_id')}"]
    if kind == "voided_in_erp":
        return [f"sale {d.get('sale_id')} voided in Cin7 while the Oro order is open"]
    if kind == "erp_lines_differ":
        beyond = d.get("shipped_beyond_the_order") or {}
        return ["Cin7 shipped beyond the order: " + ", ".join(f"{k} {v}" for k, v in sorted(beyond.items()))]
    return [", ".join(f"{k}={v}" for k, v in sorted(d.items()))]


# -- orders show -----------------------------------------------------------------------------------------

STATE_FIELDS = (
    "status",
    "version",
    "updated_at",
    "sale_id",
    "erp_status",
    "step",
    "reasons",
    "customer_id",
    "erp_customer_id",
    "price_accepted_version",
    "price_accepted_by",
    "released_at",
    "released_by",
    "released_hold",
)


def show(loc: Location, order_id: str, as_json: bool) -> int:
    item = loc.store.get_order_item(order_id)
    if item is None:
        raise CliError(f"order {order_id} is not in the state table {loc.table_name}: it was never taken in")
    exceptions = loc.store.order_exceptions(order_id)
    received = [
        {"kind": "received", **r} for r in loc.store.intake_records(order_entity(order_id)) if r.get("at")
    ]
    timeline = sorted([*received, *loc.store.timeline(order_id)], key=lambda e: str(e["at"]))
    if as_json:
        state = {"order_id": order_id, **{k: item[k] for k in STATE_FIELDS if k in item}}
        print(to_json({"order": state, "exceptions": exceptions, "timeline": timeline}))
        return 0
    status = item.get("status", "new")
    rows = [
        ("version", item.get("version") or "-"),
        ("since", f"{when(item.get('updated_at'))} UTC"),
        ("ERP sale", item.get("sale_id") or "-"),
        ("ERP status", item.get("erp_status") or "-"),
    ]
    if item.get("customer_id"):
        rows.append(("customer", f"{item['customer_id']} -> ERP {item.get('erp_customer_id') or '-'}"))
    if item.get("price_accepted_version"):
        accepted = f"version {item['price_accepted_version']} by {item.get('price_accepted_by', '?')}"
        rows.append(("prices accepted", accepted))
    if status == "held" and item.get("released_hold") == item.get("updated_at"):
        rows.append(("release", f"queued {when(item.get('released_at'))} by {item.get('released_by')}"))
    for n, reason in enumerate(item.get("reasons") or []):
        owner = owner_of(reason_code(reason))
        rows.append(("reasons" if n == 0 else "", reason + (f"  [{owner}]" if owner else "")))
    for n, ex in enumerate(exceptions):
        text = (
            f"{ex['code']} ({ex['owner']}): seen {ex['count']}x, first {when(ex['first_seen'])}, "
            f"last {when(ex['last_seen'])}"
        )
        rows.append(("open exceptions" if n == 0 else "", text))
    width = max(len(k) for k, _ in rows)
    lines = [f"order {order_id}: {status}"]
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    lines.append("timeline (UTC):")
    kinds = max((len(e["kind"]) for e in timeline), default=0)
    for e in timeline:
        first, *more = describe_event(e)
        lines.append(f"  {when(str(e['at']))}  {e['kind']:<{kinds}}  {first}")
        lines += [f"  {'':<23}  {'':<{kinds}}  {m}" for m in more]
    if not timeline:
        lines.append("  (no events)")
    print("\n".join(lines))
    return 0


# -- orders release --------------------------------------------------------------------------------------


def release(loc: Location, order_id: str, accept: bool, by: str) -> int:
    queue = loc.queue()
    clock = SystemClock()
    result = release_order(loc.store, queue, clock, order_id, accept_storefront_price=accept, by=by)
    loc.store.record_operator_action(
        "release",
        f"order:{order_id}",
        by,
        clock.now(),
        version=result.version,
        accept_storefront_price=accept,
        message_id=result.message_id,
    )
    codes = ", ".join(dict.fromkeys(reason_code(r) or r for r in result.reasons)) or "no recorded reason"
    print(f"released order {order_id} (version {result.version}), held for {codes}")
    if accept:
        print(f"  storefront prices of version {result.version} accepted by {by}")
    print(f"  message {result.message_id} queued on {queue.url}: the order runs through the whole flow again")
    return 0


# -- orders list -----------------------------------------------------------------------------------------


def list_orders(loc: Location, status: str, as_json: bool) -> int:
    items = sorted(loc.store.order_items_with_status(status), key=lambda i: str(i.get("updated_at", "")))
    records: list[dict[str, Any]] = [
        {
            "order_id": str(i["pk"]).removeprefix("order#"),
            "status": i.get("status"),
            "since": i.get("updated_at"),
            "version": i.get("version"),
            "sale_id": i.get("sale_id"),
            "reasons": list(i.get("reasons") or []),
            "owners": sorted({o for r in i.get("reasons") or [] if (o := owner_of(reason_code(r)))}),
            "release_queued": status == "held" and i.get("released_hold") == i.get("updated_at"),
        }
        for i in items
    ]
    if as_json:
        print(to_json(records))
        return 0
    if not records:
        print(f"no {status} orders")
        return 0
    rows: list[list[str]] = []
    for r in records:
        first = [
            r["order_id"] + (" (release queued)" if r["release_queued"] else ""),
            when(r["since"]),
            r["sale_id"] or "-",
            ", ".join(r["owners"]) or "-",
        ]
        reasons = r["reasons"] or ["-"]
        rows.append([*first, reasons[0]])
        rows += [["", "", "", "", reason] for reason in reasons[1:]]
    print(table_text(["ORDER", "SINCE (UTC)", "SALE", "OWNERS", "REASONS"], rows))
    print(f"{len(records)} {status} order(s)")
    return 0


# -- entry point -----------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orosync orders", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="{show,release,list}")
    s = sub.add_parser("show", help="one order's state, reasons, open exceptions and timeline")
    s.add_argument("order", metavar="ORDER", help="OroCommerce order id")
    s.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_location_options(s)
    r = sub.add_parser("release", help="run a held order through the whole flow again")
    r.add_argument("order", metavar="ORDER", help="OroCommerce order id")
    r.add_argument(
        "--accept-storefront-price",
        action="store_true",
        help="finance accepts the storefront prices of the held version (clears PRICE_MISMATCH)",
    )
    r.add_argument("--by", default=default_by(), help="who releases, for the timeline (default: cli:<user>)")
    add_location_options(r)
    ls = sub.add_parser("list", help="the orders in one status, with reasons and owners")
    ls.add_argument("--status", choices=STATUSES, default="held", help="default: held")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_location_options(ls)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    prog = f"orosync orders {args.command}"

    def action() -> int:
        loc = open_location(args)
        if args.command == "show":
            return show(loc, args.order, args.json)
        if args.command == "release":
            return release(loc, args.order, args.accept_storefront_price, args.by)
        return list_orders(loc, args.status, args.json)

    return run(prog, action)
