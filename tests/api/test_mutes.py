"""Mute: my own mute of a conversation (`mute_until`), and owners/admins silencing a member or the whole group."""
from __future__ import annotations

import itertools
import time

import pytest

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.db import messages as messages_db
from chalicelib.db import mutes as db_mutes
from chalicelib.db.models import GroupMember, Throttle
from tests.api.test_groups import make_group
from tests.support.factories import befriend, delete, get, online, post_form, register

client_ids = itertools.count(time.time_ns() // 1000 % 10**14)


def send(client, user, to_id, text="hello", channel_type=1):
    fields = {"msg_client_id": next(client_ids), "to_id": to_id, "msg_type": 1, "message": text,
              "channel_type": channel_type}
    return post_form(client, "/messages/private", fields, user["token"]).json_body


def session_of(client, user, **match):
    (found,) = [s for s in get(client, "/sessions", user["token"]).json_body["data"]
                if all(s[key] == value for key, value in match.items())]
    return found


def put_session(client, user, session_id, **fields):
    return post_form(client, f"/sessions/{session_id}", fields, user["token"], method="put").json_body


def mute(client, user, group_id, **fields):
    return post_form(client, f"/groups/{group_id}/mute", fields, user["token"]).json_body


def stored(group):
    return messages_db.history(keys.group_conversation(group["id"]), None, 1000)


def make_admin(group, user):
    GroupMember(keys.group_pk(group["id"]), keys.member_sk(user["id"])).update(actions=[GroupMember.role.set("admin")])


@pytest.fixture
def pair(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    return a, b


@pytest.fixture
def group_of_four(client):
    owner, b, c, d = (register(client) for _ in range(4))
    for friend in (b, c, d):
        befriend(client, owner, friend)
    return make_group(client, owner, [b, c, d]), owner, b, c, d


def test_a_private_mute_marks_my_frames_and_my_session_until_lifted(client, sender, pair):
    a, b = pair
    online(a["id"], "a1")
    online(b["id"], "b1")
    session = session_of(client, b, to_id=a["id"])
    assert (session["mute_until"], session["muted"]) == (0, 0)
    until = int(clock.now()) + 3600
    assert put_session(client, b, session["id"], mute_until=until) == {"code": 200, "message": "Success", "data": {}}
    assert (session_of(client, b, to_id=a["id"])["mute_until"], session_of(client, b, to_id=a["id"])["muted"]) == (
        until, 1)
    send(client, a, b["id"], "while muted")
    frame = sender.frames_for("b1")[-1]
    assert (frame["message"], frame["muted"]) == ("while muted", 1)
    send(client, b, a["id"], "a did not mute")
    assert "muted" not in sender.frames_for("a1")[-1]
    assert session_of(client, a, to_id=b["id"])["muted"] == 0
    put_session(client, b, session["id"], mute_until=0)
    send(client, a, b["id"], "unmuted")
    assert "muted" not in sender.frames_for("b1")[-1]
    put_session(client, b, session["id"], mute_until=-1)
    assert (session_of(client, b, to_id=a["id"])["mute_until"], session_of(client, b, to_id=a["id"])["muted"]) == (
        -1, 1)
    send(client, a, b["id"], "for ever")
    assert sender.frames_for("b1")[-1]["muted"] == 1


@pytest.mark.parametrize("value, message", [
    (-2, "mute_until must be at least -1"),
    ("soon", "mute_until must be an integer"),
    (5, "mute_until must be a time in the future (unix seconds), 0 to unmute or -1 for ever"),
])
def test_a_bad_mute_until_is_refused_and_changes_nothing(client, pair, value, message):
    a, b = pair
    session = session_of(client, b, to_id=a["id"])
    assert put_session(client, b, session["id"], mute_until=value) == {"code": 1000, "message": message, "data": {}}
    assert session_of(client, b, to_id=a["id"])["mute_until"] == 0


def test_someone_elses_session_cannot_be_muted(client, pair):
    a, b = pair
    session = session_of(client, b, to_id=a["id"])
    assert put_session(client, a, session["id"], mute_until=-1) == {
        "code": 1000, "message": "session not found", "data": {}}
    assert session_of(client, b, to_id=a["id"])["mute_until"] == 0


def test_a_member_who_muted_the_group_gets_its_frames_marked_and_others_do_not(client, sender, group_of_four):
    group, owner, b, c, d = group_of_four
    for user, connection in ((owner, "o1"), (b, "b1"), (c, "c1")):
        online(user["id"], connection)
    session = session_of(client, c, group_id=group["id"])
    assert put_session(client, c, session["id"], mute_until=-1)["code"] == 200
    send(client, b, group["id"], "hi all", channel_type=2)
    assert sender.frames_for("c1")[-1]["muted"] == 1
    assert "muted" not in sender.frames_for("o1")[-1] and "muted" not in sender.frames_for("b1")[-1]
    assert session_of(client, c, group_id=group["id"])["muted"] == 1


def test_a_silenced_member_cannot_send_until_lifted_and_a_notice_says_so(client, sender, group_of_four):
    group, owner, b, c, d = group_of_four
    for user, connection in ((owner, "o1"), (b, "b1"), (c, "c1")):
        online(user["id"], connection)
    answer = mute(client, owner, group["id"], user_id=b["id"], seconds=600)
    assert answer["code"] == 200 and answer["data"]["user_id"] == b["id"]
    assert answer["data"]["silenced_until"] >= int(clock.now()) + 599
    notice = sender.frames_for("c1")[-1]
    assert (notice["msg_type"], notice["notice"]) == (6, "mute")
    assert notice["message"] == f"{b['name']} 被 {owner['name']} 禁言 10 分钟"
    count = len(stored(group))
    refused = send(client, b, group["id"], "let me speak", channel_type=2)
    assert refused == {"code": 1003, "message": "you are silenced in this group for 10 minutes more", "data": {}}
    assert len(stored(group)) == count
    assert send(client, c, group["id"], "others may", channel_type=2)["code"] == 200
    assert mute(client, owner, group["id"], user_id=b["id"], seconds=0)["data"]["silenced_until"] == 0
    assert sender.frames_for("c1")[-1]["message"] == f"{owner['name']} 解除了 {b['name']} 的禁言"
    assert send(client, b, group["id"], "thanks", channel_type=2)["code"] == 200


def test_a_retry_of_a_send_stored_before_the_silence_returns_it(client, group_of_four):
    group, owner, b, c, d = group_of_four
    fields = {"msg_client_id": 5151, "to_id": group["id"], "msg_type": 1, "message": "before", "channel_type": 2}
    first = post_form(client, "/messages/group", fields, b["token"]).json_body
    mute(client, owner, group["id"], user_id=b["id"], seconds=60)
    again = post_form(client, "/messages/group", fields, b["token"]).json_body
    assert again["code"] == 200 and again["data"]["id"] == first["data"]["id"]


def test_silencing_the_whole_group_leaves_only_the_owner_and_admins_speaking(client, sender, group_of_four):
    group, owner, b, c, d = group_of_four
    make_admin(group, c)
    online(d["id"], "d1")
    assert mute(client, c, group["id"], all=1) == {"code": 200, "message": "Success",
                                                   "data": {"group_id": group["id"], "all": 1}}
    assert sender.frames_for("d1")[-1]["message"] == f"{c['name']} 开启了全员禁言"
    assert send(client, b, group["id"], "hm", channel_type=2) == {
        "code": 1003, "message": "the whole group is silenced: only the owner and admins may speak", "data": {}}
    assert send(client, c, group["id"], "admin speaks", channel_type=2)["code"] == 200
    assert send(client, owner, group["id"], "owner speaks", channel_type=2)["code"] == 200
    mute(client, owner, group["id"], all=0)
    assert sender.frames_for("d1")[-1]["message"] == f"{owner['name']} 关闭了全员禁言"
    assert send(client, b, group["id"], "free again", channel_type=2)["code"] == 200


def test_who_may_silence_whom(client, group_of_four):
    group, owner, b, c, d = group_of_four
    make_admin(group, b)
    make_admin(group, c)
    stranger = register(client)
    count = len(stored(group))
    assert mute(client, d, group["id"], user_id=b["id"], seconds=60) == {
        "code": 1003, "message": "only the owner or an admin can silence members", "data": {}}
    assert mute(client, b, group["id"], user_id=owner["id"], seconds=60) == {
        "code": 1003, "message": "the owner cannot be silenced", "data": {}}
    assert mute(client, b, group["id"], user_id=c["id"], seconds=60) == {
        "code": 1003, "message": "an admin cannot silence another admin", "data": {}}
    assert mute(client, stranger, group["id"], user_id=d["id"], seconds=60)["code"] == 1003
    assert mute(client, b, group["id"], user_id=stranger["id"], seconds=60) == {
        "code": 1000, "message": "this user is not a member of the group", "data": {}}
    assert mute(client, b, group["id"], user_id=b["id"], seconds=60) == {
        "code": 1000, "message": "you cannot silence yourself", "data": {}}
    assert len(stored(group)) == count  # no notice for a refused action
    assert mute(client, owner, group["id"], user_id=c["id"], seconds=60)["code"] == 200  # the owner silences admins
    assert send(client, c, group["id"], "x", channel_type=2)["code"] == 1003


@pytest.mark.parametrize("fields, message", [
    ({}, "send either user_id (with seconds) or all"),
    ({"user_id": 5, "all": 1}, "send either user_id (with seconds) or all"),
    ({"user_id": 5}, "seconds is required with user_id"),
    ({"user_id": 5, "seconds": 30 * 86400 + 1}, "seconds must be at most 2592000"),
    ({"user_id": 5, "seconds": -1}, "seconds must be at least 0"),
    ({"all": 2}, "all must be one of 0, 1"),
])
def test_bad_mute_bodies_are_refused(client, group_of_four, fields, message):
    group, owner, *_ = group_of_four
    count = len(stored(group))
    assert mute(client, owner, group["id"], **fields) == {"code": 1000, "message": message, "data": {}}
    assert len(stored(group)) == count


def test_an_unknown_group_is_refused(client):
    owner = register(client)
    assert mute(client, owner, 987654, all=1) == {"code": 1000, "message": "群聊不存在！ (group does not exist)",
                                                  "data": {}}


@pytest.mark.parametrize("back_how", ["invited", "joined", "removed and added"])
def test_my_mute_of_a_group_survives_leaving_and_coming_back(client, sender, group_of_four, back_how):
    """Like the session's other settings, my own mute of the group is mine, not the membership's: it is on my group
    session when I come back, so my frames are marked again and the conversation list still says muted."""
    group, owner, b, c, d = group_of_four
    online(c["id"], "c1")
    session = session_of(client, c, group_id=group["id"])
    assert put_session(client, c, session["id"], mute_until=-1)["code"] == 200
    if back_how == "removed and added":
        post_form(client, "/groups/createOrRemoveUser", {"group_id": group["id"], "type": 2, "select_user": [c["id"]]},
                  owner["token"])
    else:
        assert delete(client, f"/groups/{group['id']}", c["token"]).json_body["code"] == 200
    if back_how == "joined":
        assert post_form(client, f"/groups/applyJoin/{group['id']}", {}, c["token"]).json_body["code"] == 200
    else:
        assert post_form(client, "/groups/createOrRemoveUser",
                         {"group_id": group["id"], "type": 1, "select_user": [c["id"]]},
                         owner["token"]).json_body["code"] == 200
    assert GroupMember.get(keys.group_pk(group["id"]), keys.member_sk(c["id"])).mute_until == -1
    assert (session_of(client, c, group_id=group["id"])["mute_until"],
            session_of(client, c, group_id=group["id"])["muted"]) == (-1, 1)
    send(client, b, group["id"], "while away and back", channel_type=2)
    frame = sender.frames_for("c1")[-1]
    assert (frame["message"], frame["muted"]) == ("while away and back", 1)


@pytest.mark.parametrize("fields", [{"seconds": 60}, {"all": 1}])
def test_a_silence_refused_by_its_own_transaction_costs_no_quota(client, monkeypatch, group_of_four, fields):
    """The owner is no longer the owner when the write runs (demoted meanwhile): refused, and the units taken for
    its notice are given back."""
    group, owner, b, c, d = group_of_four
    if "seconds" in fields:
        fields = {**fields, "user_id": b["id"]}
    bucket = (keys.bucket_pk("messages", str(owner["id"])), keys.BUCKET_SK)
    before = Throttle.get(*bucket).due
    real = {"silence": db_mutes.silence, "mute_everyone": db_mutes.mute_everyone}

    def demoted_first(name):
        def write(group_id, actor_id, *args):
            GroupMember(keys.group_pk(group_id), keys.member_sk(actor_id)).update(
                actions=[GroupMember.role.set("member")])
            return real[name](group_id, actor_id, *args)
        return write

    for name in real:
        monkeypatch.setattr(db_mutes, name, demoted_first(name))
    count = len(stored(group))
    assert mute(client, owner, group["id"], **fields) == {
        "code": 1000, "message": "the group's members or roles changed meanwhile; please retry", "data": {}}
    assert Throttle.get(*bucket).due == before
    assert len(stored(group)) == count
