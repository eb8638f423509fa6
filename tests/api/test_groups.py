"""Groups, invites and group chat through the HTTP API."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.db import groups as groups_db
from chalicelib.db import keys
from chalicelib.db import messages as messages_db
from tests.support.factories import befriend, delete, get, online, post_form, register
from tests.support.fakes import throttled


def make_group(client, owner, members, **extra):
    fields = {"name": "stamps", "info": "we love stamps", "avatar": "https://x/a.png", "theme": "邮票",
              "select_user": [m["id"] for m in members], **extra}
    answer = post_form(client, "/groups/store", fields, owner["token"]).json_body
    assert answer["code"] == 200, answer
    return answer["data"]


def group_send(client, user, group_id, text, client_id=None, path="/messages/private"):
    fields = {"msg_client_id": client_id or time.time_ns() // 1000 % 10**15, "to_id": group_id, "msg_type": 1,
              "message": text, "channel_type": 2, "data": '{"name":"spoofed"}'}
    return post_form(client, path, fields, user["token"]).json_body


@pytest.fixture
def trio(client):
    owner, b, c = register(client), register(client), register(client)
    befriend(client, owner, b)
    befriend(client, owner, c)
    return owner, b, c


def test_create_group_sessions_and_2003_pushes(client, sender, trio):
    owner, b, c = trio
    online(b["id"], "b1")
    group = make_group(client, owner, [b, c, b], password="pw1234", is_pwd=1)
    assert group["user_id"] == owner["id"] and group["password"] == "" and group["is_pwd"] == 1
    members = groups_db.members(group["id"])
    assert sorted(m.user_id for m in members) == sorted([owner["id"], b["id"], c["id"]])
    frame = sender.frames_for("b1")[-1]
    assert frame["msg_code"] == 2003 and frame["sessions"]["form_id"] == b["id"]
    assert frame["sessions"]["Groups"]["id"] == group["id"]
    b_sessions = get(client, "/sessions", b["token"]).json_body["data"]
    own = next(s for s in b_sessions if s["channel_type"] == 2)
    assert own["id"] == frame["sessions"]["id"] and own["group_id"] == group["id"]
    assert own["Groups"]["name"] == "stamps"
    assert [g["id"] for g in get(client, "/groups/list", b["token"]).json_body["data"]] == [group["id"]]
    assert "password_hash" not in str(get(client, "/groups/list", b["token"]).json_body)
    address = get(client, "/address/list", c["token"]).json_body["data"]
    assert [g["id"] for g in address["groups"]] == [group["id"]]


@pytest.mark.parametrize("fields, message", [
    ({"name": "x"}, "name must be at least 2 characters"),
    ({"name": "n" * 21}, "name must be at most 20 characters"),
    ({"info": "i"}, "info must be at least 2 characters"),
    ({"select_user": ["abc"]}, "select_user[] must be an integer"),
    ({"is_pwd": 1}, "password is required when is_pwd is 1"),
])
def test_create_group_bad_input(client, trio, fields, message):
    owner, b, _ = trio
    base = {"name": "stamps", "info": "we love stamps", "avatar": "https://x/a.png", "select_user": [b["id"]]}
    assert post_form(client, "/groups/store", {**base, **fields}, owner["token"]).json_body == {
        "code": 1000, "message": message, "data": {}}


def test_only_friends_can_be_invited(client, trio):
    owner, b, _ = trio
    stranger = register(client)
    answer = post_form(client, "/groups/store", {"name": "stamps", "info": "info!", "avatar": "https://x/a.png",
                                                 "select_user": [b["id"], stranger["id"]]}, owner["token"]).json_body
    assert answer["code"] == 1000 and str(stranger["id"]) in answer["message"]


def test_group_message_reaches_every_socket_once_with_server_side_profile(client, sender, trio):
    owner, b, c = trio
    group = make_group(client, owner, [b, c])
    online(owner["id"], "o1")
    online(b["id"], "b1")
    online(b["id"], "b2")
    answer = group_send(client, b, group["id"], "hello group")
    assert answer["code"] == 200 and answer["data"]["channel_type"] == 2
    for connection, recipient in (("o1", owner), ("b1", b), ("b2", b)):
        chats = [f for f in sender.frames_for(connection) if f["msg_code"] == 200]
        assert [f["message"] for f in chats] == ["hello group"]
        assert chats[0]["user_id"] == recipient["id"] and chats[0]["to_id"] == group["id"]
        assert '"name": "' + b["name"] + '"' in chats[0]["data"] and "spoofed" not in chats[0]["data"]


def test_group_messages_are_for_members_only(client, trio):
    owner, b, _ = trio
    group = make_group(client, owner, [b])
    outsider = register(client)
    assert group_send(client, outsider, group["id"], "hi")["code"] == 1003
    assert get(client, "/messages/groups", outsider["token"], to_id=group["id"]).json_body["code"] == 1003
    assert get(client, f"/groups/users/{group['id']}", outsider["token"]).json_body["code"] == 1003
    assert post_form(client, f"/invite/{group['id']}", {}, outsider["token"]).json_body["code"] == 1003


def test_group_history_has_go_cased_keys_and_pages(client, trio):
    owner, b, _ = trio
    group = make_group(client, owner, [b])
    for n in range(5):
        group_send(client, owner, group["id"], f"m{n}", path="/messages/group")
    page = get(client, "/messages/groups", b["token"], to_id=group["id"], pageSize=3).json_body["data"]
    assert page["mate"]["total"] == 5
    assert [item["Message"] for item in page["list"]] == ["m2", "m3", "m4"]
    item = page["list"][0]
    assert {"Id", "Message", "CreatedAt", "Data", "SendTime", "MsgType", "MessageId", "ClientMessageId", "FormId",
            "GroupId", "Users"} <= set(item)
    older = get(client, "/messages/groups", b["token"], to_id=group["id"], page=page["list"][0]["Id"]
                ).json_body["data"]
    assert [item["Message"] for item in older["list"]] == ["m0", "m1"]


def test_group_unread_counts(client, trio):
    owner, b, _ = trio
    group = make_group(client, owner, [b])
    group_send(client, owner, group["id"], "one")
    group_send(client, owner, group["id"], "two")
    session = next(s for s in get(client, "/sessions", b["token"]).json_body["data"] if s["channel_type"] == 2)
    assert session["unread"] == 2
    get(client, "/messages/groups", b["token"], to_id=group["id"])
    session = next(s for s in get(client, "/sessions", b["token"]).json_body["data"] if s["channel_type"] == 2)
    assert session["unread"] == 0


def test_members_list_accepts_group_or_session_id(client, trio):
    owner, b, _ = trio
    group = make_group(client, owner, [b])
    by_group = get(client, f"/groups/users/{group['id']}", b["token"]).json_body["data"]
    session_id = next(s["id"] for s in get(client, "/sessions", b["token"]).json_body["data"] if s["channel_type"] == 2)
    by_session = get(client, f"/groups/users/{session_id}", b["token"]).json_body["data"]
    assert by_group == by_session
    assert by_group["groups"]["user_id"] == owner["id"]
    assert sorted(u["users"]["id"] for u in by_group["group_users"]) == sorted([owner["id"], b["id"]])


def test_join_open_group_notice_and_join_twice(client, sender, trio):
    owner, b, _ = trio
    group = make_group(client, owner, [b])
    joiner = register(client)
    online(owner["id"], "o1")
    assert post_form(client, f"/groups/applyJoin/{group['id']}", {}, joiner["token"]).json_body["code"] == 200
    notice = [f for f in sender.frames_for("o1") if f["msg_code"] == 200][-1]
    assert notice["msg_type"] == 6 and joiner["name"] in notice["data"]
    assert post_form(client, f"/groups/applyJoin/{group['id']}", {}, joiner["token"]).json_body["code"] == 1000
    assert groups_db.membership(group["id"], joiner["id"]) is not None
    history = get(client, "/messages/groups", joiner["token"], to_id=group["id"]).json_body["data"]["list"]
    assert history[-1]["MsgType"] == 6


def test_join_with_password(client, trio):
    owner, b, _ = trio
    group = make_group(client, owner, [b], password="pw1234", is_pwd=1)
    joiner = register(client)
    wrong = post_form(client, f"/groups/applyJoin/{group['id']}", {"password": "nope"}, joiner["token"]).json_body
    assert wrong["code"] == 1000
    assert post_form(client, f"/groups/applyJoin/{group['id']}", {"password": "pw1234"}, joiner["token"]
                     ).json_body["code"] == 200


def test_invite_token_joins_a_password_group_and_respects_max_uses(client, trio):
    owner, b, _ = trio
    group = make_group(client, owner, [b], password="pw1234", is_pwd=1)
    invite = post_form(client, f"/invite/{group['id']}", {"max_uses": 1}, owner["token"]).json_body["data"]
    assert set(invite) == {"token", "group_id", "expire_time", "max_uses"} and invite["max_uses"] == 1
    first, second = register(client), register(client)
    assert post_form(client, f"/groups/applyJoin/{group['id']}", {"token": invite["token"]}, first["token"]
                     ).json_body["code"] == 200
    assert post_form(client, f"/groups/applyJoin/{group['id']}", {"token": invite["token"]}, second["token"]
                     ).json_body["code"] == 1000
    assert post_form(client, f"/invite/{group['id']}", {"expire_seconds": 31 * 86400}, owner["token"]
                     ).json_body["code"] == 1000


def test_twenty_concurrent_joins_with_a_five_use_token(client, trio):
    from chalicelib.errors import AppError
    from chalicelib.services import groups

    owner, b, _ = trio
    group = make_group(client, owner, [b])
    token = post_form(client, f"/invite/{group['id']}", {"max_uses": 5}, owner["token"]).json_body["data"]["token"]
    joiners = [register(client) for _ in range(20)]

    def join(user):
        try:
            groups.apply_join(user["id"], group["id"], token=token, password=None)
            return True
        except AppError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(join, joiners))
    assert outcomes.count(True) == 5
    assert len(groups_db.members(group["id"])) == 2 + 5


def test_add_and_remove_members(client, sender, trio):
    owner, b, c = trio
    group = make_group(client, owner, [b])
    online(c["id"], "c1")
    change = {"group_id": group["id"], "type": 1, "select_user": [c["id"], b["id"]]}
    assert post_form(client, "/groups/createOrRemoveUser", change, owner["token"]).json_body["code"] == 200
    assert any(f["msg_code"] == 2003 for f in sender.frames_for("c1"))
    assert len(groups_db.members(group["id"])) == 3
    denied = {"group_id": group["id"], "type": 2, "select_user": [owner["id"]]}
    assert post_form(client, "/groups/createOrRemoveUser", denied, b["token"]).json_body["code"] == 1003
    remove = {"group_id": group["id"], "type": 2, "select_user": [c["id"]]}
    assert post_form(client, "/groups/createOrRemoveUser", remove, owner["token"]).json_body["code"] == 200
    assert groups_db.membership(group["id"], c["id"]) is None
    before = len(sender.frames_for("c1"))
    group_send(client, owner, group["id"], "after removal")
    assert len(sender.frames_for("c1")) == before
    assert group_send(client, c, group["id"], "let me in")["code"] == 1003


def test_removal_affects_only_this_group(client, trio):
    owner, b, c = trio
    first, second = make_group(client, owner, [b, c]), make_group(client, owner, [b, c])
    post_form(client, "/groups/createOrRemoveUser", {"group_id": first["id"], "type": 2, "select_user": [b["id"]]},
              owner["token"])
    assert groups_db.membership(second["id"], b["id"]) is not None


def test_owner_cannot_be_removed(client, trio):
    owner, b, c = trio
    group = make_group(client, owner, [b, c])
    answer = post_form(client, "/groups/createOrRemoveUser",
                       {"group_id": group["id"], "type": 2, "select_user": [owner["id"]]}, owner["token"]).json_body
    assert answer["code"] == 200 and groups_db.membership(group["id"], owner["id"]) is not None


def test_leave_passes_ownership_and_last_member_dissolves(client, trio):
    owner, b, _ = trio
    group = make_group(client, owner, [b])
    session_id = next(s["id"] for s in get(client, "/sessions", owner["token"]).json_body["data"]
                      if s["channel_type"] == 2)
    assert delete(client, f"/groups/{session_id}", owner["token"]).json_body["code"] == 200
    assert groups_db.get_group(group["id"]).owner_id == b["id"]
    assert groups_db.membership(group["id"], b["id"]).role == "owner"
    assert delete(client, f"/groups/{group['id']}", b["token"]).json_body["code"] == 200
    assert groups_db.get_group(group["id"]) is None
    assert delete(client, f"/groups/{group['id']}", b["token"]).json_body["code"] == 1000


def test_coming_back_between_a_leave_and_its_session_hiding_keeps_the_session_listed(client, trio, monkeypatch):
    """Leaving commits the membership's removal, then hides the group session; when the owner adds the member
    back between the two writes, the hiding must not undo the return (it is conditioned on the membership)."""
    from contextlib import contextmanager

    owner, b, _ = trio
    group = make_group(client, owner, [b])
    real = groups_db.transaction

    @contextmanager
    def back_after_the_first_commit(*args, **kwargs):
        with real(*args, **kwargs) as tx:
            yield tx
        monkeypatch.setattr(groups_db, "transaction", real)  # the leave's transaction committed
        answer = post_form(client, "/groups/createOrRemoveUser",
                           {"group_id": group["id"], "type": 1, "select_user": [b["id"]]}, owner["token"])
        assert answer.json_body["code"] == 200, answer.json_body

    monkeypatch.setattr(groups_db, "transaction", back_after_the_first_commit)
    assert delete(client, f"/groups/{group['id']}", b["token"]).json_body["code"] == 200
    assert groups_db.membership(group["id"], b["id"]) is not None
    listed = get(client, "/sessions", b["token"]).json_body["data"]
    assert group["id"] in [s["group_id"] for s in listed if s["channel_type"] == 2]


def test_membership_notices_are_type_6_sentences(client, sender, trio):
    """The web client draws msg_type 6 as a centred system line; type 5 would be an empty 'voice' bubble."""
    owner, b, c = trio
    group = make_group(client, owner, [b])
    online(b["id"], "b1")
    joiner = register(client)
    post_form(client, f"/groups/applyJoin/{group['id']}", {}, joiner["token"])
    post_form(client, "/groups/createOrRemoveUser", {"group_id": group["id"], "type": 1, "select_user": [c["id"]]},
              owner["token"])
    post_form(client, "/groups/createOrRemoveUser", {"group_id": group["id"], "type": 2, "select_user": [c["id"]]},
              owner["token"])
    delete(client, f"/groups/{group['id']}", joiner["token"])
    delete(client, f"/groups/{group['id']}", owner["token"])
    expected = [("join", f"{joiner['name']} 加入了群聊", joiner),
                ("join", f"{owner['name']} 邀请 {c['name']} 加入了群聊", owner),
                ("removed", f"{c['name']} 被 {owner['name']} 移出了群聊", owner),
                ("leave", f"{joiner['name']} 退出了群聊", joiner),
                ("leave", f"{owner['name']} 退出了群聊", owner),
                ("owner", f"{b['name']} 成为了新群主", owner)]
    history = get(client, "/messages/groups", b["token"], to_id=group["id"]).json_body["data"]["list"]
    assert [(item["Notice"], item["Message"], item["MsgType"], json.loads(item["Data"])["id"]) for item in history
            ] == [(kind, text, 6, actor["id"]) for kind, text, actor in expected]
    pushed = [f for f in sender.frames_for("b1") if f["msg_code"] == 200]
    assert [(f["notice"], f["message"], f["msg_type"]) for f in pushed] == [(k, t, 6) for k, t, _ in expected]
    preview = next(s for s in get(client, "/sessions", b["token"]).json_body["data"] if s["channel_type"] == 2)
    assert preview["last_message"]["content"] == f"{b['name']} 成为了新群主"
    assert preview["last_message"]["msg_type"] == 6
    delete(client, f"/groups/{group['id']}", b["token"])
    (dissolved,) = messages_db.history(keys.group_conversation(group["id"]), None, 1)
    assert (dissolved.notice, dissolved.msg_type) == ("dissolved", 6)
    assert dissolved.content == f"{b['name']} 退出了群聊，群聊已解散"


def test_group_recall_by_sender_and_by_owner(client, trio):
    owner, b, _ = trio
    group = make_group(client, owner, [b])
    by_b = group_send(client, b, group["id"], "b says")["data"]["id"]
    by_owner = group_send(client, owner, group["id"], "owner says")["data"]["id"]
    recall = "/messages/recall"
    assert post_form(client, recall, {"to_id": group["id"], "id": by_owner, "channel_type": 2}, b["token"]
                     ).json_body["code"] == 1003
    assert post_form(client, recall, {"to_id": group["id"], "id": by_b, "channel_type": 2}, owner["token"]
                     ).json_body["code"] == 200
    history = get(client, "/messages/groups", b["token"], to_id=group["id"]).json_body["data"]["list"]
    assert [item["Recalled"] for item in history] == [1, 0]
    # a recalled message reads as the centred line that replaced it, with its own type kept apart
    assert (history[0]["MsgType"], history[0]["RecalledMsgType"]) == (6, 1)
    assert history[0]["Message"] == f"{owner['name']} 撤回了一条消息"
    assert (history[1]["MsgType"], history[1]["RecalledMsgType"]) == (1, 0)
    preview = next(s for s in get(client, "/sessions", b["token"]).json_body["data"] if s["channel_type"] == 2)
    assert preview["last_message"]["content"] == "owner says" and preview["last_message"]["recalled"] == 0


def test_a_committed_group_send_is_answered_when_its_fan_out_fails(client, sender, trio, monkeypatch):
    owner, b, c = trio
    group = make_group(client, owner, [b, c])
    with monkeypatch.context() as patched:
        patched.setattr(groups_db, "members", throttled)
        answer = group_send(client, b, group["id"], "stored anyway")
    assert answer["code"] == 200
    history = get(client, "/messages/groups", b["token"], to_id=group["id"]).json_body
    assert [m["Message"] for m in history["data"]["list"]][-1] == "stored anyway"


def test_twenty_members_sending_five_each_at_once_all_land_once_in_order(client, sender, dynamodb_conflicts):
    """A busy group: 20 senders × 5 messages at the same moment, with real DynamoDB's conflicts injected on every
    write (the head's increment meets a recall's or a join's transaction). Each send takes its sequence with one
    write that never waits on another sender: all 100 are accepted, with distinct ids, stored once and delivered to
    a member in id order."""
    from chalicelib.services import groups, messages

    owner = register(client)
    members = [register(client) for _ in range(19)]
    group = make_group(client, owner, [])
    token = post_form(client, f"/invite/{group['id']}", {"max_uses": 50}, owner["token"]).json_body["data"]["token"]
    for member in members:
        groups.apply_join(member["id"], group["id"], token=token, password=None)
    online(owner["id"], "watcher")
    client.pump()
    sender.sent.clear()
    dynamodb_conflicts.every_write, dynamodb_conflicts.rate = True, 0.1

    def five(user):  # the service itself: the test client's stream pump is not for threads
        return [messages.send(user["id"], to_id=group["id"], channel_type=2, msg_type=1, message=f"{user['id']}:{n}",
                              data=None, msg_client_id=user["id"] * 100 + n) for n in range(5)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = sum(pool.map(five, [owner, *members]), [])  # a 503 (Busy) would raise here
    dynamodb_conflicts.rate = 0
    assert [answer["msg_code"] for answer in answers] == [200] * 100
    ids = sorted(answer["id"] for answer in answers)
    assert len(set(ids)) == 100 and dynamodb_conflicts.failed_single > 0
    history = messages_db.history(keys.group_conversation(group["id"]), None, 1000)
    assert sorted(m.seq for m in history if not m.notice) == ids  # the joins' notices came first
    client.pump()
    delivered = [frame["id"] for frame in sender.frames_for("watcher") if frame.get("msg_code") == 200]
    assert delivered == ids
