"""Create the service's tables and queues from `shared.resources`, with the settings the CDK stack gives them.

Idempotent: what exists is reused (queue attributes are brought back to the spec; a table whose keys
or indexes differ from the spec is an error, since those cannot be changed in place). Works against
the embedded endpoint or any real account: the boto3 session and endpoint decide which.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from shared.adapters.aws.state import StateStore
from shared.alerts import topic_env_var
from shared.config import Team
from shared.resources import (
    FUNCTIONS,
    QUEUES,
    TABLES,
    VISIBILITY_TIMEOUT_FACTOR,
    FunctionSpec,
    QueueSpec,
    TableSpec,
    dlq_env_var,
)

DEFAULT_PREFIX = "orosync-local"
SQS_MANAGED_KEY = "alias/aws/sqs"  # the CDK stack's KMS_MANAGED encryption


class ProvisioningError(RuntimeError):
    pass


def physical_name(prefix: str, key: str) -> str:
    """`orosync-local` + `orders-dlq` -> `orosync-local-orders-dlq`."""
    return f"{prefix}-{key}"


def visibility_timeout(q: QueueSpec, functions: Sequence[FunctionSpec] = FUNCTIONS) -> int:
    """`resources.visibility_timeout_seconds`, for the consumer found among `functions` (tests bring their own)."""
    consumer = next((f for f in functions if f.name == q.consumer), None)
    if consumer is None:
        raise ProvisioningError(f"queue {q.key!r}: its consumer {q.consumer!r} is not among the functions")
    return VISIBILITY_TIMEOUT_FACTOR * consumer.timeout_seconds


def _session(session: boto3.session.Session | None) -> boto3.session.Session:
    return session or boto3.session.Session()


def session_for(endpoint_url: str | None) -> boto3.session.Session:
    """The default credential chain; for an explicit local endpoint, placeholder credentials if there are none."""
    session = boto3.session.Session()
    if endpoint_url and (session.get_credentials() is None or session.region_name is None):
        from local.aws import LOCAL_AWS_ENV

        creds = session.get_credentials()
        session = boto3.session.Session(
            aws_access_key_id=creds.access_key if creds else LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds.secret_key if creds else LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=session.region_name or LOCAL_AWS_ENV["AWS_REGION"],
        )
    return session


def provision(
    prefix: str = DEFAULT_PREFIX,
    *,
    session: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
    tables: Sequence[TableSpec] = TABLES,
    queues: Sequence[QueueSpec] = QUEUES,
    functions: Sequence[FunctionSpec] = FUNCTIONS,
    visibility_timeouts: Mapping[str, int] | None = None,
    alerts: bool = True,
) -> dict[str, str]:
    """Create (or reuse) every table and queue + DLQ, and the owner teams' alert topics (`alerts`); return env
    var name -> table name, queue URL or topic ARN.

    `visibility_timeouts` (queue key -> seconds) overrides the spec-derived value; only tests use it,
    to see redelivery in a second instead of six function timeouts.
    """
    s = _session(session)
    ddb = s.client("dynamodb", endpoint_url=endpoint_url)
    sqs = s.client("sqs", endpoint_url=endpoint_url)
    env: dict[str, str] = {}
    for t in tables:
        env[t.env_var] = ensure_table(ddb, physical_name(prefix, t.key), t)
        if t.key == "state":
            # The store begins when it is provisioned, unless it began before (shared/flows/recovery.py):
            # settled at once, since no worker can have used a table that did not exist.
            store = StateStore(env[t.env_var], dynamodb=s.resource("dynamodb", endpoint_url=endpoint_url))
            store.epoch(datetime.now(UTC), settle_seconds=0)
    for q in queues:
        seconds = (visibility_timeouts or {}).get(q.key, visibility_timeout(q, functions))
        queue_url, dlq_url = ensure_queue(sqs, prefix, q, seconds)
        env[q.env_var] = queue_url
        env[dlq_env_var(q)] = dlq_url
    if alerts:
        sns = s.client("sns", endpoint_url=endpoint_url)
        for team in Team:
            env[topic_env_var(team)], env[inbox_env_var(team)] = ensure_alert_topic(sns, sqs, prefix, team)
    return env


def inbox_env_var(team: Team) -> str:
    return f"ALERTS_INBOX_{team.value.upper()}"


def ensure_alert_topic(sns: Any, sqs: Any, prefix: str, team: Team) -> tuple[str, str]:
    """The team's topic (`<prefix>-alerts-<team>`, as the stack's topic in infra/monitoring.py) and, in place of
    the owner's e-mail subscription, an SQS inbox subscribed to it that records every alert published, for
    `orosync demo` and the tests to read (`alerts_sent`). Returns (topic ARN, inbox URL)."""
    arn = str(sns.create_topic(Name=physical_name(prefix, f"alerts-{team.value}"))["TopicArn"])
    inbox = _create_or_update(sqs, physical_name(prefix, f"alerts-{team.value}-inbox"), {})
    inbox_arn = queue_arn(sqs, inbox)
    subscribed = {
        sub["Endpoint"] for sub in sns.list_subscriptions_by_topic(TopicArn=arn).get("Subscriptions", [])
    }
    if inbox_arn not in subscribed:
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=inbox_arn)
    return arn, inbox


def alerts_sent(
    env: Mapping[str, str], *, session: boto3.session.Session | None = None
) -> list[dict[str, Any]]:
    """Every alert published to the owner topics so far, drained from their inboxes: team, subject, message
    and attributes, oldest first per team."""
    sqs = _session(session).client("sqs")
    out: list[dict[str, Any]] = []
    for team in Team:
        url = env.get(inbox_env_var(team))
        while url:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = batch.get("Messages", [])
            if not messages:
                break
            for message in messages:
                note = json.loads(message["Body"])
                attributes = {k: v.get("Value") for k, v in (note.get("MessageAttributes") or {}).items()}
                out.append(
                    {
                        "team": team.value,
                        "subject": note.get("Subject"),
                        "message": note.get("Message"),
                        "attributes": attributes,
                    }
                )
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return out


def ensure_table(ddb: Any, name: str, spec: TableSpec) -> str:
    key_schema = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        key_schema.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    attributes = {spec.partition_key, *([spec.sort_key] if spec.sort_key else [])}
    indexes = []
    for index_name, pk, sk in spec.indexes:
        index_keys = [{"AttributeName": pk, "KeyType": "HASH"}]
        if sk:
            index_keys.append({"AttributeName": sk, "KeyType": "RANGE"})
        attributes.update([pk, *([sk] if sk else [])])
        indexes.append(
            {"IndexName": index_name, "KeySchema": index_keys, "Projection": {"ProjectionType": "ALL"}}
        )
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": key_schema,
        # Every key in the service is a composite string (see infra/tables.py).
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"Enabled": True},
    }
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    try:
        ddb.create_table(**request)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceInUseException":
            raise
        _check_existing_table(ddb, name, key_schema, indexes)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    if spec.ttl_attribute:
        current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if (
            current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING")
            or current.get("AttributeName") != spec.ttl_attribute
        ):
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
    return name


def _check_existing_table(
    ddb: Any, name: str, key_schema: list[dict[str, str]], indexes: list[dict[str, Any]]
) -> None:
    table = ddb.describe_table(TableName=name)["Table"]
    if table["KeySchema"] != key_schema:
        raise ProvisioningError(
            f"table {name} exists with keys {table['KeySchema']}, the spec wants {key_schema}"
        )
    existing = {i["IndexName"]: i["KeySchema"] for i in table.get("GlobalSecondaryIndexes", [])}
    for index in indexes:
        if existing.get(index["IndexName"]) != index["KeySchema"]:
            raise ProvisioningError(
                f"table {name} lacks index {index['IndexName']} with keys {index['KeySchema']}: "
                "delete the table or add the index"
            )


def ensure_queue(sqs: Any, prefix: str, spec: QueueSpec, visibility_timeout_seconds: int) -> tuple[str, str]:
    """The queue and its DLQ; returns (queue URL, DLQ URL)."""
    dlq_url = _create_or_update(
        sqs,
        physical_name(prefix, spec.dlq_key),
        {"MessageRetentionPeriod": str(spec.dlq_retention_seconds), "KmsMasterKeyId": SQS_MANAGED_KEY},
    )
    dlq_arn = queue_arn(sqs, dlq_url)
    queue_url = _create_or_update(
        sqs,
        physical_name(prefix, spec.key),
        {
            "VisibilityTimeout": str(visibility_timeout_seconds),
            "MessageRetentionPeriod": str(spec.retention_seconds),
            "KmsMasterKeyId": SQS_MANAGED_KEY,
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}
            ),
        },
    )
    return queue_url, dlq_url


def _create_or_update(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    try:
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    except ClientError as err:
        # SQS refuses CreateQueue for an existing queue with other attributes: converge it instead.
        if err.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
    url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def put_secrets(
    secrets: Mapping[str, Mapping[str, Any]],
    *,
    session: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
) -> list[str]:
    """Store each secret (name -> JSON object) in Secrets Manager, creating or updating it; returns the names."""
    sm = _session(session).client("secretsmanager", endpoint_url=endpoint_url)
    for name, value in secrets.items():
        text = json.dumps(value)
        try:
            sm.create_secret(Name=name, SecretString=text)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ResourceExistsException":
                raise
            sm.put_secret_value(SecretId=name, SecretString=text)
    return list(secrets)


def missing_secrets(
    names: Sequence[str], *, session: boto3.session.Session | None = None, endpoint_url: str | None = None
) -> list[str]:
    """The names among `names` that Secrets Manager does not hold."""
    sm = _session(session).client("secretsmanager", endpoint_url=endpoint_url)
    missing = []
    for name in names:
        try:
            sm.describe_secret(SecretId=name)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            missing.append(name)
    return missing
