"""The REST API: one method per RouteSpec, proxying to its function; logged and throttled, bodies left to the function."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from shared.resources import FUNCTIONS
from tests.infrastructure.conftest import function_id, only, operations_topic_id


def _resource_paths(template: Template) -> dict[str, str]:
    """API Gateway resource logical id -> full path, rebuilt from each resource's parent chain."""
    resources = template.find_resources("AWS::ApiGateway::Resource")

    def path(rid: str) -> str:
        props = resources[rid]["Properties"]
        parent = props["ParentId"]
        prefix = "" if "Fn::GetAtt" in parent else path(parent["Ref"])  # GetAtt: RootResourceId
        return f"{prefix}/{props['PathPart']}"

    return {rid: path(rid) for rid in resources}


def _methods(template: Template) -> list[dict[str, Any]]:
    return [m["Properties"] for m in template.find_resources("AWS::ApiGateway::Method").values()]


def test_every_route_proxies_to_its_function_when_synthesized(template: Template) -> None:
    paths = _resource_paths(template)
    routes = {
        (paths[m["ResourceId"]["Ref"]], m["HttpMethod"]): m
        for m in _methods(template)
        if m["HttpMethod"] != "OPTIONS"
    }
    expected = {(r.path, r.method): spec for spec in FUNCTIONS for r in spec.routes}

    assert set(routes) == set(expected)
    for key, spec in expected.items():
        integration = routes[key]["Integration"]
        uri_parts = integration["Uri"]["Fn::Join"][1]
        assert integration["Type"] == "AWS_PROXY", key
        assert {"Fn::GetAtt": [function_id(template, spec.handler), "Arn"]} in uri_parts, key


def test_no_body_validation_at_the_gateway_so_the_function_answers_every_request(template: Template) -> None:
    # The function verifies the signature over the raw body before parsing and names what is wrong; a
    # gateway validator would answer first (400 to an unsigned body, with a message that names nothing).
    paths = _resource_paths(template)
    webhook = only(
        {
            m["HttpMethod"]: m
            for m in _methods(template)
            if paths.get(m["ResourceId"]["Ref"]) == "/webhooks/oro" and m["HttpMethod"] != "OPTIONS"
        }
    )[1]

    assert template.find_resources("AWS::ApiGateway::RequestValidator") == {}
    assert template.find_resources("AWS::ApiGateway::Model") == {}
    assert "RequestValidatorId" not in webhook
    assert "RequestModels" not in webhook
    for method in _methods(template):
        assert "RequestValidatorId" not in method and "RequestModels" not in method, method["HttpMethod"]


def test_stage_logs_access_as_json_and_throttles_when_deployed(template: Template) -> None:
    _, stage = only(template.find_resources("AWS::ApiGateway::Stage"))
    props = stage["Properties"]
    settings = only({s["ResourcePath"]: s for s in props["MethodSettings"]})[1]

    assert props["AccessLogSetting"]["Format"].startswith("{")
    assert props["TracingEnabled"] is True
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    assert settings["DataTraceEnabled"] is False  # bodies carry personal data


def test_api_5xx_alarms_operations_when_synthesized(template: Template) -> None:
    _, api = only(template.find_resources("AWS::ApiGateway::RestApi"))
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"Namespace": "AWS/ApiGateway", "MetricName": "5XXError"}}
    )
    _, alarm = only(alarms)
    props = alarm["Properties"]

    assert {"Name": "ApiName", "Value": api["Properties"]["Name"]} in props["Dimensions"]
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
    assert props["AlarmActions"] == [{"Ref": operations_topic_id(template)}]
