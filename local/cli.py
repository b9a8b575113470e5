"""`orosync local up`: run the whole service in the foreground, as AWS would run it, until Ctrl-C.

Where it points is configuration only (see local/README.md):
- AWS: the embedded moto endpoint by default; `--aws-endpoint URL` for another endpoint (a moto or
  LocalStack server); `--aws-endpoint aws` for a real account through the default credential chain
  (AWS_PROFILE, AWS_REGION, SSO, ...). Tables and queues are created there under `--prefix`.
- OroCommerce and Cin7: the endpoints in the config file (`endpoints.oro.base_url`, `endpoints.cin7.base_url`).
- Credentials for them: Secrets Manager entries named by the config's `secrets` section, read by the
  functions as in production. `--secrets-file` stores them first (needed for the embedded endpoint,
  which starts empty).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from local import schedules
from local.aws import LOCAL_AWS_ENV, EmbeddedAws
from local.persist import DEFAULT_FOLDER, Restored, StateFolder
from local.provision import DEFAULT_PREFIX, missing_secrets, provision, put_secrets
from local.runtime import LocalRuntime
from shared.config import Config, load_config
from shared.errors import ConfigError
from shared.resources import FUNCTIONS, QUEUES, TABLES, dlq_env_var

REAL_AWS = "aws"
DEFAULT_PORT = 8800


class UsageError(Exception):
    pass


def _time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orosync local up", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--config", required=True, help="service config file (YAML or JSON)")
    p.add_argument(
        "--aws-endpoint",
        help="AWS endpoint URL, or 'aws' for real AWS with the default credential chain "
        "(default: start an embedded moto endpoint)",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address the webhook routes listen on (default 127.0.0.1)"
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port of the webhook routes (default {DEFAULT_PORT})"
    )
    p.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help=f"prefix of table and queue names (default {DEFAULT_PREFIX})"
    )
    p.add_argument(
        "--time-scale", type=_time_scale, default=1.0, help="run schedules N times faster (default 1.0)"
    )
    p.add_argument(
        "--state-dir",
        default=DEFAULT_FOLDER,
        help=f"where the embedded endpoint's tables and queues are kept across restarts (default {DEFAULT_FOLDER})",
    )
    p.add_argument(
        "--ephemeral",
        action="store_true",
        help="a throwaway run: start empty and keep nothing (embedded endpoint only)",
    )
    p.add_argument(
        "--secrets-file",
        help="JSON object {secret name: {key: value}} stored in Secrets Manager before starting",
    )
    return p


def load_secrets_file(path: str) -> dict[str, dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{p}: no such secrets file")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UsageError(f"{p}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{p}: must be a JSON object mapping secret names to objects")
    for name, value in data.items():
        if not isinstance(value, dict):
            raise UsageError(f"{p}: secret {name!r} must be a JSON object, got {type(value).__name__}")
    return data


def required_secrets(config: Config) -> list[str]:
    """The Secrets Manager names the functions read, from the config's `secrets` section."""
    keys = sorted({key for f in FUNCTIONS for key in f.secrets})
    return [name for key in keys if (name := getattr(config.secrets, key, None))]


def check_schedules(config: Config) -> None:
    for f in FUNCTIONS:
        if f.schedule:
            expression = getattr(config.schedules, f.schedule.key, None) or f.schedule.default_expression
            try:
                schedules.parse(expression)
            except schedules.ScheduleError as err:
                raise UsageError(f"schedules.{f.schedule.key}: {err}") from None


def aws_environment(endpoint: str | None) -> dict[str, str]:
    """Environment for boto3 (ours and the functions') to reach the chosen endpoint."""
    if endpoint == REAL_AWS:
        session = boto3.session.Session()
        if session.get_credentials() is None:
            raise UsageError("no AWS credentials found: configure a profile, SSO or environment credentials")
        if session.region_name is None:
            raise UsageError("no AWS region: set AWS_REGION or a profile region")
        return {}
    assert endpoint is not None
    env = {"AWS_ENDPOINT_URL": endpoint}
    session = boto3.session.Session()
    if session.get_credentials() is None:
        env.update({k: LOCAL_AWS_ENV[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
    if session.region_name is None:
        env.update({k: LOCAL_AWS_ENV[k] for k in ("AWS_REGION", "AWS_DEFAULT_REGION")})
    return env


def _session(env: dict[str, str]) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        region_name=env.get("AWS_REGION"),
    )


def main(argv: list[str], stop: threading.Event | None = None) -> int:
    """Runs until Ctrl-C, SIGTERM or (for tests) `stop` is set."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("werkzeug", "botocore", "httpx"):  # per-request and credential-discovery lines
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = load_config(args.config)
        check_schedules(config)
        secrets = load_secrets_file(args.secrets_file) if args.secrets_file else {}
    except (ConfigError, UsageError) as err:
        print(err, file=sys.stderr)
        return 1

    embedded: EmbeddedAws | None = None
    runtime: LocalRuntime | None = None
    folder: StateFolder | None = None
    try:
        if args.aws_endpoint is None:
            embedded = EmbeddedAws().start()
            env = embedded.environ()
            where = f"embedded AWS at {embedded.endpoint_url}"
        else:
            env = aws_environment(args.aws_endpoint)
            where = "real AWS" if args.aws_endpoint == REAL_AWS else f"AWS endpoint {args.aws_endpoint}"
        session, endpoint_url = _session(env), env.get("AWS_ENDPOINT_URL")
        resources = provision(args.prefix, session=session, endpoint_url=endpoint_url)
        kept = "kept by the AWS endpoint"
        if embedded is not None and not args.ephemeral:
            assert endpoint_url is not None
            candidate = StateFolder(
                Path(args.state_dir), args.prefix, resources, session=session, endpoint_url=endpoint_url
            )
            restored = _restore(candidate)
            folder = candidate  # saved on the way out only once restored: a file it cannot read is left as is
            kept = f"kept in {folder.file}" + (
                f" (restored {restored.items} records and {restored.messages} messages saved at "
                f"{restored.saved_at})"
                if restored
                else " (nothing to restore)"
            )
        elif embedded is not None:
            kept = "not kept (--ephemeral)"
        if secrets:
            put_secrets(secrets, session=session, endpoint_url=endpoint_url)
        missing = missing_secrets(required_secrets(config), session=session, endpoint_url=endpoint_url)
        if missing:
            raise UsageError(
                f"Secrets Manager ({where}) lacks {', '.join(missing)}: "
                "pass --secrets-file with these names (see local/README.md)"
            )
        runtime = LocalRuntime(
            config,
            args.config,
            {**env, **resources},
            host=args.host,
            port=args.port,
            time_scale=args.time_scale,
            prefix=args.prefix,
        )
        try:
            runtime.start()
        except OSError as err:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {err.strerror}") from None
        if folder is not None:
            folder.start()
        _print_banner(runtime, resources, where, args, kept)
        _wait(stop or threading.Event())
    except UsageError as err:
        print(err, file=sys.stderr)
        return 1
    finally:
        if runtime is not None and runtime.started:
            runtime.stop()
            print("\n" + runtime.summary())
        if folder is not None:
            folder.stop()  # after the runtime: the last save holds what its last invocations did
        if embedded is not None:
            embedded.stop()
    return 0


def _restore(folder: StateFolder) -> Restored | None:
    try:
        return folder.restore(datetime.now(UTC))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:  # a file not as saved
        raise UsageError(
            f"cannot restore the state saved in {folder.file}: {err} (move it away, or run with --ephemeral)"
        ) from None


def _wait(stop: threading.Event) -> None:
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C and SIGTERM end the wait the same way, so shutdown never races an in-flight handler.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


def _print_banner(
    runtime: LocalRuntime, resources: dict[str, str], where: str, args: argparse.Namespace, kept: str
) -> None:
    width = max(
        len(k)
        for k in [*(q.dlq_key for q in QUEUES), *(t.key for t in TABLES), *runtime.schedule_expressions]
    )
    lines = [f"orosync local runtime (prefix {args.prefix}) on {where}", "routes:"]
    lines += [f"  {method:<6} {url}  -> {function}" for method, url, function in runtime.route_urls()]
    lines.append("queues:")
    for q in QUEUES:
        lines.append(
            f"  {q.key:<{width}}  {resources[q.env_var]}  (consumer {q.consumer}, batch {q.batch_size})"
        )
        lines.append(f"  {q.dlq_key:<{width}}  {resources[dlq_env_var(q)]}")
    lines.append(f"state: {kept}")
    lines.append("tables:")
    lines += [f"  {t.key:<{width}}  {resources[t.env_var]}" for t in TABLES]
    scale = f", time scale x{args.time_scale:g}" if args.time_scale != 1 else ""
    lines.append("schedules:")
    lines += [
        f"  {name:<{width}}  {expression}{scale}" for name, expression in runtime.schedule_expressions.items()
    ]
    endpoint = runtime.env.get("AWS_ENDPOINT_URL")
    redrive = f"orosync redrive QUEUE --prefix {args.prefix}" + (
        f" --aws-endpoint {endpoint}" if endpoint else ""
    )
    lines += [f"redrive a DLQ with: {redrive}", "Ctrl-C to stop."]
    print("\n".join(lines), flush=True)
