"""Alerts: one SNS topic per owner team (config `owners`), and the alarms operations must hear about.

Every dead-letter queue, every function's errors and throttles, the API's 5xx answers and a system refusing
our credentials (`CredentialsRejected`, an outage: DESIGN §6) alarm to the operations topic. The other teams' topics carry the named exceptions they own (DESIGN §5).
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.api import Api
from infra.functions import Functions
from infra.nag import acknowledge
from infra.naming import pascal
from infra.queues import Queues
from shared.config import Config, Team
from shared.observability import CREDENTIAL_SYSTEMS, CREDENTIALS_REJECTED, NAMESPACE, SERVICE
from shared.resources import QUEUES

ALARM_PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        queues: Queues,
        functions: Functions,
        api: Api,
    ) -> None:
        super().__init__(scope, construct_id)
        # A customer-managed key, because CloudWatch alarms cannot publish to a topic encrypted with the
        # AWS-managed SNS key (its policy cannot be extended to cloudwatch.amazonaws.com).
        key = kms.Key(self, "AlertsKey", description="orosync alert topics", enable_key_rotation=True)
        # Only on behalf of this account's alarms in this region (no confused deputy): CloudWatch's requests
        # carry aws:SourceAccount and the alarm's ARN as aws:SourceArn.
        stack = Stack.of(self)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
                    },
                },
            )
        )

        self.topics: dict[Team, sns.Topic] = {}
        for team, owner in config.owners.items():
            topic = sns.Topic(
                self,
                f"{pascal(team.value)}Alerts",
                display_name=f"orosync alerts for {team.value}",
                master_key=key,
                enforce_ssl=True,
            )
            topic.add_subscription(subscriptions.EmailSubscription(owner.email))
            acknowledge(
                topic,
                "The only subscription is an owner's e-mail address. A failed e-mail delivery has no "
                "machine consumer to redrive to, and the alarm that sent it stays in ALARM in CloudWatch.",
                "Serverless-SNSRedrivePolicy",
            )
            self.topics[team] = topic
        alarm_action = cloudwatch_actions.SnsAction(self.topics[Team.OPERATIONS])

        def alarm(alarm_id: str, description: str, metric: cloudwatch.IMetric) -> None:
            cloudwatch.Alarm(
                self,
                alarm_id,
                alarm_description=description,
                metric=metric,
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ).add_alarm_action(alarm_action)

        for spec in QUEUES:
            alarm(
                f"{pascal(spec.dlq_key)}Messages",
                f"Messages in the {spec.dlq_key} queue: {spec.consumer} gave up on them after "
                f"{spec.max_receive_count} receives. Fix the cause, then redrive.",
                queues.dlq_by_key[spec.key].metric_approximate_number_of_messages_visible(
                    period=ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                ),
            )
        for name, fn in functions.by_name.items():
            alarm(
                f"{pascal(name)}Errors",
                f"{name} failed with an unhandled error.",
                fn.metric_errors(period=ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            )
            alarm(
                f"{pascal(name)}Throttles",
                f"{name} was throttled (concurrency limit reached).",
                fn.metric_throttles(period=ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            )
        for system in CREDENTIAL_SYSTEMS:
            alarm(
                f"{pascal(system)}CredentialsRejected",
                f"{system} refused the service's credentials: no order reaches or leaves {system} until the "
                "secret is fixed (docs/operations.md). Messages are retried, not lost.",
                cloudwatch.Metric(
                    namespace=NAMESPACE,
                    metric_name=CREDENTIALS_REJECTED,
                    dimensions_map={"service": SERVICE, "system": system},
                    period=Duration.minutes(1),
                    statistic=cloudwatch.Stats.SUM,
                ),
            )
        alarm(
            "Api5xx",
            "The API answered 5xx: a webhook was not taken in (the sender retries 502/503 only).",
            api.rest_api.metric_server_error(period=ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
        )
