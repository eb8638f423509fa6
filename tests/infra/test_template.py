"""What the synthesised stack must contain: data, WebSocket wiring, least-privilege IAM, secrets, outputs."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from infra.package_size import MAX_ZIP_MB, MB
from tests.infra.conftest import PROJECT_DIR, Stack

FUNCTIONS = {  # chalice function name -> logical id in the template
    "api_handler": "APIHandler",
    "websocket_connect": "WebsocketConnect",
    "websocket_message": "WebsocketMessage",
    "websocket_disconnect": "WebsocketDisconnect",
    "deliver": "Deliver",  # driven by the table's stream, not by API Gateway (test_delivery_template.py)
}
DATA_SERVICES = ("dynamodb", "s3", "ses", "secretsmanager", "execute-api", "sqs")
NOT_FOUND_ENVELOPE = {"code": 404, "message": "route not found", "data": {}}


def refs(value: Any) -> set[str]:
    """Logical ids a template value points at (Ref, Fn::GetAtt, Fn::Sub variables)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                if not inner.startswith("AWS::"):  # pseudo parameters are not resources
                    found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text, variables = (inner[0], inner[1]) if isinstance(inner, list) else (inner, {})
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)
                          if not name.startswith("AWS::") and name not in variables}
                found |= refs(variables)
            else:
                found |= refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= refs(inner)
    return found


def literal_text(value: Any) -> str:
    """The literal pieces of a Fn::Sub / Fn::Join value, concatenated (tokens become {})."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"][0] if isinstance(value["Fn::Sub"], list) else value["Fn::Sub"]
        return re.sub(r"\$\{[^}]+\}", "{}", text)
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(literal_text(part) for part in parts)
    return "{}"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM statement granted in a template: role inline policies, policies, managed policies."""
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [properties["PolicyDocument"]]
        else:
            continue
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield name, statement


def function_role(stack: Stack, logical_id: str) -> str:
    role = stack.resources[logical_id]["Properties"]["Role"]
    assert isinstance(role, dict) and "Fn::GetAtt" in role, f"{logical_id} Role is {role!r}, not a role of this stack"
    return role["Fn::GetAtt"][0]


def granted_actions(stack: Stack, logical_id: str) -> dict[str, list[Any]]:
    """action -> resources, for the role attached to one function."""
    role = function_role(stack, logical_id)
    grants: dict[str, list[Any]] = {}
    for name, statement in policy_statements(stack.resources):
        if name == role and statement["Effect"] == "Allow":
            for action in as_list(statement["Action"]):
                grants.setdefault(action, []).extend(as_list(statement["Resource"]))
    return grants


def environment(stack: Stack, logical_id: str) -> dict[str, Any]:
    return stack.resources[logical_id]["Properties"]["Environment"]["Variables"]


# --- DynamoDB ------------------------------------------------------------------------------------------

def test_table_keys_gsi1_ttl_on_demand_and_pitr(stack: Stack) -> None:
    _, table = stack.one("AWS::DynamoDB::Table")
    properties = table["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "PK", "KeyType": "HASH"},
                                       {"AttributeName": "SK", "KeyType": "RANGE"}]
    types = {item["AttributeName"]: item["AttributeType"] for item in properties["AttributeDefinitions"]}
    assert types == {"PK": "S", "SK": "S", "GSI1PK": "S", "GSI1SK": "S"}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    [gsi] = properties["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "GSI1"
    assert gsi["KeySchema"] == [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                                {"AttributeName": "GSI1SK", "KeyType": "RANGE"}]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_table_matches_the_app_model(stack: Stack) -> None:
    """The deployed table is the one the PynamoDB model describes (keys, GSIs, projections, TTL)."""
    models = pytest.importorskip("chalicelib.db.models")
    schema = models.Item._get_schema()
    _, table = stack.one("AWS::DynamoDB::Table")
    properties = table["Properties"]
    assert properties["KeySchema"] == sorted(schema["key_schema"], key=lambda key: key["KeyType"])
    definitions = {(item["AttributeName"], item["AttributeType"]) for item in properties["AttributeDefinitions"]}
    assert definitions == {(item["AttributeName"], item["AttributeType"]) for item in schema["attribute_definitions"]}
    deployed = {index["IndexName"]: (index["KeySchema"], index["Projection"]["ProjectionType"])
                for index in properties.get("GlobalSecondaryIndexes", [])}
    modelled = {index["index_name"]: (sorted(index["key_schema"], key=lambda key: key["KeyType"]),
                                      index["projection"]["ProjectionType"])
                for index in schema["global_secondary_indexes"]}
    assert deployed == modelled
    assert not schema["local_secondary_indexes"]
    assert properties["TimeToLiveSpecification"]["AttributeName"] == getattr(models, "TTL_ATTRIBUTE", "expires_at")


def test_prod_keeps_its_data(prod_stack: Stack) -> None:
    _, table = prod_stack.one("AWS::DynamoDB::Table")
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    _, bucket = prod_stack.one("AWS::S3::Bucket")
    assert bucket["DeletionPolicy"] == "Retain"
    assert prod_stack.manifest["properties"]["terminationProtection"] is True


# --- WebSocket API and the push endpoint ----------------------------------------------------------------

def test_websocket_api_routes(stack: Stack) -> None:
    api = stack.resources["WebsocketAPI"]
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = {route["Properties"]["RouteKey"]: route for route in stack.of_type("AWS::ApiGatewayV2::Route").values()
              if route["Properties"]["ApiId"] == {"Ref": "WebsocketAPI"}}
    assert set(routes) == {"$connect", "$default", "$disconnect"}
    integrations = stack.of_type("AWS::ApiGatewayV2::Integration")
    targets = {}
    for key, route in routes.items():
        [integration] = refs(route["Properties"]["Target"]) & set(integrations)
        targets[key] = refs(integrations[integration]["Properties"]["IntegrationUri"]) & set(FUNCTIONS.values())
    assert targets == {"$connect": {"WebsocketConnect"}, "$default": {"WebsocketMessage"},
                       "$disconnect": {"WebsocketDisconnect"}}
    ws_stage = stack.resources["WebsocketAPIStage"]
    assert ws_stage["Properties"]["StageName"] == "api"
    throttling = ws_stage["Properties"]["DefaultRouteSettings"]
    assert throttling["ThrottlingRateLimit"] > 0 and throttling["ThrottlingBurstLimit"] > 0


def test_every_function_gets_the_management_endpoint(stack: Stack) -> None:
    for logical_id in FUNCTIONS.values():
        endpoint = environment(stack, logical_id)["WS_MANAGEMENT_ENDPOINT"]
        assert "Fn::Sub" in endpoint, f"{logical_id}: WS_MANAGEMENT_ENDPOINT must be built with Fn::Sub"
        assert refs(endpoint) == {"WebsocketAPI"}
        assert literal_text(endpoint) == "https://{}.execute-api.{}.{}/api"


# --- functions: sizing, environment, secrets, logs ------------------------------------------------------

def test_function_sizing_follows_chalice_config(stack: Stack) -> None:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    assert set(config["lambda_functions"]) <= set(FUNCTIONS), "lambda_functions must use chalice's names"
    for name, logical_id in FUNCTIONS.items():
        properties = stack.resources[logical_id]["Properties"]
        wanted = config["lambda_functions"].get(name, {})
        assert properties["MemorySize"] == wanted.get("lambda_memory_size", properties["MemorySize"])
        assert properties["Timeout"] == wanted.get("lambda_timeout", properties["Timeout"])
        if logical_id != "Deliver":
            assert properties["Timeout"] <= 29, f"{logical_id}: API Gateway gives up after 29 s"
    for logical_id in ("APIHandler", "WebsocketMessage"):  # bcrypt, fan-out
        assert stack.resources[logical_id]["Properties"]["MemorySize"] >= 1024


def test_functions_run_as_their_stage(stack: Stack) -> None:
    for logical_id in FUNCTIONS.values():
        properties = stack.resources[logical_id]["Properties"]
        assert properties["Environment"]["Variables"]["STAGE"] == stack.stage
        assert f"stage={stack.stage}:" in properties["Tags"]["aws-chalice"]


def test_environment_names_the_resources(stack: Stack) -> None:
    table, _ = stack.one("AWS::DynamoDB::Table")
    bucket, _ = stack.one("AWS::S3::Bucket")
    secret, _ = stack.one("AWS::SecretsManager::Secret")
    for logical_id in FUNCTIONS.values():
        variables = environment(stack, logical_id)
        assert variables["TABLE_NAME"] == {"Ref": table}
        assert variables["UPLOAD_BUCKET"] == {"Ref": bucket}
        assert variables["JWT_SECRET_ARN"] == {"Ref": secret}
        assert "@" in variables["MAIL_SENDER"]
        assert "*" not in variables["CORS_ALLOWED_ORIGINS"]


def test_no_secret_value_in_plain_environment(stack: Stack) -> None:
    secret_name, secret = stack.one("AWS::SecretsManager::Secret")
    assert "SecretString" not in secret["Properties"], "the key must be generated at deploy time"
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] >= 48
    for logical_id in FUNCTIONS.values():
        for name, value in environment(stack, logical_id).items():
            text = json.dumps(value)
            assert "resolve:secretsmanager" not in text and "resolve:ssm-secure" not in text, f"{logical_id} {name}"
            if "SECRET" in name or "PASSWORD" in name or name.endswith("_KEY"):
                assert name == "JWT_SECRET_ARN" and value == {"Ref": secret_name}, f"{logical_id}: {name}={value!r}"
            if isinstance(value, str):  # long random-looking literals are keys that leaked into the template
                assert not re.fullmatch(r"[A-Za-z0-9+/=_-]{32,}", value), f"{logical_id}: {name} looks like a key"


def test_function_logs_have_retention(stack: Stack) -> None:
    log_groups = stack.of_type("AWS::Logs::LogGroup")
    for logical_id in FUNCTIONS.values():
        logging = stack.resources[logical_id]["Properties"]["LoggingConfig"]
        [group] = refs(logging["LogGroup"])
        assert group in log_groups
        assert log_groups[group]["Properties"]["RetentionInDays"] >= 7


# --- IAM ------------------------------------------------------------------------------------------------

def test_chalice_autogen_role_is_off(stack: Stack) -> None:
    assert "DefaultRole" not in stack.resources
    assert "000000000000" not in json.dumps(stack.template)
    roles = {function_role(stack, logical_id) for logical_id in FUNCTIONS.values()}
    assert len(roles) == len(FUNCTIONS), "one role per function"
    for role in roles:
        assert stack.resources[role]["Type"] == "AWS::IAM::Role"
        assert not stack.resources[role]["Properties"].get("ManagedPolicyArns")


def test_no_wildcard_resource_on_data_actions(stack: Stack) -> None:
    sources = [stack.template] + ([stack.transformed] if stack.transformed else [])
    for source in sources:
        for name, statement in policy_statements(source["Resources"]):
            actions = as_list(statement["Action"])
            assert "*" not in actions, f"{name}: Action '*'"
            data_actions = [action for action in actions if action.split(":")[0] in DATA_SERVICES]
            if not data_actions or statement["Effect"] != "Allow":
                continue
            assert not any(action.endswith(":*") for action in data_actions), f"{name}: {data_actions}"
            for resource in as_list(statement["Resource"]):
                text = literal_text(resource)
                assert text != "*" and not text.startswith("arn:*"), f"{name}: {data_actions} on {text}"


def test_each_function_gets_only_what_it_needs(stack: Stack) -> None:
    table, _ = stack.one("AWS::DynamoDB::Table")
    bucket, _ = stack.one("AWS::S3::Bucket")
    secret, _ = stack.one("AWS::SecretsManager::Secret")
    services = {logical_id: {action.split(":")[0] for action in granted_actions(stack, logical_id)} - {"logs"}
                for logical_id in FUNCTIONS.values()}
    assert services == {
        "APIHandler": {"dynamodb", "s3", "ses", "secretsmanager", "execute-api"},
        "WebsocketConnect": {"dynamodb", "secretsmanager"},
        "WebsocketMessage": {"dynamodb", "execute-api"},
        "WebsocketDisconnect": {"dynamodb"},
        "Deliver": {"dynamodb", "execute-api", "sqs"},
    }
    api = granted_actions(stack, "APIHandler")
    assert "dynamodb:Scan" not in api
    for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem",
                   "ConditionCheckItem"):
        assert refs(api[f"dynamodb:{action}"]) == {table}
    index_arns = [literal_text(resource) for resource in api["dynamodb:Query"]]
    assert "{}/index/GSI1" in index_arns
    assert set(api) >= {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert [literal_text(resource) for resource in api[action]] == ["{}/uploads/*"]
        assert refs(api[action]) == {bucket}
    assert [literal_text(resource) for resource in api["ses:SendEmail"]] == [
        f"arn:{{}}:ses:{{}}:{{}}:identity/{_mail_identity(stack)}"]
    assert api["secretsmanager:GetSecretValue"] == [{"Ref": secret}]
    [connections] = api["execute-api:ManageConnections"]
    assert refs(connections) == {"WebsocketAPI"}
    assert literal_text(connections).endswith(":{}/api/*/@connections/*")
    for logical_id in FUNCTIONS.values():
        for action, resources in granted_actions(stack, logical_id).items():
            if action.startswith("logs:"):
                assert refs(resources) == {next(iter(refs(stack.resources[logical_id]["Properties"]["LoggingConfig"])))}


def _mail_identity(stack: Stack) -> str:
    _, identity = stack.one("AWS::SES::EmailIdentity")
    return identity["Properties"]["EmailIdentity"]


def test_ses_sender_belongs_to_the_identity(stack: Stack) -> None:
    identity = _mail_identity(stack)
    sender = environment(stack, "APIHandler")["MAIL_SENDER"]
    assert sender == identity or sender.endswith("@" + identity)


# --- S3 -------------------------------------------------------------------------------------------------

def test_upload_bucket_is_private_encrypted_tls_only(stack: Stack) -> None:
    bucket_name, bucket = stack.one("AWS::S3::Bucket")
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    [rule] = properties["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    cors = properties["CorsConfiguration"]["CorsRules"]
    for cors_rule in cors:
        assert "*" not in cors_rule["AllowedOrigins"]
        assert {"GET", "POST"} <= set(cors_rule["AllowedMethods"])
    _, policy = stack.one("AWS::S3::BucketPolicy")
    assert refs(policy["Properties"]["Bucket"]) == {bucket_name}
    denies = [statement for statement in policy["Properties"]["PolicyDocument"]["Statement"]
              if statement["Effect"] == "Deny"]
    assert any(statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for statement in denies)


# --- REST API: stage, throttling, gateway responses -----------------------------------------------------

def test_rest_api_stage_throttling_and_name(rest_stack: Stack) -> None:
    stack = rest_stack
    _, api = stack.one("AWS::Serverless::Api")
    properties = api["Properties"]
    assert properties["StageName"] == "api"
    assert properties["DefinitionBody"]["info"]["title"] == f"philatelic-im-{stack.stage}"
    [settings] = properties["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0


def _check_gateway_responses(responses: dict[str, Any], status: str, template: str, parameters: str) -> None:
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert str(missing[status]) == "404"
    assert json.loads(missing[template]["application/json"]) == NOT_FOUND_ENVELOPE
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "INTEGRATION_TIMEOUT", "UNAUTHORIZED"):
        body = json.loads(responses[response_type][template]["application/json"])
        assert set(body) == {"code", "message", "data"} and body["data"] == {}
        assert isinstance(body["code"], int) and body["message"]
        if status in responses[response_type]:
            assert body["code"] == int(responses[response_type][status])
    assert parameters in missing


def test_unknown_paths_answer_404_with_the_envelope(rest_stack: Stack) -> None:
    _, api = rest_stack.one("AWS::Serverless::Api")
    _check_gateway_responses(api["Properties"]["GatewayResponses"], "StatusCode", "ResponseTemplates",
                             "ResponseParameters")


def test_gateway_responses_survive_the_sam_transform(rest_stack: Stack, expanded: dict[str, Any]) -> None:
    [rest_api] = [resource for resource in expanded["Resources"].values()
                  if resource["Type"] == "AWS::ApiGateway::RestApi"]
    responses = rest_api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    _check_gateway_responses(responses, "statusCode", "responseTemplates", "responseParameters")
    [api_stage] = [resource for resource in expanded["Resources"].values()
                   if resource["Type"] == "AWS::ApiGateway::Stage"]
    assert api_stage["Properties"]["StageName"] == "api"
    assert api_stage["Properties"]["MethodSettings"][0]["ThrottlingRateLimit"] > 0
    functions = [resource for resource in expanded["Resources"].values()
                 if resource["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == len(FUNCTIONS)
    assert all(refs(function["Properties"]["Role"]) for function in functions)


# --- alarms and outputs ---------------------------------------------------------------------------------

def test_alarms_cover_rest_5xx_lambda_errors_and_dynamodb_throttles(stack: Stack) -> None:
    alarms = list(stack.of_type("AWS::CloudWatch::Alarm").values())
    watched: set[tuple[str, str]] = set()
    function_alarms = set()
    for alarm in alarms:
        properties = alarm["Properties"]
        assert properties.get("AlarmActions"), "every alarm notifies the alarm topic"
        metrics = [properties] if "MetricName" in properties else [
            query["MetricStat"]["Metric"] for query in properties["Metrics"] if "MetricStat" in query]
        for metric in metrics:
            watched.add((metric["Namespace"], metric["MetricName"]))
            if metric["MetricName"] == "Errors":
                [dimension] = metric["Dimensions"]
                function_alarms |= refs(dimension["Value"])
    assert ("AWS/ApiGateway", "5xx" if stack.api_type == "http" else "5XXError") in watched
    assert ("AWS/Lambda", "Errors") in watched
    assert {("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "WriteThrottleEvents")} <= watched
    assert function_alarms == set(FUNCTIONS.values())


def test_outputs_give_the_web_client_its_two_urls(stack: Stack) -> None:
    outputs = stack.template["Outputs"]
    rest = outputs["RestApiUrl"]["Value"]
    assert refs(rest) == {"HttpApi" if stack.api_type == "http" else "RestAPI"}
    assert literal_text(rest) == "https://{}.execute-api.{}.{}/api"
    wss = outputs["WebSocketUrl"]["Value"]
    assert refs(wss) == {"WebsocketAPI"} and literal_text(wss) == "wss://{}.execute-api.{}.{}/api"
    assert literal_text(outputs["WebClientWsApi"]["Value"]).endswith("/api?token=")
    table, _ = stack.one("AWS::DynamoDB::Table")
    bucket, _ = stack.one("AWS::S3::Bucket")
    assert outputs["TableName"]["Value"] == {"Ref": table}
    assert outputs["UploadBucketName"]["Value"] == {"Ref": bucket}
    assert outputs["JwtSecretArn"]["Value"] == {"Ref": stack.one("AWS::SecretsManager::Secret")[0]}


def test_function_code_asset_is_within_budget(stack: Stack) -> None:
    """The zip chalice.cdk built for this stack, as uploaded by `cdk deploy` (P10; the budget and why:
    infra/package_size.py)."""
    assets = json.loads((PROJECT_DIR / "infra" / "cdk.out" / f"{stack.stage}.assets.json").read_text())
    zips = [PROJECT_DIR / "infra" / "cdk.out" / asset["source"]["path"] for asset in assets["files"].values()
            if asset["source"].get("packaging", "file") == "file" and asset["source"]["path"].endswith(".zip")]
    assert zips, "no function code asset"
    for path in zips:
        assert path.stat().st_size <= MAX_ZIP_MB * MB, f"{path.name}: {path.stat().st_size / MB:.2f} MB"
