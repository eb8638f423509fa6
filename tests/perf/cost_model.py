"""List prices (us-east-1, on-demand, no free tier) and what one action uses, so that `make bench` can say what
the most expensive account and the most expensive unauthenticated source cost in a day at the default limits.

Every price names the AWS page it comes from. What an action uses follows the call budgets tests/perf gates
(README *Performance*) and the item sizes of docs/data-model.md; the few assumptions (Lambda durations, sockets per
recipient) are constants below, said where they are used. The worst day of a bucket is its capacity plus a day's
refill (any 24 hours, README *Limits*), spent on whichever action costs the most per unit of that bucket.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

# https://aws.amazon.com/api-gateway/pricing/ — REST API calls (first 333 million a month), HTTP API calls (first
# 300 million, per 512 KB), WebSocket messages (per 32 KB, sent or received; first billion) and connection minutes.
# The stack's default front door (prod) is the HTTP API; a stage with apiType rest pays REST_REQUEST instead.
REST_REQUEST = 3.50 / 1e6
HTTP_API_REQUEST = 1.00 / 1e6
API_REQUEST = HTTP_API_REQUEST
WS_MESSAGE = 1.00 / 1e6
WS_CONNECTION_MINUTE = 0.25 / 1e6
# https://aws.amazon.com/lambda/pricing/ — Arm (every function is arm64), first 7.5 billion GB-seconds a month
# (x86: 0.0000166667)
LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB_SECOND = 0.0000133334
# https://aws.amazon.com/dynamodb/pricing/on-demand/ — write/read request units (transactional ones count double,
# a strongly consistent read of up to 4 KB is one unit, an eventually consistent one half), storage per GB-month
DYNAMODB_WRU = 0.625 / 1e6
DYNAMODB_RRU = 0.125 / 1e6
DYNAMODB_GB_MONTH = 0.25
# https://aws.amazon.com/s3/pricing/ — S3 Standard storage (first 50 TB) and PUT/POST requests
S3_GB_MONTH = 0.023
S3_PUT = 0.005 / 1000
# https://aws.amazon.com/ses/pricing/ — outbound email
SES_EMAIL = 0.10 / 1000

# Assumptions (not measured here: nothing is deployed). Lambda bills memory × duration; .chalice/config.json gives
# 1024 MB to the API and the delivery, 512 MB to $connect.
API_GB, API_SECONDS = 1.0, 0.1  # an HTTP request of a few DynamoDB calls, rounded up
UPLOAD_SECONDS = 0.5  # a 4 MB body read, checked and put to S3
DELIVERY_GB, DELIVERY_SECONDS_PER_RECORD = 1.0, 0.05
FRAME_GB, FRAME_SECONDS = 1.0, 0.01  # $default: a heartbeat answered from memory
SOCKETS_PER_RECIPIENT = 1  # every recipient online on one socket (or offline, whichever costs more)
KIB = 1024


@dataclass
class Usage:
    api: float = 0
    ws_messages: float = 0
    ws_minutes: float = 0
    lambda_requests: float = 0
    lambda_gb_seconds: float = 0
    wru: float = 0
    rru: float = 0
    dynamodb_gb_months: float = 0
    s3_puts: float = 0
    s3_gb_months: float = 0
    emails: float = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __mul__(self, times: float) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) * times for f in fields(self)})

    @property
    def dollars(self) -> float:
        return (self.api * API_REQUEST + self.ws_messages * WS_MESSAGE + self.ws_minutes * WS_CONNECTION_MINUTE
                + self.lambda_requests * LAMBDA_REQUEST + self.lambda_gb_seconds * LAMBDA_GB_SECOND
                + self.wru * DYNAMODB_WRU + self.rru * DYNAMODB_RRU + self.dynamodb_gb_months * DYNAMODB_GB_MONTH
                + self.s3_puts * S3_PUT + self.s3_gb_months * S3_GB_MONTH + self.emails * SES_EMAIL)


def api_request(seconds: float = API_SECONDS) -> Usage:
    """One HTTP request through API Gateway into the API function, with its one limiter write."""
    return _front_door(seconds) + Usage(wru=1)


def _front_door(seconds: float = API_SECONDS) -> Usage:
    return Usage(api=1, lambda_requests=1, lambda_gb_seconds=API_GB * seconds)


def _kib_units(kib: int) -> int:
    """DynamoDB write units of an item carrying `kib` KiB of text plus its keys and attributes."""
    return kib + 1


def recipient(kib: int) -> Usage:
    """One recipient of a frame of `kib` KiB: the delivery looks the socket up and posts to it, or keeps the frame
    (a write, then its replay's read, post and delete) when nobody is online: the dearer of the two."""
    posts = -(-kib * KIB // (32 * KIB))
    online = Usage(rru=0.5, ws_messages=posts * SOCKETS_PER_RECIPIENT)
    offline = Usage(rru=0.5 + 0.5, wru=2 * _kib_units(kib), ws_messages=posts)
    return online if online.dollars >= offline.dollars else offline


def _stored_month(kib: int) -> Usage:
    return Usage(dynamodb_gb_months=_kib_units(kib) / (1024 * 1024))


def send(kib: int, recipients: int) -> Usage:
    """A private (1 recipient) or group send: 1 BatchGetItem of ~5 items, three single-item writes (the head
    carrying the message, the claim, the history item), a month of keeping the message, and the delivery
    function's share (one invocation per record at worst): the member Query (~400 B a member, eventually
    consistent) and the claim and history item read back (db/messages.settle)."""
    base = api_request() + Usage(rru=5, wru=2 * _kib_units(kib) + 1) + _stored_month(kib)
    delivery = Usage(lambda_requests=1, lambda_gb_seconds=DELIVERY_GB * DELIVERY_SECONDS_PER_RECORD,
                     rru=0.5 * (1 + recipients / 10) + 1 + -(-_kib_units(kib) // 4))
    return base + delivery + recipient(kib) * recipients


def recall(kib: int, recipients: int) -> Usage:
    """A recall rewrites the message (write units of the larger of old and new) and the head in a transaction."""
    return (api_request() + Usage(rru=4, wru=2 * (_kib_units(kib) + 1))
            + Usage(lambda_requests=1, lambda_gb_seconds=DELIVERY_GB * DELIVERY_SECONDS_PER_RECORD)
            + recipient(1) * recipients)


def video_signal(kib: int) -> Usage:
    """Read the friendship and the caller, look up the friend's sockets and post to each (up to 20)."""
    return api_request() + Usage(rru=3, ws_messages=20 * -(-kib * KIB // (32 * KIB)))


def new_group(members: int) -> Usage:
    """Counters, then one transaction per 100 items: the group, and per member its membership, its user-side link
    and its session (transactional), plus the 2003 frame each member gets."""
    return (api_request() + Usage(rru=1 + members, wru=4 + 2 * (1 + 3 * members))
            + recipient(1) * members)


def message_units(kib: int, recipients: int) -> int:
    """The units chalicelib/security/limits.message_units charges (10 + KiB × (1 + recipients))."""
    return 10 + kib * (1 + recipients)


@dataclass(frozen=True)
class Line:
    what: str
    units: int  # what the bucket lets through in 24 hours
    spent_on: str
    dollars: float


def _dearest(units: int, choices: Iterator[tuple[str, int, Usage]]) -> tuple[str, float]:
    """The action that costs the most per unit, and what `units` of it cost (whole actions only)."""
    best = max(choices, key=lambda choice: choice[2].dollars / choice[1])
    name, per_action_units, usage = best
    return name, (units // per_action_units) * usage.dollars


def _message_choices(max_kib: int, group_limit: int) -> Iterator[tuple[str, int, Usage]]:
    for kib in sorted({1, 2, 4, 8, max_kib}):
        yield f"private sends of {kib} KiB", message_units(kib, 1), send(kib, 1)
        for members in sorted({2, 10, 100, group_limit}):
            yield (f"group sends of {kib} KiB to {members} members", message_units(kib, members),
                   send(kib, members))
            yield f"recalls of {kib} KiB in groups of {members}", message_units(kib, members), recall(kib, members)
        yield f"call signals of {kib} KiB", message_units(kib, 1), video_signal(kib)
    for members in sorted({1, 10, group_limit}):
        yield f"new groups of {members}", 10 + 1 + 3 * members, new_group(members)


def worst_account_day(settings: object) -> list[Line]:
    """What one account can cost in 24 hours: every bucket emptied and refilled, each on its dearest action, and
    its sockets (MAX_CONNECTIONS_PER_USER of them) open all day, each sending frames at its limit."""
    quotas = settings.quotas  # type: ignore[attr-defined]
    day = {name: quota.capacity + quota.per_day for name, quota in quotas.items()}
    max_kib = -(-4 * settings.message_max_chars // KIB)  # type: ignore[attr-defined]
    group_limit = settings.group_size_limit  # type: ignore[attr-defined]
    lines = []
    spent_on, dollars = _dearest(day["messages"], _message_choices(max_kib, group_limit))
    lines.append(Line("messages", day["messages"], spent_on, dollars))
    max_mib = settings.max_presigned_upload_bytes // (1024 * 1024)  # type: ignore[attr-defined]
    upload_choices = [
        ("1-byte uploads", 2, api_request(UPLOAD_SECONDS) + Usage(s3_puts=1)),
        (f"{max_mib} MiB presigned uploads, kept a month", 1 + max_mib,
         api_request() + Usage(s3_puts=1, s3_gb_months=max_mib / 1024)),
    ]
    spent_on, dollars = _dearest(day["uploads"], iter(upload_choices))
    lines.append(Line("uploads", day["uploads"], spent_on, dollars))
    simple = {
        "friend_requests": ("requests (reads, counters, a transaction of ~5 items, a frame)",
                            api_request() + Usage(rru=6, wru=2 + 2 * 5) + recipient(1)),
        "creations": ("server groups or invites (a counter and a transaction of ~3 items)",
                      api_request() + Usage(rru=2, wru=1 + 2 * 3)),
        "user_searches": ("searches (a Query of 5 and a BatchGetItem of 10)", api_request() + Usage(rru=8)),
    }
    for name, (spent, usage) in simple.items():
        lines.append(Line(name, day[name], spent, day[name] * usage.dollars))
    # a typing relay beyond its frame (counted under ws_frames): the sender, the relation, the pace and the quota,
    # the recipients' connections (and a group's members), a post each; a unit is a recipient
    typing_choices = [(f"typing relays to {recipients}", recipients,
                       Usage(rru=2 + 2 + recipients / 2 + (recipients / 10 if recipients > 1 else 0), wru=2,
                             ws_messages=recipients,
                             lambda_gb_seconds=FRAME_GB * FRAME_SECONDS * (1 + recipients / 20)))
                      for recipients in (1, 99)]
    spent_on, dollars = _dearest(day["typing"], iter(typing_choices))
    lines.append(Line("typing", day["typing"], spent_on, dollars))
    # a read receipt beyond the read it follows: the session's index and both profiles (PUT /sessions), the pace
    # and the quota, the peer's connections, one post
    receipt = Usage(rru=1 + 1 + 0.5, wru=2, ws_messages=1, lambda_gb_seconds=API_GB * 0.02)
    lines.append(Line("read_receipts", day["read_receipts"], "receipts pushed to a friend online",
                      day["read_receipts"] * receipt.dollars))
    sockets = settings.max_connections_per_user  # type: ignore[attr-defined]
    frame = Usage(ws_messages=1, lambda_requests=1, lambda_gb_seconds=FRAME_GB * FRAME_SECONDS, wru=1)
    per_socket = frame * day["ws_frames"] + Usage(ws_minutes=24 * 60)
    lines.append(Line("ws_frames", day["ws_frames"] * sockets,
                      f"{sockets} sockets open all day, each at its frame limit", (per_socket * sockets).dollars))
    # each new connection: $connect (512 MB) with its transaction of ~3 items, the oldest socket closed with a
    # frame, $disconnect, and the new socket's fresh frame bucket spent at once
    connect = (Usage(lambda_requests=2, lambda_gb_seconds=0.5 * 0.1 * 2, wru=1 + 2 * 3 + 2, rru=1, ws_messages=1)
               + frame * quotas["ws_frames"].capacity)
    lines.append(Line("connects", day["connects"], "reconnects, each spending a new socket's frame capacity",
                      day["connects"] * connect.dollars))
    return lines


def worst_source_day(settings: object) -> list[Line]:
    """What one source IP can cost in 24 hours without an account: email codes (each an SES email and its
    counters) at the per-source limits, and failed logins at the per-source limit of each 15-minute window (each
    3 conditional writes and a read; the bcrypt check runs ~0.25 s at cost 12)."""
    hourly = settings.email_codes_per_source_hour  # type: ignore[attr-defined]
    daily = settings.email_codes_per_source_day  # type: ignore[attr-defined]
    codes = min(daily, 24 * hourly) * 2  # fixed windows: a day boundary can let two days' worth through
    email_code = api_request() + Usage(wru=4 + 1, emails=1)
    windows = 86400 // settings.login_failure_window_seconds + 1  # type: ignore[attr-defined]
    logins = settings.login_failures_per_source * windows  # type: ignore[attr-defined]
    login = api_request(0.3) + Usage(wru=3, rru=1)
    registrations = codes  # each registration consumes a code
    register = api_request(0.3) + Usage(rru=3, wru=2 * 8 + 4) + send(1, 1) * 2  # the bot's two greetings
    return [
        Line("email codes", codes, "codes sent (fixed windows, counted twice for a boundary)",
             codes * email_code.dollars),
        Line("logins", logins, "failed logins (a new window every 15 minutes)", logins * login.dollars),
        Line("registrations", registrations, "accounts created with those codes", registrations * register.dollars),
    ]


def report(lines: list[Line]) -> Iterator[str]:
    for line in lines:
        yield f"    {line.what:<16} {line.units:>9,} in 24 h  {line.spent_on:<58} ${line.dollars:.4f}"
    yield f"    {'total':<16} {'':>9}           {'':<58} ${sum(line.dollars for line in lines):.4f}"




HEARTBEAT_SECONDS = 10  # the web client's heartbeat (origin contract §9)
SOCKET_HOURS = 8


@dataclass(frozen=True)
class Measured:
    """An operation's DynamoDB units as tests/perf/test_units.py meters them: the request's, then its delivery's."""
    wru: float
    rru: float
    delivery_wru: float = 0
    delivery_rru: float = 0


def message_cost(measured: Measured, recipients: int, kib: int = 1) -> Usage:
    """One message: the HTTP API request and its Lambda (API_SECONDS), its units, a month of keeping it, the
    delivery's units and its share of a Lambda invocation (one record per batch, the dearest case), a post to each
    recipient's socket."""
    posts = -(-kib * KIB // (32 * KIB)) * recipients * SOCKETS_PER_RECIPIENT
    return (_front_door() + Usage(wru=measured.wru, rru=measured.rru) + _stored_month(kib)
            + Usage(lambda_requests=1, lambda_gb_seconds=DELIVERY_GB * DELIVERY_SECONDS_PER_RECORD,
                    wru=measured.delivery_wru, rru=measured.delivery_rru, ws_messages=posts))


def page_cost(measured: Measured) -> Usage:
    return _front_door() + Usage(wru=measured.wru, rru=measured.rru)


def user_day_cost(connect: Measured, heartbeat: Measured, disconnect: Measured) -> Usage:
    """A logged-in user's day without messages: one socket open SOCKET_HOURS, a heartbeat every HEARTBEAT_SECONDS
    (a WebSocket message in, the $default function, its units), opened and closed once."""
    beats = SOCKET_HOURS * 3600 // HEARTBEAT_SECONDS
    socket_function = Usage(lambda_requests=1, lambda_gb_seconds=FRAME_GB * FRAME_SECONDS)
    return (Usage(ws_minutes=SOCKET_HOURS * 60)
            + (socket_function + Usage(ws_messages=1, wru=heartbeat.wru, rru=heartbeat.rru)) * beats
            + socket_function * 2 + Usage(wru=connect.wru + disconnect.wru, rru=connect.rru + disconnect.rru))


def by_service(usage: Usage) -> dict[str, float]:
    """Dollars per service, as a bill would list them."""
    return {
        "API Gateway HTTP API": usage.api * API_REQUEST,
        "API Gateway WebSocket": usage.ws_messages * WS_MESSAGE + usage.ws_minutes * WS_CONNECTION_MINUTE,
        "Lambda (arm64)": usage.lambda_requests * LAMBDA_REQUEST + usage.lambda_gb_seconds * LAMBDA_GB_SECOND,
        "DynamoDB": usage.wru * DYNAMODB_WRU + usage.rru * DYNAMODB_RRU + usage.dynamodb_gb_months * DYNAMODB_GB_MONTH,
    }
