"""Settings read once from the environment; secrets fetched lazily."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "local-dev-secret"})
DEV_STAGES = frozenset({"local", "test"})


class ConfigError(RuntimeError):
    """Raised when the environment is missing something the app cannot run without."""


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"{name} must be {bounds}, got {value}")
    return value


def _list(environ: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    raw = environ.get(name, default)
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Quota:
    """A per-account token bucket: `capacity` units at once, refilled at `per_day` a day (README *Limits*)."""

    capacity: int
    per_day: int


TYPING_MAX_RECIPIENTS = 99  # typing is relayed in groups of up to 100 members (services/typing_relay.py)

# name → (default capacity, default units a day, what one unit is). A person never meets these; a script at once.
QUOTA_DEFAULTS: dict[str, tuple[int, int]] = {
    "messages": (20_000, 40_000),  # sends, recalls, call signals, new groups: 10 + KiB × (1 + recipients)
    "uploads": (512, 1024),  # a file: 1 + its size in MiB (rounded up), presigned ones at their declared size
    "friend_requests": (50, 200),
    "creations": (20, 50),  # a group, a server group or an invite
    "user_searches": (30, 1000),
    "ws_frames": (30, 10_000),  # per connection: the web client's heartbeat is one frame in 10 s (8,640 a day)
    "connects": (30, 300),  # new WebSocket connections of an account (each starts a new frame bucket)
    "typing": (1_000, 2_000),  # typing notices relayed: a unit per recipient (a group's members, at most 99)
    "read_receipts": (200, 1_000),  # read receipts pushed (1011): one each, at most one a second per conversation
}


def _quotas(environ: Mapping[str, str], minimum_capacity: dict[str, int]) -> dict[str, Quota]:
    """`QUOTA_<NAME>=<capacity>/<per day>` overrides one; `QUOTA_SCALE` multiplies them all (load runs)."""
    scale = _int(environ, "QUOTA_SCALE", 1)
    quotas = {}
    for name, (capacity, per_day) in QUOTA_DEFAULTS.items():
        variable = f"QUOTA_{name.upper()}"
        raw = environ.get(variable, "")
        if raw:
            parts = raw.split("/")
            if len(parts) != 2:
                raise ConfigError(f"{variable} must be <capacity>/<per day>, got {raw!r}")
            capacity = _int({variable: parts[0]}, variable, capacity)
            per_day = _int({variable: parts[1]}, variable, per_day)
        quota = Quota(capacity * scale, per_day * scale)
        if quota.capacity < minimum_capacity.get(name, 1):
            raise ConfigError(f"{variable} capacity must be at least {minimum_capacity[name]}, got {quota.capacity}")
        quotas[name] = quota
    return quotas


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_name: str
    upload_bucket: str
    mail_sender: str
    ws_management_endpoint: str
    public_base_url: str
    jwt_secret_arn: str
    jwt_issuer: str = "Im-Services"
    jwt_ttl_seconds: int = 7 * 24 * 3600
    bcrypt_rounds: int = 12
    time_zone: str = "Asia/Shanghai"
    cors_allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    max_body_bytes: int = 64 * 1024
    max_upload_bytes: int = 4 * 1024 * 1024
    max_presigned_upload_bytes: int = 100 * 1024 * 1024
    default_avatar_url: str = "https://api.dicebear.com/9.x/identicon/svg?seed={seed}"
    email_code_ttl_seconds: int = 600
    email_code_cooldown_seconds: int = 60
    email_codes_per_day: int = 10
    email_code_max_attempts: int = 5
    email_codes_per_source_hour: int = 20
    email_codes_per_source_day: int = 100
    login_max_failures: int = 5  # per (address, source IP) per window
    login_failure_window_seconds: int = 900
    login_failures_per_source: int = 30  # per source IP per window, across addresses
    login_free_attempts_per_address: int = 20  # per window across sources; then one per login_slow_seconds
    login_slow_seconds: int = 10
    login_known_source_days: int = 30  # a source that logged in is not paced by others' failures for this long
    fanout_workers: int = 16
    max_connections_per_user: int = 10
    group_password_failures: int = 5  # per user per group per window
    group_password_failures_per_user: int = 20  # per user across groups per window
    group_password_window_seconds: int = 900
    message_max_chars: int = 5000
    group_size_limit: int = 500
    recall_window_seconds: int = 120
    quotas: dict[str, Quota] = field(default_factory=lambda: {name: Quota(*values)
                                                              for name, values in QUOTA_DEFAULTS.items()})

    @property
    def is_dev(self) -> bool:
        return self.stage in DEV_STAGES


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    stage = environ.get("STAGE", "local")
    table_name = environ.get("TABLE_NAME", "")
    if not table_name:
        raise ConfigError("TABLE_NAME is not set")
    return Settings(
        stage=stage,
        region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        table_name=table_name,
        upload_bucket=environ.get("UPLOAD_BUCKET", ""),
        mail_sender=environ.get("MAIL_SENDER", ""),
        ws_management_endpoint=environ.get("WS_MANAGEMENT_ENDPOINT", "").rstrip("/"),
        public_base_url=environ.get("PUBLIC_BASE_URL", "").rstrip("/"),
        jwt_secret_arn=environ.get("JWT_SECRET_ARN", ""),
        jwt_ttl_seconds=_int(environ, "JWT_TTL_SECONDS", 7 * 24 * 3600),
        bcrypt_rounds=_int(environ, "BCRYPT_ROUNDS", 12, minimum=4, maximum=31),  # what bcrypt accepts
        time_zone=environ.get("TIME_ZONE", "Asia/Shanghai"),
        cors_allowed_origins=_list(environ, "CORS_ALLOWED_ORIGINS", "http://localhost:3000,http://127.0.0.1:3000"),
        max_body_bytes=_int(environ, "MAX_BODY_BYTES", 64 * 1024),
        max_upload_bytes=_int(environ, "MAX_UPLOAD_BYTES", 4 * 1024 * 1024),
        max_presigned_upload_bytes=_int(environ, "MAX_PRESIGNED_UPLOAD_BYTES", 100 * 1024 * 1024),
        default_avatar_url=environ.get(
            "DEFAULT_AVATAR_URL", "https://api.dicebear.com/9.x/identicon/svg?seed={seed}"
        ),
        fanout_workers=_int(environ, "FANOUT_WORKERS", 16),
        max_connections_per_user=_int(environ, "MAX_CONNECTIONS_PER_USER", 10),
        group_password_failures=_int(environ, "GROUP_PASSWORD_FAILURES", 5),
        group_password_failures_per_user=_int(environ, "GROUP_PASSWORD_FAILURES_PER_USER", 20),
        message_max_chars=_int(environ, "MESSAGE_MAX_CHARS", 5000),
        group_size_limit=_int(environ, "GROUP_SIZE_LIMIT", 500),
        email_codes_per_source_hour=_int(environ, "EMAIL_CODES_PER_SOURCE_HOUR", 20),
        email_codes_per_source_day=_int(environ, "EMAIL_CODES_PER_SOURCE_DAY", 100),
        login_max_failures=_int(environ, "LOGIN_MAX_FAILURES", 5),
        login_failures_per_source=_int(environ, "LOGIN_FAILURES_PER_SOURCE", 30),
        login_free_attempts_per_address=_int(environ, "LOGIN_FREE_ATTEMPTS_PER_ADDRESS", 20),
        login_slow_seconds=_int(environ, "LOGIN_SLOW_SECONDS", 10),
        login_known_source_days=_int(environ, "LOGIN_KNOWN_SOURCE_DAYS", 30),
        recall_window_seconds=_int(environ, "RECALL_WINDOW_SECONDS", 120, minimum=0),  # 0: owners/admins only
        # the largest group send (limits.message_units) must always fit; so must the largest presigned file
        quotas=_quotas(environ, {"messages": 10 + -(-4 * _int(environ, "MESSAGE_MAX_CHARS", 5000) // 1024)
                                 * (1 + _int(environ, "GROUP_SIZE_LIMIT", 500)),
                                 "uploads": 1 + -(-_int(environ, "MAX_PRESIGNED_UPLOAD_BYTES", 100 * 1024 * 1024)
                                                  // (1024 * 1024)),
                                 "typing": TYPING_MAX_RECIPIENTS}),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=1)
def get_jwt_secret() -> str:
    """The HMAC key for tokens: Secrets Manager in the cloud, JWT_SECRET in local/test."""
    settings = get_settings()
    if settings.jwt_secret_arn:
        from chalicelib.aws import client

        secret = client("secretsmanager").get_secret_value(SecretId=settings.jwt_secret_arn)["SecretString"]
    else:
        secret = os.environ.get("JWT_SECRET", "")
    if not settings.is_dev and (secret in PLACEHOLDER_SECRETS or secret.startswith("local-only") or len(secret) < 32):
        raise ConfigError("refusing to run outside local/test with a missing, placeholder or short JWT secret")
    if len(secret) < 32:
        raise ConfigError("JWT_SECRET must be at least 32 characters")
    return secret


def reset_caches() -> None:
    """Forget cached settings and secrets (tests change the environment between cases)."""
    get_settings.cache_clear()
    get_jwt_secret.cache_clear()
