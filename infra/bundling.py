"""The one code asset every function runs: functions/, shared/, the validated config and the runtime
dependencies from pyproject.toml, built without Docker.

`pip install --platform ... --only-binary=:all:` fetches the Linux arm64 / CPython wheels of the Lambda
runtime on any machine, so a laptop or CI runner builds the same bundle Docker would. Tests skip this
step with CDK's own switch (context `aws:cdk:bundling-stacks` = []): the asset then points at the source
folder and pip never runs.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parents[1]
# The packages a handler imports; everything else in the repo stays out of the bundle.
PACKAGES = ("functions", "shared")

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
_PIP_PLATFORM = "manylinux2014_aarch64"  # must match ARCHITECTURE
_PYTHON_VERSION = RUNTIME.name.removeprefix("python")  # "3.12": wheels for the runtime, not for this machine

LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the bundle


def bundled_config_name(config_path: Path) -> str:
    # The suffix is kept: load_config reads JSON or YAML by it.
    return f"orosync-config{config_path.suffix}"


def bundled_config_path(config_path: Path) -> str:
    """The value of OROSYNC_CONFIG inside a function."""
    return f"{LAMBDA_TASK_ROOT}/{bundled_config_name(config_path)}"


def runtime_requirements() -> list[str]:
    """The pinned runtime dependencies of pyproject.toml: the bundle runs exactly what the tests run."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["dependencies"])


_PIP_OPTIONS = (
    "--quiet", "--no-input", "--disable-pip-version-check", "--no-compile",
    "--platform", _PIP_PLATFORM,
    "--implementation", "cp",
    "--python-version", _PYTHON_VERSION,
    "--only-binary=:all:",
)  # fmt: skip


def _package_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


@jsii.implements(ILocalBundling)
class LocalBundling:
    """Builds the asset in `output_dir` on this machine; never falls back to Docker."""

    def __init__(self, config_path: Path, requirements: list[str]) -> None:
        self._config_path = config_path
        self._requirements = requirements

    def fingerprint(self) -> str:
        """Changes when anything that goes into the bundle changes, so CDK re-bundles only then."""
        digest = hashlib.sha256()
        for part in (*_PIP_OPTIONS, *self._requirements):
            digest.update(part.encode() + b"\0")
        for path in _package_files():
            digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
        digest.update(
            bundled_config_name(self._config_path).encode() + b"\0" + self._config_path.read_bytes()
        )
        return digest.hexdigest()

    def try_bundle(self, output_dir: str, *_options: Any, **_kw_options: Any) -> bool:
        # jsii passes the BundlingOptions as one positional struct (the typed interface spells them as
        # keywords); nothing in them is needed here.
        command = [sys.executable, "-m", "pip", "install", *_PIP_OPTIONS, "--target", output_dir]
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [*command, *self._requirements], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"bundling: pip could not fetch the {_PIP_PLATFORM} wheels for Python {_PYTHON_VERSION}:\n"
                f"{result.stderr[-2000:]}"
            )
        out = Path(output_dir)
        for path in _package_files():
            target = out / path.relative_to(REPO_ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        shutil.copyfile(self._config_path, out / bundled_config_name(self._config_path))
        return True


def function_code(config_path: Path) -> lambda_.Code:
    """One asset for every function (each runs its own `functions.<name>.handler`)."""
    bundler = LocalBundling(config_path, runtime_requirements())
    return lambda_.Code.from_asset(
        str(REPO_ROOT),
        asset_hash=bundler.fingerprint(),
        bundling=BundlingOptions(
            # Required by the API; never pulled, because the local bundler always succeeds or raises.
            image=RUNTIME.bundling_image,
            local=bundler,
        ),
    )
