"""Fulfilment and order-to-cash status, Cin7 → Oro (DESIGN §4.4; README "Fulfilment"): tracking numbers,
shipping status and, where configured, the external status reach the buyer's order in the storefront.

Steps, one per message on the `fulfilment` queue (worked by `fulfilment_sync`; `fulfilment_poll` queues the
scans on its schedule, Cin7's sale webhooks queue `sale` steps):

- `sale`: an event is only a hint. The sale is read afresh (by its id, or by its order number for the events
  that name only a task), matched to its Oro order by the ExternalID this service gave it (a sale the service
  did not create is ignored and counted), and, under the order's fulfilment lease (its own: a shipment never waits for the order flow):
  - each shipment's tracking numbers are on the Oro order (`ordershippingtrackings`, carrier as method): one
    per number, a number Cin7 changed replaces the one this service added, none added twice;
  - the shipping status follows what has shipped, per line in Oro units (`shared/domain/fulfilment.py`), and
    never moves back;
  - the external status (`fulfilment.external_status`, off by default) follows shipped → invoiced → paid,
    never back;
  - a sale voided in Cin7 while its Oro order is open → `ORDER_VOIDED_IN_ERP` (customer service);
  - lines Cin7 shipped that the order does not have (a substitution) go on the order's timeline.
  What it last applied is recorded on the order (`fulfilment` record), so a repeated or late event changes
  nothing and costs one Cin7 read.
- `sale_scan`: sales updated since the watermark (with overlap, `saleList`, no per-sale read) whose status,
  shipment, invoice or payment differs from what was last applied → a `sale` step each. One such change older
  than Cin7's whole retry schedule means a webhook never came: `WEBHOOK_DISABLED`.
- `sale_webhooks`: each sale webhook is registered and active in Cin7 (`WEBHOOK_DISABLED` otherwise, with
  the command that brings it back).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.adapters.aws.state import StateStore
from shared.adapters.cin7.webhook import FULFILMENT_EVENTS
from shared.config import Config
from shared.domain.fulfilment import (
    CANCELLED,
    SHIPPING,
    STAGES,
    LineUnits,
    forward,
    shipped_per_line,
    stage,
)
from shared.errors import NotFound
from shared.flows.fulfilment_schedule import SALE_SCAN, SALE_WEBHOOKS
from shared.flows.intake import SALE, sale_refresh_key
from shared.observability import logger
from shared.ports import Clock, WorkQueue

WATERMARK = "fulfilment"
LEASE_SECONDS = 60
LEASE_ITEM = "fulfilment"  # the fulfilment flow's own lease: never waits for the order flow's
# Cin7 tries a webhook 6 times over about 76 minutes (reference §7): a change older than that which no
# webhook brought means the webhook is off or failing.
MISSED_AFTER = timedelta(minutes=90)
WEBHOOKS_ENTITY = "cin7:sale-webhooks"


class FulfilmentWork(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    sale_id: str | None = None
    order_number: str | None = None
    event: str | None = None
    source: str = "poll"
    deferrals: int = 0
    credential_deferrals: int = 0


@dataclass
class Applied:
    """What one `sale` step did to the Oro order."""

    action: str  # applied | unchanged | ignored
    order_id: str | None = None
    detail: str = ""
    changes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "changes": self.changes}
        if self.order_id:
            out["order_id"] = self.order_id
        if self.detail:
            out["detail"] = self.detail
        return out


def sale_fingerprint(sale: Any) -> str:
    """What a sale and its `saleList` row both say about its progress (the row has no lines): status, the
    combined shipping, invoice and payment statuses and the tracking numbers."""
    body = json.dumps(
        [
            sale.Status,
            sale.CombinedShippingStatus,
            sale.CombinedInvoiceStatus,
            sale.CombinedPaymentStatus,
            sale.CombinedTrackingNumbers or "",
        ]
    )
    return hashlib.sha256(body.encode()).hexdigest()[:24]


class FulfilmentFlow:
    def __init__(
        self,
        config: Config,
        state: StateStore,
        queue: WorkQueue,
        clock: Clock,
        *,
        erp: Any = None,  # shared.adapters.cin7.client.Cin7Client (the fulfilment flow's application)
        oro: Any = None,  # shared.adapters.orocommerce.client.OroClient
    ) -> None:
        self.config = config
        self.state = state
        self.queue = queue
        self.clock = clock
        self.erp = erp
        self.oro = oro

    def handle(self, work: FulfilmentWork) -> dict[str, Any]:
        if work.kind == SALE:
            return self.sale(work).as_dict()
        if work.kind == SALE_SCAN:
            return self.scan()
        if work.kind == SALE_WEBHOOKS:
            return self.check_webhooks()
        raise ValueError(f"fulfilment queue: unexpected message kind {work.kind!r}")

    # ------------------------------------------------------------------------------------ one sale

    def _read_sale(self, work: FulfilmentWork) -> Any | None:
        if work.sale_id:
            try:
                return self.erp.get_sale(work.sale_id)
            except NotFound:
                if not work.order_number:
                    return None
        if work.order_number:
            row = self.erp.find_sale_by_order_number(work.order_number)
            return self.erp.get_sale(row.SaleID) if row is not None else None
        return None

    def order_of(self, external_id: str | None) -> str | None:
        order_id = self.config.orders.order_id_of(external_id)
        return order_id if order_id and order_id.isdigit() else None

    def sale(self, work: FulfilmentWork) -> Applied:
        if work.source == "webhook":  # a change from now on queues another re-read
            self.state.release_refresh(sale_refresh_key(work.sale_id, work.order_number))
        sale = self._read_sale(work)
        if sale is None:
            return Applied("ignored", detail="no such sale in Cin7")
        order_id = self.order_of(sale.ExternalID)
        state = self.state.get_order(order_id) if order_id else None
        if order_id is None or state is None or state.sale_id != sale.ID:
            # a sale made in Cin7 itself, or by another integration: not ours to report on
            logger.info("sale not made by this service", extra={"sale_id": sale.ID, "event": work.event})
            return Applied("ignored", detail="a sale this service did not create")
        token = self.state.acquire_lease(order_id, self.clock.now(), LEASE_SECONDS, item=LEASE_ITEM)
        try:
            return self._apply(order_id, sale, work)
        finally:
            self.state.release_lease(order_id, token, item=LEASE_ITEM)

    def _apply(self, order_id: str, sale: Any, work: FulfilmentWork) -> Applied:
        now = self.clock.now()
        record = self.state.fulfilment_record(order_id)
        order = self.oro.get_order(order_id, include=("lineItems",))
        changes: list[str] = []
        if sale.Status == "VOIDED":
            if order.internal_status != "cancelled" and not record.get("voided"):
                self.state.open_exception(
                    "ORDER_VOIDED_IN_ERP",
                    f"order:{order_id}",
                    now,
                    f"Cin7 sale {sale.ID} was voided while Oro order {order_id} is {order.internal_status}",
                )
                self.state.add_event(order_id, now, "voided_in_erp", sale_id=sale.ID)
                changes.append("voided_in_erp")
            record["voided"] = True
            changes += self._external(order_id, record, CANCELLED)
            self._save(order_id, record, sale, now)
            return Applied("applied" if changes else "unchanged", order_id, changes=changes)

        changes += self._trackings(order_id, sale, record, now)
        lines = self._line_units(order)
        progress = shipped_per_line(lines, sale.shipped_quantities)
        if progress.extra:
            extra = {sku: str(q) for sku, q in sorted(progress.extra.items())}
            if record.get("extra") != extra:
                self.state.add_event(order_id, now, "erp_lines_differ", shipped_beyond_the_order=extra)
                record["extra"] = extra
                changes.append("erp_lines_differ")
        shipping = forward(record.get("shipping_status"), progress.status, SHIPPING)
        if shipping != record.get("shipping_status") and shipping != "not_shipped":
            if self.config.fulfilment.shipping_status:
                self.oro.set_shipping_status(order_id, shipping)
            per_line = {line.line_id: str(line.shipped) for line in progress.lines}
            self.state.add_event(order_id, now, shipping, shipped_per_line=per_line)
            changes.append(shipping)
        record["shipping_status"] = shipping
        invoiced = any(i.issued for i in sale.Invoices)
        paid = bool(sale.Invoices) and all(i.paid for i in sale.Invoices if i.issued) and invoiced
        reached = stage(shipping=shipping, invoiced=invoiced, paid=paid)
        for step in STAGES[1 : STAGES.index(reached) + 1]:
            if step != "shipped" and step not in record.get("events", []):
                self.state.add_event(order_id, now, step, sale_id=sale.ID)
                record.setdefault("events", []).append(step)
                changes.append(step)
        changes += self._external(order_id, record, reached)
        self._save(order_id, record, sale, now)
        return Applied("applied" if changes else "unchanged", order_id, changes=changes)

    def _save(self, order_id: str, record: dict[str, Any], sale: Any, now: datetime) -> None:
        record["seen"] = sale_fingerprint(sale)
        record["applied_at"] = now.isoformat()
        self.state.put_fulfilment_record(order_id, record)

    def _line_units(self, order: Any) -> list[LineUnits]:
        out = []
        for line in order.line_items:
            mapping = self.config.unit_mapping(line.product_sku or "", line.product_unit_code or "")
            if mapping is None:  # the order would not have synced without it; a line since removed
                continue
            out.append(LineUnits(str(line.id), mapping.erp_sku, mapping.factor, line.quantity))
        return out

    def _trackings(self, order_id: str, sale: Any, record: dict[str, Any], now: datetime) -> list[str]:
        """Each shipment's numbers on the Oro order once; a number Cin7 replaced in a shipment is removed
        from Oro if this service added it (never one a person added)."""
        wanted: dict[str, dict[str, str]] = {}  # fulfilment task -> number -> carrier
        for fulfilment in sale.Fulfilments:
            if fulfilment.Ship is None:
                continue
            for line in fulfilment.Ship.Lines:
                if line.TrackingNumber and line.IsShipped is not False:
                    wanted.setdefault(str(fulfilment.TaskID), {})[line.TrackingNumber] = line.Carrier or ""
        before: dict[str, list[str]] = record.get("trackings", {})
        if {k: sorted(v) for k, v in wanted.items()} == {k: sorted(v) for k, v in before.items()}:
            return []
        in_oro = {t.number: t for t in self.oro.list_shipping_trackings(order_id)}
        changes: list[str] = []
        added: list[str] = list(record.get("added", []))
        for task, numbers in wanted.items():
            for number, carrier in numbers.items():
                if number not in in_oro:
                    self.oro.add_shipping_tracking(order_id, carrier or "other", number)
                    added.append(number)
                    self.state.add_event(
                        order_id, now, "tracking_added", number=number, carrier=carrier, task=task
                    )
                    changes.append(f"tracking {number}")
            for old in before.get(task, []):
                if old not in numbers and old in added and old in in_oro:
                    self.oro.delete_shipping_tracking(in_oro[old].id)
                    added.remove(old)
                    self.state.add_event(order_id, now, "tracking_replaced", number=old, task=task)
                    changes.append(f"tracking {old} replaced")
        record["trackings"] = {k: sorted(v) for k, v in wanted.items()}
        record["added"] = sorted(set(added))
        return changes

    def _external(self, order_id: str, record: dict[str, Any], reached: str) -> list[str]:
        codes = self.config.fulfilment.external_status
        current = record.get("external_stage")
        if reached == CANCELLED:
            target = CANCELLED if current != CANCELLED else current
        elif current == CANCELLED:
            return []
        else:
            target = forward(current, reached, STAGES)
        if target == current or target not in codes:
            record["external_stage"] = target
            return []
        taken = self.oro.set_external_status(order_id, codes[target])
        record["external_stage"] = target
        if not taken:
            logger.warning(
                "Oro ignored the external status: is External Status Management on?",
                extra={"order_id": order_id, "status": codes[target]},
            )
            return [f"external status {codes[target]} not taken"]
        return [f"external status {codes[target]}"]

    # ------------------------------------------------------------------------------------ scans

    def scan(self) -> dict[str, Any]:
        """Sales updated since the watermark, less the overlap: a `sale` step for each of ours whose progress
        differs from what was applied. A difference older than Cin7's retry schedule is a missed webhook."""
        now = self.clock.now()
        mark = self.state.get_watermark(WATERMARK)
        overlap = timedelta(minutes=self.config.schedules.fulfilment_poll_overlap_minutes)
        since = (mark - overlap) if mark else now - timedelta(days=1)
        queued, foreign, missed = 0, 0, []
        for row in self.erp.iter_sales_updated_since(since):
            order_id = self.order_of(row.ExternalID)
            if order_id is None:
                foreign += 1
                continue
            state = self.state.get_order(order_id)
            if state.sale_id != row.SaleID:
                foreign += 1
                continue
            if self.state.fulfilment_record(order_id).get("seen") == sale_fingerprint(row):
                continue
            if row.Updated is not None and now - row.Updated > MISSED_AFTER:
                missed.append(order_id)
            self.queue.send(
                FulfilmentWork(kind=SALE, sale_id=row.SaleID, source="poll").model_dump(
                    mode="json", exclude_defaults=True
                )
            )
            queued += 1
        self.state.set_watermark(WATERMARK, now)
        if missed:
            self.state.open_exception(
                "WEBHOOK_DISABLED",
                WEBHOOKS_ENTITY,
                now,
                f"the poll found {len(missed)} sale change(s) older than Cin7's retry schedule that no webhook "
                f"brought (orders {', '.join(missed[:10])}): run `orosync webhooks ensure`",
            )
        return {"queued": queued, "foreign": foreign, "missed": len(missed)}

    def check_webhooks(self) -> dict[str, Any]:
        """Each sale webhook registered and active (Cin7 switches one off after six failed tries)."""
        now = self.clock.now()
        active = {w.Type for w in self.erp.list_webhooks() if w.IsActive}
        off = [event for event in FULFILMENT_EVENTS if event not in active]
        if off:
            self.state.open_exception(
                "WEBHOOK_DISABLED",
                WEBHOOKS_ENTITY,
                now,
                f"Cin7's {', '.join(off)} webhook(s) are switched off or missing: shipments reach Oro only by "
                "the poll. Run `orosync webhooks ensure`.",
            )
        else:
            self.state.close_exception(
                "WEBHOOK_DISABLED", WEBHOOKS_ENTITY, now, "every sale webhook is active"
            )
        return {"webhooks_off": off}
