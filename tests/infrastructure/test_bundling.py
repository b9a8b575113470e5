"""Local bundling, checked without pip: what goes into the asset, and when CDK must rebuild it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import bundling
from infra.bundling import LocalBundling, bundled_config_name, runtime_requirements
from tests.infrastructure.conftest import EXAMPLE_CONFIG


@pytest.fixture
def pip_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def fake_run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(bundling.subprocess, "run", fake_run)
    return calls


def test_bundle_holds_the_packages_and_the_config_when_bundled(tmp_path: Path, pip_calls) -> None:
    assert LocalBundling(EXAMPLE_CONFIG, ["pyyaml==6.0.3"]).try_bundle(str(tmp_path)) is True

    assert (tmp_path / "functions" / "__init__.py").is_file()
    assert (tmp_path / "shared" / "config.py").is_file()
    assert (tmp_path / bundled_config_name(EXAMPLE_CONFIG)).read_bytes() == EXAMPLE_CONFIG.read_bytes()
    assert not list(tmp_path.rglob("__pycache__"))


def test_pip_fetches_linux_arm64_wheels_for_the_runtime_when_bundling(tmp_path: Path, pip_calls) -> None:
    LocalBundling(EXAMPLE_CONFIG, ["pyyaml==6.0.3"]).try_bundle(str(tmp_path))

    (command,) = pip_calls
    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--python-version 3.12" in joined
    assert "--only-binary=:all:" in command
    assert command[command.index("--target") + 1] == str(tmp_path)
    assert command[-1] == "pyyaml==6.0.3"


def test_bundling_fails_with_pip_output_when_pip_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        bundling.subprocess,
        "run",
        lambda command, **_: subprocess.CompletedProcess(command, 1, "", "No matching distribution for nope"),
    )
    with pytest.raises(RuntimeError, match="No matching distribution for nope"):
        LocalBundling(EXAMPLE_CONFIG, ["nope"]).try_bundle(str(tmp_path))


def test_fingerprint_changes_when_the_config_or_the_requirements_change(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(EXAMPLE_CONFIG.read_text().replace("rate(5 minutes)", "rate(6 minutes)"))
    base = LocalBundling(EXAMPLE_CONFIG, ["pyyaml==6.0.3"]).fingerprint()

    assert LocalBundling(EXAMPLE_CONFIG, ["pyyaml==6.0.3"]).fingerprint() == base
    assert LocalBundling(other, ["pyyaml==6.0.3"]).fingerprint() != base
    assert LocalBundling(EXAMPLE_CONFIG, ["pyyaml==6.0.2"]).fingerprint() != base


def test_requirements_are_the_pinned_runtime_dependencies_when_read_from_pyproject() -> None:
    requirements = runtime_requirements()
    assert requirements and all("==" in r for r in requirements)


def test_bundle_includes_the_xray_sdk_when_functions_trace() -> None:
    assert any(r.startswith(("aws-lambda-powertools[tracer", "aws-xray-sdk")) for r in runtime_requirements())
