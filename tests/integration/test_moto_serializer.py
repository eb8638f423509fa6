"""moto with `infra/local/moto_serializer.py` answers exactly as moto's own serializer does: randomised items with
attribute values of every type (strings, numbers, binary, the three sets, nested maps and lists, NULL, BOOL), read
back by GetItem, Query, BatchGetItem, TransactGetItems, UpdateItem's ALL_NEW and the stream's GetRecords, each
compared with the same request answered by moto's walker (`moto_serializer()`)."""
from __future__ import annotations

import random
import string

import boto3
import moto
import pytest
from botocore.config import Config

from infra.local.moto_serializer import moto_serializer

TABLE = "serializer-check"


def _value(rng: random.Random, depth: int = 0) -> dict:
    kinds = ["S", "N", "B", "SS", "NS", "BS", "NULL", "BOOL"] + (["M", "L"] if depth < 3 else [])
    kind = rng.choice(kinds)
    text = "".join(rng.choice(string.ascii_letters + "é漢🙂\n\"\\") for _ in range(rng.randint(0, 12)))
    if kind == "S":
        return {"S": text}
    if kind == "N":
        return {"N": rng.choice(["0", "-1", "3.25", "1e20", str(rng.randint(-10**12, 10**12))])}
    if kind == "B":
        return {"B": rng.randbytes(rng.randint(0, 20))}
    if kind == "SS":
        return {"SS": sorted({f"{text}{n}" for n in range(rng.randint(1, 4))})}
    if kind == "NS":
        return {"NS": sorted({str(rng.randint(0, 999)) for _ in range(rng.randint(1, 4))})}
    if kind == "BS":
        return {"BS": list({rng.randbytes(rng.randint(1, 6)) for _ in range(rng.randint(1, 4))})}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "M":
        return {"M": {f"k{n}": _value(rng, depth + 1) for n in range(rng.randint(0, 4))}}
    return {"L": [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]}


@pytest.fixture
def dynamodb():
    with moto.mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        description = client.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                  {"AttributeName": "SK", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        yield client, description["TableDescription"]["LatestStreamArn"]


def _both(call) -> tuple:
    fast = call()
    with moto_serializer():
        walked = call()
    for answer in (fast, walked):
        answer.pop("ResponseMetadata", None)
    return fast, walked


@pytest.mark.parametrize("seed", range(3))
def test_every_answer_is_what_motos_serializer_writes(dynamodb, seed):
    client, stream_arn = dynamodb
    rng = random.Random(seed)
    keys = []
    for n in range(30):
        key = {"PK": {"S": f"P#{n % 3}"}, "SK": {"S": f"S#{n:03d}"}}
        client.put_item(TableName=TABLE, Item={**key, **{f"a{i}": _value(rng) for i in range(rng.randint(0, 8))}})
        keys.append(key)
    calls = [
        lambda: client.get_item(TableName=TABLE, Key=keys[4]),
        lambda: client.query(TableName=TABLE, KeyConditionExpression="PK = :p",
                             ExpressionAttributeValues={":p": {"S": "P#1"}}, Limit=7),
        lambda: client.batch_get_item(RequestItems={TABLE: {"Keys": keys[:20]}}),
        lambda: client.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": key}}
                                                         for key in keys[20:25]]),
        lambda: client.update_item(TableName=TABLE, Key=keys[7], UpdateExpression="SET extra = :v",
                                   ExpressionAttributeValues={":v": _value(random.Random(seed))},
                                   ReturnValues="ALL_NEW"),
    ]
    for call in calls:
        fast, walked = _both(call)
        assert fast == walked
    streams = boto3.client("dynamodbstreams", region_name="us-east-1",
                           config=Config(account_id_endpoint_mode="disabled"))  # the endpoint moto serves
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    fast, walked = _both(lambda: streams.get_records(ShardIterator=iterator, Limit=100))
    fast.pop("NextShardIterator"), walked.pop("NextShardIterator")  # a new iterator per call
    assert fast == walked
    assert len(fast["Records"]) >= 30
