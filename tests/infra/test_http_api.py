"""The HTTP API (payload format 1.0) a stage with apiType "http" (prod's default) serves its routes with, in place of
chalice's REST API: one route per chalice route, CORS from corsOrigins, throttling, the 404 envelope's route."""
from __future__ import annotations

from typing import Any

from chalicelib.http import cors
from tests.infra.conftest import Stack
from tests.infra.test_template import environment, refs

DEFAULT_ROUTE = "$default"


def http_routes(stack: Stack) -> dict[str, dict[str, Any]]:
    return {route["Properties"]["RouteKey"]: route["Properties"]
            for route in stack.of_type("AWS::ApiGatewayV2::Route").values()
            if route["Properties"]["ApiId"] == {"Ref": "HttpApi"}}


def test_prod_is_served_by_an_http_api(prod_stack: Stack) -> None:
    assert prod_stack.api_type == "http"


def test_one_route_per_chalice_route_and_default(http_stack: Stack) -> None:
    """chalice dispatches on the matched route's path (requestContext.resourcePath), so every route it serves is
    an HTTP API route of its own; a catch-all would hand it the catch-all's path instead."""
    from app import app

    served = {f"{method} {path}" for path, methods in app.routes.items() for method in methods if method != "OPTIONS"}
    routes = http_routes(http_stack)
    assert set(routes) == served | {DEFAULT_ROUTE}
    assert not [key for key in routes if "{proxy+}" in key or key.startswith("ANY ")]
    targets = {frozenset(refs(route["Target"])) for route in routes.values()}
    assert targets == {frozenset({"HttpApiIntegration"})}
    integration = http_stack.resources["HttpApiIntegration"]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY" and integration["PayloadFormatVersion"] == "1.0"
    assert refs(integration["IntegrationUri"]) == {"APIHandler"}
    assert integration["TimeoutInMillis"] > http_stack.resources["APIHandler"]["Properties"]["Timeout"] * 1000


def test_cors_is_answered_by_the_http_api(http_stack: Stack) -> None:
    """Chalice's OPTIONS routes are not routes here: API Gateway answers preflight requests from this
    configuration (and sets the CORS headers of every answer), with the app's own values."""
    configuration = http_stack.resources["HttpApi"]["Properties"]["CorsConfiguration"]
    origins = environment(http_stack, "APIHandler")["CORS_ALLOWED_ORIGINS"].split(",")
    assert configuration["AllowOrigins"] == origins and "*" not in origins
    assert configuration["AllowCredentials"] is True
    assert configuration["AllowHeaders"] == cors.ALLOW_HEADERS.split(",")
    assert configuration["AllowMethods"] == cors.ALLOW_METHODS.split(",")
    assert configuration["ExposeHeaders"] == list(cors.EXPOSE_HEADERS)
    assert configuration["MaxAge"] == int(cors.PREFLIGHT_MAX_AGE)
    assert not [key for key in http_routes(http_stack) if key.startswith("OPTIONS ")]


def test_stage_api_deploys_itself_and_throttles(http_stack: Stack) -> None:
    [stage] = [resource for resource in http_stack.of_type("AWS::ApiGatewayV2::Stage").values()
               if resource["Properties"]["ApiId"] == {"Ref": "HttpApi"}]
    properties = stage["Properties"]
    assert properties["StageName"] == "api" and properties["AutoDeploy"] is True
    throttling = properties["DefaultRouteSettings"]
    assert throttling["ThrottlingRateLimit"] > 0 and throttling["ThrottlingBurstLimit"] > 0
    assert set(stage["DependsOn"]) >= {name for name, resource in http_stack.resources.items()
                                       if resource["Type"] == "AWS::ApiGatewayV2::Route"
                                       and resource["Properties"]["ApiId"] == {"Ref": "HttpApi"}}


def test_only_this_api_stage_may_invoke_the_handler(http_stack: Stack) -> None:
    permissions = [resource["Properties"] for resource in http_stack.of_type("AWS::Lambda::Permission").values()
                   if resource["Properties"]["FunctionName"] == {"Ref": "APIHandler"}]
    [permission] = permissions
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert refs(permission["SourceArn"]) == {"HttpApi"}
    assert permission["SourceArn"]["Fn::Join"][1][-1] == "/api/*"


def test_no_rest_api_is_left(http_stack: Stack, expanded: dict[str, Any]) -> None:
    assert not http_stack.of_type("AWS::Serverless::Api")
    assert not {"RestAPIId", "EndpointURL"} & set(http_stack.template["Outputs"])
    assert not [resource for resource in expanded["Resources"].values()
                if resource["Type"].startswith("AWS::ApiGateway::")]
    assert "HttpApi" in expanded["Resources"]
