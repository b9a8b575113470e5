"""Reconciliation (`reconcile`, hourly; README "Reconciliation"): proof that nothing was missed (DESIGN §4.6).

`functions/reconcile` queues an `orders` step on every run; `reconcile_run` works it within the ERP budget
(a bulk flow: it never takes the tokens orders need, and a step without one comes back later).

- `orders`: every Oro order updated in the last `WINDOW` (but not in the last `IN_FLIGHT`, which intake and
  order_sync may still be working on) that the status policy syncs is in exactly one of: synced (or voided,
  for a cancellation), held with an open exception (or held back by the policy itself), filtered with a
  reason. Any other is `ORDER_ORPHANED` and enqueued again (through intake; a version intake already took
  in, whose message was lost, straight onto the queue: order_sync's lease and ExternalID look-up make a
  repeat harmless). Cin7's sales updated in the same window are read from `saleList` (1000 a page, no per-sale
  read): one carrying this service's ExternalID that no order here is bound to is `ORDER_GHOST`; a bound
  sale whose total (`InvoiceAmount`, tax included) differs from its Oro order's total is `TOTAL_MISMATCH`
  (compared where Oro taxed the order; an untaxed Oro total has no tax-inclusive figure to compare). Each closes on
  the run that finds it resolved. The ERP cost of a run is its `saleList` pages, whatever the orders.

- `drift` (daily, in `schedules.reconcile_drift_hour_utc`): the stock levels this service last set in Oro
  against Oro's levels now (Oro reads only), and the tier prices Cin7 last accepted from an Oro → Cin7 price
  list against Cin7's tiers now (one `product` page per 1000 products), counted as drift with examples. No
  exception: the next stock or price run sets them again; a count that stays up means someone edits by hand.

The result is kept in the state table (`orosync reconcile --report`) and published as metrics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.adapters.aws.state import OrderState, StateStore
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.cin7.models import Cin7SaleListRow
from shared.adapters.orocommerce.client import OroClient
from shared.adapters.orocommerce.inventory import OroInventory
from shared.adapters.orocommerce.models import OroOrder
from shared.config import Config, OrderAction, PriceDirection
from shared.domain.gating import gate
from shared.domain.orders import StorefrontOrder
from shared.flows.intake import enqueue_order_version
from shared.flows.reconcile_schedule import DRIFT, ORDERS
from shared.observability import count_once
from shared.ports import Clock, WorkQueue

WINDOW = timedelta(hours=25)  # hourly runs overlap, so an hour the function missed is still covered
IN_FLIGHT = timedelta(minutes=15)  # the orders queue's own age alarm (shared/resources.py `max_age_seconds`)
CLOCK_SKEW = timedelta(minutes=10)  # the sales listed start this much before the orders' window
CENT = Decimal("0.01")

ORPHANED, GHOST, MISMATCH = "ORDER_ORPHANED", "ORDER_GHOST", "TOTAL_MISMATCH"
_OWN_CODES = (ORPHANED, GHOST, MISMATCH)
_SYNCED = frozenset({"synced", "draft", "voided"})
_FILTERED = frozenset({"ignored", "deleted"})


class ReconcileWork(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    source: str = "schedule"
    deferrals: int = 0
    credential_deferrals: int = 0


@dataclass
class OrdersResult:
    kind: str
    at: str
    since: str
    until: str
    orders: int = 0  # Oro orders of the window
    to_sync: int = 0  # ... that the status policy syncs (or voids)
    synced: int = 0
    held: int = 0
    filtered: int = 0
    in_flight: int = 0  # updated too recently to judge
    orphaned: list[str] = field(default_factory=list)
    requeued: int = 0
    sales: int = 0  # Cin7 sales listed
    sale_pages: int = 0
    ghosts: list[str] = field(default_factory=list)  # SaleIDs
    mismatches: list[dict[str, str]] = field(default_factory=list)
    totals_compared: int = 0
    totals_untaxed: int = 0  # bound sales whose Oro order carries no tax: not comparable from saleList
    closed: int = 0  # this flow's exceptions found resolved
    erp_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DRIFT_EXAMPLES = 20  # drifting levels and prices named in the report (the counts are complete)


@dataclass
class DriftResult:
    kind: str
    at: str
    stock_levels: int = 0  # unit levels this service set in Oro, compared
    stock_drift: int = 0  # ... that Oro no longer shows as set
    stock_examples: list[str] = field(default_factory=list)
    prices_compared: int = 0  # tier prices Cin7 accepted from this service, compared
    price_drift: int = 0  # ... that Cin7 no longer holds
    price_examples: list[str] = field(default_factory=list)
    erp_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pages(rows: int, limit: int) -> int:
    return max(1, -(-rows // limit))


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _taxed_total(order: OroOrder) -> Decimal | None:
    """The Oro order's total if Oro taxed it, else None. Cin7's total (`InvoiceAmount`) includes the tax its
    own rules add; an order Oro did not tax has no tax-inclusive figure to compare it with, and the saleList
    row carries no pre-tax total (that would be one `GET /sale` per order)."""
    if order.total_value is None or order.subtotal_value is None:
        return None
    before_tax = (
        order.subtotal_value
        - (order.total_discounts_amount or Decimal(0))
        + (
            order.overridden_shipping_cost_amount
            if order.overridden_shipping_cost_amount is not None
            else order.estimated_shipping_cost_amount or Decimal(0)
        )
    )
    return order.total_value if order.total_value != before_tax else None


def _header(order: OroOrder) -> StorefrontOrder:
    """What gating reads of an order: its statuses and its place in a multi-shipping order (no lines)."""
    return StorefrontOrder(
        id=order.id,
        identifier=order.identifier or order.id,
        status=order.internal_status or "",
        customer_id=order.customer_id or "",
        currency=order.currency or "",
        lines=(),
        updated_at=order.updated_at,
        total=order.total_value,
        parent_id=order.parent_id,
        sub_order_ids=tuple(order.sub_order_ids),
        external_status=order.status,
    )


class ReconcileFlow:
    def __init__(
        self,
        config: Config,
        store: StateStore,
        orders_queue: WorkQueue,
        clock: Clock,
        *,
        erp: Cin7Client,
        oro: OroClient,
    ) -> None:
        self.config, self.store, self.orders_queue, self.clock = config, store, orders_queue, clock
        self.erp, self.oro = erp, oro

    def handle(self, work: ReconcileWork) -> dict[str, Any]:
        if work.kind == ORDERS:
            return self.orders().as_dict()
        if work.kind == DRIFT:
            return self.drift().as_dict()
        raise ValueError(f"reconcile: unknown step kind {work.kind!r}")

    # ------------------------------------------------------------------------------------- drift (daily)

    def drift(self) -> DriftResult:
        """What the flows last wrote against what the other side holds now, counted (no exception: the next
        stock or price run corrects it; a count that stays up says someone edits by hand or a run fails)."""
        now = self.clock.now()
        result = DriftResult(DRIFT, _z(now))
        calls_before = self.erp.calls
        skus = sorted(self.config.units)
        records = self.store.stock_records(skus)
        pushed = {sku: r.pushed for sku, r in records.items() if r.pushed}
        levels = OroInventory(self.oro).products(sorted(pushed)) if pushed else {}
        for sku, units in sorted(pushed.items()):
            shown = levels.get(sku)
            for unit, quantity in sorted(units.items()):
                level = shown.levels.get(unit) if shown else None
                result.stock_levels += 1
                if level is None or level.quantity != quantity:
                    result.stock_drift += 1
                    if len(result.stock_examples) < DRIFT_EXAMPLES:
                        got = "missing" if level is None else str(level.quantity)
                        result.stock_examples.append(f"{sku} {unit}: pushed {quantity}, Oro {got}")
        tiers = [
            m for m in self.config.price_lists if m.direction is PriceDirection.ORO_TO_ERP and m.erp_tier
        ]
        if tiers:
            erp_skus = sorted({u.erp_sku for units in self.config.units.values() for u in units.values()})
            accepted = {m.target: self.store.price_records(m.target, erp_skus) for m in tiers}
            for product in self.erp.iter_products():
                for mapping in tiers:
                    last = accepted[mapping.target].get(product.SKU or "")
                    if last is None:
                        continue
                    result.prices_compared += 1
                    now_price = product.price_for_tier(mapping.erp_tier or "")
                    if now_price is None or now_price != last:
                        result.price_drift += 1
                        if len(result.price_examples) < DRIFT_EXAMPLES:
                            result.price_examples.append(
                                f"{product.SKU} tier {mapping.erp_tier}: sent {last}, Cin7 {now_price}"
                            )
        result.erp_calls = self.erp.calls - calls_before
        self.store.put_reconcile_result(DRIFT, result.as_dict())
        for name, value in (
            ("ReconcileStockDrift", result.stock_drift),
            ("ReconcilePriceDrift", result.price_drift),
        ):
            count_once(name, {"flow": "reconcile"}, value)
        return result

    def orders(self) -> OrdersResult:
        now = self.clock.now()
        since, until = now - WINDOW, now - IN_FLIGHT
        result = OrdersResult(ORDERS, _z(now), _z(since), _z(until))
        calls_before = self.erp.calls
        open_codes: dict[str, set[str]] = {}
        for view in self.store.open_exceptions():
            open_codes.setdefault(str(view["entity"]), set()).add(str(view["code"]))

        ours: list[tuple[str, Cin7SaleListRow]] = []  # (order id, sale) by this service's ExternalID
        rows = list(self.erp.iter_sales_updated_since(since - CLOCK_SKEW, limit=self.erp.page_limit))
        result.sales, result.sale_pages = len(rows), _pages(len(rows), self.erp.page_limit)
        for row in rows:
            order_id = self.config.orders.order_id_of(row.ExternalID)
            if order_id is not None and row.Status != "VOIDED":
                ours.append((order_id, row))
        by_order: dict[str, list[Cin7SaleListRow]] = {}
        for order_id, row in ours:
            by_order.setdefault(order_id, []).append(row)

        in_flight: set[str] = set()
        for oro_order in self.oro.iter_orders_updated_since(since):
            result.orders += 1
            order = _header(oro_order)
            decision = gate(
                order,
                self.config.orders.status_policy,
                self.config.orders.sub_orders,
                self.config.orders.external_status_policy,
            )
            if decision.action is OrderAction.IGNORE:
                continue
            result.to_sync += 1
            entity = f"order:{order.id}"
            if order.updated_at > until:
                result.in_flight += 1
                in_flight.add(order.id)
                continue
            state = self.store.get_order(order.id)
            blocking = open_codes.get(entity, set()) - set(_OWN_CODES)
            if state.status in _SYNCED:
                result.synced += 1
            elif state.status == "held" and (blocking or decision.action is OrderAction.HOLD):
                result.held += 1
            elif state.status in _FILTERED and state.reasons:
                result.filtered += 1
            else:
                self._orphaned(oro_order, order, state.status)
                result.orphaned.append(order.id)
                result.requeued += 1
                continue
            if ORPHANED in open_codes.get(entity, set()):
                result.closed += self.store.close_exception(
                    ORPHANED, entity, now, "accounted for by reconcile"
                )
            bound = [r for r in by_order.get(order.id, []) if r.SaleID == state.sale_id]
            if bound:
                self._compare_totals(order.id, _taxed_total(oro_order), bound[0], open_codes, result, now)

        bindings: dict[str, OrderState] = {}
        for order_id, row in ours:
            entity = f"sale:{row.SaleID}"
            if order_id not in bindings:
                bindings[order_id] = self.store.get_order(order_id)
            state = bindings[order_id]
            if state.sale_id == row.SaleID:
                if GHOST in open_codes.get(entity, set()):
                    result.closed += self.store.close_exception(GHOST, entity, now, "bound to its Oro order")
                continue
            if order_id in in_flight or (state.step is not None and state.sale_id is None):
                continue  # a create in progress binds its sale when it finishes
            self.store.open_exception(
                GHOST,
                entity,
                now,
                f"Cin7 sale {row.OrderNumber or row.SaleID} carries ExternalID {row.ExternalID}, but order "
                f"{order_id} is bound to {state.sale_id or 'no sale'} here",
            )
            result.ghosts.append(row.SaleID)

        result.erp_calls = self.erp.calls - calls_before
        self.store.put_reconcile_result(ORDERS, result.as_dict())
        self._metrics(result)
        return result

    def _orphaned(self, oro_order: OroOrder, order: StorefrontOrder, was: str) -> None:
        now, order_id = self.clock.now(), order.id
        version = _z(order.updated_at)  # as the poll's (OrderVersion.version)
        self.store.open_exception(
            ORPHANED,
            f"order:{order_id}",
            now,
            f"Oro order {order.identifier or order_id} ({order.status}, updated {order.updated_at.isoformat()}) "
            f"is {was} here: neither synced, held with an exception, nor filtered; enqueued again",
        )
        taken = enqueue_order_version(
            self.store,
            self.orders_queue,
            now,
            order_id=order_id,
            version=version,
            source="reconcile",
            status=oro_order.internal_status,
            total=oro_order.total_value,
        )
        if not taken:  # intake took this version in and its message was lost: new work for it on purpose
            self.orders_queue.send(
                {
                    "kind": "order",
                    "order_id": order_id,
                    "version": version,
                    "source": "reconcile",
                    "received_at": now,
                }
            )
        self.store.add_event(order_id, now, "reconcile_requeued", was=was, through_intake=taken)

    def _compare_totals(
        self,
        order_id: str,
        oro_total: Decimal | None,
        row: Cin7SaleListRow,
        open_codes: dict[str, set[str]],
        result: OrdersResult,
        now: datetime,
    ) -> None:
        if oro_total is None or row.InvoiceAmount is None:
            result.totals_untaxed += 1
            return
        result.totals_compared += 1
        entity = f"order:{order_id}"
        oro, erp = oro_total.quantize(CENT), Decimal(row.InvoiceAmount).quantize(CENT)
        if oro == erp:
            if MISMATCH in open_codes.get(entity, set()):
                result.closed += self.store.close_exception(MISMATCH, entity, now, "the totals agree")
            return
        self.store.open_exception(
            MISMATCH,
            entity,
            now,
            f"Oro order total {oro} but Cin7 sale {row.OrderNumber or row.SaleID} total {erp}",
        )
        result.mismatches.append(
            {"order_id": order_id, "sale_id": row.SaleID, "oro": str(oro), "erp": str(erp)}
        )

    @staticmethod
    def _metrics(result: OrdersResult) -> None:
        for name, value in (
            ("ReconcileOrders", result.to_sync),
            ("ReconcileOrphaned", len(result.orphaned)),
            ("ReconcileGhosts", len(result.ghosts)),
            ("ReconcileTotalMismatches", len(result.mismatches)),
            ("ReconcileErpCalls", result.erp_calls),
        ):
            count_once(name, {"flow": "reconcile"}, value)
