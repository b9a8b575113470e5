"""`orosync sandbox oro [options]`: run the sandbox OroCommerce back-office API until interrupted."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

from .server import OroSandbox


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orosync sandbox oro",
        description="Sandbox OroCommerce back-office JSON:API (OAuth2 client credentials, batch API, webhooks, faults).",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8081, help="port (default 8081; 0 = any free port)")
    p.add_argument(
        "--client-id", default="orosync-sandbox", help="OAuth2 client id the token endpoint accepts"
    )
    p.add_argument("--client-secret", default="orosync-sandbox-secret", help="OAuth2 client secret")
    p.add_argument(
        "--token-ttl", type=int, default=3600, help="access token lifetime in seconds (default 3600)"
    )
    p.add_argument("--seed", choices=["demo"], help="create the demo dataset through the API after start")
    p.add_argument("--state-file", help="load state from and save it to this JSON file")
    p.add_argument(
        "--external-status-management",
        action="store_true",
        help="let the API write orders.status (Oro's 'Enable External Status Management')",
    )
    p.add_argument(
        "--webhook-include",
        action="append",
        default=[],
        help="relationship to embed in webhook payloads (repeatable, e.g. lineItems)",
    )
    p.add_argument(
        "--webhook-retry-base",
        type=float,
        default=1.0,
        help="first webhook retry delay in seconds (x2 each try)",
    )
    p.add_argument(
        "--webhook-max-attempts", type=int, default=5, help="webhook delivery attempts before giving up"
    )
    p.add_argument(
        "--batch-delay",
        type=float,
        default=0.0,
        help="seconds the batch consumer waits before each operation",
    )
    p.add_argument("--page-size", type=int, default=10, help="default page[size] (default 10)")
    p.add_argument(
        "--max-page-size",
        type=int,
        default=-1,
        help="most records per list page whatever page[size] asks, as Oro's max_entities (default -1: no cap)",
    )
    p.add_argument("--log-requests", action="store_true", help="log every HTTP request to stderr")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    includes: list[str] = []
    for item in args.webhook_include:
        includes.extend(p.strip() for p in item.split(",") if p.strip())
    sandbox = OroSandbox(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl=args.token_ttl,
        external_status_management=args.external_status_management,
        state_file=args.state_file,
        seed=args.seed,
        webhook_includes=includes,
        webhook_retry_base=args.webhook_retry_base,
        webhook_max_attempts=args.webhook_max_attempts,
        batch_delay=args.batch_delay,
        default_page_size=args.page_size,
        max_page_size=args.max_page_size,
        log_requests=args.log_requests,
    )
    try:
        sandbox.start()
    except OSError as exc:
        print(f"orosync sandbox oro: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"orosync sandbox oro: start failed: {exc}", file=sys.stderr)
        sandbox.stop()
        return 1

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread
        pass
    print(f"OroCommerce sandbox listening on {sandbox.base_url}", flush=True)
    print(f"  admin API:     {sandbox.api_url}")
    print(f"  token URL:     {sandbox.token_url}  (POST grant_type=client_credentials)")
    print(f"  client_id:     {sandbox.client_id}")
    print(f"  client_secret: {sandbox.client_secret}")
    print(f"  token TTL:     {sandbox.token_ttl} s")
    print(f"  external status management: {'on' if args.external_status_management else 'off'}")
    print(f"  control API:   {sandbox.control_url}/  (health, reset, faults, webhook-deliveries, ...)")
    if args.state_file:
        print(f"  state file:    {args.state_file}")
    if sandbox.seed_result is not None:
        print("  demo dataset:  " + json.dumps(sandbox.seed_result, sort_keys=True))
    print("Press Ctrl+C to stop.", flush=True)
    try:
        sandbox.serve_forever()
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
