"""SQS work queues, each with its dead-letter queue, one pair per `shared.resources.QUEUES` entry."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge
from infra.naming import pascal
from shared.resources import QUEUES, QueueSpec, visibility_timeout_seconds


class Queues(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.by_key: dict[str, sqs.Queue] = {}
        self.dlq_by_key: dict[str, sqs.Queue] = {}
        for spec in QUEUES:
            self.dlq_by_key[spec.key] = self._dlq(spec)
            self.by_key[spec.key] = self._queue(spec, self.dlq_by_key[spec.key])

    def _dlq(self, spec: QueueSpec) -> sqs.Queue:
        dlq = sqs.Queue(
            self,
            pascal(spec.dlq_key),
            retention_period=Duration.seconds(spec.dlq_retention_seconds),
            # AWS-managed key (alias/aws/sqs): only Lambda reads and writes these queues, so no
            # service principal needs a key policy of ours.
            encryption=sqs.QueueEncryption.KMS_MANAGED,
            enforce_ssl=True,
        )
        acknowledge(
            dlq,
            "This is a dead-letter queue, the end of the redrive chain: its messages raise an alarm "
            "(monitoring.py) and an operator redrives them after fixing the cause.",
            "Serverless-SQSRedrivePolicy",
        )
        return dlq

    def _queue(self, spec: QueueSpec, dlq: sqs.Queue) -> sqs.Queue:
        return sqs.Queue(
            self,
            pascal(spec.key),
            visibility_timeout=Duration.seconds(visibility_timeout_seconds(spec)),
            retention_period=Duration.seconds(spec.retention_seconds),
            encryption=sqs.QueueEncryption.KMS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count),
        )
