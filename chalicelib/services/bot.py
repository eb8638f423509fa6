"""The bot (user id 1): greets new users and answers messages addressed to it, with per-user memory."""
from __future__ import annotations

from chalicelib import clock
from chalicelib.db import bot_memory, counters, keys, sessions, users
from chalicelib.db.messages import new_msg_id
from chalicelib.db.sessions import PRIVATE, SessionRecord
from chalicelib.db.users import User
from chalicelib.services import conversation

BOT_ID = 1
BOT_NAME = "机器人"
GREETINGS = (f"您好呀~ 我是{BOT_NAME}~🥰", "我们来玩个游戏吧！你问我答~！👋")
LEARNED = "很不错就是这样~"
BAD_FORMAT = "格式不对呀~"
UNKNOWN = "没明白您的意思-暂时还不知道说啥~~~ 你可以通过 xxx:xxx 指令定义消息😊"
MAX_KEY, MAX_REPLY = 100, 1000


def ensure_bot() -> None:
    """Idempotent: the first registration (or the local bootstrap) creates the bot's profile."""
    from chalicelib.services.auth import default_avatar

    users.ensure_profile(User(id=BOT_ID, uid="00000000-0000-4000-8000-000000000001", name=BOT_NAME, email="",
                              avatar=default_avatar("bot"), user_type=1, created_at=clock.now()))


def _say(user_id: int, text: str) -> None:
    """Posted like any message; the delivery function pushes it to the user."""
    conversation.post(
        conversation=keys.private_conversation(BOT_ID, user_id), sender_id=BOT_ID, to_id=user_id,
        channel_type=PRIVATE, msg_type=1, content=text, data="", msg_client_id=new_msg_id(clock.now_ms()),
        relation=None, refusal="")


def greet(user: User) -> None:
    ensure_bot()
    now = clock.now()
    bot = users.get_user(BOT_ID)
    sessions.create_or_revive(SessionRecord(
        id=counters.next_value("id"), owner_id=user.id, to_id=BOT_ID, group_id=0,
        channel_type=PRIVATE, conversation=keys.private_conversation(user.id, BOT_ID), created_at=now,
        name=BOT_NAME, avatar=bot.avatar if bot else "", note=BOT_NAME, top_time=now))
    for text in GREETINGS:
        _say(user.id, text)


def answer_for(user_id: int, text: str) -> str:
    """§6.9 rules; learned `key:value` pairs belong to each user."""
    colons = text.count(":")
    if colons == 1:
        key, value = (part.strip() for part in text.split(":"))
        if not key or not value or len(key) > MAX_KEY or len(value) > MAX_REPLY:
            return BAD_FORMAT
        bot_memory.remember(user_id, key, value)
        return LEARNED
    if colons > 1:
        return BAD_FORMAT
    return bot_memory.recall(user_id, text.strip()) or UNKNOWN


def reply(user_id: int, text: str) -> None:
    _say(user_id, answer_for(user_id, text))
