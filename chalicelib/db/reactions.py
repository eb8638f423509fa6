"""Reactions: one item per reacted message (`REACT#<seq>`, in the conversation's partition) holding, per emoji, the
set of users who reacted with it (`u:<emoji>`, a number set) and the set of its distinct emoji (`e`).

A reaction is one UpdateItem: ADD (or DELETE) the user to the emoji's set, so one user counts once per emoji and
twenty users at once count twenty, whatever the order; a count is the size of its set, never a separate number that
could drift. The same write says what changed (`by`, `em`, `on`), so its stream record is a 1009 frame carrying the
counts of the item's image: every change is pushed with the counts it committed, and the last change of a burst
carries the final ones. In a burst the delivery function pushes, per message and stream batch, only the newest
change's frame (realtime/delivery.py): the counts it carries include every older one.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Item, Reactions


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
def react(conversation: str, seq: int, emoji: str, user_id: int, on: bool, max_emoji: int,
          about: dict[str, int]) -> Change:
    """Add (`on`) or take back the user's reaction. `about` is what the frame needs of the message (its sender,
    to_id and channel_type), written with every change. TooManyEmoji when a new emoji would pass `max_emoji`."""
    names = {"#T": "T", "#seq": "seq", "#u": keys.reacted_attribute(emoji), "#e": "e", "#by": "by", "#em": "em",
             "#on": "on", "#from": "form_id", "#to": "to_id", "#ch": "channel_type"}
    values: dict[str, Any] = {
        ":T": {"S": Reactions.__name__}, ":seq": {"N": str(seq)}, ":me": {"NS": [str(user_id)]},
        ":emoji": {"SS": [emoji]}, ":emoji_s": {"S": emoji}, ":by": {"N": str(user_id)},
        ":on": {"N": "1" if on else "0"}, ":from": {"N": str(about["form_id"])}, ":to": {"N": str(about["to_id"])},
        ":ch": {"N": str(about["channel_type"])}, ":max": {"N": str(max_emoji)}}
    sets = "SET #T = :T, #seq = :seq, #by = :by, #em = :emoji_s, #on = :on, #from = :from, #to = :to, #ch = :ch"
    if on:
        change = f"{sets} ADD #u :me, #e :emoji"
        allowed = "(NOT contains(#u, :by)) AND (attribute_not_exists(#e) OR contains(#e, :emoji_s) OR size(#e) < :max)"
    else:
        change = f"{sets} DELETE #u :me"
        allowed = "contains(#u, :by)"
    refused, after = _update(conversation, seq, change, names, values, allowed)
    if refused is not None:  # the item as it stood when refused says why
        if on and user_id not in _users(refused, emoji):
            raise TooManyEmoji()
        return Change(len(_users(refused, emoji)), changed=False)
    count = len(_users(after, emoji))
    if not on and count == 0:
        _forget_emoji(conversation, seq, emoji)
    return Change(count, changed=True)


def _forget_emoji(conversation: str, seq: int, emoji: str) -> None:
    """The last user took their reaction back (the set is gone): the emoji leaves the distinct set, unless someone
    reacted with it meanwhile. This write changes no count, so it removes `by`: its stream record makes no frame
    (the removal's did). If it is lost, the emoji keeps a place among the distinct ones until its next reaction and
    removal."""
    _update(conversation, seq, "REMOVE #by DELETE #e :emoji", {"#e": "e", "#by": "by",
                                                               "#u": keys.reacted_attribute(emoji)},
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
