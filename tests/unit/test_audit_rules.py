"""The day-one audit's comparisons (shared/domain/audit.py): pure, on the example config."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from shared.config import load_config
from shared.domain.audit import (
    KINDS,
    Gap,
    OroAccount,
    OroItem,
    OroOrderRef,
    Report,
    SaleRef,
    compare_customers,
    compare_price_lists,
    compare_products,
    compare_tax,
    missing_orders,
    to_html,
    to_json,
    to_markdown,
)

CONFIG = load_config(Path(__file__).resolve().parents[2] / "config" / "example.yaml")
D = Decimal
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CIN7 = {"WID-100", "GAD-200", "GAD-200-CASE6", "BOLT-300"}
DEMO = [
    OroItem("WID-100", "each", {"each": D(1), "case": D(12), "pallet": D(480)}),
    OroItem("GAD-200", "each", {"each": D(1), "case": D(6)}),
    OroItem("BOLT-300", "each", {"each": D(1), "case": D(100), "pallet": D(5000)}),
]


def kinds(gaps: list[Gap]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for g in gaps:
        out.setdefault(g.kind, []).append(g.subject)
    return out


def test_the_demo_catalogue_has_only_the_bolt_pallet_unmapped() -> None:
    assert kinds(compare_products(DEMO, CIN7, CONFIG)) == {"unit_unmapped": ["BOLT-300/pallet"]}


def test_a_case_sent_as_its_own_cin7_product_is_not_compared_with_the_rate() -> None:
    # GAD-200 case -> GAD-200-CASE6 × 1 while Oro says 6 each: a product of its own, no mismatch
    gaps = compare_products([DEMO[1]], CIN7, CONFIG)
    assert [g for g in gaps if g.subject.startswith("GAD-200")] == []


def test_a_rate_that_disagrees_with_the_mapping_is_named_with_both_factors() -> None:
    item = OroItem("WID-100", "each", {"each": D(1), "case": D(10), "pallet": D(480)})
    [gap] = [g for g in compare_products([item, *DEMO[1:]], CIN7, CONFIG) if g.subject.startswith("WID")]
    assert (gap.kind, gap.subject) == ("unit_rate_mismatch", "WID-100/case")
    assert "12" in gap.detail and "makes it 10" in gap.detail


def test_one_sided_skus_and_mappings_oro_does_not_have() -> None:
    gaps = compare_products(
        [OroItem("KIT-1", "each", {"each": D(1)}), DEMO[0]],
        CIN7 | {"NUT-4", "Freight"},
        CONFIG,
        ignore={"Freight"},
    )
    found = kinds(gaps)
    assert found["sku_oro_only"] == ["KIT-1"]
    assert found["sku_cin7_only"] == ["BOLT-300", "GAD-200", "GAD-200-CASE6", "NUT-4"]
    assert found["unit_mapping_orphan"] == ["BOLT-300", "GAD-200"]  # configured, no Oro product


@given(rate=st.integers(min_value=1, max_value=10_000), primary=st.integers(min_value=1, max_value=50))
def test_a_mapping_agrees_exactly_when_factor_is_rate_times_the_primary_factor(
    rate: int, primary: int
) -> None:
    config = CONFIG.model_copy(
        update={
            "units": {
                "X": {
                    "each": CONFIG.units["WID-100"]["each"].model_copy(
                        update={"erp_sku": "X", "factor": D(primary)}
                    ),
                    "box": CONFIG.units["WID-100"]["each"].model_copy(
                        update={"erp_sku": "X", "factor": D(480)}
                    ),
                }
            }
        }
    )
    gaps = compare_products([OroItem("X", "each", {"each": D(1), "box": D(rate)})], {"X"}, config)
    assert (gaps == []) == (rate * primary == 480)


def test_customers_resolve_up_the_tree_by_binding_or_external_id() -> None:
    accounts = [
        OroAccount("1", "Acme Holdings", None, "cin7-acme"),
        OroAccount("2", "Acme East", "1"),
        OroAccount("3", "Store 12", "2"),
        OroAccount("4", "Bolt Brothers", None, "CIN7-BOLT"),  # an external id Cin7 does not know
        OroAccount("5", "Corner", None),
        OroAccount("6", "Gone", None),
    ]
    gaps = compare_customers(
        accounts, {"5": "cin7-corner", "6": "cin7-deleted"}, {"cin7-acme", "cin7-corner"}
    )
    assert [g.subject for g in gaps] == ["4 Bolt Brothers", "6 Gone"]
    assert "does not exist" in gaps[1].detail


def test_a_binding_decides_before_the_external_id() -> None:
    accounts = [OroAccount("1", "A", None, "cin7-a")]
    assert compare_customers(accounts, {"1": "cin7-gone"}, {"cin7-a"})[0].kind == "customer_unbound"


@given(st.lists(st.integers(min_value=0, max_value=8), min_size=1, max_size=9), st.sets(st.integers(0, 8)))
def test_an_account_is_unbound_exactly_when_nothing_on_its_path_is_bound(
    parents: list[int], bound: set[int]
) -> None:
    # account i's parent is parents[i] when that is a smaller index (a forest; loops are cut by the walk)
    accounts = [OroAccount(str(i), f"a{i}", str(p) if p < i else None) for i, p in enumerate(parents)]
    bindings = {str(i): f"c{i}" for i in bound if i < len(parents)}
    named = {g.subject.split()[0] for g in compare_customers(accounts, bindings, set(bindings.values()))}
    for a in accounts:
        path, current = [], a
        while current is not None:
            path.append(current.id)
            current = next((x for x in accounts if x.id == current.parent_id), None)
        assert (a.id in named) == (not any(p in bindings for p in path))


def test_price_lists_and_tax_against_the_example_config() -> None:
    price = compare_price_lists({"1": "Wholesale", "2": "Contract", "3": "Clearance"}, CONFIG, ["Wholesale"])
    assert [(g.kind, g.subject) for g in price] == [
        ("price_list_untiered", "3 Clearance"),
        ("price_mapping_broken", "2"),
    ]  # list 2 maps to tier Contract, which this Cin7 lacks
    tax = compare_tax(
        ["standard", "reduced"], ["Tax on Sales", "Tax Exempt", "Tax on Sales Inclusive"], CONFIG
    )
    assert [(g.kind, g.subject) for g in tax] == [
        ("tax_code_unmapped", "reduced"),
        ("tax_rule_unmapped", "Tax on Sales Inclusive"),
    ]
    broken = compare_tax([], ["Tax on Sales"], CONFIG)
    assert ("tax_mapping_broken", "Tax Exempt") in [(g.kind, g.subject) for g in broken]


def order(oid: str, created: datetime, status: str = "open", **kw: object) -> OroOrderRef:
    return OroOrderRef(oid, f"#{oid}", created, status, **kw)  # type: ignore[arg-type]


def test_missing_orders_follow_the_status_policy_and_sub_orders() -> None:
    since = NOW - timedelta(days=7)
    orders = [
        order("1", NOW),  # has a sale
        order("2", NOW),  # missing
        order("3", NOW, "cancelled"),  # void: not expected in Cin7
        order("4", NOW, "archived"),  # not in the policy
        order("5", NOW, sub_order_ids=("6",)),  # parent: its sub-orders are synced
        order("6", NOW, parent_id="5"),  # missing
        order("7", NOW, "pending"),  # draft: only a voided sale
        order("8", since - timedelta(seconds=1)),  # before the window
        order("9", since),  # on the boundary: in
    ]
    sales = [SaleRef("oro:order:1", "s1"), SaleRef("oro:order:7", "s7", "VOIDED"), SaleRef("other:2", "x")]
    gaps = missing_orders(orders, sales, CONFIG, since, {"2": "held: CUSTOMER_UNMAPPED"})
    assert [g.subject for g in gaps] == ["9 #9", "2 #2", "6 #6", "7 #7"]
    assert "CUSTOMER_UNMAPPED" in gaps[1].detail and "voided" in gaps[3].detail


def test_the_three_renderings_name_every_gap_counts_first() -> None:
    gaps = [
        Gap("unit_unmapped", "BOLT-300/pallet", "no units.BOLT-300.pallet"),
        Gap("customer_unbound", "4 <Bolt>", "x"),
    ]
    report = Report(NOW, 7, "http://oro", "http://cin7", gaps, {"Oro products": 3})
    data = json.loads(to_json(report))
    assert data["total"] == 2 and set(data["counts"]) == set(KINDS)
    assert data["gaps"]["customer_unbound"] == [{"subject": "4 <Bolt>", "detail": "x"}]
    page = to_html(report)
    assert "4 &lt;Bolt&gt;" in page and "<Bolt>" not in page  # escaped
    assert page.index('class="cards"') < page.index("BOLT-300/pallet")
    md = to_markdown(report)
    assert md.index("| Count |") < md.index("BOLT-300/pallet")
    assert "No gap found" in to_html(Report(NOW, 7, "o", "c", []))
