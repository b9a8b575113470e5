"""`orosync exceptions list|resolve`: the open named exceptions (DESIGN §5), by owner team, and closing one
a person has dealt with.

The table is found as in `orosync orders` (see `orosync orders --help`).
"""

from __future__ import annotations

import argparse

from cli.orders_cmd import (
    CliError,
    add_location_options,
    default_by,
    open_location,
    run,
    table_text,
    to_json,
    when,
)
from shared.domain.exceptions_catalogue import CATALOGUE, Owner
from shared.runtime import SystemClock


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orosync exceptions list",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--owner", choices=[o.value for o in Owner], help="only this owner team's exceptions")
    p.add_argument("--code", choices=sorted(CATALOGUE), metavar="CODE", help="only this exception type")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_location_options(p)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)

    def action() -> int:
        loc = open_location(args)
        found = [
            e
            for e in loc.store.open_exceptions()
            if (args.owner is None or e["owner"] == args.owner)
            and (args.code is None or e["code"] == args.code)
        ]
        found.sort(key=lambda e: (e["owner"], e["code"], e["last_seen"]))
        if args.json:
            print(to_json(found))
            return 0
        if not found:
            print("no open exceptions" + (f" for {args.owner}" if args.owner else ""))
            return 0
        rows = [
            [e["owner"], e["code"], e["entity"], f"{e['count']}x", when(e["last_seen"]), e["detail"]]
            for e in found
        ]
        print(table_text(["OWNER", "CODE", "ENTITY", "SEEN", "LAST SEEN (UTC)", "DETAIL"], rows))
        print(f"{len(found)} open exception(s); `orosync orders show ORDER` for an order's timeline")
        return 0

    return run("orosync exceptions list", action)


def resolve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orosync exceptions resolve",
        description="Close an open exception that a person has dealt with (a non-blocking one: a blocking "
        "exception closes when its order passes, after `orosync orders release`).",
    )
    p.add_argument("code", choices=sorted(CATALOGUE), metavar="CODE", help="the exception type")
    p.add_argument("entity", help="what it is about, as `exceptions list` shows it (e.g. order:42)")
    p.add_argument("--note", required=True, help="what was done, for the record (e.g. 'credit note CN-7')")
    p.add_argument("--by", default=default_by(), help="who resolves, for the record (default: cli:<user>)")
    add_location_options(p)
    return p


def resolve(argv: list[str]) -> int:
    args = resolve_parser().parse_args(argv)

    def action() -> int:
        etype = CATALOGUE[args.code]
        if etype.blocks_order:
            raise CliError(
                f"{args.code} holds its order: it closes when the order passes; fix the cause and run "
                "`orosync orders release ORDER` instead"
            )
        if not args.note.strip():
            raise CliError("--note must say what was done")
        loc = open_location(args)
        now = SystemClock().now()
        resolution = f"resolved by {args.by}: {args.note.strip()}"
        if not loc.store.close_exception(args.code, args.entity, now, resolution):
            raise CliError(f"no open {args.code} exception for {args.entity}")
        if args.entity.startswith("order:"):
            loc.store.add_event(
                args.entity.removeprefix("order:"),
                now,
                "exception_resolved",
                code=args.code,
                by=args.by,
                note=args.note.strip(),
            )
        loc.store.record_operator_action(
            "resolve", args.entity, args.by, now, code=args.code, note=args.note.strip()
        )
        print(f"{args.code} {args.entity} closed: {resolution}")
        return 0

    return run("orosync exceptions resolve", action)
