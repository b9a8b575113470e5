"""One factory for every Lambda in `shared.resources.FUNCTIONS`, with the shared defaults.

Each function gets its own role with only what its spec names: its log group, the DynamoDB actions its
spec lists per table (never a blanket read/write), the queues it produces to or consumes, and read access
to its secrets. Resources are found through the environment
variables the specs name (DESIGN §8); the config travels inside the bundle (`OROSYNC_CONFIG`).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from aws_cdk import CfnElement, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.bundling import ARCHITECTURE, RUNTIME, bundled_config_path, function_code
from infra.nag import acknowledge
from infra.naming import pascal
from infra.queues import Queues
from infra.secrets import ServiceSecrets
from infra.tables import Tables
from shared.config import CONFIG_ENV_VAR, Config
from shared.errors import ConfigError
from shared.observability import NAMESPACE, SERVICE
from shared.resources import FUNCTIONS, QUEUES, FunctionSpec, QueueSpec, TableAccess, queue, table

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
LOG_LEVEL = "INFO"


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        config_path: Path,
        tables: Tables,
        queues: Queues,
        secrets: ServiceSecrets,
    ) -> None:
        super().__init__(scope, construct_id)
        self._code = function_code(config_path)
        self._config_env = bundled_config_path(config_path)
        self._tables = tables
        self._queues = queues
        self._secrets = secrets
        self._config = config
        self.by_name: dict[str, lambda_.Function] = {spec.name: self._function(spec) for spec in FUNCTIONS}

    def _function(self, spec: FunctionSpec) -> lambda_.Function:
        cid = pascal(spec.name)
        consumed = [q for q in QUEUES if q.consumer == spec.name]
        log_group = logs.LogGroup(self, f"{cid}Logs", retention=LOG_RETENTION)
        # Our own role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
        role = iam.Role(
            self,
            f"{cid}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"orosync {spec.name}",
        )
        log_group.grant_write(role)
        fn = lambda_.Function(
            self,
            cid,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=self._code,
            handler=spec.handler,
            timeout=Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment=self._environment(spec, consumed),
            # A scheduled poll must never overlap itself: two runs would read the same watermark window.
            reserved_concurrent_executions=1 if spec.schedule else None,
        )
        self._grant(spec, fn)
        for queue_spec in consumed:
            fn.add_event_source(
                event_sources.SqsEventSource(
                    self._queues.by_key[queue_spec.key],
                    batch_size=queue_spec.batch_size,
                    max_batching_window=Duration.seconds(queue_spec.max_batching_window_seconds)
                    if queue_spec.max_batching_window_seconds
                    else None,
                    report_batch_item_failures=True,
                    max_concurrency=queue_spec.max_concurrency,
                )
            )
        self._acknowledge(spec, fn, role, consumed)
        return fn

    def _environment(self, spec: FunctionSpec, consumed: list[QueueSpec]) -> dict[str, str]:
        env = {
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
            "LOG_LEVEL": LOG_LEVEL,
            CONFIG_ENV_VAR: self._config_env,
        }
        for key in spec.tables:
            env[table(key).env_var] = self._tables.by_key[key].table_name
        # A consumer needs its own queue's URL too: it hands a message back with a delay (DESIGN §7).
        for queue_spec in (*(queue(k) for k in spec.queues_produced), *consumed):
            env[queue_spec.env_var] = self._queues.by_key[queue_spec.key].queue_url
        return env

    def _grant(self, spec: FunctionSpec, fn: lambda_.Function) -> None:
        for access in spec.table_access:
            ddb_table = self._tables.by_key[access.key]
            resources = [ddb_table.table_arn]
            if _queries_indexes(access):
                resources.append(f"{ddb_table.table_arn}/index/*")
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=[f"dynamodb:{action}" for action in access.actions], resources=resources
                )
            )
        for key in spec.queues_produced:
            self._queues.by_key[key].grant_send_messages(fn)
        # The credentials of the ERP application that serves each flow the function calls the ERP for.
        erp_secrets = [
            self._config.erp.applications[self._config.erp.application_for(flow)].secret
            for flow in spec.erp_flows
        ]
        for key in dict.fromkeys([*spec.secrets, *erp_secrets]):
            secret = self._secrets.by_key.get(key)
            if secret is None:
                raise ConfigError(f"secrets.{key}: not set, but function {spec.name} reads it")
            secret.grant_read(fn)

    def _acknowledge(
        self, spec: FunctionSpec, fn: lambda_.Function, role: iam.Role, consumed: list[QueueSpec]
    ) -> None:
        acknowledge(
            fn,
            f"Pinned to {RUNTIME.name} on purpose: the bundle's compiled wheels (pydantic-core, PyYAML) "
            "are fetched for exactly this version (infra/bundling.py derives pip's "
            "--python-version from the same constant). Moving up is a one-line change made together "
            "with a test run, not on a linter's schedule.",
            "AwsSolutions-L1",
            "Serverless-LambdaLatestVersion",
        )
        acknowledge(
            fn,
            _no_async_dlq_reason(spec, consumed),
            "Serverless-LambdaDLQ",
        )
        acknowledge(
            role,
            "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions "
            "(the Service Authorization Reference lists none), so Tracing.ACTIVE needs Resource '*'.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        for access in spec.table_access:
            if _queries_indexes(access):
                key = access.key
                cfn_table = cast(CfnElement, self._tables.by_key[key].node.default_child)
                acknowledge(
                    role,
                    f"Queries the global secondary indexes of the {key} table; '/index/*' covers only "
                    "the indexes of that one table.",
                    f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(cfn_table)}.Arn>/index/*]",
                )
        if consumed:
            acknowledge(
                fn,
                "SQS event source mappings cannot have an on-failure destination (Lambda offers them for "
                "stream and Kafka sources only). A message that keeps failing moves to the queue's "
                "dead-letter queue through its redrive policy, and that queue is alarmed.",
                "Serverless-LambdaEventSourceMappingDestination",
            )


def _queries_indexes(access: TableAccess) -> bool:
    """A function that may Query a table with indexes may query them too (`<table arn>/index/*`)."""
    return "Query" in access.actions and bool(table(access.key).indexes)


def _no_async_dlq_reason(spec: FunctionSpec, consumed: list[QueueSpec]) -> str:
    """Why a function needs no Lambda dead-letter queue: it depends on how it is invoked."""
    reasons = []
    if spec.routes:
        reasons.append("API Gateway invokes it synchronously, so there is no asynchronous event to keep")
    if consumed:
        reasons.append(
            "for its SQS messages, the queue's own redrive policy is the dead-letter path "
            f"({', '.join(q.dlq_key for q in consumed)})"
        )
    if spec.schedule:
        reasons.append(
            "a scheduled poll that fails is made up by the next run, which reads from the watermark "
            "with an overlap window (DESIGN §3), so a lost tick holds nothing worth replaying"
        )
    if not reasons:
        reasons.append("it has no trigger in this stack: an operator invokes it on demand, synchronously")
    text = "; ".join(reasons)
    return text[0].upper() + text[1:] + "."
