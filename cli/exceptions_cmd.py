"""`orosync exceptions list`: the open named exceptions (DESIGN §5), by owner team, with what to do.

The table is found as in `orosync orders` (see `orosync orders --help`).
"""

from __future__ import annotations

import argparse

from cli.orders_cmd import add_location_options, open_location, run, table_text, to_json, when
from shared.domain.exceptions_catalogue import CATALOGUE, Owner


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
