"""Queues, their dead-letter queues and alarms, and the SQS event sources of the workers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk.assertions import Template

from shared.observability import count_credentials_rejected
from shared.resources import QUEUES
from tests.infrastructure.conftest import get_att_id, only, operations_topic_id


def _queues(template: Template) -> Mapping[str, Any]:
    return template.find_resources("AWS::SQS::Queue")


def _dlq_ids(template: Template) -> set[str]:
    return {
        get_att_id(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in _queues(template).values()
        if "RedrivePolicy" in q["Properties"]
    }


def test_every_queue_has_a_dead_letter_queue_when_synthesized(template: Template) -> None:
    queues = _queues(template)
    dlqs = _dlq_ids(template)
    work_queues = {qid: q for qid, q in queues.items() if qid not in dlqs}

    assert len(work_queues) == len(QUEUES)
    assert dlqs <= set(queues), "a redrive policy points at something that is not a queue of this stack"
    for qid, q in work_queues.items():
        redrive = q["Properties"].get("RedrivePolicy")
        assert redrive, f"{qid} has no dead-letter queue"
        assert redrive["maxReceiveCount"] >= 1


def test_every_dead_letter_queue_alarms_operations_when_it_holds_a_message(template: Template) -> None:
    topic = operations_topic_id(template)
    for dlq in _dlq_ids(template):
        alarms = template.find_resources(
            "AWS::CloudWatch::Alarm",
            {
                "Properties": {
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}],
                }
            },
        )
        _, alarm = only(alarms)
        props = alarm["Properties"]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
        assert props["AlarmActions"] == [{"Ref": topic}]


def test_event_source_reports_batch_item_failures_when_a_function_consumes_a_queue(
    template: Template,
) -> None:
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping")

    assert len(mappings) == len(QUEUES)
    for mid, mapping in mappings.items():
        assert mapping["Properties"].get("FunctionResponseTypes") == ["ReportBatchItemFailures"], mid


def test_event_source_caps_concurrency_when_the_queue_spec_sets_a_maximum(template: Template) -> None:
    caps = sorted(q.max_concurrency for q in QUEUES if q.max_concurrency)
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping").values()
    found = sorted(
        m["Properties"]["ScalingConfig"]["MaximumConcurrency"]
        for m in mappings
        if "ScalingConfig" in m["Properties"]
    )
    assert caps and found == caps


def test_visibility_timeout_covers_six_function_timeouts_when_a_function_consumes_the_queue(
    template: Template,
) -> None:
    queues = _queues(template)
    functions = template.find_resources("AWS::Lambda::Function")
    for mapping in template.find_resources("AWS::Lambda::EventSourceMapping").values():
        queue = queues[get_att_id(mapping["Properties"]["EventSourceArn"])]
        function = functions[mapping["Properties"]["FunctionName"]["Ref"]]

        assert queue["Properties"]["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"]


def test_every_queue_denies_requests_when_transport_is_not_tls(template: Template) -> None:
    denied: set[str] = set()
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ):
            denied |= {ref["Ref"] for ref in policy["Properties"]["Queues"]}

    assert denied == set(_queues(template))


def test_every_queue_is_encrypted_with_kms_when_synthesized(template: Template) -> None:
    for qid, q in _queues(template).items():
        assert q["Properties"].get("KmsMasterKeyId"), f"{qid} is not encrypted with KMS"


def test_alerts_key_lets_cloudwatch_use_it_only_for_this_accounts_alarms(template: Template) -> None:
    _, key = only(template.find_resources("AWS::KMS::Key"))
    statements = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert len(statements) == 1
    (statement,) = statements
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    conditions = statement["Condition"]
    assert conditions["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert conditions["ArnLike"] == {
        "aws:SourceArn": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":cloudwatch:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":alarm:*",
                ],
            ]
        }
    }


def test_a_refused_credential_alarms_operations_at_once_when_the_metric_the_code_emits_arrives(
    template: Template, capsys
) -> None:
    # The alarm must watch exactly the metric the workers publish (namespace, name, every dimension):
    # CloudWatch matches an alarm's dimensions exactly, and a mismatch would never fire.
    topic = operations_topic_id(template)
    for system in ("oro", "cin7"):
        count_credentials_rejected(system)
        (emf,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        (directive,) = emf["_aws"]["CloudWatchMetrics"]
        (metric,) = directive["Metrics"]
        (dimension_names,) = directive["Dimensions"]
        alarms = template.find_resources(
            "AWS::CloudWatch::Alarm",
            {
                "Properties": {
                    "Namespace": directive["Namespace"],
                    "MetricName": metric["Name"],
                    "Dimensions": [{"Name": n, "Value": emf[n]} for n in sorted(dimension_names)],
                }
            },
        )
        _, alarm = only(alarms)
        props = alarm["Properties"]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
        assert (props["Statistic"], props["Period"], props["EvaluationPeriods"]) == ("Sum", 60, 1)
        assert props["AlarmActions"] == [{"Ref": topic}]
