"""The isolation tests/conftest.py gives moto (infra/local/moto_isolation.py): a failed transaction leaves every
item it named as it was, and nothing else changes, without copying the table."""
from __future__ import annotations

import os
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table

from chalicelib import aws as aws_clients

TABLE = os.environ["TABLE_NAME"]


def _key(pk: str, sk: str = "A") -> dict:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _put(client, pk: str, note: str) -> None:
    client.put_item(TableName=TABLE, Item={**_key(pk), "note": {"S": note}})


def _notes(client, *pks: str) -> dict[str, str | None]:
    found = {}
    for pk in pks:
        item = client.get_item(TableName=TABLE, Key=_key(pk), ConsistentRead=True).get("Item")
        found[pk] = item["note"]["S"] if item else None
    return found


def _transaction(condition_on_last: str) -> list[dict]:
    return [
        {"Put": {"TableName": TABLE, "Item": {**_key("new"), "note": {"S": "written"}}}},
        {"Update": {"TableName": TABLE, "Key": _key("updated"), "UpdateExpression": "SET note = :n",
                    "ExpressionAttributeValues": {":n": {"S": "changed"}}}},
        {"Delete": {"TableName": TABLE, "Key": _key("deleted")}},
        {"ConditionCheck": {"TableName": TABLE, "Key": _key("guard"), "ConditionExpression": condition_on_last}},
    ]


@pytest.fixture
def dynamodb(aws):
    client = aws_clients.client("dynamodb")
    for pk in ("updated", "deleted", "guard", "bystander"):
        _put(client, pk, "before")
    return client


def test_failed_transaction_restores_every_item_it_named_and_nothing_else(dynamodb):
    with pytest.raises(ClientError) as failure:
        dynamodb.transact_write_items(TransactItems=_transaction("attribute_not_exists(PK)"))

    assert failure.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _notes(dynamodb, "new", "updated", "deleted", "guard", "bystander") == {
        "new": None, "updated": "before", "deleted": "before", "guard": "before", "bystander": "before"}


def test_successful_transaction_applies_every_part(dynamodb):
    dynamodb.transact_write_items(TransactItems=_transaction("attribute_exists(PK)"))

    assert _notes(dynamodb, "new", "updated", "deleted", "guard", "bystander") == {
        "new": "written", "updated": "changed", "deleted": None, "guard": "before", "bystander": "before"}


def test_transaction_never_copies_a_table(dynamodb):
    import copy

    real_deepcopy = copy.deepcopy
    with mock.patch("copy.deepcopy", side_effect=real_deepcopy) as deepcopy:
        with pytest.raises(ClientError):
            dynamodb.transact_write_items(TransactItems=_transaction("attribute_not_exists(PK)"))

    assert deepcopy.call_count > 0  # the named items were saved
    assert not [call for call in deepcopy.call_args_list if isinstance(call.args[0], Table)]



def test_failed_transaction_leaves_nothing_in_the_tables_stream(dynamodb):
    """Real DynamoDB records only committed writes; moto records each part of a transaction as it applies it."""
    from tests.support.stream_pump import table_stream

    seen: list[tuple[str, str]] = []
    reader = table_stream(lambda event, _: seen.extend(
        (record["eventName"], record["dynamodb"]["Keys"]["PK"]["S"]) for record in event["Records"]),
        passes=lambda record: True)  # every record, not only those the delivery's filter passes
    reader.poll()
    seen.clear()
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=_transaction("attribute_not_exists(PK)"))
    _put(dynamodb, "bystander", "after")
    reader.poll()

    assert seen == [("MODIFY", "bystander")]


def test_an_update_answers_the_item_as_it_left_it_while_another_update_of_the_item_runs(dynamodb):
    """Two increments of one counter, the second run while the first's answer is being built (moto's handler builds
    it from the table's live item after the backend applied the update): each answers its own value, as DynamoDB
    does. Without the handler's lock the first one answered 2 as well."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    updated, second_done = threading.Event(), threading.Event()
    first = threading.current_thread()
    apply_update = DynamoDBBackend.update_item

    def update_then_let_the_second_run(self, *args, **kwargs):
        item = apply_update(self, *args, **kwargs)
        if threading.current_thread() is first:
            updated.set()
            second_done.wait(timeout=0.5)  # the second update has run here unless the first still holds the item
        return item

    def increment() -> int:
        answer = dynamodb.update_item(TableName=TABLE, Key=_key("counter"), UpdateExpression="ADD n :one",
                                      ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="ALL_NEW")
        return int(answer["Attributes"]["n"]["N"])

    answers: list[int] = []

    def second() -> None:
        updated.wait(timeout=5)
        answers.append(increment())
        second_done.set()

    with mock.patch.object(DynamoDBBackend, "update_item", update_then_let_the_second_run):
        other = threading.Thread(target=second)
        other.start()
        answers.insert(0, increment())
        other.join()

    assert answers == [1, 2]
