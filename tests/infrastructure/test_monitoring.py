"""Every alarm of shared/alarms.py exists in the template and notifies its team's topic; the functions that
open exceptions can publish to the owner topics; the dashboard has a row per flow."""

from __future__ import annotations

import json

from aws_cdk.assertions import Template

from shared.alarms import alarm_specs
from shared.alerts import topic_env_var
from shared.config import Team, load_config
from shared.resources import FUNCTIONS
from tests.infrastructure.conftest import EXAMPLE_CONFIG, function_id

CONFIG = load_config(EXAMPLE_CONFIG)


def _topic_ids(template: Template) -> dict[Team, str]:
    out = {}
    for team, owner in CONFIG.owners.items():
        subs = template.find_resources(
            "AWS::SNS::Subscription", {"Properties": {"Protocol": "email", "Endpoint": owner.email}}
        )
        ((_, sub),) = subs.items()
        out[team] = sub["Properties"]["TopicArn"]["Ref"]
    return out


def test_every_alarm_exists_once_and_notifies_its_teams_topic(template: Template) -> None:
    topics = _topic_ids(template)
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    specs = alarm_specs(CONFIG)
    assert len(alarms) == len(specs)
    by_description = {a["Properties"]["AlarmDescription"]: a["Properties"] for a in alarms.values()}
    for spec in specs:
        props = by_description[spec.meaning]
        assert props["AlarmActions"] == [{"Ref": topics[spec.team]}], spec.id
        assert props["Threshold"] == spec.threshold, spec.id
        assert props["EvaluationPeriods"] == spec.evaluation_periods, spec.id
        assert props["TreatMissingData"] == ("breaching" if spec.missing_is_breach else "notBreaching")
        if spec.resource is None:
            assert props["Namespace"] == "Orosync" and props["MetricName"] == spec.metric, spec.id
            dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
            assert dims == {"service": "orosync", **spec.dimensions}, spec.id


def test_the_alarms_cover_what_operations_must_hear(template: Template) -> None:
    ids = {a.id for a in alarm_specs(CONFIG)}
    scheduled = [f for f in FUNCTIONS if f.schedule is not None]
    assert {f"{''.join(p.title() for p in f.name.split('_'))}Heartbeat" for f in scheduled} <= ids
    assert {"OrderHeldTooLong", "OrderOrphaned", "OrdersOldestMessage", "CustomersOldestMessage"} <= ids
    assert {
        f"{''.join(p.title() for p in n.split('_'))}ErpBudgetSaturated" for n in CONFIG.erp.applications
    } <= ids
    assert {"OroCredentialsRejected", "Cin7CredentialsRejected", "Api5xx"} <= ids


def test_a_heartbeat_alarm_fires_when_its_schedule_sends_nothing(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "Heartbeat"}})
    assert len(alarms) == len([f for f in FUNCTIONS if f.schedule is not None])
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("LessThanThreshold", 1)
        assert props["TreatMissingData"] == "breaching"


def _listed(value: object) -> list:
    return value if isinstance(value, list) else [value]


def test_functions_that_open_exceptions_may_publish_to_every_owner_topic(template: Template) -> None:
    topics = set(_topic_ids(template).values())
    policies = template.find_resources("AWS::IAM::Policy")
    for spec in FUNCTIONS:
        fn = template.find_resources("AWS::Lambda::Function")[function_id(template, spec.handler)]
        env = fn["Properties"]["Environment"]["Variables"]
        role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        published = {
            resource["Ref"]
            for p in policies.values()
            if {"Ref": role} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if "sns:Publish" in _listed(s["Action"])
            for resource in _listed(s["Resource"])
        }
        assert (published == topics) == spec.alerts, spec.name
        assert all(topic_env_var(t) in env for t in Team) == spec.alerts, spec.name


def test_the_dashboard_has_a_row_per_flow_and_the_owner_and_budget_widgets(template: Template) -> None:
    ((_, board),) = template.find_resources("AWS::CloudWatch::Dashboard").items()
    body = json.dumps(board["Properties"]["DashboardBody"])
    for flow in ("orders", "stock", "prices", "fulfilment", "customers"):
        assert f"{flow}: throughput" in body and f"{flow}: errors" in body and f"{flow}: queue" in body
    for text in ("OrderLatencySeconds", "OpenExceptions", "ErpTokensTaken", "open exceptions by owner"):
        assert text in body
