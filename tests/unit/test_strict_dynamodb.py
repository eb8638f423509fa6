"""Each rule of the strict request check refuses its bad request, and accepts the good one beside it."""
from __future__ import annotations

import os

import pytest
from botocore.exceptions import ClientError

from infra.local.strict_dynamodb import TableKeys, refusals, take_refused

KEYS = TableKeys("PK", "SK", frozenset({"GSI1PK", "GSI1SK"}), frozenset({"GSI1"}))


def keys_of(table: str) -> TableKeys | None:
    return KEYS if table == "t" else None


def key(pk: str = "U#1", sk: str = "PROFILE") -> dict:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def update(**extra) -> dict:
    return {"TableName": "t", "Key": key(), "UpdateExpression": "SET #a = :a",
            "ExpressionAttributeNames": {"#a": "a"}, "ExpressionAttributeValues": {":a": {"N": "1"}}, **extra}


def check(action: str, request: dict) -> list[str]:
    return refusals(action, request, keys_of)


def test_a_well_formed_update_passes():
    assert check("UpdateItem", update()) == []


def test_unused_and_missing_expression_names_and_values():
    assert "unused" in check("UpdateItem", update(ExpressionAttributeValues={":a": {"N": "1"}, ":b": {"N": "2"}}))[0]
    assert "unused" in check("UpdateItem", update(ExpressionAttributeNames={"#a": "a", "#b": "b"}))[0]
    assert "not defined" in check("UpdateItem", update(ConditionExpression="#c = :c"))[0]


def test_unused_value_inside_a_transaction_part():
    part = {"Update": update(ExpressionAttributeValues={":a": {"N": "1"}, ":zzz": {"S": "x"}})}
    assert any("unused" in problem for problem in check("TransactWriteItems", {"TransactItems": [part]}))


def test_batch_write_over_25_or_with_duplicate_keys():
    puts = [{"PutRequest": {"Item": key(sk=f"S#{index}")}} for index in range(26)]
    assert "Too many items" in check("BatchWriteItem", {"RequestItems": {"t": puts}})[0]
    assert check("BatchWriteItem", {"RequestItems": {"t": puts[:25]}}) == []
    twice = [{"PutRequest": {"Item": key()}}, {"DeleteRequest": {"Key": key()}}]
    assert "duplicates" in check("BatchWriteItem", {"RequestItems": {"t": twice}})[0]


def test_empty_sets_are_refused():
    for kind in ("SS", "NS", "BS"):
        assert check("UpdateItem", update(ExpressionAttributeValues={":a": {kind: []}}))
    assert check("PutItem", {"TableName": "t", "Item": {**key(), "tags": {"SS": []}}})


def test_numbers_over_38_significant_digits_or_out_of_range():
    assert check("UpdateItem", update(ExpressionAttributeValues={":a": {"N": "1" * 39}}))
    assert check("UpdateItem", update(ExpressionAttributeValues={":a": {"N": "1" * 38 + "000"}})) == []
    assert check("UpdateItem", update(ExpressionAttributeValues={":a": {"N": "1E126"}}))
    assert check("PutItem", {"TableName": "t", "Item": {**key(), "n": {"L": [{"N": "9" * 40}]}}})


def test_transactions_over_100_actions_or_touching_one_item_twice():
    many = [{"ConditionCheck": {"TableName": "t", "Key": key(sk=f"S#{index}"), "ConditionExpression":
                                "attribute_exists(PK)"}} for index in range(101)]
    assert any("100" in problem for problem in check("TransactWriteItems", {"TransactItems": many}))
    twice = [{"Update": update()}, {"Delete": {"TableName": "t", "Key": key()}}]
    assert check("TransactWriteItems", {"TransactItems": twice}) == [
        "Transaction request cannot include multiple operations on one item"]


def test_items_over_400_kb():
    assert check("PutItem", {"TableName": "t", "Item": {**key(), "blob": {"S": "x" * (400 * 1024)}}})
    assert check("PutItem", {"TableName": "t", "Item": {**key(), "blob": {"S": "x" * (390 * 1024)}}}) == []


def test_key_attributes_over_their_limit_or_empty():
    assert check("GetItem", {"TableName": "t", "Key": key(pk="p" * 2049)})
    assert check("GetItem", {"TableName": "t", "Key": key(pk="p" * 2048)}) == []
    assert check("GetItem", {"TableName": "t", "Key": key(sk="s" * 1025)})
    assert check("GetItem", {"TableName": "t", "Key": key(pk="")})
    assert check("PutItem", {"TableName": "t", "Item": {**key(), "GSI1PK": {"S": ""}}})


def test_consistent_read_on_a_global_index():
    query = {"TableName": "t", "IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :p",
             "ExpressionAttributeValues": {":p": {"S": "x"}}}
    assert check("Query", query) == []
    assert check("Query", {**query, "ConsistentRead": True}) == [
        "Consistent reads are not supported on global secondary indexes"]


@pytest.mark.usefixtures("aws")
def test_moto_answers_a_refused_request_with_a_validation_error_and_records_it():
    from chalicelib import aws

    client = aws.client("dynamodb")
    with pytest.raises(ClientError) as refused:
        client.update_item(TableName=os.environ["TABLE_NAME"], Key=key(), UpdateExpression="SET #a = :a",
                           ExpressionAttributeNames={"#a": "a"},
                           ExpressionAttributeValues={":a": {"N": "1"}, ":unused": {"N": "2"}})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert len(take_refused()) == 1  # taken, so this deliberate refusal does not fail the test
