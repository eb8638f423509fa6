"""Per-stage deployment settings, read from CDK context (cdk.json, overridable with `-c key=value`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Node

STAGES = ("dev", "prod")
# What serves the HTTP routes: "http" = an HTTP API (payload format 1.0), $1.00 per million requests; "rest" = the
# REST API chalice generates, $3.50 per million, for API keys/usage plans, AWS WAF or an edge-optimized endpoint.
API_TYPES = ("http", "rest")
CONTEXT_ROOT = "philatelic-im"
PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net")
# The values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)


class SettingsError(ValueError):
    """The CDK context does not describe a deployable stage."""


@dataclass(frozen=True)
class StageSettings:
    stage: str
    mail_identity: str  # a domain ("chat.example.org") or one address ("no-reply@chat.example.org")
    mail_sender: str  # the From address the app sends with; must belong to mail_identity
    cors_origins: tuple[str, ...]
    public_base_url: str  # optional absolute REST base (custom domain); empty = derived per request
    api_type: str  # one of API_TYPES
    api_throttle_rate: int
    api_throttle_burst: int
    ws_throttle_rate: int
    ws_throttle_burst: int
    log_retention_days: int
    alarm_email: str
    rest_5xx_alarm_threshold: int

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"

    @property
    def http_api(self) -> bool:
        return self.api_type == "http"

    @property
    def mail_identity_is_domain(self) -> bool:
        return "@" not in self.mail_identity

    @property
    def uses_placeholders(self) -> bool:
        return any(self.mail_identity.endswith(domain) for domain in PLACEHOLDER_DOMAINS)


def _as_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    return tuple(str(item).strip() for item in value or () if str(item).strip())


def stages(node: Node) -> tuple[str, ...]:
    """`-c stage=prod` (default dev); `-c stage=dev,prod` synthesises both stacks in one run (make infra-test)."""
    names = _as_list(node.try_get_context("stage") or "dev")
    unknown = [name for name in names if name not in STAGES]
    if unknown or not names:
        raise SettingsError(f"unknown stage {unknown}: use one of {', '.join(STAGES)} (-c stage=prod)")
    return tuple(dict.fromkeys(names))


def load(node: Node, stage: str) -> StageSettings:
    """The stage's block of the `philatelic-im` context; a flat `-c key=value` wins over it."""
    values: dict[str, Any] = dict((node.try_get_context(CONTEXT_ROOT) or {}).get(stage) or {})
    for key in (
        "mailIdentity", "mailSender", "corsOrigins", "publicBaseUrl", "apiThrottleRate", "apiThrottleBurst",
        "wsThrottleRate", "wsThrottleBurst", "logRetentionDays", "alarmEmail", "rest5xxAlarmThreshold", "apiType",
    ):
        override = node.try_get_context(key)
        if override is not None:
            values[key] = override

    mail_identity = str(values.get("mailIdentity") or "").strip()
    if not mail_identity:
        raise SettingsError(f"context {CONTEXT_ROOT}.{stage}.mailIdentity is required (a domain or an address)")
    default_sender = mail_identity if "@" in mail_identity else f"no-reply@{mail_identity}"
    mail_sender = str(values.get("mailSender") or default_sender).strip()
    sender_domain = mail_sender.rpartition("@")[2]
    if "@" in mail_identity and mail_sender != mail_identity:
        raise SettingsError("mailSender must equal mailIdentity when the identity is one address")
    if "@" not in mail_identity and sender_domain != mail_identity:
        raise SettingsError(f"mailSender {mail_sender!r} is not in the identity domain {mail_identity!r}")

    cors_origins = _as_list(values.get("corsOrigins"))
    if any(origin == "*" or not origin.startswith(("https://", "http://")) for origin in cors_origins):
        raise SettingsError("corsOrigins must be explicit http(s) origins, never '*'")

    if str(node.try_get_context("deploy")).lower() == "true":  # set by `make deploy` only
        placeholders = [value for value in (mail_identity, *cors_origins)
                        if value.rstrip("/").endswith(PLACEHOLDER_DOMAINS)]
        if placeholders:
            raise SettingsError(f"refusing to deploy {stage} with placeholder values {placeholders}: set "
                                f"{CONTEXT_ROOT}.{stage}.mailIdentity / corsOrigins in infra/cdk.json "
                                "(or -c mailIdentity=... -c corsOrigins=...)")

    log_retention_days = int(values.get("logRetentionDays", 30))
    if log_retention_days not in LOG_RETENTION_DAYS:
        raise SettingsError(f"logRetentionDays must be one of {LOG_RETENTION_DAYS}")

    api_type = str(values.get("apiType") or "http").strip().lower()
    if api_type not in API_TYPES:
        raise SettingsError(f"apiType must be one of {', '.join(API_TYPES)}, not {api_type!r}")

    return StageSettings(
        stage=stage,
        mail_identity=mail_identity,
        mail_sender=mail_sender,
        cors_origins=cors_origins,
        public_base_url=str(values.get("publicBaseUrl") or "").rstrip("/"),
        api_type=api_type,
        api_throttle_rate=int(values.get("apiThrottleRate", 100)),
        api_throttle_burst=int(values.get("apiThrottleBurst", 200)),
        ws_throttle_rate=int(values.get("wsThrottleRate", 100)),
        ws_throttle_burst=int(values.get("wsThrottleBurst", 200)),
        log_retention_days=log_retention_days,
        alarm_email=str(values.get("alarmEmail") or ""),
        rest_5xx_alarm_threshold=int(values.get("rest5xxAlarmThreshold", 5)),
    )
