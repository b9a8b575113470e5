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
