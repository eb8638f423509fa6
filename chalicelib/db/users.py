"""User access patterns: by id, by email (with login data), uniqueness of email and name."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.db import conflicts, keys, tokens
from chalicelib.db.email_codes import CodeUse
from chalicelib.db.models import EmailLogin, Item, NameClaim, UserProfile
from chalicelib.db.transactions import failed_conditions, transaction

EMAIL_SK = keys.EMAIL_SK
NAME_SK = "NAME"


@dataclass(frozen=True)
class User:
    id: int
    uid: str
    name: str
    email: str
    avatar: str
    bio: str = ""
    sex: int = 0
    age: int = 0
    user_type: int = 0
    created_at: float = 0
    last_login_time: float = 0
    read_receipts: int = 1  # services/receipts.py


@dataclass(frozen=True)
class LoginRecord:
    user_id: int
    uid: str
    name: str
    email: str
    avatar: str
    password_hash: str
    token_epoch: int


class UniquenessConflict(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def profile_record(profile: UserProfile) -> User:
    return User(
        id=int(profile.user_id),
        uid=profile.uid,
        name=profile.name,
        email=profile.email,
        avatar=profile.avatar,
        bio=profile.bio,
        sex=int(profile.sex),
        age=int(profile.age),
        user_type=int(profile.user_type),
        created_at=float(profile.created_at),
        last_login_time=float(profile.last_login_time or 0),
        read_receipts=0 if profile.read_receipts == 0 else 1,
    )


def get_user(user_id: int) -> User | None:
    try:
        return profile_record(UserProfile.get(keys.user_pk(user_id), keys.PROFILE))
    except UserProfile.DoesNotExist:
        return None


def get_users(user_ids: Iterable[int]) -> dict[int, User]:
    """One BatchGetItem per 100 ids."""
    wanted = {int(user_id) for user_id in user_ids}
    if not wanted:
        return {}
    found: dict[int, User] = {}
    for item in Item.batch_get([(keys.user_pk(user_id), keys.PROFILE) for user_id in wanted]):
        if isinstance(item, UserProfile):
            user = profile_record(item)
            found[user.id] = user
    return found


def login_record(item: EmailLogin) -> LoginRecord:
    return LoginRecord(int(item.user_id), item.uid, item.name, item.email, item.avatar, item.password_hash,
                       int(item.token_epoch or 0))


@dataclass(frozen=True)
class LoginIdentity:
    user_id: int
    token_epoch: int


def login_identity(email: str) -> LoginIdentity | None:
    try:
        item = EmailLogin.get(keys.email_pk(email), EMAIL_SK, attributes_to_get=["user_id", "token_epoch"])
    except EmailLogin.DoesNotExist:
        return None
    return LoginIdentity(int(item.user_id), int(item.token_epoch or 0))


def user_id_by_email(email: str) -> int | None:
    try:
        return int(EmailLogin.get(keys.email_pk(email), EMAIL_SK, attributes_to_get=["user_id"]).user_id)
    except EmailLogin.DoesNotExist:
        return None


def user_ids_by_name_prefix(prefix: str, limit: int) -> list[int]:
    """Case-insensitive name prefix through GSI1 (one bounded Query)."""
    folded = prefix.casefold()
    return [int(item.user_id) for item in NameClaim.gsi1.query(
        keys.name_index_pk(folded), NameClaim.GSI1SK.startswith(folded), limit=limit)
        if isinstance(item, NameClaim)]


@conflicts.retrying()
def create_user(user: User, password_hash: str, code: CodeUse | None = None) -> None:
    """Profile, email claim, name claim and the use of the email code in one transaction.

    Raises UniquenessConflict("email"|"name") when another account holds either, and
    UniquenessConflict("code") when the code was used or spent meanwhile.
    """
    profile = UserProfile(
        keys.user_pk(user.id), keys.PROFILE, user_id=user.id, uid=user.uid, name=user.name, email=user.email,
        avatar=user.avatar, bio=user.bio, sex=user.sex, age=user.age, user_type=user.user_type,
        created_at=user.created_at, last_login_time=user.last_login_time,
    )
    login = EmailLogin(
        keys.email_pk(user.email), EMAIL_SK, user_id=user.id, uid=user.uid, name=user.name, email=user.email,
        avatar=user.avatar, password_hash=password_hash,
    )
    name_claim = NameClaim(keys.name_pk(user.name), NAME_SK, user_id=user.id, name=user.name,
                           GSI1PK=keys.name_index_pk(user.name), GSI1SK=user.name.casefold())
    try:
        with transaction() as tx:
            tx.save(profile, condition=UserProfile.PK.does_not_exist())
            tx.save(login, condition=EmailLogin.PK.does_not_exist())
            tx.save(name_claim, condition=NameClaim.PK.does_not_exist())
            if code is not None:
                code.add_to(tx)
    except TransactWriteError as error:
        failed = failed_conditions(error)
        if not failed:
            raise
        # puts go before updates: profile, email claim, name claim, then the code's update
        raise UniquenessConflict(("id", "email", "name", "code")[failed[0]]) from error


@conflicts.retrying()
def set_password(email: str, user_id: int, password_hash: str, code: CodeUse) -> bool:
    """Replace the password of a registered address while using its reset code, and end every token issued
    before; False if the code or the address fails."""
    try:
        with transaction() as tx:
            code.add_to(tx)
            tokens.add_epoch_move(tx, user_id, email, [EmailLogin.password_hash.set(password_hash)])
    except TransactWriteError as error:
        if not failed_conditions(error):
            raise
        return False
    return True


@conflicts.retrying()
def ensure_profile(user: User) -> None:
    """Create a profile unless it exists (no email or name claim: for the bot, which never logs in)."""
    try:
        UserProfile(keys.user_pk(user.id), keys.PROFILE, user_id=user.id, uid=user.uid, name=user.name,
                    email=user.email, avatar=user.avatar, user_type=user.user_type, created_at=user.created_at
                    ).save(condition=UserProfile.PK.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
