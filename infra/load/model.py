"""What the run did and saw: users, sends, recalls, frames; shared by setup, traffic, verification and report."""
from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.db import keys
from infra.load.api import Answer
from infra.load.sockets import Received, UserSocket

PRIVATE, GROUP = 1, 2


@dataclass
class User:
    id: int
    email: str
    token: str
    socket: UserSocket
    friends: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Sent:
    sender: int
    channel: int
    to_id: int
    client_id: int
    started: float  # time.monotonic() when the HTTP send started
    answer: Answer
    recipients: frozenset[int]  # every user whose sockets must get the chat frame (group: the sender included)

    @property
    def conversation(self) -> str:
        return conversation_key(self.channel, self.sender, self.to_id)

    @property
    def seq(self) -> int | None:
        return int(self.answer.data["id"]) if self.answer.ok and isinstance(self.answer.data, dict) else None


@dataclass(frozen=True)
class Recall:
    message: Sent
    answer: Answer


@dataclass
class World:
    users: dict[int, User] = field(default_factory=dict)
    members: dict[int, set[int]] = field(default_factory=dict)  # group id → member ids
    sent: list[Sent] = field(default_factory=list)
    recalls: list[Recall] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    drops: int = 0
    pending_left: int = 0  # users with kept events still in the table after the final reconnects
    phases: dict[str, float] = field(default_factory=dict)  # phase name → seconds


def conversation_key(channel: int, sender: int, to_id: int) -> str:
    return keys.group_conversation(to_id) if channel == GROUP else keys.private_conversation(sender, to_id)
