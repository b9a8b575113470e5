"""The owners' digest and the exception metrics (`exception_digest`, hourly; README "Operations").

Every run publishes, per owner team, how many exceptions are open and how many are past their SLA (the
catalogue's `sla_hours`, from `first_seen`), and how long the oldest held order has waited: the alarms of
infra/monitoring.py watch these. Once a day, in `alerts.digest_hour_utc`, each team's topic gets its digest:
what is open, oldest first, with its age against its SLA and the command that resolves it. A claim in the state
table makes that once per team and day however often the function runs in that hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.aws.state import StateStore
from shared.alerts import OwnerAlerts
from shared.config import Config, Team
from shared.domain.exceptions_catalogue import CATALOGUE, exception_type, resolve_command
from shared.observability import count_once

OPEN_EXCEPTIONS = "OpenExceptions"  # per owner
EXCEPTIONS_PAST_SLA = "ExceptionsPastSla"  # per owner: alarms that owner's topic
OLDEST_HELD_ORDER_HOURS = "OldestHeldOrderHours"  # alarms operations past `alerts.held_order_max_hours`
HELD_ORDERS = "HeldOrders"
DAY = 24 * 3600


@dataclass(frozen=True)
class OpenItem:
    code: str
    entity: str
    owner: str
    first_seen: datetime
    count: int
    detail: str

    def age(self, now: datetime) -> timedelta:
        return now - self.first_seen

    def past_sla(self, now: datetime) -> bool:
        return self.age(now) > timedelta(hours=exception_type(self.code).sla_hours)


def open_items(views: Iterable[Mapping[str, Any]]) -> list[OpenItem]:
    """The open exceptions of the catalogue, oldest first (a code no longer in the catalogue is skipped)."""
    out = [
        OpenItem(
            str(v["code"]),
            str(v["entity"]),
            str(v["owner"]),
            datetime.fromisoformat(str(v["first_seen"])),
            int(v["count"]),
            str(v.get("detail", "")),
        )
        for v in views
        if v["code"] in CATALOGUE
    ]
    return sorted(out, key=lambda i: (i.first_seen, i.code, i.entity))


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} d"


def digest_text(team: Team, items: list[OpenItem], now: datetime) -> tuple[str, str]:
    """(subject, body) of one team's digest."""
    mine = [i for i in items if i.owner == team.value]
    late = [i for i in mine if i.past_sla(now)]
    subject = (
        f"[orosync] {team.value} digest {now.date().isoformat()}: {len(mine)} open, {len(late)} past SLA"
    )
    if not mine:
        return subject, f"Nothing open for {team.value} at {now.isoformat(timespec='minutes')}."
    lines = [f"{len(mine)} open for {team.value}, {len(late)} past their SLA, oldest first:", ""]
    for i in mine:
        sla = exception_type(i.code).sla_hours
        flag = "  PAST SLA" if i.past_sla(now) else ""
        lines.append(f"- {i.code} {i.entity}: open {_age(i.age(now))} (SLA {sla} h), seen {i.count}x{flag}")
        lines.append(f"  {i.detail[:300]}")
        command = resolve_command(i.code, i.entity)
        if command:
            lines.append(f"  {command}")
    return subject, "\n".join(lines)


def run_digest(
    config: Config, state: StateStore, alerts: OwnerAlerts | None, now: datetime, *, force: bool = False
) -> dict[str, Any]:
    items = open_items(state.open_exceptions())
    result: dict[str, Any] = {"open": {}, "past_sla": {}, "digests": []}
    for team in Team:
        mine = [i for i in items if i.owner == team.value]
        late = sum(i.past_sla(now) for i in mine)
        count_once(OPEN_EXCEPTIONS, {"owner": team.value}, len(mine))
        count_once(EXCEPTIONS_PAST_SLA, {"owner": team.value}, late)
        result["open"][team.value], result["past_sla"][team.value] = len(mine), late
    held = list(state.order_items_with_status("held"))  # each with when it was last held (`gsi1sk`)
    oldest = max(
        ((now - datetime.fromisoformat(str(o["gsi1sk"]))).total_seconds() / 3600 for o in held), default=0.0
    )
    count_once(HELD_ORDERS, {}, len(held))
    count_once(OLDEST_HELD_ORDER_HOURS, {}, round(oldest, 2))
    result["held_orders"], result["oldest_held_hours"] = len(held), round(oldest, 2)
    if alerts is None or not (force or now.hour == config.alerts.digest_hour_utc):
        return result
    for team in Team:
        key = f"digest:{team.value}:{now.date().isoformat()}"
        if not force and not state.claim_refresh(key, now, DAY):
            continue  # already sent today
        subject, body = digest_text(team, items, now)
        if alerts.digest(team, subject, body, now):
            result["digests"].append(team.value)
        elif not force:
            state.expire_refresh(key)  # not sent: the next run this hour tries again
    return result
