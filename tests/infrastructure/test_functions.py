"""The function factory: shared defaults on every Lambda, and only the access its spec names."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from shared.alerts import topic_env_var
from shared.config import CONFIG_ENV_VAR, Team, load_config
from shared.observability import NAMESPACE, SERVICE
from shared.resources import FUNCTIONS, QUEUES, TABLES, function, queue, table
from tests.infrastructure.conftest import EXAMPLE_CONFIG, function_id, only


def _props(template: Template, handler: str) -> dict[str, Any]:
    return template.find_resources("AWS::Lambda::Function")[function_id(template, handler)]["Properties"]


def _policy_statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_every_function_gets_the_shared_defaults_when_built_by_the_factory(template: Template) -> None:
    assert len(template.find_resources("AWS::Lambda::Function")) == len(FUNCTIONS)
    for spec in FUNCTIONS:
        props = _props(template, spec.handler)
        env = props["Environment"]["Variables"]

        assert (props["Runtime"], props["Architectures"]) == ("python3.12", ["arm64"]), spec.name
        assert props["TracingConfig"] == {"Mode": "Active"}, spec.name
        assert (props["Timeout"], props["MemorySize"]) == (spec.timeout_seconds, spec.memory_mb), spec.name
        assert env["POWERTOOLS_SERVICE_NAME"] == SERVICE
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE
        assert env["LOG_LEVEL"]
        assert env[CONFIG_ENV_VAR].startswith("/var/task/")


def test_function_has_its_own_log_group_with_retention_when_built(template: Template) -> None:
    groups = template.find_resources("AWS::Logs::LogGroup")
    for spec in FUNCTIONS:
        group_id = _props(template, spec.handler)["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group_id]["Properties"]["RetentionInDays"] > 0, spec.name


def test_function_env_names_each_table_and_queue_when_its_spec_uses_them(template: Template) -> None:
    for spec in FUNCTIONS:
        env = _props(template, spec.handler)["Environment"]["Variables"]
        consumed = [q.key for q in QUEUES if q.consumer == spec.name]
        expected = {table(k).env_var for k in spec.tables} | {
            queue(k).env_var for k in (*spec.queues_produced, *consumed)
        }
        if spec.alerts:  # the owner teams' topics (shared/alerts.py)
            expected |= {topic_env_var(team) for team in Team}
        resource_vars = {k for k, v in env.items() if isinstance(v, dict)}  # a Ref to a table or queue

        assert resource_vars == expected, spec.name


def test_function_reads_only_its_own_secrets_and_its_erp_applications(template: Template) -> None:
    secret_ids = {
        s["Properties"]["Name"]: sid
        for sid, s in template.find_resources("AWS::SecretsManager::Secret").items()
    }
    config = load_config(EXAMPLE_CONFIG)
    for spec in FUNCTIONS:
        role_id = _props(template, spec.handler)["Role"]["Fn::GetAtt"][0]
        readable = {
            r["Ref"]
            for s in _policy_statements(template, role_id)
            if "secretsmanager:GetSecretValue" in s["Action"]
            for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        }
        # plus the credentials of the ERP application that serves each flow it calls the ERP for
        erp = [config.erp.applications[config.erp.application_for(flow)].secret for flow in spec.erp_flows]
        expected = {secret_ids[getattr(config.secrets, key)] for key in (*spec.secrets, *erp)}
        assert readable == expected, spec.name


def _sendable_queue_ids(template: Template, handler: str) -> set[str]:
    role_id = _props(template, handler)["Role"]["Fn::GetAtt"][0]
    return {
        r["Fn::GetAtt"][0]
        for s in _policy_statements(template, role_id)
        if "sqs:SendMessage" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        if isinstance(r, dict) and "Fn::GetAtt" in r
    }


def test_consumer_may_send_to_its_own_queue_when_it_defers_throttled_messages(template: Template) -> None:
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping").values()
    functions = template.find_resources("AWS::Lambda::Function")
    for mapping in mappings:
        queue_id = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        handler = functions[mapping["Properties"]["FunctionName"]["Ref"]]["Properties"]["Handler"]
        assert queue_id in _sendable_queue_ids(template, handler), handler


def test_function_role_has_no_managed_policy_when_built_by_the_factory(template: Template) -> None:
    for spec in FUNCTIONS:
        role_id = _props(template, spec.handler)["Role"]["Fn::GetAtt"][0]
        role = template.find_resources("AWS::IAM::Role")[role_id]
        assert "ManagedPolicyArns" not in role["Properties"], spec.name


def test_scheduled_function_runs_one_at_a_time_when_it_has_a_schedule(template: Template) -> None:
    for spec in FUNCTIONS:
        concurrency = _props(template, spec.handler).get("ReservedConcurrentExecutions")
        assert concurrency == (1 if spec.schedule else None), spec.name


def test_secrets_are_created_for_every_configured_name_when_synthesized(template: Template) -> None:
    names = {s["Properties"]["Name"] for s in template.find_resources("AWS::SecretsManager::Secret").values()}
    secrets = load_config(EXAMPLE_CONFIG).secrets
    assert names == {v for v in secrets.model_dump().values() if isinstance(v, str)}
    only(
        template.find_resources("AWS::SecretsManager::Secret", {"Properties": {"Name": secrets.oro_webhook}})
    )


def _actions(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def _resources(statement: dict[str, Any]) -> list[Any]:
    return statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]


def _table_ids(template: Template) -> dict[str, str]:
    """Table spec key -> logical id, matched by each spec's key schema (no two specs share one)."""
    tables = template.find_resources("AWS::DynamoDB::Table")
    ids = {}
    for spec in TABLES:
        keys = [spec.partition_key, *([spec.sort_key] if spec.sort_key else [])]
        (ids[spec.key],) = [
            tid
            for tid, t in tables.items()
            if [k["AttributeName"] for k in t["Properties"]["KeySchema"]] == keys
        ]
    return ids


def _dynamodb_grants(template: Template, handler: str) -> dict[str, set[str]]:
    """Table logical id -> the DynamoDB actions the function's role may take on it (or its indexes)."""
    role_id = _props(template, handler)["Role"]["Fn::GetAtt"][0]
    grants: dict[str, set[str]] = {}
    for s in _policy_statements(template, role_id):
        actions = {a for a in _actions(s) if a.startswith("dynamodb:")}
        if not actions:
            continue
        assert s["Effect"] == "Allow" and "Condition" not in s
        for r in _resources(s):
            # {"Fn::GetAtt": [Table, "Arn"]} or {"Fn::Join": ["", [{"Fn::GetAtt": [Table, "Arn"]}, "/index/*"]]}
            ref = r["Fn::GetAtt"] if "Fn::GetAtt" in r else r["Fn::Join"][1][0]["Fn::GetAtt"]
            grants.setdefault(ref[0], set()).update(actions)
    return grants


def test_function_role_may_take_exactly_the_dynamodb_actions_its_spec_lists(template: Template) -> None:
    table_ids = _table_ids(template)
    for spec in FUNCTIONS:
        expected = {
            table_ids[a.key]: {f"dynamodb:{action}" for action in a.actions} for a in spec.table_access
        }
        assert _dynamodb_grants(template, spec.handler) == expected, spec.name


def test_webhook_may_not_scan_delete_or_batch_write_the_state_table(template: Template) -> None:
    grants = _dynamodb_grants(template, function("webhook_ingest").handler)
    assert grants == {_table_ids(template)["state"]: {"dynamodb:PutItem", "dynamodb:UpdateItem"}}


def test_only_a_function_that_queries_may_read_the_indexes(template: Template) -> None:
    for spec in FUNCTIONS:
        role_id = _props(template, spec.handler)["Role"]["Fn::GetAtt"][0]
        index_grants = [
            s
            for s in _policy_statements(template, role_id)
            for r in _resources(s)
            if isinstance(r, dict) and "/index/*" in str(r)
        ]
        queries = any("Query" in a.actions for a in spec.table_access)
        assert bool(index_grants) == queries, spec.name


def test_secret_rotation_acknowledgement_cites_a_procedure_for_every_secret() -> None:
    from infra.secrets import ROTATION_REASON, ROTATION_SECTION
    from shared.config import Secrets

    guide = (EXAMPLE_CONFIG.parents[1] / "docs" / "operations.md").read_text()
    assert ROTATION_SECTION in ROTATION_REASON
    heading = f"## {ROTATION_SECTION}\n"
    assert heading in guide
    section = guide.split(heading, 1)[1].split("\n## ", 1)[0]
    keys = [k for k, f in Secrets.model_fields.items() if f.annotation in (str, str | None)]
    assert keys == ["oro_client", "oro_webhook", "cin7_orders", "cin7_bulk", "cin7_webhook"]
    for key in keys:
        assert f"`{key}`" in section, key
    assert "previous_secret" in section
