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

from shared.adapters.aws.state import OrderState, StateStore
from shared.config import Config, OrderAction, PricingAuthority
from shared.domain.gating import gate
from shared.domain.orders import ErpCustomer, SaleCharge, SaleDraft, SaleLine, StorefrontOrder
from shared.domain.pricing import PriceComparison, compare_price
from shared.domain.totals import money, price_lines
from shared.domain.units import ConvertedLine, UnitRule, convert
from shared.errors import AlreadyFulfilled, NotFound, Permanent
from shared.flows.recovery import LostStateCheck
from shared.observability import logger
from shared.ports import Clock, Erp, Storefront
from shared.resources import function

CACHE_SECONDS = 900


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
    outcome: str  # synced | draft | held | ignored | unchanged | voided
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
        except NotFound:
            raise  # the order is gone: the handler acknowledges it
        except Permanent as err:
            return self._hold_unreadable(order_id, str(err))
        try:
            return self._run(order, token)
        except Permanent as err:  # NotFound included: a customer or sale the order refers to is missing
            if err.system == "state":
                raise  # our own records contradict themselves: let it fail loudly (DLQ and alarm)
            code = "ERP_REJECTED" if err.system == "cin7" else "ORDER_INVALID"
            return self._hold(order, [Hold(code, str(err))])

    def _event(self, order_id: str, kind: str, **detail: object) -> None:
        self.store.add_event(order_id, self.clock.now(), kind, **detail)

    def _run(self, order: StorefrontOrder, token: str) -> OrderSyncResult:
        state = self.store.get_order(order.id)
        decision = gate(order, self.config.orders.status_policy, self.config.orders.sub_orders)
        self._event(
            order.id, "gated", version=order.version, action=decision.action.value, reason=decision.reason
        )

        if decision.action is OrderAction.IGNORE:
            if state.status != "synced":
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
            sale_id, erp_status = self._create_once(order, state, draft, token)
        except Permanent as err:
            if err.system == "state":
                raise
            return self._hold(order, [Hold("ERP_REJECTED", str(err))])
        if draft.authorise and erp_status == "DRAFT":
            # An earlier attempt's lines were adopted as DRAFT (the order was pending then, or its customer
            # on hold), and the order is to be authorised now: authorise the adopted sale, exactly once.
            self._event(order.id, "adopted_draft", sale_id=sale_id)
            return self._authorise_draft(order, self.store.get_order(order.id), token)
        return self._bind(order, prepared, sale_id, erp_status, state)

    def _bind(
        self, order: StorefrontOrder, prepared: Prepared, sale_id: str, erp_status: str, state: OrderState
    ) -> OrderSyncResult:
        """Record the ERP sale as the order's binding, close what the order had open, report prices."""
        customer = prepared.customer
        on_hold = customer.on_credit_hold and erp_status == "DRAFT"
        status = "synced" if erp_status == "AUTHORISED" else "draft"
        hold_reason = f"ERP customer {customer.name} is on credit hold: sale {sale_id} left as DRAFT"
        self.store.set_order_status(
            order.id,
            status,
            self.clock.now(),
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

    def _void(self, order: StorefrontOrder, state: OrderState) -> OrderSyncResult:
        external_id = f"{self.config.orders.external_id_prefix}{order.id}"
        if not state.sale_id and (
            state.step is not None  # a create was started but its result never recorded: look
            or (state.status == "new" and self.lost_state.erp_may_hold(order, external_id))  # state lost
        ):
            found = self.erp.find_sale(external_id)
            if found is not None:
                state.sale_id = found.id
                self._event(order.id, "erp_sale_adopted", sale_id=found.id, has_lines=found.has_lines)
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

    def _already_in_erp(
        self, order: StorefrontOrder, state: OrderState, authorise: bool, token: str
    ) -> OrderSyncResult:
        if state.erp_status == "DRAFT" and authorise:
            return self._authorise_draft(order, state, token)
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

    def _authorise_draft(self, order: StorefrontOrder, state: OrderState, token: str) -> OrderSyncResult:
        """A DRAFT sale whose order is now confirmed: re-post its lines as AUTHORISED, exactly once. The step
        is recorded before the call; a retry that finds it looks at the sale before posting again. While the
        ERP customer is on credit hold the sale stays DRAFT, with CUSTOMER_ON_HOLD open."""
        prepared = self._prepare(order, True, state)
        if isinstance(prepared, list):
            return self._hold(order, prepared)
        draft = prepared.draft
        if state.sale_id is None:
            raise Permanent(f"order {order.id}: a DRAFT sale is recorded without its id", system="state")
        if not draft.authorise:  # still on credit hold: stays DRAFT, and says so
            return self._bind(order, prepared, state.sale_id, "DRAFT", state)
        already = False
        if state.step == "authorise_pending":
            found = self.erp.find_sale(draft.external_id)
            already = found is not None and found.status == "AUTHORISED"
        else:
            self.store.record_step(order.id, "authorise_pending", expect="lines_done", token=token)
        if not already:
            try:
                self.erp.add_sale_lines(state.sale_id, draft)
            except Permanent as err:
                return self._hold(order, [Hold("ERP_REJECTED", str(err))])
        self.store.record_step(order.id, "lines_done", expect="authorise_pending", token=token)
        self._event(order.id, "authorised", sale_id=state.sale_id, adopted=already)
        return self._bind(order, prepared, state.sale_id, "AUTHORISED", state)

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
        customer = self._resolve_customer(order.customer_id)
        if customer is None:
            holds.append(
                Hold(
                    "CUSTOMER_UNMAPPED",
                    f"no ERP customer for storefront customer {order.customer_id} or its parents",
                )
            )
        rates = self._tax_rates()
        converted: list[tuple[ConvertedLine, str, str]] = []  # (line, tax rule, name)
        comparisons: list[PriceComparison] = []
        price_accepted = state.price_accepted_version == order.version
        for line in order.lines:
            mapping = self.config.unit_mapping(line.sku, line.unit)
            if mapping is None:
                holds.append(Hold("UOM_UNMAPPED", f"{line.sku} in unit {line.unit!r} has no ERP mapping"))
                continue
            rule_name = self._tax_rule(line.tax_code)
            if rule_name is None or rule_name not in rates:
                holds.append(
                    Hold(
                        "TAX_MISMATCH", f"line {line.line_id}: tax code {line.tax_code!r} has no ERP tax rule"
                    )
                )
                continue
            c = convert(line.quantity, line.unit_price, UnitRule(mapping.erp_sku, mapping.factor))
            erp_prices = self._erp_prices(c.erp_sku)
            if erp_prices is None:
                holds.append(
                    Hold("SKU_UNKNOWN", f"{c.erp_sku} (for {line.sku} {line.unit}) is not in the ERP")
                )
                continue
            blocking = self.config.pricing.authority is PricingAuthority.ERP
            if customer is not None and customer.price_tier and customer.price_tier in erp_prices:
                comparison = compare_price(
                    c.erp_sku,
                    customer.price_tier,
                    c.unit_price,
                    erp_prices[customer.price_tier],
                    self.config.pricing.tolerance,
                )
                comparisons.append(comparison)
                if blocking and not comparison.within_tolerance and not price_accepted:
                    holds.append(Hold("PRICE_MISMATCH", comparison.describe()))
            elif customer is not None and blocking and not price_accepted:
                # The ERP is the price authority but holds no price to check this line against: unchecked
                # is not agreed.
                tier = customer.price_tier or "(none)"
                holds.append(
                    Hold(
                        "PRICE_MISMATCH",
                        f"{c.erp_sku}: no ERP price in tier {tier!r} to check the storefront's against",
                    )
                )
            converted.append((c, rule_name, line.name))
        if holds or customer is None:
            return holds
        priced = self._money(order, converted, rates)
        if isinstance(priced, list):
            return priced
        lines, charges = priced
        draft = SaleDraft(
            external_id=f"{self.config.orders.external_id_prefix}{order.id}",
            customer_id=customer.id,
            location=self.config.erp.default_location,
            currency=order.currency,
            lines=tuple(lines),
            charges=tuple(charges),
            authorise=authorise and not customer.on_credit_hold,
            customer_reference=order.po_number,
            note=f"OroCommerce order {order.identifier}",
        )
        return Prepared(draft, customer, comparisons)

    def _money(
        self,
        order: StorefrontOrder,
        converted: list[tuple[ConvertedLine, str, str]],
        rates: Mapping[str, Decimal],
    ) -> tuple[list[SaleLine], list[SaleCharge]] | list[Hold]:
        """The storefront's money, exactly, as ERP lines and charges (shared/domain/totals.py): the order
        discount taken off the line prices, prices per ERP unit rounded down to 4 decimals, the remainder
        and the shipping as charges. The storefront's own subtotal must agree with its lines."""
        line_sum = sum((c.line_total for c, _, _ in converted), Decimal(0))
        if order.subtotal is not None and money(order.subtotal) != line_sum:
            return [
                Hold(
                    "ORDER_INVALID",
                    f"storefront subtotal {money(order.subtotal)} differs from its lines' total {line_sum} "
                    "(bundled or kit prices?)",
                )
            ]
        try:
            priced = price_lines([(c.quantity, c.line_total) for c, _, _ in converted], order.discount_total)
        except ValueError as err:
            return [Hold("ORDER_INVALID", f"order discount {order.discount_total}: {err}")]
        lines = []
        for (c, rule_name, name), p in zip(converted, priced, strict=True):
            tax = money(p.net * rates[rule_name] / Decimal(100))
            lines.append(
                SaleLine(
                    sku=c.erp_sku,
                    name=name,
                    quantity=c.quantity,
                    price=p.price,
                    tax_rule=rule_name,
                    tax=tax,
                    total=p.erp_net + tax,
                    comment=f"storefront discount {p.discount} in the price" if p.discount else None,
                )
            )
        charges: list[SaleCharge] = []
        holds: list[Hold] = []
        amounts = (
            ("shipping", self.config.erp.charges.shipping, money(order.shipping_total)),
            ("rounding", self.config.erp.charges.rounding, sum((p.rounding for p in priced), Decimal(0))),
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
            charges.append(
                SaleCharge(
                    kind=what,
                    description=product.product,
                    price=amount,
                    tax_rule=product.tax_rule,
                    # Rounding is what pricing down took off taxed nets: the lines' tax already covers it.
                    tax=Decimal(0) if rounding else money(amount * rates[product.tax_rule] / Decimal(100)),
                    comment="keeps the sale total equal to the storefront order's" if rounding else None,
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

    def _resolve_customer(self, storefront_customer_id: str) -> ErpCustomer | None:
        """The nearest account up the storefront hierarchy that has an ERP customer (the billing parent).
        The accounts walked are kept in `customer_path` (nearest first): a held order records them, so a
        later binding of any of them releases it."""
        seen: set[str] = set()
        self.customer_path = []
        current: str | None = storefront_customer_id
        while current and current not in seen:
            seen.add(current)
            self.customer_path.append(current)
            erp_id = self._binding(current)
            customer = None
            if erp_id is None:
                sf_customer = self.storefront.get_customer(current)
                if sf_customer.external_id:
                    customer = self._erp_customer(sf_customer.external_id)
                    if customer is not None:
                        self.store.put_customer_binding(current, customer.id, self.clock.now())
                if customer is None:
                    current = sf_customer.parent_id
                    continue
            else:
                customer = self._erp_customer(erp_id)
            if customer is not None:
                if current != storefront_customer_id:
                    self.store.put_customer_binding(
                        storefront_customer_id, customer.id, self.clock.now(), via=current
                    )
                return customer
            current = None
        return None

    def _binding(self, storefront_customer_id: str) -> str | None:
        """The account's ERP customer; a binding copied from an ancestor counts only while that ancestor is
        still bound to the same ERP customer (finance may have rebound it since)."""
        binding = self.store.customer_binding(storefront_customer_id)
        if binding is None:
            return None
        erp_id, via = binding
        if via is not None and self.store.get_customer_binding(via) != erp_id:
            return None
        return erp_id

    def _erp_customer(self, erp_customer_id: str) -> ErpCustomer | None:
        now = self.clock.now()
        cached = self.store.get_cached(customer_cache_key(erp_customer_id), now)
        if cached is not None:
            return ErpCustomer(**cached) if cached else None
        customer = self.erp.get_customer(erp_customer_id)
        self.store.put_cached(
            customer_cache_key(erp_customer_id),
            customer.__dict__ if customer else {},
            now,
            CACHE_SECONDS,
        )
        return customer

    def _tax_rates(self) -> Mapping[str, Decimal]:
        now = self.clock.now()
        cached = self.store.get_cached("erp:tax_rates", now)
        if cached is not None:
            return {k: Decimal(str(v)) for k, v in cached.items()}
        rates = dict(self.erp.tax_rates())
        self.store.put_cached("erp:tax_rates", {k: str(v) for k, v in rates.items()}, now, CACHE_SECONDS)
        return rates

    # -- exactly once ---------------------------------------------------------------------------------
    def _create_once(
        self, order: StorefrontOrder, state: OrderState, draft: SaleDraft, token: str
    ) -> tuple[str, str]:
        """The sale id and the status its lines hold in the ERP (an adopted sale's own, which may be DRAFT
        where this run wants AUTHORISED: the caller authorises it)."""
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
                self.store.record_step(order.id, "lines_done", expect=step, token=token, sale_id=found.id)
                return found.id, found.status or wanted
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
                self.store.record_step(order.id, "lines_done", expect=step, token=token)
                return found.id, found.status or wanted
        if step == "header_pending":
            self.store.record_step(order.id, "lines_pending", expect=step, token=token, sale_id=sale_id)
        if sale_id is None:
            raise Permanent(f"order {order.id}: step {step!r} has no sale id recorded", system="state")
        self.erp.add_sale_lines(sale_id, draft)
        self._event(
            order.id, "erp_lines_added", sale_id=sale_id, lines=len(draft.lines), authorise=draft.authorise
        )
        self.store.record_step(order.id, "lines_done", expect="lines_pending", token=token)
        return sale_id, wanted
