"""`orosync webhooks ensure --config PATH --url API_URL`: register every Cin7 webhook the config needs, with
its secret header, or bring one back (Cin7 switches a webhook off after six failed deliveries:
`WEBHOOK_DISABLED`). Idempotent: run it after each deploy and whenever that exception is raised.

The events (`shared.adapters.cin7.webhook.webhooks_for`): `Stock/AvailableStockLevelChanged` →
`API_URL/webhooks/cin7/stock` when `stock.fast_path` is on; `Product/Updated` → `.../product` when a price list
follows a Cin7 tier; `Customer/Updated` → `.../customer` when customers are onboarded; the five sale events
(shipment, tracking number, invoice, full payment, void) → `.../sale` when `fulfilment.enabled`. The Cin7
credentials (of the API application serving the stock flow) and the header's value
(`secrets.cin7_webhook`) are read from Secrets Manager, on `--aws-endpoint` (the embedded endpoint of
`orosync local up`) or real AWS; nothing secret is printed.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from botocore.exceptions import ClientError

from cli.orders_cmd import REAL_AWS, CliError, run
from local.provision import session_for
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.cin7.webhook import ensure_webhook, webhooks_for
from shared.config import load_config
from shared.errors import ConfigError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orosync webhooks ensure",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", required=True, help="service config (endpoints, secrets names, stock)")
    p.add_argument(
        "--url", required=True, help="the service's API base URL (API Gateway stage, or `local up`'s URL)"
    )
    p.add_argument(
        "--aws-endpoint", metavar="URL|aws", help="where the secrets are: an endpoint URL, or 'aws' (default)"
    )
    return p


def _secret(session: Any, endpoint: str | None, name: str, *keys: str) -> dict[str, Any]:
    try:
        raw = session.client("secretsmanager", endpoint_url=endpoint).get_secret_value(SecretId=name)
    except ClientError as err:
        raise CliError(f"secret {name!r} could not be read: {err.response['Error']['Code']}") from None
    try:
        value = json.loads(raw.get("SecretString") or "")
    except ValueError:
        raise CliError(f"secret {name!r} is not a JSON object") from None
    if not isinstance(value, dict) or any(not value.get(k) for k in keys):
        raise CliError(f"secret {name!r} lacks {', '.join(keys)}")
    return value


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    url = args.url.rstrip("/")
    if not url.startswith(("https://", "http://")):
        parser().error("--url must be an http(s) URL")

    def action() -> int:
        try:
            config = load_config(args.config)
        except ConfigError as err:
            raise CliError(str(err).replace("\n", "; ")) from None
        wanted = webhooks_for(config)
        if not wanted:
            print(
                "no Cin7 webhook is needed: stock.fast_path is off, no price list follows Cin7, "
                "customers.onboard is none and fulfilment.enabled is false"
            )
            return 0
        endpoint = None if args.aws_endpoint in (None, REAL_AWS) else args.aws_endpoint
        session = session_for(endpoint)
        app = config.erp.applications[config.erp.application_for("stock")]
        creds = _secret(
            session, endpoint, getattr(config.secrets, app.secret), "account_id", "application_key"
        )
        header = _secret(session, endpoint, config.secrets.cin7_webhook, "secret")
        with Cin7Client.from_config(
            config.endpoints.cin7, creds["account_id"], creds["application_key"], flow="operator"
        ) as cin7:
            for event_type, path in wanted:
                done = ensure_webhook(cin7, event_type, f"{url}{path}", header["secret"])
                print(f"{event_type} → {url}{path}: {done}")
        return 0

    return run("orosync webhooks ensure", action)
