"""`orosync demo` (what `make run` runs): the whole service on this laptop, end to end, then exit.

Starts the embedded AWS endpoint, both sandboxes and the local runtime; seeds the demo data through the
sandboxes' own APIs; places orders in the Oro sandbox through its API; lets each travel
webhook → queue → order_sync → Cin7 sale; prints what happened and exits 0 only if every order landed
as expected. `LocalEnvironment` is also what the end-to-end tests drive.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import tempfile
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from local.aws import EmbeddedAws
from local.provision import provision, put_secrets
from local.runtime import LocalRuntime
from sandbox.cin7.seed import seed_demo as seed_cin7
from sandbox.cin7.server import Cin7Sandbox
from sandbox.oro.seed import seed_demo as seed_oro
from sandbox.oro.server import OroSandbox
from shared.adapters.aws.state import StateStore
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.orocommerce.client import OroClient
from shared.config import Config, load_config
from shared.errors import ConfigError
from shared.observability import logger
from shared.resources import table
from shared.runtime import Runtime


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


class LocalEnvironment:
    """Embedded AWS + both sandboxes + the local runtime, wired by one derived config."""

    def __init__(
        self,
        config: Config,
        workdir: Path,
        *,
        time_scale: float = 1.0,
        run_schedules: bool = True,
        function_env: dict[str, str] | None = None,
        aws: EmbeddedAws | None = None,
    ) -> None:
        self.function_env = dict(function_env or {})
        self._own_aws = aws is None
        self._saved_environ: dict[str, str | None] = {}
        self.base_config = config
        self.workdir = workdir
        self.time_scale = time_scale
        self.run_schedules = run_schedules
        self.prefix = f"demo-{uuid.uuid4().hex[:6]}"
        self.oro_credentials = {"client_id": "orosync-demo", "client_secret": secrets.token_urlsafe(24)}
        self.webhook_secret = secrets.token_hex(24)
        self.cin7_credentials = {"account_id": str(uuid.uuid4()), "application_key": str(uuid.uuid4())}
        # The demo's own seeding and checking use a second Cin7 API application (its own 60 calls/min),
        # as an operator's tools would, so they never eat the service's budget.
        self.cin7_setup_key = str(uuid.uuid4())
        self.aws: EmbeddedAws | None = aws
        self.oro: OroSandbox | None = None
        self.cin7: Cin7Sandbox | None = None
        self.runtime: LocalRuntime | None = None
        self.config: Config = config
        self.env: dict[str, str] = {}
        self.ids: dict[str, Any] = {}

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> LocalEnvironment:
        if self.aws is None:
            self.aws = EmbeddedAws().start()
        self._saved_environ = {k: os.environ.get(k) for k in self.aws.environ()}
        self.aws.apply_environ()
        self.oro = OroSandbox(
            port=0,
            client_id=self.oro_credentials["client_id"],
            client_secret=self.oro_credentials["client_secret"],
        )
        self.oro.start()
        orders_app = self.base_config.erp.applications[self.base_config.erp.application_for("orders")]
        self.cin7 = Cin7Sandbox(
            port=0,
            calls_per_minute=orders_app.calls_per_minute,
            base_currency="USD",
            guid_seed=7,
            extra_application_keys=[self.cin7_setup_key],
            account_id=self.cin7_credentials["account_id"],
            application_key=self.cin7_credentials["application_key"],
        ).start()
        data = self.base_config.model_dump(mode="json")
        data["endpoints"]["oro"]["base_url"] = self.oro.base_url
        data["endpoints"]["cin7"]["base_url"] = self.cin7.base_url
        config_path = self.workdir / "config.json"
        config_path.write_text(json.dumps(data, indent=2))
        self.config = load_config(config_path)
        self.env = provision(self.prefix)
        put_secrets(
            {
                self.config.secrets.oro_client: self.oro_credentials,
                self.config.secrets.oro_webhook: {"secret": self.webhook_secret},
                self.config.secrets.cin7_orders: self.cin7_credentials,
            }
        )
        Runtime.reset()
        self.runtime = LocalRuntime(
            self.config,
            str(config_path),
            {**self.aws.environ(), **self.env, **self.function_env},
            prefix=self.prefix,
            time_scale=self.time_scale,
            run_schedules=self.run_schedules,
        ).start()
        return self

    def stop(self) -> None:
        parts: list[Any] = [self.runtime, self.oro, self.cin7, self.aws if self._own_aws else None]
        for part in parts:
            if part is not None:
                try:
                    part.stop()
                except Exception as err:  # noqa: BLE001 - shutting down: report and go on
                    print(f"warning: stopping {type(part).__name__}: {err}", file=sys.stderr)
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        Runtime.reset()

    def __enter__(self) -> LocalEnvironment:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clients the demo (the "buyer" and the "back office") uses ------------------------------------
    def oro_client(self) -> OroClient:
        return OroClient.from_config(self.config.endpoints.oro, **self.oro_credentials)

    def cin7_client(self) -> Cin7Client:
        """A client on the demo's own API application (not the service's)."""
        return Cin7Client.from_config(
            self.config.endpoints.cin7,
            self.cin7_credentials["account_id"],
            self.cin7_setup_key,
            flow="demo",
        )

    def state(self) -> StateStore:
        return StateStore(self.env[table("state").env_var])

    # -- the story ------------------------------------------------------------------------------------
    def seed(self) -> dict[str, Any]:
        assert self.oro and self.cin7 and self.runtime
        self.ids["oro"] = seed_oro(
            self.oro.base_url, self.oro_credentials["client_id"], self.oro_credentials["client_secret"]
        )
        self.ids["cin7"] = seed_cin7(
            self.cin7.base_url, self.cin7_credentials["account_id"], self.cin7_setup_key
        )
        oro = self.oro_client()
        # The back office records the ERP customer id on the top account (what customer onboarding does).
        acme_oro = self.ids["oro"]["customers"]["Acme Holdings"]
        acme_cin7 = self.ids["cin7"]["customers"]["Acme Holdings"]
        oro.patch("customers", acme_oro, {"externalId": acme_cin7})
        url = f"{self.runtime.base_url}/webhooks/oro"
        for topic in ("order.created", "order.updated"):
            oro.create_webhook_subscription(url, topic, self.webhook_secret, verify_ssl=False)
        return self.ids

    def place_order(self, order: DemoOrder) -> str:
        """POST /admin/api/orders with its line items in `included`, as a storefront checkout would."""
        customer_id = self.ids["oro"]["customers"][order.customer]
        included = []
        refs = []
        for n, line in enumerate(order.lines, start=1):
            ref = f"line-{n}"
            refs.append({"type": "orderlineitems", "id": ref})
            included.append(
                {
                    "type": "orderlineitems",
                    "id": ref,
                    "attributes": {
                        "productSku": line.sku,
                        "quantity": str(line.quantity),
                        "value": str(line.price),
                        "currency": "USD",
                        "priceType": 10,
                    },
                    "relationships": {"productUnit": {"data": {"type": "productunits", "id": line.unit}}},
                }
            )
        body = {
            "data": {
                "type": "orders",
                "attributes": {"poNumber": order.po_number, "currency": "USD"},
                "relationships": {
                    "customer": {"data": {"type": "customers", "id": customer_id}},
                    "lineItems": {"data": refs},
                },
            },
            "included": included,
        }
        _, doc = self.oro_client().request("POST", "orders", body=body, creates=True)
        return str(doc["data"]["id"])

    def wait_until_settled(self, timeout: float = 60.0) -> None:
        assert self.runtime is not None
        self.runtime.wait_until_idle(timeout=timeout)


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
            oro_id = env.place_order(order)
            print(f"placed Oro order {oro_id}: {order.title}", flush=True)
            placed.append((order, oro_id))
            env.wait_until_settled(args.timeout)
        reports = [check_order(env, o, i) for o, i in placed]
        print(render(env, reports))
        return 0 if all(r.ok for r in reports) else 1
