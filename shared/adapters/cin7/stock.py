"""The ERP's availability for the stock flow (`shared.ports.StockSource`): Cin7 `/ref/productavailability`.

Every method is one ERP call through the shared rate budget of the application serving the `stock` flow.
"""

from __future__ import annotations

from shared.adapters.cin7.client import Cin7Client
from shared.adapters.cin7.models import Cin7Availability
from shared.domain.stock import AvailabilityRow


def availability_row(row: Cin7Availability) -> AvailabilityRow:
    return AvailabilityRow(
        erp_sku=row.SKU,
        location=row.Location or "",
        available=row.Available,
        bin=row.Bin or None,
        batch=row.Batch or None,
    )


class Cin7Stock:
    def __init__(self, client: Cin7Client) -> None:
        self.client = client

    @property
    def calls(self) -> int:
        return self.client.calls_by_flow.get(self.client.flow, 0)

    def availability_page(self, page: int, limit: int) -> tuple[list[AvailabilityRow], int]:
        rows, total = self.client.availability_page(page, limit)
        return [availability_row(r) for r in rows], total

    def availability_of(self, erp_sku: str) -> list[AvailabilityRow]:
        # `Sku` is an exact filter; one page holds every location, bin and batch of one SKU in practice,
        # and iter_availability pages on if it does not.
        return [availability_row(r) for r in self.client.iter_availability(sku=erp_sku) if r.SKU == erp_sku]

    def webhook_active(self, event_type: str) -> bool:
        return any(w.Type == event_type and w.IsActive for w in self.client.list_webhooks())
