"""Reactions: one item per reacted message (`REACT#<seq>`, in the conversation's partition) holding, per emoji, the
set of users who reacted with it (`u:<emoji>`, a number set) and the set of its distinct emoji (`e`).

A reaction is one UpdateItem: ADD (or DELETE) the user to the emoji's set, so one user counts once per emoji and
twenty users at once count twenty, whatever the order; a count is the size of its set, never a separate number that
could drift. The same write says what changed (`by`, `em`, `on`) and whether its frame is sent (`ann`): the frame
gate. The write that finds the gate open (no frame for this message in the last second) closes it and is announced;
a write meeting a closed gate is not (a second, unconditioned write: a refused conditional write costs a write
unit). Every frame carries the current count, read from the item's image, so a frame left out loses nothing: the
next one, and history, carry the counts.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Item, Reactions

GATE_SECONDS = 1.0


class TooManyEmoji(Exception):
    pass


@dataclass(frozen=True)
class Change:
    count: int  # the emoji's count after the change
    changed: bool  # False: the user had (or had not) reacted so already; nothing was written


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]  # emoji → count, only those above 0
    mine: frozenset[str]


def _client() -> Any:
    return Item._get_connection().connection.client


def _key(conversation: str, seq: int) -> dict[str, Any]:
    return {"PK": {"S": conversation}, "SK": {"S": keys.reactions_sk(seq)}}


def _update(conversation: str, seq: int, expression: str, names: dict[str, str], values: dict[str, Any],
            condition: str | None) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(None, the attributes after) when it went through; (the stored item, {}) when its condition refused it."""
    used = f"{expression} {condition or ''}"
    request: dict[str, Any] = {
        "TableName": Item.Meta.table_name, "Key": _key(conversation, seq), "UpdateExpression": expression,
        # DynamoDB refuses names and values an expression does not use
        "ExpressionAttributeNames": {name: value for name, value in names.items()
                                     if re.search(f"{re.escape(name)}\\b", used)},
        "ExpressionAttributeValues": {name: value for name, value in values.items()
                                      if re.search(f"{re.escape(name)}\\b", used)},
        "ReturnValues": "ALL_NEW"}
    if condition:
        request["ConditionExpression"] = condition
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    try:
        answer = _client().update_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return dict(error.response.get("Item") or {}), {}
        raise
    return None, dict(answer.get("Attributes") or {})


def _users(item: dict[str, Any], emoji: str) -> set[int]:
    return {int(user) for user in (item.get(keys.reacted_attribute(emoji)) or {}).get("NS", [])}


@conflicts.retrying()
def react(conversation: str, seq: int, emoji: str, user_id: int, on: bool, now: float, max_emoji: int,
          about: dict[str, int]) -> Change:
    """Add (`on`) or take back the user's reaction. `about` is what the frame needs of the message (its sender,
    to_id and channel_type), written with every change. TooManyEmoji when a new emoji would pass `max_emoji`."""
    names = {"#T": "T", "#seq": "seq", "#u": keys.reacted_attribute(emoji), "#e": "e", "#by": "by", "#em": "em",
             "#on": "on", "#ann": "ann", "#gate": "gate", "#from": "form_id", "#to": "to_id", "#ch": "channel_type"}
    values: dict[str, Any] = {
        ":T": {"S": Reactions.__name__}, ":seq": {"N": str(seq)}, ":me": {"NS": [str(user_id)]},
        ":emoji": {"SS": [emoji]}, ":emoji_s": {"S": emoji}, ":by": {"N": str(user_id)},
        ":on": {"N": "1" if on else "0"}, ":now": {"N": repr(now)}, ":open": {"N": repr(now - GATE_SECONDS)},
        ":from": {"N": str(about["form_id"])}, ":to": {"N": str(about["to_id"])},
        ":ch": {"N": str(about["channel_type"])}, ":max": {"N": str(max_emoji)}, ":yes": {"N": "1"},
        ":no": {"N": "0"}}
    sets = "SET #T = :T, #seq = :seq, #by = :by, #em = :emoji_s, #on = :on, #from = :from, #to = :to, #ch = :ch"
    if on:
        verb = "ADD #u :me, #e :emoji"
        allowed = "(NOT contains(#u, :by)) AND (attribute_not_exists(#e) OR contains(#e, :emoji_s) OR size(#e) < :max)"
    else:
        verb = "DELETE #u :me"
        allowed = "contains(#u, :by)"

    def change(announced: bool) -> str:
        """An announced write closes the frame gate (`gate` = now) and its frame is pushed (`ann` 1)."""
        return f"{sets}, {'#gate = :now, #ann = :yes' if announced else '#ann = :no'} {verb}"

    gate_open = "(attribute_not_exists(#gate) OR #gate <= :open)"
    refused, after = _update(conversation, seq, change(True), names, values,
                             f"{allowed} AND {gate_open}")
    if refused is not None:
        if not _allowed(refused, emoji, user_id, on, max_emoji):
            if on and user_id not in _users(refused, emoji):
                raise TooManyEmoji()
            return Change(len(_users(refused, emoji)), changed=False)
        refused, after = _update(conversation, seq, change(False), names, values, allowed)
        if refused is not None:  # changed between the two writes: decide again
            raise conflicts.LostRace("the reactions changed meanwhile")
    count = len(_users(after, emoji))
    if not on and count == 0:
        _forget_emoji(conversation, seq, emoji)
    return Change(count, changed=True)


def _allowed(item: dict[str, Any], emoji: str, user_id: int, on: bool, max_emoji: int) -> bool:
    users = _users(item, emoji)
    if not on:
        return user_id in users
    distinct = set((item.get("e") or {}).get("SS", []))
    return user_id not in users and (emoji in distinct or len(distinct) < max_emoji)


def _forget_emoji(conversation: str, seq: int, emoji: str) -> None:
    """The last user took their reaction back (the set is gone): the emoji leaves the distinct set, unless someone
    reacted with it meanwhile. If this write is lost, the emoji keeps a place among the distinct ones until its next
    reaction and removal."""
    _update(conversation, seq, "DELETE #e :emoji", {"#e": "e", "#u": keys.reacted_attribute(emoji)},
            {":emoji": {"SS": [emoji]}}, "attribute_not_exists(#u)")


def summary_of(item: dict[str, Any], viewer: int) -> Summary:
    counts: dict[str, int] = {}
    mine: set[str] = set()
    for emoji in (item.get("e") or {}).get("SS", []):
        users = _users(item, emoji)
        if users:
            counts[emoji] = len(users)
        if viewer in users:
            mine.add(emoji)
    return Summary(counts, frozenset(mine))


def for_page(conversation: str, seqs: Iterable[int], viewer: int) -> dict[int, Summary]:
    """The reactions of a history page's messages: one Query over the page's range of `REACT#` items."""
    wanted = sorted(set(seqs))
    if not wanted:
        return {}
    found: dict[int, Summary] = {}
    request: dict[str, Any] = {
        "TableName": Item.Meta.table_name, "ConsistentRead": False,
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":pk": {"S": conversation}, ":low": {"S": keys.reactions_sk(wanted[0])},
                                      ":high": {"S": keys.reactions_sk(wanted[-1])}}}
    while True:
        page = _client().query(**request)
        for item in page.get("Items", []):
            found[int(item["seq"]["N"])] = summary_of(item, viewer)
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
