"""Secrets Manager entries named by `config.secrets`, created with a generated placeholder value.

The operator overwrites each value after the first deploy (shapes in `shared.config.Secrets`); the stack
never holds a credential.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.nag import acknowledge
from infra.naming import pascal
from shared.config import Config

ROTATION_SECTION = "Rotating the secrets"  # the heading in docs/operations.md
ROTATION_REASON = (
    "These are credentials issued by OroCommerce (OAuth client, webhook HMAC secret) and Cin7 Core (API "
    "application key). Neither system lets AWS issue a new credential, so a rotation Lambda cannot rotate "
    f"them. They are rotated by the procedure in docs/operations.md, '{ROTATION_SECTION}': the new "
    "credential works before the service uses it and the old one is revoked after (the webhook accepts the "
    "current and the previous secret during a rotation), so no order is dropped."
)


def configured_secret_names(config: Config) -> dict[str, str]:
    """`secrets` key -> Secrets Manager name, for every entry that is set (skips `max_age_seconds`)."""
    return {key: value for key, value in config.secrets.model_dump().items() if isinstance(value, str)}


class ServiceSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: Config) -> None:
        super().__init__(scope, construct_id)
        self.by_key: dict[str, secretsmanager.Secret] = {}
        for key, name in configured_secret_names(config).items():
            secret = secretsmanager.Secret(
                self,
                pascal(key),
                secret_name=name,
                description=(
                    f"orosync secrets.{key}: replace the generated placeholder with the JSON object "
                    "described in shared/config.py (Secrets)."
                ),
                # The value is typed in by an operator; deleting the stack must not lose it.
                removal_policy=RemovalPolicy.RETAIN,
            )
            acknowledge(
                secret,
                ROTATION_REASON,
                "AwsSolutions-SMG4",
            )
            self.by_key[key] = secret
