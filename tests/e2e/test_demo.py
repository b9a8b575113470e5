"""`make run` itself: `orosync demo` plays every scenario against its own embedded AWS and sandboxes, prints
one table row each, and exits 0 only if each ended as the rules say."""

from __future__ import annotations

from pathlib import Path

from cli.main import main
from local.demo import SCENARIOS

CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


def test_demo_plays_every_scenario_and_exits_0_when_each_ends_as_the_rules_say(capsys):
    code = main(["demo", "--config", str(CONFIG)])
    out = capsys.readouterr().out
    assert f"{len(SCENARIOS)}/{len(SCENARIOS)} scenarios ended as the rules say." in out, out
    assert code == 0
    rows = [line for line in out.splitlines() if line.rstrip().endswith((" OK", " FAIL"))]
    assert len(rows) == len(SCENARIOS) and all(r.rstrip().endswith(" OK") for r in rows)
