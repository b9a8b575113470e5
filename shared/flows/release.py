"""Releasing held orders (DESIGN §4.1, last paragraph): by a person's command, or automatically once the
mapping that held them exists. A released order is enqueued again and goes through the whole order flow,
which re-checks everything; a release never bypasses a check, it only asks for one more run.

Four ways in:
- `release_order`: a person releases one held order (`orosync orders release`), optionally accepting its
  storefront prices (PRICE_MISMATCH). Always enqueues.
- `map_customer`: a person binds a storefront customer to an ERP customer (`orosync customers map`), then
  every held order that the binding may fix is released (see `map_customer` for which, and why).
- `release_resolved`: the automatic release, run on every order poll. It releases a held order only when
  every reason it is held for is CUSTOMER_UNMAPPED or UOM_UNMAPPED and each is fixed now, as far as the state
  table and the config can tell without calling Oro or Cin7. At most once per hold.
- `recheck_credit_holds`: also on every order poll, the DRAFT sales kept for a customer on credit hold are
  run again every 15 minutes, so a sale is authorised soon after finance clears the hold in the ERP.

The helpers at the bottom read and write the state table through the store's own table; they are the
StateStore methods this module needs (to move into `shared/adapters/aws/state.py`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.aws.state import StateStore
from shared.config import Config
from shared.domain.exceptions_catalogue import CATALOGUE
from shared.errors import Transient
from shared.flows.order_sync import CACHE_SECONDS, customer_cache_key
from shared.observability import logger
from shared.ports import Clock, WorkQueue

# How often a DRAFT sale kept for a customer on credit hold is looked at again: the age of the flow's ERP
# customer cache, so a re-check is never staler than an ordinary order's view of the customer.
CREDIT_HOLD_RECHECK = timedelta(seconds=CACHE_SECONDS)


class ReleaseError(Exception):
    """A release that cannot be done; the message says why in one line."""


class OrderNotFound(ReleaseError):
    pass


class OrderNotHeld(ReleaseError):
    def __init__(self, order_id: str, status: str) -> None:
        super().__init__(f"order {order_id} is {status}, not held: only a held order can be released")
        self.status = status


def _releasable(item: dict[str, Any]) -> bool:
    """Held, or synced as DRAFT because the ERP customer was on credit hold (released once it is cleared)."""
    status = item.get("status")
    return status == "held" or (status == "draft" and "CUSTOMER_ON_HOLD" in item.get("open_codes", []))


class BindingConflict(ReleaseError):
    pass


@dataclass(frozen=True)
class ReleaseResult:
    order_id: str
    version: str | None
    message_id: str
    reasons: tuple[str, ...]  # what the order was held for
    by: str
    accepted_storefront_price: bool = False
    because: tuple[str, ...] = ()  # why an automatic release judged the reasons fixed


@dataclass
class CustomerMapResult:
    storefront_customer_id: str
    erp_customer_id: str
    previous: str | None  # the ERP customer it was bound to before, if any
    released: list[ReleaseResult] = field(default_factory=list)


# -- reasons ----------------------------------------------------------------------------------------------
# A held order's reasons are "CODE: detail" (shared/flows/order_sync.py `_hold`). The code is the contract;
# the subject (which customer, which SKU and unit) is read from the detail until the flow records it as data
# (see `HeldOrder.customers`). A detail that does not parse is never treated as fixed.

_CUSTOMER = re.compile(r"\bstorefront customer (?P<id>\S+)")
_UNIT = re.compile(r"^(?P<sku>.+?) in unit (?P<unit>'[^']*'|\"[^\"]*\") has no ERP mapping")


def reason_code(reason: str) -> str:
    code, sep, _ = reason.partition(":")
    return code.strip() if sep else ""


def reason_detail(reason: str) -> str:
    return reason.partition(":")[2].strip()


def unmapped_unit(reason: str) -> tuple[str, str] | None:
    """(SKU, unit) of a UOM_UNMAPPED reason."""
    if reason_code(reason) != "UOM_UNMAPPED":
        return None
    m = _UNIT.match(reason_detail(reason))
    if m is None:
        return None
    return m["sku"], str(ast.literal_eval(m["unit"]))


def unmapped_customer(reason: str) -> str | None:
    """The storefront customer id named by a CUSTOMER_UNMAPPED reason."""
    if reason_code(reason) != "CUSTOMER_UNMAPPED":
        return None
    m = _CUSTOMER.search(reason_detail(reason))
    return m["id"] if m else None


def pending_customer(reason: str) -> str | None:
    """The storefront customer whose ERP customer awaits approval, named by a CUSTOMER_PENDING_APPROVAL reason."""
    if reason_code(reason) != "CUSTOMER_PENDING_APPROVAL":
        return None
    m = _CUSTOMER.search(reason_detail(reason))
    return m["id"] if m else None


def owner_of(code: str) -> str | None:
    """The owner team of a reason code; None for hold reasons that are not catalogued exceptions
    (PENDING_APPROVAL: the order waits for its own status change in Oro)."""
    etype = CATALOGUE.get(code)
    return etype.owner.value if etype else None


# -- held orders as the state table holds them --------------------------------------------------------------


@dataclass(frozen=True)
class HeldOrder:
    order_id: str
    version: str | None
    reasons: tuple[str, ...]
    held_at: str  # the state's `updated_at`: changes whenever the flow holds the order again
    customer_id: str | None = None
    # The customer and its ancestors up the storefront tree, nearest first, if the flow recorded them.
    customer_path: tuple[str, ...] | None = None
    released_hold: str | None = None  # `held_at` of the hold a release was last enqueued for
    auto_released_reasons: tuple[str, ...] | None = None
    erp_customer_id: str | None = None  # the ERP customer a DRAFT sale on credit hold is for

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> HeldOrder:
        path = item.get("customer_path")
        auto = item.get("auto_released_reasons")
        return cls(
            order_id=str(item["pk"]).removeprefix("order#"),
            version=item.get("version"),
            reasons=tuple(item.get("reasons", [])),
            held_at=str(item.get("updated_at", "")),
            customer_id=item.get("customer_id"),
            customer_path=tuple(path) if path else None,
            released_hold=item.get("released_hold"),
            auto_released_reasons=tuple(auto) if auto is not None else None,
            erp_customer_id=item.get("erp_customer_id"),
        )

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(reason_code(r) for r in self.reasons)

    @property
    def customer(self) -> str | None:
        if self.customer_path:
            return self.customer_path[0]
        if self.customer_id:
            return self.customer_id
        return next((c for r in self.reasons if (c := unmapped_customer(r))), None)

    @property
    def customers(self) -> tuple[str, ...]:
        """The customers whose binding would fix a CUSTOMER_UNMAPPED: the order's customer and every
        ancestor the state knows of. Today the flow records no path, so this is the customer alone."""
        if self.customer_path:
            return self.customer_path
        return (self.customer,) if self.customer else ()


# -- releasing ---------------------------------------------------------------------------------------------


def release_order(
    store: StateStore,
    queue: WorkQueue,
    clock: Clock,
    order_id: str,
    *,
    accept_storefront_price: bool = False,
    by: str = "cli",
) -> ReleaseResult:
    """Release one held order: it runs through the whole flow again. With `accept_storefront_price`,
    finance accepts the storefront prices of the held version, so a PRICE_MISMATCH no longer holds it."""
    item = store.get_order_item(order_id)
    if item is None:
        raise OrderNotFound(f"order {order_id} is not in the state table: it was never taken in")
    status = str(item.get("status", "new"))
    if not _releasable(item):
        raise OrderNotHeld(order_id, status)
    held = HeldOrder.from_item(item)
    if accept_storefront_price and held.version is None:
        raise ReleaseError(f"order {order_id} has no recorded version whose prices could be accepted")
    return _release(store, queue, clock.now(), held, by=by, accept=accept_storefront_price, kind="released")


def map_customer(
    store: StateStore,
    queue: WorkQueue,
    clock: Clock,
    storefront_customer_id: str,
    erp_customer_id: str,
    *,
    config: Config | None = None,
    by: str = "cli",
    replace: bool = False,
) -> CustomerMapResult:
    """Bind a storefront customer to an ERP customer, then release the held orders the binding may fix.

    Which: every held order whose reasons are all CUSTOMER_UNMAPPED, or UOM_UNMAPPED whose unit is mapped in
    `config` (without a config, an unmapped unit keeps the order held), and whose customer
    - is this customer, or has it among the ancestors the state records (`HeldOrder.customers`), or
    - has no recorded ancestry (orders held before the flow recorded `customer_path`), because the
      customer may sit below this one in the storefront tree and the state cannot tell. Releasing it is
      safe, since the flow walks the tree again and holds it again if its account is still unbound; what
      it costs is one more run of that order (storefront reads; the ERP lookups are cached).

    The ERP customer id is not checked here (no ERP call from a command): a wrong id holds the released
    orders again as CUSTOMER_UNMAPPED. Rebinding a customer bound elsewhere needs `replace`.
    """
    previous = store.get_customer_binding(storefront_customer_id)
    if previous is not None and previous != erp_customer_id and not replace:
        raise BindingConflict(
            f"storefront customer {storefront_customer_id} is already bound to ERP customer {previous}: "
            "pass --replace to rebind it"
        )
    now = clock.now()
    store.put_customer_binding(storefront_customer_id, erp_customer_id, now)
    result = CustomerMapResult(storefront_customer_id, erp_customer_id, previous)
    for held in list(held_orders(store)):
        if "CUSTOMER_UNMAPPED" not in held.codes:
            continue
        because = _fixes(held, config, lambda c: c == storefront_customer_id, mapped=storefront_customer_id)
        if because is None:
            continue
        try:
            result.released.append(
                _release(store, queue, now, held, by=by, accept=False, kind="released", because=because)
            )
        except ReleaseError:
            continue  # the flow moved it on meanwhile (a new version arrived): nothing to release
    return result


def recheck_credit_holds(
    store: StateStore, queue: WorkQueue, clock: Clock, *, every: timedelta = CREDIT_HOLD_RECHECK
) -> list[str]:
    """The automatic release of DRAFT sales kept for a customer on credit hold, run on every order poll.

    Whether the hold is cleared is the ERP's to say, so each such order is run through the flow again with
    its ERP customer read afresh (one ERP call), at most once per `every` since the flow last looked at it:
    the flow authorises the sale, or keeps it DRAFT and records that it looked (which restarts the wait)."""
    now = clock.now()
    released: list[str] = []
    for item in list(store.order_items_with_status("draft")):
        if not _releasable(item):  # a DRAFT for a pending order waits for Oro, not for finance
            continue
        held = HeldOrder.from_item(item)
        if held.released_hold == held.held_at:
            continue  # a re-check of this very state is already queued
        looked = datetime.fromisoformat(held.held_at.replace("Z", "+00:00")) if held.held_at else None
        if looked is not None and now - looked < every:
            continue
        because = ("re-checking the ERP customer's credit hold",)
        try:
            _release(
                store, queue, now, held, by="order_poll", accept=False, kind="auto_released", because=because
            )
        except ReleaseError:
            continue
        except Transient as err:
            logger.warning(
                "credit hold re-check failed", extra={"order_id": held.order_id, "error": str(err)}
            )
            continue
        released.append(held.order_id)
    return released


def release_resolved(store: StateStore, queue: WorkQueue, clock: Clock, config: Config) -> list[str]:
    """The automatic release, run on every order poll: one query of the held orders, one binding read per
    distinct customer of a CUSTOMER_UNMAPPED order. Returns the ids of the orders released.

    A held order is released when every reason is CUSTOMER_UNMAPPED or UOM_UNMAPPED and each is fixed now:
    a customer binding exists for the order's customer or an ancestor the state records; the SKU and unit of
    the reason have a mapping in `config`. It is released at most once per hold (`released_hold`), and not
    again when the flow held it for exactly the reasons of its last automatic release: then the flow and
    this check disagree (say a binding to an ERP customer that does not exist) and a person must look.
    `orosync orders release` still releases it.
    """
    now = clock.now()
    bindings: dict[str, bool] = {}

    def bound(customer_id: str) -> bool:
        if customer_id not in bindings:
            bindings[customer_id] = store.get_customer_binding(customer_id) is not None
        return bindings[customer_id]

    approvals: dict[str, bool] = {}

    def approved(customer_id: str) -> bool:
        if customer_id not in approvals:
            binding = store.customer_binding(customer_id)
            approvals[customer_id] = binding is not None and not binding.pending
        return approvals[customer_id]

    released: list[str] = []
    for held in list(held_orders(store)):
        if held.released_hold == held.held_at:
            continue  # a release of this very hold is already queued
        if held.auto_released_reasons == held.reasons:
            continue
        because = _fixes(held, config, bound, approved=approved)
        if because is None:
            continue
        try:
            _release(
                store, queue, now, held, by="order_poll", accept=False, kind="auto_released", because=because
            )
        except ReleaseError:
            continue  # released by someone else, or the flow moved the order on: nothing to do
        except Transient as err:  # this order waits for the next poll; the others go ahead
            logger.warning("auto-release failed", extra={"order_id": held.order_id, "error": str(err)})
            continue
        released.append(held.order_id)
    if released:
        logger.info("held orders released", extra={"orders": released})
    return released


def release_approved(
    store: StateStore, queue: WorkQueue, clock: Clock, storefront_customer_id: str
) -> list[str]:
    """Finance approved the ERP customer of an onboarded account (shared/flows/customers.py): release every
    order held only because it was pending (or unmapped before it was bound), each once (`mark_released`).
    Returns the ids of the orders released; `release_resolved` on the next order poll is the backstop."""
    now = clock.now()
    approved = {storefront_customer_id}
    released: list[str] = []
    for held in list(held_orders(store)):
        if held.released_hold == held.held_at:
            continue
        if not any(pending_customer(r) == storefront_customer_id for r in held.reasons):
            continue
        because = _fixes(held, None, lambda c: c in approved, approved=lambda c: c in approved)
        if because is None:
            continue
        try:
            _release(
                store,
                queue,
                now,
                held,
                by="customer_sync",
                accept=False,
                kind="auto_released",
                because=because,
            )
        except ReleaseError:
            continue  # released meanwhile (by the order poll, a person) or held again: nothing to do
        released.append(held.order_id)
    if released:
        logger.info(
            "orders released on approval", extra={"orders": released, "oro_id": storefront_customer_id}
        )
    return released


def _fixes(
    held: HeldOrder,
    config: Config | None,
    customer_fixed: Callable[[str], bool],
    *,
    mapped: str | None = None,
    approved: Callable[[str], bool] | None = None,
) -> tuple[str, ...] | None:
    """Why each reason of the held order is fixed now, or None if any is not (or needs a person). `mapped` is
    the customer `map_customer` just bound: an order whose customer's ancestors the state does not know may
    sit below it, so it counts as possibly fixed (the flow decides)."""
    if not held.reasons:
        return None
    because: list[str] = []
    for reason in held.reasons:
        code = reason_code(reason)
        if code == "UOM_UNMAPPED":
            unit = unmapped_unit(reason)
            mapping = config.unit_mapping(*unit) if unit is not None and config is not None else None
            if unit is None or mapping is None:
                return None
            because.append(f"{unit[0]} in unit {unit[1]!r} is mapped to {mapping.erp_sku} x {mapping.factor}")
        elif code == "CUSTOMER_UNMAPPED":
            hit = next((c for c in held.customers if customer_fixed(c)), None)
            if hit is not None and hit == held.customer:
                because.append(f"customer {hit} is bound to an ERP customer")
            elif hit is not None:
                because.append(f"customer {hit}, an ancestor of customer {held.customer}, is bound")
            elif mapped is not None and held.customer_path is None:
                because.append(f"customer {held.customer or '?'} may sit below customer {mapped}, now bound")
            else:
                return None
        elif code == "CUSTOMER_PENDING_APPROVAL":
            account = pending_customer(reason)
            if account is None or approved is None or not approved(account):
                return None
            because.append(f"finance approved the ERP customer of account {account}")
        else:
            return None
    return tuple(because)


def _release(
    store: StateStore,
    queue: WorkQueue,
    now: datetime,
    held: HeldOrder,
    *,
    by: str,
    accept: bool,
    kind: str,
    because: tuple[str, ...] = (),
) -> ReleaseResult:
    auto = kind == "auto_released"
    if not store.mark_released(held.order_id, held.held_at, list(held.reasons), now, by, auto=auto):
        item = store.get_order_item(held.order_id) or {}
        status = str(item.get("status", "new"))
        if _releasable(item):
            raise ReleaseError(f"order {held.order_id}: this hold was released already or held again since")
        raise OrderNotHeld(held.order_id, status)
    store.add_event(
        held.order_id,
        now,
        kind,
        by=by,
        version=held.version,
        reasons=list(held.reasons),
        accept_storefront_price=accept,
        **({"because": list(because)} if because else {}),
    )
    # Straight onto the orders queue, not through intake (`enqueue_order_version`): intake claims each
    # (order, version) once so that webhook, redelivery and poll of one version are one piece of work, and
    # the held version was claimed when it first arrived, so intake would drop this as a duplicate. A release
    # is new work for the same version on purpose. Doing it twice is harmless: order_sync takes a lease,
    # resumes recorded steps and looks the sale up by ExternalID, so it never creates a second sale.
    message = {"kind": "order", "order_id": held.order_id, "version": held.version, "source": "release"}
    if "CUSTOMER_ON_HOLD" in held.codes and held.erp_customer_id:
        # Whether the credit hold is cleared is the ERP's to say now, not the cache's of a while ago.
        store.drop_cached(customer_cache_key(held.erp_customer_id))
    try:
        if accept:
            assert held.version is not None
            store.accept_storefront_price(held.order_id, held.version, now, by)
        message_id = queue.send(message)
    except Exception as err:
        store.unmark_released(held.order_id, now)  # so the next poll (or the person) can try again
        store.add_event(held.order_id, now, "release_failed", by=by, error=str(err))
        raise
    logger.info("order released", extra={"order_id": held.order_id, "by": by, "kind": kind})
    return ReleaseResult(
        order_id=held.order_id,
        version=held.version,
        message_id=message_id,
        reasons=held.reasons,
        by=by,
        accepted_storefront_price=accept,
        because=because,
    )


# -- state table helpers (StateStore methods to be) ----------------------------------------------------------


def held_orders(store: StateStore) -> Iterator[HeldOrder]:
    """Every held order (one query of the status index, paged)."""
    return (HeldOrder.from_item(item) for item in store.order_items_with_status("held"))
