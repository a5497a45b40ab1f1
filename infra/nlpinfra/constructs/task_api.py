"""TaskApi: an API Gateway HTTP API that routes each path to its Lambda function, authenticated.

Default settings:

* every route has an authorizer: AWS IAM (SigV4) by default, or a JWT authorizer (issuer + audience);
  there is no unauthenticated route;
* an explicit ``$default`` stage (URL = API root) with default-route throttling (rate + burst);
* JSON access logs to a dedicated log group with a retention;
* no default integration: unknown paths get API Gateway's own 404 without invoking anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from nlpserve.catalog import Route

#: Access log line (HTTP API $context variables); JSON so Logs Insights can query the fields.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "jwtSub": "$context.authorizer.claims.sub",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "errorMessage": "$context.error.message",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    def __init__(self, destination: apigwv2.IAccessLogDestination, log_format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


@dataclass(frozen=True)
class ApiAuth:
    """``mode`` is ``iam`` or ``jwt``; JWT needs ``issuer`` and ``audience``."""

    mode: str = "iam"
    issuer: str | None = None
    audience: Sequence[str] = ()
    scopes: Sequence[str] = ()


@dataclass(frozen=True)
class ApiRoute:
    route: Route
    target: lambda_.IFunction
    function_name: str  # logical name, for construct ids


class TaskApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: Sequence[ApiRoute],
        auth: ApiAuth | None = None,
        throttle_rate_limit: int = 50,
        throttle_burst_limit: int = 100,
        access_log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
        api_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        auth = auth or ApiAuth()

        if auth.mode == "jwt":
            if not auth.issuer or not auth.audience:
                raise ValueError("JWT auth needs an issuer and at least one audience")
            self.authorizer: apigwv2.IHttpRouteAuthorizer = authorizers.HttpJwtAuthorizer(
                "JwtAuthorizer", auth.issuer, jwt_audience=list(auth.audience)
            )
            scopes = list(auth.scopes) or None
        elif auth.mode == "iam":
            self.authorizer = authorizers.HttpIamAuthorizer()
            scopes = None
        else:
            raise ValueError(f"unknown auth mode {auth.mode!r}")
        self.auth_mode = auth.mode

        self.api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=api_name,
            description="nlpserve: NLP model-as-a-service (per-task Lambda functions)",
            create_default_stage=False,
            default_authorizer=self.authorizer,
            default_authorization_scopes=scopes,
        )

        self.access_log_group = logs.LogGroup(
            self, "AccessLogs", retention=access_log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=throttle_rate_limit, burst_limit=throttle_burst_limit
            ),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_log_group),
                apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))),
            ),
        )

        integrations_by_fn: dict[str, integrations.HttpLambdaIntegration] = {}
        for item in routes:
            integration = integrations_by_fn.get(item.function_name)
            if integration is None:
                integration = integrations.HttpLambdaIntegration(
                    f"{item.function_name.capitalize()}Integration", item.target
                )
                integrations_by_fn[item.function_name] = integration
            self.api.add_routes(
                path=item.route.path,
                methods=[apigwv2.HttpMethod(item.route.method)],
                integration=integration,
                authorizer=self.authorizer,
                authorization_scopes=scopes,
            )

    @property
    def url(self) -> str:
        return self.stage.url
