"""`orosync sandbox cin7 ...`: run the sandbox Cin7 Core v2 API in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from types import FrameType

from sandbox.cin7.limits import THROTTLE_MODES
from sandbox.cin7.server import Cin7Sandbox

DEFAULT_PORT = 8702


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orosync sandbox cin7",
        description="Run a sandbox Cin7 Core External API v2 (header auth, paging, 60 calls/min, webhooks, faults).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"0 picks a free port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--account-id", help="api-auth-accountid to accept (default: a new GUID)")
    parser.add_argument("--application-key", help="api-auth-applicationkey to accept (default: a new GUID)")
    parser.add_argument(
        "--extra-application-key",
        action="append",
        default=[],
        metavar="KEY",
        help="another API application of the same account, with its own rate window (repeatable)",
    )
    parser.add_argument(
        "--calls-per-minute", type=int, default=60, help="calls allowed per window and application"
    )
    parser.add_argument(
        "--window-seconds", type=float, default=60.0, help="rolling window length (compress time)"
    )
    parser.add_argument("--throttle-status", choices=THROTTLE_MODES, default="429")
    parser.add_argument("--throttle-seed", type=int, default=0, help="seed for the 'mixed' throttle mode")
    parser.add_argument("--seed", choices=("demo",), help="create the demo tenant through the API at start")
    parser.add_argument("--guid-seed", type=int, help="hand out reproducible GUIDs")
    parser.add_argument(
        "--state-file", help="keep state in this JSON file (loaded at start, written on change)"
    )
    parser.add_argument(
        "--webhook-retry-unit",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="unit of the webhook retry schedule 1,5,10,15,20,25 (real: 60)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    sandbox = Cin7Sandbox(
        host=args.host,
        port=args.port,
        account_id=args.account_id,
        application_key=args.application_key,
        extra_application_keys=args.extra_application_key,
        calls_per_minute=args.calls_per_minute,
        window_seconds=args.window_seconds,
        throttle_status=args.throttle_status,
        throttle_seed=args.throttle_seed,
        guid_seed=args.guid_seed,
        state_file=args.state_file,
        webhook_retry_unit_seconds=args.webhook_retry_unit,
        verbose=args.verbose,
    )
    try:
        sandbox.start()
    except OSError as exc:
        print(f"orosync sandbox cin7: cannot listen on {args.host}:{args.port}: {exc}")
        return 1
    print(f"Cin7 Core sandbox: {sandbox.base_url}", flush=True)
    print(f"  api-auth-accountid:      {sandbox.account_id}")
    print(f"  api-auth-applicationkey: {sandbox.application_key}")
    for key in sandbox.extra_application_keys:
        print(f"  extra application key:   {key}")
    print(
        f"  limit: {args.calls_per_minute} calls per {args.window_seconds:g} s per application ({args.throttle_status})"
    )
    print(f"  control API: {sandbox.control_url} (health, reset, faults, stats, webhook-deliveries)")
    if args.seed == "demo":
        if sandbox.store.stats()["customers"] or sandbox.store.stats()["products"]:
            print("  state file already has data: demo seed skipped")
        else:
            from sandbox.cin7.seed import seed_demo

            ids = seed_demo(
                sandbox.base_url, sandbox.account_id, sandbox.application_key, guid_seed=args.guid_seed
            )
            print("  demo data:")
            print(json.dumps(ids, indent=2))
    print("Ctrl-C to stop.", flush=True)
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        stop.wait()
    finally:
        sandbox.stop()
    return 0
