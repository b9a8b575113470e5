"""DynamoDB tables: one per TableSpec, recoverable, encrypted, kept when the stack goes."""

from __future__ import annotations

from aws_cdk.assertions import Template

from shared.resources import TABLES


def test_one_table_per_spec_when_synthesized(template: Template) -> None:
    assert len(template.find_resources("AWS::DynamoDB::Table")) == len(TABLES)


def test_tables_have_point_in_time_recovery_and_encryption_when_synthesized(template: Template) -> None:
    for tid, table in template.find_resources("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, tid
        assert props["SSESpecification"]["SSEEnabled"] is True, tid
        assert props["BillingMode"] == "PAY_PER_REQUEST", tid


def test_tables_are_retained_when_the_stack_is_deleted(template: Template) -> None:
    for tid, table in template.find_resources("AWS::DynamoDB::Table").items():
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain"), tid


def test_table_has_its_keys_ttl_and_indexes_when_its_spec_names_them(template: Template) -> None:
    for spec in TABLES:
        keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
        if spec.sort_key:
            keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        matches = template.find_resources("AWS::DynamoDB::Table", {"Properties": {"KeySchema": keys}})
        assert len(matches) == 1, spec.key
        props = next(iter(matches.values()))["Properties"]
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        assert sorted(i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])) == sorted(
            name for name, _, _ in spec.indexes
        )
