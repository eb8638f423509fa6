"""Every key format of the single table, and nowhere else. See docs/data-model.md."""
from __future__ import annotations

PROFILE = "PROFILE"
SEQ_WIDTH = 12


def seq(number: int) -> str:
    """Zero-padded so string order is numeric order."""
    return str(number).zfill(SEQ_WIDTH)


def user_pk(user_id: int) -> str:
    return f"USER#{user_id}"


def email_pk(email: str) -> str:
    return f"EMAIL#{email.lower()}"


def name_pk(name: str) -> str:
    return f"NAME#{name.casefold()}"


EMAIL_SK = "EMAIL"


def known_source_sk(source_ip: str) -> str:
    """A source the account logged in from (in the account's `EMAIL#` partition, beside its `EMAIL` item)."""
    return f"SOURCE#{source_ip}"


def email_codes_pk(email: str) -> str:
    return f"EMAILCODE#{email.lower()}"


THROTTLE_SK = "LIMIT"


def throttle_pk(scope: str, subject: str, window: int) -> str:
    """One rate limit (`scope`) for one subject (an address, a source IP, a user…) in one fixed window."""
    return f"LIMIT#{scope}#{subject}#{window}"


BUCKET_SK = "BUCKET"


def bucket_pk(scope: str, subject: str) -> str:
    """One token bucket (`scope`, e.g. "private-sends") of one subject (a user id, a connection id)."""
    return f"LIMIT#{scope}#{subject}"


TOKEN_EPOCH_SK = "TOKENS"
REVOKED_TOKEN_SK = "REVOKED"


def revoked_token_pk(jti: str) -> str:
    return f"JTI#{jti}"


def counter_pk(kind: str) -> str:
    return f"COUNTER#{kind}"


def connection_pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


CONNECTIONS_SK = "CONNS"
PENDING_PREFIX = "PENDING#"


DELIVERY_PROGRESS_SK = "OWED"


def delivery_progress_pk(sequence: str) -> str:
    """A failed delivery batch's record, under the stream sequence number its retry starts from."""
    return f"DELIVERY#{sequence}"


def pending_sk(ordering_key: str) -> str:
    return f"{PENDING_PREFIX}{ordering_key}"


def friend_sk(other_id: int) -> str:
    return f"FRIEND#{other_id}"


FRIEND_PREFIX = "FRIEND#"
BLOCK_PREFIX = "BLOCK#"


def block_sk(blocked_id: int) -> str:
    """In the blocker's partition: "my blocked users" is one Query, "does X block me" one key."""
    return f"{BLOCK_PREFIX}{blocked_id}"

REQUEST_PREFIX = "REQ#"


def request_sk(record_id: int) -> str:
    return f"{REQUEST_PREFIX}{seq(record_id)}"


def pending_request_sk(to_id: int) -> str:
    """Present while a request from the partition's user to `to_id` waits for an answer."""
    return f"PENDINGREQ#{to_id}"


SESSION_PREFIX = "SESSION#"


def session_sk(channel_type: int, peer_id: int) -> str:
    """Keyed by peer, so there is at most one session per peer and read marks need no lookup."""
    return f"{SESSION_PREFIX}{channel_type}#{peer_id}"


def session_id_sk(session_id: int) -> str:
    """Session id → peer, for the routes that name a session by its numeric id."""
    return f"SESSIONID#{session_id}"


def private_conversation(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"CONV#P#{low}#{high}"


def group_conversation(group_id: int) -> str:
    return f"CONV#G#{group_id}"


def name_index_pk(name: str) -> str:
    """Name-prefix search partition: by first character, so a prefix query reads one bounded range."""
    return f"NAMEIDX#{name.casefold()[:1]}"


MESSAGE_PREFIX = "MSG#"
CONVERSATION_META_SK = "META"
OUTBOX_PREFIX = "OUTBOX#"


def outbox_sk(ordering_key: str) -> str:
    return f"{OUTBOX_PREFIX}{ordering_key}"


def message_sk(seq_number: int) -> str:
    return f"{MESSAGE_PREFIX}{seq(seq_number)}"


def message_edits_prefix(seq_number: int) -> str:
    return f"EDIT#{seq(seq_number)}#"


def message_edit_sk(seq_number: int, version: int) -> str:
    """A previous version of message `seq_number` (0: as sent), in the conversation's partition, oldest first."""
    return f"{message_edits_prefix(seq_number)}{version:03d}"


PIN_PREFIX = "PIN#"
PIN_BOARD_SK = "PINS"


def pin_sk(seq_number: int) -> str:
    """A pinned message, in the conversation's partition."""
    return f"{PIN_PREFIX}{seq(seq_number)}"


REACTIONS_PREFIX = "REACT#"


def reactions_sk(seq_number: int) -> str:
    """A message's reactions (who reacted with which emoji), in the conversation's partition, in history order."""
    return f"{REACTIONS_PREFIX}{seq(seq_number)}"


def reacted_attribute(emoji: str) -> str:
    """The attribute of a Reactions item holding the ids of the users who reacted with `emoji` (a number set)."""
    return f"u:{emoji}"


def client_message_pk(sender_id: int, msg_client_id: int) -> str:
    """Idempotency of sends: one claim per (sender, client message id)."""
    return f"CLIENTMSG#{sender_id}#{msg_client_id}"


def bot_memory_sk(key: str) -> str:
    return f"BOTMEMORY#{key}"


def group_pk(group_id: int) -> str:
    return f"GROUP#{group_id}"


GROUP_META_SK = "META"
MEMBER_PREFIX = "MEMBER#"
MEMBER_OF_PREFIX = "MEMBEROF#"


def member_sk(user_id: int) -> str:
    return f"{MEMBER_PREFIX}{user_id}"


def member_of_sk(group_id: int) -> str:
    """The user-side copy of a membership, so "my groups" is one Query."""
    return f"{MEMBER_OF_PREFIX}{group_id}"


def invite_pk(token: str) -> str:
    return f"INVITE#{token}"


SERVER_SK = "SERVER"
SERVER_QUOTA_SK = "SERVERQUOTA"
SERVER_CLOCK_SK = "SERVERCLOCK"
SERVER_TIME_WIDTH = 15


def server_pk(server_id: int) -> str:
    return f"SERVER#{server_id}"


def server_owner_pk(owner_id: int) -> str:
    """GSI1 partition of an owner's live servers."""
    return f"SERVEROWNER#{owner_id}"


def server_time(create_time_ms: int) -> str:
    """Zero-padded unix ms; also the exclusive upper bound of a `timetag` page."""
    return str(create_time_ms).zfill(SERVER_TIME_WIDTH)


def server_owner_sk(create_time_ms: int, server_id: int) -> str:
    """GSI1 sort key: string order is createTime order (unique per owner), then id."""
    return f"{server_time(create_time_ms)}#{seq(server_id)}"
