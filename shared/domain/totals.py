"""The order's money in ERP terms, exact to the cent (DESIGN §4.1 steps 3-4).

The ERP takes a price per unit with 4 decimals and checks each line's Total against Quantity × Price + Tax.
A storefront line total does not always divide into such a price (`100 cases of 12 at 100.00` is 1200 units
at 8.3333…), and an order-level discount has to land on the lines somewhere. So:

- the storefront keeps prices and totals to 4 decimals (`3 × 0.2375`): line totals are kept as it keeps them,
  never rounded to the cent line by line; lines whose exact totals need more than 4 decimals are brought to
  4 so that they still sum to the storefront's subtotal;
- the ERP takes one line per SKU: storefront lines sent as the same ERP SKU (eaches and cases of one
  product) are merged into one, quantities and totals summed (`merge_lines`);
- an order discount is allocated over the lines in proportion to their totals, to the cent, summing exactly;
- each line's price per ERP unit is rounded *down* to 4 decimals, so Quantity × Price never exceeds the
  line's net and the ERP's own check passes;
- what rounding down left over (never negative) is the order's `rounding`, sent as one rounding charge, so
  the sale total equals the storefront total exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

ERP_PLACES = Decimal("0.0001")
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def erp_amount(value: Decimal) -> Decimal:
    return value.quantize(ERP_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PricedLine:
    quantity: Decimal  # in ERP units
    price: Decimal  # per ERP unit, 4 decimals, rounded down
    net: Decimal  # the storefront line total after its share of the order discount, 4 decimals
    discount: Decimal  # that share

    @property
    def erp_net(self) -> Decimal:
        """Quantity × Price as the ERP holds it (4 decimals); never above `net`."""
        return erp_amount(self.quantity * self.price)

    @property
    def rounding(self) -> Decimal:
        return self.net - self.erp_net


def allocate(amount: Decimal, weights: Sequence[Decimal], quantum: Decimal = CENT) -> list[Decimal]:
    """`amount` (to the `quantum`, a cent by default) split over `weights` in proportion, to the quantum,
    summing to `amount` exactly: each share rounded down, then the quanta left over go to the largest
    remainders (first line on a tie)."""
    amount = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    total = sum(weights, Decimal(0))
    if not weights:
        if amount:
            raise ValueError(f"cannot allocate {amount} over no lines")
        return []
    if total <= 0:
        if amount:
            raise ValueError(f"cannot allocate {amount} over lines totalling {total}")
        return [Decimal(0).quantize(quantum) for _ in weights]
    exact = [amount * w / total for w in weights]
    shares = [e.quantize(quantum, rounding=ROUND_DOWN) for e in exact]
    left = int((amount - sum(shares, Decimal(0))) / quantum)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[:left]:
        shares[i] += quantum
    return shares


def merge_lines(lines: Sequence[tuple[str, Decimal, Decimal]]) -> list[tuple[str, Decimal, Decimal]]:
    """(ERP SKU, quantity, exact total) per storefront line → one per ERP SKU, in the order each SKU first
    appears, quantities and totals summed."""
    merged: dict[str, tuple[Decimal, Decimal]] = {}
    for sku, quantity, total in lines:
        q, t = merged.get(sku, (Decimal(0), Decimal(0)))
        merged[sku] = (q + quantity, t + total)
    return [(sku, q, t) for sku, (q, t) in merged.items()]


def price_lines(lines: Sequence[tuple[Decimal, Decimal]], discount: Decimal = Decimal(0)) -> list[PricedLine]:
    """(ERP quantity, storefront line total) per line, and the order discount → priced lines.

    A discount larger than the lines' total is refused: the ERP cannot hold a negative line."""
    exact = [total for _, total in lines]
    # 4 decimals as the storefront keeps them; a line needing more gets a share of the subtotal's rounding
    totals = allocate(erp_amount(sum(exact, Decimal(0))), exact, ERP_PLACES)
    if discount < 0:
        raise ValueError(f"discount {discount} is negative")
    if discount > sum(totals, Decimal(0)):
        raise ValueError(f"discount {discount} exceeds the lines' total {sum(totals, Decimal(0))}")
    shares = allocate(discount, totals)
    priced = []
    for (quantity, _), total, share in zip(lines, totals, shares, strict=True):
        if quantity <= 0:
            raise ValueError(f"quantity {quantity} is not positive")
        net = total - share
        price = (net / quantity).quantize(ERP_PLACES, rounding=ROUND_DOWN)
        priced.append(PricedLine(quantity=quantity, price=price, net=net, discount=share))
    return priced
