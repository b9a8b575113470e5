"""In-memory state of the sandbox: records, transactions, writes with validation, reads with filters.

A record is `{"id": str, "attributes": {...}, "relationships": {...}}` with values already in their output form
(money "12.5000", timestamps "2026-05-01T10:00:00Z"), so the state file is plain JSON. Relationships named in
`Rel.inverse` are not stored: they are derived from the owning side on read, and writes to them change the owning
records. Every write runs in a `Tx` (copy on write); nothing reaches the store unless the whole write validates.
The store's lock is held by the caller for the whole request.
"""

from __future__ import annotations

import copy
import hashlib
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from .query import (
    ApiError,
    ApiErrors,
    FilterExpr,
    Query,
    fmt_ts,
    json_number,
    money,
    not_blank,
    parse_dt_interval,
    parse_ts,
    plain_decimal,
    to_decimal,
)
from .schema import (
    COUNTRIES,
    DEFAULT_UNITS,
    ENUMS,
    PREPARE_ORDER,
    REGISTRY,
    WEBHOOK_ENTITIES,
    WEBHOOK_TOPICS,
    Attr,
    Filt,
    Rel,
    Resource,
    ref,
)

Key = tuple[str, str]
Record = dict[str, Any]


@dataclass
class Options:
    external_status_management: bool = False
    default_page_size: int = 10
    # Oro's `max_entities`: the most records one list page returns, whatever page[size] asks (-1: no cap).
    max_page_size: int = -1
    default_internal_status: str = "open"
    webhook_includes: tuple[str, ...] = ()
    # Oro's taxation (TaxBundle): None = off, the order has no tax subtotal and its total no tax. Else
    # {"rates": {product tax code: percent}, "shipping_percent": percent}: tax per line on its row total
    # (before order discounts, Oro's default), plus tax on the shipping cost.
    taxation: dict[str, Any] | None = None

    def page_size(self, requested: int | None) -> int:
        """The page size a list request gets: page[size] (or the default), capped by `max_page_size`.
        A capped page is shorter than asked for, yet its links still carry `next` when more records follow."""
        size = requested if requested is not None else self.default_page_size
        if self.max_page_size > 0 and (size == -1 or size > self.max_page_size):
            return self.max_page_size
        return size


def _order_index(type_: str) -> int:
    try:
        return PREPARE_ORDER.index(type_)
    except ValueError:
        return len(PREPARE_ORDER)


def id_sort_key(id_: str) -> tuple[int, int, str]:
    return (0, int(id_), "") if id_.isdigit() else (1, 0, id_)


class Store:
    def __init__(self, clock: Callable[[], datetime], options: Options) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.options = options
        self.data: dict[str, dict[str, Record]] = {}
        self.seq: dict[str, int] = {}
        self.async_errors: dict[str, list[dict[str, Any]]] = {}
        # reverse references: (owner type, relationship) -> (target type, target id) -> owner ids
        self.index: dict[tuple[str, str], dict[Key, set[str]]] = {}
        self.version = 0
        self.reset()

    # ---- lifecycle -----------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.data = {t: {} for t in REGISTRY}
            self.seq = {}
            self.async_errors = {}
            now = fmt_ts(self.clock())
            for type_, values in ENUMS.items():
                for prio, (code, name) in enumerate(values):
                    self._put_raw(type_, code, {"name": name, "priority": prio, "default": prio == 0}, {})
            for code, iso3, name in COUNTRIES:
                self._put_raw("countries", code, {"name": name, "iso3Code": iso3}, {})
            for code, precision in DEFAULT_UNITS:
                self._put_raw(
                    "productunits",
                    code,
                    {
                        "defaultPrecision": precision,
                        "label": code,
                        "shortLabel": code,
                        "pluralLabel": f"{code}s",
                        "shortPluralLabel": f"{code}s",
                    },
                    {},
                )
            for topic in WEBHOOK_TOPICS:
                entity, _, event = topic.partition(".")
                self._put_raw(
                    "webhooktopics", topic, {"label": f"{entity.replace('_', ' ').title()} {event}"}, {}
                )
            self._put_raw("webhookformats", "default", {"label": "Default (JSON:API)"}, {})
            self._put_raw("webhookformats", "thin", {"label": "Thin (type and id only)"}, {})
            self._put_raw(
                "users",
                "1",
                {"username": "admin", "email": "admin@example.com", "firstName": "John", "lastName": "Doe"},
                {},
            )
            self._put_raw("organizations", "1", {"name": "ORO"}, {})
            self._put_raw("businessunits", "1", {"name": "Main"}, {})
            self._put_raw("websites", "1", {"name": "Default"}, {})
            self._put_raw(
                "customeruserroles",
                "1",
                {"role": "ROLE_FRONTEND_ADMINISTRATOR", "label": "Administrator", "selfManaged": True},
                {},
            )
            self._put_raw(
                "customeruserroles",
                "2",
                {"role": "ROLE_FRONTEND_BUYER", "label": "Buyer", "selfManaged": True},
                {},
            )
            self.seq["customeruserroles"] = 2
            for type_ in ("users", "organizations", "businessunits", "websites"):
                self.seq[type_] = 1
            self.rebuild_index()
            self.version += 1
            del now

    # ---- reverse-reference index (kept in step by Tx.commit) -------------------------------------------
    def rebuild_index(self) -> None:
        self.index = {}
        for type_, recs in self.data.items():
            for rec in recs.values():
                self.index_add(type_, rec)

    def index_add(self, type_: str, rec: Record) -> None:
        for name, value in rec["relationships"].items():
            for target in value if isinstance(value, list) else [value] if value else []:
                bucket = self.index.setdefault((type_, name), {})
                bucket.setdefault((target["type"], target["id"]), set()).add(rec["id"])

    def index_remove(self, type_: str, rec: Record) -> None:
        for name, value in rec["relationships"].items():
            bucket = self.index.get((type_, name))
            if bucket is None:
                continue
            for target in value if isinstance(value, list) else [value] if value else []:
                ids = bucket.get((target["type"], target["id"]))
                if ids is not None:
                    ids.discard(rec["id"])
                    if not ids:
                        del bucket[(target["type"], target["id"])]

    def _put_raw(
        self, type_: str, id_: str, attributes: dict[str, Any], relationships: dict[str, Any]
    ) -> None:
        res = REGISTRY[type_]
        rec: Record = {"id": id_, "attributes": {}, "relationships": {}}
        for a in res.attrs:
            rec["attributes"][a.name] = attributes.get(a.name)
        for r in res.rels:
            if r.inverse is None:
                rec["relationships"][r.name] = relationships.get(r.name, [] if r.many else None)
        self.data[type_][id_] = rec

    def next_id(self, type_: str) -> str:
        self.seq[type_] = self.seq.get(type_, 0) + 1
        return str(self.seq[type_])

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy({"data": self.data, "seq": self.seq, "async_errors": self.async_errors})

    def load(self, snap: dict[str, Any]) -> None:
        with self.lock:
            self.reset()
            for type_, recs in snap.get("data", {}).items():
                if type_ in self.data:
                    self.data[type_] = recs
            self.seq = dict(snap.get("seq", {}))
            self.async_errors = dict(snap.get("async_errors", {}))
            self.rebuild_index()
            self.version += 1

    def view(self) -> Tx:
        return Tx(self)


# -------------------------------------------------------------------------------------------------- Tx


@dataclass
class Event:
    alias: str
    event: str  # created | updated | deleted
    type: str
    id: str
    document: dict[str, Any] | None = None  # for deleted: serialized before removal


@dataclass
class Tx:
    store: Store
    staged: dict[Key, Record | None] = field(default_factory=dict)
    originals: dict[Key, Record | None] = field(default_factory=dict)
    created: list[Key] = field(default_factory=list)
    pointers: dict[Key, str] = field(default_factory=dict)
    deleted: list[Event] = field(default_factory=list)
    serializer: Callable[[Tx, str, Record], dict[str, Any]] | None = None
    errors: list[ApiError] = field(default_factory=list)
    pending_inverse: list[tuple[str, str, Rel, list[dict[str, str]], str]] = field(default_factory=list)
    retouched: set[Key] = field(default_factory=set)

    # ---- reading through the staging area ------------------------------------------------------------
    def get(self, type_: str, id_: str) -> Record | None:
        key = (type_, id_)
        if key in self.staged:
            return self.staged[key]
        return self.store.data.get(type_, {}).get(id_)

    def records(self, type_: str) -> Iterator[tuple[str, Record]]:
        base = self.store.data.get(type_, {})
        staged = self.staged
        if not staged:
            yield from base.items()
            return
        for id_, rec in base.items():
            key = (type_, id_)
            if key in staged:
                s = staged[key]
                if s is not None:
                    yield id_, s
            else:
                yield id_, rec
        for (t, sid), srec in staged.items():
            if t == type_ and srec is not None and sid not in base:
                yield sid, srec

    def owners_of(
        self, owner_type: str, owner_rel: str, target_id: str, target_type: str | None = None
    ) -> list[Record]:
        """Records of `owner_type` whose `owner_rel` points at the target (index + staged overlay)."""
        if target_type is None:
            spec = REGISTRY[owner_type].rel(owner_rel)
            assert spec is not None and spec.target is not None
            target_type = spec.target
        target = (target_type, target_id)
        ids = set(self.store.index.get((owner_type, owner_rel), {}).get(target, ()))
        for (t, sid), srec in self.staged.items():
            if t != owner_type:
                continue
            if srec is not None and _refers(srec["relationships"].get(owner_rel), target):
                ids.add(sid)
            else:
                ids.discard(sid)
        out = [rec for rec in (self.get(owner_type, i) for i in ids) if rec is not None]
        out.sort(key=lambda r: id_sort_key(r["id"]))
        return out

    def rel_value(self, res: Resource, rel: Rel, rec: Record) -> Any:
        if rel.inverse:
            owner_type, owner_rel = rel.inverse
            owners = [ref(owner_type, o["id"]) for o in self.owners_of(owner_type, owner_rel, rec["id"])]
            if rel.many:
                return owners
            return owners[0] if owners else None
        value = rec["relationships"].get(rel.name)
        if value is None and rel.many:
            return []
        return value

    # ---- writing -------------------------------------------------------------------------------------
    def edit(self, type_: str, id_: str) -> Record:
        key = (type_, id_)
        if key in self.staged:
            rec = self.staged[key]
            if rec is None:
                raise ApiError(404, "not found http exception", "The entity was deleted in this request.")
            return rec
        base = self.store.data.get(type_, {}).get(id_)
        if base is None:
            raise ApiError(
                404, "not found http exception", "An entity with the requested identifier does not exist."
            )
        self.originals[key] = base
        rec = copy.deepcopy(base)
        self.staged[key] = rec
        return rec

    def add(self, type_: str, rec: Record, pointer: str | None = None) -> None:
        key = (type_, rec["id"])
        self.staged[key] = rec
        self.originals.setdefault(key, None)
        self.created.append(key)
        if pointer is not None:
            self.pointers[key] = pointer

    def is_new(self, key: Key) -> bool:
        return self.originals.get(key, "absent") is None

    def pointer(self, key: Key) -> str:
        return self.pointers.get(key, "/data")

    def commit(self) -> None:
        data, store = self.store.data, self.store
        for (type_, id_), rec in self.staged.items():
            old = data[type_].get(id_)
            if old is not None:
                store.index_remove(type_, old)
            if rec is None:
                data[type_].pop(id_, None)
            else:
                data[type_][id_] = rec
                store.index_add(type_, rec)
        if self.staged:
            self.store.version += 1

    def events(self) -> list[Event]:
        out: list[Event] = []
        for key, rec in self.staged.items():
            if rec is None:
                continue
            res = REGISTRY[key[0]]
            if not res.webhook_alias:
                continue
            original = self.originals.get(key)
            if original is None:
                out.append(Event(res.webhook_alias, "created", key[0], key[1]))
            elif _changed(original, rec) or key in self.retouched:
                out.append(Event(res.webhook_alias, "updated", key[0], key[1]))
        out.extend(self.deleted)
        return out


def _refers(value: Any, target: Key) -> bool:
    if isinstance(value, list):
        return any(v["type"] == target[0] and v["id"] == target[1] for v in value)
    return bool(value) and value["type"] == target[0] and value["id"] == target[1]


def _changed(before: Record, after: Record) -> bool:
    a = dict(before["attributes"])
    b = dict(after["attributes"])
    a.pop("updatedAt", None)
    b.pop("updatedAt", None)
    return a != b or before["relationships"] != after["relationships"]


# -------------------------------------------------------------------------------------------------- values in


def input_value(attr: Attr, value: Any, pointer: str) -> Any:
    if value is None:
        return None
    kind = attr.kind
    try:
        if kind in ("string", "text"):
            if isinstance(value, bool) or isinstance(value, dict | list):
                raise TypeError
            out: Any = str(value)
            if attr.choices and out not in attr.choices:
                raise ApiError(
                    400, "choice constraint", "The value you selected is not a valid choice.", pointer=pointer
                )
            return out
        if kind == "int":
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, float) and not value.is_integer():
                raise TypeError
            return int(str(value)) if isinstance(value, str) else int(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if value in ("true", "1", 1):
                return True
            if value in ("false", "0", 0):
                return False
            raise TypeError
        if kind == "money":
            return money(to_decimal(value))
        if kind in ("number", "decstr"):
            return plain_decimal(to_decimal(value))
        if kind == "float":
            return float(value)
        if kind == "datetime":
            start, _ = parse_dt_interval(str(value))
            return fmt_ts(start)
        if kind == "date":
            if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
                raise TypeError
            datetime.strptime(value, "%Y-%m-%d")
            return value
        if kind == "array":
            if not isinstance(value, list):
                raise TypeError
            return value
        if kind == "object":
            if not isinstance(value, dict):
                raise TypeError
            return value
    except ApiError:
        raise
    except (TypeError, ValueError, InvalidOperation):
        pass
    expected = {
        "int": "integer",
        "bool": "boolean",
        "money": "numeric",
        "number": "numeric",
        "decstr": "numeric",
        "float": "numeric",
        "datetime": "datetime",
        "date": "date",
        "array": "array",
        "object": "object",
    }.get(kind, "string")
    raise ApiError(400, "form constraint", f"This value should be of type {expected}.", pointer=pointer)


def output_value(attr: Attr, stored: Any) -> Any:
    if attr.kind == "number":
        return json_number(stored)
    return stored


def _default(value: Any) -> Any:
    return value() if callable(value) else copy.deepcopy(value)


# -------------------------------------------------------------------------------------------------- writes


def blank_record(res: Resource, id_: str) -> Record:
    """A new record of `res` holding only its defaults."""
    rec: Record = {"id": id_, "attributes": {}, "relationships": {}}
    for a in res.attrs:
        rec["attributes"][a.name] = _default(a.default) if a.default is not None else None
    for r in res.rels:
        if r.inverse is None:
            if r.default is not None:
                rec["relationships"][r.name] = _default(r.default)
            else:
                rec["relationships"][r.name] = [] if r.many else None
    return rec


@dataclass
class WriteResult:
    key: Key
    status: int  # 201 created, 200 updated
    included: list[tuple[Key, str]] = field(default_factory=list)  # (record, includeId from the request)


def _check_ref(item: Any, pointer: str) -> dict[str, str]:
    if not isinstance(item, dict) or "type" not in item or "id" not in item:
        raise ApiError(
            400, "request data constraint", "The 'type' and 'id' properties are required.", pointer=pointer
        )
    if (
        not isinstance(item["type"], str)
        or not isinstance(item["id"], str | int)
        or isinstance(item["id"], bool)
    ):
        raise ApiError(
            400,
            "request data constraint",
            "The 'type' and 'id' properties should be strings.",
            pointer=pointer,
        )
    return {"type": item["type"], "id": str(item["id"])}


class Writer:
    """One write request: the primary record(s) plus `included`, applied to a Tx, then prepared and validated."""

    def __init__(self, tx: Tx, options: Options) -> None:
        self.tx = tx
        self.options = options
        self.idmap: dict[Key, str] = {}
        self.now = fmt_ts(tx.store.clock())

    # ---- entry points ----------------------------------------------------------------------------------
    def write(
        self,
        type_: str,
        data: Any,
        included: Any,
        mode: str,
        url_id: str | None = None,
        data_ptr: str = "/data",
        allow_meta_update: bool = False,
        included_indexes: list[int] | None = None,
    ) -> WriteResult:
        """mode: create | update. `allow_meta_update`: batch items choose update/upsert through `meta`."""
        res = REGISTRY[type_]
        if not isinstance(data, dict):
            raise ApiError(
                400, "request data constraint", "The primary data object should exist.", pointer=data_ptr
            )
        if data.get("type") != type_:
            raise ApiError(
                409,
                "conflict constraint",
                "The entity type does not match the type of the requested resource.",
                pointer=f"{data_ptr}/type",
            )
        meta = data.get("meta") or {}
        if not isinstance(meta, dict):
            raise ApiError(
                400,
                "request data constraint",
                "The 'meta' property should be an object.",
                pointer=f"{data_ptr}/meta",
            )
        if allow_meta_update and meta.get("update") is True:
            mode = "update"
            url_id = None if data.get("id") is None else str(data["id"])
            if url_id is None:
                raise not_blank(f"{data_ptr}/id")
        upsert = meta.get("upsert")
        inc_items = self._prepare_included(included, included_indexes)
        existing_id: str | None = None
        if upsert not in (None, False):
            existing_id = self._upsert_match(res, data, upsert, mode, url_id, data_ptr)
            if existing_id is not None:
                mode = "update"
                url_id = existing_id
            else:
                mode = "create"
        if mode == "update":
            assert url_id is not None
            if "update" not in res.actions:
                raise ApiError(405, "action not allowed exception", "The 'update' action is not allowed.")
            if "id" in data and str(data["id"]) != url_id and upsert in (None, False):
                raise ApiError(
                    409,
                    "conflict constraint",
                    "The 'id' property of the primary data object should match the 'id' parameter of the query sting.",
                    pointer=f"{data_ptr}/id",
                )
            if self.tx.get(type_, url_id) is None:
                raise ApiError(
                    404, "not found http exception", "An entity with the requested identifier does not exist."
                )
            key = (type_, url_id)
            rec = self.tx.edit(type_, url_id)
            self.tx.pointers[key] = data_ptr
            self._apply(res, rec, data, False, data_ptr)
            status = 200
        else:
            if "create" not in res.actions:
                raise ApiError(405, "action not allowed exception", "The 'create' action is not allowed.")
            rec = self._new_record(res, data, data_ptr)
            key = (type_, rec["id"])
            status = 201
        results: list[tuple[Key, str]] = []
        for j, item, inc_key, is_new in inc_items:
            ptr = f"/included/{j}"
            inc_res = REGISTRY[inc_key[0]]
            if is_new:
                inc_rec: Record = self._blank(inc_res, inc_key[1])
                self.tx.add(inc_res.type, inc_rec, ptr)
                self._apply(inc_res, inc_rec, item, True, ptr)
                if inc_res.id_kind == "price":
                    inc_rec = self._assign_price_id(inc_res, inc_rec, ptr)
                    inc_key = (inc_res.type, inc_rec["id"])
            else:
                inc_rec = self.tx.edit(*inc_key)
                self.tx.pointers[inc_key] = ptr
                self._apply(inc_res, inc_rec, item, False, ptr)
            results.append((inc_key, str(item["id"])))
        if status == 201 and res.id_kind == "price":
            rec = self._assign_price_id(res, rec, data_ptr)
            key = (type_, rec["id"])
        self.finish()
        return WriteResult(key, status, results)

    def finish(self) -> None:
        """Inverse writes, per-type hooks, validation, timestamps. Raises ApiErrors when anything is invalid."""
        tx = self.tx
        for type_, id_, rel, refs, ptr in tx.pending_inverse:
            self._write_inverse(type_, id_, rel, refs, ptr)
        tx.pending_inverse.clear()
        self._check_errors()
        run_hooks(self)
        self._check_errors()
        for key, rec in list(tx.staged.items()):
            if rec is not None:
                validate_record(tx, REGISTRY[key[0]], rec, tx.pointer(key), tx.errors)
        self._check_errors()
        for key, rec in tx.staged.items():
            if rec is None or not REGISTRY[key[0]].timestamps:
                continue
            original = tx.originals.get(key)
            if original is None:
                if rec["attributes"].get("createdAt") is None:
                    rec["attributes"]["createdAt"] = self.now
                rec["attributes"]["updatedAt"] = self.now
            elif _changed(original, rec) or key in tx.retouched:
                rec["attributes"]["updatedAt"] = self.now

    def _check_errors(self) -> None:
        if self.tx.errors:
            errors = list(self.tx.errors)
            self.tx.errors.clear()
            raise ApiErrors(errors)

    # ---- included --------------------------------------------------------------------------------------
    def _prepare_included(
        self, included: Any, indexes: list[int] | None = None
    ) -> list[tuple[int, dict[str, Any], Key, bool]]:
        if included is None:
            return []
        if not isinstance(included, list):
            raise ApiError(
                400,
                "request data constraint",
                "The 'included' property should be an array.",
                pointer="/included",
            )
        out = []
        for n, item in enumerate(included):
            j = indexes[n] if indexes is not None else n
            ptr = f"/included/{j}"
            if not isinstance(item, dict):
                raise ApiError(
                    400, "request data constraint", "The included item should be an object.", pointer=ptr
                )
            r = _check_ref(item, ptr)
            if r["type"] not in REGISTRY:
                raise ApiError(
                    400, "entity type constraint", f"Unknown entity type: {r['type']}.", pointer=f"{ptr}/type"
                )
            inc_res = REGISTRY[r["type"]]
            meta = item.get("meta") or {}
            if meta.get("update") is True:
                if self.tx.get(r["type"], r["id"]) is None:
                    raise ApiError(
                        404, "entity not found constraint", "The entity does not exist.", pointer=ptr
                    )
                out.append((j, item, (r["type"], r["id"]), False))
                continue
            if "create" not in inc_res.actions:
                raise ApiError(
                    405, "action not allowed exception", "The 'create' action is not allowed.", pointer=ptr
                )
            if inc_res.id_kind == "code":
                new_id = r["id"]
                if self.tx.get(r["type"], new_id) is not None:
                    raise ApiError(
                        409, "conflict constraint", "The entity already exists.", pointer=f"{ptr}/id"
                    )
            elif inc_res.id_kind == "uuid":
                new_id = str(uuid.uuid4())
            elif inc_res.id_kind == "price":
                new_id = f"tmp-{uuid.uuid4()}"
            else:
                new_id = self.tx.store.next_id(r["type"])
            if (r["type"], r["id"]) in self.idmap:
                raise ApiError(
                    400,
                    "request data constraint",
                    "The included item identifier is not unique.",
                    pointer=f"{ptr}/id",
                )
            self.idmap[(r["type"], r["id"])] = new_id
            out.append((j, item, (r["type"], new_id), True))
        return out

    # ---- records ----------------------------------------------------------------------------------------
    def _blank(self, res: Resource, id_: str) -> Record:
        return blank_record(res, id_)

    def _new_record(self, res: Resource, data: dict[str, Any], ptr: str) -> Record:
        given = data.get("id")
        if res.id_kind == "code":
            if given in (None, ""):
                raise not_blank(f"{ptr}/id")
            new_id = str(given)
            if self.tx.get(res.type, new_id) is not None:
                raise ApiError(409, "conflict constraint", "The entity already exists.", pointer=f"{ptr}/id")
        elif res.id_kind == "uuid":
            new_id = str(uuid.uuid4())
        elif res.id_kind == "price":
            new_id = f"tmp-{uuid.uuid4()}"
        else:
            new_id = self.tx.store.next_id(res.type)
        if given is not None and res.id_kind != "code":
            self.idmap[(res.type, str(given))] = new_id
        rec = self._blank(res, new_id)
        self.tx.add(res.type, rec, ptr)
        self._apply(res, rec, data, True, ptr)
        return rec

    def _assign_price_id(self, res: Resource, rec: Record, ptr: str) -> Record:
        old = (res.type, rec["id"])
        price_list = rec["relationships"].get("priceList")
        if not price_list:
            return rec  # validation reports the missing price list
        new_id = f"{uuid.uuid4()}-{price_list['id']}"
        self.tx.staged.pop(old)
        self.tx.originals.pop(old, None)
        self.tx.created.remove(old)
        self.tx.pointers.pop(old, None)
        rec["id"] = new_id
        self.tx.add(res.type, rec, ptr)
        for k, v in list(self.idmap.items()):
            if k[0] == res.type and v == old[1]:
                self.idmap[k] = new_id
        return rec

    def _resolve(self, r: dict[str, str]) -> dict[str, str]:
        mapped = self.idmap.get((r["type"], r["id"]))
        return {"type": r["type"], "id": mapped} if mapped is not None else r

    def _apply(self, res: Resource, rec: Record, item: dict[str, Any], is_new: bool, ptr: str) -> None:
        attrs = item.get("attributes") or {}
        if not isinstance(attrs, dict):
            raise ApiError(
                400,
                "request data constraint",
                "The 'attributes' property should be an object.",
                pointer=f"{ptr}/attributes",
            )
        for name, value in attrs.items():
            apointer = f"{ptr}/attributes/{name}"
            a = res.attr(name)
            if a is None:
                if res.loose:
                    rec["attributes"][name] = value
                    continue
                self.tx.errors.append(
                    ApiError(
                        400,
                        "extra fields constraint",
                        f'This form should not contain extra fields: "{name}".',
                        pointer=apointer,
                    )
                )
                continue
            if a.read_only or (a.create_only and not is_new):
                continue
            try:
                rec["attributes"][name] = input_value(a, value, apointer)
            except ApiError as e:
                self.tx.errors.append(e)
        rels = item.get("relationships") or {}
        if not isinstance(rels, dict):
            raise ApiError(
                400,
                "request data constraint",
                "The 'relationships' property should be an object.",
                pointer=f"{ptr}/relationships",
            )
        for name, body in rels.items():
            rpointer = f"{ptr}/relationships/{name}"
            r = res.rel(name)
            if r is None and not res.loose:
                self.tx.errors.append(
                    ApiError(
                        400,
                        "extra fields constraint",
                        f'This form should not contain extra fields: "{name}".',
                        pointer=rpointer,
                    )
                )
                continue
            if not isinstance(body, dict) or "data" not in body:
                raise ApiError(
                    400,
                    "request data constraint",
                    "The relationship should have 'data' property.",
                    pointer=rpointer,
                )
            value = body["data"]
            many = r.many if r is not None else isinstance(value, list)
            dpointer = f"{rpointer}/data"
            if many:
                if not isinstance(value, list):
                    raise ApiError(
                        400,
                        "request data constraint",
                        "The 'data' property should be an array.",
                        pointer=dpointer,
                    )
                refs = [self._resolve(_check_ref(v, f"{dpointer}/{i}")) for i, v in enumerate(value)]
                stored: Any = refs
            else:
                if value is not None and not isinstance(value, dict):
                    raise ApiError(
                        400,
                        "request data constraint",
                        "The 'data' property should be an object or null.",
                        pointer=dpointer,
                    )
                refs = [] if value is None else [self._resolve(_check_ref(value, dpointer))]
                stored = refs[0] if refs else None
            if r is None:
                rec["relationships"][name] = stored
                continue
            bad = [x for x in refs if r.target is not None and x["type"] != r.target]
            if bad:
                self.tx.errors.append(
                    ApiError(
                        400,
                        "form constraint",
                        f'The "{bad[0]["type"]}" entity type is not acceptable; expected "{r.target}".',
                        pointer=dpointer,
                    )
                )
                continue
            if r.read_only or (r.create_only and not is_new):
                continue
            if res.type == "orders" and name == "status" and not self.options.external_status_management:
                continue  # ignored unless External Status Management is enabled
            if r.inverse:
                self.tx.pending_inverse.append((res.type, rec["id"], r, refs, dpointer))
            else:
                rec["relationships"][name] = stored

    def _write_inverse(
        self, type_: str, id_: str, rel: Rel, refs: list[dict[str, str]], pointer: str
    ) -> None:
        assert rel.inverse is not None
        owner_type, owner_rel = rel.inverse
        spec = REGISTRY[owner_type].rel(owner_rel)
        assert spec is not None
        current = {o["id"] for o in self.tx.owners_of(owner_type, owner_rel, id_)}
        wanted = [x["id"] for x in refs]
        for oid in current - set(wanted):
            owner = self.tx.edit(owner_type, oid)
            if spec.many:
                owner["relationships"][owner_rel] = [
                    x for x in owner["relationships"].get(owner_rel) or [] if x["id"] != id_
                ]
            else:
                owner["relationships"][owner_rel] = None
        for oid in wanted:
            if oid in current:
                continue
            if self.tx.get(owner_type, oid) is None:
                self.tx.errors.append(
                    ApiError(400, "form constraint", "The entity does not exist.", pointer=pointer)
                )
                continue
            owner = self.tx.edit(owner_type, oid)
            if spec.many:
                owner["relationships"][owner_rel] = (owner["relationships"].get(owner_rel) or []) + [
                    ref(type_, id_)
                ]
            else:
                owner["relationships"][owner_rel] = ref(type_, id_)

    def change_relationship(
        self, type_: str, id_: str, rel: Rel, refs: list[dict[str, str]], how: str
    ) -> None:
        """PATCH (replace) / POST (add) / DELETE (remove) on /{type}/{id}/relationships/{rel}."""
        rec = self.tx.edit(type_, id_)
        if rel.many:
            current = self.tx.rel_value(REGISTRY[type_], rel, rec)
            if how == "add":
                refs = current + [x for x in refs if x not in current]
            elif how == "remove":
                refs = [x for x in current if x not in refs]
        if rel.inverse:
            self._write_inverse(type_, id_, rel, refs, "/data")
        elif rel.many:
            rec["relationships"][rel.name] = refs
        else:
            rec["relationships"][rel.name] = refs[0] if refs else None
        self.finish()

    # ---- upsert ----------------------------------------------------------------------------------------
    def _upsert_match(
        self, res: Resource, data: dict[str, Any], upsert: Any, mode: str, url_id: str | None, ptr: str
    ) -> str | None:
        mpointer = f"{ptr}/meta/upsert"
        if upsert is True or upsert == ["id"]:
            if not res.upsert_by_id:
                raise ApiError(
                    400,
                    "value constraint",
                    "The upsert operation cannot use the entity identifier to find an entity.",
                    pointer=mpointer,
                )
            id_ = url_id if mode == "update" and url_id is not None else data.get("id")
            if id_ is None:
                raise not_blank(f"{ptr}/id")
            return str(id_) if self.tx.get(res.type, str(id_)) is not None else None
        if not isinstance(upsert, list) or not all(isinstance(f, str) for f in upsert):
            raise ApiError(
                400,
                "value constraint",
                "This value should be a boolean or an array of strings.",
                pointer=mpointer,
            )
        if mode == "update":
            raise ApiError(
                400,
                "value constraint",
                "Only the entity identifier can be used by the upsert operation.",
                pointer=mpointer,
            )
        if tuple(upsert) not in res.upsert_fields:
            raise ApiError(
                400,
                "value constraint",
                f'The upsert operation cannot use fields "{", ".join(upsert)}" to find an entity.',
                pointer=mpointer,
            )
        attrs = data.get("attributes") or {}
        wanted: dict[str, Any] = {}
        for f in upsert:
            a = res.attr(f)
            if a is None or attrs.get(f) is None:
                raise not_blank(f"{ptr}/attributes/{f}")
            wanted[f] = input_value(a, attrs[f], f"{ptr}/attributes/{f}")
        matches = [
            i
            for i, rec in self.tx.records(res.type)
            if all(rec["attributes"].get(f) == v for f, v in wanted.items())
        ]
        if len(matches) > 1:
            raise ApiError(
                409,
                "conflict constraint",
                "The upsert operation founds more than one entity.",
                pointer=mpointer,
            )
        return matches[0] if matches else None


# -------------------------------------------------------------------------------------------------- delete


def delete_record(tx: Tx, type_: str, id_: str, pointer: str = "/data", cascade: bool = False) -> None:
    rec = tx.get(type_, id_)
    if rec is None:
        return
    res = REGISTRY[type_]
    if not cascade and "delete" not in res.actions:
        raise ApiError(405, "action not allowed exception", "The 'delete' action is not allowed.")
    if res.webhook_alias and tx.serializer is not None:
        tx.deleted.append(Event(res.webhook_alias, "deleted", type_, id_, tx.serializer(tx, type_, rec)))
    # references held by other records
    for other_type, other_res in REGISTRY.items():
        for r in other_res.rels:
            if r.inverse or (r.target is not None and r.target != type_):
                continue
            for orec in tx.owners_of(other_type, r.name, id_, type_):
                oid = orec["id"]
                if (other_type, oid) == (type_, id_):
                    continue
                if r.on_delete == "restrict":
                    raise ApiError(
                        409,
                        "conflict constraint",
                        f"The entity is referenced by {other_type} {oid} ({r.name}) and cannot be deleted.",
                    )
                if r.on_delete == "cascade" and not r.many:
                    delete_record(tx, other_type, oid, pointer, cascade=True)
                    continue
                edited = tx.edit(other_type, oid)
                if r.many:
                    edited["relationships"][r.name] = [
                        v
                        for v in edited["relationships"][r.name]
                        if not (v["type"] == type_ and v["id"] == id_)
                    ]
                else:
                    edited["relationships"][r.name] = None
    rec = tx.get(type_, id_)
    if rec is None:
        return
    owned: list[dict[str, str]] = []
    for r in res.rels:
        if r.owns and r.inverse is None:
            value = rec["relationships"].get(r.name)
            owned.extend(value if isinstance(value, list) else [value] if value else [])
    key = (type_, id_)
    if key not in tx.originals:
        tx.originals[key] = tx.store.data[type_].get(id_)
    tx.staged[key] = None
    for target in owned:
        if target["type"] in REGISTRY:
            delete_record(tx, target["type"], target["id"], pointer, cascade=True)


# -------------------------------------------------------------------------------------------------- hooks


def run_hooks(writer: Writer) -> None:
    tx = writer.tx
    done: set[Key] = set()
    for _ in range(10):
        # orders are re-prepared when one of their lines changes (totals)
        for key, rec in list(tx.staged.items()):
            if key[0] == "orderlineitems" and rec is not None:
                for order in tx.owners_of("orders", "lineItems", key[1]):
                    okey = ("orders", order["id"])
                    if okey not in tx.staged:
                        tx.edit(*okey)
                    elif okey in done and key not in done:
                        done.discard(okey)
        pending = [k for k, v in tx.staged.items() if v is not None and k not in done]
        if not pending:
            return
        pending.sort(key=lambda k: (_order_index(k[0]), id_sort_key(k[1])))
        for key in pending:
            done.add(key)
            rec = tx.staged.get(key)
            hook = HOOKS.get(key[0])
            if rec is not None and hook is not None:
                hook(writer, key, rec, tx.is_new(key), tx.pointer(key))


def _product_units(tx: Tx, product_id: str) -> dict[str, Record]:
    out = {}
    for prec in tx.owners_of("productunitprecisions", "product", product_id):
        unit = prec["relationships"].get("unit")
        if unit:
            out[unit["id"]] = prec
    return out


def _product_name(tx: Tx, product: Record) -> str | None:
    for name_ref in product["relationships"].get("names") or []:
        name = tx.get("productnames", name_ref["id"])
        if name and not (name["relationships"].get("localization")):
            value = name["attributes"].get("string")
            return str(value) if value is not None else None
    return None


def _find_product_by_sku(tx: Tx, sku: str) -> Record | None:
    wanted = sku.strip().upper()
    for _, rec in tx.records("products"):
        if str(rec["attributes"].get("sku") or "").upper() == wanted:
            return rec
    return None


def _resolve_product(writer: Writer, rec: Record, ptr: str, sku_attr: str = "productSku") -> Record | None:
    tx = writer.tx
    attrs, rels = rec["attributes"], rec["relationships"]
    product = tx.get("products", rels["product"]["id"]) if rels.get("product") else None
    if product is None and attrs.get(sku_attr):
        product = _find_product_by_sku(tx, attrs[sku_attr])
        if product is not None:
            rels["product"] = ref("products", product["id"])
    if product is not None and not attrs.get(sku_attr):
        attrs[sku_attr] = product["attributes"]["sku"]
    return product


def _check_unit(
    writer: Writer, product: Record | None, unit: dict[str, str] | None, quantity: Any, ptr: str
) -> None:
    if product is None or not unit:
        return
    units = _product_units(writer.tx, product["id"])
    if units and unit["id"] not in units:
        writer.tx.errors.append(
            ApiError(
                400,
                "product unit exists constraint",
                f'The product unit "{unit["id"]}" is not allowed for the product "{product["attributes"]["sku"]}".',
                pointer=f"{ptr}/relationships/productUnit/data",
            )
        )
        return
    prec = units.get(unit["id"])
    if prec is not None and quantity is not None:
        places = -Decimal(quantity).as_tuple().exponent  # type: ignore[operator]
        if places > int(prec["attributes"].get("precision") or 0):
            writer.tx.errors.append(
                ApiError(
                    400,
                    "quantity unit precision constraint",
                    f'The precision for the unit "{unit["id"]}" is not valid.',
                    pointer=f"{ptr}/attributes/quantity",
                )
            )


def _positive(writer: Writer, rec: Record, name: str, ptr: str, allow_zero: bool = False) -> None:
    value = rec["attributes"].get(name)
    if value is None:
        return
    d = Decimal(value)
    if d < 0 or (d == 0 and not allow_zero):
        writer.tx.errors.append(
            ApiError(
                400,
                "greater than constraint" if not allow_zero else "range constraint",
                "This value should be greater than 0."
                if not allow_zero
                else "This value should be 0 or more.",
                pointer=f"{ptr}/attributes/{name}",
            )
        )


def hook_productunits(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    a = rec["attributes"]
    for name, value in (
        ("label", key[1]),
        ("shortLabel", key[1]),
        ("pluralLabel", f"{key[1]}s"),
        ("shortPluralLabel", f"{key[1]}s"),
    ):
        if a.get(name) is None:
            a[name] = value


def hook_products(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    tx = writer.tx
    if is_new and _product_name(tx, rec) is None:
        tx.errors.append(
            ApiError(
                400,
                "not blank constraint",
                "The product should have a default name.",
                pointer=f"{ptr}/relationships/names/data",
            )
        )
    precisions = tx.owners_of("productunitprecisions", "product", key[1])
    primary = rec["relationships"].get("primaryUnitPrecision")
    if primary:
        prec = tx.get("productunitprecisions", primary["id"])
        if prec is None:
            return  # validation reports it
        owner = prec["relationships"].get("product")
        if owner is None:
            tx.edit("productunitprecisions", primary["id"])["relationships"]["product"] = ref(
                "products", key[1]
            )
            prec = tx.get("productunitprecisions", primary["id"])
            assert prec is not None
        elif owner["id"] != key[1]:
            tx.errors.append(
                ApiError(
                    400,
                    "primary product unit precision constraint",
                    "The primary unit precision must be one of the product's unit precisions.",
                    pointer=f"{ptr}/relationships/primaryUnitPrecision/data",
                )
            )
            return
        if Decimal(prec["attributes"].get("conversionRate") or "1") != 1:
            tx.edit("productunitprecisions", primary["id"])["attributes"]["conversionRate"] = "1"
    elif precisions:
        rec["relationships"]["primaryUnitPrecision"] = ref("productunitprecisions", precisions[0]["id"])


def _touches_product(rel_name: str) -> Callable[[Writer, Key, Record, bool, str], None]:
    """A changed name or description changes its product: the product's `updatedAt` moves (so
    `filter[updatedAt][gt]` finds it) and `product.updated` fires."""

    def hook(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
        tx = writer.tx
        original = tx.originals.get(key)
        if original is not None and not _changed(original, rec):
            return
        for product in tx.owners_of("products", rel_name, key[1]):
            pkey = ("products", product["id"])
            if pkey not in tx.staged:
                tx.edit(*pkey)
            tx.retouched.add(pkey)

    return hook


def hook_productunitprecisions(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    tx = writer.tx
    product, unit = rec["relationships"].get("product"), rec["relationships"].get("unit")
    precision = rec["attributes"].get("precision")
    if precision is not None and precision < 0:
        tx.errors.append(
            ApiError(
                400,
                "range constraint",
                "This value should be 0 or more.",
                pointer=f"{ptr}/attributes/precision",
            )
        )
    _positive(writer, rec, "conversionRate", ptr)
    if rec["attributes"].get("conversionRate") is None:
        rec["attributes"]["conversionRate"] = "1"
    if not product or not unit:
        return
    for other in tx.owners_of("productunitprecisions", "product", product["id"]):
        if other["id"] != key[1] and (other["relationships"].get("unit") or {}).get("id") == unit["id"]:
            tx.errors.append(
                ApiError(
                    400,
                    "unique entity constraint",
                    f'The product already has a precision for the unit "{unit["id"]}".',
                    pointer=f"{ptr}/relationships/unit/data",
                )
            )
            return
    if is_new and not any(True for _ in _levels_of(tx, key[1])):
        level_id = tx.store.next_id("inventorylevels")
        tx.add(
            "inventorylevels",
            {
                "id": level_id,
                "attributes": {"quantity": "0", "externalId": None},
                "relationships": {
                    "product": ref("products", product["id"]),
                    "productUnitPrecision": ref("productunitprecisions", key[1]),
                    "organization": ref("organizations", "1"),
                },
            },
        )


def _levels_of(tx: Tx, precision_id: str) -> Iterator[Record]:
    yield from tx.owners_of("inventorylevels", "productUnitPrecision", precision_id)


def hook_inventorylevels(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    # Oro's InventoryLevel constraints on quantity: NotBlank, Range(min 0), Decimal (InventoryBundle
    # validation.yml); no check against the unit's precision.
    if rec["attributes"].get("quantity") is None:
        writer.tx.errors.append(not_blank(f"{ptr}/attributes/quantity"))
    _positive(writer, rec, "quantity", ptr, allow_zero=True)


def hook_pricelists(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    currencies = rec["attributes"].get("priceListCurrencies")
    if currencies is None:
        return
    if not currencies or not all(isinstance(c, str) and re.fullmatch(r"[A-Z]{3}", c) for c in currencies):
        writer.tx.errors.append(
            ApiError(
                400,
                "currency constraint",
                "This value is not a valid currency.",
                pointer=f"{ptr}/attributes/priceListCurrencies",
            )
        )


def hook_productprices(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    tx = writer.tx
    rels, attrs = rec["relationships"], rec["attributes"]
    _positive(writer, rec, "quantity", ptr, allow_zero=True)
    _positive(writer, rec, "value", ptr, allow_zero=True)
    price_list = tx.get("pricelists", rels["priceList"]["id"]) if rels.get("priceList") else None
    if price_list is not None and attrs.get("currency") is not None:
        if attrs["currency"] not in (price_list["attributes"].get("priceListCurrencies") or []):
            tx.errors.append(
                ApiError(
                    400,
                    "product price currency constraint",
                    "Currency is not valid for the price list.",
                    pointer=f"{ptr}/attributes/currency",
                )
            )
    product = tx.get("products", rels["product"]["id"]) if rels.get("product") else None
    unit = rels.get("unit")
    if product is not None and unit:
        if unit["id"] not in _product_units(tx, product["id"]):
            tx.errors.append(
                ApiError(
                    400,
                    "product price allowed units constraint",
                    f'Unit "{unit["id"]}" is not allowed for product "{product["attributes"]["sku"]}".',
                    pointer=f"{ptr}/relationships/unit/data",
                )
            )
    if price_list is None or product is None or not unit or attrs.get("quantity") is None:
        return
    # the product's prices through the reverse index: no scan of every price of every list
    for other in tx.owners_of("productprices", "product", product["id"]):
        if other["id"] == key[1]:
            continue
        o_rels, o_attrs = other["relationships"], other["attributes"]
        if (
            o_rels["priceList"]["id"] == price_list["id"]
            and o_rels["product"]["id"] == product["id"]
            and o_rels["unit"]["id"] == unit["id"]
            and o_attrs["currency"] == attrs["currency"]
            and Decimal(o_attrs["quantity"]) == Decimal(attrs["quantity"])
        ):
            tx.errors.append(
                ApiError(
                    400,
                    "unique product prices constraint",
                    'Product has duplication of product prices. Set of fields "PriceList", "Quantity", "Unit" and '
                    '"Currency" should be unique.',
                    pointer=ptr,
                )
            )
            return


def hook_customers(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    tx = writer.tx
    seen = {key[1]}
    parent = rec["relationships"].get("parent")
    while parent:
        if parent["id"] in seen:
            tx.errors.append(
                ApiError(
                    400,
                    "circular customer reference constraint",
                    "The parent customer cannot be the customer itself or one of its children.",
                    pointer=f"{ptr}/relationships/parent/data",
                )
            )
            return
        seen.add(parent["id"])
        p = tx.get("customers", parent["id"])
        parent = p["relationships"].get("parent") if p else None


def _email_ok(writer: Writer, rec: Record, ptr: str) -> None:
    email = rec["attributes"].get("email")
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        writer.tx.errors.append(
            ApiError(
                400,
                "email constraint",
                "This value is not a valid email address.",
                pointer=f"{ptr}/attributes/email",
            )
        )


def hook_customerusers(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    _email_ok(writer, rec, ptr)
    if rec["attributes"].get("enabled") and not rec["relationships"].get("userRoles"):
        writer.tx.errors.append(
            ApiError(
                400,
                "not blank constraint",
                "An enabled customer user should have at least one role.",
                pointer=f"{ptr}/relationships/userRoles/data",
            )
        )


ADDRESS_TYPES = ("billing", "shipping")


def hook_customeraddresses(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    """CP CustomerAddress: organization or first and last name; `types` entries {addressType, default} (both
    mandatory, a known type, a boolean); one primary address per customer (a new primary clears the others)."""
    tx, attrs = writer.tx, rec["attributes"]
    if not attrs.get("organization") and not (attrs.get("firstName") and attrs.get("lastName")):
        for name, detail in (
            ("organization", "Organization or First Name and Last Name should not be blank."),
            ("firstName", "First Name and Last Name or Organization should not be blank."),
        ):
            tx.errors.append(
                ApiError(400, "name or organization constraint", detail, pointer=f"{ptr}/attributes/{name}")
            )
    seen: set[str] = set()
    for index, entry in enumerate(attrs.get("types") or []):
        tpointer = f"{ptr}/attributes/types/{index}"
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            tx.errors.append(ApiError(400, "form constraint", "This value is not valid.", pointer=tpointer))
            continue
        for field_name, ok in (
            ("default", lambda v: isinstance(v, bool)),
            ("addressType", lambda v: v in ADDRESS_TYPES and v not in seen),
        ):
            if entry.get(field_name) is None:
                detail = "This value is mandatory."
            elif not ok(entry[field_name]):
                detail = "This value is not valid."
            else:
                continue
            tx.errors.append(ApiError(400, "form constraint", detail, pointer=f"{tpointer}/{field_name}"))
        if isinstance(entry.get("addressType"), str):
            seen.add(entry["addressType"])
    customer = rec["relationships"].get("customer")
    if attrs.get("primary") and customer:
        for other in tx.owners_of("customeraddresses", "customer", customer["id"]):
            if other["id"] != key[1] and other["attributes"].get("primary"):
                tx.edit("customeraddresses", other["id"])["attributes"]["primary"] = False


def _hook_price_list_relation(owner: str) -> Callable[[Writer, Key, Record, bool, str], None]:
    """OC validation.yml: UniqueEntity [priceList, website, customer|customerGroup]."""

    def hook(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
        rels = rec["relationships"]
        wanted = [rels.get(n) for n in ("priceList", "website", owner)]
        if None in wanted:
            return
        for oid, other in writer.tx.records(key[0]):
            if (
                oid != key[1]
                and [other["relationships"].get(n) for n in ("priceList", "website", owner)] == wanted
            ):
                writer.tx.errors.append(
                    ApiError(
                        400,
                        "unique entity constraint",
                        "This value is already used.",
                        pointer=f"{ptr}/relationships/priceList/data",
                    )
                )
                return

    return hook


def hook_orderlineitems(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    tx = writer.tx
    attrs, rels = rec["attributes"], rec["relationships"]
    product = _resolve_product(writer, rec, ptr)
    if not attrs.get("productSku") and not attrs.get("freeFormProduct"):
        tx.errors.append(not_blank(f"{ptr}/attributes/productSku"))
    elif product is None and not attrs.get("freeFormProduct"):
        tx.errors.append(
            ApiError(
                400,
                "product not found constraint",
                f'Product with SKU "{attrs.get("productSku")}" does not exist.',
                pointer=f"{ptr}/relationships/product/data",
            )
        )
    if product is not None and attrs.get("productName") is None:
        attrs["productName"] = _product_name(tx, product)
    unit = rels.get("productUnit")
    attrs["productUnitCode"] = unit["id"] if unit else None
    _positive(writer, rec, "quantity", ptr)
    _check_unit(writer, product, unit, attrs.get("quantity"), ptr)
    is_kit = product is not None and product["attributes"].get("productType") == "kit"
    if attrs.get("value") is None and not is_kit:
        tx.errors.append(not_blank(f"{ptr}/attributes/value"))
    _positive(writer, rec, "value", ptr, allow_zero=True)
    basis = (
        f"{(rels.get('product') or {}).get('id')}|{attrs.get('productSku')}|{attrs.get('productUnitCode')}"
    )
    attrs["checksum"] = hashlib.sha1(basis.encode(), usedforsecurity=False).hexdigest()


def compute_order_totals(tx: Tx, rec: Record, taxation: dict[str, Any] | None = None) -> None:
    attrs = rec["attributes"]
    subtotal = Decimal(0)
    for line_ref in rec["relationships"].get("lineItems") or []:
        line = tx.get("orderlineitems", line_ref["id"])
        if line is None:
            continue
        value, qty = line["attributes"].get("value"), line["attributes"].get("quantity")
        if value is not None and qty is not None:
            subtotal += Decimal(value) * Decimal(qty)
    # A discount of type amount carries its amount; one of type percent takes that share of the subtotal.
    discounts = Decimal(0)
    for discount_ref in rec["relationships"].get("discounts") or []:
        discount = tx.get("orderdiscounts", discount_ref["id"])
        if discount is None:
            continue
        d = discount["attributes"]
        if str(d.get("orderDiscountType", "")).endswith("_percent") and d.get("percent") is not None:
            amount = money((subtotal * Decimal(d["percent"]) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP))
            d["amount"] = amount
        else:
            amount = d.get("amount") or "0"
        discounts += Decimal(amount)
    shipping_raw = attrs.get("overriddenShippingCostAmount")
    if shipping_raw is None:
        shipping_raw = attrs.get("estimatedShippingCostAmount")
    shipping = Decimal(shipping_raw) if shipping_raw is not None else Decimal(0)
    tax = _order_tax(tx, rec, shipping, taxation) if taxation is not None else None
    attrs["subtotalValue"] = money(subtotal)
    attrs["totalDiscountsAmount"] = money(discounts)
    attrs["subtotalWithDiscountsValue"] = money(subtotal - discounts)
    attrs["totalValue"] = money(subtotal - discounts + shipping + (tax or 0))
    rows = [("subtotal", "Subtotal", subtotal, 1)]
    if discounts:
        rows.append(("discount", "Discount", discounts, -1))
    if shipping_raw is not None:
        rows.append(("shipping_cost", "Shipping", shipping, 1))
    if tax is not None:
        rows.append(("tax", "Tax", tax, 1))
    _write_subtotals(tx, rec, rows)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _order_tax(tx: Tx, rec: Record, shipping: Decimal, taxation: dict[str, Any]) -> Decimal:
    """Oro's tax for the order: each line's row total at its product tax code's rate, to the cent, plus the
    shipping cost's tax."""
    rates = taxation.get("rates") or {}
    tax = _cents(shipping * Decimal(str(taxation.get("shipping_percent") or 0)) / 100)
    for line_ref in rec["relationships"].get("lineItems") or []:
        line = tx.get("orderlineitems", line_ref["id"])
        if line is None:
            continue
        value, qty = line["attributes"].get("value"), line["attributes"].get("quantity")
        product_ref = line["relationships"].get("product")
        product = tx.get("products", product_ref["id"]) if product_ref else None
        code_ref = product["relationships"].get("taxCode") if product else None
        code = tx.get("producttaxcodes", code_ref["id"]) if code_ref else None
        percent = rates.get(code["attributes"].get("code")) if code else None
        if value is not None and qty is not None and percent is not None:
            tax += _cents(Decimal(value) * Decimal(qty) * Decimal(str(percent)) / 100)
    return tax


def _write_subtotals(tx: Tx, rec: Record, rows: list[tuple[str, str, Decimal, int]]) -> None:
    """The order's `ordersubtotals` rows, rewritten whenever its totals are."""
    currency = rec["attributes"].get("currency")
    wanted = {f"{rec['id']}-{kind}" for kind, *_ in rows}
    for kind, label, amount, sign in rows:
        id_ = f"{rec['id']}-{kind}"
        attributes = {
            "orderSubtotalType": kind,
            "label": label,
            "amount": money(amount),
            "signedAmount": money(amount * sign),
            "currency": currency,
            "visible": True,
            "data": None,
        }
        relationships = {"order": ref("orders", rec["id"]), "priceList": None}
        if tx.get("ordersubtotals", id_) is None:
            tx.add("ordersubtotals", {"id": id_, "attributes": attributes, "relationships": relationships})
        else:
            existing = tx.edit("ordersubtotals", id_)
            existing["attributes"].update(attributes)
    for kind in ("subtotal", "discount", "shipping_cost", "tax"):
        id_ = f"{rec['id']}-{kind}"
        if id_ not in wanted and tx.get("ordersubtotals", id_) is not None:
            delete_record(tx, "ordersubtotals", id_)


def hook_orders(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    tx = writer.tx
    attrs, rels = rec["attributes"], rec["relationships"]
    if is_new:
        if rels.get("internalStatus") is None:
            rels["internalStatus"] = ref("orderinternalstatuses", writer.options.default_internal_status)
        if rels.get("shippingStatus") is None:
            rels["shippingStatus"] = ref("ordershippingstatuses", "not_shipped")
        if not attrs.get("identifier"):
            attrs["identifier"] = key[1]
    parent = rels.get("parent")
    if parent and parent["id"] == key[1]:
        tx.errors.append(
            ApiError(
                400,
                "form constraint",
                "An order cannot be its own parent.",
                pointer=f"{ptr}/relationships/parent/data",
            )
        )
    compute_order_totals(tx, rec, writer.options.taxation)


def hook_quotes(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    if is_new:
        rec["attributes"]["identifier"] = key[1]
        rec["attributes"]["guestAccessId"] = str(uuid.uuid4())
        if rec["relationships"].get("internalStatus") is None:
            rec["relationships"]["internalStatus"] = ref("quoteinternalstatuses", "draft")


def hook_quoteproducts(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    _resolve_product(writer, rec, ptr)


def hook_unit_code(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    unit = rec["relationships"].get("productUnit")
    rec["attributes"]["productUnitCode"] = unit["id"] if unit else None
    _positive(writer, rec, "quantity", ptr)


def hook_rfqs(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    _email_ok(writer, rec, ptr)
    if is_new:
        rec["relationships"]["internal_status"] = ref("rfqinternalstatuses", "open")
        rec["relationships"]["customer_status"] = ref("rfqcustomerstatuses", "submitted")


WEBHOOK_RECORD_TOPIC = re.compile(r"^(" + "|".join(WEBHOOK_ENTITIES) + r")\.(updated|deleted)\.\d+$")


def hook_webhooks(writer: Writer, key: Key, rec: Record, is_new: bool, ptr: str) -> None:
    tx = writer.tx
    url = rec["attributes"].get("notificationUrl")
    if url is not None and not re.match(r"^https?://[^\s/]+", url):
        tx.errors.append(
            ApiError(
                400,
                "url constraint",
                "This value is not a valid URL.",
                pointer=f"{ptr}/attributes/notificationUrl",
            )
        )
    topic = rec["relationships"].get("topic")
    if topic and tx.get("webhooktopics", topic["id"]) is None and not WEBHOOK_RECORD_TOPIC.match(topic["id"]):
        tx.errors.append(
            ApiError(
                400,
                "valid webhook topic constraint",
                f'The topic "{topic["id"]}" is not valid.',
                pointer=f"{ptr}/relationships/topic/data",
            )
        )


HOOKS: dict[str, Callable[[Writer, Key, Record, bool, str], None]] = {
    "productunits": hook_productunits,
    "productnames": _touches_product("names"),
    "productdescriptions": _touches_product("descriptions"),
    "products": hook_products,
    "productunitprecisions": hook_productunitprecisions,
    "inventorylevels": hook_inventorylevels,
    "pricelists": hook_pricelists,
    "productprices": hook_productprices,
    "customers": hook_customers,
    "customerusers": hook_customerusers,
    "customeraddresses": hook_customeraddresses,
    "pricelisttocustomers": _hook_price_list_relation("customer"),
    "pricelisttocustomergroups": _hook_price_list_relation("customerGroup"),
    "orderlineitems": hook_orderlineitems,
    "orders": hook_orders,
    "quotes": hook_quotes,
    "quoteproducts": hook_quoteproducts,
    "quoteproductoffers": hook_unit_code,
    "rfqs": hook_rfqs,
    "rfqproducts": hook_quoteproducts,
    "rfqproductitems": hook_unit_code,
    "webhooks": hook_webhooks,
}


def validate_record(tx: Tx, res: Resource, rec: Record, ptr: str, errors: list[ApiError]) -> None:
    for a in res.attrs:
        value = rec["attributes"].get(a.name)
        if a.required and (value is None or value == "" or value == []):
            errors.append(not_blank(f"{ptr}/attributes/{a.name}"))
        original = tx.originals.get((res.type, rec["id"]))
        unchanged = original is not None and original["attributes"].get(a.name) == value
        if a.unique and value is not None and not unchanged:  # a stored value was checked when written
            for oid, other in tx.records(res.type):
                if oid != rec["id"] and other["attributes"].get(a.name) == value:
                    errors.append(
                        ApiError(
                            400,
                            "unique entity constraint",
                            "This value is already used.",
                            pointer=f"{ptr}/attributes/{a.name}",
                        )
                    )
                    break
    for r in res.rels:
        if r.inverse:
            continue
        value = rec["relationships"].get(r.name)
        dpointer = f"{ptr}/relationships/{r.name}/data"
        if r.required and (value is None or value == []):
            errors.append(not_blank(dpointer))
            continue
        if res.type == "webhooks" and r.name == "topic":
            continue  # per-record topics are not listed; checked by the hook
        for target in value if isinstance(value, list) else [value] if value else []:
            if target["type"] in REGISTRY and tx.get(target["type"], target["id"]) is None:
                errors.append(
                    ApiError(400, "form constraint", "The entity does not exist.", pointer=dpointer)
                )
                break


# -------------------------------------------------------------------------------------------------- reads


def resource_object(
    tx: Tx,
    type_: str,
    rec: Record,
    api_url: str,
    fields: dict[str, set[str]] | None = None,
    links: bool = True,
) -> dict[str, Any]:
    res = REGISTRY[type_]
    wanted = (fields or {}).get(type_)
    obj: dict[str, Any] = {"type": type_, "id": rec["id"]}
    if links:
        obj["links"] = {"self": f"{api_url}/{type_}/{quote(rec['id'], safe='')}"}
    attrs: dict[str, Any] = {}
    for a in res.attrs:
        if a.write_only or (wanted is not None and a.name not in wanted):
            continue
        attrs[a.name] = output_value(a, rec["attributes"].get(a.name))
    if res.loose:
        for name, value in rec["attributes"].items():
            if name not in attrs and res.attr(name) is None and (wanted is None or name in wanted):
                attrs[name] = value
    rels: dict[str, Any] = {}
    for r in res.rels:
        if wanted is not None and r.name not in wanted:
            continue
        rels[r.name] = {"data": tx.rel_value(res, r, rec)}
    if res.loose:
        for name, value in rec["relationships"].items():
            if name not in rels and res.rel(name) is None and (wanted is None or name in wanted):
                rels[name] = {"data": value}
    if attrs or wanted is None:
        obj["attributes"] = attrs
    if rels:
        obj["relationships"] = rels
    return obj


def collect_included(
    tx: Tx, type_: str, recs: list[Record], paths: list[str], exclude: set[Key]
) -> list[tuple[str, Record]]:
    seen = set(exclude)
    out: list[tuple[str, Record]] = []
    for path in paths:
        frontier: list[tuple[str, Record]] = [(type_, r) for r in recs]
        for segment in path.split("."):
            nxt: list[tuple[str, Record]] = []
            for t, rec in frontier:
                res = REGISTRY[t]
                rel = res.rel(segment)
                if rel is None:
                    continue
                value = tx.rel_value(res, rel, rec)
                for target in value if isinstance(value, list) else [value] if value else []:
                    if target["type"] not in REGISTRY:
                        continue
                    trec = tx.get(target["type"], target["id"])
                    if trec is None:
                        continue
                    nxt.append((target["type"], trec))
                    key = (target["type"], target["id"])
                    if key not in seen:
                        seen.add(key)
                        out.append((target["type"], trec))
            frontier = nxt
    return out


def validate_include(type_: str, paths: list[str]) -> None:
    for path in paths:
        current: str | None = type_
        for segment in path.split("."):
            if current is None:
                break  # polymorphic: anything goes below
            rel = REGISTRY[current].rel(segment)
            if rel is None and not REGISTRY[current].loose:
                raise ApiError(
                    400,
                    "filter constraint",
                    f'The "{path}" relationship does not exist.',
                    parameter="include",
                )
            current = rel.target if rel is not None and rel.target in REGISTRY else None


CASE_INSENSITIVE = {("orders", "identifier"), ("orders", "poNumber"), ("products", "sku")}
TRUE_WORDS, FALSE_WORDS = {"true", "1", "yes"}, {"false", "0", "no"}


def _filter_value(tx: Tx, res: Resource, spec: Filt, id_: str, rec: Record) -> Any:
    if spec.getter is not None:
        return spec.getter(tx, id_, rec)
    path = spec.path or spec.name
    if path == "id":
        return id_
    rel = res.rel(path)
    if rel is not None:
        value = tx.rel_value(res, rel, rec)
        if isinstance(value, list):
            return [v["id"] for v in value]
        return value["id"] if value else None
    return rec["attributes"].get(path)


def _bad_value(expected: str, raw: str, parameter: str) -> ApiError:
    return ApiError(
        400, "unexpected value exception", f'Expected {expected} value. Given "{raw}".', parameter=parameter
    )


def _compile_filter(res: Resource, spec: Filt, expr: FilterExpr) -> Callable[[Any], bool]:
    kind, op, raw, param = spec.kind, expr.op, expr.value, expr.parameter
    if op not in spec.ops:
        raise ApiError(400, "filter constraint", f'The operator "{op}" is not supported.', parameter=param)
    if op == "exists":
        if raw.lower() not in TRUE_WORDS | FALSE_WORDS:
            raise _bad_value("boolean", raw, param)
        want = raw.lower() in TRUE_WORDS
        return lambda v: (v not in (None, [], "")) == want
    ci = (res.type, spec.name) in CASE_INSENSITIVE
    parts = raw.split(",") if spec.arrays and op in ("eq", "neq", "neq_or_null") else [raw]
    if len(parts) > 1 and op not in ("eq", "neq", "neq_or_null"):
        raise ApiError(
            400, "filter constraint", "The operator does not accept several values.", parameter=param
        )

    def conv(value: str) -> Any:
        if kind == "int":
            try:
                return int(value)
            except ValueError:
                raise _bad_value("integer", value, param) from None
        if kind in ("money", "number"):
            try:
                return to_decimal(value)
            except (InvalidOperation, ValueError):
                raise _bad_value("decimal", value, param) from None
        if kind == "bool":
            if value.lower() in TRUE_WORDS:
                return True
            if value.lower() in FALSE_WORDS:
                return False
            raise _bad_value("boolean", value, param)
        if kind == "datetime":
            try:
                return parse_dt_interval(value)
            except ValueError:
                raise _bad_value("datetime", value, param) from None
        return value.upper() if ci else value

    def norm(v: Any) -> Any:
        if v is None:
            return None
        if kind == "int":
            return int(v)
        if kind in ("money", "number"):
            return Decimal(str(v))
        if kind == "datetime":
            return parse_ts(v)
        if kind == "string" and ci:
            return str(v).upper()
        return v

    if op == "eq" and kind != "datetime" and not any(".." in part for part in parts):
        targets = {conv(part) for part in parts}  # plain equality: one set lookup per stored value

        def in_targets(value: Any) -> bool:
            if isinstance(value, list):
                return any(norm(v) in targets for v in value)
            return value is not None and norm(value) in targets

        return in_targets

    # matchers on one stored value
    matchers: list[Callable[[Any], bool]] = []
    for part in parts:
        if ".." in part and kind in ("int", "money", "number", "datetime"):
            lo_raw, _, hi_raw = part.partition("..")
            lo, hi = conv(lo_raw), conv(hi_raw)
            if kind == "datetime":
                lo, hi = lo[0], hi[1]
                matchers.append(_matcher("range_open", lo, hi))
            else:
                matchers.append(_matcher("range", lo, hi))
            continue
        target = conv(part)
        if kind == "datetime":
            start, end = target
            matchers.append(
                _matcher(
                    {"gt": "gte", "lt": "lt", "gte": "gte", "lte": "lt"}.get(op, "range_open"),
                    end if op in ("gt", "lte") else start,
                    end,
                )
            )
        else:
            matchers.append(_matcher({"neq": "eq", "neq_or_null": "eq"}.get(op, op), target, None))

    def any_match(values: list[Any]) -> bool:
        return any(m(v) for v in values for m in matchers)

    def pred(value: Any) -> bool:
        values = (
            [norm(v) for v in value] if isinstance(value, list) else ([] if value is None else [norm(value)])
        )
        if op == "eq" or op in ("gt", "gte", "lt", "lte"):
            return any_match(values)
        if op == "neq":
            return bool(values) and not any_match(values)
        if op == "neq_or_null":
            return not any_match(values)
        return False

    return pred


def _matcher(kind: str, a: Any, b: Any) -> Callable[[Any], bool]:
    """One comparison on a stored value: eq, gt, gte, lt, lte, range (inclusive), range_open [a, b)."""

    def match(v: Any) -> bool:
        if kind == "eq":
            return bool(v == a)
        if kind == "gt":
            return bool(v > a)
        if kind == "gte":
            return bool(v >= a)
        if kind == "lt":
            return bool(v < a)
        if kind == "lte":
            return bool(v <= a)
        if kind == "range":
            return bool(a <= v <= b)
        return bool(a <= v < b)

    return match


def _indexed_pool(tx: Tx, res: Resource, query: Query) -> list[Record] | None:
    """The only records an `=` filter on the id or on a stored relationship can match, found through the ids
    and the reverse-reference index instead of a scan (the filters still run on them); None: scan them all."""
    found: set[str] | None = None
    for expr in query.filters:
        spec = res.filt(expr.name)
        if spec is None or spec.getter is not None or expr.op != "eq" or ".." in expr.value:
            continue
        path = spec.path or spec.name
        values = expr.value.split(",") if spec.arrays else [expr.value]
        rel = res.rel(path)
        if path == "id":
            ids = {v.strip() for v in values}
            if spec.kind == "int":
                ids = {str(int(v)) for v in ids if v.lstrip("-").isdigit()}
            ids = {i for i in ids if tx.get(res.type, i) is not None}
        elif rel is not None and rel.inverse is None and rel.target is not None:
            ids = {o["id"] for v in values for o in tx.owners_of(res.type, rel.name, v, rel.target)}
        else:
            continue
        found = ids if found is None else found & ids
    if found is None:
        return None
    return [rec for rec in (tx.get(res.type, i) for i in found) if rec is not None]


def select(
    tx: Tx,
    type_: str,
    query: Query,
    options: Options,
    paged: bool = True,
    base: list[Record] | None = None,
) -> tuple[list[Record], int, bool]:
    """Filter, sort and page (`Options.page_size`). Returns (page, total, has_more)."""
    res = REGISTRY[type_]
    preds: list[tuple[Filt, Callable[[Any], bool]]] = []
    given = set()
    for expr in query.filters:
        spec = res.filt(expr.name)
        if spec is None:
            raise ApiError(
                400,
                "filter constraint",
                f'The filter "{expr.parameter}" is not supported.',
                parameter=expr.parameter,
            )
        given.add(spec.name)
        preds.append((spec, _compile_filter(res, spec, expr)))
    for spec in res.filters:
        if spec.required and spec.name not in given:
            raise ApiError(
                400,
                "filter constraint",
                f'The "{spec.name}" filter is required.',
                parameter=f"filter[{spec.name}]",
            )
    pool = base if base is not None else _indexed_pool(tx, res, query)
    if pool is None:
        pool = [rec for _, rec in tx.records(type_)]
    recs = [rec for rec in pool if all(p(_filter_value(tx, res, spec, rec["id"], rec)) for spec, p in preds)]
    sort = query.sort if query.sort is not None else [("id", False)]
    allowed = res.sortable or (
        {"id"} | {a.name for a in res.attrs if not a.write_only and a.kind not in ("array", "object")}
    )
    for name, _ in sort:
        if name not in allowed:
            raise ApiError(
                400, "sort constraint", f'Sorting by "{name}" field is not supported.', parameter="sort"
            )
    for name, desc in reversed(sort):
        attr = res.attr(name)

        def key(rec: Record, name: str = name, attr: Attr | None = attr) -> Any:
            if name == "id":
                return (0, id_sort_key(rec["id"]))
            v = rec["attributes"].get(name)
            if v is None:
                return (1, 0)
            if attr is not None and attr.kind in ("money", "number", "decstr"):
                return (0, Decimal(v))
            return (0, v)

        recs.sort(key=key, reverse=desc)
    total = len(recs)
    size = options.page_size(query.page_size)
    if not paged or size == -1:
        return recs, total, False
    start = (query.page_number - 1) * size
    page = recs[start : start + size]
    return page, total, start + size < total


# -------------------------------------------------------------------------------------------------- bulk seed


class SeedError(ValueError):
    pass


def bulk_products(store: Store, items: Any) -> dict[str, int]:
    """Control API seed for big catalogues: enabled simple products, each with a default name (the SKU unless
    `name` is given), its unit precisions (`units`: `[[code, conversionRate], ...]` or `[code, rate,
    precision]`; the first is the primary unit, its rate forced to 1 as Oro does; the precision defaults to
    the unit's `defaultPrecision`) and one inventory level per precision at quantity 0. Written straight into
    the store (no hooks, no webhooks), all or nothing; a unit code not yet known becomes a `productunits`
    record with precision 0. Returns the counts written. The caller holds the store's lock."""
    if not isinstance(items, list):
        raise SeedError("products must be a list")
    known = {str(rec["attributes"].get("sku") or "").upper() for rec in store.data["products"].values()}
    plan: list[tuple[str, str, list[tuple[str, str, int | None]]]] = []
    for n, item in enumerate(items):
        where = f"products[{n}]"
        if not isinstance(item, dict) or set(item) - {"sku", "name", "units"}:
            raise SeedError(f"{where}: must be an object with sku, units and optionally name")
        sku, name, units = item.get("sku"), item.get("name", item.get("sku")), item.get("units")
        if not isinstance(sku, str) or not sku.strip() or not isinstance(name, str) or not name.strip():
            raise SeedError(f"{where}: sku and name must be non-empty strings")
        if sku.upper() in known:
            raise SeedError(f"{where}: sku {sku!r} is already used")
        known.add(sku.upper())
        if not isinstance(units, list) or not units:
            raise SeedError(f"{where}: units must be a non-empty list of [code, conversionRate(, precision)]")
        parsed: list[tuple[str, str, int | None]] = []
        for u in units:
            ok = isinstance(u, list) and len(u) in (2, 3) and isinstance(u[0], str) and u[0].strip()
            precision = u[2] if ok and len(u) == 3 else None
            try:
                rate = to_decimal(u[1]) if ok else Decimal(0)
            except (InvalidOperation, ValueError):
                rate = Decimal(0)
            if (
                not ok
                or rate <= 0
                or (precision is not None and (type(precision) is not int or precision < 0))
            ):
                raise SeedError(
                    f"{where}: unit {u!r} is not [code, positive conversionRate(, precision >= 0)]"
                )
            parsed.append((u[0], "1" if not parsed else plain_decimal(rate), precision))
        if len({code for code, _, _ in parsed}) != len(parsed):
            raise SeedError(f"{where}: a unit is listed twice")
        plan.append((sku, name, parsed))
    now = fmt_ts(store.clock())
    counts = {"products": 0, "productunitprecisions": 0, "inventorylevels": 0, "productunits": 0}

    def put(type_: str, rec: Record) -> None:
        store.data[type_][rec["id"]] = rec
        store.index_add(type_, rec)
        counts[type_] += 1

    for sku, name, units in plan:
        product = blank_record(REGISTRY["products"], store.next_id("products"))
        product["attributes"].update(sku=sku, status="enabled", createdAt=now, updatedAt=now)
        name_rec = blank_record(REGISTRY["productnames"], store.next_id("productnames"))
        name_rec["attributes"]["string"] = name
        store.data["productnames"][name_rec["id"]] = name_rec
        store.index_add("productnames", name_rec)
        product["relationships"]["names"] = [ref("productnames", name_rec["id"])]
        for code, rate_text, precision in units:
            unit = store.data["productunits"].get(code)
            if unit is None:
                unit = blank_record(REGISTRY["productunits"], code)
                unit["attributes"].update(
                    label=code, shortLabel=code, pluralLabel=f"{code}s", shortPluralLabel=f"{code}s"
                )
                put("productunits", unit)
            prec = blank_record(REGISTRY["productunitprecisions"], store.next_id("productunitprecisions"))
            prec["attributes"].update(
                precision=precision if precision is not None else unit["attributes"]["defaultPrecision"] or 0,
                conversionRate=rate_text,
            )
            prec["relationships"].update(
                product=ref("products", product["id"]), unit=ref("productunits", code)
            )
            put("productunitprecisions", prec)
            if product["relationships"]["primaryUnitPrecision"] is None:
                product["relationships"]["primaryUnitPrecision"] = ref("productunitprecisions", prec["id"])
            level = blank_record(REGISTRY["inventorylevels"], store.next_id("inventorylevels"))
            level["attributes"]["quantity"] = "0"
            level["relationships"].update(
                product=ref("products", product["id"]),
                productUnitPrecision=ref("productunitprecisions", prec["id"]),
            )
            put("inventorylevels", level)
        put("products", product)
    if plan:
        store.version += 1
    return counts


def bulk_prices(store: Store, price_list_id: Any, items: Any) -> dict[str, int]:
    """Control API seed for big price lists: `productprices` of one price list from `{"sku", "unit",
    "quantity", "value", "currency"}` items, checked as the API checks them (the product exists by SKU, has
    the unit, the currency is one of the list's, values are decimals >= 0, (product, unit, quantity, currency)
    unique in the list) and written straight into the store (no hooks, no webhooks), all or nothing. Returns
    the count written. The caller holds the store's lock."""
    price_list = store.data["pricelists"].get(str(price_list_id))
    if price_list is None:
        raise SeedError(f"priceList {price_list_id!r} does not exist")
    if not isinstance(items, list):
        raise SeedError("prices must be a list")
    list_id = price_list["id"]
    currencies = set(price_list["attributes"].get("priceListCurrencies") or [])
    by_sku = {
        str(rec["attributes"].get("sku") or "").upper(): pid for pid, rec in store.data["products"].items()
    }
    precisions = store.index.get(("productunitprecisions", "product"), {})

    def units_of(product_id: str) -> set[str]:
        out = set()
        for prec_id in precisions.get(("products", product_id), ()):
            unit = store.data["productunitprecisions"][prec_id]["relationships"].get("unit")
            if unit:
                out.add(unit["id"])
        return out

    def price_key(product_id: str, unit: str, quantity: str, currency: str) -> tuple[str, str, Decimal, str]:
        return (product_id, unit, Decimal(quantity), currency)

    taken = set()
    for price_id in store.index.get(("productprices", "priceList"), {}).get(("pricelists", list_id), ()):
        rec = store.data["productprices"][price_id]
        r, a = rec["relationships"], rec["attributes"]
        taken.add(price_key(r["product"]["id"], r["unit"]["id"], a["quantity"], a["currency"]))
    plan: list[tuple[str, str, str, str, str]] = []
    for n, item in enumerate(items):
        where = f"prices[{n}]"
        if not isinstance(item, dict) or set(item) != {"sku", "unit", "quantity", "value", "currency"}:
            raise SeedError(f"{where}: must be an object with exactly sku, unit, quantity, value, currency")
        sku, unit, currency = item["sku"], item["unit"], item["currency"]
        product_id = by_sku.get(str(sku).upper()) if isinstance(sku, str) else None
        if product_id is None:
            raise SeedError(f"{where}: no product with sku {sku!r}")
        if not isinstance(unit, str) or unit not in units_of(product_id):
            raise SeedError(f"{where}: unit {unit!r} is not one of the units of {sku!r}")
        if currency not in currencies:
            raise SeedError(
                f"{where}: currency {currency!r} is not one of the price list's {sorted(currencies)}"
            )
        try:
            quantity, value = to_decimal(item["quantity"]), to_decimal(item["value"])
        except (InvalidOperation, ValueError):
            raise SeedError(f"{where}: quantity and value must be decimals") from None
        if quantity < 0 or value < 0:
            raise SeedError(f"{where}: quantity and value must be 0 or more")
        key = price_key(product_id, unit, str(quantity), currency)
        if key in taken:
            raise SeedError(
                f"{where}: the price list already has a price for {sku!r} {unit} {quantity} {currency}"
            )
        taken.add(key)
        plan.append((product_id, unit, plain_decimal(quantity), money(value), currency))
    res = REGISTRY["productprices"]
    for product_id, unit, quantity_text, value_text, currency in plan:
        rec = blank_record(res, f"{uuid.uuid4()}-{list_id}")
        rec["attributes"].update(quantity=quantity_text, value=value_text, currency=currency)
        rec["relationships"].update(
            priceList=ref("pricelists", list_id),
            product=ref("products", product_id),
            unit=ref("productunits", unit),
        )
        store.data["productprices"][rec["id"]] = rec
        store.index_add("productprices", rec)
    if plan:
        store.version += 1
    return {"productprices": len(plan)}


def add_category(store: Store, title: Any, parent_id: Any = None) -> Record:
    """Control API: a category made in the back office (the API cannot create one), with its default title.
    The caller holds the store's lock."""
    if not isinstance(title, str) or not title.strip():
        raise SeedError("title must be a non-empty string")
    if parent_id is not None and str(parent_id) not in store.data["categories"]:
        raise SeedError(f"parent category {parent_id!r} does not exist")
    now = fmt_ts(store.clock())
    title_rec = blank_record(REGISTRY["categorytitles"], store.next_id("categorytitles"))
    title_rec["attributes"]["string"] = title
    store.data["categorytitles"][title_rec["id"]] = title_rec
    category = blank_record(REGISTRY["categories"], store.next_id("categories"))
    category["attributes"].update(createdAt=now, updatedAt=now)
    category["relationships"].update(
        titles=[ref("categorytitles", title_rec["id"])],
        parentCategory=ref("categories", str(parent_id)) if parent_id is not None else None,
    )
    store.data["categories"][category["id"]] = category
    store.index_add("categories", category)
    store.version += 1
    return category
