"""The storefront's inventory for the stock flow (`shared.ports.StockTarget`): OroCommerce `inventorylevels`
(one per product and unit precision, absolute quantities, reference §8) and the product `inventory_status`,
which Oro never sets back to in stock by itself."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from shared.adapters.orocommerce.client import OroClient
from shared.ports import OperationResult, ProductStock, UnitLevel


class OroInventory:
    def __init__(self, client: OroClient) -> None:
        self.client = client

    def products(self, skus: Iterable[str]) -> dict[str, ProductStock]:
        found = {p.id: p for p in self.client.iter_products(skus, with_units=False)}
        levels: dict[str, dict[str, UnitLevel]] = {pid: {} for pid in found}
        if found:
            for level in self.client.iter_inventory_levels(found):
                if level.product_id in levels and level.unit:
                    levels[level.product_id][level.unit] = UnitLevel(level.id, level.quantity)
        return {
            p.sku: ProductStock(sku=p.sku, product_id=pid, levels=levels[pid], status=p.inventory_status)
            for pid, p in found.items()
        }

    def set_level(self, level_id: str, quantity: Decimal) -> None:
        self.client.update_inventory_level(level_id, quantity)

    def set_status(self, product_id: str, status: str) -> None:
        self.client.set_inventory_status(product_id, status)

    def submit_levels(self, levels: Iterable[tuple[str, Decimal]]) -> str:
        return self.client.update_inventory_levels_batch(levels)

    def submit_statuses(self, statuses: Iterable[tuple[str, str]]) -> str:
        return self.client.set_inventory_statuses_batch(statuses)

    def operation(self, operation_id: str) -> OperationResult:
        op = self.client.get_async_operation(operation_id)
        if not op.finished:
            return OperationResult(finished=False)
        if not op.has_errors:
            return OperationResult(finished=True)
        if op.status != "success":  # failed or cancelled as a whole: nothing can be taken as applied
            return OperationResult(finished=True, failed={-1: f"operation {op.status}"})
        failed: dict[int, str] = {}
        for error in self.client.get_async_operation_errors(operation_id):
            index = error.record_index
            failed[index if index is not None else -1] = error.detail or error.title or "error"
        return OperationResult(finished=True, failed=failed)
