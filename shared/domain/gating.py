"""Which storefront orders become ERP sales, and how (DESIGN §4.1 step 1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.config import OrderAction, SubOrderSide
from shared.domain.orders import StorefrontOrder


@dataclass(frozen=True)
class GateDecision:
    action: OrderAction
    reason: str


def gate(order: StorefrontOrder, policy: Mapping[str, OrderAction], sub_orders: SubOrderSide) -> GateDecision:
    if order.sub_order_ids and sub_orders is SubOrderSide.CHILDREN:
        return GateDecision(OrderAction.IGNORE, "multi-shipping parent order: its sub-orders are synced")
    if order.parent_id and sub_orders is SubOrderSide.PARENT:
        return GateDecision(OrderAction.IGNORE, f"sub-order of {order.parent_id}: the parent order is synced")
    action = policy.get(order.status)
    if action is None:
        return GateDecision(OrderAction.IGNORE, f"status {order.status!r} is not in the status policy")
    # An order created from a quote is an order; a quote itself never reaches this function as an order.
    return GateDecision(action, f"status {order.status!r} → {action.value}")
