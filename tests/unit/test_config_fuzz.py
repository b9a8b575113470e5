"""`orosync config validate` over mutated configs: every file gets "valid" or a named error, never a traceback.

Hypothesis mutates the example config three ways (its bytes, its structure, its schedules), about 650 files
in all, each run through the CLI's own entry function in-process; a sample of the nastiest runs through the
real `orosync` executable. A config that validates must also be one the local runtime accepts.
"""

from __future__ import annotations

import copy
import io
import json
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main as orosync
from local.cli import check_schedules
from shared.config import load_config
from shared.resources import FUNCTIONS

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"
EXAMPLE_BYTES = EXAMPLE.read_bytes()
EXAMPLE_DATA = yaml.safe_load(EXAMPLE_BYTES)
FUZZ = settings(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])

# Text that a dumper would never write, put into a file in place of a value.
RAW = [
    "9" * 5000,  # past Python's 4300-digit limit for int()
    "-" + "1" * 4400,
    "[" * 5000 + "]" * 5000,
    "{a: " * 3000 + "1" + "}" * 3000,
    "&loop [*loop]",  # a list that contains itself
    "*undefined",
    "!!python/object/apply:os.system [echo]",
    "!!binary not-base64",
    "!!timestamp 2026-13-45",
    "!!int 0x",
    "!!float nope",
    "{a: 1, a: 2}",
    "? [1, 2]\n  : x",
    ".inf",
    "-.inf",
    ".nan",
    "1e999",
    "0o777",
    "2026-12-01T09:00:00+25:00",
    "'\\ud800'",
    '"\\ud800"',
    "\x00",
    "\ufeff",
    "|\n  multi\n  line",
]
CRON_TOKENS = [
    *"* ? 0 1 7 12 23 31 59 60 2026 2300".split(),
    *"1-5 5-1 */5 0/15 1/ /5 */0 1,2 1,,2 -1 MON FRI MON-FRI SUN-SAT JAN DEC JAN-JUN FOO".split(),
    *"L 5L LW 15W 3#2 ² ٣ 99999 99999999999999999999".split(),
    "",
]
SCHEDULE_KEYS = ["order_poll", "stock_sync", "fulfilment_poll", "reconcile"]


def validate(path: Path) -> tuple[int, str]:
    """`orosync config validate PATH` in this process: (exit code, stderr). Any exception escapes."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = orosync(["config", "validate", str(path)])
    return code, err.getvalue()


def assert_named_outcome(path: Path) -> None:
    code, err = validate(path)
    assert code in (0, 1)
    if code == 1:
        assert err.startswith(f"{path}: "), err  # names the file, then the problem
        assert "Traceback" not in err
        return
    # What validate accepts, the local runtime accepts too.
    cfg = load_config(path)
    check_schedules(cfg)
    for spec in FUNCTIONS:
        for flow in spec.erp_flows:
            cfg.erp.application_for(flow)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


# --------------------------------------------------------------------------------------- mutations


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(EXAMPLE_BYTES)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "duplicate_line", "truncate", "raw"]))
        i = draw(st.integers(0, len(data)))
        if op == "flip" and i < len(data):
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 40))]
        elif op == "duplicate_line":
            lines = bytes(data).splitlines(keepends=True)
            j = draw(st.integers(0, max(0, len(lines) - 1)))
            data = bytearray(b"".join([*lines[: j + 1], *lines[j:]]))
        elif op == "truncate":
            del data[i:]
        elif op == "raw":
            data[i:i] = draw(st.sampled_from(RAW)).encode("utf-8", "surrogatepass")
    return bytes(data)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


PATHS = list(_paths(EXAMPLE_DATA))
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats()
    | st.decimals(allow_nan=False).map(str)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def schedule_expressions(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        n = draw(st.sampled_from([-1, 0, 1, 2, 5, 60, 527040, 10**12]))
        unit = draw(st.sampled_from(["minute", "minutes", "hour", "hours", "day", "days", "week"]))
        return f"rate({n} {unit})"
    fields = draw(st.lists(st.sampled_from(CRON_TOKENS), min_size=4, max_size=7))
    return f"cron({draw(st.sampled_from([' ', '  ', chr(9)])).join(fields)})"


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


_DELETE = object()


@st.composite
def mutated_structures(draw: st.DrawFn) -> tuple[str, str]:
    """(file suffix, text): the example with values replaced, removed or added, dumped as YAML or JSON."""
    data = copy.deepcopy(EXAMPLE_DATA)
    raws: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        try:
            kind = draw(st.sampled_from(["value", "raw", "delete", "add_key"]))
            if kind == "value":
                _set(data, path, draw(JSON_VALUES))
            elif kind == "raw":
                raws.append(draw(st.sampled_from(RAW)))
                _set(data, path, f"__RAW{len(raws) - 1}__")
            elif kind == "delete":
                _set(data, path, _DELETE)
            else:
                _set(data, (*path, draw(st.text(min_size=1, max_size=8))), draw(JSON_VALUES))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path's parent
    suffix = draw(st.sampled_from([".yaml", ".json"]))
    if suffix == ".json":
        text = json.dumps(data)
        for i, raw in enumerate(raws):
            text = text.replace(f'"__RAW{i}__"', raw)
    else:
        text = yaml.safe_dump(data, sort_keys=False, width=1_000_000)
        for i, raw in enumerate(raws):
            text = text.replace(f"__RAW{i}__", raw.replace("\n", "\n    "))
    return suffix, text


# --------------------------------------------------------------------------------------- the fuzz runs


@settings(FUZZ, max_examples=250)
@given(content=mutated_bytes())
def test_byte_mutated_config_is_valid_or_a_named_error(workdir: Path, content: bytes) -> None:
    path = workdir / "bytes.yaml"
    path.write_bytes(content)
    assert_named_outcome(path)


@settings(FUZZ, max_examples=250)
@given(mutated=mutated_structures())
def test_structure_mutated_config_is_valid_or_a_named_error(workdir: Path, mutated: tuple[str, str]) -> None:
    suffix, text = mutated
    path = workdir / f"structure{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert_named_outcome(path)


@settings(FUZZ, max_examples=150)
@given(key=st.sampled_from(SCHEDULE_KEYS), expression=schedule_expressions())
def test_schedule_mutated_config_is_valid_or_a_named_error(workdir: Path, key: str, expression: str) -> None:
    data = copy.deepcopy(EXAMPLE_DATA)
    data.setdefault("schedules", {})[key] = expression
    path = workdir / "schedule.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert_named_outcome(path)


def _sample() -> Iterator[tuple[str, bytes, bool]]:
    """(name, content, always an error): the nastiest inputs, and seeded byte mutations."""
    yield "binary.yaml", bytes(range(256)) * 4, True
    yield "latin1.yaml", EXAMPLE_BYTES.replace(b"orosync", "orosync-caf\xe9".encode("latin-1"), 1), True
    yield "deep.json", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", True
    yield "deep.yaml", b"a: " + b"[" * 100_000 + b"]" * 100_000, True
    yield "huge.yaml", EXAMPLE_BYTES.replace(b"page_size: 100", b"page_size: " + b"9" * 5000), True
    yield "duplicate.yaml", EXAMPLE_BYTES + b"service_name: other\n", True
    yield "cron.yaml", EXAMPLE_BYTES + b"schedules: {reconcile: 'cron(0 0 ? * ? *)'}\n", True
    yield "loop.yaml", EXAMPLE_BYTES.replace(b"units:", b"units: &loop [*loop]\nunused:", 1), True
    rng = random.Random(8)
    for n in range(4):
        data = bytearray(EXAMPLE_BYTES)
        for _ in range(3):
            data[rng.randrange(len(data))] = rng.randrange(256)
        yield f"random{n}.yaml", bytes(data), False


def test_the_orosync_executable_names_the_problem_without_a_traceback(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("orosync")
    for name, content, always_an_error in _sample():
        path = tmp_path / name
        path.write_bytes(content)
        done = subprocess.run(  # noqa: S603 - our own executable, our own temp file
            [executable, "config", "validate", str(path)], capture_output=True, text=True, timeout=60
        )
        assert "Traceback" not in done.stderr, (name, done.stderr)
        assert done.returncode in ((1,) if always_an_error else (0, 1)), (name, done.stderr)
        if done.returncode == 1:
            assert done.stderr.startswith(f"{path}: "), (name, done.stderr)
