"""`orosync customers map ORO_CUSTOMER_ID ERP_CUSTOMER_ID`: bind a storefront (Oro) customer to its ERP
(Cin7) customer, then release the held orders that the binding may fix.

Released: every held order whose reasons are all CUSTOMER_UNMAPPED (or UOM_UNMAPPED whose unit `--config`
maps) for this customer, or for a customer below it in the Oro tree. The state table does not record the
tree, so an order of any other unbound customer is released too: the order flow walks the tree again and
holds it again if its account is still unbound (one more run; ERP lookups are cached). The ERP customer id is
not checked here: a wrong one holds the orders again as CUSTOMER_UNMAPPED. The table and queue are found as
in `orosync orders` (see `orosync orders --help`).
"""

from __future__ import annotations

import argparse

from cli.orders_cmd import add_location_options, default_by, open_location, run
from shared.flows.release import map_customer
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
        result = map_customer(
            loc.store,
            loc.queue(),
            SystemClock(),
            args.oro_customer,
            args.erp_customer,
            config=loc.config,
            by=args.by,
            replace=args.replace,
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
