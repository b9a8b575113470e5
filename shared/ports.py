"""The protocols the flows need. Adapters implement them; tests may substitute pure in-memory ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from shared.domain.orders import (
    ErpCustomer,
    OrderVersion,
    SaleDraft,
    SaleRef,
    StorefrontCustomer,
    StorefrontOrder,
    TaxRate,
)
from shared.domain.stock import AvailabilityRow


class Clock(Protocol):
    def now(self) -> datetime: ...


class Storefront(Protocol):
    def get_order(self, order_id: str) -> StorefrontOrder: ...

    def get_customer(self, customer_id: str) -> StorefrontCustomer: ...

    def orders_updated_since(self, since: datetime) -> Iterable[OrderVersion]: ...


class Erp(Protocol):
    """The ERP, whichever it is. Every method is one budgeted API call unless it says otherwise."""

    def get_customer(self, customer_id: str) -> ErpCustomer | None: ...

    def tax_rates(self) -> Mapping[str, TaxRate]:
        """Tax rule name → its percent and whether prices under it include the tax."""
        ...

    def product_prices(self, sku: str) -> Mapping[str, Decimal] | None:
        """Price per tier name for one ERP SKU; None if the ERP has no such SKU."""
        ...

    def find_sale(self, external_id: str) -> SaleRef | None: ...

    def sales_created_since(self, since: datetime, external_id_prefix: str) -> dict[str, str]:
        """ExternalID → sale id of the sales created since `since` carrying the prefix: one call per page
        of 1000 sales."""
        ...

    def create_sale(self, draft: SaleDraft) -> str:
        """Creates the sale header; returns its id."""
        ...

    def add_sale_lines(self, sale_id: str, draft: SaleDraft) -> None: ...

    def update_sale_header(self, sale_id: str, draft: SaleDraft) -> None:
        """Rewrites the header (customer, references, addresses) of a sale that is still DRAFT."""
        ...

    def void_sale(self, sale_id: str) -> None: ...

    @property
    def calls(self) -> int:
        """ERP calls made through this instance so far (a product metric)."""
        ...


class WorkQueue(Protocol):
    def send(self, message: Mapping[str, Any], delay_seconds: int = 0) -> str: ...


class StockSource(Protocol):
    """The ERP's availability (DESIGN §4.2): one ERP call per method call."""

    def availability_page(self, page: int, limit: int) -> tuple[list[AvailabilityRow], int]:
        """One page of every SKU's availability rows, and how many rows there are in all."""
        ...

    def availability_of(self, erp_sku: str) -> list[AvailabilityRow]:
        """The availability rows of one SKU (every location, bin and batch)."""
        ...

    def webhook_active(self, event_type: str) -> bool:
        """Whether a webhook for `event_type` is registered and active in the ERP."""
        ...

    @property
    def calls(self) -> int: ...


@dataclass(frozen=True)
class UnitLevel:
    level_id: str
    quantity: Decimal  # what the storefront shows now (its checkouts decrement it)


@dataclass(frozen=True)
class ProductStock:
    """A storefront product as the stock flow sees it: its inventory level per unit and its status."""

    sku: str
    product_id: str
    levels: dict[str, UnitLevel]  # unit code -> level
    status: str | None  # in_stock | out_of_stock | discontinued


@dataclass(frozen=True)
class OperationResult:
    finished: bool
    failed: dict[int, str] = field(default_factory=dict)  # record index in the request -> why


class StockTarget(Protocol):
    """The storefront's inventory levels and product inventory statuses."""

    def products(self, skus: Iterable[str]) -> dict[str, ProductStock]:
        """The products with these SKUs that exist (a missing SKU is simply absent)."""
        ...

    def set_level(self, level_id: str, quantity: Decimal) -> None: ...

    def set_status(self, product_id: str, status: str) -> None: ...

    def submit_levels(self, levels: Iterable[tuple[str, Decimal]]) -> str:
        """Many levels in one asynchronous batch; returns the operation to check."""
        ...

    def submit_statuses(self, statuses: Iterable[tuple[str, str]]) -> str: ...

    def operation(self, operation_id: str) -> OperationResult: ...
