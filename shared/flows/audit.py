"""The day-one audit's reading (`orosync audit`): both systems and the state table, read only, then compared
by `shared/domain/audit.py`.

Read only: GETs on both systems and reads of the state table. Cin7 is read in pages of up to 1000 rows
(products, customers, tax rules, the sales created in the window: one `saleList` scan, never one call per
order or product) plus one call for the price tiers, each taking a token of the `audit` flow's API
application like any bulk flow (an operator's tool waits for one instead of giving up).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.aws.state import StateStore
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.orocommerce.client import OroClient
from shared.config import Config
from shared.domain.audit import (
    Gap,
    OroAccount,
    OroItem,
    OroOrderRef,
    Report,
    SaleRef,
    compare_customers,
    compare_price_lists,
    compare_products,
    compare_tax,
    missing_orders,
)
from shared.errors import Throttled

Progress = Callable[[int, int, str], None]  # (step done so far, steps, what is read now)

STEPS = (
    "Oro products",
    "Cin7 products",
    "Oro customers",
    "bindings",
    "Cin7 customers",
    "price lists and tiers",
    "tax codes and rules",
    "Oro orders",
    "Cin7 sales",
)


class WaitingBudget:
    """A rate budget an operator's tool waits on: a refused token is asked for again after the wait the
    budget names (a bulk flow in a Lambda would give up and come back instead)."""

    def __init__(
        self, budget: Any, sleep: Callable[[float], None] = time.sleep, max_wait: float = 300
    ) -> None:
        self.budget = budget
        self._sleep = sleep
        self.max_wait = max_wait

    def acquire(self, flow: str) -> None:
        waited = 0.0
        while True:
            try:
                self.budget.acquire(flow)
                return
            except Throttled as err:
                delay = max(0.05, float(err.retry_after_seconds or 1.0))
                if waited + delay > self.max_wait:
                    raise
                self._sleep(delay)
                waited += delay

    def penalise(self) -> None:
        self.budget.penalise()


def run_audit(
    config: Config,
    oro: OroClient,
    cin7: Cin7Client,
    store: StateStore,
    *,
    now: datetime,
    days: int,
    progress: Progress | None = None,
) -> Report:
    if days < 0:
        raise ValueError(f"days must be 0 or more, got {days}")
    since = now - timedelta(days=days)
    step = iter(range(len(STEPS)))

    def tell() -> None:
        n = next(step)
        if progress:
            progress(n, len(STEPS), f"reading {STEPS[n]}")

    tell()
    products = [
        OroItem(
            p.sku,
            p.primary_unit,
            {u.unit: u.conversion_rate for u in p.unit_precisions if u.unit},
        )
        for p in oro.iter_products()
    ]
    tell()
    charge_names = {c.product for c in (config.erp.charges.shipping, config.erp.charges.rounding) if c}
    cin7_skus: set[str] = set()
    charges: set[str] = set()
    for cp in cin7.iter_products(limit=1000):
        cin7_skus.add(cp.SKU)
        if cp.Name in charge_names or cp.SKU in charge_names:
            charges.add(cp.SKU)
    tell()
    accounts = [OroAccount(c.id, c.name, c.parent_id, c.external_id) for c in oro.iter_customers()]
    tell()
    bindings = {}
    for a in accounts:
        b = store.customer_binding(a.id)
        if b is not None:
            bindings[a.id] = b.erp_customer_id
    tell()
    cin7_customers = {c.ID for c in cin7.iter_customers(include_deprecated=False, limit=1000)}
    tell()
    price_lists = {pl.id: pl.name for pl in oro.iter_price_lists()}
    tiers = [t.Name for t in cin7.price_tiers()]
    tell()
    tax_codes = list(oro.iter_tax_codes())
    tax_rules = [r.Name for r in cin7.tax_rules(for_sale_only=True)]
    tell()
    orders = [
        OroOrderRef(
            o.id,
            o.identifier or o.id,
            o.created_at or o.updated_at,
            o.internal_status or "",
            o.customer_id or "",
            o.po_number,
            o.status,
            o.parent_id,
            tuple(o.sub_order_ids),
        )
        for o in oro.iter_orders(updated_since=since - timedelta(seconds=1))
    ]
    tell()
    sales = [
        SaleRef(s.ExternalID or "", s.SaleID, s.Status)
        for s in cin7.iter_sales_created_since(since - timedelta(minutes=5), limit=1000)
    ]
    if progress:
        progress(len(STEPS), len(STEPS), "compared")

    gaps: list[Gap] = []
    gaps += compare_products(products, cin7_skus, config, ignore=charges)
    gaps += compare_customers(accounts, bindings, cin7_customers)
    gaps += compare_price_lists(price_lists, config, tiers)
    gaps += compare_tax(tax_codes, tax_rules, config)
    missing = missing_orders(orders, sales, config, since)
    notes = {}
    for g in missing:
        order_id = g.subject.split(" ", 1)[0]  # "id" or "id identifier"
        state = store.get_order(order_id)
        if state.status != "new" or state.reasons:
            notes[order_id] = f"{state.status}: {'; '.join(state.reasons)}" if state.reasons else state.status
    gaps += missing_orders(orders, sales, config, since, notes)
    return Report(
        generated_at=now,
        window_days=days,
        oro=str(config.endpoints.oro.base_url),
        cin7=str(config.endpoints.cin7.base_url),
        gaps=gaps,
        scanned={
            "Oro products": len(products),
            "Cin7 products": len(cin7_skus),
            "Oro customers": len(accounts),
            "Cin7 customers": len(cin7_customers),
            "Oro price lists": len(price_lists),
            "Oro tax codes": len(tax_codes),
            "Cin7 tax rules": len(tax_rules),
            "Oro orders changed in the window": len(orders),
            "Cin7 sales": len(sales),
        },
    )
