"""The REST API: one route per `RouteSpec`, each proxying to the function that declares it.

Webhook senders are authenticated by the function (HMAC over the raw body), so the API has no
authorizer and no request validator: the function answers every request, as the local runtime does, so an
unsigned body gets 401 and a signed malformed one a 400 naming the problem (a gateway validator would answer
first, with a message that names nothing). The stage throttles and logs every request as JSON. API Gateway
refuses a payload over 10 MB itself (413); the function enforces its own, lower limit (1 MiB) before the
signature, as the local runtime does.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.functions import LOG_RETENTION, Functions
from infra.nag import acknowledge
from shared.resources import FUNCTIONS

# Steady-state requests per second and burst for the whole stage. A storefront sends one webhook per
# order change; these limits sit far above that and far below what would run up a bill. Over the limit
# the API answers 429, which OroCommerce retries with back-off.
THROTTLING_RATE_LIMIT = 50
THROTTLING_BURST_LIMIT = 100


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, functions: Functions) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=LOG_RETENTION)
        self.rest_api = apigw.RestApi(
            self,
            "Rest",
            rest_api_name=Stack.of(self).stack_name,
            description="orosync webhooks",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Method logging needs the account-level API Gateway logging role.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                # Request and response bodies may carry personal data: never log them.
                data_trace_enabled=False,
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=THROTTLING_RATE_LIMIT,
                throttling_burst_limit=THROTTLING_BURST_LIMIT,
            ),
        )
        for spec in FUNCTIONS:
            for route in spec.routes:
                method = self.rest_api.root.resource_for_path(route.path).add_method(
                    route.method,
                    apigw.LambdaIntegration(functions.by_name[spec.name], allow_test_invoke=False),
                )
                acknowledge(
                    method,
                    f"{route.method} {route.path} is called by a webhook sender, not by a user: the "
                    f"{spec.name} function verifies the HMAC signature over the raw body and answers 401 "
                    "otherwise, which an API Gateway authorizer cannot do (it never sees the body).",
                    "AwsSolutions-APIG4",
                    "AwsSolutions-COG4",
                )
        acknowledge(
            self.rest_api,
            "No request validation at the gateway, on purpose: each function verifies the HMAC "
            "signature over the raw body before parsing it and answers 401 or a 400 naming the bad "
            "field; a gateway validator would answer first, with a message that names nothing, and "
            "give an unsigned malformed body 400 instead of 401.",
            "AwsSolutions-APIG2",
        )
        acknowledge(
            self.rest_api.deployment_stage,
            "Every route is a signed webhook checked in its function, and the stage throttles; a WAF "
            "web ACL would add a monthly cost and rule upkeep without adding a check the signature "
            "does not already make.",
            "AwsSolutions-APIG3",
        )
        acknowledge(
            self.rest_api,
            "AmazonAPIGatewayPushToCloudWatchLogs is the AWS-documented policy for API Gateway's "
            "account-level logging role; it only allows writing to CloudWatch Logs.",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
        )
