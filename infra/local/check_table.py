"""`make check-table`: the cross-item invariants of the whole table, read with one Scan (offline tool only).

Checked: both directions of every friendship; every session points at an existing user (private) or group
(group); every active group has members, member_count equal to its members, exactly one owner, who is a member
with role owner, and each member's user-side copy; a dissolved group has no members; no message of a conversation
lies past its head's last_seq, and a stored message at last_seq is the one the head carries (a taken sequence may
stay empty: chalicelib/db/messages.py); every client-message claim has its message (once the delivery caught up,
since it finishes a send whose request stopped); every
block is named in its pair's head and every name in a head's `blocked_by` has its block; a conversation's pin count
equals its pins.
Exit status 1 on any violation. The request paths never Scan: this runs after a load run or against `make run`.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from typing import Any

MAX_EXAMPLES = 20


def scan(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend({name: _plain(value) for name, value in item.items()} for item in page["Items"])
    return items


def _plain(value: dict[str, Any]) -> Any:
    kind, payload = next(iter(value.items()))
    if kind == "N":
        number = float(payload)
        return int(number) if number.is_integer() else number
    if kind in ("SS", "NS"):
        return set(payload)
    return payload


def violations(items: list[dict[str, Any]]) -> list[str]:
    """Every broken invariant, one line each."""
    by_key = {(item["PK"], item["SK"]): item for item in items}
    found: list[str] = []
    users = {pk for pk, sk in by_key if pk.startswith("USER#") and sk == "PROFILE"}
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    messages: dict[str, list[int]] = defaultdict(list)
    message_ids: dict[tuple[str, int], int] = {}
    claims: list[dict[str, Any]] = []
    pins: dict[str, int] = defaultdict(int)
    for (pk, sk), item in by_key.items():
        if pk.startswith("USER#") and sk.startswith("FRIEND#"):
            other = sk.removeprefix("FRIEND#")
            if (f"USER#{other}", f"FRIEND#{pk.removeprefix('USER#')}") not in by_key:
                found.append(f"friendship {pk} → {other} has no reverse direction")
        elif pk.startswith("USER#") and sk.startswith("SESSION#"):
            channel, peer = sk.removeprefix("SESSION#").split("#", 1)
            target = (f"USER#{peer}", "PROFILE") if channel == "1" else (f"GROUP#{peer}", "META")
            if target not in by_key:
                found.append(f"session {pk} {sk} points at missing {target[0]}")
        elif pk.startswith("USER#") and sk.startswith("MEMBEROF#"):
            group = sk.removeprefix("MEMBEROF#")
            if (f"GROUP#{group}", f"MEMBER#{pk.removeprefix('USER#')}") not in by_key:
                found.append(f"{pk} lists membership of group {group} the group does not have")
        elif pk.startswith("GROUP#") and sk.startswith("MEMBER#"):
            members[pk].append(item)
        elif pk.startswith("CONV#") and sk.startswith("MSG#"):
            messages[pk].append(int(item["seq"]))
            message_ids[(pk, int(item["seq"]))] = int(item["msg_id"])
        elif pk.startswith("CLIENTMSG#") and sk == "CLAIM":
            claims.append(item)
        elif pk.startswith("USER#") and sk.startswith("BLOCK#"):
            blocker, blocked = int(pk.removeprefix("USER#")), int(sk.removeprefix("BLOCK#"))
            low, high = sorted((blocker, blocked))
            head = by_key.get((f"CONV#P#{low}#{high}", "META")) or {}
            if str(blocker) not in {str(user_id) for user_id in head.get("blocked_by", ())}:
                found.append(f"block {pk} → {blocked} is not in the pair's head")
        elif pk.startswith("CONV#") and sk.startswith("PIN#"):
            pins[pk] += 1
    for (pk, sk), meta in by_key.items():
        if pk.startswith("GROUP#") and sk == "META":
            found += _group_violations(pk, meta, members.get(pk, []), by_key, users)
        elif pk.startswith("CONV#") and sk == "META":
            last_seq = int(meta.get("last_seq", 0))
            newest = max(messages.get(pk, []), default=0)
            if newest > last_seq:
                found.append(f"conversation {pk} head last_seq {last_seq} but a message at {newest}")
            stored_id = message_ids.get((pk, last_seq))
            carried = int(json.loads(meta.get("sent") or "{}").get("msg_id", 0))
            if stored_id is not None and stored_id != carried:
                found.append(f"conversation {pk} head carries message {carried} but {stored_id} is stored "
                             f"at {last_seq}")
            for blocker in meta.get("blocked_by", ()):
                others = [part for part in pk.removeprefix("CONV#P#").split("#") if part != str(blocker)]
                if not others or (f"USER#{blocker}", f"BLOCK#{others[0]}") not in by_key:
                    found.append(f"conversation {pk} names {blocker} in blocked_by without their block")
        elif pk.startswith("CONV#") and sk == "PINS" and int(meta.get("pinned", 0)) != pins.get(pk, 0):
            found.append(f"conversation {pk} counts {meta.get('pinned')} pins but has {pins.get(pk, 0)}")
    for claim in claims:
        if int(claim["seq"]) not in messages.get(claim["conversation"], []):
            found.append(f"claim {claim['PK']} has no message ({claim['conversation']} seq {claim['seq']})")
    for pk in messages:
        if (pk, "META") not in by_key:
            found.append(f"conversation {pk} has messages but no head")
    return found


def _group_violations(pk: str, meta: dict[str, Any], listed: list[dict[str, Any]],
                      by_key: dict[tuple[str, str], dict[str, Any]], users: set[str]) -> list[str]:
    found = []
    count = int(meta.get("member_count", 0))
    owner = int(meta.get("owner_id", 0))
    if not int(meta.get("active", 0)):
        if listed and count == 0:
            found.append(f"dissolved group {pk} still has {len(listed)} members")
        return found  # an inactive group with members and a count is one still being created
    if count != len(listed):
        found.append(f"group {pk} member_count {count} but {len(listed)} members")
    if not listed:
        found.append(f"active group {pk} has no members")
    owners = [int(item["user_id"]) for item in listed if item.get("role") == "owner"]
    if listed and owners != [owner]:
        found.append(f"group {pk} owner_id {owner} but members with role owner: {owners}")
    for item in listed:
        user = f"USER#{int(item['user_id'])}"
        if (user, f"MEMBEROF#{pk.removeprefix('GROUP#')}") not in by_key:
            found.append(f"group {pk} member {user} lacks the user-side copy")
        if user not in users:
            found.append(f"group {pk} member {user} has no profile")
    return found


def check(dynamodb: Any, table: str) -> list[str]:
    return violations(scan(dynamodb, table))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="http://127.0.0.1:5000", help="local AWS (moto server) URL")
    parser.add_argument("--table", default="", help="default: the local stage's TABLE_NAME")
    args = parser.parse_args(argv)
    import boto3

    from infra.local.chalice_app import stage_config

    table = args.table or str(stage_config().environment_variables["TABLE_NAME"])

    dynamodb = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                     region_name="us-east-1").client("dynamodb", endpoint_url=args.endpoint)
    found = check(dynamodb, table)
    for line in found[:MAX_EXAMPLES]:
        print(f"violation: {line}")
    print(f"check-table: {len(found)} violation(s) in {table}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
