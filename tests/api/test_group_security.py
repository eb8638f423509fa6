"""Group passwords cannot be guessed, invites are the admins', history starts at a member's join (items 3, 7, 2)."""
from __future__ import annotations

import time

from chalicelib.db import keys
from chalicelib.db.models import GroupInvite
from tests.api.test_groups import group_send, make_group
from tests.support.factories import befriend, delete, get, post_form, register


def join(client, user, group_id, **fields):
    return post_form(client, f"/groups/applyJoin/{group_id}", fields, user["token"]).json_body


def test_six_wrong_group_passwords_then_429_even_with_the_right_one(client):
    owner, friend, guesser = register(client), register(client), register(client)
    befriend(client, owner, friend)
    group = make_group(client, owner, [friend], password="1234", is_pwd=1)
    for guess in ("0000", "1111", "2222", "3333", "4444"):
        assert "wrong group password" in join(client, guesser, group["id"], password=guess)["message"]
    sixth = post_form(client, f"/groups/applyJoin/{group['id']}", {"password": "1234"}, guesser["token"])
    assert sixth.json_body["code"] == 429 and "too many wrong passwords for this group" in sixth.json_body["message"]
    assert 1 <= int(sixth.headers["Retry-After"]) <= 900
    other = register(client)
    assert join(client, other, group["id"], password="1234")["code"] == 200  # only the guesser is held back


def test_a_ceiling_across_groups_stops_guessing_many_groups(client):
    owner, friend, guesser = register(client), register(client), register(client)
    befriend(client, owner, friend)
    groups = [make_group(client, owner, [friend], name=f"g{index}", password="1234", is_pwd=1) for index in range(5)]
    for group in groups[:4]:
        for _ in range(5):
            assert join(client, guesser, group["id"], password="9999")["code"] == 1000
    refused = join(client, guesser, groups[4]["id"], password="1234")
    assert refused["code"] == 429 and "too many wrong group passwords" in refused["message"]


def test_a_right_password_does_not_count_against_the_limit(client):
    owner, friend = register(client), register(client)
    befriend(client, owner, friend)
    group = make_group(client, owner, [friend], password="1234", is_pwd=1)
    for _ in range(4):
        join(client, register(client), group["id"], password="0000")
    assert join(client, register(client), group["id"], password="1234")["code"] == 200


def test_a_plain_member_cannot_mint_an_invite(client):
    owner, member = register(client), register(client)
    befriend(client, owner, member)
    group = make_group(client, owner, [member], password="1234", is_pwd=1)
    answer = post_form(client, f"/invite/{group['id']}", {"max_uses": 10000}, member["token"]).json_body
    assert answer == {"code": 1003, "message": "only the owner or an admin can create invites", "data": {}}


def test_a_revoked_invite_joins_no_one(client):
    owner, member = register(client), register(client)
    befriend(client, owner, member)
    group = make_group(client, owner, [member], password="1234", is_pwd=1)
    token = post_form(client, f"/invite/{group['id']}", {}, owner["token"]).json_body["data"]["token"]
    assert delete(client, f"/invite/{token}", member["token"]).json_body["code"] == 1003
    assert delete(client, f"/invite/{token}", register(client)["token"]).json_body["code"] == 1003
    revoked = delete(client, f"/invite/{token}", owner["token"]).json_body
    assert revoked == {"code": 200, "message": "Success", "data": {"token": token, "group_id": group["id"],
                                                                    "revoked": 1}}
    newcomer = register(client)
    refused = join(client, newcomer, group["id"], token=token)
    assert refused["code"] == 1000 and "revoked" in refused["message"]
    assert delete(client, "/invite/no-such-token", owner["token"]).json_body["code"] == 1000


def test_an_expired_invite_joins_no_one(client):
    owner, member = register(client), register(client)
    befriend(client, owner, member)
    group = make_group(client, owner, [member], password="1234", is_pwd=1)
    token = post_form(client, f"/invite/{group['id']}", {}, owner["token"]).json_body["data"]["token"]
    GroupInvite(keys.invite_pk(token), keys.GROUP_META_SK).update(actions=[GroupInvite.expire_time.set(
        int(time.time()) - 1)])
    assert join(client, register(client), group["id"], token=token)["code"] == 1000


def test_a_newcomer_sees_history_from_their_join_onward(client):
    owner, member = register(client), register(client)
    befriend(client, owner, member)
    group = make_group(client, owner, [member])
    for index in range(3):
        assert group_send(client, owner, group["id"], f"before {index}")["code"] == 200
    newcomer = register(client)
    assert join(client, newcomer, group["id"])["code"] == 200
    assert group_send(client, owner, group["id"], "after")["code"] == 200

    page = get(client, "/messages/groups", newcomer["token"], to_id=group["id"]).json_body["data"]
    texts = [item["Message"] for item in page["list"]]
    assert not any(text.startswith("before") for text in texts) and texts[-1] == "after"
    assert page["mate"]["total"] == len(texts)
    older = get(client, "/messages/groups", newcomer["token"], to_id=group["id"],
                page=page["list"][0]["Id"]).json_body["data"]["list"]
    assert older == []
    full = get(client, "/messages/groups", owner["token"], to_id=group["id"]).json_body["data"]["list"]
    assert [item["Message"] for item in full][:3] == ["before 0", "before 1", "before 2"]

    (session,) = [row for row in get(client, "/sessions", newcomer["token"]).json_body["data"]
                  if row["group_id"] == group["id"]]
    assert session["last_message"]["content"] == "after"


def test_a_message_committed_while_joining_stays_before_the_join(client):
    """The race the join's condition closes: the newcomer reads the group's sequence, a member's message commits,
    then the join's transaction is sent. It must not commit at the stale sequence (the newcomer would see a message
    sent before they were a member): it is refused and decided again."""
    from chalicelib.db.transactions import _connection
    from chalicelib.services import groups

    owner, member = register(client), register(client)
    befriend(client, owner, member)
    group = make_group(client, owner, [member])
    group_send(client, owner, group["id"], "before 0")
    newcomer = register(client)
    interleaved: list[str] = []

    membership = (keys.group_pk(group["id"]), keys.member_sk(newcomer["id"]))

    def send_first(params, **_):
        puts = [part["Put"]["Item"] for part in params.get("TransactItems", []) if "Put" in part]
        if not interleaved and any((put["PK"]["S"], put["SK"]["S"]) == membership for put in puts):
            interleaved.append("sent")  # once: the send below is itself a transaction
            groups.send(owner["id"], group_id=group["id"], msg_type=1, message="sent while joining",
                        msg_client_id=424242)

    events = _connection().client.meta.events
    events.register("before-parameter-build.dynamodb.TransactWriteItems", send_first)
    try:
        assert join(client, newcomer, group["id"])["code"] == 200
    finally:
        events.unregister("before-parameter-build.dynamodb.TransactWriteItems", send_first)
    assert interleaved == ["sent"]
    texts = [item["Message"] for item in get(client, "/messages/groups", newcomer["token"], to_id=group["id"]
                                             ).json_body["data"]["list"]]
    assert "sent while joining" not in texts and not any(text.startswith("before") for text in texts)
    owner_view = [item["Message"] for item in get(client, "/messages/groups", owner["token"], to_id=group["id"]
                                                  ).json_body["data"]["list"]]
    assert owner_view[:2] == ["before 0", "sent while joining"]


def test_a_newcomers_unread_count_and_preview_start_at_the_join(client):
    owner, member = register(client), register(client)
    befriend(client, owner, member)
    group = make_group(client, owner, [member])
    for index in range(5):
        group_send(client, owner, group["id"], f"before {index}")
    newcomer = register(client)
    join(client, newcomer, group["id"])
    (session,) = [row for row in get(client, "/sessions", newcomer["token"]).json_body["data"]
                  if row["group_id"] == group["id"]]
    assert session["unread"] <= 1  # at most their own join notice
    assert not session["last_message"]["content"].startswith("before")


def test_members_and_details_are_for_members_only(client):
    owner, member, stranger = register(client), register(client), register(client)
    befriend(client, owner, member)
    group = make_group(client, owner, [member])
    assert get(client, f"/groups/users/{group['id']}", stranger["token"]).json_body["code"] == 1003
    assert get(client, "/messages/groups", stranger["token"], to_id=group["id"]).json_body["code"] == 1003
