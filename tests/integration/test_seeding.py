"""tests/support/seeding.py stores each item exactly as its `save()` would, readable by the app's Queries, and
leaves no stream record (the delivery has nothing to do for seeded data)."""
from __future__ import annotations

import time

from chalicelib.db import keys
from chalicelib.db.models import Friendship, Item, Message
from tests.support import seeding
from tests.support.stream_pump import table_stream


def _stored(pk: str, sk: str) -> dict:
    from chalicelib import aws

    item = aws.client("dynamodb").get_item(TableName=Item.Meta.table_name, Key={"PK": {"S": pk}, "SK": {"S": sk}},
                                           ConsistentRead=True)["Item"]
    return {name: value for name, value in item.items() if name != "PK"}


def test_a_seeded_item_is_the_item_save_stores_and_leaves_no_stream_record(aws):
    now = time.time()

    def message(conversation: str) -> Message:
        return Message(conversation, keys.message_sk(1), seq=1, msg_id=1, msg_client_id=1, form_id=2, to_id=3,
                       channel_type=1, msg_type=1, content="m1", send_time=now)

    saved, seeded = keys.private_conversation(2, 3), keys.private_conversation(2, 4)
    records: list[dict] = []
    reader = table_stream(lambda event, _: records.extend(event["Records"]), passes=lambda record: True)
    message(saved).save()
    reader.poll()
    assert len(records) == 1
    seeding.store([message(seeded), Friendship(keys.user_pk(7), keys.friend_sk(8), row_id=1, form_id=7, to_id=8,
                                               created_at=now, top_time=now)])
    reader.poll()
    assert len(records) == 1
    assert _stored(seeded, keys.message_sk(1)) == _stored(saved, keys.message_sk(1))
    assert [type(item) for item in Item.query(seeded)] == [Message]
    assert [type(item) for item in Item.query(keys.user_pk(7))] == [Friendship]
