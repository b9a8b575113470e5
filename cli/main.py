"""`orosync`: the one command-line entry point (sandboxes, local runtime, config, operations).

Each subsystem owns its own argument parsing; this module only routes the first words of the command
line to it, and imports it lazily so `orosync config validate` does not load the CDK or moto.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib import import_module

USAGE = """usage: orosync COMMAND ...

commands:
  config validate PATH         check a config file; names each bad key and why
  sandbox oro [options]        run the sandbox OroCommerce back-office API
  sandbox cin7 [options]       run the sandbox Cin7 Core v2 API
  local up --config PATH       run the service locally (embedded AWS, webhooks, queues, schedules)
  demo [options]               start everything, place demo orders, print what happened, exit
  redrive QUEUE [options]      move messages from a queue's DLQ back to the queue [--max N]
  dlq list QUEUE               each dead letter: order (or what it is about), error, receives, age
  dlq redrive QUEUE            send dead letters back: all, or [--order ID ...] [--error TEXT]; [--dry-run]
  actions list [--since T]     the operator actions (release, map, resolve, redrive): who and when
  orders show ORDER            an order's state, reasons, open exceptions and timeline
  orders release ORDER         run a held order through the flow again [--accept-storefront-price]
  orders list [--status S]     the orders in one status (default held), with reasons and owners
  customers map ORO_ID ERP_ID  bind an Oro customer to a Cin7 customer; releases the orders it fixes
  customers list [--pending]   the bound accounts, those waiting for finance's approval first
  customers show ORO_ID        an account's ERP customer, path, approval, exceptions, held orders
  customers onboard ORO_ID     onboard (or update) one Oro account in Cin7 now
  exceptions list [--owner T]  the open named exceptions, by owner team
  reconcile --report [--json]  the last reconciliation: orphaned orders, ghost sales, total mismatches
  reconcile --run              queue a reconciliation now
  audit --config PATH [--days N] [--out DIR]
                               day-one report (Markdown, JSON, HTML) of what Oro, Cin7 and the config
                               disagree on; read only
  webhooks ensure --config PATH --url API_URL
                               register (or re-enable) every Cin7 webhook the config needs
  exceptions resolve CODE ENTITY --note TEXT
                               close a non-blocking exception a person has dealt with

Run `orosync COMMAND [SUBCOMMAND] --help` for the options of one command.
"""

# (words) -> "module:function"; the function takes the remaining argv and returns an exit code.
ROUTES: dict[tuple[str, ...], str] = {
    ("config", "validate"): "cli.config_cmd:main",
    ("sandbox", "oro"): "sandbox.oro.cli:main",
    ("sandbox", "cin7"): "sandbox.cin7.cli:main",
    ("local", "up"): "local.cli:main",
    ("demo",): "local.demo:main",
    ("redrive",): "cli.redrive_cmd:main",
    ("dlq",): "cli.dlq_cmd:main",
    ("actions", "list"): "cli.actions_cmd:main",
    ("orders",): "cli.orders_cmd:main",
    ("customers", "map"): "cli.customers_cmd:main",
    ("customers", "list"): "cli.customers_cmd:list_main",
    ("customers", "show"): "cli.customers_cmd:show_main",
    ("customers", "onboard"): "cli.customers_cmd:onboard_main",
    ("exceptions", "list"): "cli.exceptions_cmd:main",
    ("exceptions", "resolve"): "cli.exceptions_cmd:resolve",
    ("webhooks", "ensure"): "cli.webhooks_cmd:main",
    ("reconcile",): "cli.reconcile_cmd:main",
    ("audit",): "cli.audit_cmd:main",
}


def _resolve(target: str) -> Callable[[list[str]], int]:
    module, func = target.split(":")
    return getattr(import_module(module), func)  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    for words, target in sorted(ROUTES.items(), key=lambda kv: -len(kv[0])):
        if tuple(args[: len(words)]) == words:
            return _resolve(target)(args[len(words) :])
    print(f"orosync: unknown command {' '.join(args[:2])!r}\n", file=sys.stderr)
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
