"""The protocols the flows need. Adapters implement them; tests may substitute pure in-memory ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
