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


# From the most to the least committing: an external status may move an order down this list, never up.
_CREATES = (OrderAction.CREATE_AUTHORISED, OrderAction.CREATE_DRAFT, OrderAction.HOLD)


def gate(
    order: StorefrontOrder,
    policy: Mapping[str, OrderAction],
    sub_orders: SubOrderSide,
    external_policy: Mapping[str, OrderAction] | None = None,
) -> GateDecision:
    if order.sub_order_ids and sub_orders is SubOrderSide.CHILDREN:
        return GateDecision(OrderAction.IGNORE, "multi-shipping parent order: its sub-orders are synced")
    if order.parent_id and sub_orders is SubOrderSide.PARENT:
        return GateDecision(OrderAction.IGNORE, f"sub-order of {order.parent_id}: the parent order is synced")
    action = policy.get(order.status)
    if action is None:
        return GateDecision(OrderAction.IGNORE, f"status {order.status!r} is not in the status policy")
    # An order created from a quote is an order; a quote itself never reaches this function as an order.
    held_back = (external_policy or {}).get(order.external_status or "")
    if action in _CREATES and held_back is not None and _CREATES.index(held_back) > _CREATES.index(action):
        return GateDecision(
            held_back,
            f"status {order.status!r} → {action.value}, held back by external status "
            f"{order.external_status!r} → {held_back.value}",
        )
    return GateDecision(action, f"status {order.status!r} → {action.value}")
