"""The one table as PynamoDB models: a base item with PK/SK/GSI1/TTL and one subclass per entity.

Queries always narrow by a sort-key prefix; the discriminator `T` only picks the class to load.
"""
from __future__ import annotations

import os

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

TTL_ATTRIBUTE = "expires_at"


class _Meta:
    table_name = os.environ.get("TABLE_NAME", "philatelic-im")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    connect_timeout_seconds = 2
    read_timeout_seconds = 5
    max_retry_attempts = 3
    max_pool_connections = 32  # the delivery's conversations and the fan-out call at once
    billing_mode = "PAY_PER_REQUEST"


class Gsi1(GlobalSecondaryIndex["Item"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class Item(Model):
    class Meta(_Meta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute(attr_name="T")
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    gsi1 = Gsi1()


def tag(model: type[Item]) -> Action:
    """An update creating an item must also write its discriminator, or reads load a bare Item."""
    return Item.kind.set(model)  # type: ignore[arg-type]


class UserProfile(Item, discriminator="User"):
    user_id = NumberAttribute()
    uid = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute()
    avatar = UnicodeAttribute()
    bio = UnicodeAttribute(default="")
    sex = NumberAttribute(default=0)
    age = NumberAttribute(default=0)
    user_type = NumberAttribute(default=0)
    created_at = NumberAttribute()
    last_login_time = NumberAttribute(default=0)
    read_receipts = NumberAttribute(null=True)  # db/receipts.py: 0 turns read receipts off (absent: on)


class EmailLogin(Item, discriminator="EmailLogin"):
    """Email uniqueness claim, and everything login needs in one read."""

    user_id = NumberAttribute()
    uid = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute()
    avatar = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    token_epoch = NumberAttribute(default=0)  # copied into new tokens; moves with TokenEpoch.epoch


class KnownSource(Item, discriminator="KnownSource"):
    """A source IP the account logged in from; known while `expires_at` (also the TTL) is ahead."""

    last_login = NumberAttribute()


class TokenEpoch(Item, discriminator="TokenEpoch"):
    """A user's tokens whose `ep` claim is below `epoch` are ended (password reset, logout everywhere)."""

    epoch = NumberAttribute(default=0)


class RevokedToken(Item, discriminator="RevokedToken"):
    """One ended token (logout), kept until it would have expired anyway."""

    user_id = NumberAttribute()


class NameClaim(Item, discriminator="NameClaim"):
    user_id = NumberAttribute()
    name = UnicodeAttribute()


class EmailCodes(Item, discriminator="EmailCodes"):
    """Per address: the resend window and, per email_type, the live code's hash and attempts."""

    sent_at = NumberAttribute(default=0)
    day = UnicodeAttribute(default="")
    day_count = NumberAttribute(default=0)
    register_hash = UnicodeAttribute(null=True)
    register_expires = NumberAttribute(null=True)
    register_attempts = NumberAttribute(null=True)
    reset_hash = UnicodeAttribute(null=True)
    reset_expires = NumberAttribute(null=True)
    reset_attempts = NumberAttribute(null=True)


class Throttle(Item, discriminator="Throttle"):
    """Uses of one rate limit by one subject in one fixed window (the window is part of the key), or one token
    bucket of a per-account quota (`due`, chalicelib/db/buckets.py)."""

    uses = NumberAttribute(default=0)
    next_at = NumberAttribute(null=True)  # paced limits: the earliest time of the next use
    due = NumberAttribute(null=True)  # token buckets (db/buckets.py): when the bucket's debt is paid off


class Counter(Item, discriminator="Counter"):
    value = NumberAttribute(default=0)


class ConnectionSet(Item, discriminator="ConnectionSet"):
    """A user's live WebSocket connections as `<connection id>|<expiry>` tokens (BatchGet-able), and whether frames
    are kept for the user (chalicelib/db/pending.py): read in the same BatchGetItem as the connections."""

    tokens = UnicodeSetAttribute(null=True)
    kept = NumberAttribute(null=True)  # present while frames are kept: raised by every keeper that must say so
    kept_until = NumberAttribute(null=True)  # the item outlives the kept frames (its TTL while `kept` is set)
    replayer = UnicodeAttribute(null=True)  # who holds the user's replay, until `replay_until`
    replay_until = NumberAttribute(null=True)


class ConnectionOwner(Item, discriminator="ConnectionOwner"):
    """Who opened a connection, and the connection's frame bucket (`due`, db/buckets.py): each frame's quota write
    answers the owner, so no frame reads it."""

    user_id = NumberAttribute()
    token = UnicodeAttribute()
    connected_at = NumberAttribute()
    due = NumberAttribute(null=True)


class Friendship(Item, discriminator="Friendship"):
    """One direction of a friendship, owned by `form_id` (the origin's im_friends row)."""

    row_id = NumberAttribute()
    form_id = NumberAttribute()
    to_id = NumberAttribute()
    created_at = NumberAttribute()
    note = UnicodeAttribute(default="")
    top_time = NumberAttribute(default=0)
    pinned = NumberAttribute(default=0)


class FriendRequest(Item, discriminator="FriendRequest"):
    """A friend request as seen by one party; both parties hold a copy, updated together."""

    record_id = NumberAttribute()
    form_id = NumberAttribute()
    to_id = NumberAttribute()
    status = NumberAttribute(default=0)
    information = UnicodeAttribute(default="")
    created_at = NumberAttribute()
    requester_session_id = NumberAttribute()
    target_session_id = NumberAttribute()


class PendingRequestGuard(Item, discriminator="PendingRequestGuard"):
    record_id = NumberAttribute()


class Session(Item, discriminator="Session"):
    """A conversation-list entry of its owner (the origin's im_sessions row)."""

    session_id = NumberAttribute()
    owner_id = NumberAttribute()
    to_id = NumberAttribute(default=0)
    group_id = NumberAttribute(default=0)
    channel_type = NumberAttribute()
    conversation = UnicodeAttribute()
    created_at = NumberAttribute()
    top_status = NumberAttribute(default=0)
    top_time = NumberAttribute(default=0)
    note = UnicodeAttribute(default="")
    name = UnicodeAttribute(default="")
    avatar = UnicodeAttribute(default="")
    status = NumberAttribute(default=0)
    deleted_at = NumberAttribute(default=0)
    deleted_seq = NumberAttribute(null=True)  # a removed private session shows again once the head passes this
    read_seq = NumberAttribute(default=0)
    history_from = NumberAttribute(default=0)  # a group session shows nothing up to this sequence (the join)
    mention_seq = NumberAttribute(null=True)  # db/mentions.py: the newest message mentioning the owner by id
    mute_until = NumberAttribute(null=True)  # db/mutes.py: the owner muted this conversation until then (-1 forever)


class SessionIndex(Item, discriminator="SessionIndex"):
    """Owner + session id → the peer whose session it is."""

    channel_type = NumberAttribute()
    peer_id = NumberAttribute()


class Conversation(Item, discriminator="Conversation"):
    """A private pair's or a group's message stream: the last sequence taken, and the newest message as its send
    wrote it (`sent`; `fresh` marks the write that was that send: its stream record delivers the message). The
    preview fields are what the session list shows: a recall or an edit of the newest message changes them, not
    the message."""

    last_seq = NumberAttribute(default=0)
    # JSON of the newest message's send-time attributes (a Message item's, db/messages.py): one attribute, so the
    # send's write stays one short update expression
    sent = UnicodeAttribute(null=True)
    fresh = BooleanAttribute(null=True)  # true on a send's write; every other write of the head removes it
    last_content = UnicodeAttribute(null=True)  # the preview when it is not the message's text (recall, edit)
    last_msg_type = NumberAttribute(default=0)
    last_sender = NumberAttribute(default=0)
    last_send_time = NumberAttribute(default=0)
    last_recalled_msg_type = NumberAttribute(default=0)  # the last message was recalled: its original type
    # private pairs: who of the two blocks the other (chalicelib/db/blocks.py); every private send reads it here
    blocked_by = NumberSetAttribute(null=True)


class Message(Item, discriminator="Message"):
    """One message of a conversation; SK order is the conversation's sequence."""

    seq = NumberAttribute()
    msg_id = NumberAttribute()
    msg_client_id = NumberAttribute()
    form_id = NumberAttribute()
    to_id = NumberAttribute()
    channel_type = NumberAttribute()
    msg_type = NumberAttribute()
    content = UnicodeAttribute(default="")
    data = UnicodeAttribute(default="")
    send_time = NumberAttribute()
    sender_name = UnicodeAttribute(default="")
    sender_avatar = UnicodeAttribute(default="")
    recalled_at = NumberAttribute(default=0)
    recalled_by = NumberAttribute(null=True)  # set with recalled_at: the recall frame names who recalled
    notice = UnicodeAttribute(null=True)  # group notices (msg_type 6): join, leave, removed, owner, dissolved
    # what the last change to a stored message was ("recall", "edit"), so the delivery knows which frame it makes
    change = UnicodeAttribute(null=True)
    edited_at = NumberAttribute(null=True)
    edit_count = NumberAttribute(null=True)  # previous versions kept as MessageEdit items (db/edits.py)
    reply_to = NumberAttribute(null=True)  # db/message_extras.py: the message this one replies to
    quote = UnicodeAttribute(null=True)  # JSON {form_id, msg_type, content}: the replied-to message when written
    at_ids = NumberSetAttribute(null=True)  # the members mentioned
    at_all = NumberAttribute(null=True)  # 1: every member is mentioned


class MessageEdit(Item, discriminator="MessageEdit"):
    """A previous version of an edited message, in its conversation's partition (db/edits.py)."""

    seq = NumberAttribute()
    version = NumberAttribute()  # 0: the text as sent
    content = UnicodeAttribute()
    written_at = NumberAttribute()  # when this version was sent or written by an edit
    replaced_at = NumberAttribute()


class Pin(Item, discriminator="Pin"):
    """A pinned message, in its conversation's partition (db/pins.py)."""

    seq = NumberAttribute()
    pinned_by = NumberAttribute()
    pinned_at = NumberAttribute()


class PinBoard(Item, discriminator="PinBoard"):
    """How many messages of the conversation are pinned: the limit's condition (apart from the head, which every
    send writes)."""

    pinned = NumberAttribute(default=0)


class Reactions(Item, discriminator="Reactions"):
    """One message's reactions (db/reactions.py): besides these, one number set per emoji (`u:<emoji>`, the users who
    reacted with it), written and read with the low-level client because PynamoDB has no dynamic attributes."""

    seq = NumberAttribute()
    emoji = UnicodeSetAttribute(null=True, attr_name="e")  # the distinct emoji (at most 20)


class Block(Item, discriminator="Block"):
    """A user the partition's user blocked (mirrored in the pair's Conversation.blocked_by, in one transaction)."""

    blocker_id = NumberAttribute()
    blocked_id = NumberAttribute()
    created_at = NumberAttribute()


class ClientMessageClaim(Item, discriminator="ClientMessageClaim"):
    """A sender's client id, taken by the message `msg_id` at `seq` of `conversation` (db/messages.py)."""

    conversation = UnicodeAttribute()
    seq = NumberAttribute()
    msg_id = NumberAttribute(null=True)


class BotMemory(Item, discriminator="BotMemory"):
    reply = UnicodeAttribute()


class Group(Item, discriminator="Group"):
    group_id = NumberAttribute()
    owner_id = NumberAttribute()
    name = UnicodeAttribute()
    info = UnicodeAttribute(default="")
    avatar = UnicodeAttribute(default="")
    theme = UnicodeAttribute(default="")
    is_pwd = NumberAttribute(default=0)
    password_hash = UnicodeAttribute(null=True)
    hot = NumberAttribute(default=0)
    created_at = NumberAttribute()
    member_count = NumberAttribute(default=0)
    active = NumberAttribute(default=0)
    at_all_seq = NumberAttribute(null=True)  # db/mentions.py: the newest message mentioning every member
    at_all_by = NumberAttribute(null=True)  # its sender
    mute_all = NumberAttribute(null=True)  # db/mutes.py: 1 while only the owner and admins may speak


class GroupMember(Item, discriminator="GroupMember"):
    """A membership; written with its user-side copy (`GroupMembership`) in one transaction."""

    group_id = NumberAttribute()
    user_id = NumberAttribute()
    role = UnicodeAttribute()
    joined_at = NumberAttribute()
    joined_seq = NumberAttribute(default=0)  # the group's last sequence at the join: history starts after it
    silenced_until = NumberAttribute(null=True)  # db/mutes.py: an owner or admin silenced this member until then
    mute_until = NumberAttribute(null=True)  # db/mutes.py: the member's own mute of the group (a copy of its session's)


class GroupMembership(Item, discriminator="GroupMembership"):
    group_id = NumberAttribute()
    role = UnicodeAttribute()


class GroupInvite(Item, discriminator="GroupInvite"):
    group_id = NumberAttribute()
    created_by = NumberAttribute()
    max_uses = NumberAttribute(default=0)
    uses = NumberAttribute(default=0)
    expire_time = NumberAttribute()
    revoked = NumberAttribute(default=0)


class ServerGroup(Item, discriminator="ServerGroup"):
    """A 圈组 server (times in unix ms). GSI1 is set only while it is live, so owner pages never read removed ones."""

    server_id = NumberAttribute()
    owner_id = NumberAttribute()
    name = UnicodeAttribute()
    icon = UnicodeAttribute(default="")
    custom = UnicodeAttribute(default="")
    invite_mode = NumberAttribute(default=0)
    apply_mode = NumberAttribute(default=0)
    search_type = NumberAttribute(default=0)
    search_enable = NumberAttribute(default=1)
    member_number = NumberAttribute(default=1)
    create_time = NumberAttribute()
    update_time = NumberAttribute()
    valid_flag = NumberAttribute(default=1)


class Outbox(Item, discriminator="Outbox"):
    """Frames a committed write asks the delivery function to push, written in that write's transaction.

    It lives in the partition of the conversation it concerns, so its stream record is delivered in order with that
    conversation's messages; it expires soon after, as it has no use once its stream record was read."""

    deliveries = UnicodeAttribute()  # JSON [[user_id, frame], ...]


class DeliveryProgress(Item, discriminator="DeliveryProgress"):
    """What a delivery batch that reported a failure still owed, for its retry (chalicelib/db/pending.py)."""

    owed = UnicodeAttribute()  # JSON {sequence number: {user id: [connection ids that got the frame]}}


class PendingEvent(Item, discriminator="PendingEvent"):
    """A frame kept for a user; replayed in SK order by the holder of the user's replay, deleted once posted.
    A replay whose post failed for some socket notes the sockets that took it (`got`) and counts the try."""

    frame = UnicodeAttribute()
    got = UnicodeSetAttribute(null=True)
    tries = NumberAttribute(null=True)


__all__ = [
    "TTL_ATTRIBUTE",
    "ConnectionOwner",
    "ConnectionSet",
    "Counter",
    "DeliveryProgress",
    "Block",
    "BotMemory",
    "ClientMessageClaim",
    "Conversation",
    "Message",
    "MessageEdit",
    "EmailCodes",
    "Group",
    "GroupInvite",
    "GroupMember",
    "GroupMembership",
    "FriendRequest",
    "Friendship",
    "PendingRequestGuard",
    "Session",
    "SessionIndex",
    "EmailLogin",
    "RevokedToken",
    "TokenEpoch",
    "Item",
    "Throttle",
    "NameClaim",
    "Outbox",
    "PendingEvent",
    "Pin",
    "PinBoard",
    "Reactions",
    "ServerGroup",
    "UserProfile",
]
