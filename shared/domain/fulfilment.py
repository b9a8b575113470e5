"""Fulfilment rules (DESIGN §4.4): how much of each Oro line Cin7 has shipped, the order's shipping status, and
the order-to-cash status that goes back to the storefront. Pure: no I/O.

- **Shipped per line** (`shipped_per_line`): Cin7 ships ERP SKUs in base units; an Oro line is in its own unit
  (`2 cases of 12` = 24 WID-100). The base units shipped of a SKU are given to the order's lines of that SKU in
  line order, each up to what it ordered, and read back in the line's unit (`12` shipped of a 2-case line is
  `1` case; `6` is `0.5`). What is shipped beyond the order (a substitution, a short order) is reported.
- **Shipping status** (`shipping_status`): `shipped` when every line is wholly shipped, `partially_shipped`
  when anything is, else `not_shipped` (Oro's `order_shipping_status` codes).
- **Never backwards** (`forward`): events arrive repeated and out of order, and each re-read of the sale is
  the truth at that moment; the status Oro shows only ever moves forward along `STAGES` (`cancelled` is
  terminal: it only comes from a void).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal

ZERO = Decimal(0)

SHIPPING = ("not_shipped", "partially_shipped", "shipped")
# the order-to-cash stages an Oro order's external status walks through (`fulfilment.external_status`)
STAGES = ("open", "shipped", "invoiced", "paid")
CANCELLED = "cancelled"


@dataclass(frozen=True)
class LineUnits:
    """One Oro order line as Cin7 holds it: its ERP SKU and how many base units one Oro unit is."""

    line_id: str
    erp_sku: str
    factor: Decimal  # base units per Oro unit
    quantity: Decimal  # in the Oro unit


@dataclass(frozen=True)
class LineShipped:
    line_id: str
    quantity: Decimal  # ordered, Oro unit
    factor: Decimal
    shipped_base: Decimal  # shipped, in the ERP's base units (exact)

    @property
    def shipped(self) -> Decimal:
        """Shipped in the line's Oro unit, to Oro's 4 decimals, rounded down (7 of a case of 6 is 1.1666)."""
        if not self.factor:
            return ZERO
        return (self.shipped_base / self.factor).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)

    @property
    def complete(self) -> bool:
        return self.shipped_base >= self.quantity * self.factor


@dataclass(frozen=True)
class Progress:
    lines: tuple[LineShipped, ...]
    extra: Mapping[str, Decimal]  # ERP SKU -> base units shipped beyond (or outside) the order

    @property
    def status(self) -> str:
        return shipping_status(self.lines)


def shipped_per_line(lines: Sequence[LineUnits], shipped: Mapping[str, Decimal]) -> Progress:
    left = {sku: Decimal(q) for sku, q in shipped.items() if q > 0}
    out: list[LineShipped] = []
    for line in lines:
        want = line.quantity * line.factor
        take = min(want, left.get(line.erp_sku, ZERO))
        if take:
            left[line.erp_sku] -= take
        out.append(LineShipped(line.line_id, line.quantity, line.factor, take))
    return Progress(tuple(out), {sku: q for sku, q in left.items() if q > 0})


def shipping_status(lines: Iterable[LineShipped]) -> str:
    lines = list(lines)
    if lines and all(line.complete for line in lines):
        return "shipped"
    if any(line.shipped_base > 0 for line in lines):
        return "partially_shipped"
    return "not_shipped"


def forward(current: str | None, new: str, order: Sequence[str]) -> str:
    """`new` if it is further along `order` than `current` (or `current` is unknown), else `current`."""
    if current is None or current not in order:
        return new
    if new not in order:
        return current
    return new if order.index(new) > order.index(current) else current


def stage(*, shipping: str, invoiced: bool, paid: bool) -> str:
    """How far the order has gone to cash: paid, invoiced, shipped (wholly), or open."""
    if paid:
        return "paid"
    if invoiced:
        return "invoiced"
    if shipping == "shipped":
        return "shipped"
    return "open"


def tenant_date(text: str | None) -> datetime | None:
    """Cin7's webhook dates are the tenant's `dd/MM/yyyy` (reference §7): midnight UTC that day; None for
    anything else (the event is only a hint: the sale is re-read)."""
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y").replace(tzinfo=UTC)
    except ValueError:
        return None
