"""A Query on local AWS (moto with infra/local/moto_partitions.py) costs the same on a table of 1,000 and of
100,000 items: the work is counted as Python function calls made while boto3 sends the Query and moto answers it
(a count, not a time), for a table Query and a GSI Query of the same 20-item partition."""
from __future__ import annotations

import sys

import boto3
import moto
from moto.dynamodb.models import dynamodb_backends

TABLE = "flatness-check"
PARTITION_ITEMS = 20
MAX_RATIO = 1.5


def _fill(backend_table, size: int) -> None:
    for n in range(size - PARTITION_ITEMS):
        backend_table.put_item({"PK": {"S": f"U#{n % 997}"}, "SK": {"S": f"S#{n:06d}"},
                                "GSI1PK": {"S": f"G#{n % 991}"}, "GSI1SK": {"S": f"{n:06d}"}})
    for n in range(PARTITION_ITEMS):
        backend_table.put_item({"PK": {"S": "U#asked"}, "SK": {"S": f"S#{n:06d}"},
                                "GSI1PK": {"S": "G#asked"}, "GSI1SK": {"S": f"{n:06d}"}})


def _calls(run) -> int:
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


def _query_costs(size: int) -> tuple[int, int]:
    with moto.mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"}
                                  for name in ("PK", "SK", "GSI1PK", "GSI1SK")],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                                                   {"AttributeName": "GSI1SK", "KeyType": "RANGE"}]}])
        _fill(dynamodb_backends["123456789012"]["us-east-1"].get_table(TABLE), size)

        def table_query():
            answer = client.query(TableName=TABLE, KeyConditionExpression="PK = :p",
                                  ExpressionAttributeValues={":p": {"S": "U#asked"}}, Limit=10)
            assert answer["Count"] == 10

        def index_query():
            answer = client.query(TableName=TABLE, IndexName="GSI1", KeyConditionExpression="GSI1PK = :p",
                                  ExpressionAttributeValues={":p": {"S": "G#asked"}})
            assert answer["Count"] == PARTITION_ITEMS

        for warm in (table_query, index_query):  # the first query of an index builds its map: once per table
            warm()
        return _calls(table_query), _calls(index_query)


def test_a_query_costs_the_same_on_a_table_a_hundred_times_bigger():
    small_table, small_index = _query_costs(1_000)
    big_table, big_index = _query_costs(100_000)
    assert big_table / small_table <= MAX_RATIO, (small_table, big_table)
    assert big_index / small_index <= MAX_RATIO, (small_index, big_index)
