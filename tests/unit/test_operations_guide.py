"""The operations guide, the exceptions catalogue and the alarms stay in step (docs/operations.md is partly
generated: `make docs`)."""

from __future__ import annotations

import re

import pytest

from shared.alarms import alarm_specs
from shared.config import Team, load_config
from shared.domain.exceptions_catalogue import CATALOGUE
from shared.operations_guide import EXAMPLE_CONFIG, GUIDE, render

CONFIG = load_config(EXAMPLE_CONFIG)


def test_the_guide_says_what_the_code_says():
    text = GUIDE.read_text()
    assert render(text, CONFIG) == text, "docs/operations.md is out of date: run `make docs`"


def test_every_exception_and_every_alarm_has_its_row_in_the_guide():
    text = GUIDE.read_text()
    for code in CATALOGUE:
        assert re.search(rf"^\| `{code}` \|", text, re.M), code
    for spec in alarm_specs(CONFIG):
        assert re.search(rf"^\| `{spec.id}` \| {spec.team.value} \|", text, re.M), spec.id


def test_a_stale_guide_is_caught():
    text = GUIDE.read_text().replace("| `ORDER_GHOST` |", "| `ORDER_GHOSTED` |")
    assert render(text, CONFIG) != text


def test_a_guide_without_its_generated_sections_is_named():
    with pytest.raises(ValueError, match="generated:alarms"):
        render("# guide\n<!-- generated:catalogue -->\n<!-- /generated:catalogue -->\n", CONFIG)


def test_every_team_hears_its_own_exceptions_past_their_sla():
    ids = {(a.id, a.team) for a in alarm_specs(CONFIG)}
    for team in Team:
        assert (f"{''.join(p.title() for p in team.value.split('_'))}ExceptionsPastSla", team) in ids
