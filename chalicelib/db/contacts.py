"""What a viewer may see of other users: their profiles and which of them are friends (emails are for friends)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chalicelib.db import keys
from chalicelib.db.conversations import ConversationHead, head_record
from chalicelib.db.models import Conversation, Friendship, Item, Session, UserProfile
from chalicelib.db.sessions import PRIVATE
from chalicelib.db.users import User, profile_record


@dataclass(frozen=True)
class Contacts:
    viewer: int
    profiles: dict[int, User]
    friends: frozenset[int]
    read_seqs: dict[int, int] = field(default_factory=dict)  # asked for: each side's read position in a private pair

    def may_see_email(self, user_id: int) -> bool:
        """My own email, and my friends' (as in the friend list); nobody else's."""
        return user_id == self.viewer or user_id in self.friends

    def email_of(self, user_id: int) -> str:
        profile = self.profiles.get(user_id)
        return profile.email if profile and self.may_see_email(user_id) else ""


def read(viewer: int, user_ids: Iterable[int], conversation: str | None = None, *, read_positions: int | None = None
         ) -> tuple[Contacts, ConversationHead | None]:
    """Profiles of `user_ids`, the viewer's friendships with them and, given a key, that conversation's head:
    one BatchGetItem per 100 keys. With `read_positions` (a peer), both sides' sessions of that private pair too."""
    wanted = {int(user_id) for user_id in user_ids}
    request = [(keys.user_pk(user_id), keys.PROFILE) for user_id in wanted]
    request += [(keys.user_pk(viewer), keys.friend_sk(user_id)) for user_id in wanted if user_id != viewer]
    if conversation is not None:
        request.append((conversation, keys.CONVERSATION_META_SK))
    if read_positions is not None:
        request += [(keys.user_pk(viewer), keys.session_sk(PRIVATE, read_positions)),
                    (keys.user_pk(read_positions), keys.session_sk(PRIVATE, viewer))]
    read_seqs: dict[int, int] = {}
    profiles: dict[int, User] = {}
    friends: set[int] = set()
    head = None
    for item in Item.batch_get(request) if request else ():
        if isinstance(item, UserProfile):
            user = profile_record(item)
            profiles[user.id] = user
        elif isinstance(item, Friendship):
            friends.add(int(item.to_id))
        elif isinstance(item, Conversation):
            head = head_record(item)
        elif isinstance(item, Session):
            read_seqs[int(item.owner_id)] = int(item.read_seq)
    return Contacts(viewer, profiles, frozenset(friends), read_seqs), head
