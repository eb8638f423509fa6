"""The whole cloud deployment of Philatelic IM as one CDK stack.

Chalice packages the app (REST API stage `api`, WebSocket API, four route functions and `deliver`) into a SAM
template that `chalice.cdk.Chalice` includes here; everything else (table and its stream, the stream's mapping onto
`deliver` and its dead-letter queue, bucket, SES identity, JWT secret, one IAM role per function, log groups, alarms)
is plain CDK, wired into the included resources with property overrides. With `apiType` "http" (the default) the
REST API chalice generated is taken out and an HTTP API (payload format 1.0) with one route per chalice route serves
the same function instead (`_http_api`).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, CfnOutput, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigatewayv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as sns_subscriptions
from aws_cdk import aws_sqs as sqs
from chalice.cdk import Chalice
from constructs import Construct
from delivery_filter import PATTERNS as DELIVERY_FILTERS
from lambda_package import package
from stacks.settings import StageSettings

PROJECT_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
API_STAGE = "api"  # .chalice/config.json api_gateway_stage: the client's base URL ends in /api
UPLOAD_PREFIX = "uploads/"
GSI1 = "GSI1"
TTL_ATTRIBUTE = "expires_at"
# chalice needs some role ARN when it does not manage roles; every function's Role is overridden below.
UNUSED_ROLE_ARN = "arn:aws:iam::000000000000:role/replaced-by-infra-cdk"

# Chalice function name (the key in .chalice/config.json lambda_functions) -> logical id in its SAM template.
FUNCTIONS = {
    "api_handler": "APIHandler",
    "websocket_connect": "WebsocketConnect",
    "websocket_message": "WebsocketMessage",
    "websocket_disconnect": "WebsocketDisconnect",
    "deliver": "Deliver",  # @app.lambda_function(name="deliver"): the table's stream drives it
}

# Least privilege: what each function touches today (chalicelib/ws/handlers.py for the three WS routes).
#   table       DynamoDB item reads/writes on the table, Query on GSI1
#   uploads     S3 objects under uploads/ (presigned POST/GET, copy, delete)
#   mail        ses:SendEmail from the sender identity
#   jwt_secret  secretsmanager:GetSecretValue on the signing key
#   connections execute-api:ManageConnections on this stack's WebSocket API
#   delivery    what chalicelib/realtime/delivery.py reaches: DELIVERY_TABLE_ACTIONS on the table (no index), and
#               POST to @connections (it never reads or closes a connection)
#   stream      reading the table's stream (Lambda's poller reads it with the function's role)
#   dead_letters sqs:SendMessage to the delivery dead-letter queue (Lambda sends there with the function's role)
GRANTS: dict[str, tuple[str, ...]] = {
    "APIHandler": ("table", "uploads", "mail", "jwt_secret", "connections"),
    "WebsocketConnect": ("table", "jwt_secret"),  # verifies ?token=, stores the connection
    "WebsocketMessage": ("table", "connections"),  # heartbeats, replies, replay of kept events
    "WebsocketDisconnect": ("table",),  # forgets the connection
    "Deliver": ("delivery", "stream", "dead_letters"),  # the stream's records in, frames out
}

TABLE_ITEM_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",  # TransactWriteItems is authorised per contained action
]
DELIVERY_TABLE_ACTIONS = [
    "dynamodb:GetItem",  # the claim that holds a message's client id, when taking it failed (db/messages.claim)
    "dynamodb:PutItem",  # finishing a send whose request stopped after its head write: the claim, the history item
    "dynamodb:Query",  # a group's members; a user's kept frames
    "dynamodb:BatchGetItem",  # the recipients' connection sets (and kept marks), a failed batch's record
    "dynamodb:BatchWriteItem",  # keeping frames; deleting replayed ones
    "dynamodb:UpdateItem",  # the kept mark, the replay's hold, a failed batch's record; gone connections out of a set
    "dynamodb:DeleteItem",  # a gone connection's owner item
]
STREAM_READ_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords",
                       "dynamodb:ListStreams"]

# The stream's event source mapping onto `deliver`. BATCH_SIZE and MAX_RETRIES are also the local stack's
# (infra/local/stream_delivery.py); tests/infra/test_delivery_template.py holds them equal.
DELIVERY_BATCH_SIZE = 100
DELIVERY_MAX_RETRIES = 10
# Records are handed over as soon as the poller sees them (it polls each shard about four times a second): a chat
# frame's latency is the product, and a batching window would only save invocations, which cost little here.
DELIVERY_BATCHING_WINDOW_SECONDS = 0
# A backstop behind the retry limit (throttled invocations, say): a record still undelivered after 6 h goes to the
# dead-letter queue so the shard catches up. The iterator-age alarm has paged long before; the stream keeps 24 h.
DELIVERY_MAX_RECORD_AGE_SECONDS = 6 * 3600
ITERATOR_AGE_ALARM_SECONDS = 60

# API Gateway's own error answers (unknown path, throttling, timeouts...) in the app's envelope.
# type -> (HTTP status, envelope code, envelope message); status None keeps each type's own status (the
# DEFAULT_* fallbacks only serve types not listed here).
GATEWAY_RESPONSES: dict[str, tuple[int | None, int, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (404, 404, "route not found"),  # REST answers unknown paths with 403
    "RESOURCE_NOT_FOUND": (404, 404, "route not found"),
    "UNAUTHORIZED": (401, 401, "unauthorized"),
    "ACCESS_DENIED": (403, 403, "forbidden"),
    "EXPIRED_TOKEN": (403, 403, "forbidden"),
    "INVALID_API_KEY": (403, 403, "forbidden"),
    "INVALID_SIGNATURE": (403, 403, "forbidden"),
    "WAF_FILTERED": (403, 403, "forbidden"),
    "BAD_REQUEST_BODY": (400, 400, "bad request body"),
    "BAD_REQUEST_PARAMETERS": (400, 400, "bad request parameters"),
    "REQUEST_TOO_LARGE": (413, 413, "request body too large"),
    "UNSUPPORTED_MEDIA_TYPE": (415, 415, "unsupported media type"),
    "THROTTLED": (429, 429, "too many requests, retry later"),
    "QUOTA_EXCEEDED": (429, 429, "too many requests, retry later"),
    "INTEGRATION_FAILURE": (504, 504, "upstream failure"),
    "INTEGRATION_TIMEOUT": (504, 504, "upstream timed out"),
    "AUTHORIZER_FAILURE": (500, 500, "internal error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, 500, "internal error"),
    "API_CONFIGURATION_ERROR": (500, 500, "internal error"),
    "DEFAULT_4XX": (None, 400, "bad request"),
    "DEFAULT_5XX": (None, 500, "internal error"),
}


# The HTTP API's integration gives up after this long (its maximum is 30 s); api_handler's timeout is 28 s.
HTTP_API_INTEGRATION_TIMEOUT_MS = 29_000
# What chalice's SAM template holds for its REST API; an HTTP API stage takes all of it out.
CHALICE_REST_RESOURCES = ("RestAPI", "APIHandlerInvokePermission")
CHALICE_REST_OUTPUTS = ("RestAPIId", "EndpointURL")


class ChaliceWithBytecode(Chalice):
    """chalice.cdk's construct, packaging through infra/lambda_package.py: the asset ships unchecked-hash .pyc and
    aarch64 builds of its compiled dependencies."""

    def _package_app(self) -> None:
        package(Path(self.source_dir), Path(self._sam_package_dir), self.stage_name, self.stage_config)

    def route_keys(self) -> list[str]:
        """`METHOD /path` of every route chalice generated for its REST API (from the packaged template), without
        the OPTIONS preflight routes: an HTTP API's CORS configuration answers preflight requests itself."""
        template = json.loads((Path(self._sam_package_dir) / "sam.json").read_text())
        paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
        return [f"{method.upper()} {path}" for path, methods in sorted(paths.items()) for method in sorted(methods)
                if method.upper() != "OPTIONS"]


def route_logical_id(route_key: str) -> str:
    """A route's construct id, fixed by its key (adding a route renames no other): `GET /users/{id}` ->
    HttpRouteGETusersid<8 hex of the key's hash>, unique even where two paths differ only in punctuation."""
    digest = hashlib.sha256(route_key.encode()).hexdigest()[:8]
    return f"HttpRoute{re.sub(r'[^A-Za-z0-9]', '', route_key)[:180]}{digest}"


def envelope(code: int, message: str) -> str:
    return json.dumps({"code": code, "message": message, "data": {}}, separators=(",", ":"))


class PhilatelicImStack(Stack):
    """One stage of the backend. The construct id must be the stage: chalice.cdk names its stage after it."""

    def __init__(self, scope: Construct, settings: StageSettings, **kwargs: Any) -> None:
        super().__init__(scope, settings.stage, stack_name=f"philatelic-im-{settings.stage}",
                         description=f"Philatelic IM backend ({settings.stage})",
                         termination_protection=settings.is_prod, **kwargs)
        self.settings = settings
        retain = RemovalPolicy.RETAIN if settings.is_prod else RemovalPolicy.DESTROY
        if settings.uses_placeholders:
            Annotations.of(self).add_warning_v2(
                "philatelic:placeholder-mail-identity",
                f"mailIdentity {settings.mail_identity!r} is a placeholder: set philatelic-im.{settings.stage}"
                ".mailIdentity in infra/cdk.json (or -c mailIdentity=...) before deploying",
            )

        self.table = self._table(retain)
        self.bucket = self._bucket(retain)
        self.mail_identity = ses.EmailIdentity(
            self, "MailIdentity",
            identity=(ses.Identity.domain(settings.mail_identity) if settings.mail_identity_is_domain
                      else ses.Identity.email(settings.mail_identity)),
        )
        self.mail_identity_arn = self.format_arn(service="ses", resource="identity",
                                                 resource_name=settings.mail_identity)
        self.jwt_secret = secretsmanager.Secret(
            self, "JwtSecret",
            description=f"HS256 signing key of Philatelic IM tokens ({settings.stage}); rotation: infra/README.md",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False),
            removal_policy=retain,
        )

        self.chalice = ChaliceWithBytecode(self, "ChaliceApp", source_dir=PROJECT_DIR,
                                           stage_config=self._chalice_config())
        if self.chalice.stage_name != settings.stage:  # chalice.cdk takes the stage from its scope's path
            raise ValueError(f"chalice packaged stage {self.chalice.stage_name!r}, expected {settings.stage!r}")
        self.ws_api = self.chalice.get_resource("WebsocketAPI")
        self.ws_endpoint = Fn.sub(
            "https://${WsApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + API_STAGE,
            {"WsApi": self.ws_api.ref})

        self.dead_letters = self._dead_letter_queue(retain)
        self.log_groups: dict[str, logs.CfnLogGroup] = {}
        for logical_id in FUNCTIONS.values():
            self._wire_function(logical_id, retain)
        self.delivery_mapping = self._delivery_mapping()
        self._configure_apis()
        self._alarms()
        self._outputs()

    # --- data, files, mail -------------------------------------------------------------------------------

    def _table(self, removal_policy: RemovalPolicy) -> dynamodb.Table:
        string = dynamodb.AttributeType.STRING
        table = dynamodb.Table(
            self, "Table",
            partition_key=dynamodb.Attribute(name="PK", type=string),
            sort_key=dynamodb.Attribute(name="SK", type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            stream=dynamodb.StreamViewType.NEW_IMAGE,  # every frame is built from what a write committed
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            deletion_protection=self.settings.is_prod,
            removal_policy=removal_policy,
        )
        table.add_global_secondary_index(
            index_name=GSI1,
            partition_key=dynamodb.Attribute(name="GSI1PK", type=string),
            sort_key=dynamodb.Attribute(name="GSI1SK", type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        return table

    def _bucket(self, removal_policy: RemovalPolicy) -> s3.Bucket:
        cors = None
        if self.settings.cors_origins:
            cors = [s3.CorsRule(
                allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD, s3.HttpMethods.POST],
                allowed_origins=list(self.settings.cors_origins),
                allowed_headers=["*"],
                exposed_headers=["ETag"],
                max_age=3000,
            )]
        return s3.Bucket(
            self, "Uploads",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            cors=cors,
            lifecycle_rules=[s3.LifecycleRule(
                id="abort-incomplete-multipart-uploads",
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )],
            removal_policy=removal_policy,
        )

    def _dead_letter_queue(self, removal_policy: RemovalPolicy) -> sqs.Queue:
        """Where the mapping sends the stream coordinates of a batch it gave up on (not the records themselves)."""
        return sqs.Queue(
            self, "DeliveryDeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=removal_policy,
        )

    # --- the Chalice app ---------------------------------------------------------------------------------

    def _chalice_config(self) -> dict[str, Any]:
        """Plain values only: CloudFormation references cannot pass through `chalice package`."""
        environment = {
            "STAGE": self.settings.stage,
            "MAIL_SENDER": self.settings.mail_sender,
            "CORS_ALLOWED_ORIGINS": ",".join(self.settings.cors_origins),
        }
        if self.settings.public_base_url:
            environment["PUBLIC_BASE_URL"] = self.settings.public_base_url
        return {
            "manage_iam_role": False,
            "autogen_policy": False,
            "iam_role_arn": UNUSED_ROLE_ARN,
            "environment_variables": environment,
        }

    def _wire_function(self, logical_id: str, removal_policy: RemovalPolicy) -> None:
        function = self.chalice.get_resource(logical_id)
        log_group = logs.CfnLogGroup(self, f"{logical_id}Logs", retention_in_days=self.settings.log_retention_days)
        log_group.apply_removal_policy(removal_policy)
        self.log_groups[logical_id] = log_group

        role = iam.Role(
            self, f"{logical_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Philatelic IM {self.settings.stage} {logical_id}: {', '.join(GRANTS[logical_id])}",
            inline_policies={"least-privilege": iam.PolicyDocument(
                statements=self._statements(GRANTS[logical_id], log_group))},
        )
        function.add_property_override("Role", role.role_arn)
        function.add_property_override("LoggingConfig", {"LogGroup": log_group.ref, "LogFormat": "Text"})
        variables = {
            "TABLE_NAME": self.table.table_name,
            "UPLOAD_BUCKET": self.bucket.bucket_name,
            "JWT_SECRET_ARN": self.jwt_secret.secret_arn,  # the ARN only; the value is read at run time
            "WS_MANAGEMENT_ENDPOINT": self.ws_endpoint,
        }
        for name, value in variables.items():
            function.add_property_override(f"Environment.Variables.{name}", value)

    def _statements(self, grants: tuple[str, ...], log_group: logs.CfnLogGroup) -> list[iam.PolicyStatement]:
        statements = [iam.PolicyStatement(
            sid="OwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.attr_arn])]
        if "table" in grants:
            statements += [
                iam.PolicyStatement(sid="TableItems", actions=TABLE_ITEM_ACTIONS, resources=[self.table.table_arn]),
                iam.PolicyStatement(sid="TableIndex", actions=["dynamodb:Query"],
                                    resources=[f"{self.table.table_arn}/index/{GSI1}"]),
            ]
        if "uploads" in grants:
            statements.append(iam.PolicyStatement(
                sid="UploadObjects", actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[self.bucket.arn_for_objects(f"{UPLOAD_PREFIX}*")]))
        if "mail" in grants:
            statements.append(iam.PolicyStatement(
                sid="SendMail", actions=["ses:SendEmail"], resources=[self.mail_identity_arn]))
        if "jwt_secret" in grants:
            statements.append(iam.PolicyStatement(
                sid="JwtSecret", actions=["secretsmanager:GetSecretValue"], resources=[self.jwt_secret.secret_arn]))
        if "connections" in grants:
            statements.append(iam.PolicyStatement(
                sid="PushToConnections", actions=["execute-api:ManageConnections"],
                resources=[self._connections_arn("*")]))
        if "delivery" in grants:
            statements += [
                iam.PolicyStatement(sid="DeliveryItems", actions=DELIVERY_TABLE_ACTIONS,
                                    resources=[self.table.table_arn]),
                iam.PolicyStatement(sid="PostToConnections", actions=["execute-api:ManageConnections"],
                                    resources=[self._connections_arn("POST")]),
            ]
        if "stream" in grants:
            statements.append(iam.PolicyStatement(
                sid="ReadTableStream", actions=STREAM_READ_ACTIONS, resources=[self.table.table_stream_arn]))
        if "dead_letters" in grants:
            statements.append(iam.PolicyStatement(
                sid="DeliveryDeadLetters", actions=["sqs:SendMessage"], resources=[self.dead_letters.queue_arn]))
        return statements

    def _connections_arn(self, method: str) -> str:
        return self.format_arn(service="execute-api", resource=self.ws_api.ref,
                               resource_name=f"{API_STAGE}/{method}/@connections/*")

    def _delivery_mapping(self) -> lambda_.CfnEventSourceMapping:
        """The table's stream onto `deliver`: one batch per shard at a time, so the records of one partition key (one
        conversation) are handled strictly in order; a failed record and those after it are retried, then parked.

        TRIM_HORIZON: when the mapping first starts (first deployment, or the upgrade that adds the stream), the
        writes committed since the stream began are delivered instead of skipped; a message must never go unpushed
        because it was sent while CloudFormation was still creating the mapping. Its id stays fixed: a replaced
        mapping would start again from the oldest record kept (up to 24 h) and push those frames again."""
        return lambda_.CfnEventSourceMapping(
            self, "DeliverStreamMapping",
            function_name=self.chalice.get_resource("Deliver").ref,
            event_source_arn=self.table.table_stream_arn,
            starting_position="TRIM_HORIZON",
            parallelization_factor=1,
            batch_size=DELIVERY_BATCH_SIZE,
            maximum_batching_window_in_seconds=DELIVERY_BATCHING_WINDOW_SECONDS,
            function_response_types=["ReportBatchItemFailures"],
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=DELIVERY_MAX_RETRIES,
            maximum_record_age_in_seconds=DELIVERY_MAX_RECORD_AGE_SECONDS,
            destination_config=lambda_.CfnEventSourceMapping.DestinationConfigProperty(
                on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(
                    destination=self.dead_letters.queue_arn)),
            filter_criteria=lambda_.CfnEventSourceMapping.FilterCriteriaProperty(filters=[
                lambda_.CfnEventSourceMapping.FilterProperty(pattern=json.dumps(pattern, separators=(",", ":")))
                for pattern in DELIVERY_FILTERS]),
        )

    def _configure_apis(self) -> None:
        settings = self.settings
        self.api_name = f"philatelic-im-{settings.stage}"
        if settings.http_api:
            self.api_ref = self._http_api()
        else:
            rest_api = self.chalice.get_resource("RestAPI")
            rest_api.add_property_override("DefinitionBody.info.title", self.api_name)
            rest_api.add_property_override("MethodSettings", [{
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": settings.api_throttle_rate,
                "ThrottlingBurstLimit": settings.api_throttle_burst,
                "MetricsEnabled": True,
            }])
            rest_api.add_property_override("GatewayResponses", self._gateway_responses())
            self.api_ref = rest_api.ref
        self.ws_api.add_property_override("Name", f"philatelic-im-{settings.stage}-websocket")
        self.chalice.get_resource("WebsocketAPIStage").add_property_override("DefaultRouteSettings", {
            "ThrottlingRateLimit": settings.ws_throttle_rate,
            "ThrottlingBurstLimit": settings.ws_throttle_burst,
        })

    def _http_api(self) -> str:
        """An HTTP API in front of api_handler, in place of chalice's REST API: stage `api` (the same base URL
        shape), one route per chalice route (chalice dispatches on the route's path, requestContext.resourcePath,
        which a catch-all route would not give it), payload format 1.0 (the REST proxy event's fields, which chalice
        reads), CORS answered by API Gateway from corsOrigins, stage throttling. `$default` takes every request no
        route matches to the same function, whose app answers it with the 404 envelope (app.py answer_unrouted)."""
        sys.path.insert(0, PROJECT_DIR)  # the project root: the API answers CORS with the app's own settings
        from chalicelib.http import cors

        settings = self.settings
        template = self.chalice.sam_template
        route_keys = self.chalice.route_keys()
        outputs = template.node.find_child("$Outputs")  # CfnInclude keeps the template's outputs under this scope
        for scope, logical_id in ([(template, name) for name in CHALICE_REST_RESOURCES]
                                  + [(outputs, name) for name in CHALICE_REST_OUTPUTS]):
            if not scope.node.try_remove_child(logical_id):
                raise ValueError(f"chalice's template has no {logical_id} to replace with the HTTP API")
        cors_configuration = None
        if settings.cors_origins:
            cors_configuration = apigatewayv2.CfnApi.CorsProperty(
                allow_origins=list(settings.cors_origins),
                allow_credentials=True,
                allow_methods=cors.ALLOW_METHODS.split(","),
                allow_headers=cors.ALLOW_HEADERS.split(","),
                expose_headers=list(cors.EXPOSE_HEADERS),
                max_age=int(cors.PREFLIGHT_MAX_AGE),
            )
        api = apigatewayv2.CfnApi(
            self, "HttpApi", name=self.api_name, protocol_type="HTTP", cors_configuration=cors_configuration,
            description=f"Philatelic IM {settings.stage} HTTP routes (payload format 1.0 onto api_handler)")
        handler = self.chalice.get_resource("APIHandler")
        integration = apigatewayv2.CfnIntegration(
            self, "HttpApiIntegration", api_id=api.ref, integration_type="AWS_PROXY",
            integration_uri=handler.get_att("Arn").to_string(), payload_format_version="1.0",
            timeout_in_millis=HTTP_API_INTEGRATION_TIMEOUT_MS)
        target = f"integrations/{integration.ref}"
        routes = [apigatewayv2.CfnRoute(self, route_logical_id(route_key), api_id=api.ref, route_key=route_key,
                                        target=target)
                  for route_key in route_keys]
        routes.append(apigatewayv2.CfnRoute(self, "HttpRouteDefault", api_id=api.ref, route_key="$default",
                                            target=target))
        stage = apigatewayv2.CfnStage(
            self, "HttpApiStage", api_id=api.ref, stage_name=API_STAGE, auto_deploy=True,
            default_route_settings=apigatewayv2.CfnStage.RouteSettingsProperty(
                throttling_rate_limit=settings.api_throttle_rate,
                throttling_burst_limit=settings.api_throttle_burst))
        for route in routes:
            stage.add_dependency(route)  # the automatic deployment then starts with every route in it
        lambda_.CfnPermission(
            self, "HttpApiInvokesHandler", action="lambda:InvokeFunction", function_name=handler.ref,
            principal="apigateway.amazonaws.com",
            source_arn=self.format_arn(service="execute-api", resource=api.ref, resource_name=f"{API_STAGE}/*"))
        return api.ref

    def _gateway_responses(self) -> dict[str, Any]:
        headers = {"Vary": "'Origin'"}
        if len(self.settings.cors_origins) == 1:  # a gateway response cannot pick among several origins
            headers["Access-Control-Allow-Origin"] = f"'{self.settings.cors_origins[0]}'"
            headers["Access-Control-Allow-Credentials"] = "'true'"
        responses: dict[str, Any] = {}
        for response_type, (status, code, message) in GATEWAY_RESPONSES.items():
            response: dict[str, Any] = {
                "ResponseParameters": {"Headers": dict(headers)},
                "ResponseTemplates": {"application/json": envelope(code, message)},
            }
            if status is not None:
                response["StatusCode"] = str(status)
            responses[response_type] = response
        return responses

    # --- operations ------------------------------------------------------------------------------------

    def _alarms(self) -> None:
        topic = sns.Topic(self, "AlarmTopic", display_name=f"Philatelic IM {self.settings.stage} alarms")
        if self.settings.alarm_email:
            topic.add_subscription(sns_subscriptions.EmailSubscription(self.settings.alarm_email))
        self.alarm_topic = topic
        five_minutes = Duration.minutes(5)
        at_least = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        # REST APIs publish 5XXError per ApiName; HTTP APIs publish 5xx per ApiId.
        server_errors = (
            cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name="5xx",
                              dimensions_map={"ApiId": self.api_ref, "Stage": API_STAGE},
                              statistic="Sum", period=five_minutes)
            if self.settings.http_api else
            cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name="5XXError",
                              dimensions_map={"ApiName": self.api_name, "Stage": API_STAGE},
                              statistic="Sum", period=five_minutes))
        alarms = [cloudwatch.Alarm(
            self, "Rest5xxAlarm",
            alarm_description=f"{'HTTP' if self.settings.http_api else 'REST'} API answered 5xx (Lambda errors, "
                              "timeouts, API Gateway faults)",
            metric=server_errors,
            threshold=self.settings.rest_5xx_alarm_threshold, evaluation_periods=1,
            comparison_operator=at_least, treat_missing_data=quiet,
        )]
        for logical_id in FUNCTIONS.values():
            alarms.append(cloudwatch.Alarm(
                self, f"{logical_id}ErrorsAlarm",
                alarm_description=f"{logical_id} raised errors (unhandled exceptions, timeouts, out of memory)",
                metric=cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Errors",
                                         dimensions_map={"FunctionName": self.chalice.get_resource(logical_id).ref},
                                         statistic="Sum", period=five_minutes),
                threshold=1, evaluation_periods=1, comparison_operator=at_least, treat_missing_data=quiet,
            ))
        throttles: dict[str, cloudwatch.IMetric] = {}
        for prefix, extra in (("table", {}), ("gsi", {"GlobalSecondaryIndexName": GSI1})):
            for kind in ("Read", "Write"):
                throttles[f"{prefix}{kind.lower()}"] = cloudwatch.Metric(
                    namespace="AWS/DynamoDB", metric_name=f"{kind}ThrottleEvents",
                    dimensions_map={"TableName": self.table.table_name, **extra}, statistic="Sum",
                    period=five_minutes)
        alarms += self._delivery_alarms()
        alarms.append(cloudwatch.Alarm(
            self, "DynamoDbThrottlesAlarm",
            alarm_description="DynamoDB throttled reads or writes on the table or GSI1",
            metric=cloudwatch.MathExpression(expression=" + ".join(throttles), using_metrics=throttles,
                                             label="throttle events", period=five_minutes),
            threshold=1, evaluation_periods=1, comparison_operator=at_least, treat_missing_data=quiet,
        ))
        for alarm in alarms:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))

    def _delivery_alarms(self) -> list[cloudwatch.Alarm]:
        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        return [
            cloudwatch.Alarm(
                self, "DeliveryDeadLettersAlarm",
                alarm_description="The stream's mapping gave up on a batch of records (retries or age exhausted): "
                                  "their frames were not pushed. Read the queue (infra/README.md, Delivery)",
                metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                    statistic="Maximum", period=Duration.minutes(1)),
                threshold=0, evaluation_periods=1, comparison_operator=above, treat_missing_data=quiet,
            ),
            cloudwatch.Alarm(
                self, "DeliveryIteratorAgeAlarm",
                alarm_description=f"Frames are pushed more than {ITERATOR_AGE_ALARM_SECONDS} s after their commit: "
                                  "deliver is failing, throttled or too slow for the write rate",
                metric=cloudwatch.Metric(namespace="AWS/Lambda", metric_name="IteratorAge",
                                         dimensions_map={"FunctionName": self.chalice.get_resource("Deliver").ref},
                                         statistic="Maximum", period=Duration.minutes(1)),
                threshold=ITERATOR_AGE_ALARM_SECONDS * 1000, evaluation_periods=5, datapoints_to_alarm=3,
                comparison_operator=above, treat_missing_data=quiet,
            ),
        ]

    def _outputs(self) -> None:
        rest_url = Fn.sub("https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + API_STAGE,
                          {"Api": self.api_ref})
        wss_url = Fn.sub("wss://${WsApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + API_STAGE,
                         {"WsApi": self.ws_api.ref})
        CfnOutput(self, "RestApiUrl", value=rest_url,
                  description=f"web client VITE_APP_BASE_API ({self.settings.api_type.upper()} API stage URL)")
        CfnOutput(self, "WebSocketUrl", value=wss_url, description="WebSocket API (wss) stage URL")
        CfnOutput(self, "WebClientWsApi", value=Fn.join("", [wss_url, "?token="]),
                  description="web client VITE_APP_WS_API (the client appends the JWT)")
        CfnOutput(self, "WebSocketManagementEndpoint", value=self.ws_endpoint,
                  description="@connections endpoint the functions push through")
        CfnOutput(self, "TableName", value=self.table.table_name)
        CfnOutput(self, "UploadBucketName", value=self.bucket.bucket_name)
        CfnOutput(self, "JwtSecretArn", value=self.jwt_secret.secret_arn,
                  description="Secrets Manager secret holding the token signing key (ARN, not the value)")
        CfnOutput(self, "MailSender", value=self.settings.mail_sender)
        CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn)
        CfnOutput(self, "DeliveryDeadLetterQueueUrl", value=self.dead_letters.queue_url,
                  description="stream coordinates of delivery batches the mapping gave up on")
        if self.settings.mail_identity_is_domain:
            identity = self.mail_identity
            for number, (name, value) in enumerate((
                (identity.dkim_dns_token_name1, identity.dkim_dns_token_value1),
                (identity.dkim_dns_token_name2, identity.dkim_dns_token_value2),
                (identity.dkim_dns_token_name3, identity.dkim_dns_token_value3),
            ), start=1):
                CfnOutput(self, f"MailDkimRecord{number}", value=Fn.join(" CNAME ", [name, value]),
                          description="DNS record that verifies the SES domain identity (Easy DKIM)")
