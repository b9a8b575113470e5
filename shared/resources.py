"""The one source for the service's AWS resources: tables, queues, functions and schedules.

The CDK stack (`infra/`) and the local runtime (`local/`) both build from these specs, so a queue's
visibility timeout or a table's keys cannot differ between a laptop and production. Functions find
their resources through the environment variables named here, never through hard-coded names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Fourteen days: the longest SQS retention, so the longest replay window (DLQ redrive). Idempotency
# and intake records must outlive it (DESIGN §6).
REPLAY_WINDOW_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class TableSpec:
    key: str  # logical name, e.g. "state"
    env_var: str  # environment variable carrying the physical table name
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    # (index name, partition key, sort key) for each global secondary index
    indexes: tuple[tuple[str, str, str | None], ...] = ()


@dataclass(frozen=True)
class QueueSpec:
    key: str  # logical name, e.g. "orders"
    env_var: str  # environment variable carrying the queue URL
    consumer: str  # FunctionSpec.name of the function that consumes it
    batch_size: int = 10
    max_receive_count: int = 5  # receives before a message moves to the DLQ
    retention_seconds: int = REPLAY_WINDOW_SECONDS
    dlq_retention_seconds: int = REPLAY_WINDOW_SECONDS
    max_batching_window_seconds: int = 0
    # Event source MaximumConcurrency (2..1000; None = no cap). Every worker shares one ERP rate budget, so
    # more workers than the budget can feed only wait on each other.
    max_concurrency: int | None = None
    # A message older than this alarms (`<Key>OldestMessage`, shared/alarms.py): the consumer is not keeping up.
    max_age_seconds: int = 15 * 60

    @property
    def dlq_key(self) -> str:
        return f"{self.key}-dlq"


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str  # API Gateway resource path, e.g. "/webhooks/oro"


@dataclass(frozen=True)
class ScheduleSpec:
    key: str  # logical name; the expression comes from the config (`schedules.<key>`)
    default_expression: str


@dataclass(frozen=True)
class TableAccess:
    """One table a function uses and the DynamoDB actions (IAM names, e.g. "GetItem") its code calls on it.

    Least privilege: the role is granted exactly these. tests/unit/test_function_permissions.py derives the
    actions from the code (the StateStore and RateBudget methods each function's flows call) and fails when
    a function would call one it is not granted.
    """

    key: str  # TableSpec.key
    actions: tuple[str, ...]


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # also the folder under functions/
    description: str
    timeout_seconds: int = 30
    memory_mb: int = 256
    routes: tuple[RouteSpec, ...] = ()
    schedule: ScheduleSpec | None = None
    # the tables it uses, with the actions it needs on each, and the queues it sends to (env vars, IAM grants)
    table_access: tuple[TableAccess, ...] = ()
    queues_produced: tuple[str, ...] = ()
    secrets: tuple[str, ...] = field(default=())  # config keys under `secrets` the function reads
    # ERP flows it calls Cin7 for (`Runtime.erp(flow)`): each must be served by an `erp.applications` entry.
    erp_flows: tuple[str, ...] = ()
    # It opens named exceptions, so it tells their owners: the owner teams' topics (`ALERTS_TOPIC_<TEAM>`,
    # sns:Publish; shared/alerts.py). Derived from the code by tests/unit/test_function_permissions.py.
    alerts: bool = False

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(access.key for access in self.table_access)

    @property
    def handler(self) -> str:
        return f"functions.{self.name}.handler.lambda_handler"


# Visibility timeout must cover a whole batch of retries inside the function: AWS recommends at
# least six times the function timeout for SQS event sources.
VISIBILITY_TIMEOUT_FACTOR = 6

TABLES: tuple[TableSpec, ...] = (
    # Orders, bindings, step records, exceptions, watermarks, intake de-duplication, caches.
    TableSpec(
        key="state",
        env_var="STATE_TABLE_NAME",
        partition_key="pk",
        sort_key="sk",
        ttl_attribute="expires_at",
        indexes=(("by_status", "gsi1pk", "gsi1sk"),),
    ),
    # The ERP rate budget: one token bucket item per ERP API application (DESIGN §7).
    TableSpec(key="rate_budget", env_var="RATE_BUDGET_TABLE_NAME", partition_key="pk"),
)

QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(
        key="orders", env_var="ORDERS_QUEUE_URL", consumer="order_sync", batch_size=5, max_concurrency=2
    ),
    # Stock steps (shared/flows/stock.py): pages of the ERP's availability, pushes of 100 SKUs, checks.
    # Bulk runs wait for ERP tokens below the orders' reserve: their messages may wait long by design.
    QueueSpec(
        key="stock",
        env_var="STOCK_QUEUE_URL",
        consumer="stock_push",
        batch_size=5,
        max_concurrency=2,
        max_age_seconds=2 * 3600,
    ),
    # Price steps (shared/flows/prices.py): one price list mapping, or up to 20 Cin7 product updates, each.
    QueueSpec(
        key="prices",
        env_var="PRICES_QUEUE_URL",
        consumer="price_push",
        batch_size=1,
        max_concurrency=2,
        max_age_seconds=2 * 3600,
    ),
    # Fulfilment steps (shared/flows/fulfilment.py): one sale's progress to its Oro order, or a scan.
    QueueSpec(
        key="fulfilment",
        env_var="FULFILMENT_QUEUE_URL",
        consumer="fulfilment_sync",
        batch_size=5,
        max_concurrency=2,
    ),
    # Customer steps (shared/flows/customers.py): one Oro account, one ERP customer's approval, or a scan.
    QueueSpec(
        key="customers",
        env_var="CUSTOMERS_QUEUE_URL",
        consumer="customer_push",
        batch_size=5,
        max_concurrency=2,
    ),
    # Reconciliation steps (shared/flows/reconcile.py): the orders of the window against the ERP's sales.
    # A bulk flow: a step may wait for ERP tokens behind the orders.
    QueueSpec(
        key="reconcile",
        env_var="RECONCILE_QUEUE_URL",
        consumer="reconcile_run",
        batch_size=1,
        max_concurrency=2,
        max_age_seconds=2 * 3600,
    ),
)

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="webhook_ingest",
        description="Verifies, validates and enqueues OroCommerce webhooks; answers 202.",
        timeout_seconds=10,
        routes=(
            RouteSpec("POST", "/webhooks/oro"),
            RouteSpec("POST", "/webhooks/cin7/stock"),
            RouteSpec("POST", "/webhooks/cin7/product"),
            RouteSpec("POST", "/webhooks/cin7/customer"),
            RouteSpec("POST", "/webhooks/cin7/sale"),
        ),
        # The intake claim: put, then marked enqueued (or released when the enqueue failed).
        table_access=(TableAccess("state", ("PutItem", "UpdateItem")),),
        queues_produced=("orders", "stock", "prices", "customers", "fulfilment"),
        secrets=("oro_webhook", "cin7_webhook"),
    ),
    FunctionSpec(
        name="order_poll",
        description="Polls OroCommerce orders updated since the watermark (with overlap) and enqueues them.",
        timeout_seconds=120,
        schedule=ScheduleSpec(key="order_poll", default_expression="rate(5 minutes)"),
        # Intake and the watermark; the held-orders index (Query) and releases; DeleteItem drops a cached
        # ERP customer so a credit-hold re-check reads it afresh.
        table_access=(
            TableAccess(
                "state",
                (
                    "GetItem",
                    "PutItem",
                    "UpdateItem",
                    "DeleteItem",
                    "Query",
                    "DescribeTable",
                    "BatchWriteItem",
                ),
            ),
        ),
        queues_produced=("orders",),
        secrets=("oro_client",),
        alerts=True,
    ),
    FunctionSpec(
        name="order_sync",
        description="Creates each confirmed OroCommerce order once in the ERP, or holds it with a reason.",
        timeout_seconds=60,
        table_access=(
            # DescribeTable: the state store's epoch names the table it was written for; BatchWriteItem:
            # the ERP's sales, recorded once after a state loss (recovery.py)
            TableAccess("state", ("GetItem", "PutItem", "UpdateItem", "DescribeTable", "BatchWriteItem")),
            TableAccess("rate_budget", ("GetItem", "UpdateItem")),
        ),
        # It sends a throttled message back to its own queue with a delay (DESIGN §7).
        queues_produced=("orders",),
        secrets=("oro_client", "cin7_orders"),
        erp_flows=("orders",),
        alerts=True,
    ),
    FunctionSpec(
        name="stock_sync",
        description="Starts a stock run: queues the first page of the ERP's availability and the webhook check.",
        timeout_seconds=30,
        schedule=ScheduleSpec(key="stock_sync", default_expression="rate(15 minutes)"),
        queues_produced=("stock",),
    ),
    FunctionSpec(
        name="stock_push",
        description="Runs one stock step: reads a page of ERP availability, plans, pushes levels to Oro, checks.",
        timeout_seconds=120,
        table_access=(
            TableAccess("state", ("PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem")),
            TableAccess("rate_budget", ("GetItem", "UpdateItem")),
        ),
        # Its own next steps, and a step sent back with a delay when the ERP budget has no token.
        queues_produced=("stock",),
        # and the credentials of the ERP application serving `stock` (infra grants that from the config)
        secrets=("oro_client",),
        erp_flows=("stock",),
        alerts=True,
    ),
    FunctionSpec(
        name="price_sync",
        description="Starts a price run: queues one step per price list mapping (full reads in the window).",
        timeout_seconds=30,
        schedule=ScheduleSpec(key="price_sync", default_expression="rate(1 hour)"),
        table_access=(TableAccess("state", ("GetItem", "PutItem")),),
        queues_produced=("prices",),
    ),
    FunctionSpec(
        name="price_push",
        description="Runs one price step: a price list mapping in its direction, or a chunk of Cin7 updates.",
        timeout_seconds=300,
        table_access=(
            TableAccess(
                "state", ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "BatchWriteItem")
            ),
            TableAccess("rate_budget", ("GetItem", "UpdateItem")),
        ),
        queues_produced=("prices",),
        secrets=("oro_client",),
        erp_flows=("prices",),
        alerts=True,
    ),
    FunctionSpec(
        name="fulfilment_poll",
        description="Queues the scan of Cin7 sales updated since the watermark and the sale webhooks check.",
        timeout_seconds=30,
        schedule=ScheduleSpec(key="fulfilment_poll", default_expression="rate(10 minutes)"),
        queues_produced=("fulfilment",),
    ),
    FunctionSpec(
        name="fulfilment_sync",
        description="Runs one fulfilment step: a Cin7 sale's shipments, invoice and payment to its Oro order.",
        timeout_seconds=60,
        table_access=(
            TableAccess("state", ("GetItem", "PutItem", "UpdateItem", "DeleteItem")),
            TableAccess("rate_budget", ("GetItem", "UpdateItem")),
        ),
        queues_produced=("fulfilment",),
        secrets=("oro_client",),
        erp_flows=("fulfilment",),
        alerts=True,
    ),
    FunctionSpec(
        name="exception_digest",
        description="Open exceptions per owner and past their SLA as metrics; each owner's daily digest.",
        timeout_seconds=60,
        schedule=ScheduleSpec(key="exception_digest", default_expression="rate(1 hour)"),
        table_access=(TableAccess("state", ("Query", "PutItem", "UpdateItem")),),
        alerts=True,
    ),
    FunctionSpec(
        name="customer_sync",
        description="Starts a customer run: queues the scan of changed Oro accounts and the approval check.",
        timeout_seconds=30,
        schedule=ScheduleSpec(key="customer_sync", default_expression="rate(15 minutes)"),
        queues_produced=("customers",),
    ),
    FunctionSpec(
        name="customer_push",
        description="Runs one customer step: onboards or updates an Oro account in the ERP, approves, scans.",
        timeout_seconds=60,
        # The binding is a transaction (binding + the ERP customer's accounts); approval releases held
        # orders through shared/flows/release.py, which brings the order flow's own actions with it.
        table_access=(
            TableAccess(
                "state",
                (
                    "GetItem",
                    "PutItem",
                    "UpdateItem",
                    "DeleteItem",
                    "Query",
                    "TransactWriteItems",
                    "DescribeTable",
                    "BatchWriteItem",
                ),
            ),
            TableAccess("rate_budget", ("GetItem", "UpdateItem")),
        ),
        # Its own next steps (scans queue one step per account) and the orders released on approval.
        queues_produced=("customers", "orders"),
        secrets=("oro_client",),
        erp_flows=("customers",),
        alerts=True,
    ),
    FunctionSpec(
        name="reconcile",
        description="Queues the reconciliation of the window's Oro orders against the ERP's sales.",
        timeout_seconds=30,
        schedule=ScheduleSpec(key="reconcile", default_expression="rate(1 hour)"),
        queues_produced=("reconcile",),
    ),
    FunctionSpec(
        name="reconcile_run",
        description="Runs one reconciliation step: orphans re-enqueued, ghost sales, total mismatches, drift.",
        timeout_seconds=300,
        # Orders' state and the open exceptions (Query), exceptions opened and closed, the result kept;
        # re-enqueueing goes through intake (PutItem, UpdateItem); the drift reads the stock and price
        # records (BatchGetItem).
        table_access=(
            TableAccess("state", ("GetItem", "PutItem", "UpdateItem", "Query", "BatchGetItem")),
            TableAccess("rate_budget", ("GetItem", "UpdateItem")),
        ),
        # Its own deferred steps, and the orphaned orders enqueued again.
        queues_produced=("reconcile", "orders"),
        secrets=("oro_client",),
        erp_flows=("reconcile",),
        alerts=True,
    ),
)


def table(key: str) -> TableSpec:
    return next(t for t in TABLES if t.key == key)


def queue(key: str) -> QueueSpec:
    return next(q for q in QUEUES if q.key == key)


def function(name: str) -> FunctionSpec:
    return next(f for f in FUNCTIONS if f.name == name)


def visibility_timeout_seconds(q: QueueSpec) -> int:
    return VISIBILITY_TIMEOUT_FACTOR * function(q.consumer).timeout_seconds


def dlq_env_var(q: QueueSpec) -> str:
    return q.env_var.replace("_QUEUE_URL", "_DLQ_URL")
