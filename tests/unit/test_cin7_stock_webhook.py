"""The Cin7 stock webhook's body and secret (shared/adapters/cin7/webhook.py): any bytes either give the SKUs
it names or a `BadWebhook` naming the problem, never another exception; the secret matches exactly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.adapters.cin7.webhook import MAX_SKU_CHARS, availability_skus, secret_valid
from shared.adapters.orocommerce.webhook import BadWebhook

ROW = st.fixed_dictionaries(
    {"SKU": st.text(min_size=1, max_size=MAX_SKU_CHARS).filter(str.strip)},
    optional={
        "Location": st.text(max_size=20),
        "Available": st.one_of(st.integers(), st.decimals(allow_nan=False, allow_infinity=False).map(str)),
        "MaxRows": st.integers(0, 10),
    },
)


@given(st.lists(ROW, max_size=30))
def test_the_skus_of_an_array_of_rows_each_once_in_first_seen_order(rows: list[dict[str, object]]) -> None:
    skus = availability_skus(json.dumps(rows).encode())
    assert skus == list(dict.fromkeys(str(r["SKU"]) for r in rows))


@given(st.binary(max_size=300))
def test_any_bytes_give_skus_or_a_named_problem(raw: bytes) -> None:
    try:
        skus = availability_skus(raw)
    except BadWebhook as err:
        assert str(err)
    else:
        assert all(isinstance(s, str) and s.strip() for s in skus)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"EventType": "Stock/AvailableStockLevelChanged"}, "JSON array"),
        ([1], "[0]: an availability row must be an object"),
        ([{"Available": 3}], "[0].SKU: missing"),
        ([{"SKU": "   "}], "[0].SKU: missing"),
        ([{"SKU": "x" * (MAX_SKU_CHARS + 1)}], "longer than"),
    ],
)
def test_a_body_that_cannot_be_used_is_named(body: object, problem: str) -> None:
    with pytest.raises(BadWebhook, match=problem.replace("[", r"\[").replace("]", r"\]")):
        availability_skus(json.dumps(body).encode())


@given(st.text(max_size=40), st.text(min_size=1, max_size=40))
def test_only_the_exact_secret_matches(given_value: str, secret: str) -> None:
    assert secret_valid(given_value, [secret]) == (given_value == secret and given_value.isascii())


def test_the_previous_secret_still_matches_during_a_rotation_and_nothing_matches_no_header() -> None:
    assert secret_valid("old", ["new", "old"])
    assert not secret_valid(None, ["new"]) and not secret_valid("", ["new", ""])
