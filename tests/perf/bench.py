"""`make bench`: the figures tests/perf gates, printed as numbers.

Runs the app in-process against moto: AWS calls and items read per operation with a small and a large table,
the fan-out parallel/serial ratio, the import-time ratio of `import app` to its dependencies alone, the
deployment package size and the cold start of that package (infra/cold_start.py). Last, on a local stack, the
delivery latency the table's stream adds after a send's answer (tests/perf/delivery_latency.py).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
os.environ.update({
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1", "STAGE": "test", "TABLE_NAME": "philatelic-bench", "UPLOAD_BUCKET": "bench-uploads",
    "MAIL_SENDER": "no-reply@philatelic.test", "JWT_SECRET": "bench-jwt-secret-0123456789abcdef0123456789",
    "BCRYPT_ROUNDS": "4", "WS_MANAGEMENT_ENDPOINT": "https://ws.bench.execute-api.us-east-1.amazonaws.com/api",
})
os.environ.pop("AWS_ENDPOINT_URL", None)
sys.path.insert(0, str(ROOT))

import moto  # noqa: E402  (before any client exists)

from infra.local.moto_patches import patch_moto  # noqa: E402

patch_moto()  # the in-process parts run on the moto the tests use: isolation, strict checks, one-partition reads
from tests.support.aws_calls import CallLog, counting_aws_calls  # noqa: E402

IMPORT_PROBE = "import sys, time; sys.path.insert(0, '.'); sys.modules['cryptography'] = None; " \
               "t = time.perf_counter(); {imports}; print(time.perf_counter() - t)"
FLOOR = "import chalice.app, pynamodb.models, boto3, jwt, bcrypt"


def measure(log: CallLog, action: Callable[[], Any]) -> tuple[dict[str, int], int]:
    log.reset()
    action()
    return dict(sorted(log.calls.items())), log.scanned


def show(name: str, small: tuple[dict[str, int], int], large: tuple[dict[str, int], int] | None = None,
         extra_items: int = 0) -> None:
    calls = ", ".join(f"{op.split('.', 1)[1] if op.startswith('dynamodb.') else op} {n}"
                      for op, n in small[0].items()) or "none"
    line = f"  {name:<34} {calls:<62} items read {small[1]}"
    if large is not None:
        line += f" → {large[1]} at {extra_items:,} extra items ({'flat' if large == small else 'CHANGED'})"
    print(line)


def show_deliveries(log: CallLog, client: Any, me: dict[str, Any], friend: dict[str, Any]) -> None:
    """The delivery function's calls for the records of one send and of a batch of twenty (the stream's own
    reads are Lambda's, not the function's, and are not counted)."""
    from chalicelib.realtime import delivery
    from tests.support.factories import post_form
    from tests.support.stream_pump import table_stream

    events: list[dict[str, Any]] = []
    reader = table_stream(lambda event, _: events.append(event))
    reader.poll()  # what the setup wrote

    def records_of(count: int) -> list[dict[str, Any]]:
        events.clear()
        for _ in range(count):
            post_form(client, "/messages/private", {"msg_client_id": time.time_ns() // 1000 % 10**15,
                                                     "to_id": friend["id"], "msg_type": 1, "message": "hi"},
                      me["token"])
        reader.poll()
        return [record for event in events for record in event["Records"]]

    one, twenty = records_of(1), records_of(20)
    show("deliver 1 private message (online)", measure(log, lambda: delivery.handle({"Records": one})))
    show("deliver a batch of 20 of them", measure(log, lambda: delivery.handle({"Records": twenty})))


def operations(extra_items: int) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib import aws as aws_clients
    from chalicelib import clock
    from chalicelib.db import connections, keys
    from chalicelib.db.models import Friendship
    from chalicelib.db.table import create_table
    from chalicelib.realtime.sender import use_sender
    from chalicelib.services import auth
    from chalicelib.ws import handlers
    from tests.support.factories import (
        befriend,
        get,
        last_code_for,
        post_form,
        random_email,
        random_name,
        register,
        ws_event,
    )
    from tests.support.fakes import RecordingSender

    with moto.mock_aws(), Client(app, stage_name="test") as client, counting_aws_calls() as log:
        create_table()
        aws_clients.client("sesv2").create_email_identity(EmailIdentity="philatelic.test")
        aws_clients.client("s3").create_bucket(Bucket="bench-uploads")
        use_sender(RecordingSender())
        me, friend = register(client), register(client)
        befriend(client, me, friend)
        for _ in range(3):
            post_form(client, "/messages/private", {"msg_client_id": time.time_ns() // 1000 % 10**15,
                                                     "to_id": friend["id"], "msg_type": 1, "message": "hi"},
                      me["token"])
        # the friend's socket opened a minute ago: past the window in which deliveries look for its kept frames
        connections.add("bench-b", friend["id"], clock.now() - 60, connections.LIFETIME_SECONDS,
                        connections.Presented("test", 0), 1000)
        email = random_email()

        reads: dict[str, Callable[[], Any]] = {
            "GET /friends": lambda: get(client, "/friends", me["token"]),
            "GET /sessions": lambda: get(client, "/sessions", me["token"]),
            "GET /friends/record": lambda: get(client, "/friends/record", me["token"]),
            "GET /messages (cursor page)": lambda: get(client, "/messages", me["token"], to_id=friend["id"], page=3),
            "POST /auth/login": lambda: post_form(client, "/auth/login",
                                                  {"email": me["email"], "password": me["password"]}),
        }
        small = {name: measure(log, action) for name, action in reads.items()}
        print("AWS calls per operation (moto, exact):")
        show("POST /auth/sendEmailCode", measure(log, lambda: post_form(
            client, "/auth/sendEmailCode", {"email": email, "email_type": 1})))
        code = last_code_for(email)
        show("register (before bot greeting)", measure(log, lambda: auth.create_account(
            email, random_name(), "secret123", "secret123", code)))
        token = me["token"]
        show("WS $connect", measure(log, lambda: handlers.connect(ws_event("$connect", "bench-a",
                                                                           query={"token": token}))))
        show("WS heartbeat", measure(log, lambda: handlers.message(ws_event(
            "$default", "bench-a", body='{"msg_code":1004}', connected_at_ms=int(time.time() * 1000) - 60_000))))
        show("POST /messages/private", measure(log, lambda: post_form(
            client, "/messages/private", {"msg_client_id": 99, "to_id": friend["id"], "msg_type": 1,
                                          "message": "bench"}, token)))
        show_deliveries(log, client, me, friend)
        show("POST /upload/presign", measure(log, lambda: post_form(
            client, "/upload/presign", {"name": "a.png", "size": 1000, "content_type": "image/png"}, token)))
        with Friendship.batch_write() as batch:
            for index in range(extra_items):
                batch.save(Friendship(keys.user_pk(500_000 + index), keys.friend_sk(600_000 + index), row_id=index,
                                      form_id=500_000 + index, to_id=600_000 + index, created_at=0, top_time=0))
        large = {name: measure(log, action) for name, action in reads.items()}
        for name in reads:
            show(name, small[name], large[name], extra_items)


def fan_out_ratio() -> None:
    from chalicelib import clock
    from chalicelib.db import connections
    from chalicelib.db.table import create_table
    from chalicelib.realtime import push
    from chalicelib.realtime.sender import use_sender
    from tests.support.fakes import RecordingSender

    with moto.mock_aws():
        create_table()
        for index in range(100):
            connections.add(f"f{index}", 900_000 + index, clock.now(), 3600, connections.Presented("test", 0), 1000)
        users = [900_000 + index for index in range(100)]
        reach, _ = connections.reach(users, clock.now(), consistent=True)
        use_sender(RecordingSender(delay_seconds=0.02))
        started = time.perf_counter()
        push.deliver([(user_id, push.encode({"msg_code": 200})) for user_id in users], "0#0",
                     push.Recipients(reach), push.Replays(push.Deadline()))
        elapsed = time.perf_counter() - started
    serial = 100 * 0.02
    print(f"Fan-out to 100 connections, 20 ms per post: {elapsed:.3f} s vs {serial:.1f} s serial "
          f"= {elapsed / serial:.1%} (gate ≤ 25%)")


def import_ratio(runs: int = 7) -> None:
    """P8: every module from bytecode (a cache under a temporary pycache_prefix, warmed by the first run, so
    nothing is written into the tree)."""
    def timed(imports: str, *flags: str) -> float:
        out = subprocess.run([sys.executable, "-I", *flags, "-c", IMPORT_PROBE.format(imports=imports)], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        return float(out.stdout.strip())

    with tempfile.TemporaryDirectory() as cache:
        flags = ("-X", f"pycache_prefix={cache}")
        timed("import app", *flags)
        timed(FLOOR, *flags)
        app_times, floor_times = [], []
        for _ in range(runs):
            app_times.append(timed("import app", *flags))
            floor_times.append(timed(FLOOR, *flags))
    app_median, floor_median = statistics.median(app_times), statistics.median(floor_times)
    print(f"Import time, median of {runs} fresh processes (target: app / dependency floor ≤ 1.25): "
          f"app {app_median * 1000:.0f} ms, floor {floor_median * 1000:.0f} ms, ratio {app_median / floor_median:.2f}")


def package_and_cold_start(runs: int = 9) -> None:
    """The package `make deploy` would upload (infra/package_size.py builds it with the same step), then its
    cold start: deployment.zip extracted as Lambda does vs the same tree after an ordinary compile."""
    from infra.cold_start import measure

    print("Deployment package:")
    with tempfile.TemporaryDirectory() as scratch:
        package_dir = Path(scratch) / "package"
        result = subprocess.run([sys.executable, str(ROOT / "infra" / "package_size.py"), "--keep", str(package_dir)],
                                cwd=ROOT, capture_output=True, text=True)
        print("  " + (result.stdout or result.stderr).strip().replace("\n", "\n  "))
        if (package_dir / "deployment.zip").exists():
            print("Cold start of the deployed package:")
            print("  " + measure(package_dir / "deployment.zip", runs, with_source=True).summary())


def worst_day() -> None:
    """What the most expensive account and unauthenticated source cost in 24 hours at the default limits, from the
    list prices of tests/perf/cost_model.py (README *Limits*)."""
    from chalicelib.config import load_settings
    from tests.perf import cost_model

    settings = load_settings({"TABLE_NAME": "bench"})  # the defaults, whatever this environment sets
    print("Worst day at the default limits (list prices, us-east-1; tests/perf/cost_model.py):")
    print("  one account (goal <= $0.50):")
    for line in cost_model.report(cost_model.worst_account_day(settings)):
        print(line)
    print("  one unauthenticated source IP (goal <= $0.10):")
    for line in cost_model.report(cost_model.worst_source_day(settings)):
        print(line)


def cost_per_million() -> None:
    """List price per million operations (the stack's defaults: HTTP API, arm64) from the units the operations
    really consume, metered as tests/perf/test_units.py gates them, with a line per service."""
    from chalice.test import Client

    from app import app
    from chalicelib import aws as aws_clients
    from chalicelib.db.table import create_table
    from chalicelib.realtime.sender import use_sender
    from chalicelib.ws import handlers
    from tests.perf import cost_model
    from tests.perf.test_units import friends, online_group, send
    from tests.support.aws_calls import _uncounted
    from tests.support.capacity import Units, metering_units
    from tests.support.factories import get, ws_event
    from tests.support.fakes import RecordingSender
    from tests.support.stream_pump import Pump, PumpingClient, table_stream

    def measured(parts: dict[str, Units]) -> cost_model.Measured:
        request, delivery = parts.get("request", Units()), parts.get("delivery", Units())
        return cost_model.Measured(request.wru, request.rru, delivery.wru, delivery.rru)

    with moto.mock_aws(), Client(app, stage_name="test") as plain, \
            metering_units(lambda: "delivery" if _uncounted.get() else "request") as parts:
        create_table()
        aws_clients.client("sesv2").create_email_identity(EmailIdentity="philatelic.test")
        use_sender(RecordingSender())
        client = PumpingClient(plain, Pump(table_stream()))
        a, b = friends(client)
        parts.clear()
        send(client, a, b["id"], "a message of a few words")
        private = measured(parts)
        group = online_group(client, a)  # every member online (the dearer case is cost_model.recipient)
        parts.clear()
        send(client, a, group.id, "a message of a few words", msg_client_id=2, path="/messages/group")
        grouped = measured(parts)
        parts.clear()
        get(client, "/messages", b["token"], to_id=a["id"], page=2)
        page = measured(parts)
        parts.clear()
        handlers.connect(ws_event("$connect", "cost", query={"token": a["token"]}))
        connect = measured(parts)
        parts.clear()
        handlers.message(ws_event("$default", "cost", body='{"msg_code":1004}',
                                  connected_at_ms=int(time.time() * 1000) - 60_000))
        heartbeat = measured(parts)
        parts.clear()
        handlers.disconnect(ws_event("$disconnect", "cost"))
        disconnect = measured(parts)
    rows = [("private message", cost_model.message_cost(private, 1), private, 1e6),
            ("group message to 50", cost_model.message_cost(grouped, 50), grouped, 1e6),
            ("history page (cursor)", cost_model.page_cost(page), page, 1e6),
            ("user-day (8 h socket, heartbeats)", cost_model.user_day_cost(connect, heartbeat, disconnect),
             None, 1)]
    print("Cost at list price (us-east-1, HTTP API, arm64; units metered by tests/support/capacity.py):")
    for name, usage, units, times in rows:
        per = "per million" if times == 1e6 else "per one"
        spent = (f"  [{units.wru:g} WRU + {units.rru:g} RRU, delivery {units.delivery_wru:g} WRU + "
                 f"{units.delivery_rru:g} RRU]" if units else "")
        print(f"  {name:<36} ${usage.dollars * times:10.4f} {per}{spent}")
        for service, dollars in cost_model.by_service(usage).items():
            print(f"      {service:<32} ${dollars * times:10.4f}")


def main(quick: bool) -> None:
    """`--quick` (run by tests/perf/test_bench.py in `make test`, so a broken bench fails CI): every part once, on
    smaller sizes and fewer runs; its figures are not the ones to quote."""
    import logging

    from tests.perf import delivery_latency, reconnect_storm

    logging.getLogger("philatelic").disabled = True
    worst_day()
    cost_per_million()
    operations(extra_items=1_000 if quick else 10_000)
    fan_out_ratio()
    import_ratio(runs=2 if quick else 7)
    package_and_cold_start(runs=2 if quick else 9)
    delivery_latency.report(sends=10 if quick else 60)
    reconnect_storm.report(members=10 if quick else 200)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
