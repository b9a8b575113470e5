"""The lines of a wholesaler's everyday orders (DESIGN §4.1 steps 3-4), each through the whole local service
over real HTTP: the order placed in the Oro sandbox, the webhook, order_sync, the Cin7 sandbox sale.

Units agree with Oro's conversionRate; 4-decimal contract prices pass; one SKU ordered twice (each and case,
or two lines) is one Cin7 line; nothing the ERP would refuse reaches it after the sale header; in `erp`
pricing mode the price checked is the one Cin7 charges the customer (its own price, or its tier less its
discount). The service runs in `erp` pricing mode here; Acme Holdings buys at the Contract tier.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from cli.main import main
from tests.fixtures.order_env import OrderWorld, order_config, order_world

D = Decimal


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("order-lines")
    with order_world(workdir, aws_server, order_config(workdir, **{"pricing.authority": "erp"})) as w:
        yield w


def _lines(sale) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal]]:
    """(SKU, quantity, price, tax, total) of the sale's order lines, in order."""
    assert sale.Order is not None, "the sale has no order stage"
    return [(ln.SKU, ln.Quantity, ln.Price, ln.Tax, ln.Total) for ln in sale.Order.Lines]


def _oro_total(world: OrderWorld, order_id: str) -> Decimal:
    return D(world.get_order(order_id)["attributes"]["totalValue"])


def _held(world: OrderWorld, order_id: str, code: str) -> list[str]:
    """The order is held for `code` (and only that), with no Cin7 sale; its reasons."""
    state = world.state.get_order(order_id)
    assert state.status == "held", (state.status, state.reasons)
    assert set(world.exceptions(order_id)) == {code}, state.reasons
    assert world.sales(order_id) == []
    return state.reasons


def _precision(world: OrderWorld, sku: str, unit: str) -> str:
    return str(world.env.ids["oro"]["unitPrecisions"][sku][unit])


# -- 9: units agree with Oro ----------------------------------------------------------------------------------


def test_order_is_held_with_UOM_MISMATCH_when_the_mapping_factor_disagrees_with_oros_conversion_rate(
    world: OrderWorld,
):
    # Config: WID-100 case → 12 × WID-100. Oro's case is changed to hold 10 eaches: 12 a case is wrong.
    # GAD-200 case → GAD-200-CASE6 × 1 is a Cin7 product of its own: its factor is not Oro's rate (6).
    precisions = [_precision(world, "WID-100", "case"), _precision(world, "GAD-200", "case")]
    world.oro.patch("productunitprecisions", precisions[0], {"conversionRate": 10})
    world.oro.patch("productunitprecisions", precisions[1], {"conversionRate": 5})
    try:
        order_id = world.place("Acme Holdings", [("WID-100", "case", 2, "144.00")])
        case_sku = world.place("Acme Holdings", [("GAD-200", "case", 1, "43.70")])
        world.settle()
    finally:
        world.oro.patch("productunitprecisions", precisions[0], {"conversionRate": 12})
        world.oro.patch("productunitprecisions", precisions[1], {"conversionRate": 6})

    (reason,) = _held(world, order_id, "UOM_MISMATCH")
    assert "WID-100 in unit 'case'" in reason and "12 × WID-100" in reason and "10 × WID-100" in reason
    assert world.exceptions(order_id)["UOM_MISMATCH"]["owner"] == "operations"
    assert _lines(world.the_sale(case_sku)) == [
        ("GAD-200-CASE6", D(1), D("43.7000"), D("4.37"), D("48.0700"))
    ]


# -- 10: four-decimal contract prices --------------------------------------------------------------------------


def test_four_decimal_prices_pass_and_the_sale_total_is_oros_when_line_totals_are_not_whole_cents(
    world: OrderWorld,
):
    # Each line total ends in 0.0025 (0.7125, 22.7925, 35.9925): rounded to the cent line by line they sum
    # to 59.49, while Oro's subtotal is 59.4975.
    order_id = world.place(
        "Acme Holdings",
        [
            ("BOLT-300", "each", 3, "0.2375"),
            ("GAD-200", "each", 3, "7.5975"),
            ("WID-100", "each", 3, "11.9975"),
        ],
    )
    world.settle()

    sale = world.the_sale(order_id)
    assert sale.Order.Status == "AUTHORISED"
    assert _lines(sale) == [
        ("BOLT-300", D(3), D("0.2375"), D("0.07"), D("0.7825")),
        ("GAD-200", D(3), D("7.5975"), D("2.28"), D("25.0725")),
        ("WID-100", D(3), D("11.9975"), D("3.60"), D("39.5925")),
    ]
    assert sale.Order.AdditionalCharges == []
    assert _oro_total(world, order_id) == D("59.4975")
    assert sale.Order.Total == D("59.4975") + D("0.07") + D("2.28") + D("3.60")


# -- 11: one SKU twice ----------------------------------------------------------------------------------------


def test_each_and_case_of_one_sku_become_one_cin7_line_with_the_total_exact(world: OrderWorld):
    # 5 eaches at 12.00 and a case of 12 at 143.95 (11.9958 an each, within the Contract tier's tolerance):
    # 17 WID-100 for 203.95, 11.9970 each rounded down, the 0.0010 left over as the rounding charge.
    order_id = world.place(
        "Acme Holdings", [("WID-100", "each", 5, "12.00"), ("WID-100", "case", 1, "143.95")]
    )
    world.settle()

    sale = world.the_sale(order_id)
    assert sale.Order.Status == "AUTHORISED"
    assert _lines(sale) == [("WID-100", D(17), D("11.9970"), D("20.40"), D("224.3490"))]
    assert [ln.Comment for ln in sale.Order.Lines] == ["2 storefront lines merged"]
    assert [(c.Description, c.Price) for c in sale.Order.AdditionalCharges] == [("Rounding", D("0.0010"))]
    oro_total = _oro_total(world, order_id)
    assert oro_total == D("203.95")
    assert sale.Order.Total == oro_total + D("20.40")  # the storefront's net plus 10 % tax, exactly
    assert world.erp_calls(order_id) == [2]

    # Each Oro line is still checked against the Contract tier (12.00 an each) before the merge: the
    # eaches agree, the case at 150.00 (12.50 an each) does not, though merged they would average 12.38.
    mismatch = world.place(
        "Acme Holdings", [("WID-100", "each", 12, "12.00"), ("WID-100", "case", 1, "150.00")]
    )
    world.settle()
    (reason,) = _held(world, mismatch, "PRICE_MISMATCH")
    assert "WID-100: storefront 12.5000 vs ERP tier 'Contract'" in reason


def test_three_lines_of_one_sku_at_a_four_decimal_contract_price_become_one_line(world: OrderWorld):
    order_id = world.place("Acme Holdings", [("BOLT-300", "each", 3, "0.2375")] * 3)
    world.settle()

    sale = world.the_sale(order_id)
    assert _lines(sale) == [("BOLT-300", D(9), D("0.2375"), D("0.21"), D("2.3475"))]
    assert sale.Order.Total == _oro_total(world, order_id) + D("0.21")


# -- 12: nothing half-sent ------------------------------------------------------------------------------------


@pytest.fixture
def bolt_each_to_five_places(world: OrderWorld) -> Iterator[OrderWorld]:
    """BOLT-300 eaches may be ordered to 5 decimals in Oro (its unit precision)."""
    precision = _precision(world, "BOLT-300", "each")
    world.oro.patch("productunitprecisions", precision, {"precision": 5})
    try:
        yield world
    finally:
        world.oro.patch("productunitprecisions", precision, {"precision": 0})


def test_a_quantity_beyond_cin7s_four_decimals_is_held_before_any_erp_write(
    bolt_each_to_five_places: OrderWorld,
):
    world = bolt_each_to_five_places
    before = world.cin7_stats()["calls"]
    order_id = world.place("Acme Holdings", [("BOLT-300", "each", "40.00005", "0.2375")])
    world.settle()

    (reason,) = _held(world, order_id, "ORDER_INVALID")
    assert "40.00005" in reason and "4" in reason
    after = world.cin7_stats()["calls"]
    assert after.get("POST /sale", 0) == before.get("POST /sale", 0)  # not even an empty header


def test_an_empty_header_left_by_refused_lines_is_named_and_reused_by_the_release(world: OrderWorld):
    # Cin7 refuses the lines after it took the header (a failure no check before it could foresee).
    rule = world.cin7_ctl(
        "POST", "faults", {"method": "POST", "path": "^/sale/order$", "error_rate": 1, "error_status": 400}
    )["rules"][0]
    try:
        order_id = world.place("Acme Holdings", [("GAD-200", "each", 5, "7.60")])
        world.settle()
    finally:
        world.cin7_ctl("DELETE", "faults", params={"id": rule["id"]})

    (header,) = world.sales(order_id)
    assert header.Order is None or not header.Order.Lines
    (reason,) = world.state.get_order(order_id).reasons
    assert reason.startswith("ERP_REJECTED") and f"ERP sale {header.ID} has no lines yet" in reason

    assert world.env.aws is not None
    where = ["--aws-endpoint", world.env.aws.endpoint_url, "--prefix", world.env.prefix]
    assert main(["orders", "release", order_id, *where]) == 0
    world.settle()

    sale = world.the_sale(order_id)  # still one sale: the header was reused, not a second one created
    assert sale.ID == header.ID
    assert _lines(sale) == [("GAD-200", D(5), D("7.6000"), D("3.80"), D("41.8000"))]
    assert world.kinds(order_id).count("erp_sale_created") == 1
    assert world.state.get_order(order_id).status == "synced"


# -- 13: the customer's ERP price -----------------------------------------------------------------------------


def _erp_customer(world: OrderWorld, name: str, *, tier: str, discount: str = "0") -> str:
    """A Cin7 customer at `tier` with `discount` percent, bound to a new Oro account of the same name."""
    cin7_id = world.env.create_cin7_customer(name, tier=tier)
    if D(discount):
        world.cin7.request("PUT", "customer", body={"ID": cin7_id, "Discount": discount})
    world.add_customer(name, erp_customer_id=cin7_id)
    return cin7_id


def test_the_customers_discount_comes_off_its_tier_price_when_prices_are_checked(world: OrderWorld):
    # Wholesale GAD-200 is 8.00; this customer has 10 % off: Cin7 charges it 7.20.
    _erp_customer(world, "Discount Traders", tier="Wholesale", discount="10")
    agreed = world.place("Discount Traders", [("GAD-200", "each", 10, "7.20")])
    list_price = world.place("Discount Traders", [("GAD-200", "each", 10, "8.00")])
    world.settle()

    assert _lines(world.the_sale(agreed)) == [("GAD-200", D(10), D("7.2000"), D("7.20"), D("79.2000"))]
    (reason,) = _held(world, list_price, "PRICE_MISMATCH")
    assert "8.0000 vs ERP tier 'Wholesale less 10% customer discount' 7.2000" in reason


def test_a_customer_specific_price_is_the_one_checked_and_is_read_with_the_cached_customer(
    world: OrderWorld,
):
    cin7_id = _erp_customer(world, "Custom Price Co", tier="Wholesale")
    answer = world.cin7.request(
        "POST",
        "custom-prices",
        body={"CustomPrices": [{"CustomerID": cin7_id, "ProductSKU": "WID-100", "Price": "11.00"}]},
    )
    assert answer == {"Errors": []}

    before = world.cin7_stats()["calls"]
    first = world.place("Custom Price Co", [("WID-100", "each", 4, "11.00")])
    world.settle()
    middle = world.cin7_stats()["calls"]
    second = world.place("Custom Price Co", [("WID-100", "each", 2, "11.00")])
    world.settle()
    after = world.cin7_stats()["calls"]

    assert _lines(world.the_sale(first)) == [("WID-100", D(4), D("11.0000"), D("4.40"), D("48.4000"))]
    assert _lines(world.the_sale(second)) == [("WID-100", D(2), D("11.0000"), D("2.20"), D("24.2000"))]
    # one customer read on a cold cache (its prices in the same answer), none in steady state
    assert middle.get("GET /customer", 0) - before.get("GET /customer", 0) == 1
    assert {k: v - middle.get(k, 0) for k, v in after.items() if v != middle.get(k, 0)} == {
        "POST /sale": 1,
        "POST /sale/order": 1,
    }
    assert world.erp_calls(second) == [2]
