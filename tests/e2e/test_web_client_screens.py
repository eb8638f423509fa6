"""What a person sees in the unchanged web client, item by item (issue 12), over the local stack with real sockets.

Each test asserts exactly the fields the client reads (../shared/reference/origin-contract.md §9).
"""
from __future__ import annotations

import uuid
from urllib.parse import urlparse

import pytest
import requests

from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_flows import PNG, User, frames, without_bot

pytestmark = pytest.mark.e2e

BOT = 1


def befriend(requester: User, accepter: User) -> dict:
    record = requester.call("POST", "/friends/record", to_id=accepter.id, information="hi")
    accepter.call("PUT", "/friends/record", id=record["id"], status=1)
    return record


def chats(received: list[dict]) -> list[dict]:
    return [frame for frame in received if frame.get("msg_code") == 200]


def test_a_new_users_replayed_bot_greeting_can_be_looked_up(stack: RunningStack) -> None:
    """The client calls GET /friends/{form_id} for every incoming private message and drops it on code ≠ 200."""
    user = User(stack)
    with user.socket() as socket:
        greetings = chats(frames(socket, 2))
    assert [frame["form_id"] for frame in greetings] == [BOT, BOT]
    answer = requests.get(f"{stack.http_url}/friends/{greetings[0]['form_id']}", timeout=10,
                          headers={"Authorization": f"Bearer {user.token}"}).json()
    assert answer["code"] == 200
    assert (answer["data"]["id"], answer["data"]["name"], answer["data"]["email"]) == (BOT, "机器人", "")
    assert answer["data"]["avatar"]
    stranger = User(stack)
    refused = requests.get(f"{stack.http_url}/friends/{stranger.id}", timeout=10,
                           headers={"Authorization": f"Bearer {user.token}"}).json()
    assert refused["code"] == 1003


def test_the_friend_accepted_frame_is_the_requesters_own_session(stack: RunningStack) -> None:
    requester, accepter = User(stack), User(stack)
    with requester.socket() as socket:
        frames(socket, 2, 2)  # the bot's greetings
        record = befriend(requester, accepter)
        (accepted,) = without_bot(frames(socket, 1))
    (session,) = [s for s in requester.call("GET", "/sessions") if s["to_id"] == accepter.id]
    assert accepted["msg_code"] == 1001 and accepted["record_id"] == record["id"]
    assert (accepted["id"], accepted["form_id"], accepted["to_id"]) == (session["id"], requester.id, accepter.id)
    assert accepted["users"]["id"] == accepter.id and accepted["users"]["name"] == session["name"]
    for field in ("status", "created_at", "note", "top_time"):
        assert accepted[field] == session[field], field


def test_an_immediate_second_code_request_is_a_wait_the_client_can_show(stack: RunningStack) -> None:
    email = f"wait-{uuid.uuid4().hex[:10]}@example.com"
    form = {"email": (None, email), "email_type": (None, "1")}
    assert requests.post(f"{stack.http_url}/auth/sendEmailCode", files=form, timeout=10).json()["code"] == 200
    again = requests.post(f"{stack.http_url}/auth/sendEmailCode", files=form, timeout=10)
    assert again.status_code == 200  # any other status shows only "Request failed with status code …"
    assert again.json()["code"] == 429 and again.json()["data"] == {}
    wait = int(again.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert "please try again in" in again.json()["message"]


def test_membership_changes_show_as_notices(stack: RunningStack) -> None:
    owner, member, added, joiner = User(stack), User(stack), User(stack), User(stack)
    befriend(owner, member)
    befriend(owner, added)
    group = owner.call("POST", "/groups/store", name="notices", info="about stamps", avatar="https://x/a.png",
                       theme="t",
                       select_user=[member.id])
    with member.socket() as socket:
        frames(socket, 10, 1)
        joiner.call("POST", f"/groups/applyJoin/{group['id']}")
        owner.call("POST", "/groups/createOrRemoveUser", group_id=group["id"], type=1, select_user=[added.id])
        owner.call("POST", "/groups/createOrRemoveUser", group_id=group["id"], type=2, select_user=[added.id])
        joiner.call("DELETE", f"/groups/{group['id']}")
        pushed = chats(frames(socket, 4))
    listed = member.call("GET", "/messages/groups", to_id=group["id"])["list"]
    expected = ["join", "join", "removed", "leave"]
    assert [(f["msg_type"], f["notice"]) for f in pushed] == [(6, kind) for kind in expected]
    assert [(item["MsgType"], item["Notice"]) for item in listed] == [(6, kind) for kind in expected]
    assert all(item["Message"].endswith("群聊") for item in listed)
    assert [f["message"] for f in pushed] == [item["Message"] for item in listed]


def test_a_recalled_message_reads_as_recalled_in_both_histories(stack: RunningStack) -> None:
    a, b = User(stack), User(stack)
    befriend(a, b)
    sent = a.call("POST", "/messages/private", msg_client_id=1, to_id=b.id, msg_type=1, message="oops")
    a.call("POST", "/messages/recall", to_id=b.id, id=sent["id"])
    for viewer, peer in ((a, b), (b, a)):
        (item,) = viewer.call("GET", "/messages", to_id=peer.id)["list"]
        assert (item["msg_type"], item["recalled"], item["recalled_msg_type"]) == (6, 1, 1)
        assert item["msg"].endswith("撤回了一条消息") and "oops" not in item["msg"]
        (session,) = [s for s in viewer.call("GET", "/sessions") if s["to_id"] == peer.id]
        assert session["last_message"]["msg_type"] == 6 and session["last_message"]["content"] == item["msg"]
    group = a.call("POST", "/groups/store", name="recalls", info="about stamps", avatar="https://x/a.png", theme="t",
                   select_user=[b.id])
    posted = b.call("POST", "/messages/group", msg_client_id=2, to_id=group["id"], msg_type=1, message="oops")
    b.call("POST", "/messages/recall", to_id=group["id"], id=posted["id"], channel_type=2)
    for viewer in (a, b):
        item = viewer.call("GET", "/messages/groups", to_id=group["id"])["list"][-1]
        assert (item["MsgType"], item["Recalled"], item["RecalledMsgType"]) == (6, 1, 1)
        assert item["Message"].endswith("撤回了一条消息")


def test_a_file_url_ends_in_its_name_and_serves_the_same_bytes(stack: RunningStack) -> None:
    user = User(stack)
    note = b"plain notes for e2e\n"
    for name, data, content_type in (("notes.txt", note, "text/plain"), ("holiday.png", PNG, "image/png")):
        response = requests.post(f"{stack.http_url}/upload/file", files={"file": (name, data, content_type)},
                                 headers={"Authorization": f"Bearer {user.token}"}, timeout=10)
        uploaded = response.json()["data"]
        assert urlparse(uploaded["file_url"]).path.rsplit("/", 1)[1] == name
        fetched = requests.get(uploaded["file_url"], timeout=10)
        assert fetched.status_code == 200 and fetched.content == data


def test_private_sessions_and_history_show_the_friends_email(stack: RunningStack) -> None:
    a, b = User(stack), User(stack)
    befriend(a, b)
    b.call("POST", "/messages/private", msg_client_id=1, to_id=a.id, msg_type=1, message="hi")
    b_email = requests.get(f"{stack.http_url}/friends/{b.id}", timeout=10,
                           headers={"Authorization": f"Bearer {a.token}"}).json()["data"]["email"]
    assert "@" in b_email
    (session,) = [s for s in a.call("GET", "/sessions") if s["to_id"] == b.id]
    assert session["Users"]["email"] == b_email
    (item,) = a.call("GET", "/messages", to_id=b.id)["list"]
    assert item["Users"]["id"] == b.id and item["Users"]["email"] == b_email
