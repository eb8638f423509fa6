"""Local AWS's DynamoDB requests skip moto's Flask app (`infra/local/moto_requests.py`) and are answered exactly as
moto's Flask app answers them: the same sequence of operations (writes, a refused condition, a cancelled
transaction, a malformed expression, reads, an unknown operation) on two tables, one through each path, gets the
same status and body each time. Other services still go through moto's Flask apps."""
from __future__ import annotations

import json

import moto
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import EnvironBuilder, run_wsgi_app

from infra.local.moto_requests import _dynamodb_without_flask

AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=local/20261205/us-east-1/dynamodb/aws4_request, "
                 "SignedHeaders=host;x-amz-target, Signature=0")


def _operations(table: str) -> list[tuple[str, dict]]:
    key = {"PK": {"S": "k"}, "SK": {"S": "HEAD"}}
    return [
        ("PutItem", {"TableName": table, "Item": {**key, "n": {"N": "1"}, "s": {"S": "é🙂"}}}),
        ("PutItem", {"TableName": table, "Item": key, "ConditionExpression": "attribute_not_exists(PK)"}),
        ("UpdateItem", {"TableName": table, "Key": key, "UpdateExpression": "ADD #n :one SET #t = :t",
                        "ExpressionAttributeNames": {"#n": "n", "#t": "t"},
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":t": {"BOOL": True}},
                        "ReturnValues": "ALL_NEW"}),
        ("UpdateItem", {"TableName": table, "Key": key, "UpdateExpression": "SET #n = = :x",
                        "ExpressionAttributeNames": {"#n": "n"}, "ExpressionAttributeValues": {":x": {"N": "1"}}}),
        ("TransactWriteItems", {"TransactItems": [
            {"Put": {"TableName": table, "Item": {"PK": {"S": "k"}, "SK": {"S": "MSG#1"}}}},
            {"ConditionCheck": {"TableName": table, "Key": key, "ConditionExpression": "#n > :big",
                                "ExpressionAttributeNames": {"#n": "n"},
                                "ExpressionAttributeValues": {":big": {"N": "9"}}}}]}),
        ("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}),
        ("Query", {"TableName": table, "KeyConditionExpression": "PK = :k",
                   "ExpressionAttributeValues": {":k": {"S": "k"}}, "Limit": 5}),
        ("BatchGetItem", {"RequestItems": {table: {"Keys": [key, {"PK": {"S": "k"}, "SK": {"S": "none"}}]}}}),
        ("DeleteItem", {"TableName": table, "Key": key, "ReturnValues": "ALL_OLD"}),
        ("GetItem", {"TableName": "no-such-table", "Key": key}),
    ]


def _answer(call, application: DomainDispatcherApplication, operation: str, body: dict) -> tuple[str, object]:
    environ = EnvironBuilder(path="/", method="POST", data=json.dumps(body), headers={
        "Host": "localhost:5000", "Content-Type": "application/x-amz-json-1.0", "Authorization": AUTHORIZATION,
        "X-Amz-Target": f"DynamoDB_20120810.{operation}"}).get_environ()
    answer, status, _headers = run_wsgi_app(lambda env, start: call(application, env, start), environ)
    text = b"".join(answer).decode()
    return status, json.loads(text) if text.startswith("{") else text


def _create(application: DomainDispatcherApplication, table: str) -> None:
    status, _ = _answer(DomainDispatcherApplication.__call__, application, "CreateTable", {
        "TableName": table, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"},
                                 {"AttributeName": "SK", "AttributeType": "S"}]})
    assert status == "200 OK"


@pytest.fixture
def application():
    with moto.mock_aws():
        yield DomainDispatcherApplication(create_backend_app)


def test_each_dynamodb_answer_is_moto_s_flask_answer(application) -> None:
    direct = _dynamodb_without_flask(DomainDispatcherApplication.__call__)
    _create(application, "through-flask")
    _create(application, "direct")
    statuses = []
    for (operation, through_flask), (_, straight) in zip(_operations("through-flask"), _operations("direct"),
                                                         strict=True):
        expected = _answer(DomainDispatcherApplication.__call__, application, operation, through_flask)
        got = _answer(direct, application, operation, straight)
        assert tuple(json.loads(json.dumps(got).replace("direct", "through-flask"))) == expected, operation
        statuses.append(expected[0])
    assert statuses.count("200 OK") == 6 and statuses.count("400 BAD REQUEST") == 4  # every kind of answer met


def test_other_requests_still_reach_moto_s_flask_apps(application) -> None:
    seen = []

    def through_flask(self, environ, start_response):
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    direct = _dynamodb_without_flask(through_flask)
    api = EnvironBuilder(path="/moto-api/data.json", method="GET").get_environ()
    streams = EnvironBuilder(path="/", method="POST", data="{}", headers={
        "X-Amz-Target": "DynamoDBStreams_20120810.ListStreams"}).get_environ()
    for environ in (api, streams):
        run_wsgi_app(lambda env, start: direct(application, env, start), environ)
    assert seen == ["/moto-api/data.json", "/"]
