"""The Cin7 `Customer/Updated` webhook body (shared/adapters/cin7/webhook.py): any bytes either give the
customer IDs it names or a `BadWebhook` naming the problem, never another exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.adapters.cin7.webhook import (
    CUSTOMER_EVENT,
    parse_customer_event,
    wanted_webhooks,
)
from shared.adapters.orocommerce.webhook import BadWebhook

CIN7_ID = st.uuids().map(str)
DETAIL = st.fixed_dictionaries(
    {"Customer": st.fixed_dictionaries({"ID": CIN7_ID}, optional={"IsOnCreditHold": st.booleans()})},
    optional={
        "Addresses": st.just([]),
        "Contacts": st.lists(st.fixed_dictionaries({"ID": CIN7_ID}), max_size=1),
    },
)
ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def _body(details: object, **extra: object) -> bytes:
    return json.dumps(
        {"NumberOfCustomers": 1, "CustomerDetailsList": details, "EventType": CUSTOMER_EVENT, **extra}
    ).encode()


@given(st.lists(st.one_of(DETAIL, st.sampled_from([{"Customer": {"ID": ID}}])), max_size=10))
def test_the_ids_of_the_details_each_once_in_first_seen_order(details: list[dict[str, object]]) -> None:
    ids = parse_customer_event(_body(details))
    assert ids == list(dict.fromkeys(str(d["Customer"]["ID"]) for d in details))  # type: ignore[index]


@given(st.binary(max_size=300))
def test_any_bytes_give_ids_or_a_named_problem(raw: bytes) -> None:
    try:
        ids = parse_customer_event(raw)
    except BadWebhook as err:
        assert str(err)
    else:
        assert all(isinstance(i, str) and len(i) == 36 for i in ids)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=15,
    )
)
def test_any_json_gives_ids_or_a_named_problem(value: object) -> None:
    for body in (value, {"CustomerDetailsList": value}, {"CustomerDetailsList": [value]}):
        try:
            parse_customer_event(json.dumps(body).encode())
        except BadWebhook as err:
            assert str(err)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (json.dumps([{"Customer": {"ID": ID}}]).encode(), "must be a JSON object"),
        (json.dumps({"EventType": CUSTOMER_EVENT}).encode(), "CustomerDetailsList: missing"),
        (_body({"Customer": {"ID": ID}}), "CustomerDetailsList: missing or not an array"),
        (_body([{"Customer": {"ID": ID}}], EventType="Product/Updated"), "EventType: 'Product/Updated'"),
        (_body([7]), r"CustomerDetailsList\[0\]: an entry must be an object"),
        (_body([{"Addresses": []}]), r"CustomerDetailsList\[0\]\.Customer: missing"),
        (_body([{"Customer": {"ID": ID}}, {"Customer": {"Name": "Acme"}}]), r"\[1\]\.Customer\.ID: missing"),
        (_body([{"Customer": {"ID": "1/../2"}}]), r"\[0\]\.Customer\.ID: missing or not a Cin7 ID"),
        (_body([{"Customer": {"ID": 42}}]), r"\[0\]\.Customer\.ID"),
        (b"\xff", "not UTF-8"),
    ],
)
def test_a_body_that_cannot_be_used_is_named(body: bytes, problem: str) -> None:
    with pytest.raises(BadWebhook, match=problem):
        parse_customer_event(body)


def test_an_empty_list_names_no_customer() -> None:
    assert parse_customer_event(_body([])) == []
    assert parse_customer_event(json.dumps({"CustomerDetailsList": [{"Customer": {"ID": ID}}]}).encode()) == [
        ID
    ]


def test_the_customer_webhook_is_wanted_only_when_customers_are_onboarded() -> None:
    assert wanted_webhooks(stock_fast_path=False, prices_from_erp=False) == []
    assert wanted_webhooks(stock_fast_path=False, prices_from_erp=False, customers=True) == [
        (CUSTOMER_EVENT, "/webhooks/cin7/customer")
    ]
