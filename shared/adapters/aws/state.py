"""The state table in DynamoDB: intake de-duplication, order progress and leases, bindings, exceptions,
watermarks and the order timeline. One table, keyed `pk`/`sk` (see shared/resources.py).

Every write that guards an external effect is conditional, so two workers (or a retry racing a redelivery)
can never both believe they own the next step (DESIGN §6). Storage errors surface as `Transient`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.domain.exceptions_catalogue import CATALOGUE, exception_type
from shared.errors import Throttled, Transient
from shared.resources import REPLAY_WINDOW_SECONDS, table

# Intake and step records must outlive the longest replay (DLQ retention) with margin.
RECORD_TTL_SECONDS = REPLAY_WINDOW_SECONDS + 7 * 24 * 3600


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class LeaseHeld(Throttled):
    """Another worker is processing the same entity right now; try again after `retry_after_seconds`.
    A `Throttled`, so the worker defers the message instead of failing it toward the DLQ."""

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message, system="state", retry_after_seconds=retry_after_seconds)


class StepConflict(Transient):
    """The recorded step moved on under us (a concurrent worker); re-read and resume."""


@dataclass(frozen=True)
class Epoch:
    """When this store began (DESIGN §6): every order the service touched since then has its record here.
    Until `settled_at`, work begun against a lost predecessor (a worker still inside its last ERP call) may
    still land in the ERP."""

    started_at: datetime
    settled_at: datetime


_EPOCH_KEY = {"pk": "meta#epoch", "sk": "epoch"}
_ERP_SCAN_KEY = {"pk": "meta#erp_scan", "sk": "scan"}


@dataclass
class OrderState:
    order_id: str
    status: str = "new"  # new | ignored | held | synced | voided
    step: str | None = None  # None | intent | header | lines
    sale_id: str | None = None
    content_hash: str | None = None
    version: str | None = None
    erp_status: str | None = None
    reasons: list[str] = field(default_factory=list)
    customer_id: str | None = None
    erp_customer_id: str | None = None
    # Finance accepted the storefront prices of this order version (`orosync orders release
    # --accept-storefront-price`): a PRICE_MISMATCH for exactly this version no longer holds it.
    price_accepted_version: str | None = None
    # Codes of the named exceptions this order opened, so passing closes just those.
    open_codes: list[str] = field(default_factory=list)

    @classmethod
    def from_item(cls, order_id: str, item: dict[str, Any] | None) -> OrderState:
        if not item:
            return cls(order_id)
        return cls(
            order_id=order_id,
            status=item.get("status", "new"),
            step=item.get("step"),
            sale_id=item.get("sale_id"),
            content_hash=item.get("content_hash"),
            version=item.get("version"),
            erp_status=item.get("erp_status"),
            reasons=list(item.get("reasons", [])),
            customer_id=item.get("customer_id"),
            erp_customer_id=item.get("erp_customer_id"),
            price_accepted_version=item.get("price_accepted_version"),
            open_codes=list(item.get("open_codes", [])),
        )


@dataclass(frozen=True)
class StockRecord:
    """What the storefront last accepted for one storefront SKU (DESIGN §4.2), and the stock exceptions it
    holds open (so each is opened once, not every run)."""

    sku: str
    pushed: dict[str, Decimal] = field(default_factory=dict)  # unit -> quantity Oro accepted
    read_at: datetime | None = None  # when the ERP availability behind `pushed` was read
    flags: frozenset[str] = frozenset()

    @classmethod
    def from_item(cls, sku: str, item: dict[str, Any] | None) -> StockRecord:
        if not item:
            return cls(sku)
        return cls(
            sku=sku,
            pushed={unit: Decimal(str(q)) for unit, q in (item.get("pushed") or {}).items()},
            read_at=_parse_iso(item["read_at"]) if item.get("read_at") else None,
            flags=frozenset(item.get("flags") or ()),
        )


@dataclass(frozen=True)
class CustomerBinding:
    """An Oro account's ERP customer (see StateStore `customer_binding`)."""

    storefront_customer_id: str
    erp_customer_id: str
    status: str = "approved"  # "pending": created on hold, finance has not cleared it yet
    source: str = "mapped"  # mapped | onboarded | external_id | name | child
    name: str = ""  # the ERP customer's name as last sent or seen
    path: tuple[str, ...] = ()  # the Oro tree, root first, down to this account
    fingerprint: str | None = None  # of the Oro-owned fields last sent (name, addresses, contacts)
    parent_erp_customer_id: str | None = None  # child_customers: its ERP parent
    bound_at: str = ""

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> CustomerBinding:
        return cls(
            storefront_customer_id=str(item["pk"]).removeprefix("customer#"),
            erp_customer_id=str(item["erp_customer_id"]),
            status=str(item.get("status", "approved")),
            source=str(item.get("source", "mapped")),
            name=str(item.get("name", "")),
            path=tuple(str(p) for p in item.get("path") or ()),
            fingerprint=item.get("fingerprint"),
            parent_erp_customer_id=item.get("parent_erp_customer_id"),
            bound_at=str(item.get("bound_at", "")),
        )


STOCK_RUN_TTL_SECONDS = 24 * 3600


class StateStore:
    def __init__(
        self,
        table_name: str | None = None,
        *,
        dynamodb: Any = None,
        on_exception_opened: Callable[[dict[str, Any]], bool] | None = None,
        alerts_per_hour: int | Callable[[], int] = 20,
    ) -> None:
        name = table_name or os.environ[table("state").env_var]
        self._table = (dynamodb or boto3.resource("dynamodb")).Table(name)
        self._client = self._table.meta.client
        self._created: str | None = None
        # Tells the exception's owner (shared/alerts.py); True once told. Called by `open_exception` while the
        # record says nobody was told yet.
        self.on_exception_opened = on_exception_opened
        # At most this many exception alerts per owner team and hour (a run that opens 1,000 SKU_DRIFT must not
        # send 1,000 e-mails): the last one allowed says so, the rest wait to be seen again or for the digest.
        # A callable is asked only when an alert is due (the config's value: the store needs no config else).
        self._alerts_per_hour = alerts_per_hour

    # -- plumbing -------------------------------------------------------------------------------------
    def _call(self, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise
            raise Transient(f"state table: {err.response['Error']['Code']}", system="dynamodb") from err
        except BotoCoreError as err:
            raise Transient(f"state table: {type(err).__name__}", system="dynamodb") from err

    @staticmethod
    def _is_condition_failure(err: ClientError) -> bool:
        return err.response["Error"]["Code"] == "ConditionalCheckFailedException"

    @staticmethod
    def _expires(now: datetime) -> int:
        return int(now.timestamp()) + RECORD_TTL_SECONDS

    # -- intake de-duplication ------------------------------------------------------------------------
    def claim_intake(self, entity: str, version: str, now: datetime, *, stale_after_seconds: int) -> bool:
        """True if this (entity, version) is new work. A claim whose enqueue never finished goes stale and
        can be claimed again, so a crash between claim and enqueue loses nothing."""
        try:
            self._call(
                self._table.put_item,
                Item={
                    "pk": f"intake#{entity}",
                    "sk": version,
                    "st": "claimed",
                    "claimed_at": _iso(now),
                    "expires_at": self._expires(now),
                },
                ConditionExpression=(
                    "attribute_not_exists(pk) OR st = :released OR (st = :claimed AND claimed_at < :stale)"
                ),
                ExpressionAttributeValues={
                    ":claimed": "claimed",
                    ":released": "released",
                    ":stale": _iso(now - timedelta(seconds=stale_after_seconds)),
                },
            )
            return True
        except ClientError as err:
            if self._is_condition_failure(err):
                return False
            raise

    def mark_intake_enqueued(self, entity: str, version: str, message_id: str) -> None:
        self._call(
            self._table.update_item,
            Key={"pk": f"intake#{entity}", "sk": version},
            UpdateExpression="SET st = :enq, message_id = :mid",
            ExpressionAttributeValues={":enq": "enqueued", ":mid": message_id},
        )

    def intake_records(self, entity: str) -> list[dict[str, Any]]:
        """Each state of the entity that intake took in: {"version", "at", "state", "message_id"}."""
        items = self._call(
            self._table.query,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": f"intake#{entity}"},
        ).get("Items", [])
        return [
            {
                "version": i["sk"],
                "at": i.get("claimed_at"),
                "state": i.get("st"),
                "message_id": i.get("message_id"),
            }
            for i in items
            if i.get("st") != "released"  # its enqueue failed: it was never taken in
        ]

    def release_intake(self, entity: str, version: str) -> None:
        """Undo a claim whose enqueue failed, so the sender's retry is not mistaken for a duplicate. Marked
        released rather than deleted: intake's functions need no DeleteItem on the state table."""
        self._call(
            self._table.update_item,
            Key={"pk": f"intake#{entity}", "sk": version},
            UpdateExpression="SET st = :released",
            ExpressionAttributeValues={":released": "released"},
        )

    # -- order progress -------------------------------------------------------------------------------
    def get_order(self, order_id: str) -> OrderState:
        item = self._call(
            self._table.get_item, Key={"pk": f"order#{order_id}", "sk": "state"}, ConsistentRead=True
        ).get("Item")
        return OrderState.from_item(order_id, item)

    def acquire_lease(self, order_id: str, now: datetime, seconds: float, *, item: str = "state") -> str:
        """Exclusive right to work on the order until it expires; raises LeaseHeld otherwise. `item`: whose
        lease: the order flow's (`state`, the default) or the fulfilment flow's (`fulfilment`, its record),
        so a shipment applied to the Oro order never waits for the order flow, nor the other way round."""
        token = uuid.uuid4().hex
        until = now + timedelta(seconds=seconds)
        key = {"pk": f"order#{order_id}", "sk": item}
        try:
            self._call(
                self._table.update_item,
                Key=key,
                # No TTL on order state: the binding must outlive any later update of the order.
                UpdateExpression="SET lease_token = :t, lease_until = :u",
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={":t": token, ":u": _iso(until), ":now": _iso(now)},
            )
            return token
        except ClientError as err:
            if not self._is_condition_failure(err):
                raise
            held = self._call(self._table.get_item, Key=key, ConsistentRead=True).get("Item", {})
            held_until = _parse_iso(held["lease_until"]) if "lease_until" in held else now
            wait = max(1.0, (held_until - now).total_seconds())
            raise LeaseHeld(f"order {order_id} is being processed by another worker", wait) from None

    def release_lease(self, order_id: str, token: str, *, item: str = "state") -> None:
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"order#{order_id}", "sk": item},
                UpdateExpression="REMOVE lease_token, lease_until",
                ConditionExpression="lease_token = :t",
                ExpressionAttributeValues={":t": token},
            )
        except ClientError as err:
            if not self._is_condition_failure(err):
                raise

    def record_step(
        self,
        order_id: str,
        step: str,
        *,
        expect: str | None,
        token: str,
        status: tuple[str, datetime] | None = None,
        **attrs: Any,
    ) -> None:
        """Move the order to `step`, only if it is still at `expect` and we still hold the lease. With
        `status` (status, now), the order's status moves in the same conditional write: a step and the
        binding it implies are recorded together, so no retry can find one without the other."""
        names = {"#step": "step"}
        values: dict[str, Any] = {":step": step, ":t": token}
        sets = ["#step = :step"]
        if status is not None:
            self._status_sets(status[0], status[1], names, values, sets)
        for i, (k, v) in enumerate(attrs.items()):
            names[f"#a{i}"] = k
            values[f":a{i}"] = v
            sets.append(f"#a{i} = :a{i}")
        if expect is None:
            cond = "lease_token = :t AND attribute_not_exists(#step)"
        else:
            cond = "lease_token = :t AND #step = :expect"
            values[":expect"] = expect
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"order#{order_id}", "sk": "state"},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=cond,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as err:
            if self._is_condition_failure(err):
                raise StepConflict(
                    f"order {order_id}: step is no longer {expect!r}", system="state"
                ) from None
            raise

    @staticmethod
    def _status_sets(
        status: str, now: datetime, names: dict[str, str], values: dict[str, Any], sets: list[str]
    ) -> None:
        """The order's status and its place in the status index (for `orders list --status`)."""
        names.update({"#status": "status", "#g1": "gsi1pk", "#g2": "gsi1sk", "#upd": "updated_at"})
        values.update(
            {":status": status, ":g1": f"orderstatus#{status}", ":g2": _iso(now), ":upd": _iso(now)}
        )
        sets.extend(["#status = :status", "#g1 = :g1", "#g2 = :g2", "#upd = :upd"])

    def set_order_status(self, order_id: str, status: str, now: datetime, **attrs: Any) -> None:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        self._status_sets(status, now, names, values, sets)
        for i, (k, v) in enumerate(attrs.items()):
            names[f"#a{i}"] = k
            values[f":a{i}"] = v
            sets.append(f"#a{i} = :a{i}")
        self._call(
            self._table.update_item,
            Key={"pk": f"order#{order_id}", "sk": "state"},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def accept_storefront_price(self, order_id: str, version: str, now: datetime, by: str) -> None:
        self._call(
            self._table.update_item,
            Key={"pk": f"order#{order_id}", "sk": "state"},
            UpdateExpression="SET price_accepted_version = :v, price_accepted_by = :b, price_accepted_at = :t",
            ExpressionAttributeValues={":v": version, ":b": by, ":t": _iso(now)},
        )

    def get_order_item(self, order_id: str) -> dict[str, Any] | None:
        """The order's state record as stored, or None if the order was never taken in."""
        item = self._call(
            self._table.get_item, Key={"pk": f"order#{order_id}", "sk": "state"}, ConsistentRead=True
        ).get("Item")
        return dict(item) if item else None

    def order_items_with_status(self, status: str) -> Iterator[dict[str, Any]]:
        """The state records of every order in `status`, as stored, from the status index (paged)."""
        yield from self._query_status_index(f"orderstatus#{status}")

    def orders_with_status(self, status: str) -> Iterator[OrderState]:
        for item in self.order_items_with_status(status):
            yield OrderState.from_item(item["pk"].removeprefix("order#"), item)

    def _query_status_index(self, key: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "IndexName": table("state").indexes[0][0],
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": key},
        }
        while True:
            page = self._call(self._table.query, **kwargs)
            yield from (dict(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_released(
        self, order_id: str, held_at: str | None, reasons: list[str], now: datetime, by: str, *, auto: bool
    ) -> bool:
        """Record that a release of this hold is being enqueued; False if the order is no longer held (or,
        for an automatic release, if this hold was released already or held again since it was read)."""
        values: dict[str, Any] = {
            ":held": "held",
            ":draft": "draft",
            ":on_hold": "CUSTOMER_ON_HOLD",
            ":h": held_at,
            ":now": _iso(now),
            ":by": by,
        }
        sets = "released_hold = :h, released_at = :now, released_by = :by"
        # Held, or a DRAFT sale kept for a customer on credit hold (shared/flows/release.py `_releasable`).
        condition = "(#status = :held OR (#status = :draft AND contains(open_codes, :on_hold)))"
        if auto:
            sets += ", auto_released_reasons = :reasons"
            values[":reasons"] = list(reasons)
            condition += (
                " AND updated_at = :h AND (attribute_not_exists(released_hold) OR released_hold <> :h)"
            )
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"order#{order_id}", "sk": "state"},
                UpdateExpression="SET " + sets,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as err:
            if self._is_condition_failure(err):
                return False
            raise

    def unmark_released(self, order_id: str, now: datetime) -> None:
        """Undo `mark_released` after the enqueue failed (only our own mark)."""
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"order#{order_id}", "sk": "state"},
                UpdateExpression="REMOVE released_hold, released_at, released_by, auto_released_reasons",
                ConditionExpression="released_at = :now",
                ExpressionAttributeValues={":now": _iso(now)},
            )
        except ClientError as err:
            if not self._is_condition_failure(err):
                raise

    # -- timeline -------------------------------------------------------------------------------------
    def add_event(self, order_id: str, now: datetime, kind: str, **detail: Any) -> None:
        self._call(
            self._table.put_item,
            Item={
                "pk": f"order#{order_id}",
                "sk": f"event#{_iso(now)}#{uuid.uuid4().hex[:6]}",
                "kind": kind,
                "detail": json.dumps(detail, default=str, sort_keys=True),
                "expires_at": self._expires(now),
            },
        )

    def timeline(self, order_id: str) -> list[dict[str, Any]]:
        items = self._call(
            self._table.query,
            KeyConditionExpression="pk = :p AND begins_with(sk, :e)",
            ExpressionAttributeValues={":p": f"order#{order_id}", ":e": "event#"},
        ).get("Items", [])
        return [{"at": i["sk"].split("#")[1], "kind": i["kind"], **json.loads(i["detail"])} for i in items]

    # -- bindings -------------------------------------------------------------------------------------
    # `customer#<Oro id>` / `binding`: the ERP customer an Oro account's orders go to, with how it was made
    # (`customers map`, or customer_sync: onboarded, or matched by external id or exact name) and whether
    # finance approved it. `erpcustomer#<ERP id>` / `accounts`: the Oro accounts bound to an ERP customer
    # (read before binding by name: a name taken by another account is CUSTOMER_DUPLICATE_NAME).
    def get_customer_binding(self, storefront_customer_id: str) -> str | None:
        """The ERP customer the account is bound to (pending approval or not). A record with `via` is a copy
        of an ancestor's binding that the order flow once wrote on an order's account: not a binding."""
        binding = self.customer_binding(storefront_customer_id)
        return binding.erp_customer_id if binding else None

    def customer_binding(self, storefront_customer_id: str) -> CustomerBinding | None:
        item = self._call(
            self._table.get_item, Key={"pk": f"customer#{storefront_customer_id}", "sk": "binding"}
        ).get("Item")
        return CustomerBinding.from_item(item) if item and "via" not in item else None

    def put_customer_binding(self, storefront_customer_id: str, erp_customer_id: str, now: datetime) -> None:
        """A person's binding (`customers map`): approved, replacing any other."""
        self._call(
            self._table.put_item,
            Item={
                "pk": f"customer#{storefront_customer_id}",
                "sk": "binding",
                "erp_customer_id": erp_customer_id,
                "bound_at": _iso(now),
                "status": "approved",
                "source": "mapped",
                "gsi1pk": "customers#approved",
                "gsi1sk": storefront_customer_id,
            },
        )
        self._add_account(erp_customer_id, storefront_customer_id)

    def bind_customer(self, binding: CustomerBinding, now: datetime) -> bool:
        """customer_sync's binding: written only if the account has none yet (False otherwise), together with
        the ERP customer's account list, so no run, retry or race ever binds an account twice."""
        item: dict[str, Any] = {
            "pk": f"customer#{binding.storefront_customer_id}",
            "sk": "binding",
            "erp_customer_id": binding.erp_customer_id,
            "bound_at": _iso(now),
            "status": binding.status,
            "source": binding.source,
            "path": list(binding.path),
            "name": binding.name,
            "gsi1pk": f"customers#{binding.status}",
            "gsi1sk": binding.storefront_customer_id,
        }
        if binding.fingerprint:
            item["fingerprint"] = binding.fingerprint
        if binding.parent_erp_customer_id:
            item["parent_erp_customer_id"] = binding.parent_erp_customer_id
        try:
            self._call(
                self._client.transact_write_items,
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(pk) OR attribute_exists(via)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": {"pk": f"erpcustomer#{binding.erp_customer_id}", "sk": "accounts"},
                            "UpdateExpression": "ADD oro_ids :a",
                            "ExpressionAttributeValues": {":a": {binding.storefront_customer_id}},
                        }
                    },
                ],
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = err.response.get("CancellationReasons") or []
                if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons:
                    return False
            raise
        return True

    def _add_account(self, erp_customer_id: str, storefront_customer_id: str) -> None:
        self._call(
            self._table.update_item,
            Key={"pk": f"erpcustomer#{erp_customer_id}", "sk": "accounts"},
            UpdateExpression="ADD oro_ids :a",
            ExpressionAttributeValues={":a": {storefront_customer_id}},
        )

    def erp_customer_accounts(self, erp_customer_id: str) -> set[str]:
        """The Oro accounts bound to the ERP customer (customer_sync and `customers map` bindings)."""
        item = self._call(
            self._table.get_item, Key={"pk": f"erpcustomer#{erp_customer_id}", "sk": "accounts"}
        ).get("Item")
        return {str(i) for i in item.get("oro_ids", ())} if item else set()

    def update_customer_binding(self, storefront_customer_id: str, **attrs: Any) -> None:
        """Record what customer_sync last saw or sent (path, name, fingerprint, parent) on a binding."""
        names = {f"#a{i}": k for i, k in enumerate(attrs)}
        values = {f":a{i}": v for i, v in enumerate(attrs.values())}
        self._call(
            self._table.update_item,
            Key={"pk": f"customer#{storefront_customer_id}", "sk": "binding"},
            UpdateExpression="SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(attrs))),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def approve_customer(self, storefront_customer_id: str, now: datetime) -> bool:
        """Pending → approved, once: True only for the call that moved it (its held orders are released)."""
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"customer#{storefront_customer_id}", "sk": "binding"},
                UpdateExpression="SET #s = :approved, approved_at = :now, gsi1pk = :g",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":approved": "approved",
                    ":pending": "pending",
                    ":now": _iso(now),
                    ":g": "customers#approved",
                },
            )
        except ClientError as err:
            if self._is_condition_failure(err):
                return False
            raise
        return True

    def customer_bindings(self, status: str) -> Iterator[CustomerBinding]:
        """Every binding in `status` ("pending" or "approved"), from the status index."""
        for item in self._query_status_index(f"customers#{status}"):
            yield CustomerBinding.from_item(item)

    def claim_onboarding(self, storefront_customer_id: str, now: datetime, seconds: int) -> bool:
        """One onboarding of an account at a time: True if no other run holds it (or its claim is stale)."""
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"customer#{storefront_customer_id}", "sk": "onboarding"},
                UpdateExpression="SET claimed_until = :until",
                ConditionExpression="attribute_not_exists(claimed_until) OR claimed_until < :now",
                ExpressionAttributeValues={
                    ":until": _iso(now + timedelta(seconds=seconds)),
                    ":now": _iso(now),
                },
            )
        except ClientError as err:
            if self._is_condition_failure(err):
                return False
            raise
        return True

    def onboarding_claimed_until(self, storefront_customer_id: str) -> datetime | None:
        """Until when the account's onboarding claim holds (None: no claim)."""
        item = self._call(
            self._table.get_item,
            Key={"pk": f"customer#{storefront_customer_id}", "sk": "onboarding"},
            ConsistentRead=True,
        ).get("Item")
        return _parse_iso(item["claimed_until"]) if item and "claimed_until" in item else None

    def note_customer_create(self, storefront_customer_id: str, name: str) -> None:
        """Before a create is sent: the name it goes by, so a create whose answer was lost is looked up by
        that name on every later attempt, even if the Oro account was renamed meanwhile."""
        self._call(
            self._table.update_item,
            Key={"pk": f"customer#{storefront_customer_id}", "sk": "onboarding"},
            UpdateExpression="ADD create_names :n",
            ExpressionAttributeValues={":n": {name}},
        )

    def customer_create_names(self, storefront_customer_id: str) -> set[str]:
        item = self._call(
            self._table.get_item,
            Key={"pk": f"customer#{storefront_customer_id}", "sk": "onboarding"},
            ConsistentRead=True,
        ).get("Item")
        return {str(n) for n in item.get("create_names", ())} if item else set()

    def end_onboarding(self, storefront_customer_id: str, *, bound: bool) -> None:
        """Release the claim; once bound, forget the names creates were sent under too."""
        key = {"pk": f"customer#{storefront_customer_id}", "sk": "onboarding"}
        if bound:
            self._call(self._table.delete_item, Key=key)
        else:
            self._call(self._table.update_item, Key=key, UpdateExpression="REMOVE claimed_until")

    def put_customer_placement(self, storefront_customer_id: str, placement: dict[str, Any]) -> None:
        """Where a sub-account's orders go as the tree was last seen (path, billing parent): for people
        (`customers show`); the order flow walks the tree as it is now."""
        self._call(
            self._table.put_item,
            Item={"pk": f"customer#{storefront_customer_id}", "sk": "placement", **placement},
        )

    def customer_placement(self, storefront_customer_id: str) -> dict[str, Any] | None:
        item = self._call(
            self._table.get_item, Key={"pk": f"customer#{storefront_customer_id}", "sk": "placement"}
        ).get("Item")
        return dict(item) if item else None

    # -- named exceptions -----------------------------------------------------------------------------
    def open_exception(self, code: str, entity: str, now: datetime, detail: str) -> None:
        """One record per (type, entity): first seen, last seen, count. Never duplicated by retries. Its owner is
        told once per opening (`on_exception_opened`, then `notified_at`), however often it is seen again."""
        etype = exception_type(code)
        key = {"pk": f"exception#{code}#{entity}", "sk": "exception"}
        item = self._call(
            self._table.update_item,
            Key=key,
            UpdateExpression=(
                "SET #st = :open, gsi1pk = :g1, gsi1sk = :g2, owner_team = :owner, blocks = :blocks, "
                "detail = :detail, last_seen = :now, first_seen = if_not_exists(first_seen, :now) "
                "ADD seen_count :one"
            ),
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":open": "open",
                ":g1": "exception#open",
                ":g2": f"{etype.owner.value}#{code}#{entity}",
                ":owner": etype.owner.value,
                ":blocks": etype.blocks_order,
                ":detail": detail,
                ":now": _iso(now),
                ":one": Decimal(1),
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
        if self.on_exception_opened is None or "notified_at" in item:
            return
        cap = self.alerts_per_hour
        slot = self._alert_slot(etype.owner.value, now, cap)
        if slot is None:
            return  # the team's alerts for this hour are used up: tried again the next time it is seen
        view = self._exception_view(item)
        if slot == cap:
            view["last_alert_this_hour"] = True
        if not self.on_exception_opened(view):
            return  # not told: tried again the next time it is seen
        try:
            self._call(
                self._table.update_item,
                Key=key,
                UpdateExpression="SET notified_at = :now",
                ConditionExpression="#st = :open AND attribute_not_exists(notified_at)",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":now": _iso(now), ":open": "open"},
            )
        except ClientError as err:
            if not self._is_condition_failure(err):
                raise

    @property
    def alerts_per_hour(self) -> int:
        cap = self._alerts_per_hour
        return cap() if callable(cap) else cap

    def _alert_slot(self, team: str, now: datetime, cap: int) -> int | None:
        """Take one of the team's alerts of this hour: its number (1..`cap`), or None if none is left."""
        hour = now.strftime("%Y-%m-%dT%H")
        try:
            answer = self._call(
                self._table.update_item,
                Key={"pk": f"alerts#{team}", "sk": hour},
                UpdateExpression="SET expires_at = :exp ADD sent :one",
                ConditionExpression="attribute_not_exists(sent) OR sent < :cap",
                ExpressionAttributeValues={
                    ":one": Decimal(1),
                    ":cap": Decimal(cap),
                    ":exp": int(now.timestamp()) + 2 * 3600,
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as err:
            if self._is_condition_failure(err):
                return None
            raise
        return int(answer["Attributes"]["sent"])

    def close_exception(self, code: str, entity: str, now: datetime, resolution: str) -> bool:
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"exception#{code}#{entity}", "sk": "exception"},
                # the next opening is a new occurrence: its owner is told again
                UpdateExpression=(
                    "SET #st = :closed, gsi1pk = :g1, closed_at = :now, resolution = :r REMOVE notified_at"
                ),
                ConditionExpression="#st = :open",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":closed": "closed",
                    ":open": "open",
                    ":g1": "exception#closed",
                    ":now": _iso(now),
                    ":r": resolution,
                },
            )
            return True
        except ClientError as err:
            if self._is_condition_failure(err):
                return False
            raise

    @staticmethod
    def _exception_view(item: dict[str, Any]) -> dict[str, Any]:
        _, code, entity = str(item["pk"]).split("#", 2)
        return {
            "code": code,
            "entity": entity,
            "owner": item["owner_team"],
            "count": int(item["seen_count"]),
            "first_seen": item["first_seen"],
            "last_seen": item["last_seen"],
            "detail": item["detail"],
        }

    def open_exceptions(self) -> list[dict[str, Any]]:
        return [self._exception_view(i) for i in self._query_status_index("exception#open")]

    def order_exceptions(self, order_id: str) -> list[dict[str, Any]]:
        """The open named exceptions of one order (`order:<id>`): one batched read over the catalogue."""
        keys = [{"pk": f"exception#{code}#order:{order_id}", "sk": "exception"} for code in CATALOGUE]
        name = self._table.name
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {name: {"Keys": keys}}
        while request:
            page = self._call(self._client.batch_get_item, RequestItems=request)
            items.extend(page.get("Responses", {}).get(name, []))
            request = page.get("UnprocessedKeys") or {}
        return [
            self._exception_view(i)
            for i in sorted(items, key=lambda i: str(i["pk"]))
            if i.get("status") == "open"
        ]

    # -- dead letters and operator actions (`orosync dlq`, shared/flows/dead_letters.py) ---------------
    # `msgfail#<SQS message id>` / `failure`: the last error a queue consumer raised on that message. SQS keeps
    # a message's id when it moves it to the DLQ, so `orosync dlq list` can say why each dead letter died.
    # `operator#<UTC day>` / `<at>#<rand>`: one per operator action (release, map, resolve, redrive).
    def record_message_failure(self, message_id: str, queue: str, error: str, now: datetime) -> None:
        self._call(
            self._table.put_item,
            Item={
                "pk": f"msgfail#{message_id}",
                "sk": "failure",
                "queue": queue,
                "error": error[:500],
                "at": _iso(now),
                "expires_at": self._expires(now),
            },
        )

    def message_failures(self, message_ids: list[str]) -> dict[str, dict[str, str]]:
        """Message id -> {"error", "at", "queue"} for the messages a consumer recorded a failure for."""
        name = self._table.name
        out: dict[str, dict[str, str]] = {}
        unique = list(dict.fromkeys(message_ids))
        for start in range(0, len(unique), 100):  # BatchGetItem takes at most 100 keys
            keys = [{"pk": f"msgfail#{m}", "sk": "failure"} for m in unique[start : start + 100]]
            request: dict[str, Any] = {name: {"Keys": keys}}
            while request:
                page = self._call(self._client.batch_get_item, RequestItems=request)
                for i in page.get("Responses", {}).get(name, []):
                    out[str(i["pk"]).removeprefix("msgfail#")] = {
                        "error": str(i["error"]),
                        "at": str(i["at"]),
                        "queue": str(i["queue"]),
                    }
                request = page.get("UnprocessedKeys") or {}
        return out

    def record_operator_action(
        self, action: str, target: str, by: str, now: datetime, **detail: Any
    ) -> dict[str, Any]:
        """Who did what to what, and when (UTC); partitioned by day so a day's actions are one query."""
        at = _iso(now)
        self._call(
            self._table.put_item,
            Item={
                "pk": f"operator#{at[:10]}",
                "sk": f"{at}#{uuid.uuid4().hex[:6]}",
                "action": action,
                "target": target,
                "by": by,
                "at": at,
                "detail": json.dumps(detail, default=str, sort_keys=True),
            },
        )
        return {"action": action, "target": target, "by": by, "at": at, **detail}

    def operator_actions(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The operator actions recorded from `since` to `until`, oldest first."""
        out: list[dict[str, Any]] = []
        day = since.astimezone(UTC).date()
        while day <= until.astimezone(UTC).date():
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
                "ExpressionAttributeValues": {
                    ":p": f"operator#{day.isoformat()}",
                    ":a": _iso(since),
                    ":b": _iso(until) + "~",
                },
            }
            while True:
                page = self._call(self._table.query, **kwargs)
                for i in page.get("Items", []):
                    out.append(
                        {
                            "action": i["action"],
                            "target": i["target"],
                            "by": i["by"],
                            "at": i["at"],
                            **json.loads(i["detail"]),
                        }
                    )
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            day += timedelta(days=1)
        return out

    # -- watermarks -----------------------------------------------------------------------------------
    def get_watermark(self, name: str) -> datetime | None:
        item = self._call(
            self._table.get_item, Key={"pk": f"watermark#{name}", "sk": "watermark"}, ConsistentRead=True
        ).get("Item")
        return _parse_iso(item["value"]) if item else None

    def set_watermark(self, name: str, value: datetime) -> None:
        """Only ever moves forward, even if two polls overlap."""
        try:
            self._call(
                self._table.put_item,
                Item={"pk": f"watermark#{name}", "sk": "watermark", "value": _iso(value)},
                ConditionExpression="attribute_not_exists(pk) OR #v < :v",
                ExpressionAttributeNames={"#v": "value"},
                ExpressionAttributeValues={":v": _iso(value)},
            )
        except ClientError as err:
            if not self._is_condition_failure(err):
                raise

    # -- the store's epoch, and what the ERP held when it began (shared/flows/recovery.py) ---------------
    def _table_created(self) -> str:
        """The table's creation time: a table restored to an earlier point is a new table, and its copied
        epoch marker names the table it was written for."""
        if self._created is None:
            described = self._call(self._client.describe_table, TableName=self._table.name)
            self._created = _iso(described["Table"]["CreationDateTime"])
        return self._created

    def epoch(self, now: datetime, settle_seconds: float) -> Epoch:
        """This store's epoch. A missing marker (a new or emptied table) or one copied from another table (a
        restore) means the store begins now: it is written, once, with `settle_seconds` to settle."""
        item = self._call(self._table.get_item, Key=_EPOCH_KEY, ConsistentRead=True).get("Item")
        if item and item.get("table_created") == self._table_created():
            return Epoch(_parse_iso(item["started_at"]), _parse_iso(item["settled_at"]))
        condition = "attribute_not_exists(pk)" if not item else "table_created = :old"
        values = {":old": item["table_created"]} if item else None
        try:
            return self.start_epoch(now, settle_seconds, condition=condition, values=values)
        except ClientError as err:
            if not self._is_condition_failure(err):
                raise
            return self.epoch(now, settle_seconds)  # another worker wrote it first

    def start_epoch(
        self,
        now: datetime,
        settle_seconds: float = 0,
        *,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> Epoch:
        """Mark the store as beginning at `now`. Unconditional (without `condition`) only where nothing can
        be in flight: a table just created or restored by a process that is the only one using it."""
        epoch = Epoch(now, now + timedelta(seconds=settle_seconds))
        kwargs: dict[str, Any] = {
            "Item": {
                **_EPOCH_KEY,
                "started_at": _iso(epoch.started_at),
                "settled_at": _iso(epoch.settled_at),
                "table_created": self._table_created(),
            }
        }
        if condition:
            kwargs["ConditionExpression"] = condition
            if values:
                kwargs["ExpressionAttributeValues"] = values
        self._call(self._table.put_item, **kwargs)
        return epoch

    def erp_scan_since(self, epoch: Epoch) -> datetime | None:
        """From when the ERP's sales were listed for this epoch (`record_erp_scan`), or None."""
        item = self._call(self._table.get_item, Key=_ERP_SCAN_KEY, ConsistentRead=True).get("Item")
        if not item or item.get("epoch") != _iso(epoch.started_at):
            return None
        return _parse_iso(item["since"])

    def record_erp_scan(self, epoch: Epoch, since: datetime, now: datetime, sales: dict[str, str]) -> None:
        """The ERP sales (ExternalID → sale id) created since `since`, as listed at `now`: each is recorded,
        then the scan itself, so a scan half written is never taken for a whole one."""

        def write() -> None:
            with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
                for external_id, sale_id in sales.items():
                    item = {
                        "pk": f"erpsale#{external_id}",
                        "sk": "known",
                        "sale_id": sale_id,
                        "seen": _iso(now),
                    }
                    batch.put_item(Item=item)

        self._call(write)
        self._call(
            self._table.put_item,
            Item={
                **_ERP_SCAN_KEY,
                "epoch": _iso(epoch.started_at),
                "since": _iso(since),
                "taken_at": _iso(now),
                "sales": Decimal(len(sales)),
            },
        )

    def erp_sale_known(self, external_id: str) -> bool:
        """Whether a recorded ERP scan saw a sale with this ExternalID."""
        key = {"pk": f"erpsale#{external_id}", "sk": "known"}
        return "Item" in self._call(self._table.get_item, Key=key, ConsistentRead=True)

    # -- reconciliation (shared/flows/reconcile.py) -------------------------------------------------------
    def put_reconcile_result(self, kind: str, result: dict[str, Any]) -> None:
        """The last reconciliation of `kind` (`orosync reconcile --report`)."""
        self._call(
            self._table.put_item,
            Item={"pk": "meta#reconcile", "sk": kind, "result": json.dumps(result, default=str)},
        )

    def reconcile_results(self) -> dict[str, dict[str, Any]]:
        """The last reconciliation of each kind, by kind."""
        items = self._call(
            self._table.query,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": "meta#reconcile"},
            ConsistentRead=True,
        ).get("Items", [])
        return {str(i["sk"]): dict(json.loads(i["result"])) for i in items}

    # -- cached reference data (ERP catalogue lookups are not fetched per order) -----------------------
    def get_cached(self, key: str, now: datetime) -> Any | None:
        item = self._call(self._table.get_item, Key={"pk": f"cache#{key}", "sk": "cache"}).get("Item")
        if not item or int(item["expires_at"]) < now.timestamp():
            return None
        return json.loads(item["data"], parse_float=Decimal)

    def drop_cached(self, key: str) -> None:
        self._call(self._table.delete_item, Key={"pk": f"cache#{key}", "sk": "cache"})

    def put_cached(self, key: str, data: Any, now: datetime, ttl_seconds: int) -> None:
        self._call(
            self._table.put_item,
            Item={
                "pk": f"cache#{key}",
                "sk": "cache",
                "data": json.dumps(data, default=str),
                "expires_at": int(now.timestamp()) + ttl_seconds,
            },
        )

    # -- fulfilment (shared/flows/fulfilment.py) -------------------------------------------------------
    def fulfilment_record(self, order_id: str) -> dict[str, Any]:
        """What the fulfilment flow last applied to the Oro order (trackings, statuses, events); {} if none."""
        item = self._call(
            self._table.get_item, Key={"pk": f"order#{order_id}", "sk": "fulfilment"}, ConsistentRead=True
        ).get("Item")
        return dict(json.loads(item["record"])) if item and "record" in item else {}  # a lease only: none yet

    def put_fulfilment_record(self, order_id: str, record: dict[str, Any]) -> None:
        """Written under the fulfilment lease (`acquire_lease(..., item="fulfilment")`, on the same item, which
        this update leaves in place), so one writer at a time."""
        self._call(
            self._table.update_item,
            Key={"pk": f"order#{order_id}", "sk": "fulfilment"},
            UpdateExpression="SET #r = :r",
            ExpressionAttributeNames={"#r": "record"},
            ExpressionAttributeValues={":r": json.dumps(record, sort_keys=True)},
        )

    # -- stock (shared/flows/stock.py) ------------------------------------------------------------------
    def stock_records(self, skus: list[str]) -> dict[str, StockRecord]:
        """The stock record of each SKU (one BatchGetItem per 100)."""
        name = self._table.name
        out: dict[str, StockRecord] = {sku: StockRecord(sku) for sku in skus}
        unique = sorted(set(skus))
        for start in range(0, len(unique), 100):
            keys = [{"pk": f"stock#{sku}", "sk": "stock"} for sku in unique[start : start + 100]]
            request: dict[str, Any] = {name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                page = self._call(self._client.batch_get_item, RequestItems=request)
                for item in page.get("Responses", {}).get(name, []):
                    sku = str(item["pk"]).removeprefix("stock#")
                    out[sku] = StockRecord.from_item(sku, item)
                request = page.get("UnprocessedKeys") or {}
        return out

    def record_stock_pushed(self, sku: str, pushed: dict[str, Decimal], read_at: datetime) -> bool:
        """Oro accepted these levels (every unit's, merged with what it held before), computed from
        availability read at `read_at`. False, and nothing written, when a later read was already
        recorded: the caller must not let its older figures stand."""
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"stock#{sku}", "sk": "stock"},
                UpdateExpression="SET #p = :p, #r = :r",
                ConditionExpression="attribute_not_exists(#r) OR #r <= :r",
                ExpressionAttributeNames={"#p": "pushed", "#r": "read_at"},
                ExpressionAttributeValues={
                    ":p": {unit: str(q) for unit, q in pushed.items()},
                    ":r": _iso(read_at),
                },
            )
        except ClientError as err:
            if self._is_condition_failure(err):
                return False
            raise
        return True

    def set_stock_flags(self, sku: str, flags: frozenset[str]) -> None:
        key = {"pk": f"stock#{sku}", "sk": "stock"}
        if flags:
            self._call(
                self._table.update_item,
                Key=key,
                UpdateExpression="SET flags = :f",
                ExpressionAttributeValues={":f": sorted(flags)},
            )
        else:
            self._call(self._table.update_item, Key=key, UpdateExpression="REMOVE flags")

    def claim_refresh(self, key: str, now: datetime, hold_seconds: int) -> bool:
        """True if no refresh of `key` (`stock:<ERP SKU>`, `prices:<mapping>`) is already queued, or the one
        queued is older than `hold_seconds`: a burst of webhooks for one thing costs one refresh, not one each."""
        try:
            self._call(
                self._table.put_item,
                Item={
                    "pk": f"refresh#{key}",
                    "sk": "refresh",
                    "claimed_at": _iso(now),
                    "expires_at": int(now.timestamp()) + hold_seconds,
                },
                ConditionExpression="attribute_not_exists(pk) OR claimed_at < :stale",
                ExpressionAttributeValues={":stale": _iso(now - timedelta(seconds=hold_seconds))},
            )
        except ClientError as err:
            if self._is_condition_failure(err):
                return False
            raise
        return True

    def expire_refresh(self, key: str) -> None:
        """A claim whose enqueue failed: the sender's retry claims again. Marked stale rather than deleted, so
        intake's functions need no DeleteItem on the state table."""
        self._call(
            self._table.update_item,
            Key={"pk": f"refresh#{key}", "sk": "refresh"},
            UpdateExpression="SET claimed_at = :never",
            ExpressionAttributeValues={":never": "1970-01-01T00:00:00+00:00"},
        )

    def release_refresh(self, key: str) -> None:
        """The queued refresh is about to read: a change from now on queues another."""
        self._call(self._table.delete_item, Key={"pk": f"refresh#{key}", "sk": "refresh"})

    # -- prices (shared/flows/prices.py) ----------------------------------------------------------------
    def price_records(self, target: str, erp_skus: list[str]) -> dict[str, Decimal]:
        """What the ERP last accepted for each SKU of one price target (`tier:<name>` or `customer:<id>`)."""
        name = self._table.name
        out: dict[str, Decimal] = {}
        for start in range(0, len(erp_skus), 100):
            keys = [{"pk": f"price#{target}#{sku}", "sk": "price"} for sku in erp_skus[start : start + 100]]
            request: dict[str, Any] = {name: {"Keys": keys}}
            while request:
                page = self._call(self._client.batch_get_item, RequestItems=request)
                for item in page.get("Responses", {}).get(name, []):
                    out[str(item["pk"]).removeprefix(f"price#{target}#")] = Decimal(str(item["price"]))
                request = page.get("UnprocessedKeys") or {}
        return out

    def record_prices(self, target: str, prices: dict[str, Decimal]) -> None:
        """The ERP accepted these prices (absolute values: a repeated write is harmless)."""
        with self._table.batch_writer() as batch:
            for sku, price in prices.items():
                batch.put_item(Item={"pk": f"price#{target}#{sku}", "sk": "price", "price": str(price)})

    # -- product data (shared/flows/products.py) ---------------------------------------------------------
    def product_records(self, skus: list[str]) -> dict[str, str]:
        """The fingerprint of what the ERP last held of each Oro product's Oro-owned data."""
        name = self._table.name
        out: dict[str, str] = {}
        for start in range(0, len(skus), 100):
            keys = [{"pk": f"product#{sku}", "sk": "product"} for sku in skus[start : start + 100]]
            request: dict[str, Any] = {name: {"Keys": keys}}
            while request:
                page = self._call(self._client.batch_get_item, RequestItems=request)
                for item in page.get("Responses", {}).get(name, []):
                    out[str(item["pk"]).removeprefix("product#")] = str(item["fingerprint"])
                request = page.get("UnprocessedKeys") or {}
        return out

    def record_products(self, fingerprints: dict[str, str]) -> None:
        """The ERP holds this data of these products (a repeated write is harmless)."""
        with self._table.batch_writer() as batch:
            for sku, fingerprint in fingerprints.items():
                batch.put_item(Item={"pk": f"product#{sku}", "sk": "product", "fingerprint": fingerprint})

    def put_stock_page(self, run: str, page: int, rows: str, now: datetime) -> None:
        """One page of a stock run's availability (compact JSON), kept a day."""
        self._call(
            self._table.put_item,
            Item={
                "pk": f"stockrun#{run}",
                "sk": f"page#{page:06d}",
                "rows": rows,
                "expires_at": int(now.timestamp()) + STOCK_RUN_TTL_SECONDS,
            },
        )

    def stock_page_done(self, run: str, page: int, pages: int, now: datetime) -> bool:
        """Mark a page of the run read; True for exactly one caller once every page of it has been (a page
        read twice, or two last pages at once, never plans the run twice)."""
        item = self._call(
            self._table.update_item,
            Key={"pk": f"stockrun#{run}", "sk": "run"},
            UpdateExpression="ADD done :p SET pages = :n, expires_at = if_not_exists(expires_at, :x)",
            ExpressionAttributeValues={
                ":p": {Decimal(page)},
                ":n": Decimal(pages),
                ":x": int(now.timestamp()) + STOCK_RUN_TTL_SECONDS,
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
        if len(item.get("done") or ()) < pages:
            return False
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"stockrun#{run}", "sk": "run"},
                UpdateExpression="SET planned = :t",
                ConditionExpression="attribute_not_exists(planned)",
                ExpressionAttributeValues={":t": True},
            )
        except ClientError as err:
            if self._is_condition_failure(err):
                return False
            raise
        return True

    def stock_pages(self, run: str) -> list[str]:
        """The stored pages of a run, in page order."""
        out: list[str] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :page)",
            "ExpressionAttributeValues": {":pk": f"stockrun#{run}", ":page": "page#"},
            "ConsistentRead": True,
        }
        while True:
            page = self._call(self._table.query, **kwargs)
            out.extend(str(i["rows"]) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
