"""The status gate: which storefront orders become ERP sales, and how."""

from datetime import UTC, datetime

import pytest

from shared.config import OrderAction, SubOrderSide
from shared.domain.gating import gate
from shared.domain.orders import StorefrontOrder

POLICY = {
    "open": OrderAction.CREATE_AUTHORISED,
    "pending": OrderAction.CREATE_DRAFT,
    "cancelled": OrderAction.VOID,
}


def _order(**kw):
    base = dict(
        id="1",
        identifier="1",
        status="open",
        customer_id="c",
        currency="USD",
        lines=(),
        updated_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    base.update(kw)
    return StorefrontOrder(**base)


@pytest.mark.parametrize(
    "status, action",
    [
        ("open", OrderAction.CREATE_AUTHORISED),
        ("pending", OrderAction.CREATE_DRAFT),
        ("cancelled", OrderAction.VOID),
        ("closed", OrderAction.IGNORE),
        ("processing", OrderAction.IGNORE),
    ],
)
def test_status_policy_decides_the_action(status, action):
    assert gate(_order(status=status), POLICY, SubOrderSide.CHILDREN).action is action


def test_multi_shipping_parent_is_ignored_when_children_are_synced():
    d = gate(_order(sub_order_ids=("2", "3")), POLICY, SubOrderSide.CHILDREN)
    assert d.action is OrderAction.IGNORE and "sub-orders" in d.reason
    assert gate(_order(parent_id="9"), POLICY, SubOrderSide.CHILDREN).action is OrderAction.CREATE_AUTHORISED


def test_sub_order_is_ignored_when_parent_is_synced():
    assert gate(_order(parent_id="9"), POLICY, SubOrderSide.PARENT).action is OrderAction.IGNORE
    assert (
        gate(_order(sub_order_ids=("2",)), POLICY, SubOrderSide.PARENT).action
        is OrderAction.CREATE_AUTHORISED
    )


EXTERNAL = {"wait_for_approval": OrderAction.CREATE_DRAFT, "on_review": OrderAction.HOLD}


@pytest.mark.parametrize(
    "status, external, action",
    [
        ("open", "wait_for_approval", OrderAction.CREATE_DRAFT),  # held back: approval pending
        ("open", "on_review", OrderAction.HOLD),
        ("pending", "on_review", OrderAction.HOLD),
        ("pending", "wait_for_approval", OrderAction.CREATE_DRAFT),
        ("open", "open", OrderAction.CREATE_AUTHORISED),  # an external status not in the policy
        ("open", None, OrderAction.CREATE_AUTHORISED),
        ("cancelled", "wait_for_approval", OrderAction.VOID),  # never turns a cancel into a sale
        ("closed", "wait_for_approval", OrderAction.IGNORE),  # never turns an ignored order into one
    ],
)
def test_external_status_only_holds_an_order_back(status, external, action):
    decision = gate(_order(status=status, external_status=external), POLICY, SubOrderSide.CHILDREN, EXTERNAL)
    assert decision.action is action
    if action is not POLICY.get(status, OrderAction.IGNORE):
        assert repr(external) in decision.reason


def test_external_status_policy_refuses_an_action_that_would_commit_more():
    from pydantic import ValidationError

    from shared.config import Orders

    with pytest.raises(ValidationError, match="can only hold an order back"):
        Orders.model_validate({"external_status_policy": {"approved": "create_authorised"}})
