"""Builds the app: the config named by context `config` (default config/example.yaml), one stack, cdk-nag."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App

from infra.nag import add_rule_packs
from infra.stack import OrosyncStack
from shared.config import load_config

CONFIG_CONTEXT = "config"
DEFAULT_CONFIG = "config/example.yaml"


def build(app: App) -> OrosyncStack:
    """Raises ConfigError (naming the bad key) before any construct exists if the config is invalid."""
    config_path = Path(app.node.try_get_context(CONFIG_CONTEXT) or DEFAULT_CONFIG).resolve()
    config = load_config(config_path)
    stack = OrosyncStack(app, config.service_name, config=config, config_path=config_path)
    add_rule_packs(stack)
    return stack
