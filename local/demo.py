"""`orosync demo` (what `make run` runs): the whole service on this laptop, end to end, then exit.

Starts the embedded AWS endpoint, both sandboxes and the local runtime; seeds the demo data through the
sandboxes' own APIs; places orders in the Oro sandbox through its API; lets each travel
webhook → queue → order_sync → Cin7 sale; prints what happened and exits 0 only if every order landed
as expected. `LocalEnvironment` is also what the end-to-end tests drive.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from local.environment import LocalEnvironment
from shared.config import load_config
from shared.errors import ConfigError
from shared.observability import logger


@dataclass(frozen=True)
class DemoLine:
    sku: str
    unit: str
    quantity: Decimal
    price: Decimal


@dataclass(frozen=True)
class DemoOrder:
    title: str
    customer: str  # Oro customer name from the demo dataset
    po_number: str
    lines: tuple[DemoLine, ...]
    # what must be true in Cin7 afterwards: ERP SKU -> base quantity
    expect_lines: dict[str, Decimal] = field(default_factory=dict)
    expect_customer: str = "Acme Holdings"


DEMO_ORDERS: tuple[DemoOrder, ...] = (
    DemoOrder(
        "2 cases of 12 from a grandchild account",
        customer="Acme East Store 12",
        po_number="DEMO-1001",
        lines=(
            DemoLine("WID-100", "case", Decimal(2), Decimal("144.00")),
            DemoLine("GAD-200", "each", Decimal(5), Decimal("8.00")),
        ),
        expect_lines={"WID-100": Decimal(24), "GAD-200": Decimal(5)},
    ),
    DemoOrder(
        "a plain order in eaches (steady state)",
        customer="Acme Holdings",
        po_number="DEMO-1002",
        lines=(DemoLine("BOLT-300", "each", Decimal(400), Decimal("0.25")),),
        expect_lines={"BOLT-300": Decimal(400)},
    ),
)


# -- reporting ----------------------------------------------------------------------------------------


@dataclass
class OrderReport:
    order: DemoOrder
    oro_id: str
    ok: bool
    problems: list[str]
    sale: Any = None
    outcome: str = ""
    erp_calls: int | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)


def check_order(env: LocalEnvironment, order: DemoOrder, oro_id: str) -> OrderReport:
    cin7 = env.cin7_client()
    state = env.state().get_order(oro_id)
    external_id = f"{env.config.orders.external_id_prefix}{oro_id}"
    rows = cin7.find_sales_by_external_id(external_id)
    report = OrderReport(order, oro_id, ok=True, problems=[], outcome=state.status)
    report.timeline = env.state().timeline(oro_id)
    if state.status != "synced":
        report.problems.append(
            f"order state is {state.status!r}: {'; '.join(state.reasons) or 'no reason recorded'}"
        )
    if len(rows) != 1:
        report.problems.append(
            f"expected exactly one Cin7 sale with ExternalID {external_id}, found {len(rows)}"
        )
    else:
        sale = cin7.get_sale(rows[0].SaleID)
        report.sale = sale
        got = {ln.SKU: ln.Quantity for ln in (sale.Order.Lines if sale.Order else [])}
        if got != order.expect_lines:
            report.problems.append(f"Cin7 lines {got} differ from the expected {order.expect_lines}")
        if sale.Customer != order.expect_customer:
            report.problems.append(f"Cin7 customer is {sale.Customer!r}, expected {order.expect_customer!r}")
        if sale.Order is None or sale.Order.Status != "AUTHORISED":
            report.problems.append("the Cin7 sale order is not AUTHORISED")
    processed = [e for e in report.timeline if e["kind"] == "processed"]
    report.erp_calls = sum(int(e["erp_calls"]) for e in processed) if processed else None
    report.ok = not report.problems
    return report


def _money(v: Any) -> str:
    return f"{Decimal(str(v)):,.2f}" if v is not None else "-"


def render(env: LocalEnvironment, reports: Sequence[OrderReport]) -> str:
    assert env.aws and env.oro and env.cin7 and env.runtime
    out = [
        "",
        "orosync demo — the whole service on this laptop",
        f"  embedded AWS (moto)   {env.aws.endpoint_url}   prefix {env.prefix}",
        f"  OroCommerce sandbox   {env.oro.base_url}/admin/api/",
        f"  Cin7 Core sandbox     {env.cin7.base_url}",
        f"  webhook route         POST {env.runtime.base_url}/webhooks/oro",
        "",
    ]
    for r in reports:
        o = r.order
        lines = ", ".join(f"{ln.quantity} × {ln.sku} {ln.unit} @ {ln.price}" for ln in o.lines)
        out.append(f"Order {r.oro_id} — {o.title}")
        out.append(f"  placed by {o.customer!r}, PO {o.po_number}: {lines}")
        if r.sale is not None:
            s = r.sale
            out.append(
                f"  → Cin7 sale {s.Order.SaleOrderNumber if s.Order else '?'} for {s.Customer!r}, "
                f"status {s.Status}, order {s.Order.Status if s.Order else '-'}, ExternalID {s.ExternalID}"
            )
            out.append(f"    {'SKU':<10} {'qty':>8} {'price':>10} {'tax':>8} {'total':>10}")
            for ln in s.Order.Lines if s.Order else []:
                out.append(
                    f"    {ln.SKU:<10} {format(ln.Quantity.normalize(), 'f'):>8} {ln.Price:>10.4f} "
                    f"{_money(ln.Tax):>8} {_money(ln.Total):>10}"
                )
        kinds = " → ".join(e["kind"] for e in r.timeline)
        out.append(f"  timeline: {kinds}")
        out.append(f"  ERP calls for this order: {r.erp_calls}")
        out.append(f"  result: {'OK' if r.ok else 'FAILED: ' + '; '.join(r.problems)}")
        out.append("")
    out.append(
        "The first order also looked up the ERP customer and tax rules once; both are cached in DynamoDB, "
        "so a steady-state order costs 2 ERP calls (sale header + lines)."
    )
    out.append(env.runtime.summary())
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="orosync demo", description=__doc__)
    parser.add_argument(
        "--config", default="config/example.yaml", help="config file (endpoints are replaced)"
    )
    parser.add_argument(
        "--timeout", type=float, default=90.0, help="seconds to wait for the orders to settle"
    )
    args = parser.parse_args(argv)
    try:
        base = load_config(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    # The summary is the output; the functions' own JSON logs and metrics would drown it.
    quiet = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    logger.setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # One process runs every function here, so they share Powertools' metrics object (on AWS each
    # function has its own): its warnings about re-added dimensions are an artefact of that.
    warnings.filterwarnings("ignore", message="Dimension .* has already been added")
    with (
        tempfile.TemporaryDirectory(prefix="orosync-demo-") as tmp,
        LocalEnvironment(base, Path(tmp), function_env=quiet) as env,
    ):
        print("seeding both sandboxes through their APIs…", flush=True)
        env.seed()
        placed = []
        for order in DEMO_ORDERS:
            oro_id = env.place_order(
                order.customer,
                [(ln.sku, ln.unit, ln.quantity, ln.price) for ln in order.lines],
                po_number=order.po_number,
            )
            print(f"placed Oro order {oro_id}: {order.title}", flush=True)
            placed.append((order, oro_id))
            env.wait_until_settled(args.timeout)
        reports = [check_order(env, o, i) for o, i in placed]
        print(render(env, reports))
        return 0 if all(r.ok for r in reports) else 1
