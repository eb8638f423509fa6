"""Where a mention is remembered so the sessions list shows it without reading more: the newest message naming a
member on that member's group session (`mention_seq`), the newest `at_all` on the group item (`at_all_seq`,
`at_all_by`). Both only move forward, so racing sends leave the newest."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Group, Session
from chalicelib.db.sessions import GROUP
from chalicelib.db.transactions import failed_conditions, transaction


def _newer(attribute: NumberAttribute, seq: int) -> Condition:
    return attribute.does_not_exist() | (attribute < seq)


@conflicts.retrying()
def mention_members(group_id: int, member_ids: list[int], seq: int) -> None:
    """One transaction (at most 50 members) raising each member's `mention_seq` to `seq`; members whose session
    is gone, or names a newer mention already, are left as they are (the transaction is sent again without them)."""
    remaining = list(member_ids)
    while remaining:
        try:
            with transaction() as tx:
                for user_id in remaining:
                    tx.update(Session(keys.user_pk(user_id), keys.session_sk(GROUP, group_id)),
                              actions=[Session.mention_seq.set(seq)],
                              condition=Session.PK.exists() & _newer(Session.mention_seq, seq))
            return
        except TransactWriteError as error:
            failed = set(failed_conditions(error))
            if not failed:
                raise
            remaining = [user_id for index, user_id in enumerate(remaining) if index not in failed]


@conflicts.retrying()
def mention_everyone(group_id: int, seq: int, by: int) -> None:
    """The group's newest `at_all` (and who sent it), unless a newer one is there already."""
    try:
        Group(keys.group_pk(group_id), keys.GROUP_META_SK).update(
            actions=[Group.at_all_seq.set(seq), Group.at_all_by.set(by)],
            condition=Group.PK.exists() & _newer(Group.at_all_seq, seq))
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
