"""Blocks: a Block item in the blocker's partition and the blocker's id in the pair's `Conversation.blocked_by`,
written in one transaction.

The head is the item every private send already reads (db/messages.send_context) and writes (its append is
conditioned on the head not naming the peer), so checking a block costs a send nothing, and a block that commits
before a send's write refuses that send whatever the send read before.
"""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Block, Conversation, Friendship, Item, tag
from chalicelib.db.transactions import failed_conditions, transaction


@dataclass(frozen=True)
class BlockRecord:
    blocked_id: int
    created_at: float


def _head(me: int, other: int) -> Conversation:
    return Conversation(keys.private_conversation(me, other), keys.CONVERSATION_META_SK)


@conflicts.retrying()
def block(me: int, other: int, now: float) -> bool:
    """False when `me` already blocks `other` (nothing written). A pair that never spoke gets its head here, at
    sequence 0, so the block has somewhere to live."""
    try:
        with transaction() as tx:
            tx.save(Block(keys.user_pk(me), keys.block_sk(other), blocker_id=me, blocked_id=other, created_at=now),
                    condition=Block.PK.does_not_exist())
            tx.update(_head(me, other), actions=[
                tag(Conversation), Conversation.last_seq.set(Conversation.last_seq | 0), Conversation.fresh.remove(),
                Conversation.blocked_by.add({me})])
    except TransactWriteError as error:
        if failed_conditions(error):
            return False
        raise
    return True


@conflicts.retrying()
def unblock(me: int, other: int) -> bool:
    """False when `me` does not block `other` (nothing written)."""
    try:
        with transaction() as tx:
            tx.delete(Block(keys.user_pk(me), keys.block_sk(other)), condition=Block.PK.exists())
            tx.update(_head(me, other), actions=[Conversation.fresh.remove(), Conversation.blocked_by.delete({me})],
                      condition=Conversation.PK.exists())
    except TransactWriteError as error:
        if failed_conditions(error):
            return False
        raise
    return True


def blocked_by_me(me: int) -> list[BlockRecord]:
    """Newest first (one Query of my partition's blocks)."""
    found = [BlockRecord(int(item.blocked_id), float(item.created_at))
             for item in Item.query(keys.user_pk(me), Item.SK.startswith(keys.BLOCK_PREFIX)) if isinstance(item, Block)]
    return sorted(found, key=lambda record: record.created_at, reverse=True)


def hidden_from_search(me: int, candidates: list[int]) -> set[int]:
    """Which candidates a search by `me` leaves out: my friends and those who block me, in one BatchGetItem per 50
    candidates."""
    if not candidates:
        return set()
    wanted = set(candidates)
    request = [(keys.user_pk(me), keys.friend_sk(other)) for other in wanted]
    request += [(keys.user_pk(other), keys.block_sk(me)) for other in wanted]
    hidden: set[int] = set()
    for item in Item.batch_get(request):
        if isinstance(item, Friendship):
            hidden.add(int(item.to_id))
        elif isinstance(item, Block):
            hidden.add(int(item.blocker_id))
    return hidden
