"""Private messaging: send, idempotency, history, recall, video, the bot, pending delivery."""
from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.db import connections, conversations, keys, pending
from chalicelib.db import messages as messages_db
from tests.support.factories import befriend, connect, first_ping, get, online, post_form, register
from tests.support.fakes import throttled

BOT = 1




def send(client, sender, to_id, text="hello", client_id=None, **extra):
    fields = {"msg_client_id": client_id or time.time_ns() // 1000 % 10**15, "to_id": to_id, "msg_type": 1,
              "message": text, "channel_type": 1, **extra}
    return post_form(client, "/messages/private", fields, sender["token"]).json_body


@pytest.fixture
def pair(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    return a, b


def stored(a, b):
    return messages_db.history(keys.private_conversation(a["id"], b["id"]), None, 1000)


def test_send_persists_then_pushes_to_every_connection_of_the_recipient_only(client, sender, pair):
    a, b = pair
    online(b["id"], "b1")
    online(b["id"], "b2")
    online(a["id"], "a1")
    answer = send(client, a, b["id"], "hi there")
    assert answer["code"] == 200
    data = answer["data"]
    assert (data["form_id"], data["to_id"], data["message"], data["id"], data["channel_type"]) == (
        a["id"], b["id"], "hi there", 1, 1)
    assert data["msg_id"] < 2**53 and len(data["send_time"]) == 19
    for connection in ("b1", "b2"):
        frame = sender.frames_for(connection)[-1]
        assert frame["msg_code"] == 200 and frame["message"] == "hi there" and frame["id"] == 1
        assert frame["users"] == {"id": a["id"], "name": a["name"], "avatar": a["avatar"]}
    # the sender's client draws its bubble from the answer; an echo would look like an incoming message to it
    assert [f for f in sender.frames_for("a1") if f["msg_code"] == 200] == []
    assert [m.content for m in stored(a, b)] == ["hi there"]


def test_retry_with_the_same_client_id_returns_the_original(client, sender, pair):
    a, b = pair
    online(b["id"], "b1")
    first = send(client, a, b["id"], "once", client_id=777)
    again = send(client, a, b["id"], "once", client_id=777)
    assert first["data"] == again["data"]
    assert len(stored(a, b)) == 1
    assert len(sender.frames_for("b1")) == 1


def test_non_friends_cannot_send_and_nothing_is_stored(client):
    a, b = register(client), register(client)
    answer = send(client, a, b["id"])
    assert answer["code"] == 1003
    assert stored(a, b) == []


@pytest.mark.parametrize("fields, message", [
    ({"channel_type": 3}, "channel_type must be one of 1, 2"),
    ({"msg_type": 0}, "msg_type must be one of 1, 2, 3, 4"),
    ({"msg_type": 99}, "msg_type must be one of 1, 2, 3, 4"),
    ({"msg_type": 5}, "msg_type must be one of 1, 2, 3, 4"),
    ({"msg_client_id": ""}, "msg_client_id is required"),
    ({"msg_client_id": "12abc"}, "msg_client_id must be an integer"),
    ({"to_id": "bob"}, "to_id must be an integer"),
    ({"message": "x" * 5001}, "message must be at most 5000 characters"),
    ({"message": ""}, "message is required"),
    ({"data": "d" * 2049}, "data must be at most 2048 characters"),
])
def test_bad_input_is_refused_and_stores_nothing(client, pair, fields, message):
    a, b = pair
    base = {"msg_client_id": 5, "to_id": b["id"], "msg_type": 1, "message": "ok", "channel_type": 1}
    answer = post_form(client, "/messages/private", {**base, **fields}, a["token"]).json_body
    assert answer == {"code": 1000, "message": message, "data": {}}
    assert stored(a, b) == []


def test_two_devices_sending_concurrently_get_a_gapless_sequence(client, sender, pair):
    from chalicelib.services import messages

    a, b = pair
    online(b["id"], "b1")

    def burst(device):
        return [messages.send(a["id"], to_id=b["id"], channel_type=1, msg_type=1, message=f"{device}-{n}",
                              data=None, msg_client_id=device * 1000 + n)["id"] for n in range(50)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        ids = sum(pool.map(burst, [1, 2]), [])
    assert sorted(ids) == list(range(1, 101))
    assert sorted(m.seq for m in stored(a, b)) == list(range(1, 101))
    client.pump()
    assert [frame["id"] for frame in sender.frames_for("b1")] == list(range(1, 101))  # delivered in id order


def test_the_same_client_id_five_times_at_once_makes_one_message(client, pair):
    from chalicelib.services import messages

    a, b = pair
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: messages.send(a["id"], to_id=b["id"], channel_type=1, msg_type=1,
                                                        message="dup", data=None, msg_client_id=4242), range(5)))
    assert len({answer["id"] for answer in answers}) == 1
    assert len(stored(a, b)) == 1


def test_history_cursor_walk_returns_each_message_once_in_order(client, pair):
    from chalicelib.services import messages

    a, b = pair
    for n in range(250):
        messages.send(a["id"], to_id=b["id"], channel_type=1, msg_type=1, message=f"m{n}", data=None,
                      msg_client_id=n + 1)
    seen, cursor = [], ""
    while True:
        page = get(client, "/messages", b["token"], to_id=a["id"], page=cursor, pageSize=40).json_body["data"]
        assert page["mate"]["total"] == 250
        if not page["list"]:
            break
        ids = [item["id"] for item in page["list"]]
        assert ids == sorted(ids)
        seen = ids + seen
        cursor = ids[0]
    assert seen == list(range(1, 251))


def test_my_own_newest_message_leaves_nothing_unread(client, pair):
    """Replying means having read: while the newest message is mine, my session counts nothing unread (my read
    position is not written on a send; the list reads the head's sender)."""
    a, b = pair

    def unread(user, peer):
        rows = get(client, "/sessions", user["token"]).json_body["data"]
        return next(s for s in rows if s["to_id"] == peer["id"])["unread"]

    send(client, a, b["id"], "one")
    send(client, a, b["id"], "two")
    assert (unread(a, b), unread(b, a)) == (0, 2)
    send(client, b, a["id"], "back")
    assert unread(b, a) == 0


def test_history_shape_and_read_position(client, pair):
    a, b = pair
    send(client, a, b["id"], "one")
    send(client, a, b["id"], "two")
    rows = get(client, "/sessions", b["token"]).json_body["data"]
    assert next(s for s in rows if s["to_id"] == a["id"])["unread"] == 2
    page = get(client, "/messages", b["token"], to_id=a["id"], page="", pageSize=20).json_body["data"]
    assert page["mate"] == {"pageSize": 20, "page": "", "total": 2}
    item = page["list"][0]
    assert (item["msg"], item["form_id"], item["Users"]["id"], item["Users"]["name"]) == (
        "one", a["id"], a["id"], a["name"])
    rows = get(client, "/sessions", b["token"]).json_body["data"]
    assert next(s for s in rows if s["to_id"] == a["id"])["unread"] == 0


def test_history_page_size_is_capped_and_empty_history_has_a_list(client, pair):
    a, b = pair
    empty = get(client, "/messages", a["token"], to_id=b["id"], pageSize=1000).json_body["data"]
    assert empty == {"list": [], "mate": {"pageSize": 100, "page": "", "total": 0}}
    assert get(client, "/messages", a["token"], to_id=b["id"], pageSize="x").json_body["code"] == 1000
    assert get(client, "/messages", a["token"]).json_body["message"] == "to_id is required"


def test_history_is_only_for_the_two_parties(client, pair):
    a, b = pair
    c = register(client)
    send(client, a, b["id"], "secret")
    assert get(client, "/messages", c["token"], to_id=a["id"]).json_body["data"]["list"] == []


def test_recall_rules(client, sender, pair):
    a, b = pair
    online(b["id"], "b1")
    seq = send(client, a, b["id"], "oops")["data"]["id"]
    assert post_form(client, "/messages/recall", {"to_id": a["id"], "id": seq}, b["token"]).json_body["code"] == 1003
    assert post_form(client, "/messages/recall", {"to_id": b["id"], "id": seq}, a["token"]).json_body["code"] == 200
    assert sender.frames_for("b1")[-1]["msg_code"] == 1007
    assert post_form(client, "/messages/recall", {"to_id": b["id"], "id": seq}, a["token"]).json_body["code"] == 200
    for viewer, peer in ((b, a), (a, b)):
        (item,) = get(client, "/messages", viewer["token"], to_id=peer["id"]).json_body["data"]["list"]
        assert (item["recalled"], item["msg_type"], item["recalled_msg_type"]) == (1, 6, 1)
        assert item["msg"] == f"{a['name']} 撤回了一条消息" and "oops" not in str(item)
        preview = next(s for s in get(client, "/sessions", viewer["token"]).json_body["data"]
                       if s["to_id"] == peer["id"])
        assert preview["last_message"]["content"] == f"{a['name']} 撤回了一条消息"
        assert (preview["last_message"]["msg_type"], preview["last_message"]["recalled"],
                preview["last_message"]["recalled_msg_type"]) == (6, 1, 1)
    assert post_form(client, "/messages/recall", {"to_id": b["id"], "id": 999}, a["token"]).json_body["code"] == 1000


def test_recall_racing_a_send_never_leaves_the_recalled_text_in_the_preview(client, pair):
    """The recall reads the head, then a send moves it on before the recall writes: the preview must be the new
    message (or the notice when the recall won), never the recalled text."""
    from chalicelib.services import messages

    a, b = pair
    for round_ in range(8):
        seq = send(client, a, b["id"], f"secret {round_}")["data"]["id"]
        with ThreadPoolExecutor(2) as pool:  # the services directly: chalice's test client is not thread-safe
            recalled = pool.submit(messages.recall, a["id"], to_id=b["id"], seq=seq)
            newer = pool.submit(messages.send, a["id"], to_id=b["id"], channel_type=1, msg_type=1,
                                message=f"after {round_}", data=None, msg_client_id=1000 + round_)
            assert recalled.result()["recalled"] == 1 and newer.result()["message"] == f"after {round_}"
        preview = next(s for s in get(client, "/sessions", b["token"]).json_body["data"] if s["to_id"] == a["id"])
        assert preview["last_message"]["content"] == f"after {round_}"
        history = get(client, "/messages", b["token"], to_id=a["id"]).json_body["data"]["list"]
        assert [m["msg"] for m in history[-2:]] == [f"{a['name']} 撤回了一条消息", f"after {round_}"]


def test_recall_decided_on_a_stale_head_recalls_only_the_message(client, pair):
    """The head moved on between the recall's read and its write: the transaction's head condition fails and the
    message alone is recalled; the newer preview stays."""
    from chalicelib.db import conversations
    from chalicelib.db import messages as messages_db

    a, b = pair
    first = send(client, a, b["id"], "first")["data"]["id"]
    send(client, a, b["id"], "second")
    conversation = keys.private_conversation(a["id"], b["id"])
    stale = messages_db.recall_context(conversation, first, a["id"]).message
    assert messages_db.recall(stale, time.time(), "a 撤回了一条消息", recalled_by=a["id"], is_last=True,
                              sender_id=a["id"], not_before=None)
    assert messages_db.get(conversation, first).recalled_at > 0
    head = conversations.head(conversation)
    assert (head.last_content, head.last_msg_type, head.last_recalled_msg_type) == ("second", 1, 0)
    assert not messages_db.recall(stale, time.time(), "again", recalled_by=a["id"], is_last=True,
                                  sender_id=a["id"], not_before=None)


def test_recall_after_the_window_is_refused(client, pair, monkeypatch):
    from chalicelib.config import reset_caches

    a, b = pair
    seq = send(client, a, b["id"], "old")["data"]["id"]
    monkeypatch.setenv("RECALL_WINDOW_SECONDS", "0")
    reset_caches()
    time.sleep(0.01)
    try:
        answer = post_form(client, "/messages/recall", {"to_id": b["id"], "id": seq}, a["token"]).json_body
    finally:
        monkeypatch.undo()
        reset_caches()
    assert answer["code"] == 1000 and "within 0 seconds" in answer["message"], answer


def test_offline_recipient_gets_messages_in_order_once_after_connecting(client, sender, pair):
    a, b = pair
    for text in ("1", "2", "3"):
        send(client, a, b["id"], text)
    connect(b["id"], "b-late")
    first_ping("b-late")
    first_ping("b-late")
    chats = [f["message"] for f in sender.frames_for("b-late") if f["msg_code"] == 200 and f["form_id"] == a["id"]]
    assert chats == ["1", "2", "3"]


def test_frames_keep_awkward_text_intact(client, sender, pair):
    a, b = pair
    online(b["id"], "b1")
    text = 'quote " backslash \\ newline \n emoji 🎉 <b>'
    send(client, a, b["id"], text)
    assert sender.frames_for("b1")[-1]["message"] == text


def test_video_signalling(client, sender, pair):
    a, b = pair
    c = register(client)
    assert post_form(client, "/messages/video", {"to_id": b["id"]}, a["token"]).json_body["code"] == 1000
    online(b["id"], "b1")
    sdp = json.dumps({"sdp": "v=0..."})
    answer = post_form(client, "/messages/video", {"to_id": b["id"], "type": "invite", "data": sdp}, a["token"])
    assert answer.json_body["code"] == 200
    frame = sender.frames_for("b1")[-1]
    assert frame["msg_code"] == 600 and frame["type"] == "invite" and frame["data"] == sdp
    assert post_form(client, "/messages/video", {"to_id": b["id"], "type": "dance"}, a["token"]
                     ).json_body["code"] == 1000
    assert post_form(client, "/messages/video", {"to_id": c["id"]}, a["token"]).json_body["code"] == 1003


def test_the_bot_greets_and_answers_with_per_user_memory(client, sender):
    a, b = register(client), register(client)
    greetings = get(client, "/messages", a["token"], to_id=BOT).json_body["data"]["list"]
    assert [m["msg"] for m in greetings] == ["您好呀~ 我是机器人~🥰", "我们来玩个游戏吧！你问我答~！👋"]
    online(a["id"], "a1")
    send(client, a, BOT, "天气:晴")
    send(client, a, BOT, "天气")
    send(client, b, BOT, "天气")
    send(client, a, BOT, "a:b:c")
    replies = [f["message"] for f in sender.frames_for("a1") if f["form_id"] == BOT]
    assert replies == ["很不错就是这样~", "晴", "格式不对呀~"]
    b_history = get(client, "/messages", b["token"], to_id=BOT).json_body["data"]["list"]
    assert b_history[-1]["msg"].startswith("没明白您的意思")


def test_messages_to_humans_never_reach_the_bot(client, pair):
    a, b = pair
    send(client, a, b["id"], "天气")
    assert [m["msg"] for m in get(client, "/messages", a["token"], to_id=b["id"]).json_body["data"]["list"]] == [
        "天气"]


def test_a_head_write_repeated_after_its_answer_was_lost_leaves_one_message(client, sender, pair, monkeypatch):
    """The head write commits and its answer is lost (here: a throttling error after the write): botocore repeats
    it, which takes a second sequence for the same message. The claim names the second; the first stays empty,
    is not delivered and not stored."""
    from moto.dynamodb.exceptions import DynamodbException
    from moto.dynamodb.models import DynamoDBBackend

    a, b = pair
    online(b["id"], "b1")
    original = DynamoDBBackend.update_item
    conversation = keys.private_conversation(a["id"], b["id"])
    lost = []

    def commit_then_lose_the_answer(self, table_name, key, **kwargs):
        result = original(self, table_name, key, **kwargs)
        if not lost and key["PK"]["S"] == conversation:
            lost.append(True)
            raise DynamodbException("ThrottlingException", "the answer was lost")
        return result

    monkeypatch.setattr(DynamoDBBackend, "update_item", commit_then_lose_the_answer)
    answer = send(client, a, b["id"], "lost answer")
    assert answer["code"] == 200 and lost
    assert answer["data"]["id"] == 2
    assert [(f["id"], f["message"]) for f in sender.frames_for("b1")] == [(2, "lost answer")]
    assert [m.seq for m in stored(a, b)] == [2]


# what the delivery function's role may do on the table (infra/stacks/philatelic_stack.py DELIVERY_TABLE_ACTIONS)
DELIVERY_GRANTS = {"GetItem", "PutItem", "Query", "BatchGetItem", "BatchWriteItem", "UpdateItem", "DeleteItem"}


def test_a_send_stopped_after_its_head_write_is_finished_by_the_delivery(client, sender, pair, monkeypatch, units):
    """The request fails after the commit point (the claim's write is throttled beyond retries: 503). The delivery
    takes the claim and writes the history item, the peer gets the message once, and the client's retry with the
    same msg_client_id answers it without a second message."""
    a, b = pair
    online(b["id"], "b1")
    fields = {"msg_client_id": 77, "to_id": b["id"], "msg_type": 1, "message": "hi", "channel_type": 1}
    save = messages_db.ClientMessageClaim.save
    calls = []

    def throttled_once(*args, **kwargs):  # the sender's write; the delivery's goes through
        calls.append(1)
        return throttled() if len(calls) == 1 else save(*args, **kwargs)

    monkeypatch.setattr(messages_db.ClientMessageClaim, "save", throttled_once)
    failed = post_form(client, "/messages/private", fields, a["token"])
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
    assert [m.content for m in stored(a, b)] == ["hi"]  # written by the delivery
    assert {"PutItem", "BatchGetItem"} <= set(units["delivery"].by_call) <= DELIVERY_GRANTS
    again = post_form(client, "/messages/private", fields, a["token"]).json_body
    assert again["code"] == 200 and again["data"]["id"] == 1
    assert [f["message"] for f in sender.frames_for("b1")] == ["hi"]
    assert [m.seq for m in stored(a, b)] == [1]


def test_a_delivery_that_finishes_a_send_before_its_request_does_leaves_one_message(client, sender, pair,
                                                                                  deliver, monkeypatch):
    """The delivery reads the head write before the request takes its claim (a slow request, a fast stream): it
    takes the claim and writes the history item itself; the request's own claim and write then find exactly that
    and answer the message, which was pushed and stored once."""
    a, b = pair
    online(b["id"], "b1")
    claim = messages_db.claim
    raced = []

    def delivered_first(message):  # the request's claim; the delivery's own, inside it, goes straight through
        if not raced:
            raced.append("delivering")
            raced[0] = deliver()
            assert [f["message"] for f in sender.frames_for("b1")] == ["raced"]
            assert [m.content for m in stored(a, b)] == ["raced"]  # written by the delivery
        return claim(message)

    monkeypatch.setattr(messages_db, "claim", delivered_first)
    answer = send(client, a, b["id"], "raced", client_id=91)
    assert raced and raced[0] >= 1
    assert answer["code"] == 200 and answer["data"]["id"] == 1
    assert [(f["id"], f["message"]) for f in sender.frames_for("b1")] == [(1, "raced")]
    assert [(m.seq, m.msg_id) for m in stored(a, b)] == [(1, answer["data"]["msg_id"])]


def test_a_retry_between_a_claim_and_its_history_item_is_asked_to_come_back_and_then_answered(client, sender,
                                                                                              pair, monkeypatch):
    """The original took the sequence and the claim and has not written the history item yet: a retry of its
    client id cannot answer a message it cannot read, so it is refused as busy (503 on the wire) and writes
    nothing; once the history item is there, the retry answers the original."""
    from chalicelib.aws import Busy
    from chalicelib.services import messages as messages_service

    a, b = pair
    fields = {"msg_client_id": 92, "to_id": b["id"], "msg_type": 1, "message": "slow", "channel_type": 1}
    store = messages_db.store
    retries = []

    def retried_before_the_write(message):
        head = conversations.head(message.conversation, consistent=True)
        with pytest.raises(Busy):
            messages_service.send(a["id"], to_id=b["id"], channel_type=1, msg_type=1, message="slow", data=None,
                                  msg_client_id=92)
        retries.append(conversations.head(message.conversation, consistent=True) == head)
        store(message)

    monkeypatch.setattr(messages_db, "store", retried_before_the_write)
    original = post_form(client, "/messages/private", fields, a["token"]).json_body
    assert original["code"] == 200 and original["data"]["id"] == 1
    assert retries == [True]  # the refused retry wrote nothing to the conversation
    again = post_form(client, "/messages/private", fields, a["token"]).json_body
    assert again["data"] == original["data"]
    assert [m.seq for m in stored(a, b)] == [1]


def test_two_sends_of_one_client_id_that_both_missed_the_claim_make_one_message(client, sender, pair, monkeypatch):
    """Both read no claim (a retry racing the original): each takes a sequence, one takes the claim, and the other
    answers the message that holds it. Its sequence stays empty: not delivered, not in history."""
    a, b = pair
    online(b["id"], "b1")
    read = messages_db.send_context
    monkeypatch.setattr(messages_db, "send_context",
                        lambda *args, **kwargs: dataclasses.replace(read(*args, **kwargs), claimed=None))
    fields = {"msg_client_id": 78, "to_id": b["id"], "msg_type": 1, "message": "once", "channel_type": 1}
    first, second = (post_form(client, "/messages/private", fields, a["token"]).json_body for _ in range(2))
    assert first["data"]["id"] == second["data"]["id"] == 1
    assert first["data"]["msg_id"] == second["data"]["msg_id"]
    assert [f["id"] for f in sender.frames_for("b1")] == [1]
    assert [m.seq for m in stored(a, b)] == [1]
    assert conversations.head(keys.private_conversation(a["id"], b["id"])).last_seq == 2


def test_a_duplicate_that_meets_the_claim_before_the_history_item_reads_again_and_answers_the_original(
        client, sender, pair, monkeypatch):
    """Two sends of one client id at once: the loser finds the winner's claim while the winner is still writing the
    history item. Its first read finds nothing; it reads again after the retrying's pause and answers the winner's
    message (not 503), writing nothing of its own."""
    a, b = pair
    fields = {"msg_client_id": 93, "to_id": b["id"], "msg_type": 1, "message": "twice", "channel_type": 1}
    original = post_form(client, "/messages/private", fields, a["token"]).json_body
    read = messages_db.get
    reads = []

    def missing_on_the_first_read(conversation, seq):
        reads.append(seq)
        return None if len(reads) == 1 else read(conversation, seq)

    monkeypatch.setattr(messages_db, "get", missing_on_the_first_read)
    monkeypatch.setattr(messages_db, "send_context",
                        lambda *args, _read=messages_db.send_context, **kwargs: dataclasses.replace(
                            _read(*args, **kwargs), claimed=None))  # it raced past the claim check
    again = post_form(client, "/messages/private", fields, a["token"]).json_body
    assert again == original
    assert reads == [1, 1]
    assert [m.seq for m in stored(a, b)] == [1]


def test_throttling_of_the_head_write_beyond_retries_answers_503_and_stores_nothing(client, sender, pair,
                                                                                      monkeypatch):
    a, b = pair
    with monkeypatch.context() as patched:
        patched.setattr(messages_db.Conversation, "update", throttled)
        response = post_form(client, "/messages/private", {"msg_client_id": 77, "to_id": b["id"], "msg_type": 1,
                                                           "message": "hi", "channel_type": 1}, a["token"])
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.json_body == {"code": 503, "message": "the service is busy, please retry shortly", "data": {}}
    assert stored(a, b) == [] and sender.sent == []

    again = send(client, a, b["id"], "hi", client_id=77)
    assert again["code"] == 200 and [m.content for m in stored(a, b)] == ["hi"]


def test_a_committed_send_is_answered_and_delivered_by_a_retry_when_the_connection_lookup_fails(
        client, sender, pair, monkeypatch):
    a, b = pair
    online(b["id"], "b1")
    with monkeypatch.context() as patched:
        patched.setattr(connections, "reach", throttled)
        answer = send(client, a, b["id"], "stored anyway")  # its delivery fails and stays in the stream
    assert answer["code"] == 200 and [m.content for m in stored(a, b)] == ["stored anyway"]
    assert sender.sent == []
    client.pump()  # the retry
    assert [frame["message"] for frame in sender.frames_for("b1")] == ["stored anyway"]
    client.pump()
    assert len(sender.frames_for("b1")) == 1


def test_a_committed_send_is_answered_when_steps_after_it_fail(client, sender, pair, monkeypatch):
    a, b = pair
    online(b["id"], "b1")
    with monkeypatch.context() as patched:
        patched.setattr(pending, "store", throttled)
        answer = send(client, a, b["id"], "still delivered")
    assert answer["code"] == 200 and [m.content for m in stored(a, b)] == ["still delivered"]
    assert [frame["message"] for frame in sender.frames_for("b1")] == ["still delivered"]


def test_a_recipient_who_connected_during_the_send_gets_the_frame_without_reconnecting(client, sender, pair,
                                                                                        monkeypatch):
    """b's connection opens (and replays its empty backlog) after the send looked b up but before the frame was
    kept: the send hands the kept frame to that connection at once, exactly once."""
    a, b = pair
    connect(b["id"], "b-new")
    first_ping("b-new")  # b's own replay ran: nothing was kept yet
    real_lookup = connections.reach
    lookups = []

    def lookup_before_b_connected(user_ids, now, **kwargs):
        lookups.append(set(user_ids))
        if len(lookups) == 1:
            return {user_id: connections.Reach([]) for user_id in user_ids}, []
        return real_lookup(user_ids, now, **kwargs)

    monkeypatch.setattr(connections, "reach", lookup_before_b_connected)
    assert send(client, a, b["id"], "just in time")["code"] == 200
    chats = [f["message"] for f in sender.frames_for("b-new") if f["msg_code"] == 200 and f["form_id"] == a["id"]]
    assert chats == ["just in time"]
    assert [e for e in pending.list_for(b["id"], time.time()) if '"just in time"' in e.frame] == []
    first_ping("b-new")  # a later replay finds nothing more
    assert len([f for f in sender.frames_for("b-new") if f.get("message") == "just in time"]) == 1
