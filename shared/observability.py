"""Logger, tracer and metrics for every function, created in one place; and the personal-data mask.

Metrics are PascalCase with `flow` and `system` dimensions (STYLE.md), kept per invocation thread (see
`ThreadMetrics`). Logs carry the Oro order id as correlation id. Anything that may hold personal data goes
through `mask_personal` before it is logged.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

SERVICE = "orosync"
NAMESPACE = "Orosync"
CREDENTIALS_REJECTED = "CredentialsRejected"
CREDENTIAL_SYSTEMS = ("oro", "cin7")  # the `system` of each client's errors: one alarm each


class ThreadMetrics:
    """Powertools `Metrics` with its own metrics, dimensions and metadata in each thread.

    Powertools keeps one metric and dimension set per process, shared by every `Metrics` instance. On AWS a
    process runs one function, one invocation at a time, so that is one set per invocation. The local runtime
    runs every function in one process, one invocation per thread at a time (webhook_ingest in an HTTP
    thread while order_sync works a batch in the queue poller): with one shared set, each handler's
    `add_dimension("system", ...)` overwrote the other's (PowertoolsUserWarning "Dimension 'system' has
    already been added"), and one function's flush published the other's metrics under its own dimensions
    and cleared them. One set per thread makes each invocation add its dimensions once, to its own metrics.
    """

    def __init__(self, *, service: str, namespace: str) -> None:
        self.service = service
        self.namespace = namespace
        self._local = threading.local()

    def current(self) -> Metrics:
        """This thread's Metrics (created on first use, with empty sets of its own)."""
        current: Metrics | None = getattr(self._local, "metrics", None)
        if current is None:
            provider = AmazonCloudWatchEMFProvider(
                metric_set={},
                dimension_set={},
                metadata_set={},
                default_dimensions={},
                service=self.service,
                namespace=self.namespace,
            )
            current = Metrics(service=self.service, namespace=self.namespace, provider=provider)
            self._local.metrics = current
        return current

    def add_metric(self, name: str, unit: Any, value: float, resolution: Any = 60) -> None:
        self.current().add_metric(name=name, unit=unit, value=value, resolution=resolution)

    def add_dimension(self, name: str, value: str) -> None:
        self.current().add_dimension(name=name, value=value)

    def add_metadata(self, key: str, value: Any) -> None:
        self.current().add_metadata(key=key, value=value)

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        self.current().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)

    def log_metrics(
        self, lambda_handler: Callable[..., Any] | None = None, **options: Any
    ) -> Callable[..., Any]:
        """`Metrics.log_metrics` (same options) on the Metrics of the thread the handler runs in."""
        if lambda_handler is None:
            return functools.partial(self.log_metrics, **options)
        handler = lambda_handler

        @functools.wraps(handler)
        def decorate(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            return self.current().log_metrics(handler, **options)(event, context, *args, **kwargs)

        return decorate


def count_credentials_rejected(system: str) -> None:
    """One `CredentialsRejected` for `system` (oro, cin7), published at once with dimensions of its own
    (`service`, `system`): a refused credential is the system's outage whichever flow met it, so one alarm
    per system (infra/monitoring.py) hears every flow; the invocation's metric set carries its flow's."""
    with single_metric(
        name=CREDENTIALS_REJECTED,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE, "system": system},
    ):
        pass


# Metrics with dimensions of their own (not the invocation's flow), each behind one alarm or dashboard widget
# (infra/monitoring.py):
HEARTBEAT = "Heartbeat"  # a scheduled function ran (dimension `function`): a schedule that stops alarms
ERP_TOKENS_TAKEN = "ErpTokensTaken"  # one ERP call's token (dimension `application`): the budget used
ERP_BUDGET_EXHAUSTED = "ErpBudgetExhausted"  # a step found no token (dimension `application`)
ORDER_LATENCY = "OrderLatencySeconds"  # order_sync: intake to the synced sale (flow `orders`, system `erp`)


def count_once(name: str, dimensions: dict[str, str], value: float = 1) -> None:
    """One data point of `name` published at once under `service` + `dimensions` (see
    `count_credentials_rejected` for why not the invocation's metric set). Silent with
    POWERTOOLS_METRICS_DISABLED, as the invocation's metrics are (single_metric does not look at it)."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").strip().lower() in ("1", "true"):
        return
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE, **dimensions},
    ):
        pass


def heartbeat(function: str) -> None:
    """Every scheduled function calls this once per run (infra alarms when one stops coming)."""
    count_once(HEARTBEAT, {"function": function})


logger = Logger(service=SERVICE, utc=True)
tracer = Tracer(service=SERVICE)
metrics = ThreadMetrics(service=SERVICE, namespace=NAMESPACE)

# Keys whose values identify a person (both APIs' spellings, compared case-insensitively).
_PERSONAL_KEYS = {
    "email",
    "phone",
    "mobilephone",
    "fax",
    "firstname",
    "lastname",
    "contact",
    "contactname",
    "customercontact",
    "customercontactname",
    "customeremail",
    "customercontactemail",
    "line1",
    "line2",
    "street",
    "street2",
    "postcode",
    "postalcode",
    "taxnumber",
    "password",
    # whole addresses and notes (both APIs' spellings and the domain's)
    "billingaddress",
    "shippingaddress",
    "billing_address",
    "shipping_address",
    "address",
    "customernotes",
    "customer_notes",
    "shippingnotes",
}
_EMAIL_RE = re.compile(r"[^@\s\"']+@[^@\s\"']+")


def mask_personal(value: Any) -> Any:
    """A copy of `value` with personal fields replaced by '***' and e-mail addresses blanked in text."""
    if is_dataclass(value) and not isinstance(value, type):  # a domain object (order, address, draft)
        return mask_personal(asdict(value))
    if isinstance(value, Mapping):
        return {
            k: ("***" if str(k).lower() in _PERSONAL_KEYS and v not in (None, "") else mask_personal(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_personal(v) for v in value]
    if isinstance(value, str):
        return _EMAIL_RE.sub("***@***", value)
    return value
