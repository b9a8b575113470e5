"""Order sync, storefront → ERP (DESIGN §4.1, §6): gate, resolve the customer, convert units, check tax,
then create the ERP sale exactly once, or hold the order with named reasons.

The create is a small state machine recorded in the state table under an exclusive lease:

    (none) → header_pending → header_done → lines_pending → lines_done

A step is recorded *before* the ERP call whose outcome could be lost (`*_pending`), so a retry that finds a
pending step first looks in the ERP for what the lost call may have done, and adopts it. In steady state an
order costs exactly two ERP calls: the sale header and its lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from shared.adapters.aws.state import CustomerBinding, OrderState, StateStore
from shared.config import Config, OrderAction, PricingAuthority
from shared.domain.currency import CurrencyCheck, check_currency
from shared.domain.gating import gate
from shared.domain.orders import (
    ErpCustomer,
    OrderLine,
    SaleCharge,
    SaleDraft,
    SaleLine,
    SaleRef,
    StorefrontOrder,
    TaxRate,
)
from shared.domain.pricing import PriceComparison, compare_price, customer_price
from shared.domain.tax import tax_difference, tax_on
from shared.domain.totals import erp_amount, merge_lines, money, price_lines
from shared.domain.units import (
    ConvertedLine,
    UnitRule,
    convert,
    erp_quantity_problem,
    implied_factor,
)
from shared.errors import AlreadyFulfilled, NotFound, Permanent
from shared.flows.recovery import LostStateCheck
from shared.observability import logger
from shared.ports import Clock, Erp, Storefront
from shared.resources import function

CACHE_SECONDS = 900


def _plain(value: Decimal | None) -> str:
    """`12` for 12.0000, `0.5` for 0.50: a quantity or factor as a person writes it."""
    return "?" if value is None else f"{value.normalize():f}"


def customer_cache_key(erp_customer_id: str) -> str:
    """The cached ERP customer (credit hold, price tier): a release of an order held for it drops it."""
    return f"erp:customer:{erp_customer_id}"


@dataclass
class Hold:
    code: str
    detail: str


@dataclass
class Prepared:
    draft: SaleDraft
    customer: ErpCustomer
    comparisons: list[PriceComparison] = field(default_factory=list)


@dataclass
class OrderSyncResult:
    order_id: str
    outcome: str  # synced | draft | held | ignored | unchanged | voided | deleted | cancel_blocked
    sale_id: str | None = None
    reasons: list[str] = field(default_factory=list)
    erp_calls: int = 0


class OrderSync:
    def __init__(
        self,
        config: Config,
        storefront: Storefront,
        erp: Erp,
        store: StateStore,
        clock: Clock,
        *,
        lease_seconds: float = 90,
        settle_seconds: float = function("order_sync").timeout_seconds,
    ) -> None:
        self.config = config
        self.storefront = storefront
        self.erp = erp
        self.store = store
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.customer_path: list[str] = []
        self.pending_binding: CustomerBinding | None = None  # the bound account awaits finance approval
        self.lost_state = LostStateCheck(
            erp,
            store,
            clock,
            external_id_prefix=config.orders.external_id_prefix,
            settle_seconds=settle_seconds,
        )

    # -- entry point ----------------------------------------------------------------------------------
    def run(self, order_id: str) -> OrderSyncResult:
        calls_before = self.erp.calls
        # The lease first, then the read: an order read before another worker finished with it could be
        # acted on in a state that worker has already moved past (say, a cancel it has just processed).
        token = self.store.acquire_lease(order_id, self.clock.now(), self.lease_seconds)
        try:
            result = self._read_and_run(order_id, token)
        finally:
            self.store.release_lease(order_id, token)
        result.erp_calls = self.erp.calls - calls_before
        self._event(order_id, "processed", outcome=result.outcome, erp_calls=result.erp_calls)
        logger.info(
            "order processed",
            extra={"order_id": order_id, "outcome": result.outcome, "erp_calls": result.erp_calls},
        )
        return result

    def _read_and_run(self, order_id: str, token: str) -> OrderSyncResult:
        """A data error that retrying cannot fix becomes a named exception on the order, never a DLQ entry
        alone: the storefront's document (ORDER_INVALID) or the ERP's refusal (ERP_REJECTED)."""
        try:
            order = self.storefront.get_order(order_id)
        except NotFound as err:
            if err.system == "state":
                raise
            return self._deleted(order_id, err)
        except Permanent as err:
            return self._hold_unreadable(order_id, str(err))
        try:
            return self._run(order, token)
        except Permanent as err:  # NotFound included: a customer or sale the order refers to is missing
            if err.system == "state":
                raise  # our own records contradict themselves: let it fail loudly (DLQ and alarm)
            code = "ERP_REJECTED" if err.system == "cin7" else "ORDER_INVALID"
            return self._hold(order, [Hold(code, str(err))])

    def _external_id(self, order_id: str) -> str:
        """The ERP sale's ExternalID: the idempotency key a lost create is looked up by."""
        return f"{self.config.orders.external_id_prefix}{order_id}"

    def _event(self, order_id: str, kind: str, **detail: object) -> None:
        self.store.add_event(order_id, self.clock.now(), kind, **detail)

    def _run(self, order: StorefrontOrder, token: str) -> OrderSyncResult:
        state = self.store.get_order(order.id)
        decision = gate(
            order,
            self.config.orders.status_policy,
            self.config.orders.sub_orders,
            self.config.orders.external_status_policy,
        )
        self._event(
            order.id, "gated", version=order.version, action=decision.action.value, reason=decision.reason
        )

        if decision.action is OrderAction.IGNORE:
            if state.status != "synced":
                self._void_empty_header(order.id, state)
                self._close_exceptions(order.id, state, resolution="order is no longer to be synced")
                self.store.set_order_status(
                    order.id, "ignored", self.clock.now(), reasons=[decision.reason], open_codes=[]
                )
            return OrderSyncResult(order.id, "ignored", state.sale_id, [decision.reason])
        if decision.action is OrderAction.VOID:
            return self._void(order, state)
        if decision.action is OrderAction.HOLD:
            return self._hold(order, [Hold("PENDING_APPROVAL", decision.reason)], exceptions=False)

        authorise = decision.action is OrderAction.CREATE_AUTHORISED
        if state.step in ("lines_done", "authorise_pending"):
            return self._already_in_erp(order, state, authorise, token)

        prepared = self._prepare(order, authorise, state)
        if isinstance(prepared, list):
            return self._hold(order, prepared)
        draft = prepared.draft
        try:
            sale_id, erp_status, step = self._create_once(order, state, draft, token)
        except Permanent as err:
            if err.system == "state":
                raise
            detail = str(err)
            # Lines refused after the header was created: the empty header stays recorded at
            # `lines_pending`, so the next run (a release, a change in Oro) adds the lines to it, and a
            # cancel voids it. Say so, so no one deletes it or makes a second by hand.
            kept = self.store.get_order(order.id)
            if kept.step == "lines_pending" and kept.sale_id:
                detail += f" (ERP sale {kept.sale_id} has no lines yet: the next run adds them to it)"
            return self._hold(order, [Hold("ERP_REJECTED", detail)])
        if draft.authorise and erp_status == "DRAFT":
            # An earlier attempt's lines were adopted as DRAFT (the order was pending then, or its customer
            # on hold), and the order is to be authorised now: bind the adopted DRAFT, then re-send it.
            self._event(order.id, "adopted_draft", sale_id=sale_id)
            self._bind(order, prepared, sale_id, "DRAFT", state, token, expect=step)
            return self._resend_draft(order, self.store.get_order(order.id), authorise, token)
        return self._bind(order, prepared, sale_id, erp_status, state, token, expect=step)

    def _bind(
        self,
        order: StorefrontOrder,
        prepared: Prepared,
        sale_id: str,
        erp_status: str,
        state: OrderState,
        token: str,
        *,
        expect: str,
    ) -> OrderSyncResult:
        """Record the ERP sale as the order's binding together with the step that made it (`lines_done`,
        from `expect`, in one conditional write), then close what the order had open and report prices."""
        customer = prepared.customer
        on_hold = customer.on_credit_hold and erp_status == "DRAFT"
        status = "synced" if erp_status == "AUTHORISED" else "draft"
        hold_reason = f"ERP customer {customer.name} is on credit hold: sale {sale_id} left as DRAFT"
        self.store.record_step(
            order.id,
            "lines_done",
            expect=expect,
            token=token,
            status=(status, self.clock.now()),
            sale_id=sale_id,
            content_hash=order.content_hash(),
            version=order.version,
            erp_status=erp_status,
            reasons=[f"CUSTOMER_ON_HOLD: {hold_reason}"] if on_hold else [],
            customer_id=order.customer_id,
            customer_path=list(self.customer_path) or [order.customer_id],
            erp_customer_id=customer.id,
            open_codes=["CUSTOMER_ON_HOLD"] if on_hold else [],
        )
        self._close_exceptions(order.id, state, keep=("CUSTOMER_ON_HOLD",) if on_hold else ())
        if state.content_hash and state.content_hash != order.content_hash():  # re-sent as it is now
            self.store.close_exception(
                "ORDER_CHANGED_AFTER_SYNC", f"order:{order.id}", self.clock.now(), "the ERP sale was re-sent"
            )
        if on_hold:
            self.store.open_exception("CUSTOMER_ON_HOLD", f"order:{order.id}", self.clock.now(), hold_reason)
        self._report_prices(order, prepared)
        rounding = sum((c.price for c in prepared.draft.charges if c.kind == "rounding"), Decimal(0))
        self._event(
            order.id,
            "bound",
            sale_id=sale_id,
            erp_status=erp_status,
            **({"rounding": str(rounding)} if rounding else {}),
        )
        return OrderSyncResult(order.id, status, sale_id, [hold_reason] if on_hold else [])

    def _report_prices(self, order: StorefrontOrder, prepared: Prepared) -> None:
        """PRICE_DRIFT is one exception per (ERP SKU, tier): it opens when a sent storefront price differs from
        the tier beyond tolerance, and closes when a later order for that SKU and tier agrees."""
        now = self.clock.now()
        for c in prepared.comparisons:
            entity = f"sku:{c.erp_sku}:tier:{c.tier}"
            if c.within_tolerance:
                self.store.close_exception("PRICE_DRIFT", entity, now, f"order {order.id} agreed")
            elif self.config.pricing.authority is PricingAuthority.STOREFRONT:
                self.store.open_exception("PRICE_DRIFT", entity, now, f"order {order.id}: {c.describe()}")
                self._event(order.id, "price_drift", detail=c.describe())
            else:  # erp authority, mismatch accepted by finance for this version
                self._event(order.id, "storefront_price_accepted", detail=c.describe())

    # -- the outcomes ---------------------------------------------------------------------------------
    def _hold(self, order: StorefrontOrder, holds: list[Hold], *, exceptions: bool = True) -> OrderSyncResult:
        now = self.clock.now()
        previous = self.store.get_order(order.id).open_codes
        codes = sorted({h.code for h in holds}) if exceptions else []
        for code in previous:  # a reason that no longer holds the order is resolved
            if code not in codes:
                self.store.close_exception(code, f"order:{order.id}", now, "no longer holds the order")
        reasons = [f"{h.code}: {h.detail}" for h in holds]
        if exceptions:
            for h in holds:
                self.store.open_exception(h.code, f"order:{order.id}", now, h.detail)
        self.store.set_order_status(
            order.id,
            "held",
            now,
            reasons=reasons,
            version=order.version,
            customer_id=order.customer_id,
            customer_path=list(self.customer_path) or [order.customer_id],
            open_codes=codes,
        )
        self._event(order.id, "held", reasons=reasons)
        return OrderSyncResult(order.id, "held", None, reasons)

    def _hold_unreadable(self, order_id: str, detail: str) -> OrderSyncResult:
        """The storefront's document for the order cannot be read as an order (no lines, no customer...)."""
        now = self.clock.now()
        state = self.store.get_order(order_id)
        self._close_exceptions(
            order_id, state, keep=("ORDER_INVALID",), resolution="no longer holds the order"
        )
        self.store.open_exception("ORDER_INVALID", f"order:{order_id}", now, detail)
        reasons = [f"ORDER_INVALID: {detail}"]
        self.store.set_order_status(order_id, "held", now, reasons=reasons, open_codes=["ORDER_INVALID"])
        self._event(order_id, "held", reasons=reasons)
        return OrderSyncResult(order_id, "held", state.sale_id, reasons)

    def _erp_sale(
        self, order_id: str, state: OrderState, order: StorefrontOrder | None = None
    ) -> SaleRef | None:
        """The order's ERP sale: the binding's, or, for a create that was started and never bound (a dead
        worker, a lost answer, lines the ERP refused) or that this store may have lost the record of
        (`shared/flows/recovery.py`), what the ERP holds under the order's ExternalID."""
        external_id = self._external_id(order_id)
        if state.step is None:
            if order is None or state.status != "new" or not self.lost_state.erp_may_hold(order, external_id):
                return None
        elif state.erp_status is not None and state.sale_id is not None:
            return SaleRef(state.sale_id, True, state.erp_status)
        found = self.erp.find_sale(external_id)
        if found is not None:
            self._event(order_id, "erp_sale_adopted", sale_id=found.id, has_lines=found.has_lines)
        return found

    def _void_empty_header(self, order_id: str, state: OrderState) -> None:
        """A header a failed create left behind (no lines) is voided when its order will not be synced."""
        left = self._erp_sale(order_id, state)
        if left is not None and not left.has_lines:
            self.erp.void_sale(left.id)
            self._event(order_id, "empty_header_voided", sale_id=left.id)

    def _void(self, order: StorefrontOrder, state: OrderState) -> OrderSyncResult:
        left = self._erp_sale(order.id, state, order)
        state.sale_id = left.id if left is not None else None
        if not state.sale_id:
            reason = "cancelled before any ERP sale existed"
            self._close_exceptions(order.id, state, resolution="order cancelled")
            self.store.set_order_status(
                order.id, "ignored", self.clock.now(), reasons=[reason], open_codes=[]
            )
            return OrderSyncResult(order.id, "ignored", None, [reason])
        if state.status == "voided":
            return OrderSyncResult(order.id, "unchanged", state.sale_id, ["already voided"])
        try:
            self.erp.void_sale(state.sale_id)
        except AlreadyFulfilled as err:
            self._close_exceptions(order.id, state, resolution="order cancelled")
            self.store.open_exception(
                "CANCEL_AFTER_FULFILMENT", f"order:{order.id}", self.clock.now(), str(err)
            )
            self.store.set_order_status(
                order.id,
                "cancel_blocked",
                self.clock.now(),
                version=order.version,
                reasons=[f"CANCEL_AFTER_FULFILMENT: {err}"],
                open_codes=["CANCEL_AFTER_FULFILMENT"],
            )
            self._event(order.id, "cancel_blocked", sale_id=state.sale_id, reason=str(err))
            return OrderSyncResult(order.id, "cancel_blocked", state.sale_id, [str(err)])
        self._close_exceptions(order.id, state, resolution="order cancelled and its ERP sale voided")
        self.store.set_order_status(
            order.id,
            "voided",
            self.clock.now(),
            sale_id=state.sale_id,  # an adopted sale's id is known only here
            version=order.version,
            erp_status="VOIDED",
            reasons=[],
            open_codes=[],
        )
        self._event(order.id, "voided", sale_id=state.sale_id)
        return OrderSyncResult(order.id, "voided", state.sale_id)

    def _deleted(self, order_id: str, err: NotFound) -> OrderSyncResult:
        """The order no longer exists in the storefront. Nothing of ours for it: nothing to do (the handler
        acknowledges the message). A DRAFT sale (or a header a dead worker left) is voided, so it never
        holds stock for nobody; an authorised sale is not ours to undo: ORDER_DELETED tells customer
        service. Either way the order's other exceptions close."""
        state = self.store.get_order(order_id)
        if state.status == "new" and state.step is None:
            raise err
        if state.status == "deleted":
            return OrderSyncResult(order_id, "unchanged", state.sale_id, ["already deleted"])
        now = self.clock.now()
        left = self._erp_sale(order_id, state)
        sale_id = left.id if left is not None else None
        # a header without lines commits nothing, as a DRAFT does
        erp_status = (left.status or "DRAFT") if left is not None and left.has_lines else "DRAFT"
        reason, outcome = "deleted in the storefront; no ERP sale holds it", "ignored"
        if sale_id is not None and erp_status == "DRAFT":
            try:
                self.erp.void_sale(sale_id)
                reason, outcome, erp_status = (
                    "deleted in the storefront; its DRAFT sale voided",
                    "voided",
                    "VOIDED",
                )
            except AlreadyFulfilled as fulfilled:
                erp_status = str(fulfilled)
        if sale_id is not None and erp_status != "VOIDED":
            detail = f"deleted in the storefront; ERP sale {sale_id} is {erp_status} and was not changed"
            self._close_exceptions(order_id, state, keep=("ORDER_DELETED",), resolution="order deleted")
            self.store.open_exception("ORDER_DELETED", f"order:{order_id}", now, detail)
            self.store.set_order_status(
                order_id, "deleted", now, reasons=[f"ORDER_DELETED: {detail}"], open_codes=["ORDER_DELETED"]
            )
            self._event(order_id, "deleted", sale_id=sale_id, erp_status=erp_status)
            return OrderSyncResult(order_id, "deleted", sale_id, [f"ORDER_DELETED: {detail}"])
        self._close_exceptions(order_id, state, resolution="order deleted")
        extra = {"erp_status": erp_status} if sale_id else {}
        self.store.set_order_status(order_id, "deleted", now, reasons=[reason], open_codes=[], **extra)
        self._event(order_id, "deleted", sale_id=sale_id, erp_status=erp_status)
        return OrderSyncResult(order_id, outcome, sale_id, [reason])

    def _already_in_erp(
        self, order: StorefrontOrder, state: OrderState, authorise: bool, token: str
    ) -> OrderSyncResult:
        if state.erp_status is None:
            # The lines step was recorded without its binding (written before the two were one write):
            # read the sale from the ERP and finish the job.
            found = self._erp_sale(order.id, state)
            if found is None or not found.has_lines:
                raise Permanent(
                    f"order {order.id}: lines recorded but no ERP sale holds them", system="state"
                )
            state.sale_id, state.erp_status = found.id, found.status or "DRAFT"
            if state.erp_status != "DRAFT":
                prepared = self._prepare(order, authorise, state)
                if isinstance(prepared, list):
                    return self._hold(order, prepared)
                return self._bind(
                    order,
                    prepared,
                    found.id,
                    state.erp_status,
                    state,
                    token,
                    expect=state.step or "lines_done",
                )
        # A DRAFT follows its order: re-sent when confirmed or changed, re-bound when a hold on it is over.
        if state.erp_status == "DRAFT" and (
            authorise or state.content_hash != order.content_hash() or state.status == "held"
        ):
            return self._resend_draft(order, state, authorise, token)
        entity = f"order:{order.id}"
        if state.content_hash == order.content_hash():
            self.store.close_exception(
                "ORDER_CHANGED_AFTER_SYNC", entity, self.clock.now(), "the order matches its ERP sale again"
            )
            self._event(order.id, "unchanged", sale_id=state.sale_id)
            return OrderSyncResult(order.id, "unchanged", state.sale_id)
        detail = f"version {order.version} differs from ERP sale {state.sale_id}, which was not changed"
        self.store.open_exception("ORDER_CHANGED_AFTER_SYNC", entity, self.clock.now(), detail)
        self._event(order.id, "changed_after_sync", sale_id=state.sale_id, version=order.version)
        return OrderSyncResult(order.id, "unchanged", state.sale_id, [f"ORDER_CHANGED_AFTER_SYNC: {detail}"])

    def _resend_draft(
        self, order: StorefrontOrder, state: OrderState, authorise: bool, token: str
    ) -> OrderSyncResult:
        """A DRAFT sale commits nothing, so it follows the current order: a changed order's header and lines
        are re-sent over it, and a confirmed one is authorised, exactly once. The step is recorded before the
        calls; a retry that finds it looks at the sale before posting again. While the ERP customer is on
        credit hold the sale stays DRAFT, with CUSTOMER_ON_HOLD open."""
        prepared = self._prepare(order, authorise, state)
        if isinstance(prepared, list):
            return self._hold(order, prepared)
        draft = prepared.draft
        if state.sale_id is None:
            raise Permanent(f"order {order.id}: a DRAFT sale is recorded without its id", system="state")
        changed = state.content_hash != order.content_hash()
        if not draft.authorise and not changed:  # on credit hold: stays DRAFT, and says so
            return self._bind(
                order, prepared, state.sale_id, "DRAFT", state, token, expect=state.step or "lines_done"
            )
        wanted = "AUTHORISED" if draft.authorise else "DRAFT"
        already = False
        if state.step == "authorise_pending":
            found = self.erp.find_sale(draft.external_id)
            # Re-posting a DRAFT over itself is harmless; an authorised sale is never posted again.
            already = found is not None and found.status == "AUTHORISED"
        else:
            self.store.record_step(order.id, "authorise_pending", expect="lines_done", token=token)
        if not already:
            try:
                if changed:
                    self.erp.update_sale_header(state.sale_id, draft)
                self.erp.add_sale_lines(state.sale_id, draft)
            except Permanent as err:
                return self._hold(order, [Hold("ERP_REJECTED", str(err))])
        self._event(
            order.id,
            "authorised" if draft.authorise else "draft_updated",
            sale_id=state.sale_id,
            adopted=already,
            resent=changed,
        )
        return self._bind(order, prepared, state.sale_id, wanted, state, token, expect="authorise_pending")

    def _close_exceptions(
        self,
        order_id: str,
        state: OrderState,
        keep: tuple[str, ...] = (),
        resolution: str = "order passed",
    ) -> None:
        """Close what this order opened before (recorded on its state), not every code in the catalogue."""
        now = self.clock.now()
        for code in state.open_codes:
            if code not in keep:
                self.store.close_exception(code, f"order:{order_id}", now, resolution)

    # -- preparing the sale ---------------------------------------------------------------------------
    def _prepare(self, order: StorefrontOrder, authorise: bool, state: OrderState) -> Prepared | list[Hold]:
        """The ERP sale for the order, or every reason it cannot be created yet (all of them, not the first)."""
        holds: list[Hold] = []
        customer = self._resolve_customer(order)
        if customer is None:
            holds.append(
                Hold(
                    "CUSTOMER_UNMAPPED",
                    f"no ERP customer for storefront customer {order.customer_id} or its parents",
                )
            )
        elif self.pending_binding is not None:
            pending = self.pending_binding
            holds.append(
                Hold(
                    "CUSTOMER_PENDING_APPROVAL",
                    f"storefront customer {pending.storefront_customer_id} was onboarded as ERP customer "
                    f"{pending.erp_customer_id} on hold: finance has not approved it yet",
                )
            )
        currency = self._currency(order, customer)
        if currency.code:
            holds.append(Hold(currency.code, currency.detail))
        rates = self._tax_rates()
        converted: list[tuple[ConvertedLine, str, str]] = []  # (line, tax rule, name)
        comparisons: list[PriceComparison] = []
        price_accepted = state.price_accepted_version == order.version
        for line in order.lines:
            checked = self._line(line, customer, rates, price_accepted)
            if isinstance(checked, Hold):
                holds.append(checked)
                continue
            c, rule_name, comparison = checked
            if comparison is not None:
                comparisons.append(comparison)
                blocking = self.config.pricing.authority is PricingAuthority.ERP
                if blocking and not comparison.within_tolerance and not price_accepted:
                    holds.append(Hold("PRICE_MISMATCH", comparison.describe()))
            converted.append((c, rule_name, line.name))
        if holds or customer is None:
            return holds
        inclusive = self._tax_inclusive(customer, rates)
        priced = self._money(order, converted, rates, inclusive)
        if isinstance(priced, list):
            return priced
        lines, charges = priced
        note = f"OroCommerce order {order.identifier}"
        draft = SaleDraft(
            external_id=self._external_id(order.id),
            customer_id=customer.id,
            location=self.config.erp.default_location,
            currency=order.currency,
            lines=tuple(lines),
            charges=tuple(charges),
            authorise=authorise and not customer.on_credit_hold,
            customer_reference=order.po_number,
            note=f"{note}: {order.customer_notes}" if order.customer_notes else note,
            billing_address=order.billing_address,
            shipping_address=order.shipping_address,
            ship_by=order.ship_until,
            contact=order.contact,
            tax_inclusive=inclusive,
            currency_rate=currency.rate,
        )
        return Prepared(draft, customer, comparisons)

    def _line(
        self,
        line: OrderLine,
        customer: ErpCustomer | None,
        rates: Mapping[str, TaxRate],
        price_accepted: bool,
    ) -> tuple[ConvertedLine, str, PriceComparison | None] | Hold:
        """One storefront line in ERP terms (SKU, quantity, price per ERP unit, tax rule) and its price
        comparison, or the reason it cannot be sent. Everything the ERP would refuse of a line is refused
        here, before the sale header is created (a refusal after it would leave an empty sale behind)."""
        mapping = self.config.unit_mapping(line.sku, line.unit)
        if mapping is None:
            return Hold("UOM_UNMAPPED", f"{line.sku} in unit {line.unit!r} has no ERP mapping")
        rule = UnitRule(mapping.erp_sku, mapping.factor)
        primary = self.config.unit_mapping(line.sku, line.primary_unit) if line.primary_unit else None
        expected = implied_factor(
            rule, UnitRule(primary.erp_sku, primary.factor) if primary else None, line.unit_rate
        )
        if expected is not None and expected != rule.factor:
            return Hold(
                "UOM_MISMATCH",
                f"{line.sku} in unit {line.unit!r}: the mapping sends {_plain(rule.factor)} × {rule.erp_sku}, "
                f"but the storefront's conversion rate ({_plain(line.unit_rate)} {line.primary_unit} a "
                f"{line.unit}) makes it {_plain(expected)} × {rule.erp_sku}",
            )
        rule_name = self._tax_rule(line.tax_code)
        if rule_name is None or rule_name not in rates:
            return Hold(
                "TAX_MISMATCH", f"line {line.line_id}: tax code {line.tax_code!r} has no ERP tax rule"
            )
        c = convert(line.quantity, line.unit_price, rule)
        own = erp_quantity_problem(line.quantity)
        if own is not None:  # the storefront's own quantity
            return Hold("ORDER_INVALID", f"line {line.line_id} ({line.sku} {line.unit}): {own}")
        problem = erp_quantity_problem(c.quantity)
        if problem is not None:  # the mapping's factor made it so
            return Hold(
                "UOM_MISMATCH",
                f"line {line.line_id}: {_plain(line.quantity)} {line.unit} of {line.sku} × "
                f"{_plain(rule.factor)} is {c.erp_sku} {problem}",
            )
        erp_prices = self._erp_prices(c.erp_sku)
        if erp_prices is None:
            return Hold("SKU_UNKNOWN", f"{c.erp_sku} (for {line.sku} {line.unit}) is not in the ERP")
        if customer is None:
            return c, rule_name, None
        blocking = self.config.pricing.authority is PricingAuthority.ERP
        if blocking:
            # what the ERP would charge this customer: its own price, or its tier less its discount
            erp_price = customer_price(c.erp_sku, customer, erp_prices)
        elif customer.price_tier and customer.price_tier in erp_prices:
            erp_price = (customer.price_tier, erp_prices[customer.price_tier])
        else:
            erp_price = None
        if erp_price is not None:
            basis, price = erp_price
            return (
                c,
                rule_name,
                compare_price(c.erp_sku, basis, c.unit_price, price, self.config.pricing.tolerance),
            )
        if blocking and not price_accepted:
            # The ERP is the price authority but holds no price to check this line against: unchecked is
            # not agreed.
            tier = customer.price_tier or "(none)"
            return Hold(
                "PRICE_MISMATCH",
                f"{c.erp_sku}: no ERP price in tier {tier!r} to check the storefront's against",
            )
        return c, rule_name, None

    def _currency(self, order: StorefrontOrder, customer: ErpCustomer | None) -> CurrencyCheck:
        """The sale's currency rate, or why the order's currency cannot go to its customer (finance's call)."""
        if customer is None:
            return CurrencyCheck()
        erp = self.config.erp
        return check_currency(
            order.currency, customer.name, customer.currency, erp.base_currency, erp.currency_rates
        )

    @staticmethod
    def _tax_inclusive(customer: ErpCustomer, rates: Mapping[str, TaxRate]) -> bool:
        """A sale is tax-inclusive when its customer's ERP tax rule is (the ERP's own default for the sale)."""
        rule = rates.get(customer.tax_rule) if customer.tax_rule else None
        return rule is not None and rule.inclusive

    def _money(
        self,
        order: StorefrontOrder,
        converted: list[tuple[ConvertedLine, str, str]],
        rates: Mapping[str, TaxRate],
        inclusive: bool = False,
    ) -> tuple[list[SaleLine], list[SaleCharge]] | list[Hold]:
        """The storefront's money, exactly, as ERP lines and charges (shared/domain/totals.py): the order
        discount taken off the line prices, prices per ERP unit rounded down to 4 decimals, the remainder
        and the shipping as charges. The storefront's own subtotal must agree with its lines, and its own tax
        with the sale's (shared/domain/tax.py). Under a tax-inclusive rule the prices sent hold the tax."""
        # the storefront keeps line totals and its subtotal to 4 decimals: compared as it keeps them
        line_sum = erp_amount(sum((c.line_total for c, _, _ in converted), Decimal(0)))
        if order.subtotal is not None and erp_amount(order.subtotal) != line_sum:
            return [
                Hold(
                    "ORDER_INVALID",
                    f"storefront subtotal {erp_amount(order.subtotal)} differs from its lines' total "
                    f"{line_sum} (bundled or kit prices?)",
                )
            ]
        # One ERP line per ERP SKU (the ERP refuses a SKU twice in a sale): eaches and cases of one product
        # are merged; each storefront line was price-checked on its own before.
        merged = merge_lines([(c.erp_sku, c.quantity, c.line_total) for c, _, _ in converted])
        sources: dict[str, list[tuple[str, str]]] = {}  # ERP SKU -> (tax rule, name) of its storefront lines
        for c, rule_name, name in converted:
            sources.setdefault(c.erp_sku, []).append((rule_name, name))
        mixed = [sku for sku, src in sources.items() if len({r for r, _ in src}) > 1]
        if mixed:
            return [
                Hold(
                    "TAX_MISMATCH",
                    f"{sku}: its storefront lines carry different tax rules, one ERP line can't",
                )
                for sku in mixed
            ]
        try:
            priced = price_lines([(q, total) for _, q, total in merged], order.discount_total)
        except ValueError as err:
            return [Hold("ORDER_INVALID", f"order discount {order.discount_total}: {err}")]
        taxes = [
            tax_on(p.net, rates[sources[sku][0][0]].percent)
            for p, (sku, _, _) in zip(priced, merged, strict=True)
        ]
        # Tax-inclusive: the price per ERP unit is the gross's (net + tax), rounded down the same way.
        sent = (
            price_lines([(p.quantity, p.net + t) for p, t in zip(priced, taxes, strict=True)])
            if inclusive
            else priced
        )
        lines = []
        for (sku, quantity, _), p, s, tax in zip(merged, priced, sent, taxes, strict=True):
            rule_name, name = sources[sku][0]
            notes = []
            if len(sources[sku]) > 1:
                notes.append(f"{len(sources[sku])} storefront lines merged")
            if p.discount:
                notes.append(f"storefront discount {p.discount} in the price")
            lines.append(
                SaleLine(
                    sku=sku,
                    name=name,
                    quantity=quantity,
                    price=s.price,
                    tax_rule=rule_name,
                    tax=tax,
                    total=s.erp_net if inclusive else s.erp_net + tax,
                    comment="; ".join(notes) or None,
                )
            )
        charges: list[SaleCharge] = []
        holds: list[Hold] = []
        amounts = (
            ("shipping", self.config.erp.charges.shipping, money(order.shipping_total)),
            ("rounding", self.config.erp.charges.rounding, sum((p.rounding for p in sent), Decimal(0))),
        )
        for what, product, amount in amounts:
            if not amount:
                continue
            if product is None:
                holds.append(Hold("CHARGE_UNMAPPED", f"order {what} {amount}: erp.charges.{what} is not set"))
                continue
            if product.tax_rule not in rates:
                holds.append(
                    Hold(
                        "TAX_MISMATCH",
                        f"erp.charges.{what}.tax_rule {product.tax_rule!r} is not an ERP tax rule",
                    )
                )
                continue
            rounding = what == "rounding"
            # Rounding is what pricing down took off taxed amounts: the lines' tax already covers it.
            tax = Decimal(0) if rounding else tax_on(amount, rates[product.tax_rule].percent)
            charges.append(
                SaleCharge(
                    kind=what,
                    description=product.product,
                    price=amount + tax if inclusive and not rounding else amount,
                    tax_rule=product.tax_rule,
                    tax=tax,
                    comment="keeps the sale total equal to the storefront order's" if rounding else None,
                    tax_inclusive=inclusive,
                )
            )
        sale_tax = sum((x.tax for x in lines), Decimal(0)) + sum((x.tax for x in charges), Decimal(0))
        difference = tax_difference(sale_tax, order.tax_total)
        if difference is not None and not holds:
            holds.append(
                Hold(
                    "TAX_MISMATCH",
                    f"the storefront's tax is {money(order.tax_total or Decimal(0))}, the sale's at the ERP's "
                    f"rules {sale_tax} ({difference:+}): check the storefront's tax rates and the lines' tax codes",
                )
            )
        return holds or (lines, charges)

    def _tax_rule(self, tax_code: str | None) -> str | None:
        if tax_code:
            return self.config.tax.rules.get(tax_code)
        return self.config.tax.default_rule

    def _erp_prices(self, erp_sku: str) -> Mapping[str, Decimal] | None:
        """The SKU's ERP price per tier name, cached; None if the ERP does not know the SKU."""
        now = self.clock.now()
        key = f"erp:prices:{erp_sku}"
        cached = self.store.get_cached(key, now)
        if cached is not None:
            return {k: Decimal(str(v)) for k, v in cached.items()}
        prices = self.erp.product_prices(erp_sku)
        if prices is not None:  # an unknown SKU is asked again next time: it may have been created
            self.store.put_cached(key, {k: str(v) for k, v in prices.items()}, now, CACHE_SECONDS)
        return prices

    def _resolve_customer(self, order: StorefrontOrder) -> ErpCustomer | None:
        """The nearest account up the storefront hierarchy, as it is now, that is bound to an ERP customer
        (the billing parent): a binding finance made (`customers map`), else the ERP id in the account's own
        external id. Nothing is copied down the tree, so a later binding of a nearer account, a rebind, or a
        changed external id counts from the next order. Costs no ERP call in steady state: bindings are state
        reads, the hierarchy comes with the order (a deeper one is read from the storefront), ERP customers
        are cached. The accounts walked are kept in `customer_path` (nearest first): a held order records
        them, so a later binding of any of them releases it."""
        sent = {c.id: c for c in order.customers}
        self.customer_path = []
        self.pending_binding = None
        current: str | None = order.customer_id
        while current and current not in self.customer_path:
            self.customer_path.append(current)
            account = sent.get(current) or self.storefront.get_customer(current)
            bound = self.store.customer_binding(current)
            if bound is not None:
                # finance's binding decides; one to an ERP customer that no longer exists is no binding
                # to fall back from silently. One onboarded on hold holds the order until finance approves.
                if bound.pending:
                    self.pending_binding = bound
                return self._erp_customer(bound.erp_customer_id)
            if account.external_id:
                customer = self._erp_customer(account.external_id)
                if customer is not None:
                    return customer
            current = account.parent_id
        return None

    def _erp_customer(self, erp_customer_id: str) -> ErpCustomer | None:
        now = self.clock.now()
        cached = self.store.get_cached(customer_cache_key(erp_customer_id), now)
        if cached is not None:
            return ErpCustomer.from_record(cached) if cached else None
        customer = self.erp.get_customer(erp_customer_id)
        self.store.put_cached(
            customer_cache_key(erp_customer_id),
            customer.as_record() if customer else {},
            now,
            CACHE_SECONDS,
        )
        return customer

    def _tax_rates(self) -> Mapping[str, TaxRate]:
        now = self.clock.now()
        cached = self.store.get_cached("erp:tax_rules", now)
        if cached is not None:
            return {k: TaxRate(Decimal(str(v["percent"])), bool(v["inclusive"])) for k, v in cached.items()}
        rates = dict(self.erp.tax_rates())
        self.store.put_cached(
            "erp:tax_rules",
            {k: {"percent": str(v.percent), "inclusive": v.inclusive} for k, v in rates.items()},
            now,
            CACHE_SECONDS,
        )
        return rates

    # -- exactly once ---------------------------------------------------------------------------------
    def _create_once(
        self, order: StorefrontOrder, state: OrderState, draft: SaleDraft, token: str
    ) -> tuple[str, str, str]:
        """The sale id, the status its lines hold in the ERP (an adopted sale's own, which may be DRAFT
        where this run wants AUTHORISED: the caller authorises it), and the step the order is at: the
        caller records `lines_done` from it together with the binding."""
        wanted = "AUTHORISED" if draft.authorise else "DRAFT"
        step, sale_id = state.step, state.sale_id
        if step is None:
            # No record here: if the store lost it, the ERP may hold the sale already (recovery.py).
            look = self.lost_state.erp_may_hold(order, draft.external_id)
            self.store.record_step(
                order.id, "header_pending", expect=None, token=token, version=order.version
            )
            step = "header_pending"
            if not look:
                sale_id = self.erp.create_sale(draft)
                self._event(order.id, "erp_sale_created", sale_id=sale_id)
        if step == "header_pending" and sale_id is None:
            # The last attempt's create may have landed without us hearing back: look before creating.
            found = self.erp.find_sale(draft.external_id)
            if found is not None and found.has_lines:
                self._event(order.id, "erp_sale_adopted", sale_id=found.id, has_lines=True)
                return found.id, found.status or wanted, step
            if found is not None:
                sale_id = found.id
                self._event(order.id, "erp_sale_adopted", sale_id=sale_id, has_lines=False)
            else:
                sale_id = self.erp.create_sale(draft)
                self._event(order.id, "erp_sale_created", sale_id=sale_id)
        elif step == "lines_pending":
            found = self.erp.find_sale(draft.external_id)
            if found is not None and found.has_lines:
                self._event(order.id, "erp_lines_adopted", sale_id=found.id)
                return found.id, found.status or wanted, step
        if step == "header_pending":
            self.store.record_step(order.id, "lines_pending", expect=step, token=token, sale_id=sale_id)
        if sale_id is None:
            raise Permanent(f"order {order.id}: step {step!r} has no sale id recorded", system="state")
        self.erp.add_sale_lines(sale_id, draft)
        self._event(
            order.id, "erp_lines_added", sale_id=sale_id, lines=len(draft.lines), authorise=draft.authorise
        )
        return sale_id, wanted, "lines_pending"
