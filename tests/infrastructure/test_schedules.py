"""Schedules: one EventBridge rule per ScheduleSpec, with the expression from the config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.schedules import schedule_expression
from shared.config import load_config
from shared.resources import FUNCTIONS
from tests.infrastructure.conftest import function_id, only, synthesize

CUSTOM_EXPRESSION = "cron(7 * * * ? *)"
SCHEDULED = [spec for spec in FUNCTIONS if spec.schedule]


@pytest.fixture(scope="module")
def config_path(write_config: Callable[[Callable[[dict[str, Any]], None]], Path]) -> Path:
    # Every schedule set to an expression no default uses, so a match proves the config was read.
    def mutate(data: dict[str, Any]) -> None:
        for spec in SCHEDULED:
            assert spec.schedule
            data["schedules"][spec.schedule.key] = CUSTOM_EXPRESSION

    return write_config(mutate)


@pytest.fixture(scope="module")
def scheduled_template(config_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Template:
    _, stack = synthesize(config_path, tmp_path_factory.mktemp("cdk.out"))
    return Template.from_stack(stack)


def test_one_rule_per_schedule_spec_when_synthesized(scheduled_template: Template) -> None:
    rules = scheduled_template.find_resources("AWS::Events::Rule")
    assert len(rules) == len(SCHEDULED)


@pytest.mark.parametrize("spec", SCHEDULED, ids=lambda s: s.name)
def test_rule_uses_the_config_expression_when_the_config_sets_one(scheduled_template: Template, spec) -> None:
    target = {"Fn::GetAtt": [function_id(scheduled_template, spec.handler), "Arn"]}
    _, rule = only(
        scheduled_template.find_resources("AWS::Events::Rule", {"Properties": {"Targets": [{"Arn": target}]}})
    )
    assert rule["Properties"]["ScheduleExpression"] == CUSTOM_EXPRESSION


def test_expression_falls_back_to_the_spec_default_when_the_config_has_no_such_key(config_path: Path) -> None:
    config = load_config(config_path)
    for spec in SCHEDULED:
        assert spec.schedule
        unknown = type(spec.schedule)(key="not_in_config", default_expression="rate(42 minutes)")
        assert schedule_expression(config, unknown) == "rate(42 minutes)"
        assert schedule_expression(config, spec.schedule) == CUSTOM_EXPRESSION
