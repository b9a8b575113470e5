"""The app refuses to synthesize from a bad config, and says which key is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from infra.app import CONFIG_CONTEXT, build
from shared.errors import ConfigError
from tests.infrastructure.conftest import REPO_ROOT

BAD_SCHEDULE = "every 5 minutes"


@pytest.fixture(scope="module")
def bad_config(write_config: Callable[[Callable[[dict[str, Any]], None]], Path]) -> Path:
    return write_config(lambda d: d["schedules"].update(order_poll=BAD_SCHEDULE))


def test_build_fails_naming_the_key_when_the_config_is_invalid(bad_config: Path) -> None:
    app = App(context={CONFIG_CONTEXT: str(bad_config)})

    with pytest.raises(ConfigError, match=r"schedules\.order_poll: 'every 5 minutes' is not an EventBridge"):
        build(app)
    assert app.node.children == []  # nothing half-built


def test_build_fails_naming_the_file_when_the_config_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="no such config file"):
        build(App(context={CONFIG_CONTEXT: str(missing)}))


def test_cdk_app_exits_with_the_key_named_when_the_config_is_invalid(bad_config: Path) -> None:
    # As the CDK CLI runs it: `python3 app.py` with the context passed through CDK_CONTEXT_JSON.
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({CONFIG_CONTEXT: str(bad_config)})}
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert "schedules.order_poll" in result.stderr
    assert "Traceback" not in result.stderr
