"""`orosync audit`: the day-one report of what OroCommerce, Cin7 and the config disagree on. Read only.

Reads both systems (endpoints from `--config`, credentials from the Secrets Manager entries its `secrets`
names) and the state table (customer bindings, why an order is held), compares them and writes
`audit.md`, `audit.json` and `audit.html` (one self-contained page: counts first, then the lists) to
`--out`. Finds: SKUs on one side only, Oro units without a mapping and mappings that disagree with Oro's
conversion rate, customers without a Cin7 customer, price lists without a tier, Cin7 tax rules and Oro tax
codes without a mapping, and the orders of the last `--days` days missing in Cin7. Cin7 is read in pages of
1000 on the API application of the `audit` flow, within its rate budget. The state table, rate budget and
secrets are found as in `orosync orders` (see `orosync orders --help`). Exits 0 whatever it finds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.orders_cmd import add_location_options, open_location, run
from cli.webhooks_cmd import _secret
from local.provision import physical_name
from shared.adapters.aws.rate_budget import RateBudget
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.orocommerce.client import OroClient
from shared.domain.audit import KINDS, to_html, to_json, to_markdown
from shared.flows.audit import WaitingBudget, run_audit
from shared.runtime import SystemClock

BAR = 30


def progress_bar(done: int, total: int, what: str) -> None:
    """A plain-text bar on stderr, redrawn in place (a line each step when stderr is not a terminal)."""
    filled = BAR * done // max(total, 1)
    line = f"[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} {what}"
    if sys.stderr.isatty():
        print(f"\r{line:<80}", end="" if done < total else "\n", file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr, flush=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orosync audit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--days", type=int, default=7, help="orders of the last N days are checked (default 7)")
    p.add_argument(
        "--out", default="audit", help="folder for audit.md, audit.json, audit.html (default ./audit)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_location_options(p)
    return p


def main(argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not args.config:
        p.error("--config is required: it names both systems and the secrets")
    if args.days < 0:
        p.error(f"--days must be 0 or more, got {args.days}")

    def action() -> int:
        loc = open_location(args)
        config = loc.config
        assert config is not None
        oro_creds = _secret(
            loc.session, loc.endpoint_url, config.secrets.oro_client, "client_id", "client_secret"
        )
        app_name = config.erp.application_for("audit")
        app = config.erp.applications[app_name]
        cin7_creds = _secret(
            loc.session,
            loc.endpoint_url,
            getattr(config.secrets, app.secret),
            "account_id",
            "application_key",
        )
        budget = RateBudget.for_flow(
            config,
            "audit",
            table_name=physical_name(loc.prefix, "rate_budget"),
            dynamodb=loc.session.client("dynamodb", endpoint_url=loc.endpoint_url),
        )
        with (
            OroClient.from_config(
                config.endpoints.oro, oro_creds["client_id"], oro_creds["client_secret"]
            ) as oro,
            Cin7Client.from_config(
                config.endpoints.cin7,
                cin7_creds["account_id"],
                cin7_creds["application_key"],
                flow="audit",
                budget=WaitingBudget(budget),
            ) as cin7,
        ):
            report = run_audit(
                config,
                oro,
                cin7,
                loc.store,
                now=SystemClock().now(),
                days=args.days,
                progress=None if args.quiet else progress_bar,
            )
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "audit.md").write_text(to_markdown(report), encoding="utf-8")
        (out / "audit.json").write_text(to_json(report), encoding="utf-8")
        (out / "audit.html").write_text(to_html(report), encoding="utf-8")
        for kind, n in report.counts().items():
            if n:
                print(f"{n:>4}  {KINDS[kind][0]}")
        print(f"{len(report.gaps)} gap(s); report in {out / 'audit.html'} (and audit.md, audit.json)")
        return 0

    return run("orosync audit", action)
