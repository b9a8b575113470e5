"""The whole service on one machine: embedded AWS, both sandboxes and the local runtime, wired by one
derived config. `orosync demo`, the end-to-end tests, the chaos suite and the benchmarks all drive it."""

from __future__ import annotations

import itertools
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from local.aws import EmbeddedAws, free_port
from local.provision import provision, put_secrets
from local.runtime import FunctionStats, LocalRuntime, add_stats, render_summary
from sandbox.cin7.seed import seed_demo as seed_cin7
from sandbox.cin7.server import Cin7Sandbox
from sandbox.oro.seed import seed_demo as seed_oro
from sandbox.oro.server import OroSandbox
from shared.adapters.aws.state import StateStore
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.cin7.webhook import ensure_webhook, webhooks_for
from shared.adapters.http import RetryPolicy
from shared.adapters.orocommerce.client import OroClient
from shared.config import Config, Onboarding, load_config
from shared.resources import table
from shared.runtime import Runtime

# (sku, Oro unit code, quantity, unit price)
OrderLineSpec = tuple[str, str, Decimal, Decimal]


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
        cin7_options: dict[str, Any] | None = None,
        oro_options: dict[str, Any] | None = None,
        visibility_timeouts: Mapping[str, int] | None = None,
    ) -> None:
        # Extra keyword options for the sandboxes, e.g. {"window_seconds": 2} to compress Cin7's minute;
        # they win over the defaults below (e.g. {"calls_per_minute": 60} when the config's budget is
        # scaled to a compressed window).
        self.cin7_options = dict(cin7_options or {})
        self.oro_options = dict(oro_options or {})
        # Queue key -> visibility timeout in seconds, instead of 6 × the consumer's timeout, so a failed
        # message comes back in seconds (chaos suite, benchmarks); see `local.provision.provision`.
        self.visibility_timeouts = dict(visibility_timeouts or {})
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
        self.cin7_webhook_secret = secrets.token_hex(24)
        self.cin7_credentials = {"account_id": str(uuid.uuid4()), "application_key": str(uuid.uuid4())}
        # The demo's own seeding and checking use a second Cin7 API application (its own 60 calls/min),
        # as an operator's tools would, so they never eat the service's budget.
        self.cin7_setup_key = str(uuid.uuid4())
        self.aws: EmbeddedAws | None = aws
        self.oro: OroSandbox | None = None
        self.cin7: Cin7Sandbox | None = None
        self.runtime: LocalRuntime | None = None
        # What the runtimes `reconfigure` stopped and replaced had counted (see `function_stats`).
        self._retired_stats: dict[str, FunctionStats] = {}
        self.config: Config = config
        self.config_path = workdir / "config.json"
        self.runtime_port = 0
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
            **self.oro_options,
        )
        self.oro.start()
        orders_app = self.base_config.erp.applications[self.base_config.erp.application_for("orders")]
        cin7_kwargs: dict[str, Any] = {
            "calls_per_minute": orders_app.calls_per_minute,
            "base_currency": "USD",
            "guid_seed": 7,
            # Cin7 tries a webhook about a minute after the event, then 5, 10… minutes later: here a second
            # stands for that minute, so the stock fast path shows in seconds.
            "webhook_retry_unit_seconds": 1.0,
            **self.cin7_options,
        }
        self.cin7 = Cin7Sandbox(
            port=0,
            extra_application_keys=[self.cin7_setup_key],
            account_id=self.cin7_credentials["account_id"],
            application_key=self.cin7_credentials["application_key"],
            **cin7_kwargs,
        ).start()
        data = self.base_config.model_dump(mode="json")
        data["endpoints"]["oro"]["base_url"] = self.oro.base_url
        data["endpoints"]["cin7"]["base_url"] = self.cin7.base_url
        self.config_path.write_text(json.dumps(data, indent=2))
        self.config = load_config(self.config_path)
        self.env = provision(self.prefix, visibility_timeouts=self.visibility_timeouts or None)
        put_secrets(
            {
                self.config.secrets.oro_client: self.oro_credentials,
                self.config.secrets.oro_webhook: {"secret": self.webhook_secret},
                self.config.secrets.cin7_orders: self.cin7_credentials,
                self.config.secrets.cin7_webhook: {"secret": self.cin7_webhook_secret},
            }
        )
        self._start_runtime()
        return self

    def _start_runtime(self) -> None:
        assert self.aws is not None
        Runtime.reset()
        # One port for the life of the environment: the Oro webhook subscriptions point at it.
        self.runtime_port = self.runtime_port or free_port()
        self.runtime = LocalRuntime(
            self.config,
            str(self.config_path),
            {**self.aws.environ(), **self.env, **self.function_env},
            prefix=self.prefix,
            port=self.runtime_port,
            time_scale=self.time_scale,
            run_schedules=self.run_schedules,
        ).start()

    def reconfigure(self, updates: dict[str, Any]) -> Config:
        """Change the service's config (a deep merge of `updates`) and restart the runtime on it, as a
        redeploy would; resources, sandboxes and state stay."""
        assert self.runtime is not None
        self.runtime.wait_until_idle(60)
        self.runtime.stop()
        self._retired_stats = add_stats(self._retired_stats, self.runtime.stats())
        data = _merge(self.config.model_dump(mode="json"), updates)
        self.config_path.write_text(json.dumps(data, indent=2))
        self.config = load_config(self.config_path)
        self._start_runtime()
        return self.config

    def function_stats(self) -> dict[str, FunctionStats]:
        """Per-function counts over the life of the environment: every runtime `reconfigure` replaced, plus
        the current one (`self.runtime.stats()` alone counts only since the last reconfigure)."""
        return add_stats(self._retired_stats, self.runtime.stats() if self.runtime else {})

    def function_summary(self) -> str:
        """`LocalRuntime.summary`'s table over `function_stats`."""
        return render_summary(self.function_stats())

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
        """A client on the demo's own API application (not the service's). An operator's tool, not a paid
        Lambda: when its own minute is used up it waits the minute out (up to 10 tries, 15 s apart at most)."""
        return Cin7Client.from_config(
            self.config.endpoints.cin7,
            self.cin7_credentials["account_id"],
            self.cin7_setup_key,
            flow="demo",
            retry=RetryPolicy(attempts=10, base_delay=2.0, max_delay=15.0),
        )

    def create_cin7_customer(
        self,
        name: str,
        *,
        tier: str = "Wholesale",
        on_hold: bool = False,
        currency: str = "USD",
        tax_rule: str = "Tax on Sales",
    ) -> str:
        """A new Cin7 customer, as finance creates one in the back office; returns its id."""
        with self.cin7_client() as cin7:
            created = cin7.create_customer(
                {
                    "Name": name,
                    "Status": "Active",
                    "Currency": currency,
                    "PaymentTerm": "30 days",
                    "AccountReceivable": "1100",
                    "RevenueAccount": "4000",
                    "TaxRule": tax_rule,
                    "PriceTier": tier,
                    "IsOnCreditHold": on_hold,
                }
            )
        return created.ID

    def sales_for(self, oro_order_id: str) -> list[Any]:
        """Every Cin7 sale carrying the order's ExternalID (exactly one, if all is well)."""
        cin7 = self.cin7_client()
        rows = cin7.find_sales_by_external_id(f"{self.config.orders.external_id_prefix}{oro_order_id}")
        return [cin7.get_sale(r.SaleID) for r in rows]

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
        # quote.created too: a quote reaches the route and is acknowledged as not-an-order.
        topics = ["order.created", "order.updated", "order.deleted", "quote.created"]
        if self.config.products.active:
            topics += ["product.created", "product.updated"]  # product data follows its owner at once
        if self.config.customers.onboard is not Onboarding.NONE:
            topics += ["customer.created", "customer.updated"]  # new accounts are onboarded at once
        for topic in topics:
            oro.create_webhook_subscription(url, topic, self.webhook_secret, verify_ssl=False)
        wanted = webhooks_for(self.config)
        with self.cin7_client() as cin7:
            for event_type, path in wanted:
                ensure_webhook(cin7, event_type, f"{self.runtime.base_url}{path}", self.cin7_webhook_secret)
        return self.ids

    def place_order(
        self,
        customer: str,
        lines: Sequence[OrderLineSpec],
        *,
        po_number: str | None = None,
        attributes: dict[str, Any] | None = None,
        discounts: Sequence[Decimal] = (),
        addresses: Mapping[str, Mapping[str, Any]] | None = None,
        buyer: bool = False,
    ) -> str:
        """POST /admin/api/orders with its line items in `included`, as a storefront checkout would.
        `customer` is a demo customer name; each line is (sku, unit, quantity, unit price); `addresses`
        as in `order_document`; `buyer`: placed by the account's seeded customer user."""
        data, included = order_document(
            self.ids["oro"]["customers"][customer],
            lines,
            po_number=po_number,
            attributes=attributes,
            discounts=discounts,
            addresses=addresses,
            customer_user_id=str(self.ids["oro"]["customerUsers"][customer]) if buyer else None,
        )
        _, doc = self.oro_client().request(
            "POST", "orders", body={"data": data, "included": included}, creates=True
        )
        return str(doc["data"]["id"])

    def ship_in_cin7(
        self,
        sale_id: str,
        lines: Mapping[str, Decimal | int] | None = None,
        *,
        tracking: str = "TRK-1",
        carrier: str = "DHL",
    ) -> str:
        """The warehouse picks, packs and ships in Cin7 (the back office's API application); returns the
        fulfilment's TaskID. Without `lines`, everything still allocated (a simple sale's first fulfilment has
        TaskID = SaleID); with `lines` ({SKU: quantity}) only those, on the sale's first fulfilment or, once it
        has one, a new one. Cin7 then sends Sale/ShipmentAuthorised (and the tracking event)."""
        with self.cin7_client() as cin7:
            task_id = sale_id
            if cin7.get_fulfilments(sale_id):
                task_id = cin7.request("POST", "sale/fulfilment", body={"SaleID": sale_id})["TaskID"]
            if lines is None:
                pick: dict[str, Any] = {"TaskID": task_id, "AutoPickMode": "AUTOPICK"}
            else:
                picked = [{"SKU": sku, "Quantity": str(quantity)} for sku, quantity in lines.items()]
                pick = {"TaskID": task_id, "Status": "AUTHORISED", "Lines": picked}
            cin7.request("POST", "sale/fulfilment/pick", body=pick)
            cin7.request("POST", "sale/fulfilment/pack", body={"TaskID": task_id, "Status": "AUTHORISED"})
            ship_line = {"Carrier": carrier, "TrackingNumber": tracking, "IsShipped": True, "Box": "1"}
            body = {"TaskID": task_id, "Status": "AUTHORISED", "Lines": [ship_line]}
            cin7.request("POST", "sale/fulfilment/ship", body=body)
        return str(task_id)

    def wait_for_cin7_webhooks(self, timeout: float = 60.0) -> None:
        """Until the Cin7 sandbox has no webhook delivery pending (its first try comes a retry unit, a second
        here, after the change; a minute on the real service), then until the service has worked off what
        they queued."""
        assert self.cin7 is not None
        deadline = time.monotonic() + timeout
        while any(d["State"] == "pending" for d in self.cin7.webhook_deliveries()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Cin7 sandbox still has webhooks to deliver after {timeout} s")
            time.sleep(0.1)
        self.wait_until_settled(timeout)

    def wait_until_settled(self, timeout: float = 60.0) -> None:
        """Until Oro has delivered its webhooks and the runtime has no message left to work on."""
        assert self.runtime is not None and self.oro is not None
        if not self.oro.wait_for_webhooks(timeout):
            raise TimeoutError(f"the Oro sandbox still has webhooks to deliver after {timeout} s")
        self.runtime.wait_until_idle(timeout=timeout)


def _merge(base: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in updates.items():
        out[key] = (
            _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def order_document(
    customer_id: str,
    lines: Sequence[OrderLineSpec],
    *,
    po_number: str | None = None,
    ref: str | None = None,
    parent_ref: str | None = None,
    line_refs: Iterator[int] | None = None,
    attributes: dict[str, Any] | None = None,
    discounts: Sequence[Decimal] = (),
    addresses: Mapping[str, Mapping[str, Any]] | None = None,
    customer_user_id: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An Oro `orders` resource object and its line items with temporary ids, for a compound POST
    (`ref`/`parent_ref` build multi-shipping sub-orders in one request; `line_refs` keeps line ids unique
    across several orders of one request; `attributes` adds order attributes, e.g. a shipping cost;
    `discounts` adds order discounts of these amounts; `addresses` maps `billingAddress`/`shippingAddress`
    to new `orderaddresses` attributes, with `country` (an ISO code) and `region` (e.g. "US-NY") as ids)."""
    numbers = line_refs or itertools.count(1)
    included = []
    refs = []
    for sku, unit, quantity, price in lines:
        line_ref = f"line-{next(numbers)}"
        refs.append({"type": "orderlineitems", "id": line_ref})
        included.append(
            {
                "type": "orderlineitems",
                "id": line_ref,
                "attributes": {
                    "productSku": sku,
                    "quantity": str(quantity),
                    "value": str(price),
                    "currency": "USD",
                    "priceType": 10,
                },
                "relationships": {"productUnit": {"data": {"type": "productunits", "id": unit}}},
            }
        )
    relationships: dict[str, Any] = {
        "customer": {"data": {"type": "customers", "id": customer_id}},
        "lineItems": {"data": refs},
    }
    if discounts:
        discount_refs = []
        for n, amount in enumerate(discounts, start=1):
            discount_ref = f"{ref or 'order'}-discount-{n}"
            discount_refs.append({"type": "orderdiscounts", "id": discount_ref})
            included.append(
                {
                    "type": "orderdiscounts",
                    "id": discount_ref,
                    "attributes": {
                        "description": f"discount {n}",
                        "amount": str(amount),
                        "orderDiscountType": "oro_order_discount_item_type_amount",
                    },
                }
            )
        relationships["discounts"] = {"data": discount_refs}
    if customer_user_id is not None:
        relationships["customerUser"] = {"data": {"type": "customerusers", "id": customer_user_id}}
    for name, fields in (addresses or {}).items():
        address_ref = f"{ref or 'order'}-{name}"
        attrs = {k: v for k, v in fields.items() if k not in ("country", "region")}
        rels = {
            k: {"data": {"type": "countries" if k == "country" else "regions", "id": fields[k]}}
            for k in ("country", "region")
            if fields.get(k)
        }
        included.append(
            {"type": "orderaddresses", "id": address_ref, "attributes": attrs, "relationships": rels}
        )
        relationships[name] = {"data": {"type": "orderaddresses", "id": address_ref}}
    if parent_ref is not None:
        relationships["parent"] = {"data": {"type": "orders", "id": parent_ref}}
    data: dict[str, Any] = {
        "type": "orders",
        "attributes": {"poNumber": po_number, "currency": "USD", **(attributes or {})},
        "relationships": relationships,
    }
    if ref is not None:
        data["id"] = ref
    return data, included
