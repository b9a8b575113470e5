"""Synthesis helpers for the infrastructure tests: the app as `cdk synth` builds it, minus pip.

Each test module synthesizes once (module-scoped fixtures). Bundling is skipped with CDK's own switch
(`aws:cdk:bundling-stacks` = []), so the function asset is the source folder and no wheel is fetched;
cdk-nag runs exactly as in a real synth, so a fixture that synthesizes also proves the stack nag-clean.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

# jsii prints an end-of-life banner for Node 20 unless told which versions to keep quiet about.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App  # noqa: E402 - after the environment above
from aws_cdk.assertions import Template

from infra.app import CONFIG_CONTEXT, build
from infra.stack import OrosyncStack
from shared.config import Team, load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO_ROOT / "config" / "example.yaml"
SKIP_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}


def new_app(config_path: Path, outdir: Path) -> App:
    # The feature flags of cdk.json, so the template is the one `cdk synth` writes.
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return App(outdir=str(outdir), context={**context, **SKIP_BUNDLING, CONFIG_CONTEXT: str(config_path)})


def synthesize(config_path: Path, outdir: Path) -> tuple[App, OrosyncStack]:
    app = new_app(config_path, outdir)
    stack = build(app)
    app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    return app, stack


@pytest.fixture(scope="module")
def write_config(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Callable[[dict[str, Any]], None]], Path]:
    """A copy of the example config with `mutate` applied, written to a temp file."""

    def write(mutate: Callable[[dict[str, Any]], None]) -> Path:
        data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
        mutate(data)
        path = tmp_path_factory.mktemp("config") / "config.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return write


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    _, stack = synthesize(EXAMPLE_CONFIG, tmp_path_factory.mktemp("cdk.out"))
    return Template.from_stack(stack)


def only(resources: Mapping[str, Any]) -> tuple[str, Any]:
    assert len(resources) == 1, f"expected exactly one resource, found {sorted(resources)}"
    return next(iter(resources.items()))


def function_id(template: Template, handler: str) -> str:
    """The logical id of the Lambda function running `handler`."""
    return only(template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": handler}}))[0]


def get_att_id(value: Any) -> str:
    """`{"Fn::GetAtt": ["Queue123", "Arn"]}` -> "Queue123"."""
    return value["Fn::GetAtt"][0]


def operations_topic_id(template: Template) -> str:
    """The SNS topic that e-mails the operations owner of the example config."""
    email = load_config(EXAMPLE_CONFIG).owners[Team.OPERATIONS].email
    subscriptions = template.find_resources(
        "AWS::SNS::Subscription", {"Properties": {"Protocol": "email", "Endpoint": email}}
    )
    return only(subscriptions)[1]["Properties"]["TopicArn"]["Ref"]
