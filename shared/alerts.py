"""Owners are told (DESIGN §5; README "Operations"): a named exception, when it first opens, is published to its
owner team's SNS topic with its runbook and the command that resolves it; the daily digest goes the same way.

One topic per team (infra/monitoring.py; `orosync local up` makes them on the embedded endpoint, each with an
SQS inbox that records what was published). A function learns the topics from `ALERTS_TOPIC_<TEAM>` variables.

"First opens" is decided by the state table, not by this process: `StateStore.open_exception` calls
`exception_opened` only while the exception's record has no `notified_at`, and sets it once the publish
succeeded, so a retried step, a redelivered message or a second worker never publishes it again; a publish that
failed is tried again the next time the exception is seen (and the digest lists it meanwhile). An exception
that closes and opens again later is a new occurrence and is published again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.config import Team
from shared.domain.exceptions_catalogue import exception_type, resolve_command
from shared.observability import count_once, logger

EXCEPTION_OPENED = "ExceptionOpened"  # metric, dimensions service/code/owner: one per first opening
SUBJECT_MAX = 100  # SNS Subject limit


def topic_env_var(team: Team | str) -> str:
    return f"ALERTS_TOPIC_{Team(team).value.upper()}"


def _subject(text: str) -> str:
    clean = " ".join(text.split())  # SNS subjects: no line breaks
    return clean if len(clean) <= SUBJECT_MAX else clean[: SUBJECT_MAX - 1] + "…"


def exception_message(view: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of the alert for one exception record (`StateStore._exception_view`)."""
    code, entity = str(view["code"]), str(view["entity"])
    etype = exception_type(code)
    command = resolve_command(code, entity)
    lines = [
        f"{code} opened for {entity} ({etype.owner.value}; {'blocks the order' if etype.blocks_order else 'does not block the order'}).",
        "",
        f"What happened: {view.get('detail', '')}",
        "",
        f"What to do: {etype.runbook}",
        "",
        f"Command: {command}" if command else f"It closes itself when {etype.auto_resolves_when}.",
        f"SLA: {etype.sla_hours} h from {view.get('first_seen', '?')} (UTC).",
        f"Look: orosync exceptions list --owner {etype.owner.value}",
    ]
    if view.get("last_alert_this_hour"):
        lines += [
            "",
            f"This is the last alert {etype.owner.value} gets this hour (`alerts.per_hour_per_team`): more "
            "exceptions are opening. See them all with the command above; each is sent when next seen, and "
            "the daily digest lists every open one.",
        ]
    return _subject(f"[orosync] {code}: {entity}"), "\n".join(lines)


class OwnerAlerts:
    """Publishes to the owner teams' topics (ARNs by team)."""

    def __init__(self, topics: Mapping[Team, str], *, sns: Any = None) -> None:
        self.topics = dict(topics)
        self._sns = sns

    @classmethod
    def from_env(cls) -> OwnerAlerts | None:
        """The topics named by `ALERTS_TOPIC_<TEAM>`; None when the function has none (nothing to publish to)."""
        topics = {
            team: os.environ[topic_env_var(team)] for team in Team if os.environ.get(topic_env_var(team))
        }
        return cls(topics) if topics else None

    @property
    def sns(self) -> Any:
        if self._sns is None:
            self._sns = boto3.client("sns")
        return self._sns

    def publish(self, team: Team | str, subject: str, body: str, attributes: Mapping[str, str]) -> bool:
        """True if SNS took it. A team without a topic, or SNS failing, is logged (never raised: the record in
        the state table is the truth, and the caller tries again the next time)."""
        arn = self.topics.get(Team(team))
        if arn is None:
            logger.error("no alert topic for the owner team", extra={"team": str(team)})
            return False
        try:
            self.sns.publish(
                TopicArn=arn,
                Subject=_subject(subject),
                Message=body,
                MessageAttributes={
                    key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()
                },
            )
        except (ClientError, BotoCoreError) as err:
            logger.error("owner alert not published", extra={"team": str(team), "error": type(err).__name__})
            return False
        return True

    def exception_opened(self, view: Mapping[str, Any]) -> bool:
        """Publish one exception's first opening to its owner; True once SNS has it."""
        etype = exception_type(str(view["code"]))
        subject, body = exception_message(view)
        sent = self.publish(etype.owner, subject, body, {"kind": "exception", "code": etype.code})
        if sent:
            count_once(EXCEPTION_OPENED, {"code": etype.code, "owner": etype.owner.value})
        return sent

    def digest(self, team: Team, subject: str, body: str, now: datetime) -> bool:
        return self.publish(team, subject, body, {"kind": "digest", "date": now.date().isoformat()})
