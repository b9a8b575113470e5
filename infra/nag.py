"""cdk-nag wiring: the rule packs every synth runs, and the one way this stack acknowledges a finding."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct


def add_rule_packs(scope: IConstruct) -> None:
    """Synthesis fails (ValidationFailed) on any finding that is not acknowledged with a reason."""
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope), ServerlessChecks(scope))


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge findings on `scope` and everything below it; `reason` is written for a reviewer."""
    Validations.of(scope).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids))
