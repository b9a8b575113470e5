"""`orosync audit` (issue 13 point 3) against a seeded environment, through the command line: every gap the
demo seed holds (and the few this module adds) is named in the JSON and the HTML, and the audit writes
nothing to either sandbox and reads Cin7 in pages only.

Seeded: BOLT-300's pallet unit has no mapping, Bolt Brothers has no Cin7 customer, Oro's tax code
"reduced" and Cin7's "Tax on Sales Inclusive" have no mapping. Added here (the seed's exact catalogue and
price lists are asserted by other suites): an Oro-only product KIT-500 whose case mapping disagrees with
Oro's rate, a Cin7-only product CLIP-900, an Oro price list no mapping names, and an order of Bolt
Brothers (held: no Cin7 customer), so missing in Cin7.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cli.main import main as cli
from local.aws import EmbeddedAws
from tests.fixtures.order_env import OrderWorld, order_config, order_world

D = Decimal
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def add_oro_product(world: OrderWorld, sku: str, units: list[tuple[str, int]]) -> None:
    name = {
        "type": "productnames",
        "id": "name-default",
        "attributes": {"fallback": None, "string": f"Kit {sku}"},
        "relationships": {"localization": {"data": None}},
    }
    included: list[dict[str, Any]] = [name] + [
        {
            "type": "productunitprecisions",
            "id": f"p-{unit}",
            "attributes": {"precision": 0, "conversionRate": rate, "sell": True},
            "relationships": {"unit": {"data": {"type": "productunits", "id": unit}}},
        }
        for unit, rate in units
    ]
    body = {
        "data": {
            "type": "products",
            "attributes": {"sku": sku, "status": "enabled", "productType": "simple"},
            "relationships": {
                "names": {"data": [{"type": "productnames", "id": "name-default"}]},
                "primaryUnitPrecision": {"data": {"type": "productunitprecisions", "id": f"p-{units[0][0]}"}},
                "unitPrecisions": {
                    "data": [{"type": "productunitprecisions", "id": f"p-{u}"} for u, _ in units]
                },
            },
        },
        "included": included,
    }
    world.oro.request("POST", "products", body=body, creates=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("audit")
    kit = {"each": {"erp_sku": "KIT-500", "factor": 1}, "case": {"erp_sku": "KIT-500", "factor": 12}}
    config = order_config(workdir, **{"units.KIT-500": kit})
    with order_world(workdir, aws_server, config) as w:
        add_oro_product(w, "KIT-500", [("each", 1), ("case", 10)])
        w.cin7.create_product({"SKU": "CLIP-900", "Name": "Clip 900", "Category": "Hardware", "UOM": "Item"})
        w.oro.create("pricelists", {"name": "Clearance", "priceListCurrencies": ["USD"], "active": True})
        w.held_order = w.place("Bolt Brothers", [("BOLT-300", "each", 100, "0.25")], po_number="AUDIT-1")
        w.synced_order = w.place("Acme Holdings", [("WID-100", "each", 2, "12.00")], po_number="AUDIT-2")
        settle_both(w)
        yield w


def settle_both(world: OrderWorld) -> None:
    """Oro's webhooks, then Cin7's (a retry unit after the change: CLIP-900's product event), answered and
    the service idle: what the audit then sees in the sandboxes' counters is its own."""
    world.settle()
    world.env.wait_for_cin7_webhooks(60)
    world.settle()


@pytest.fixture(scope="module")
def audited(world: OrderWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env = world.env
    assert env.aws is not None
    out = tmp_path_factory.mktemp("audit-out")
    oro_before = world.oro_ctl("GET", "stats")["by_endpoint"]
    cin7_before = world.cin7_stats()["calls"]
    argv = [
        "audit",
        "--config",
        str(env.config_path),
        "--aws-endpoint",
        env.aws.endpoint_url,
        "--prefix",
        env.prefix,
        "--days",
        "3",
        "--out",
        str(out),
    ]
    assert cli(argv) == 0
    oro_after = world.oro_ctl("GET", "stats")["by_endpoint"]
    cin7_after = world.cin7_stats()["calls"]
    return {
        "json": json.loads((out / "audit.json").read_text()),
        "html": (out / "audit.html").read_text(),
        "md": (out / "audit.md").read_text(),
        "oro_calls": {k: v - oro_before.get(k, 0) for k, v in oro_after.items() if v != oro_before.get(k, 0)},
        "cin7_calls": {
            k: v - cin7_before.get(k, 0) for k, v in cin7_after.items() if v != cin7_before.get(k, 0)
        },
        "out": out,
    }


def subjects(report: dict[str, Any], kind: str) -> list[str]:
    return [g["subject"] for g in report["gaps"][kind]]


def expected(world: OrderWorld) -> dict[str, str]:
    """kind -> a subject the report must name."""
    return {
        "unit_unmapped": "BOLT-300/pallet",
        "unit_rate_mismatch": "KIT-500/case",
        "sku_oro_only": "KIT-500",
        "sku_cin7_only": "CLIP-900",
        "customer_unbound": f"{world.oro_customer('Bolt Brothers')} Bolt Brothers",
        "price_list_untiered": "Clearance",
        "tax_code_unmapped": "reduced",
        "tax_rule_unmapped": "Tax on Sales Inclusive",
        "order_missing": world.held_order,
    }


def test_every_seeded_gap_is_named_in_the_json_and_the_html(
    world: OrderWorld, audited: dict[str, Any]
) -> None:
    report = audited["json"]
    for kind, subject in expected(world).items():
        named = subjects(report, kind)
        assert any(subject == s or subject in s.split(" ", 1) for s in named), (kind, subject, named)
        assert report["counts"][kind] == len(named) >= 1
        assert subject.strip() in audited["html"], (kind, subject)
        assert subject.strip() in audited["md"]
    # what is in step is not named: the mapped units, the bound accounts, the synced order, GAD-200-CASE6
    assert "WID-100/case" not in subjects(report, "unit_unmapped") + subjects(report, "unit_rate_mismatch")
    assert "GAD-200-CASE6" not in subjects(report, "sku_cin7_only")
    assert all("Acme" not in s for s in subjects(report, "customer_unbound"))
    assert world.synced_order not in [s.split(" ")[0] for s in subjects(report, "order_missing")]
    assert subjects(report, "tax_code_unmapped") == ["reduced"]
    held = report["gaps"]["order_missing"][0]["detail"]
    assert "CUSTOMER_UNMAPPED" in held and "PO AUDIT-1" in held
    assert "PO AUDIT-1" in audited["html"]


def test_the_html_is_one_self_contained_page_with_counts_before_lists(audited: dict[str, Any]) -> None:
    page = audited["html"]
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "src=" not in page and "href=" not in page and "<script" not in page
    assert page.index('class="cards"') < page.index("<h2")


def test_the_audit_writes_nothing_and_reads_cin7_in_pages(world: OrderWorld, audited: dict[str, Any]) -> None:
    assert audited["oro_calls"], "the audit read Oro"
    assert not [k for k in audited["oro_calls"] if k.split(" ")[0] in WRITES], audited["oro_calls"]
    assert not [k for k in audited["cin7_calls"] if k.split(" ")[0] in WRITES], audited["cin7_calls"]
    # one page each (the seed is small): never one call per product, customer or order
    assert audited["cin7_calls"] == {
        "GET /product": 1,
        "GET /customer": 1,
        "GET /ref/priceTier": 1,
        "GET /ref/tax": 1,
        "GET /saleList": 1,
    }


def test_days_below_zero_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli(["audit", "--config", "config/example.yaml", "--days", "-1"])
    assert "--days must be 0 or more" in capsys.readouterr().err


def test_out_folder_holds_the_three_files(audited: dict[str, Any]) -> None:
    out: Path = audited["out"]
    assert sorted(p.name for p in out.iterdir()) == ["audit.html", "audit.json", "audit.md"]


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_a_browser_shows_the_counts_and_every_seeded_gap(world: OrderWorld, audited: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.goto((audited["out"] / "audit.html").resolve().as_uri())
            assert page.title() == "orosync audit"
            cards = page.locator(".card")
            assert cards.count() == len(audited["json"]["counts"])
            assert page.locator(".card.bad").count() == sum(
                1 for n in audited["json"]["counts"].values() if n
            )
            text = page.inner_text("body")
            for subject in expected(world).values():
                assert subject.strip() in text
            # the counts come first: the first card is above the first list
            assert cards.first.bounding_box()["y"] < page.locator("h2").first.bounding_box()["y"]  # type: ignore[index]
        finally:
            browser.close()
