"""DynamoDB tables, one per `shared.resources.TABLES` entry."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.naming import pascal
from shared.resources import TABLES, TableSpec


def _attribute(name: str) -> dynamodb.Attribute:
    # Every key in the service is a composite string ("order#123", "state"); see shared/adapters/aws/state.py.
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Tables(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.by_key: dict[str, dynamodb.Table] = {spec.key: self._table(spec) for spec in TABLES}

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            pascal(spec.key),
            partition_key=_attribute(spec.partition_key),
            sort_key=_attribute(spec.sort_key) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            # Bindings, step records and open exceptions are the proof that an order was sent once:
            # deleting the stack must not delete them.
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index_name, partition_key, sort_key in spec.indexes:
            table.add_global_secondary_index(
                index_name=index_name,
                partition_key=_attribute(partition_key),
                sort_key=_attribute(sort_key) if sort_key else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table
