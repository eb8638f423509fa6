"""Registration by email code, login, password reset. No Chalice here; persistence through chalicelib.db."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from chalicelib import clock
from chalicelib.config import get_jwt_secret, get_settings
from chalicelib.db import connections, counters, email_codes, login_sources, throttles, tokens, users
from chalicelib.db.email_codes import CodeUse
from chalicelib.db.users import UniquenessConflict, User
from chalicelib.errors import InvalidInput, RateLimited, UpstreamFailure
from chalicelib.mail import templates
from chalicelib.mail.ses import MailFailure, send
from chalicelib.realtime import push
from chalicelib.security import limits, revocation
from chalicelib.security.passwords import check_new_password, hash_password, verify_password
from chalicelib.security.tokens import Claims, issue_token
from chalicelib.services import bot
from chalicelib.services.after_commit import after_commit
from chalicelib.ws import frames

REGISTER, RESET = 1, 2
CODE_DIGITS = 6
BOT_USER_ID = 1
MAX_NAME_LENGTH = 20
GENERIC_LOGIN_FAILURE = "email or password is incorrect"
SLOWED_LOGIN = ("this address is receiving many login attempts from new networks "
                "(a network you logged in from before is not slowed)")
PASSWORD_CHANGED = "your password was changed; please log in again"
LOGGED_OUT_EVERYWHERE = "you logged out on every device; please log in again"
LOGGED_OUT = "you logged out on this device; please log in again"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _code_hash(email: str, purpose: int, code: str) -> str:
    message = f"{email}|{purpose}|{code.strip()}".encode()
    return hmac.new(get_jwt_secret().encode("utf-8"), message, hashlib.sha256).hexdigest()


def _seconds_until_utc_midnight(now: float) -> int:
    return 86400 - int(now) % 86400


def send_email_code(email: str, purpose: int, source_ip: str) -> None:
    """Same answer whether or not the address is registered; only the email's content differs. Besides the
    per-address limits, a source IP may ask for EMAIL_CODES_PER_SOURCE_HOUR codes an hour and
    EMAIL_CODES_PER_SOURCE_DAY a day (counted alike for registered and unknown addresses)."""
    settings = get_settings()
    email = normalise_email(email)
    now = clock.now()
    day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
    registered, state = email_codes.read_for_sending(email)
    waited = now - state.sent_at
    if state.sent_at and waited < settings.email_code_cooldown_seconds:
        raise RateLimited("a code was sent moments ago",
                          int(settings.email_code_cooldown_seconds - waited) + 1)
    if state.day == day and state.day_count >= settings.email_codes_per_day:
        raise RateLimited("too many codes for this address today",
                          _seconds_until_utc_midnight(now))
    hourly = limits.take("email-code-source-hour", source_ip, settings.email_codes_per_source_hour, 3600,
                         "too many verification codes requested from your network")
    with limits.given_back_if_refused(hourly):
        limits.take("email-code-source-day", source_ip, settings.email_codes_per_source_day, 86400,
                    "too many verification codes requested from your network today")
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    message = None
    code_hash = None
    if purpose == REGISTER and registered:
        message = templates.already_registered_email(email)
    elif purpose == REGISTER or registered:
        code_hash = _code_hash(email, purpose, code)
        message = templates.code_email(email, code, purpose, settings.email_code_ttl_seconds // 60)
    if not email_codes.store_sent(email, purpose, state, code_hash, now=now, day=day,
                                  code_ttl=settings.email_code_ttl_seconds):
        raise RateLimited("a code was sent moments ago",
                          settings.email_code_cooldown_seconds)
    if message is None:
        return
    try:
        send(message)
    except MailFailure as exc:
        email_codes.restore(email, state, now)
        raise UpstreamFailure("the email could not be sent; check the address and try again") from exc


def _checked_code(email: str, purpose: int, code: str) -> CodeUse:
    """The attempt is counted before the comparison (one conditional write), so a parallel burst gets exactly
    EMAIL_CODE_MAX_ATTEMPTS comparisons and every later attempt finds the code dead."""
    now = clock.now()
    stored = email_codes.take_attempt(email, purpose, now, get_settings().email_code_max_attempts)
    if stored is None:
        raise InvalidInput("verification code is invalid or expired; request a new one")
    code_hash = _code_hash(email, purpose, code)
    if not hmac.compare_digest(stored, code_hash):
        raise InvalidInput("verification code is incorrect")
    return CodeUse(email, purpose, code_hash, now)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("name is required")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"name must be at most {MAX_NAME_LENGTH} characters")
    return name


def default_avatar(seed: str) -> str:
    from urllib.parse import quote

    return get_settings().default_avatar_url.format(seed=quote(seed, safe=""))


def register(email: str, name: str, password: str, password_repeat: str, code: str) -> User:
    """Create the account, then the bot's session and greetings."""
    user = create_account(email, name, password, password_repeat, code)
    after_commit("bot greeting", lambda: bot.greet(user), user_id=user.id)
    return user


def create_account(email: str, name: str, password: str, password_repeat: str, code: str) -> User:
    email = normalise_email(email)
    name = _check_name(name)
    check_new_password(password, password_repeat)
    code_use = _checked_code(email, REGISTER, code)
    password_hash = hash_password(password)
    user_id = counters.next_value("user") + BOT_USER_ID
    now = clock.now()
    user = User(id=user_id, uid=str(uuid.uuid4()), name=name, email=email, avatar=default_avatar(name),
                created_at=now, last_login_time=now)
    try:
        users.create_user(user, password_hash, code_use)
    except UniquenessConflict as conflict:
        raise InvalidInput({
            "email": "this email is already registered",
            "name": "this name is already taken",
            "code": "verification code is invalid or already used; request a new one",
        }.get(conflict.field, "registration conflicted with another request; please retry")) from conflict
    return user


def login(email: str, password: str, source_ip: str) -> dict[str, Any]:
    """Each attempt is counted before its bcrypt check, so a parallel burst gets no more checks than allowed.
    Failures count per (address, source) and per source, so failures from one source never lock the owner out
    from another. Across all sources an address is paced after its free attempts, except from a source that
    logged in to it before (within LOGIN_KNOWN_SOURCE_DAYS): an attacker who takes every paced slot slows
    strangers, never the owner's own networks."""
    settings = get_settings()
    email = normalise_email(email)
    window = settings.login_failure_window_seconds
    now = clock.now()
    source = limits.take("login-source", source_ip, settings.login_failures_per_source, window,
                         "too many failed logins from your network")
    with limits.given_back_if_refused(source):
        pair = limits.take("login-pair", f"{email}|{source_ip}", settings.login_max_failures, window,
                           "too many failed logins for this address from your network")
        with limits.given_back_if_refused(pair):  # being slowed down is not a failure of this source
            view = login_sources.read(email, source_ip, now)
            if not view.source_known:
                limits.pace("login-address", email, settings.login_free_attempts_per_address, window,
                            settings.login_slow_seconds, SLOWED_LOGIN)
    record = view.record
    if not verify_password(password, record.password_hash if record else None) or record is None:
        raise InvalidInput(GENERIC_LOGIN_FAILURE)
    throttles.clear(pair)
    throttles.give_back(source)
    if view.source_stale(now):
        login_sources.remember(email, source_ip, now, settings.login_known_source_days * 86400)
    issued = issue_token(record.user_id, record.uid, record.name, record.token_epoch)
    return {
        "id": record.user_id,
        "uid": record.uid,
        "name": record.name,
        "avatar": record.avatar,
        "email": record.email,
        "token": issued.token,
        "expire_time": issued.expire_time,
        "ttl": issued.ttl,
    }


def reset_password(email: str, code: str, password: str, password_repeat: str) -> None:
    """Sets the password and ends every earlier token; the user's open sockets get 2004 and close."""
    email = normalise_email(email)
    check_new_password(password, password_repeat)
    code_use = _checked_code(email, RESET, code)
    identity = users.login_identity(email)
    if identity is None or not users.set_password(email, identity.user_id, hash_password(password), code_use):
        raise InvalidInput("verification code is invalid or already used; request a new one")
    revocation.ended_all(identity.user_id, identity.token_epoch + 1)
    after_commit("closing sockets", lambda: _close_sockets(identity.user_id, PASSWORD_CHANGED),
                 user_id=identity.user_id)


def logout(caller: Claims, all_devices: bool) -> None:
    """Ends the caller's token, or with `all_devices` every token of the caller (their sockets get 2004)."""
    if not all_devices:
        tokens.revoke(caller.jti, caller.user_id, caller.expire_time)
        revocation.ended_token(caller)
        after_commit("closing sockets", lambda: _close_sockets(caller.user_id, LOGGED_OUT, jti=caller.jti),
                     user_id=caller.user_id)
        return
    user = users.get_user(caller.user_id)
    if user is None:
        raise InvalidInput("this account no longer exists")
    tokens.end_all(caller.user_id, user.email)
    revocation.ended_all(caller.user_id, caller.epoch + 1)
    after_commit("closing sockets", lambda: _close_sockets(caller.user_id, LOGGED_OUT_EVERYWHERE),
                 user_id=caller.user_id)


def _close_sockets(user_id: int, reason: str, jti: str | None = None) -> None:
    """The user's sockets, or with `jti` those opened with that token, get 2004 and are closed."""
    live = connections.live_connections([user_id], clock.now())[user_id]
    push.close_connections([connection for connection in live if jti is None or connection.jti == jti],
                           frames.logged_out(reason))
