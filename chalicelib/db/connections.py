"""WebSocket connections: user → live connection tokens (one item, BatchGet-able) and connection → user.

A connection's token in the user's set is `<connection id>|<expiry>|<jti>`: the jti of the login token it opened
with, so that logging that token out closes its sockets (sets written before the jti was kept have no third part).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import size

from chalicelib.db import buckets, conflicts, keys, tokens
from chalicelib.db.models import ConnectionOwner, ConnectionSet, Item, tag
from chalicelib.db.transactions import failed_conditions, transaction

OWNER_SK = "OWNER"
LIFETIME_SECONDS = 2 * 3600 + 600  # API Gateway closes a WebSocket after 2 hours; ours outlives it
# A connection's first frame within this long of its opening (the client's heartbeat) replays its user's kept
# frames: a trigger that costs nothing on later heartbeats. Only how soon; order and exactly-once never depend on it
REPLAY_WINDOW_SECONDS = 15


@dataclass(frozen=True)
class LiveConnection:
    connection_id: str
    user_id: int
    token: str

    @property
    def jti(self) -> str:
        """The id of the login token this connection opened with ("" for connections older than the field)."""
        return _parse(self.token)[2]


@dataclass(frozen=True)
class Reach:
    """One user as the delivery sees it: the live connections, and `kept` (0 when no frame is kept for the user,
    otherwise a number every keeper that must say so raises), and who holds the user's replay, if anyone."""

    connections: list[LiveConnection]
    kept: int = 0
    replayer: str = ""

    @property
    def latest_expiry(self) -> int:
        return max((_parse(connection.token)[1] for connection in self.connections), default=0)


def _user_of(item: Item) -> int:
    return int(item.PK.split("#", 1)[1])


def reach_of(item: ConnectionSet, now: float) -> Reach:
    user_id = _user_of(item)
    live = [LiveConnection(connection_id, user_id, token) for token in item.tokens or ()
            for connection_id, expires, _ in [_parse(token)] if expires > now]
    holder = item.replayer or ""
    return Reach(live, int(item.kept or 0), holder if (item.replay_until or 0) > now else "")


def _token(connection_id: str, expires: int, jti: str) -> str:
    return f"{connection_id}|{expires}|{jti}"


def _parse(token: str) -> tuple[str, int, str]:
    """API Gateway connection ids and token ids never contain "|"."""
    connection_id, expires, jti = (token.split("|") + ["", ""])[:3]
    return connection_id, int(expires or 0), jti


class TokenEnded(Exception):
    """The token the connection presented was ended (logout, password reset)."""


class AtCapacity(Exception):
    """The user already holds the most connections allowed."""


@dataclass(frozen=True)
class Presented:
    """The token a connection opens with: its id and epoch are checked in the same write."""

    jti: str
    epoch: int


@conflicts.retrying()
def add(connection_id: str, user_id: int, now: float, lifetime_seconds: int, presented: Presented,
        max_connections: int) -> None:
    """Both directions in one transaction (one write call), which also checks the token is still live, so a
    token ended before the write commits never gets a connection, and that the user holds fewer than
    `max_connections` (AtCapacity otherwise: however many connect at once, the set never grows past it)."""
    expires = int(now + lifetime_seconds)
    token = _token(connection_id, expires, presented.jti)
    owner = ConnectionOwner(keys.connection_pk(connection_id), OWNER_SK, user_id=user_id, token=token,
                            connected_at=int(now), expires_at=expires)
    try:
        with transaction() as tx:
            tokens.add_liveness_checks(tx, user_id, presented.jti, presented.epoch)
            tx.save(owner)
            tx.update(
                ConnectionSet(keys.user_pk(user_id), keys.CONNECTIONS_SK),
                # while frames are kept, the set lives as long as they do (pending.py)
                actions=[tag(ConnectionSet), ConnectionSet.tokens.add({token}),
                         ConnectionSet.expires_at.set(ConnectionSet.kept_until | expires)],
                condition=ConnectionSet.tokens.does_not_exist() | (size(ConnectionSet.tokens) < max_connections),
            )
    except TransactWriteError as error:
        failed = set(failed_conditions(error))
        if failed & {0, 1}:  # the condition checks come first, then the put, then the update
            raise TokenEnded(user_id) from error
        if 3 in failed:
            raise AtCapacity(user_id) from error
        raise


@conflicts.retrying()
def take_oldest(user_id: int) -> LiveConnection | None:
    """Remove the user's oldest connection from their set and return it; None when another caller took it first
    (each token leaves the set once, so concurrent callers never take the same one)."""
    try:
        current = ConnectionSet.get(keys.user_pk(user_id), keys.CONNECTIONS_SK, consistent_read=True)
    except ConnectionSet.DoesNotExist:
        return None
    if not current.tokens:
        return None
    oldest = min(current.tokens, key=lambda token: (_parse(token)[1], token))
    try:
        current.update(actions=[ConnectionSet.tokens.delete({oldest})], condition=ConnectionSet.tokens.contains(oldest))
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return LiveConnection(_parse(oldest)[0], user_id, oldest)


@conflicts.retrying()
def remove(connection_id: str) -> LiveConnection | None:
    """Forget a connection; returns who owned it, or None when it was already gone."""
    table = ConnectionOwner._get_connection()
    old = table.delete_item(keys.connection_pk(connection_id), OWNER_SK, return_values="ALL_OLD")
    attributes = old.get("Attributes")
    if not attributes:
        return None
    removed = ConnectionOwner.from_raw_data(attributes)
    discard_tokens(int(removed.user_id), [removed.token])
    return LiveConnection(connection_id, int(removed.user_id), removed.token)


@conflicts.retrying()
def discard_tokens(user_id: int, tokens: Iterable[str]) -> None:
    tokens = set(tokens)
    if tokens:
        ConnectionSet(keys.user_pk(user_id), keys.CONNECTIONS_SK).update(actions=[ConnectionSet.tokens.delete(tokens)])


@conflicts.retrying()
def discard(connections: Iterable[LiveConnection]) -> None:
    """Forget connections that API Gateway says are gone."""
    by_user: dict[int, list[str]] = {}
    for connection in connections:
        by_user.setdefault(connection.user_id, []).append(connection.token)
        try:
            ConnectionOwner(keys.connection_pk(connection.connection_id), OWNER_SK).delete()
        except DeleteError:
            pass  # already gone: the goal is reached
    for user_id, user_tokens in by_user.items():
        discard_tokens(user_id, user_tokens)


def live_connections(user_ids: Iterable[int], now: float) -> dict[int, list[LiveConnection]]:
    """Every unexpired connection of each user: one BatchGetItem per 100 users."""
    return {user_id: found.connections for user_id, found in reach(user_ids, now)[0].items()}


def reach(user_ids: Iterable[int], now: float, *, also: Iterable[tuple[str, str]] = (),
          consistent: bool = False) -> tuple[dict[int, Reach], list[Item]]:
    """Each user's connections and kept-frames marker (one BatchGetItem per 100 keys), and the items of `also`
    read in the same call (the delivery's record of a failed batch)."""
    wanted = {int(user_id) for user_id in user_ids}
    result: dict[int, Reach] = {user_id: Reach([]) for user_id in wanted}
    others: list[Item] = []
    item_keys = [(keys.user_pk(user_id), keys.CONNECTIONS_SK) for user_id in wanted] + list(also)
    if not item_keys:
        return result, others
    for item in Item.batch_get(item_keys, consistent_read=consistent):
        if isinstance(item, ConnectionSet):
            result[_user_of(item)] = reach_of(item, now)
        else:
            others.append(item)
    return result, others


def take_frame(connection_id: str, bucket: buckets.Bucket, now: float) -> int | None:
    """A frame of the connection takes a unit of its frame bucket, kept on its owner item: one conditional
    UpdateItem, which answers the owner (BucketEmpty when the bucket is spent). None when the connection has no owner
    (closed to make room while its own `$connect` ran, or already gone): nothing is written for it."""
    try:
        item = buckets.spend_on_item(keys.connection_pk(connection_id), OWNER_SK, bucket, 1, now)
    except buckets.ItemMissing:
        return None
    return int(item["user_id"]["N"])
