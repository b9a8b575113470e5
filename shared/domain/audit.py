"""The day-one audit (`orosync audit`): what the two systems and the config disagree on, before any order
runs. Pure: the flow (`shared/flows/audit.py`) reads both systems and the state table, these functions
compare, and the report renders as Markdown, JSON and one self-contained HTML page (counts first).

Each gap is one `Gap` of one kind (`KINDS`: its title and the team that fixes it):

- SKUs on one side only: an Oro product none of whose units reaches a Cin7 product, a unit mapping naming a
  Cin7 SKU that does not exist, a Cin7 product no Oro product or mapping uses (the configured charge
  products excepted).
- Units: an Oro unit with no mapping (its order lines are held UOM_UNMAPPED), a mapping whose factor is not
  Oro's conversion rate times the primary unit's factor (`implied_factor`, as the order flow checks), a
  mapping for a SKU or unit Oro does not have.
- Customers: an Oro account with no Cin7 customer on it or above it (a binding in the state table, else an
  external id naming a Cin7 customer: the order flow's walk), or bound to a Cin7 customer that is gone.
- Price lists: an Oro price list no mapping names, a mapping naming an Oro list or a Cin7 tier that is gone.
- Tax: a Cin7 sale tax rule the config never names, an Oro tax code without a rule, a mapping naming a
  rule Cin7 does not have.
- Orders: an Oro order of the window that the status policy sends to Cin7, with no live Cin7 sale carrying
  its ExternalID.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.config import Config, OrderAction
from shared.domain.gating import gate
from shared.domain.orders import StorefrontOrder
from shared.domain.units import UnitRule, implied_factor

# kind -> (title, owner team)
KINDS: dict[str, tuple[str, str]] = {
    "sku_oro_only": ("Oro products with no Cin7 product", "ecommerce"),
    "sku_cin7_only": ("Cin7 products no Oro product uses", "ecommerce"),
    "erp_sku_missing": ("Unit mappings naming a Cin7 SKU that does not exist", "operations"),
    "unit_unmapped": ("Oro units without a mapping", "operations"),
    "unit_rate_mismatch": ("Unit mappings that disagree with Oro's conversion rate", "operations"),
    "unit_mapping_orphan": ("Unit mappings for a SKU or unit Oro does not have", "operations"),
    "customer_unbound": ("Oro customers without a Cin7 customer", "finance"),
    "price_list_untiered": ("Oro price lists without a Cin7 tier", "finance"),
    "price_mapping_broken": ("Price list mappings naming a list or tier that does not exist", "finance"),
    "tax_rule_unmapped": ("Cin7 tax rules no mapping uses", "finance"),
    "tax_code_unmapped": ("Oro tax codes without a Cin7 tax rule", "finance"),
    "tax_mapping_broken": ("Tax mappings naming a Cin7 rule that does not exist", "finance"),
    "order_missing": ("Oro orders missing in Cin7", "operations"),
}

SENT = (OrderAction.CREATE_AUTHORISED, OrderAction.CREATE_DRAFT)


@dataclass(frozen=True, order=True)
class Gap:
    kind: str
    subject: str  # what it is about: a SKU, "SKU/unit", an account, a list, a rule, an order
    detail: str


@dataclass(frozen=True)
class OroItem:
    """An Oro product as the audit needs it: its units and their conversion rates (primary unit first)."""

    sku: str
    primary_unit: str | None
    rates: Mapping[str, Decimal | None]  # unit -> primary units in one unit


@dataclass(frozen=True)
class OroAccount:
    id: str
    name: str
    parent_id: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class OroOrderRef:
    """An Oro order's header as gating needs it."""

    id: str
    identifier: str
    created_at: datetime
    status: str
    customer_id: str = ""
    po_number: str | None = None
    external_status: str | None = None
    parent_id: str | None = None
    sub_order_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SaleRef:
    external_id: str
    sale_id: str
    status: str | None = None


# -- SKUs and units -------------------------------------------------------------------------------------


def compare_products(
    products: Iterable[OroItem], cin7_skus: Iterable[str], config: Config, *, ignore: Iterable[str] = ()
) -> list[Gap]:
    """SKUs on one side only and unit mapping gaps. `ignore`: Cin7 SKUs or names not meant for Oro (the
    charge products)."""
    cin7 = set(cin7_skus)
    gaps: list[Gap] = []
    used: set[str] = set()
    seen: set[str] = set()
    for p in sorted(products, key=lambda p: p.sku):
        seen.add(p.sku)
        mapped = config.units.get(p.sku, {})
        targets = {m.erp_sku for m in mapped.values()} | {p.sku}
        used |= targets
        if not targets & cin7:
            gaps.append(
                Gap("sku_oro_only", p.sku, f"neither {p.sku} nor any SKU its units map to is in Cin7")
            )
        primary = mapped.get(p.primary_unit or "")
        for unit, rate in sorted(p.rates.items()):
            m = mapped.get(unit)
            if m is None:
                gaps.append(
                    Gap("unit_unmapped", f"{p.sku}/{unit}", f"no units.{p.sku}.{unit}: order lines are held")
                )
                continue
            if m.erp_sku not in cin7 and m.erp_sku != p.sku:
                gaps.append(Gap("erp_sku_missing", f"{p.sku}/{unit}", f"maps to {m.erp_sku}, not in Cin7"))
            rule = UnitRule(m.erp_sku, m.factor)
            base = UnitRule(primary.erp_sku, primary.factor) if primary else None
            expected = implied_factor(rule, base, rate)
            if expected is not None and expected != m.factor:
                gaps.append(
                    Gap(
                        "unit_rate_mismatch",
                        f"{p.sku}/{unit}",
                        f"mapping factor {_plain(m.factor)} × {m.erp_sku}, but Oro's rate "
                        f"({_plain(rate)} {p.primary_unit}) makes it {_plain(expected)}",
                    )
                )
        for unit in sorted(set(mapped) - set(p.rates)):
            gaps.append(Gap("unit_mapping_orphan", f"{p.sku}/{unit}", f"Oro's {p.sku} has no unit {unit!r}"))
    for sku in sorted(set(config.units) - seen):
        gaps.append(
            Gap("unit_mapping_orphan", sku, f"units.{sku} is configured, but Oro has no product {sku}")
        )
    skip = set(ignore)
    for sku in sorted(cin7 - used - skip):
        gaps.append(Gap("sku_cin7_only", sku, "no Oro product and no unit mapping uses it"))
    return gaps


# -- customers ------------------------------------------------------------------------------------------


def compare_customers(
    accounts: Iterable[OroAccount], bindings: Mapping[str, str], cin7_customer_ids: Iterable[str]
) -> list[Gap]:
    """Each account resolved as the order flow does: up the tree, the first account with a binding decides;
    else the first whose external id is a Cin7 customer."""
    by_id = {a.id: a for a in accounts}
    cin7 = set(cin7_customer_ids)
    gaps = []
    for account in sorted(by_id.values(), key=lambda a: (len(a.id), a.id)):
        problem = _unresolved(account.id, by_id, bindings, cin7)
        if problem:
            gaps.append(Gap("customer_unbound", f"{account.id} {account.name}", problem))
    return gaps


def _unresolved(
    start: str, by_id: Mapping[str, OroAccount], bindings: Mapping[str, str], cin7: set[str]
) -> str | None:
    walked: list[str] = []
    current: str | None = start
    while current and current not in walked:
        walked.append(current)
        bound = bindings.get(current)
        if bound is not None:
            return (
                None
                if bound in cin7
                else f"bound (on account {current}) to Cin7 customer {bound}, which does not exist"
            )
        account = by_id.get(current)
        if account is None:
            break
        if account.external_id and account.external_id in cin7:
            return None
        current = account.parent_id
    return "no Cin7 customer bound to it or to an account above it: its orders are held"


# -- price lists and tax --------------------------------------------------------------------------------


def compare_price_lists(oro_lists: Mapping[str, str], config: Config, cin7_tiers: Iterable[str]) -> list[Gap]:
    """`oro_lists`: id -> name."""
    tiers = set(cin7_tiers)
    mapped = {m.oro_price_list_id for m in config.price_lists}
    gaps = [
        Gap("price_list_untiered", f"{pid} {name}", "no price_lists mapping: its prices never meet Cin7's")
        for pid, name in sorted(oro_lists.items(), key=lambda kv: (len(kv[0]), kv[0]))
        if pid not in mapped
    ]
    for m in config.price_lists:
        if m.oro_price_list_id not in oro_lists:
            gaps.append(Gap("price_mapping_broken", m.oro_price_list_id, "no Oro price list has this id"))
        if m.erp_tier is not None and m.erp_tier not in tiers:
            gaps.append(
                Gap("price_mapping_broken", m.oro_price_list_id, f"Cin7 has no price tier {m.erp_tier!r}")
            )
    return gaps


def configured_rules(config: Config) -> dict[str, str]:
    """Every Cin7 tax rule the config names -> where."""
    named = {rule: f"tax.rules.{code}" for code, rule in config.tax.rules.items()}
    if config.tax.default_rule:
        named.setdefault(config.tax.default_rule, "tax.default_rule")
    for name in ("shipping", "rounding"):
        charge = getattr(config.erp.charges, name)
        if charge is not None:
            named.setdefault(charge.tax_rule, f"erp.charges.{name}")
    if config.customers.defaults and config.customers.defaults.tax_rule:
        named.setdefault(config.customers.defaults.tax_rule, "customers.defaults.tax_rule")
    return named


def compare_tax(oro_codes: Iterable[str], cin7_rules: Iterable[str], config: Config) -> list[Gap]:
    rules = set(cin7_rules)
    named = configured_rules(config)
    gaps = [
        Gap("tax_code_unmapped", code, "no tax.rules entry: its order lines are held TAX_MISMATCH")
        for code in sorted(set(oro_codes))
        if code not in config.tax.rules
    ]
    gaps += [
        Gap("tax_rule_unmapped", rule, "no Oro tax code maps to it and the config names it nowhere")
        for rule in sorted(rules - set(named))
    ]
    gaps += [
        Gap("tax_mapping_broken", rule, f"{where} names it; Cin7 has no such sale tax rule")
        for rule, where in sorted(named.items())
        if rule not in rules
    ]
    return gaps


# -- orders ---------------------------------------------------------------------------------------------


def missing_orders(
    orders: Iterable[OroOrderRef],
    sales: Iterable[SaleRef],
    config: Config,
    since: datetime,
    notes: Mapping[str, str] | None = None,
) -> list[Gap]:
    """Orders created at or after `since` that the status policy sends to Cin7 and no live sale carries.
    `notes`: order id -> what the state table says (e.g. its hold reasons)."""
    live: set[str] = set()
    voided: set[str] = set()
    for s in sales:
        order_id = config.orders.order_id_of(s.external_id)
        if order_id is not None:
            (voided if s.status == "VOIDED" else live).add(order_id)
    gaps = []
    for o in sorted(orders, key=lambda o: (o.created_at, o.id)):
        if o.created_at < since or o.id in live:
            continue
        decision = gate(
            _as_storefront(o),
            config.orders.status_policy,
            config.orders.sub_orders,
            config.orders.external_status_policy,
        )
        if decision.action not in SENT:
            continue
        po = f"PO {o.po_number}, " if o.po_number else ""
        detail = f"{po}created {o.created_at:%Y-%m-%d %H:%M} UTC, status {o.status!r}"
        detail += ": only a voided sale" if o.id in voided else ": no sale"
        note = (notes or {}).get(o.id)
        if note:
            detail += f" ({note})"
        subject = o.id if o.identifier in ("", o.id) else f"{o.id} {o.identifier}"
        gaps.append(Gap("order_missing", subject, detail))
    return gaps


def _as_storefront(o: OroOrderRef) -> StorefrontOrder:
    return StorefrontOrder(
        id=o.id,
        identifier=o.identifier,
        status=o.status,
        customer_id=o.customer_id,
        currency="",
        lines=(),
        updated_at=o.created_at,
        created_at=o.created_at,
        parent_id=o.parent_id,
        sub_order_ids=o.sub_order_ids,
        external_status=o.external_status,
    )


# -- the report -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    window_days: int
    oro: str
    cin7: str
    gaps: Sequence[Gap]
    scanned: Mapping[str, int] = field(default_factory=dict)  # what was read: "Oro products" -> 12

    def by_kind(self) -> dict[str, list[Gap]]:
        out: dict[str, list[Gap]] = {kind: [] for kind in KINDS}
        for g in self.gaps:
            out[g.kind].append(g)
        return out

    def counts(self) -> dict[str, int]:
        return {kind: len(items) for kind, items in self.by_kind().items()}

    def title(self, kind: str) -> str:
        title = KINDS[kind][0]
        if kind != "order_missing":
            return title
        return f"{title} (last {self.window_days} day{'' if self.window_days == 1 else 's'})"


def to_json(report: Report) -> str:
    data = {
        "generated_at": report.generated_at.isoformat(),
        "window_days": report.window_days,
        "oro": report.oro,
        "cin7": report.cin7,
        "scanned": dict(report.scanned),
        "total": len(report.gaps),
        "counts": report.counts(),
        "gaps": {
            kind: [{"subject": g.subject, "detail": g.detail} for g in items]
            for kind, items in report.by_kind().items()
        },
    }
    return json.dumps(data, indent=2) + "\n"


def to_markdown(report: Report) -> str:
    lines = [
        "# orosync audit",
        "",
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC · Oro {report.oro} · Cin7 {report.cin7} · "
        f"{len(report.gaps)} gap(s)",
        "",
        "| Gap | Owner | Count |",
        "| --- | --- | ---: |",
    ]
    lines += [f"| {report.title(k)} | {KINDS[k][1]} | {n} |" for k, n in report.counts().items()]
    if report.scanned:
        lines += ["", "Read: " + ", ".join(f"{n} {what}" for what, n in report.scanned.items())]
    for kind, items in report.by_kind().items():
        if not items:
            continue
        lines += ["", f"## {report.title(kind)} ({len(items)})", ""]
        lines += [f"- **{_md(g.subject)}**: {_md(g.detail)}" for g in items]
    return "\n".join(lines) + "\n"


_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:60rem;
color:#1f2933;padding:0 1rem}h1{font-size:1.6rem;margin:0 0 .2rem}.meta{color:#52606d;margin-bottom:1.2rem}
.total{font-size:1.1rem;margin:.8rem 0}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));
gap:.6rem;margin-bottom:1.6rem}.card{border:1px solid #d9e2ec;border-radius:8px;padding:.6rem .8rem;
background:#f0f4f8}.card.bad{background:#fff3f0;border-color:#f5b7a8}.card .n{font-size:1.7rem;font-weight:700}
.card .t{font-size:.85rem}.card .o{font-size:.75rem;color:#52606d;text-transform:uppercase;letter-spacing:.04em}
h2{font-size:1.15rem;border-bottom:2px solid #d9e2ec;padding-bottom:.2rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e4e7eb;
vertical-align:top}th:first-child{width:32%}th{background:#f5f7fa;font-weight:600}td.s{white-space:nowrap;font-family:ui-monospace,monospace}
.ok{color:#2f8132}
"""


def to_html(report: Report) -> str:
    e = html.escape
    counts = report.counts()
    cards = "".join(
        f'<div class="card{" bad" if n else ""}"><div class="n">{n}</div><div class="t">{e(report.title(k))}</div>'
        f'<div class="o">{e(KINDS[k][1])}</div></div>'
        for k, n in counts.items()
    )
    sections = []
    for kind, items in report.by_kind().items():
        if not items:
            continue
        rows = "".join(f'<tr><td class="s">{e(g.subject)}</td><td>{e(g.detail)}</td></tr>' for g in items)
        sections.append(
            f'<h2 id="{kind}">{e(report.title(kind))} ({len(items)})</h2>'
            f"<table><tr><th>What</th><th>Why it matters</th></tr>{rows}</table>"
        )
    scanned = ", ".join(f"{n} {e(what)}" for what, n in report.scanned.items())
    total = len(report.gaps)
    summary = (
        f'<p class="total"><b>{total}</b> gap(s) found.</p>'
        if total
        else '<p class="total ok">No gap found.</p>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>orosync audit</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head><body>'
        f'<h1>orosync audit</h1><div class="meta">{report.generated_at:%Y-%m-%d %H:%M} UTC · OroCommerce '
        f"{e(report.oro)} · Cin7 Core {e(report.cin7)}<br>Read: {scanned or '-'}</div>{summary}"
        f'<div class="cards">{cards}</div>{"".join(sections)}</body></html>\n'
    )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def _plain(value: Decimal | None) -> str:
    return "?" if value is None else format(value.normalize(), "f")
