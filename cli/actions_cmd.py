"""`orosync actions list [--since]`: the operator actions recorded (release, map, resolve, redrive), with who
and when (UTC), oldest first. The table is found as in `orosync orders` (see `orosync orders --help`)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from cli.orders_cmd import CliError, add_location_options, open_location, run, table_text, to_json, when
from shared.runtime import SystemClock


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="orosync actions list", description=__doc__)
    p.add_argument(
        "--since", help="UTC date or time, e.g. 2026-05-01 or 2026-05-01T09:00 (default: a day ago)"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_location_options(p)
    return p


def _since(text: str | None, now: datetime) -> datetime:
    if text is None:
        return now - timedelta(days=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--since {text!r} is not a date or time (e.g. 2026-05-01 or 2026-05-01T09:00)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)

    def action() -> int:
        now = SystemClock().now()
        since = _since(args.since, now)
        actions = open_location(args).store.operator_actions(since, now)
        if args.json:
            print(to_json(actions))
            return 0
        if not actions:
            print(f"no operator action since {since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
            return 0
        rows = [
            [
                when(a["at"]),
                a["action"],
                a["target"],
                a["by"],
                ", ".join(
                    f"{k}={v}" for k, v in sorted(a.items()) if k not in ("at", "action", "target", "by")
                ),
            ]
            for a in actions
        ]
        print(table_text(["AT (UTC)", "ACTION", "TARGET", "BY", "DETAIL"], rows))
        return 0

    return run("orosync actions list", action)
