"""Alerts: one SNS topic per owner team (config `owners`), and the alarms operations must hear about.

The alarms are declared in shared/alarms.py (the operations guide's table is generated from the same list):
dead-letter queues, queue age, function errors and throttles, schedules that stopped (heartbeats), refused
credentials, ERP budget saturation, exceptions past their SLA (to their owner's topic), orders held too long,
orphaned orders and the API's 5xx. The functions that open exceptions publish each first opening, and the
digest, to the owner team's topic (shared/alerts.py).
"""

from __future__ import annotations

from dataclasses import dataclass

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
from shared.alarms import AlarmSpec, alarm_specs
from shared.alerts import topic_env_var
from shared.config import Config, Team
from shared.flows.digest import EXCEPTIONS_PAST_SLA, OPEN_EXCEPTIONS
from shared.observability import ERP_TOKENS_TAKEN, NAMESPACE, ORDER_LATENCY, SERVICE
from shared.resources import FUNCTIONS, queue

ALARM_PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class DashboardFlow:
    key: str  # the `flow` dimension its functions publish under
    queue: str
    starter: str | None  # its scheduled function
    done_metrics: tuple[str, ...] = ()  # its own success counts


DASHBOARD_FLOWS = (
    DashboardFlow("orders", "orders", "order_poll", ("OrderSynced", "OrderHeld")),
    DashboardFlow("stock", "stock", "stock_sync"),
    DashboardFlow("prices", "prices", "price_sync", ("PriceErpWrites", "PriceOroWrites")),
    DashboardFlow("fulfilment", "fulfilment", "fulfilment_poll"),
    DashboardFlow("customers", "customers", "customer_sync"),
)


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
        # The functions that open exceptions tell their owners (shared/alerts.py): every team's topic.
        for spec in FUNCTIONS:
            if not spec.alerts:
                continue
            fn = functions.by_name[spec.name]
            for team, topic in self.topics.items():
                fn.add_environment(topic_env_var(team), topic.topic_arn)
                topic.grant_publish(fn)
            if fn.role is not None:
                acknowledge(
                    fn.role,
                    "Publishing to the alert topics, encrypted with this stack's alerts key, needs "
                    "kms:GenerateDataKey* on that one key (the grant names its ARN as the resource); the "
                    "wildcard is in the action name only, as SNS's own grant_publish writes it.",
                    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                )

        # Every alarm, from the one list the operations guide is generated from (shared/alarms.py).
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for a in alarm_specs(config):
            alarm = cloudwatch.Alarm(
                self,
                a.id,
                alarm_description=a.meaning,
                metric=self._metric(a, queues, functions, api),
                threshold=a.threshold,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
                    if a.comparison == ">"
                    else cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
                ),
                evaluation_periods=a.evaluation_periods,
                treat_missing_data=(
                    cloudwatch.TreatMissingData.BREACHING
                    if a.missing_is_breach
                    else cloudwatch.TreatMissingData.NOT_BREACHING
                ),
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topics[a.team]))
            self.alarms[a.id] = alarm
        self.dashboard = self._dashboard(config, queues, functions)

    @staticmethod
    def _ours(
        name: str, statistic: str = "Sum", label: str | None = None, **dimensions: str
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=name,
            dimensions_map={"service": SERVICE, **dimensions},
            period=Duration.minutes(5),
            statistic=statistic,
            label=label,
        )

    def _dashboard(self, config: Config, queues: Queues, functions: Functions) -> cloudwatch.Dashboard:
        """One row per flow (throughput, errors, its queue), then the orders' latency, the open exceptions by
        owner and the ERP budget used by each API application."""
        board = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(6))
        five = Duration.minutes(5)
        for flow in DASHBOARD_FLOWS:
            q = queue(flow.queue)
            names = [n for n in (flow.starter, q.consumer) if n]
            throughput = [functions.by_name[q.consumer].metric_invocations(period=five, label="invocations")]
            throughput += [self._ours(m, label=m, flow=flow.key) for m in flow.done_metrics]
            board.add_widgets(
                cloudwatch.GraphWidget(title=f"{flow.key}: throughput", left=throughput, width=8),
                cloudwatch.GraphWidget(
                    title=f"{flow.key}: errors",
                    left=[functions.by_name[n].metric_errors(period=five, label=n) for n in names],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{flow.key}: queue",
                    left=[
                        queues.dlq_by_key[flow.queue].metric_approximate_number_of_messages_visible(
                            period=five, statistic="Maximum", label="DLQ depth"
                        )
                    ],
                    right=[
                        queues.by_key[flow.queue].metric_approximate_age_of_oldest_message(
                            period=five, statistic="Maximum", label="oldest message (s)"
                        )
                    ],
                    width=8,
                ),
            )
        board.add_widgets(
            cloudwatch.GraphWidget(
                title="orders: Oro to Cin7 (s, from intake to the authorised sale)",
                left=[
                    self._ours(ORDER_LATENCY, "p50", "p50", flow="orders", system="erp"),
                    self._ours(ORDER_LATENCY, "p95", "p95", flow="orders", system="erp"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="open exceptions by owner",
                left=[self._ours(OPEN_EXCEPTIONS, "Maximum", t.value, owner=t.value) for t in Team],
                right=[
                    self._ours(EXCEPTIONS_PAST_SLA, "Maximum", f"{t.value} past SLA", owner=t.value)
                    for t in Team
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="ERP calls by API application (per 5 min; limit 300)",
                left=[
                    self._ours(ERP_TOKENS_TAKEN, "Sum", name, application=name)
                    for name in config.erp.applications
                ],
                width=8,
            ),
        )
        return board

    @staticmethod
    def _metric(spec: AlarmSpec, queues: Queues, functions: Functions, api: Api) -> cloudwatch.IMetric:
        period = Duration.minutes(spec.period_minutes)
        kind, _, key = (spec.resource or "").partition(":")
        if kind == "dlq":
            return queues.dlq_by_key[key].metric(spec.metric, period=period, statistic=spec.statistic)
        if kind == "queue":
            return queues.by_key[key].metric(spec.metric, period=period, statistic=spec.statistic)
        if kind == "function":
            return functions.by_name[key].metric(spec.metric, period=period, statistic=spec.statistic)
        if kind == "api":
            return api.rest_api.metric(spec.metric, period=period, statistic=spec.statistic)
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=spec.metric,
            dimensions_map={"service": SERVICE, **spec.dimensions},
            period=period,
            statistic=spec.statistic,
        )
