"""cdk-nag: the stack synthesizes with AwsSolutions and Serverless checks and no unacknowledged finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import aws_sqs as sqs

from infra.app import build
from tests.infrastructure.conftest import EXAMPLE_CONFIG, new_app, synthesize


def _report(outdir: Path) -> dict:
    return json.loads((outdir / "validation-report.json").read_text())


def test_synth_reports_no_finding_when_the_config_is_valid(tmp_path: Path) -> None:
    synthesize(EXAMPLE_CONFIG, tmp_path)  # raises ValidationFailed otherwise

    assert _report(tmp_path)["pluginReports"] == []


def test_synth_fails_with_both_rule_packs_when_a_finding_is_not_acknowledged(tmp_path: Path) -> None:
    # The control for the test above: an empty report must mean "checked and clean", not "never ran".
    app = new_app(EXAMPLE_CONFIG, tmp_path)
    stack = build(app)
    sqs.Queue(stack, "UncheckedQueue")  # no DLQ, no TLS-only policy

    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    reports = _report(tmp_path)["pluginReports"]
    assert {r["pluginName"] for r in reports} == {"AwsSolutions", "Serverless"}
    paths = {c["constructPath"] for r in reports for v in r["violations"] for c in v["violatingConstructs"]}
    assert paths == {f"{stack.stack_name}/UncheckedQueue/Resource"}
