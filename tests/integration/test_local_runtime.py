"""The local runtime against the embedded AWS endpoint over HTTP: provisioning, API Gateway routing,
the SQS event source mapping (batches, partial failures, redelivery, DLQ) and schedules."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest

from local import provision as prov
from local.runtime import LocalRuntime
from shared import resources
from shared.alerts import topic_env_var
from shared.config import Team, parse_config
from tests.integration import handlers_for_tests as h

# Also listed in tests/conftest.py once it names this plugin; a second mention is a no-op.
pytest_plugins = ["tests.fixtures.local_runtime"]


@pytest.fixture(autouse=True)
def _fresh_recorder() -> None:
    h.RECORDER.reset()


def eventually(condition: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def queue_messages(url: str) -> list[dict[str, Any]]:
    """Everything visible in a queue, received once with a zero visibility timeout (left in place)."""
    sqs = boto3.client("sqs")
    out: dict[str, dict[str, Any]] = {}
    for _ in range(5):
        for m in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageAttributeNames=["All"]
        ).get("Messages", []):
            out[m["MessageId"]] = m
    return list(out.values())


def depth(url: str) -> int:
    a = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(v) for v in a.values())


# ---- provisioning ------------------------------------------------------------------------------


def test_provisioning_creates_the_specs_resources_with_their_settings_when_run_twice(aws):
    env = prov.provision("prov-test")
    assert prov.provision("prov-test") == env  # idempotent: the same resources are reused
    assert set(env) == {
        *(t.env_var for t in resources.TABLES),
        *(q.env_var for q in resources.QUEUES),
        *(resources.dlq_env_var(q) for q in resources.QUEUES),
        *(topic_env_var(team) for team in Team),  # the owner teams' alert topics
        *(prov.inbox_env_var(team) for team in Team),  # and their local inboxes
    }
    sns = boto3.client("sns")
    for team in Team:  # run twice, still one inbox subscription per topic
        subs = sns.list_subscriptions_by_topic(TopicArn=env[topic_env_var(team)])["Subscriptions"]
        assert [s["Protocol"] for s in subs] == ["sqs"]
    ddb, sqs = boto3.client("dynamodb"), boto3.client("sqs")

    for spec in resources.TABLES:
        table = ddb.describe_table(TableName=env[spec.env_var])["Table"]
        assert table["TableName"] == f"prov-test-{spec.key}"
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        assert keys == {"HASH": spec.partition_key, **({"RANGE": spec.sort_key} if spec.sort_key else {})}
        indexes = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == {name for name, _, _ in spec.indexes}
        for name, pk, sk in spec.indexes:
            assert indexes[name]["KeySchema"] == [
                {"AttributeName": pk, "KeyType": "HASH"},
                {"AttributeName": sk, "KeyType": "RANGE"},
            ]
            assert indexes[name]["Projection"]["ProjectionType"] == "ALL"
        ttl = ddb.describe_time_to_live(TableName=env[spec.env_var])["TimeToLiveDescription"]
        if spec.ttl_attribute:
            assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", spec.ttl_attribute)
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"

    for spec in resources.QUEUES:
        attrs = sqs.get_queue_attributes(QueueUrl=env[spec.env_var], AttributeNames=["All"])["Attributes"]
        dlq = sqs.get_queue_attributes(QueueUrl=env[resources.dlq_env_var(spec)], AttributeNames=["All"])[
            "Attributes"
        ]
        assert int(attrs["VisibilityTimeout"]) == resources.visibility_timeout_seconds(spec)
        assert int(attrs["MessageRetentionPeriod"]) == spec.retention_seconds
        assert int(dlq["MessageRetentionPeriod"]) == spec.dlq_retention_seconds
        redrive = json.loads(attrs["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == spec.max_receive_count
        assert dlq["QueueArn"].endswith(f":prov-test-{spec.dlq_key}")


def test_provisioning_brings_an_existing_queue_back_to_the_spec_when_its_settings_drifted(aws):
    env = prov.provision("drift", tables=())
    url = env["ORDERS_QUEUE_URL"]
    boto3.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})
    assert prov.provision("drift", tables=())["ORDERS_QUEUE_URL"] == url
    attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert int(attrs["Attributes"]["VisibilityTimeout"]) == resources.visibility_timeout_seconds(
        resources.queue("orders")
    )


def test_put_secrets_creates_then_updates_a_secret(aws):
    prov.put_secrets({"orosync/test": {"secret": "one"}})
    prov.put_secrets({"orosync/test": {"secret": "two"}})
    value = boto3.client("secretsmanager").get_secret_value(SecretId="orosync/test")["SecretString"]
    assert json.loads(value) == {"secret": "two"}
    assert prov.missing_secrets(["orosync/test", "orosync/absent"]) == ["orosync/absent"]


# ---- API Gateway -------------------------------------------------------------------------------


def test_post_reaches_the_handler_as_a_proxy_event_with_the_exact_body_when_routed(local_runtime):
    rt: LocalRuntime = local_runtime([h.HTTP_FN], handlers={"t_http": h.echo})
    raw = '{"b":  1, "a":"é",\n "z": [ ]}'
    response = httpx.post(
        f"{rt.base_url}/webhooks/test?x=1&x=2&y=",
        content=raw.encode(),
        headers={"Content-Type": "application/json", "Webhook-Signature": "sha256=abc"},
    )

    assert response.status_code == 202
    assert response.headers["X-Handled-By"] == f"{rt.prefix}-t_http"
    assert response.json() == {"received": raw, "path": "/webhooks/test"}
    (call,) = h.RECORDER.calls("t_http")
    event = call.event
    assert event["body"] == raw and event["isBase64Encoded"] is False
    assert (event["httpMethod"], event["path"], event["resource"]) == (
        "POST",
        "/webhooks/test",
        "/webhooks/test",
    )
    assert event["headers"]["Webhook-Signature"] == "sha256=abc"
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["multiValueHeaders"]["Webhook-Signature"] == ["sha256=abc"]
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["pathParameters"] is None
    ctx = event["requestContext"]
    assert ctx["stage"] == "local" and ctx["requestId"] and ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["resourcePath"] == "/webhooks/test" and ctx["httpMethod"] == "POST"
    assert call.context.memory_limit_in_mb == 512
    assert call.context.invoked_function_arn.endswith(f":function:{rt.prefix}-t_http")
    assert 0 < call.remaining_ms <= 5000


def test_non_utf8_body_arrives_base64_encoded_when_posted(local_runtime):
    rt = local_runtime([h.HTTP_FN], handlers={"t_http": h.echo})
    httpx.post(f"{rt.base_url}/webhooks/test", content=b"\xff\x00\xfe")
    (call,) = h.RECORDER.calls("t_http")
    assert call.event["isBase64Encoded"] is True
    assert base64.b64decode(call.event["body"]) == b"\xff\x00\xfe"


def test_path_parameters_are_extracted_when_the_route_has_a_variable(local_runtime):
    rt = local_runtime([h.HTTP_FN], handlers={"t_http": h.echo})
    assert httpx.get(f"{rt.base_url}/items/42").status_code == 202
    (call,) = h.RECORDER.calls("t_http")
    assert call.event["pathParameters"] == {"item_id": "42"}
    assert call.event["resource"] == "/items/{item_id}" and call.event["body"] is None


def test_unknown_route_or_method_answers_404(local_runtime):
    rt = local_runtime([h.HTTP_FN], handlers={"t_http": h.echo})
    assert httpx.post(f"{rt.base_url}/nowhere").status_code == 404
    assert httpx.get(f"{rt.base_url}/webhooks/test").status_code == 404
    assert h.RECORDER.calls() == []


def test_handler_crash_answers_502_and_is_counted(local_runtime):
    rt = local_runtime([h.CRASH_FN], handlers={"t_crash": h.crash})
    response = httpx.post(f"{rt.base_url}/crash", content=b"{}")
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}
    stats = rt.stats()["t_crash"]
    assert (stats.invocations, stats.errors) == (1, 1)


# ---- SQS event source mapping ------------------------------------------------------------------


def test_messages_arrive_in_batches_of_the_spec_size_with_the_sqs_event_shape(local_runtime):
    rt = local_runtime([h.WORKER_FN], [h.WORK_QUEUE], {"t_worker": h.partial_worker}, start=False)
    url = rt.env["WORK_QUEUE_URL"]
    sqs = boto3.client("sqs")
    for i in range(7):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps({"n": i}),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
        )
    rt.start()
    rt.wait_until_idle(timeout=15)

    calls = h.RECORDER.calls("t_worker")
    sizes = [len(c.event["Records"]) for c in calls]
    assert sum(sizes) == 7 and max(sizes) == h.WORK_QUEUE.batch_size
    assert all(s <= h.WORK_QUEUE.batch_size for s in sizes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    record = calls[0].event["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()  # noqa: S324 - SQS's checksum
    assert record["messageId"] and record["receiptHandle"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "order",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert sorted(json.loads(r["body"])["n"] for r in h.RECORDER.records("t_worker")) == list(range(7))
    assert rt.stats()["t_worker"].batch_item_failures == 0


def test_partial_batch_failure_deletes_only_successes_and_retries_the_failure_into_the_dlq(local_runtime):
    rt = local_runtime(
        [h.WORKER_FN],
        [h.WORK_QUEUE],
        {"t_worker": h.partial_worker},
        visibility_timeouts={"work": 1},
        start=False,
    )
    url, dlq_url = rt.env["WORK_QUEUE_URL"], rt.env["WORK_DLQ_URL"]
    sqs = boto3.client("sqs")
    for body in ("ok-1", "fail-me", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    rt.start()

    dead = eventually(lambda: queue_messages(dlq_url), what="the failed message in the DLQ")
    assert [m["Body"] for m in dead] == ["fail-me"]
    rt.wait_until_idle(timeout=10)

    deliveries: dict[str, list[str]] = {}
    for r in h.RECORDER.records("t_worker"):
        deliveries.setdefault(r["body"], []).append(r["attributes"]["ApproximateReceiveCount"])
    assert deliveries == {"ok-1": ["1"], "ok-2": ["1"], "fail-me": ["1", "2"]}  # maxReceiveCount = 2
    assert depth(url) == 0
    stats = rt.stats()["t_worker"]
    assert (stats.batch_item_failures, stats.errors) == (2, 0)


def test_handler_exception_redelivers_the_whole_batch(local_runtime):
    rt = local_runtime(
        [h.WORKER_FN],
        [h.WORK_QUEUE],
        {"t_worker": h.fails_first_delivery},
        visibility_timeouts={"work": 1},
        start=False,
    )
    url = rt.env["WORK_QUEUE_URL"]
    for body in ("a", "b", "c"):
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody=body)
    rt.start()
    rt.wait_until_idle(timeout=15)

    counts: dict[str, list[str]] = {}
    for r in h.RECORDER.records("t_worker"):
        counts.setdefault(r["body"], []).append(r["attributes"]["ApproximateReceiveCount"])
    assert counts == {"a": ["1", "2"], "b": ["1", "2"], "c": ["1", "2"]}
    assert queue_messages(rt.env["WORK_DLQ_URL"]) == []
    assert rt.stats()["t_worker"].errors == 1


def test_a_delay_set_by_the_handler_is_respected_when_it_fails_the_message(local_runtime):
    def delaying(event: dict[str, Any], context: Any) -> dict[str, Any]:
        h.RECORDER.record("t_worker", event, context)
        sqs = boto3.client("sqs")
        failures = []
        for r in event["Records"]:
            if r["attributes"]["ApproximateReceiveCount"] == "1":
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=r["receiptHandle"], VisibilityTimeout=2
                )
                failures.append({"itemIdentifier": r["messageId"]})
        return {"batchItemFailures": failures}

    rt = local_runtime(
        [h.WORKER_FN], [h.WORK_QUEUE], {"t_worker": delaying}, visibility_timeouts={"work": 30}, start=False
    )
    url = rt.env["WORK_QUEUE_URL"]
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="later")
    rt.start()
    # The queue's own visibility timeout (30 s) would hold it far longer than the handler's 2 s.
    rt.wait_until_idle(timeout=15)
    assert [r["attributes"]["ApproximateReceiveCount"] for r in h.RECORDER.records("t_worker")] == ["1", "2"]


# ---- schedules ---------------------------------------------------------------------------------


def test_fire_invokes_the_scheduled_function_with_an_eventbridge_event(local_runtime):
    rt = local_runtime([h.POLL_FN], handlers={"t_poll": h.scheduled}, run_schedules=False)
    assert rt.fire("t_poll") == {"polled": True}
    (call,) = h.RECORDER.calls("t_poll")
    event = call.event
    assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [f"arn:aws:events:us-east-1:123456789012:rule/{rt.prefix}-t_poll"]
    assert event["time"].endswith("Z") and event["detail"] == {} and event["region"] == "us-east-1"
    assert call.context.function_name == f"{rt.prefix}-t_poll"
    assert 0 < call.remaining_ms <= 120_000
    with pytest.raises(KeyError):
        rt.fire("nope")


def test_schedule_fires_repeatedly_when_time_is_compressed(local_runtime):
    # rate(1 minute) at 120x: every half second.
    rt = local_runtime([h.POLL_FN], handlers={"t_poll": h.scheduled}, time_scale=120)
    eventually(lambda: len(h.RECORDER.calls("t_poll")) >= 2, what="two scheduled runs")
    assert rt.stats()["t_poll"].invocations >= 2


def test_schedule_expression_comes_from_the_config_when_it_names_the_schedule(local_runtime, example_config):
    cfg, _ = example_config
    data = cfg.model_dump(mode="json")
    data["schedules"]["order_poll"] = "cron(0/15 * * * ? *)"
    spec = resources.FunctionSpec(
        name="t_poll", description="", schedule=resources.ScheduleSpec("order_poll", "rate(1 day)")
    )
    rt = local_runtime(
        [spec], handlers={"t_poll": h.scheduled}, config=parse_config(data), run_schedules=False
    )
    assert rt.schedule_expressions == {"t_poll": "cron(0/15 * * * ? *)"}
