"""Stock, ERP → storefront (DESIGN §4.2): a full run on a schedule, a fast path for what sells.

Every step is one message on the stock queue, small enough that no invocation nears its timeout whatever the
catalogue size, and each ERP call goes through the shared rate budget as the bulk flow `stock` (a worker
without a token gives its message back with a delay: functions/stock_push):

- `stock_page`: one page of the ERP's availability (1000 rows, one ERP call), kept in the state table for
  the run. Page 1 learns how many pages there are and queues the others. The page that completes the run
  queues the plan.
- `stock_plan`: the run's pages merged (a row read twice, as pages shift under a read, counts once) and
  summed per ERP SKU over the configured locations; the storefront SKUs of the unit mappings are split into
  `stock_push` messages of `CHUNK` SKUs, each with the availability of the ERP SKUs it needs.
- `stock_refresh` (the fast path): the ERP SKUs a `Stock/AvailableStockLevelChanged` webhook named, each
  re-read (one ERP call each: the webhook's own figures may arrive repeated or out of order), then pushed.
- `stock_push`: for each storefront SKU, its levels in every unit that carries inventory
  (`shared.domain.stock`), compared with what Oro last accepted (the SKU's stock record); only changes are
  written, with the product's inventory status where it no longer matches its levels. A few writes are
  PATCHed one by one; more go in one batch request, checked by `stock_check`.
- `stock_check`: the batch operations; what Oro applied is recorded, and only what failed is written again
  (`stock_write`), at most `MAX_WRITE_ATTEMPTS` times.
- `stock_webhooks`: whether the fast path's webhook is still active in the ERP (`WEBHOOK_DISABLED`).

A pushed value is recorded only after Oro accepted it, stamped with the time its availability was read: an
older reading never overwrites a newer one (a run's page read before a webhook's re-read), and one that
raced past is corrected by a re-read of its SKU.

Drift and bad data are named once per SKU (the stock record keeps which exceptions it holds open): a SKU on
one side only → `SKU_DRIFT`, negative availability → `STOCK_NEGATIVE` (Oro is sent 0), a unit that carries
inventory without a mapping, or mapped but missing on the product → `STOCK_UNIT_UNMAPPED`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.adapters.aws.state import StateStore, StockRecord
from shared.adapters.cin7.webhook import AVAILABILITY_EVENT
from shared.config import Config
from shared.domain.stock import (
    AvailabilityRow,
    Buffer,
    UnitStock,
    changed_levels,
    plan_levels,
    sum_available,
)
from shared.errors import Permanent, Throttled, Transient
from shared.flows.intake import REFRESH_CHUNK
from shared.observability import logger
from shared.ports import Clock, ProductStock, StockSource, StockTarget, WorkQueue

PAGE_LIMIT = 1000  # rows per availability page: the ERP's maximum
CHUNK = 100  # storefront SKUs per push: one Oro product read and one level read each
PATCH_UP_TO = 10  # writes of one push: up to this many are PATCHed one by one, more go in one batch
MAX_WRITE_ATTEMPTS = 5  # a record Oro keeps refusing stops being retried (the message fails to the DLQ)
MAX_CHECKS = 40  # about 30 minutes of checking an operation Oro has not finished
WEBHOOK_ENTITY = f"cin7:{AVAILABILITY_EVENT}"
IN_STOCK, OUT_OF_STOCK, DISCONTINUED = "in_stock", "out_of_stock", "discontinued"


class StockWork(BaseModel):
    """One message of the stock queue."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    run: str | None = None
    page: int | None = None
    read_at: datetime | None = None
    skus: list[str] = []  # storefront SKUs (push)
    available: dict[str, Decimal] = {}  # ERP SKU -> available over the configured locations
    missing: list[str] = []  # ERP SKUs the ERP does not list
    erp_skus: list[str] = []  # refresh
    ops: list[str] = []  # check: the batch operations, levels first
    levels: list[list[str]] = []  # [sku, unit, level id, quantity]
    statuses: list[list[str]] = []  # [sku, product id, status]
    pushed: dict[str, dict[str, Decimal]] = {}  # sku -> what Oro held before these writes
    checks: int = 0
    attempt: int = 1
    source: str = "run"
    deferrals: int = 0
    credential_deferrals: int = 0


@dataclass(frozen=True)
class StockRules:
    """The stock part of the config: locations, buffer, the units that carry inventory, the unit mappings."""

    locations: tuple[str, ...]
    carrying: frozenset[str]
    buffer: Buffer
    units: Mapping[str, Mapping[str, UnitStock]]  # storefront SKU -> unit -> rule

    @classmethod
    def from_config(cls, config: Config) -> StockRules:
        stock = config.stock
        return cls(
            locations=stock.locations,
            carrying=frozenset(stock.units_carrying_inventory),
            buffer=Buffer(stock.buffer.default, stock.buffer.percent, dict(stock.buffer.per_sku)),
            units={
                sku: {unit: UnitStock(m.erp_sku, m.factor) for unit, m in by_unit.items()}
                for sku, by_unit in config.units.items()
            },
        )

    def erp_skus_of(self, sku: str) -> set[str]:
        return {rule.erp_sku for unit, rule in self.units.get(sku, {}).items() if unit in self.carrying}

    def storefront_skus_of(self, erp_skus: Iterable[str]) -> list[str]:
        wanted = set(erp_skus)
        return sorted(sku for sku in self.units if self.erp_skus_of(sku) & wanted)


@dataclass
class PushResult:
    levels_written: int = 0
    statuses_written: int = 0
    batches: int = 0
    skipped_newer: int = 0
    opened: list[str] = field(default_factory=list)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def compact_rows(rows: Iterable[AvailabilityRow]) -> str:
    return json.dumps([[r.erp_sku, r.location, r.bin, r.batch, str(r.available)] for r in rows])


def expand_rows(text: str) -> list[AvailabilityRow]:
    return [
        AvailabilityRow(erp_sku=s, location=loc, available=Decimal(q), bin=b, batch=t)
        for s, loc, b, t, q in json.loads(text)
    ]


def availability(rows: Iterable[AvailabilityRow], locations: Iterable[str]) -> dict[str, Decimal]:
    """Available per ERP SKU over the configured locations; a SKU the ERP lists only elsewhere has 0. A row
    seen twice (the same SKU, location, bin and batch) counts once."""
    unique = {row.key: row for row in rows}
    totals = sum_available(unique.values(), locations)
    return {row.erp_sku: totals.get(row.erp_sku, Decimal(0)) for row in unique.values()}


class StockFlow:
    def __init__(
        self,
        config: Config,
        state: StateStore,
        queue: WorkQueue,
        clock: Clock,
        *,
        source: StockSource | None = None,
        target: StockTarget | None = None,
    ) -> None:
        self.config = config
        self.rules = StockRules.from_config(config)
        self.state = state
        self.queue = queue
        self.clock = clock
        self._source = source
        self._target = target

    @property
    def source(self) -> StockSource:
        if self._source is None:
            raise RuntimeError("this stock step needs the ERP")
        return self._source

    @property
    def target(self) -> StockTarget:
        if self._target is None:
            raise RuntimeError("this stock step needs the storefront")
        return self._target

    def _send(self, work: StockWork, delay_seconds: int = 0) -> None:
        self.queue.send(work.model_dump(mode="json", exclude_defaults=True), delay_seconds=delay_seconds)

    # ------------------------------------------------------------------------------------ the run

    def handle(self, work: StockWork) -> dict[str, Any]:
        step = {
            "stock_page": self.read_page,
            "stock_plan": self.plan,
            "stock_refresh": self.refresh,
            "stock_push": self.push_message,
            "stock_check": self.check,
            "stock_write": self.write_again,
            "stock_webhooks": self.check_webhook,
        }.get(work.kind)
        if step is None:
            raise ValueError(f"stock queue: unexpected message kind {work.kind!r}")
        return step(work)

    def read_page(self, work: StockWork) -> dict[str, Any]:
        if not work.run or not work.page or work.page < 1:
            raise ValueError("stock_page needs a run and a page from 1")
        read_at = work.read_at or self.clock.now()
        rows, total = self.source.availability_page(work.page, PAGE_LIMIT)
        pages = max(1, math.ceil(total / PAGE_LIMIT))
        if work.page == 1:
            for page in range(2, pages + 1):
                self._send(StockWork(kind="stock_page", run=work.run, page=page, read_at=read_at))
        now = self.clock.now()
        self.state.put_stock_page(
            work.run, work.page, json.dumps({"total": total, "rows": compact_rows(rows)}), now
        )
        if self.state.stock_page_done(work.run, work.page, pages, now):
            self._send(StockWork(kind="stock_plan", run=work.run, read_at=read_at))
        return {"run": work.run, "page": work.page, "pages": pages, "rows": len(rows)}

    def plan(self, work: StockWork) -> dict[str, Any]:
        if not work.run or work.read_at is None:
            raise ValueError("stock_plan needs a run and its read time")
        stored = [json.loads(text) for text in self.state.stock_pages(work.run)]
        rows = [row for page in stored for row in expand_rows(page["rows"])]
        # Rows added or removed while the run read its pages shift them: what is missing then is unknown,
        # not gone, and no drift is concluded from it.
        consistent = len({page["total"] for page in stored}) <= 1
        available = availability(rows, self.rules.locations)
        skus = sorted(self.rules.units)
        messages = 0
        for chunk in _chunks(skus, CHUNK):
            needed = set().union(*(self.rules.erp_skus_of(sku) for sku in chunk))
            self._send(
                StockWork(
                    kind="stock_push",
                    skus=list(chunk),
                    available={e: available[e] for e in sorted(needed) if e in available},
                    missing=sorted(needed - available.keys()) if consistent else [],
                    read_at=work.read_at,
                )
            )
            messages += 1
        logger.info(
            "stock run planned",
            extra={"run": work.run, "rows": len(rows), "erp_skus": len(available), "pushes": messages},
        )
        return {"run": work.run, "rows": len(rows), "pushes": messages, "consistent": consistent}

    # ------------------------------------------------------------------------------- the fast path

    def refresh(self, work: StockWork) -> dict[str, Any]:
        """Re-read the ERP SKUs a webhook named, then push the storefront SKUs mapped to them. When the
        budget runs dry part-way, what was read is pushed and the rest goes back to the queue."""
        read_at = self.clock.now()
        known: dict[str, Decimal] = {}
        missing: list[str] = []
        for index, erp_sku in enumerate(work.erp_skus):
            try:
                self.state.release_refresh(f"stock:{erp_sku}")  # a change after this read queues another
                rows = self.source.availability_of(erp_sku)
            except Throttled as err:
                if index == 0:
                    raise
                rest = StockWork(kind="stock_refresh", erp_skus=work.erp_skus[index:], source=work.source)
                self._send(rest, delay_seconds=int(max(1, err.retry_after_seconds or 5)))
                break
            if rows:
                known[erp_sku] = availability(rows, self.rules.locations).get(erp_sku, Decimal(0))
            else:
                missing.append(erp_sku)
        skus = self.rules.storefront_skus_of([*known, *missing])
        result = PushResult()
        for chunk in _chunks(skus, CHUNK):
            self.push(list(chunk), known, missing, read_at, result)
        return {"erp_skus": len(known) + len(missing), "skus": len(skus), **_summary(result)}

    # ------------------------------------------------------------------------------------ the push

    def push_message(self, work: StockWork) -> dict[str, Any]:
        if work.read_at is None:
            raise ValueError("stock_push needs the time its availability was read")
        result = PushResult()
        self.push(work.skus, work.available, work.missing, work.read_at, result)
        return {"skus": len(work.skus), **_summary(result)}

    def push(
        self,
        skus: list[str],
        available: Mapping[str, Decimal],
        missing: Iterable[str],
        read_at: datetime,
        result: PushResult,
    ) -> None:
        """Write what changed for these storefront SKUs, from availability of `available`'s ERP SKUs (others
        are left as they are) read at `read_at`."""
        missing = set(missing)
        records = self.state.stock_records(skus)
        products = self.target.products(skus)
        levels: list[list[str]] = []
        statuses: list[list[str]] = []
        pushed: dict[str, dict[str, Decimal]] = {}
        for sku in skus:
            record = records[sku]
            if record.read_at is not None and record.read_at > read_at:
                result.skipped_newer += 1  # a later reading was already pushed
                continue
            product = products.get(sku)
            new_levels, flags = self._levels_of(sku, product, available, missing, record)
            self._raise_or_clear(sku, record, flags, result)
            if product is None:
                continue
            changed = changed_levels(new_levels, {(sku, u): q for u, q in record.pushed.items()})
            after = {u: lv.quantity for u, lv in product.levels.items() if u in self.rules.carrying}
            for level in changed:
                levels.append([sku, level.unit, product.levels[level.unit].level_id, str(level.quantity)])
                after[level.unit] = level.quantity
            status = _status_for(product, after) if new_levels else None
            if status is not None:
                statuses.append([sku, product.product_id, status])
            if changed or status is not None:
                pushed[sku] = dict(record.pushed)
        if levels or statuses:
            self._write(levels, statuses, pushed, read_at, attempt=1, result=result)

    def _levels_of(
        self,
        sku: str,
        product: ProductStock | None,
        available: Mapping[str, Decimal],
        missing: set[str],
        record: StockRecord,
    ) -> tuple[list[Any], set[str]]:
        """The SKU's levels for the units whose ERP SKU this reading covers, and the flags it now holds:
        `drift:oro`, `drift:erp:<ERP SKU>`, `negative:<ERP SKU>`, `unit:<unit>`. Flags about ERP SKUs
        this reading does not cover are kept as they were."""
        mapped = self.rules.units.get(sku, {})
        covered = {
            unit: rule
            for unit, rule in mapped.items()
            if rule.erp_sku in available or rule.erp_sku in missing
        }
        flags = {f for f in record.flags if not _covered_flag(f, covered, product)}
        if product is None:
            flags.add("drift:oro")
            return [], flags
        uncovered = set(mapped) - set(covered)
        plan = plan_levels(
            {e: q for e, q in available.items() if e not in missing},
            {sku: covered},
            {sku: [u for u in product.levels if u not in uncovered]},
            self.rules.carrying,
            self.rules.buffer,
        )
        for problem in plan.problems:
            if problem.kind == "erp_missing" and problem.erp_sku:
                flags.add(f"drift:erp:{problem.erp_sku}")
            else:
                flags.add(f"unit:{problem.unit}")
        for erp_sku in plan.negative:
            if any(rule.erp_sku == erp_sku for unit, rule in covered.items() if unit in self.rules.carrying):
                flags.add(f"negative:{erp_sku}")
        return plan.levels, flags

    def _raise_or_clear(self, sku: str, record: StockRecord, flags: set[str], result: PushResult) -> None:
        if flags == set(record.flags):
            return
        now = self.clock.now()
        before, after = set(record.flags), flags
        drift_before = {f for f in before if f.startswith("drift:")}
        drift_after = {f for f in after if f.startswith("drift:")}
        if drift_after and drift_after != drift_before:
            self.state.open_exception("SKU_DRIFT", f"sku:{sku}", now, _drift_detail(sku, drift_after))
            result.opened.append(f"SKU_DRIFT sku:{sku}")
        elif drift_before and not drift_after:
            self.state.close_exception("SKU_DRIFT", f"sku:{sku}", now, "the SKU is on both sides")
        for flag in sorted(after - before):
            kind, _, name = flag.partition(":")
            if kind == "negative":
                self.state.open_exception(
                    "STOCK_NEGATIVE", f"sku:{name}", now, f"{name} has negative availability; Oro is sent 0"
                )
                result.opened.append(f"STOCK_NEGATIVE sku:{name}")
            elif kind == "unit":
                self.state.open_exception(
                    "STOCK_UNIT_UNMAPPED", f"sku:{sku}/{name}", now, _unit_detail(sku, name, self.rules)
                )
                result.opened.append(f"STOCK_UNIT_UNMAPPED sku:{sku}/{name}")
        for flag in sorted(before - after):
            kind, _, name = flag.partition(":")
            if kind == "negative":
                self.state.close_exception(
                    "STOCK_NEGATIVE", f"sku:{name}", now, "availability is not negative"
                )
            elif kind == "unit":
                self.state.close_exception(
                    "STOCK_UNIT_UNMAPPED", f"sku:{sku}/{name}", now, "the unit is mapped"
                )
        self.state.set_stock_flags(sku, frozenset(flags))

    # ---------------------------------------------------------------------------------- the writes

    def _write(
        self,
        levels: list[list[str]],
        statuses: list[list[str]],
        pushed: dict[str, dict[str, Decimal]],
        read_at: datetime,
        *,
        attempt: int,
        result: PushResult,
    ) -> None:
        mode = self.config.stock.oro_writes
        if mode == "patch" or (mode == "auto" and len(levels) + len(statuses) <= PATCH_UP_TO):
            failed_levels, failed_statuses = [], []
            for level in levels:
                try:
                    self.target.set_level(level[2], Decimal(level[3]))
                except Permanent as err:
                    failed_levels.append(level)
                    logger.warning(
                        "inventory level refused",
                        extra={"sku": level[0], "unit": level[1], "error": str(err)},
                    )
            for status in statuses:
                try:
                    self.target.set_status(status[1], status[2])
                except Permanent as err:
                    failed_statuses.append(status)
                    logger.warning("inventory status refused", extra={"sku": status[0], "error": str(err)})
            result.levels_written += len(levels) - len(failed_levels)
            result.statuses_written += len(statuses) - len(failed_statuses)
            self._settle(levels, statuses, failed_levels, failed_statuses, pushed, read_at, attempt)
            return
        ops = []
        if levels:
            ops.append(self.target.submit_levels((lv[2], Decimal(lv[3])) for lv in levels))
        if statuses:
            ops.append(self.target.submit_statuses((st[1], st[2]) for st in statuses))
        result.batches += len(ops)
        result.levels_written += len(levels)
        result.statuses_written += len(statuses)
        check = StockWork(
            kind="stock_check",
            ops=ops,
            levels=levels,
            statuses=statuses,
            pushed=pushed,
            read_at=read_at,
            attempt=attempt,
        )
        self._send(check, delay_seconds=2)

    def check(self, work: StockWork) -> dict[str, Any]:
        """The batch operations of one push: record what Oro applied, write again what it refused."""
        if work.read_at is None:
            raise ValueError("stock_check needs the time its availability was read")
        results = [self.target.operation(op) for op in work.ops]
        if not all(r.finished for r in results):
            if work.checks >= MAX_CHECKS:
                raise Transient(
                    f"oro: batch operations {work.ops} unfinished after {work.checks} checks", system="oro"
                )
            again = work.model_copy(update={"checks": work.checks + 1})
            self._send(again, delay_seconds=min(60, 2 ** min(work.checks + 1, 6)))
            return {"ops": work.ops, "finished": False}
        failed_levels: list[list[str]] = []
        failed_statuses: list[list[str]] = []
        parts = ([work.levels] if work.levels else []) + ([work.statuses] if work.statuses else [])
        for part, outcome in zip(parts, results, strict=True):
            bad = range(len(part)) if -1 in outcome.failed else outcome.failed.keys()
            failed = [part[i] for i in sorted(bad) if 0 <= i < len(part)]
            (failed_levels if part is work.levels else failed_statuses).extend(failed)
            for i, why in outcome.failed.items():
                logger.warning("oro refused a stock write", extra={"index": i, "error": why})
        self._settle(
            work.levels,
            work.statuses,
            failed_levels,
            failed_statuses,
            work.pushed,
            work.read_at,
            work.attempt,
        )
        return {"ops": work.ops, "failed": len(failed_levels) + len(failed_statuses)}

    def write_again(self, work: StockWork) -> dict[str, Any]:
        if work.read_at is None:
            raise ValueError("stock_write needs the time its availability was read")
        result = PushResult()
        self._write(
            work.levels, work.statuses, work.pushed, work.read_at, attempt=work.attempt, result=result
        )
        return _summary(result)

    def _settle(
        self,
        levels: list[list[str]],
        statuses: list[list[str]],
        failed_levels: list[list[str]],
        failed_statuses: list[list[str]],
        pushed: dict[str, dict[str, Decimal]],
        read_at: datetime,
        attempt: int,
    ) -> None:
        """Record what Oro accepted; queue only what it refused for another attempt."""
        refused = {(lv[0], lv[1]) for lv in failed_levels}
        accepted: dict[str, dict[str, Decimal]] = {}
        for sku, unit, _level_id, quantity in levels:
            if (sku, unit) not in refused:
                accepted.setdefault(sku, {})[unit] = Decimal(quantity)
        stale: list[str] = []
        for sku, units in accepted.items():
            if not self.state.record_stock_pushed(sku, {**pushed.get(sku, {}), **units}, read_at):
                stale.append(sku)  # a later reading was recorded first: our write may have overtaken it
        if stale:
            erp_skus = sorted(set().union(*(self.rules.erp_skus_of(sku) for sku in stale)))
            for chunk in _chunks(erp_skus, REFRESH_CHUNK):
                self._send(StockWork(kind="stock_refresh", erp_skus=list(chunk), source="overtaken"))
        if not failed_levels and not failed_statuses:
            return
        if attempt >= MAX_WRITE_ATTEMPTS:
            raise Permanent(
                f"oro refused {len(failed_levels)} level(s) and {len(failed_statuses)} status(es) "
                f"{attempt} times, e.g. {(failed_levels or failed_statuses)[0][0]}",
                system="oro",
            )
        retry = StockWork(
            kind="stock_write",
            levels=failed_levels,
            statuses=failed_statuses,
            # what Oro holds once this attempt's accepted levels are counted in, so a retry keeps them
            pushed={
                sku: {**pushed.get(sku, {}), **accepted.get(sku, {})}
                for sku in {x[0] for x in failed_levels + failed_statuses}
            },
            read_at=read_at,
            attempt=attempt + 1,
        )
        self._send(retry, delay_seconds=min(900, 5 * 4 ** (attempt - 1)))  # 5 s, 20 s, 80 s, 320 s

    # ------------------------------------------------------------------------------- the webhook

    def check_webhook(self, _work: StockWork) -> dict[str, Any]:
        now = self.clock.now()
        active = self.source.webhook_active(AVAILABILITY_EVENT)
        if active:
            self.state.close_exception("WEBHOOK_DISABLED", WEBHOOK_ENTITY, now, "the webhook is active")
        else:
            self.state.open_exception(
                "WEBHOOK_DISABLED",
                WEBHOOK_ENTITY,
                now,
                f"Cin7's {AVAILABILITY_EVENT} webhook is switched off or missing: stock reaches Oro only on "
                "the scheduled run. Run `orosync webhooks ensure`.",
            )
        return {"webhook_active": active}


def _summary(result: PushResult) -> dict[str, Any]:
    return {
        "levels_written": result.levels_written,
        "statuses_written": result.statuses_written,
        "batches": result.batches,
        "skipped_newer": result.skipped_newer,
        "opened": result.opened,
    }


def _status_for(product: ProductStock, after: Mapping[str, Decimal]) -> str | None:
    """The inventory status the product's levels call for, when it is not the one it has (a discontinued
    product is left alone)."""
    if product.status == DISCONTINUED or not after:
        return None
    wanted = IN_STOCK if any(q > 0 for q in after.values()) else OUT_OF_STOCK
    return wanted if product.status != wanted else None


def _covered_flag(flag: str, covered: Mapping[str, UnitStock], product: ProductStock | None) -> bool:
    """Whether this reading re-decides the flag (so it is dropped, then set again if it still holds)."""
    kind, _, name = flag.partition(":")
    if kind == "drift" and name == "oro":
        return True
    erp_sku = flag.split(":", 2)[-1]
    if kind in ("drift", "negative"):
        return any(rule.erp_sku == erp_sku for rule in covered.values())
    return product is not None  # unit flags: decided whenever the product was read


def _drift_detail(sku: str, flags: set[str]) -> str:
    if "drift:oro" in flags:
        return f"{sku} is in the unit mappings but not in Oro: its stock cannot be shown"
    missing = sorted(f.split(":", 2)[2] for f in flags if f.startswith("drift:erp:"))
    return f"{sku} maps to {', '.join(missing)}, which the ERP does not list: its stock cannot be shown"


def _unit_detail(sku: str, unit: str, rules: StockRules) -> str:
    if unit in rules.units.get(sku, {}):
        return f"{sku} is mapped in {unit!r}, which the Oro product lacks: add the unit in Oro or drop the mapping"
    return (
        f"{sku} sells in {unit!r}, which carries inventory but has no unit mapping: add `units.{sku}.{unit}`"
    )
