"""What every function builds once per cold start: config, clock, state store, queues, clients.

Built lazily on first use (imports have no side effects), then reused by every invocation of the
same execution environment. Tests reset it with `Runtime.reset()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar

from aws_lambda_powertools.utilities import parameters

from shared.adapters.aws.queue import SqsQueue
from shared.adapters.aws.rate_budget import RateBudget
from shared.adapters.aws.secrets import get_secret_json
from shared.adapters.aws.state import StateStore
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.cin7.erp import Cin7Erp
from shared.adapters.orocommerce.client import OroClient
from shared.adapters.orocommerce.storefront import OroStorefront
from shared.alerts import OwnerAlerts
from shared.config import Config, config_from_env
from shared.resources import queue


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Runtime:
    _current: ClassVar[Runtime | None] = None
    _erp_clients: dict[str, Cin7Client] = field(default_factory=dict)

    @classmethod
    def get(cls) -> Runtime:
        if cls._current is None:
            cls._current = cls()
        return cls._current

    @classmethod
    def reset(cls) -> None:
        """Forget everything built so far (a new cold start); tests call it between runtimes."""
        config_from_env.cache_clear()
        parameters.clear_caches()
        cls._current = None

    @cached_property
    def config(self) -> Config:
        return config_from_env()

    @cached_property
    def clock(self) -> SystemClock:
        return SystemClock()

    @cached_property
    def state(self) -> StateStore:
        alerts = self.alerts
        return StateStore(
            on_exception_opened=alerts.exception_opened if alerts else None,
            alerts_per_hour=lambda: self.config.alerts.per_hour_per_team,  # read only when an alert is due
        )

    @cached_property
    def alerts(self) -> OwnerAlerts | None:
        """The owner teams' topics, if this function publishes to them (`FunctionSpec.alerts`)."""
        return OwnerAlerts.from_env()

    @cached_property
    def orders_queue(self) -> SqsQueue:
        return SqsQueue(env_var=queue("orders").env_var)

    @cached_property
    def stock_queue(self) -> SqsQueue:
        return SqsQueue(env_var=queue("stock").env_var)

    @cached_property
    def prices_queue(self) -> SqsQueue:
        return SqsQueue(env_var=queue("prices").env_var)

    @cached_property
    def fulfilment_queue(self) -> SqsQueue:
        return SqsQueue(env_var=queue("fulfilment").env_var)

    @cached_property
    def customers_queue(self) -> SqsQueue:
        return SqsQueue(env_var=queue("customers").env_var)

    @cached_property
    def reconcile_queue(self) -> SqsQueue:
        return SqsQueue(env_var=queue("reconcile").env_var)

    @cached_property
    def storefront(self) -> OroStorefront:
        creds = self.secret("oro_client", "client_id", "client_secret", system="oro")
        client = OroClient.from_config(self.config.endpoints.oro, creds["client_id"], creds["client_secret"])
        return OroStorefront(client)

    def erp(self, flow: str) -> Cin7Erp:
        """The ERP for one flow: the API application that serves it, behind that application's budget."""
        application = self.config.erp.application_for(flow)
        if application not in self._erp_clients:
            app = self.config.erp.applications[application]
            creds = self.secret(app.secret, "account_id", "application_key", system="cin7")
            self._erp_clients[application] = Cin7Client.from_config(
                self.config.endpoints.cin7,
                creds["account_id"],
                creds["application_key"],
                budget=RateBudget.for_flow(self.config, flow),
            )
        return Cin7Erp(self._erp_clients[application].for_flow(flow), sale_type=self.config.erp.sale_type)

    def secret(self, key: str, *required: str, system: str | None = None) -> dict[str, Any]:
        """A secret named by `config.secrets.<key>`, cached by Powertools for `max_age_seconds`. `system`: the
        secret holds that system's credentials (unreadable → `CredentialsRejected`)."""
        name = getattr(self.config.secrets, key)
        return get_secret_json(
            name, required_keys=required, max_age=self.config.secrets.max_age_seconds, system=system
        )

    def drop_credentials(self, system: str) -> None:
        """`system` refused our credentials: forget the cached secrets and the clients built from them, so the
        next attempt reads the secret afresh and a corrected secret is used at once, not after `max_age`."""
        parameters.clear_caches()
        if system == "oro":
            self.__dict__.pop(
                "storefront", None
            )  # the cached_property: rebuilt (and a new token) on next use
        elif system == "cin7":
            self._erp_clients.clear()
