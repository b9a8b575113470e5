"""EventBridge rules that start the scheduled functions, with the expression from the config."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from infra.functions import Functions
from infra.nag import acknowledge
from infra.naming import pascal
from shared.config import Config
from shared.resources import FUNCTIONS, ScheduleSpec


def schedule_expression(config: Config, spec: ScheduleSpec) -> str:
    """`schedules.<key>` from the config when it has one, else the spec's default."""
    expression = getattr(config.schedules, spec.key, None)
    return expression if isinstance(expression, str) else spec.default_expression


class Schedules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: Config, functions: Functions) -> None:
        super().__init__(scope, construct_id)
        self.by_key: dict[str, events.Rule] = {}
        for spec in FUNCTIONS:
            if spec.schedule is None:
                continue
            rule = events.Rule(
                self,
                pascal(spec.schedule.key),
                description=f"orosync: starts {spec.name}",
                schedule=events.Schedule.expression(schedule_expression(config, spec.schedule)),
                targets=[targets.LambdaFunction(functions.by_name[spec.name])],
            )
            acknowledge(
                rule,
                "A missed tick is made up by the next one: scheduled polls read from a watermark with an "
                "overlap window (DESIGN §3), so a dead-letter queue of ticks would hold nothing to replay.",
                "Serverless-EventBusDLQ",
            )
            self.by_key[spec.schedule.key] = rule
