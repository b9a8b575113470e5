"""The event and context shapes AWS hands a Lambda function, built locally.

API Gateway REST (v1) proxy events, SQS event source batches, EventBridge scheduled events and the
Lambda context object: the same keys and value types as AWS sends, so a handler cannot tell the
difference.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.resources import FunctionSpec

DEFAULT_ACCOUNT = "123456789012"  # moto's account; real AWS answers with the caller's


@dataclass
class LambdaContext:
    """What `context` holds in a Lambda invocation; the remaining time runs from construction."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_context(spec: FunctionSpec, function_name: str, region: str, account: str) -> LambdaContext:
    return LambdaContext(
        function_name=function_name,
        memory_limit_in_mb=spec.memory_mb,
        invoked_function_arn=f"arn:aws:lambda:{region}:{account}:function:{function_name}",
        timeout_seconds=spec.timeout_seconds,
    )


def api_gateway_event(
    *,
    method: str,
    path: str,
    resource: str,
    headers: Sequence[tuple[str, str]],
    query: Sequence[tuple[str, str]],
    body: bytes,
    path_parameters: Mapping[str, str] | None,
    source_ip: str,
    stage: str,
    account: str,
    api_id: str,
    domain_name: str,
) -> dict[str, Any]:
    """An API Gateway REST API Lambda proxy integration event (payload format 1.0)."""
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value  # API Gateway keeps the last value of a repeated header
        multi_headers.setdefault(name, []).append(value)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    try:
        text: str | None = body.decode("utf-8")
        is_base64 = False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode("ascii"), True
    if not body:
        text = None  # API Gateway sends null, not "", when there is no body
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account,
            "apiId": api_id,
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".")[0],
            "extendedRequestId": base64.b32encode(uuid.uuid4().bytes)[:16].decode(),
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": source_ip,
                "user": None,
                "userAgent": single_headers.get("User-Agent") or single_headers.get("user-agent"),
                "userArn": None,
            },
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": hashlib.sha1(resource.encode(), usedforsecurity=False).hexdigest()[:6],
            "resourcePath": resource,
            "stage": stage,
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event a Lambda SQS event source mapping sends for a batch of received messages."""
    return {"Records": [_sqs_record(m, queue_arn, region) for m in messages]}


def _sqs_record(m: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": dict(m.get("Attributes", {})),
        "messageAttributes": {k: _message_attribute(v) for k, v in m.get("MessageAttributes", {}).items()},
        "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if m.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = m["MD5OfMessageAttributes"]
    return record


def _message_attribute(a: Mapping[str, Any]) -> dict[str, Any]:
    # The SQS API's PascalCase and raw bytes become the event's camelCase and base64 strings.
    out: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": a["DataType"]}
    if "StringValue" in a:
        out["stringValue"] = a["StringValue"]
    if "BinaryValue" in a:
        out["binaryValue"] = base64.b64encode(a["BinaryValue"]).decode("ascii")
    return out


def scheduled_event(rule_arn: str, region: str, account: str, when: datetime | None = None) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends to its target."""
    t = (when or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
