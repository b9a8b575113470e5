"""Customers, Oro → ERP (DESIGN §4.5; README "Customers"): new trade accounts onboarded into Cin7 on hold,
never twice, and released when finance approves.

Steps, one per message on the `customers` queue (worked by `customer_push`; `customer_sync` queues the scans
on its schedule, webhooks and `orosync customers onboard` queue the others):

- `customer` (an Oro account): its path up the tree is read (a cycle → CUSTOMER_HIERARCHY_CYCLE). Bound
  already: the path is recorded, and a change to what Oro owns (name, addresses, contacts) is sent to the
  ERP customer, never finance's fields. Not bound and to be onboarded (`customers.onboard`, or below an
  onboarded account in `child_customers` mode): under a claim, so two runs never onboard one account at once,
  it is matched by the ERP id in its `externalId`, then by exact name (a customer carrying this account's
  Oro id is ours, from a create whose answer was lost; one carrying another account's is
  CUSTOMER_DUPLICATE_NAME), else created on hold with the Oro id in `customers.oro_id_attribute`. Every name
  a create was sent under is noted first, so a lost answer is found by name on every later attempt, never
  re-sent blindly. The binding is one conditional write. A new customer opens CUSTOMER_PENDING_APPROVAL.
  Not to be onboarded: where its orders go (the nearest bound ancestor) is recorded for `customers show`.
- `erp_customer` (Cin7's Customer/Updated names it): if an account waits for its approval, it is read
  afresh; once finance has cleared the hold the binding is approved (once), the exception closes and the
  orders held for it are released, each once (shared/flows/release.py).
- `customer_scan`: Oro accounts updated since the watermark (with overlap) → a `customer` step each.
- `approval_scan`: ERP customers modified since the watermark, when any account waits → `erp_customer`
  checks without another read. No pending account: no ERP call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.adapters.aws.state import CustomerBinding, LeaseHeld, StateStore
from shared.adapters.http import OutcomeUnknown
from shared.config import Config, Onboarding
from shared.domain.customers import (
    Account,
    CustomerAddress,
    CustomerContact,
    HierarchyCycle,
    OroOwned,
    account_path,
    approved,
    as_child,
    erp_name,
    match_by_name,
    new_customer_body,
    onboarded_itself,
    oro_fingerprint,
    update_body,
)
from shared.errors import NotFound, Permanent
from shared.flows.customer_schedule import APPROVAL_SCAN, CUSTOMER_SCAN
from shared.flows.intake import CUSTOMER, ERP_CUSTOMER
from shared.observability import logger
from shared.ports import Clock, WorkQueue
from shared.resources import function

# A claim outlives its run (customer_push's timeout) and a create that run may have left in flight in the ERP
# (the ERP client's 30 s request timeout): a run killed meanwhile blocks its account no longer than this.
ONBOARDING_CLAIM_SECONDS = function("customer_push").timeout_seconds + 30
CLAIM_RETRY_SECONDS = 30  # a step finding the claim held comes back this soon, or just after it expires
ORO_WATERMARK = "customers"
ERP_WATERMARK = "erp_customers"


class CustomerWork(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    oro_id: str | None = None  # customer
    erp_id: str | None = None  # erp_customer
    source: str = "poll"
    force: bool = False  # customer: onboard it even if `customers.onboard` does not name it (a person asked)
    deferrals: int = 0
    credential_deferrals: int = 0


@dataclass
class Outcome:
    action: str  # onboarded | matched | updated | unchanged | placed | pending | approved | duplicate | ...
    oro_id: str | None = None
    erp_customer_id: str | None = None
    detail: str = ""
    released: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action}
        for key in ("oro_id", "erp_customer_id", "detail"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.released:
            out["released"] = self.released
        return out


def entity(oro_id: str) -> str:
    return f"customer:{oro_id}"


class CustomerFlow:
    def __init__(
        self,
        config: Config,
        state: StateStore,
        queue: WorkQueue,
        clock: Clock,
        *,
        erp: Any = None,  # shared.adapters.cin7.client.Cin7Client (the customers flow's application)
        oro: Any = None,  # shared.adapters.orocommerce.client.OroClient
        orders_queue: WorkQueue | None = None,  # where released orders go
    ) -> None:
        self.config = config
        self.state = state
        self.queue = queue
        self.clock = clock
        self.erp = erp
        self.oro = oro
        self.orders_queue = orders_queue
        self._accounts: dict[str, Any] = {}

    def handle(self, work: CustomerWork) -> dict[str, Any]:
        if work.kind == CUSTOMER and work.oro_id:
            return self.sync_account(work.oro_id, force=work.force).as_dict()
        if work.kind == ERP_CUSTOMER and work.erp_id:
            return self.check_approval(work.erp_id).as_dict()
        if work.kind == CUSTOMER_SCAN:
            return self.scan_oro()
        if work.kind == APPROVAL_SCAN:
            return self.scan_erp()
        raise ValueError(f"customers queue: unexpected message {work.kind!r} (oro_id/erp_id missing?)")

    # ------------------------------------------------------------------------------------ reading Oro

    def _oro_account(self, oro_id: str) -> Any:
        if oro_id not in self._accounts:
            self._accounts[oro_id] = self.oro.get_customer(oro_id)
        return self._accounts[oro_id]

    @staticmethod
    def _account(raw: Any) -> Account:
        return Account(
            id=str(raw.id),
            name=str(raw.name or ""),
            parent_id=str(raw.parent_id) if raw.parent_id else None,
            group_id=str(raw.group_id) if raw.group_id else None,
            external_id=raw.external_id or None,
        )

    def _path(self, account: Account) -> tuple[str, ...]:
        """The account's path from its top-level account (one Oro read per ancestor, each once)."""
        parent_of: dict[str, str | None] = {account.id: account.parent_id}
        current = account.parent_id
        while current is not None and current not in parent_of:
            parent = self._account(self._oro_account(current))
            parent_of[current] = parent.parent_id
            current = parent.parent_id
        return account_path(account.id, parent_of)

    def _owned(self, account: Account) -> OroOwned:
        """What Oro owns on the ERP customer: its name, addresses and (enabled) buyers as contacts."""
        problems: list[str] = []
        addresses: list[CustomerAddress] = []
        for a in self.oro.customer_addresses(account.id):
            if not a.street:
                problems.append(f"address {a.id} left out: it has no street")
                continue
            kinds = [(t, d) for t, d in a.types] or [("business", a.primary)]
            for kind, default in kinds:
                addresses.append(
                    CustomerAddress(
                        line1=a.street,
                        line2=a.street2 or "",
                        city=a.city or "",
                        state=a.region or "",
                        postcode=(a.postal_code or "")[:20],
                        country=a.country_id,
                        type={"billing": "Billing", "shipping": "Shipping"}.get(kind, "Business"),
                        default=default,
                    )
                )
        contacts = [
            CustomerContact(name=u.name or u.email or f"user {u.id}", email=u.email or "", default=i == 0)
            for i, u in enumerate(u for u in self.oro.customer_users(account.id) if u.enabled)
        ]
        return OroOwned(erp_name(account.name), tuple(addresses), tuple(contacts), tuple(problems))

    def _price_tier(self, account: Account) -> str | None:
        """The ERP tier of the account's highest-priority Oro price list that is mapped to one."""
        tiers = {m.oro_price_list_id: m.erp_tier for m in self.config.price_lists if m.erp_tier}
        if not tiers:
            return None
        for list_id in self.oro.customer_price_lists(account.id, account.group_id):
            if str(list_id) in tiers:
                return tiers[str(list_id)]
        return None

    # ------------------------------------------------------------------------------------ one account

    def sync_account(self, oro_id: str, *, force: bool = False) -> Outcome:
        """One Oro account: placed, onboarded, or its changes followed. An Oro document that cannot be read
        as an account (its addresses, its buyers) is CUSTOMER_REJECTED, named, not retried into the DLQ."""
        self._accounts = {}  # the tree as it is now: read afresh for every step
        try:
            return self._sync(oro_id, force)
        except Permanent as err:
            if err.system != "oro":
                raise
            if isinstance(err, NotFound):
                return Outcome("ignored", oro_id, detail="the Oro account no longer exists")
            detail = f"the Oro account cannot be read: {err}"
            self.state.open_exception("CUSTOMER_REJECTED", entity(oro_id), self.clock.now(), detail)
            return Outcome("rejected", oro_id, detail=detail)

    def _sync(self, oro_id: str, force: bool) -> Outcome:
        now = self.clock.now()
        account = self._account(self._oro_account(oro_id))
        try:
            path = self._path(account)
        except HierarchyCycle as cycle:
            self.state.open_exception("CUSTOMER_HIERARCHY_CYCLE", entity(oro_id), now, str(cycle))
            return Outcome("cycle", oro_id, detail=str(cycle))
        self.state.close_exception("CUSTOMER_HIERARCHY_CYCLE", entity(oro_id), now, "the tree has no cycle")
        binding = self.state.customer_binding(oro_id)
        parent = self._erp_parent(path)
        if binding is not None:
            return self._follow(account, path, binding, parent)
        if force or onboarded_itself(account, path, self.config) or (as_child(path, self.config) and parent):
            return self._onboard(account, path, parent)
        return self._place(account, path, now)

    def _erp_parent(self, path: tuple[str, ...]) -> tuple[str, str] | None:
        """child_customers: (ERP id, name) of the top-most bound account above this one, else None."""
        if not as_child(path, self.config):
            return None
        for ancestor in path[:-1]:
            binding = self.state.customer_binding(ancestor)
            if binding is not None and not binding.parent_erp_customer_id:
                return binding.erp_customer_id, binding.name
        return None

    def _place(self, account: Account, path: tuple[str, ...], now: datetime) -> Outcome:
        """Not onboarded itself: its orders go to the nearest bound account above it (as the tree is now;
        the order flow walks it again for every order). Recorded for people."""
        billing: CustomerBinding | None = None
        for ancestor in reversed(path[:-1]):
            billing = self.state.customer_binding(ancestor)
            if billing is not None:
                break
        self.state.put_customer_placement(
            account.id,
            {
                "path": list(path),
                "billing_parent": billing.storefront_customer_id if billing else None,
                "erp_customer_id": billing.erp_customer_id if billing else None,
                "seen_at": now.isoformat(),
            },
        )
        if billing is None:
            return Outcome("placed", account.id, detail="no onboarded account above it: orders stay unmapped")
        return Outcome(
            "placed",
            account.id,
            billing.erp_customer_id,
            f"bills to account {billing.storefront_customer_id}",
        )

    def _onboard(self, account: Account, path: tuple[str, ...], parent: tuple[str, str] | None) -> Outcome:
        now = self.clock.now()
        if not self.state.claim_onboarding(account.id, now, ONBOARDING_CLAIM_SECONDS):
            # a live run is done within seconds; a dead run's claim (a killed process) holds until it expires
            held = self.state.onboarding_claimed_until(account.id) or now
            wait = min(CLAIM_RETRY_SECONDS, max(1.0, (held - now).total_seconds() + 1))
            raise LeaseHeld(f"customer {account.id} is being onboarded by another run", wait)
        bound = False
        try:
            outcome = self._match_or_create(account, path, parent)
            bound = outcome.action in ("onboarded", "matched", "pending")
            return outcome
        finally:
            self.state.end_onboarding(account.id, bound=bound)

    def _match_or_create(
        self, account: Account, path: tuple[str, ...], parent: tuple[str, str] | None
    ) -> Outcome:
        now = self.clock.now()
        owned = self._owned(account)
        # 1. the ERP id the Oro account carries
        if account.external_id:
            try:
                found = self.erp.get_customer(account.external_id)
            except NotFound:
                found = None
            if found is not None and found.Status != "Deprecated":
                return self._bind(account, path, found, "external_id", owned, parent, pending=False)
        # 2. exact name: the account's name now, and every name a create was sent under
        names = [owned.name, *sorted(self.state.customer_create_names(account.id) - {owned.name})]
        for name in names:
            found = self._by_name(name)
            if found is None:
                continue
            claimed_by = self._owner_of(found, account.id)
            if claimed_by is not None:
                return self._duplicate(account, found, claimed_by)
            ours = found.additional_attribute(self._attribute_number) == account.id
            return self._bind(
                account,
                path,
                found,
                "onboarded" if ours else "name",
                owned,
                parent,
                pending=ours and not approved(found, self.config),
            )
        # 3. create, on hold
        body = new_customer_body(
            owned, account.id, self.config, price_tier=self._price_tier(account), parent=parent
        )
        self.state.note_customer_create(account.id, owned.name)
        try:
            created = self.erp.create_customer(body)
        except OutcomeUnknown:
            found = self._by_name(owned.name)
            if found is None or found.additional_attribute(self._attribute_number) != account.id:
                raise  # retried: the next attempt looks it up by name again before any create
            created = found
        except Permanent as err:
            # Refused ("… not found": a default the ERP does not know; "already exists": taken meanwhile by
            # another account), or an answer that cannot be read although the customer may exist: look.
            found = self._by_name(owned.name)
            if found is None:
                return self._rejected(account, err, now)
            if (claimed := self._owner_of(found, account.id)) is not None:
                return self._duplicate(account, found, claimed)
            if found.additional_attribute(self._attribute_number) != account.id:
                return self._rejected(account, err, now)
            created = found  # ours: created, the answer unreadable
        outcome = self._bind(account, path, created, "onboarded", owned, parent, pending=True)
        if owned.problems:
            logger.warning(
                "customer onboarded without some details", extra={"problems": list(owned.problems)}
            )
        return outcome

    @property
    def _attribute_number(self) -> int:
        return int(self.config.customers.oro_id_attribute.removeprefix("AdditionalAttribute"))

    def _by_name(self, name: str) -> Any | None:
        return match_by_name(name, self.erp.iter_customers(name=name, include_deprecated=True))

    def _owner_of(self, customer: Any, oro_id: str) -> str | None:
        """Another Oro account this ERP customer belongs to (its Oro id attribute, or a binding), if any."""
        attribute = customer.additional_attribute(self._attribute_number)
        if attribute and attribute != oro_id:
            return str(attribute)
        others = self.state.erp_customer_accounts(customer.ID) - {oro_id}
        return min(others) if others else None

    def _bind(
        self,
        account: Account,
        path: tuple[str, ...],
        customer: Any,
        source: str,
        owned: OroOwned,
        parent: tuple[str, str] | None,
        *,
        pending: bool,
    ) -> Outcome:
        now = self.clock.now()
        binding = CustomerBinding(
            storefront_customer_id=account.id,
            erp_customer_id=customer.ID,
            status="pending" if pending else "approved",
            source=source,
            name=customer.Name,
            path=path,
            # what was sent (a create), or what Oro held when an existing customer was matched: from now on
            # a change in Oro is sent, the ERP's record as finance left it is not overwritten at binding
            # (a create found under a name it was sent with before a rename: "stale", so the rename is sent)
            fingerprint=oro_fingerprint(owned)
            if customer.Name == owned.name or source == "name"
            else "stale",
            parent_erp_customer_id=parent[0] if parent and source == "onboarded" else None,  # our child
        )
        if not self.state.bind_customer(binding, now):
            return Outcome("unchanged", account.id, detail="bound meanwhile by another run or a person")
        self.state.close_exception("CUSTOMER_DUPLICATE_NAME", entity(account.id), now, "bound")
        self.state.close_exception("CUSTOMER_REJECTED", entity(account.id), now, "bound")
        if pending:
            self.state.open_exception(
                "CUSTOMER_PENDING_APPROVAL",
                entity(account.id),
                now,
                f"ERP customer {customer.Name!r} ({customer.ID}) was created on hold for Oro account "
                f"{account.id}: clear the hold in Cin7 to approve it",
            )
        logger.info(
            "customer bound",
            extra={
                "oro_id": account.id,
                "erp_customer_id": customer.ID,
                "source": source,
                "pending": pending,
            },
        )
        action = "pending" if pending else ("onboarded" if source == "onboarded" else "matched")
        return Outcome(action, account.id, customer.ID, f"by {source}")

    def _duplicate(self, account: Account, found: Any, other: str) -> Outcome:
        detail = (
            f"Oro account {account.id} is named {found.Name!r}, which the ERP customer {found.ID} of Oro "
            f"account {other} already has: nothing created"
        )
        self.state.open_exception("CUSTOMER_DUPLICATE_NAME", entity(account.id), self.clock.now(), detail)
        return Outcome("duplicate", account.id, found.ID, detail)

    def _rejected(self, account: Account, err: Exception, now: datetime) -> Outcome:
        detail = f"the ERP refused customer {account.id}: {err}"
        self.state.open_exception("CUSTOMER_REJECTED", entity(account.id), now, detail)
        return Outcome("rejected", account.id, detail=detail)

    def _follow(
        self,
        account: Account,
        path: tuple[str, ...],
        binding: CustomerBinding,
        parent: tuple[str, str] | None,
    ) -> Outcome:
        """A bound account changed in Oro: record its path; send what Oro owns if it changed."""
        if tuple(binding.path) != path:
            self.state.update_customer_binding(account.id, path=list(path))
        if not self.config.customers.update_erp:
            return Outcome("unchanged", account.id, binding.erp_customer_id)
        owned = self._owned(account)
        fingerprint = oro_fingerprint(owned)
        # only a customer this service made a child moves with its account (never one a person bound)
        reparent = (
            parent is not None
            and binding.parent_erp_customer_id is not None
            and parent[0] != binding.parent_erp_customer_id
        )
        if binding.fingerprint is None:  # a person's binding: Oro as it is now is the starting point
            self.state.update_customer_binding(account.id, fingerprint=fingerprint)
            return Outcome("unchanged", account.id, binding.erp_customer_id, "first seen since the binding")
        if fingerprint == binding.fingerprint and not reparent:
            return Outcome("unchanged", account.id, binding.erp_customer_id)
        now = self.clock.now()
        try:
            current = self.erp.get_customer(binding.erp_customer_id)
            self.erp.update_customer(
                update_body(binding.erp_customer_id, owned, current, parent=parent if reparent else None)
            )
        except Permanent as err:
            found = self._by_name(owned.name) if owned.name != binding.name else None
            if found is not None and found.ID != binding.erp_customer_id:
                return self._duplicate(account, found, self._owner_of(found, account.id) or "?")
            return self._rejected(account, err, now)
        attrs: dict[str, Any] = {"fingerprint": fingerprint, "name": owned.name}
        if reparent and parent is not None:
            attrs["parent_erp_customer_id"] = parent[0]
        self.state.update_customer_binding(account.id, **attrs)
        self.state.close_exception("CUSTOMER_DUPLICATE_NAME", entity(account.id), now, "updated")
        self.state.close_exception("CUSTOMER_REJECTED", entity(account.id), now, "updated")
        return Outcome("updated", account.id, binding.erp_customer_id, "re-parented" if reparent else "")

    # ------------------------------------------------------------------------------------ approval

    def check_approval(self, erp_id: str, customer: Any = None) -> Outcome:
        """Approve the accounts waiting for this ERP customer once finance has cleared its hold."""
        waiting = [
            b
            for oro_id in sorted(self.state.erp_customer_accounts(erp_id))
            if (b := self.state.customer_binding(oro_id)) is not None
            and b.pending
            and b.erp_customer_id == erp_id
        ]
        if not waiting:
            return Outcome("ignored", erp_customer_id=erp_id, detail="no account waits for this customer")
        if customer is None:
            customer = self.erp.get_customer(erp_id)
        if not approved(customer, self.config):
            return Outcome("pending", erp_customer_id=erp_id, detail="still on hold")
        released: list[str] = []
        for binding in waiting:
            released += self._approve(binding)
        return Outcome("approved", waiting[0].storefront_customer_id, erp_id, released=released)

    def _approve(self, binding: CustomerBinding) -> list[str]:
        # release (and the order flow it imports) only where an approval needs it
        from shared.flows.order_sync import customer_cache_key
        from shared.flows.release import release_approved

        now = self.clock.now()
        # the order flow's cached view of the customer still has the hold: its next order reads it afresh
        self.state.drop_cached(customer_cache_key(binding.erp_customer_id))
        if self.state.approve_customer(binding.storefront_customer_id, now):
            self.state.close_exception(
                "CUSTOMER_PENDING_APPROVAL",
                entity(binding.storefront_customer_id),
                now,
                "finance cleared the hold",
            )
            logger.info("customer approved", extra={"oro_id": binding.storefront_customer_id})
        if self.orders_queue is None:
            return []
        return release_approved(self.state, self.orders_queue, self.clock, binding.storefront_customer_id)

    # ------------------------------------------------------------------------------------ scans

    def scan_oro(self) -> dict[str, Any]:
        """Oro accounts updated since the watermark, less the overlap: one `customer` step each."""
        if self.config.customers.onboard is Onboarding.NONE:
            return {"accounts": 0, "skipped": "customers.onboard is none"}
        now = self.clock.now()
        mark = self.state.get_watermark(ORO_WATERMARK)
        overlap = timedelta(minutes=self.config.schedules.customer_sync_overlap_minutes)
        since = mark - overlap if mark else None
        accounts: dict[str, None] = {}
        for raw in self.oro.iter_customers(updated_since=since):
            accounts[str(raw.id)] = None
        if since is not None:  # a first poll reads every account anyway
            accounts.update(dict.fromkeys(sorted(self.oro.customers_with_details_changed(since))))
        for oro_id in accounts:
            self.queue.send(
                CustomerWork(kind=CUSTOMER, oro_id=oro_id, source="poll").model_dump(
                    mode="json", exclude_defaults=True
                )
            )
        # read up to now: the next poll starts `customer_sync_overlap_minutes` before it, which covers a change
        # committed while this one read, and Oro's clock running behind ours
        self.state.set_watermark(ORO_WATERMARK, now)
        return {"accounts": len(accounts), "since": since.isoformat() if since else None}

    def scan_erp(self) -> dict[str, Any]:
        """ERP customers modified since the watermark, read only while an account waits for approval."""
        waiting: dict[str, list[str]] = {}
        for binding in self.state.customer_bindings("pending"):
            waiting.setdefault(binding.erp_customer_id, []).append(binding.storefront_customer_id)
        if not waiting:
            return {"waiting": 0, "erp_calls": 0}
        now = self.clock.now()
        mark = self.state.get_watermark(ERP_WATERMARK)
        overlap = timedelta(minutes=self.config.schedules.customer_sync_overlap_minutes)
        since = mark - overlap if mark else now - timedelta(days=30)
        approvals: list[dict[str, Any]] = []
        for customer in self.erp.iter_customers(modified_since=since):
            if customer.ID in waiting:
                approvals.append(self.check_approval(customer.ID, customer).as_dict())
        self.state.set_watermark(ERP_WATERMARK, now)
        return {"waiting": len(waiting), "checked": approvals}
