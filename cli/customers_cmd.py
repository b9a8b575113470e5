"""`orosync customers map|list|show|onboard`: the Oro accounts' ERP customers.

`customers map ORO_CUSTOMER_ID ERP_CUSTOMER_ID` binds a storefront (Oro) customer to its ERP (Cin7) customer,
then releases the held orders that the binding may fix.

Released: every held order whose reasons are all CUSTOMER_UNMAPPED (or UOM_UNMAPPED whose unit `--config`
maps) for this customer, or for a customer below it in the Oro tree. The state table does not record the
tree, so an order of any other unbound customer is released too: the order flow walks the tree again and
holds it again if its account is still unbound (one more run; ERP lookups are cached). The ERP customer id is
not checked here: a wrong one holds the orders again as CUSTOMER_UNMAPPED. The table and queue are found as
in `orosync orders` (see `orosync orders --help`).
"""

from __future__ import annotations

import argparse
from typing import Any

from cli.orders_cmd import add_location_options, default_by, open_location, run, to_json
from shared.adapters.aws.queue import SqsQueue
from shared.adapters.aws.state import CustomerBinding, StateStore
from shared.flows.customers import entity
from shared.flows.intake import enqueue_customer
from shared.flows.release import held_orders, map_customer
from shared.runtime import SystemClock


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orosync customers map",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("oro_customer", metavar="ORO_CUSTOMER_ID", help="OroCommerce customer (account) id")
    p.add_argument("erp_customer", metavar="ERP_CUSTOMER_ID", help="Cin7 customer ID (a GUID)")
    p.add_argument("--replace", action="store_true", help="rebind a customer already bound to another one")
    p.add_argument("--by", default=default_by(), help="who maps, for the timeline (default: cli:<user>)")
    add_location_options(p)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    for name, value in (("ORO_CUSTOMER_ID", args.oro_customer), ("ERP_CUSTOMER_ID", args.erp_customer)):
        if not value.strip():
            parser().error(f"{name} must not be empty")

    def action() -> int:
        loc = open_location(args)
        clock = SystemClock()
        result = map_customer(
            loc.store,
            loc.queue(),
            clock,
            args.oro_customer,
            args.erp_customer,
            config=loc.config,
            by=args.by,
            replace=args.replace,
        )
        loc.store.record_operator_action(
            "map",
            f"customer:{args.oro_customer}",
            args.by,
            clock.now(),
            erp_customer=args.erp_customer,
            previous=result.previous,
            released=[r.order_id for r in result.released],
        )
        if result.previous == args.erp_customer:
            print(
                f"storefront customer {args.oro_customer} was already bound to ERP customer {args.erp_customer}"
            )
        elif result.previous:
            print(
                f"rebound storefront customer {args.oro_customer} to ERP customer {args.erp_customer} "
                f"(was {result.previous})"
            )
        else:
            print(f"bound storefront customer {args.oro_customer} to ERP customer {args.erp_customer}")
        if not result.released:
            print("no held order was waiting for a customer binding")
        else:
            print(f"released {len(result.released)} held order(s):")
            for r in result.released:
                print(f"  order {r.order_id}: {'; '.join(r.because)}")
        return 0

    return run("orosync customers map", action)


# -- list, show, onboard ------------------------------------------------------------------------------------


def _bindings(store: StateStore, pending_only: bool) -> list[CustomerBinding]:
    statuses = ("pending",) if pending_only else ("pending", "approved")
    found = [b for status in statuses for b in store.customer_bindings(status)]
    return sorted(found, key=lambda b: (b.status != "pending", b.storefront_customer_id.zfill(12)))


def list_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="orosync customers list",
        description="The Oro accounts bound to ERP customers: pending approval first. Bindings made by "
        "`customers map` before this release carry no status and are not listed.",
    )
    p.add_argument("--pending", action="store_true", help="only the accounts waiting for finance's approval")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_location_options(p)
    args = p.parse_args(argv)

    def action() -> int:
        loc = open_location(args)
        found = _bindings(loc.store, args.pending)
        if args.json:
            print(to_json([b.__dict__ for b in found]))
            return 0
        if not found:
            print("no account is waiting for approval" if args.pending else "no bound account")
            return 0
        print(f"{'ORO ID':>8}  {'STATUS':8}  {'SOURCE':11}  {'ERP CUSTOMER':36}  NAME  (PATH)")
        for b in found:
            path = " > ".join(b.path) if b.path else "-"
            print(
                f"{b.storefront_customer_id:>8}  {b.status:8}  {b.source:11}  {b.erp_customer_id:36}  {b.name or '-'}  ({path})"
            )
        return 0

    return run("orosync customers list", action)


def describe(store: StateStore, oro_id: str) -> dict[str, Any]:
    binding = store.customer_binding(oro_id)
    placement = store.customer_placement(oro_id) if binding is None else None
    exceptions = [e for e in store.open_exceptions() if e.get("entity") == entity(oro_id)]
    held = [
        {"order_id": h.order_id, "reasons": list(h.reasons)}
        for h in held_orders(store)
        if oro_id in h.customers
    ]
    return {
        "oro_id": oro_id,
        "binding": binding.__dict__ if binding else None,
        "placement": placement,
        "exceptions": exceptions,
        "held_orders": held,
    }


def show_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="orosync customers show",
        description="One Oro account: its ERP customer (or the account it bills to), its path in the Oro "
        "tree, whether finance approved it, its open exceptions and the orders held for it.",
    )
    p.add_argument("oro_customer", metavar="ORO_ID", help="OroCommerce customer (account) id")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_location_options(p)
    args = p.parse_args(argv)

    def action() -> int:
        loc = open_location(args)
        view = describe(loc.store, args.oro_customer)
        if args.json:
            print(to_json(view))
            return 0
        b, placement = view["binding"], view["placement"]
        print(f"Oro account {args.oro_customer}")
        if b:
            status = (
                "waiting for finance's approval (on hold in the ERP)"
                if b["status"] == "pending"
                else "approved"
            )
            print(f"  ERP customer: {b['erp_customer_id']} {b['name']!r} ({status})")
            print(f"  bound: {b['bound_at']} by {b['source']}")
            if b["path"]:
                print(f"  path: {' > '.join(b['path'])}")
            if b["parent_erp_customer_id"]:
                print(f"  ERP parent: {b['parent_erp_customer_id']}")
        elif placement:
            print(f"  path: {' > '.join(placement.get('path') or [])}")
            if placement.get("billing_parent"):
                print(
                    f"  bills to account {placement['billing_parent']} "
                    f"(ERP customer {placement['erp_customer_id']}), as the tree was on {placement['seen_at']}"
                )
            else:
                print("  no bound account above it: its orders are held CUSTOMER_UNMAPPED")
        else:
            print("  not bound, and not seen by customer_sync yet")
        for e in view["exceptions"]:
            print(f"  open: {e['code']} ({e['owner']}): {e['detail']}")
        if view["held_orders"]:
            print("  held orders:")
            for h in view["held_orders"]:
                print(f"    {h['order_id']}: {'; '.join(h['reasons'])}")
        return 0

    return run("orosync customers show", action)


def onboard_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="orosync customers onboard",
        description="Onboard (or update) one Oro account now, whatever `customers.onboard` says: queued for "
        "customer_push, which matches it in the ERP (by binding, external id, exact name) before it creates "
        "it on hold. Safe to repeat.",
    )
    p.add_argument("oro_customer", metavar="ORO_ID", help="OroCommerce customer (account) id")
    p.add_argument(
        "--customers-queue",
        metavar="URL",
        help="the customers queue URL (a deployed stack's); default by --prefix",
    )
    add_location_options(p)
    args = p.parse_args(argv)
    if not args.oro_customer.strip().isdigit():
        p.error(f"ORO_ID must be an Oro account id (a positive integer), got {args.oro_customer!r}")

    def action() -> int:
        loc = open_location(args)
        if args.customers_queue:
            queue = SqsQueue(
                args.customers_queue, sqs=loc.session.client("sqs", endpoint_url=loc.endpoint_url)
            )
        else:
            queue = loc.queue("customers")
        message_id = enqueue_customer(queue, args.oro_customer.strip(), source="cli", force=True)
        print(f"queued the onboarding of Oro account {args.oro_customer.strip()} (message {message_id})")
        print(f"follow it with: orosync customers show {args.oro_customer.strip()}")
        return 0

    return run("orosync customers onboard", action)
