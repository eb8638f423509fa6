"""Mentions: `at_ids` and `at_all` on group sends, in the frame and history, and `at_me` in the sessions list."""
from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.config import reset_caches
from chalicelib.db import keys
from chalicelib.db import messages as messages_db
from chalicelib.db.models import GroupMember
from tests.api.test_groups import make_group
from tests.support.factories import befriend, get, online, post_form, register

client_ids = itertools.count(time.time_ns() // 1000 % 10**14)


def group_send(client, user, group_id, text="hello", **extra):
    fields = {"msg_client_id": next(client_ids), "to_id": group_id, "msg_type": 1, "message": text,
              "channel_type": 2, **extra}
    return post_form(client, "/messages/group", fields, user["token"]).json_body


def at_me(client, user, group_id):
    (session,) = [s for s in get(client, "/sessions", user["token"]).json_body["data"] if s["group_id"] == group_id]
    return session["at_me"]


@pytest.fixture
def group_of_four(client):
    owner, b, c, d = (register(client) for _ in range(4))
    for friend in (b, c, d):
        befriend(client, owner, friend)
    return make_group(client, owner, [b, c, d]), owner, b, c, d


def stored(group):
    return messages_db.history(keys.group_conversation(group["id"]), None, 1000)


def test_mentioned_members_get_at_me_until_they_read_past_the_message(client, sender, group_of_four):
    group, owner, b, c, d = group_of_four
    for user, connection in ((owner, "o1"), (b, "b1"), (c, "c1")):
        online(user["id"], connection)
    answer = group_send(client, b, group["id"], "@c @d look", at_ids=[d["id"], c["id"]])
    assert answer["code"] == 200, answer
    assert (answer["data"]["at_ids"], answer["data"]["at_all"]) == (sorted([c["id"], d["id"]]), 0)
    for connection in ("o1", "b1", "c1"):
        frame = sender.frames_for(connection)[-1]
        assert (frame["message"], frame["at_ids"], frame["at_all"]) == ("@c @d look", sorted([c["id"], d["id"]]), 0)
    item = get(client, "/messages/groups", owner["token"], to_id=group["id"]).json_body["data"]["list"][-1]
    assert (item["Message"], item["at_ids"], item["at_all"]) == ("@c @d look", sorted([c["id"], d["id"]]), 0)
    assert [at_me(client, user, group["id"]) for user in (owner, b, c, d)] == [0, 0, 1, 1]
    # c reads with history's first page, d with PUT /sessions read_seq
    get(client, "/messages/groups", c["token"], to_id=group["id"])
    (d_session,) = [s for s in get(client, "/sessions", d["token"]).json_body["data"] if s["group_id"] == group["id"]]
    assert post_form(client, f"/sessions/{d_session['id']}", {"read_seq": answer["data"]["id"]}, d["token"],
                     method="put").json_body["code"] == 200
    assert [at_me(client, user, group["id"]) for user in (c, d)] == [0, 0]
    group_send(client, owner, group["id"], "plain")
    assert at_me(client, c, group["id"]) == 0  # a later message without a mention changes nothing
    group_send(client, owner, group["id"], "again", at_ids=[c["id"]])
    assert [at_me(client, user, group["id"]) for user in (c, d)] == [1, 0]


def test_at_all_by_the_owner_or_an_admin_marks_every_other_member(client, sender, group_of_four):
    group, owner, b, c, d = group_of_four
    assert group_send(client, owner, group["id"], "meeting", at_all=1)["data"]["at_all"] == 1
    assert [at_me(client, user, group["id"]) for user in (owner, b, c, d)] == [0, 1, 1, 1]
    get(client, "/messages/groups", b["token"], to_id=group["id"])
    assert [at_me(client, user, group["id"]) for user in (b, c)] == [0, 1]
    GroupMember(keys.group_pk(group["id"]), keys.member_sk(c["id"])).update(actions=[GroupMember.role.set("admin")])
    assert group_send(client, c, group["id"], "admins too", at_all=1)["code"] == 200
    assert [at_me(client, user, group["id"]) for user in (owner, b, c, d)] == [1, 1, 0, 1]


def test_at_all_by_a_member_is_forbidden_and_stores_nothing(client, group_of_four):
    group, owner, b, c, d = group_of_four
    before = len(stored(group))
    assert group_send(client, b, group["id"], "everyone!", at_all=1) == {
        "code": 1003, "message": "only the owner or an admin can mention everyone (at_all)", "data": {}}
    assert len(stored(group)) == before
    assert at_me(client, c, group["id"]) == 0


@pytest.mark.parametrize("fields, message", [
    ({"at_ids": ["x"]}, "at_ids[] must be an integer"),
    ({"at_ids": list(range(2, 53))}, "at_ids may hold at most 50 items"),
    ({"at_all": 2}, "at_all must be one of 0, 1"),
])
def test_malformed_mentions_are_refused(client, group_of_four, fields, message):
    group, owner, *_ = group_of_four
    before = len(stored(group))
    assert group_send(client, owner, group["id"], "x", **fields) == {"code": 1000, "message": message, "data": {}}
    assert len(stored(group)) == before


def test_mentioning_a_non_member_or_oneself_or_in_a_private_chat_is_refused(client, group_of_four):
    group, owner, b, c, d = group_of_four
    stranger = register(client)
    before = len(stored(group))
    assert group_send(client, b, group["id"], "x", at_ids=[c["id"], stranger["id"]]) == {
        "code": 1000, "message": f"at_ids must be members of this group: [{stranger['id']}]", "data": {}}
    assert group_send(client, b, group["id"], "x", at_ids=[b["id"]]) == {
        "code": 1000, "message": "at_ids must not include yourself", "data": {}}
    assert len(stored(group)) == before
    private = post_form(client, "/messages/private", {"msg_client_id": 1, "to_id": b["id"], "msg_type": 1,
                                                      "message": "x", "at_ids": [b["id"]]}, owner["token"]).json_body
    assert private == {"code": 1000, "message": "at_ids and at_all are for group messages only", "data": {}}
    stranger_send = group_send(client, stranger, group["id"], "x", at_ids=[c["id"]])
    assert stranger_send["code"] == 1003


def test_racing_mentions_leave_the_newest(client, group_of_four):
    from chalicelib.services import groups as group_service

    group, owner, b, c, d = group_of_four

    def mention(index):
        sender_id = (owner, b, d)[index % 3]["id"]
        return group_service.send(sender_id, group_id=group["id"], msg_type=1, message=f"m{index}",
                                  msg_client_id=next(client_ids), at_ids=[c["id"]])["id"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(mention, range(12)))
    (session,) = [s for s in get(client, "/sessions", c["token"]).json_body["data"] if s["group_id"] == group["id"]]
    assert session["at_me"] == 1
    assert post_form(client, f"/sessions/{session['id']}", {"read_seq": max(ids) - 1}, c["token"],
                     method="put").json_body["code"] == 200
    assert at_me(client, c, group["id"]) == 1  # the newest mention is still unread
    post_form(client, f"/sessions/{session['id']}", {"read_seq": max(ids)}, c["token"], method="put")
    assert at_me(client, c, group["id"]) == 0


def test_each_mention_costs_a_recipient_of_the_messages_quota(client, monkeypatch):
    monkeypatch.setenv("GROUP_SIZE_LIMIT", "3")
    monkeypatch.setenv("MESSAGE_MAX_CHARS", "600")
    monkeypatch.setenv("QUOTA_MESSAGES", "63/1")
    reset_caches()
    try:
        owner, b, c = register(client), register(client), register(client)
        befriend(client, owner, b)
        befriend(client, owner, c)
        group = make_group(client, owner, [b, c])  # 10 + 1 × (1 + 3 × 3) = 20 units: 43 left
        # 10 + 1 × (1 + 3 members + 2 mentions) = 16: 27 left; a plain send is 14 (without the mentions' 2 units,
        # two plain sends would still fit)
        assert group_send(client, owner, group["id"], "x", at_ids=[b["id"], c["id"]])["code"] == 200
        assert group_send(client, owner, group["id"], "x")["code"] == 200
        assert group_send(client, owner, group["id"], "x")["code"] == 429
    finally:
        reset_caches()


def test_a_mention_write_that_fails_is_done_by_the_send_retried_with_its_client_id(client, group_of_four,
                                                                                      monkeypatch):
    """The message commits first; its mention marks follow in the same request. When they fail (throttling that
    outlasted the client's retries) the send answers an error instead of success, and the client's retry with the
    same msg_client_id, which finds the stored message, writes them: a mention is never silently lost."""
    from chalicelib.db import mentions
    from tests.support.fakes import throttled

    group, owner, b, c, d = group_of_four
    real = mentions.mention_members
    monkeypatch.setattr(mentions, "mention_members", throttled)
    fields = {"msg_client_id": next(client_ids), "to_id": group["id"], "msg_type": 1, "message": "@c",
              "channel_type": 2, "at_ids": [c["id"]]}
    failed = post_form(client, "/messages/group", fields, b["token"])
    assert failed.json_body["code"] != 200
    assert [message.content for message in stored(group)][:1] == ["@c"]  # the message itself stands
    assert at_me(client, c, group["id"]) == 0
    monkeypatch.setattr(mentions, "mention_members", real)
    retried = post_form(client, "/messages/group", fields, b["token"]).json_body
    assert retried["code"] == 200 and retried["data"]["message"] == "@c"
    assert [message.content for message in stored(group)].count("@c") == 1
    assert at_me(client, c, group["id"]) == 1
