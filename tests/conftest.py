"""Test environment: fake credentials and settings are set before anything imports chalicelib,
because PynamoDB reads its table name when the model classes are defined."""
from __future__ import annotations

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "STAGE": "test",
        "TABLE_NAME": "philatelic-test",
        "UPLOAD_BUCKET": "philatelic-test-uploads",
        "MAIL_SENDER": "no-reply@philatelic.test",
        "JWT_SECRET": "test-jwt-secret-0123456789abcdef0123456789",
        "BCRYPT_ROUNDS": "4",
        "WS_MANAGEMENT_ENDPOINT": "https://ws.test.execute-api.us-east-1.amazonaws.com/api",
        "CORS_ALLOWED_ORIGINS": "https://chat.example.com",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import moto  # noqa: E402  (must be imported before any boto client exists)
import pytest  # noqa: E402

from infra.local.moto_patches import patch_moto  # noqa: E402
from infra.local.strict_dynamodb import take_refused  # noqa: E402
from tests.support.fakes import RecordingSender  # noqa: E402

# DynamoDB's isolation (for the race tests), strict request checks, one-partition Queries, direct serialisation
patch_moto()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that drive a local stack (marked e2e) come first, in their usual order, then the rest. They are the
    longest (Schemathesis, the 30 s lag, the bench's quick mode), and `make test` has pytest-xdist hand out test
    files in this order (Makefile): one of them started last kept one worker busy for up to a minute after the
    other had finished."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


@pytest.fixture(autouse=True)
def environment_kept():
    """chalice's test client swaps `os.environ` for a patched copy around each request and puts back what it found:
    two requests at once (the race tests) can leave a copy in place, which would outlive the test."""
    original = os.environ
    yield
    os.environ = original  # noqa: B003  (putting back the very object chalice's client swapped out)


@pytest.fixture(autouse=True)
def strict_dynamodb():
    """Any request real DynamoDB would refuse fails the test that sent it."""
    take_refused()
    yield
    refused = take_refused()
    assert not refused, f"requests real DynamoDB refuses: {refused}"


@pytest.fixture
def aws():
    from chalicelib import aws as aws_clients
    from chalicelib.config import reset_caches
    from chalicelib.db import buckets
    from chalicelib.db.table import create_table
    from chalicelib.security import revocation

    reset_caches()
    revocation.forget()
    buckets.forget()
    # the app's clients (chalicelib/aws.py) outlive a test: moto intercepts one made in an earlier test as it does a
    # new one, and making them for every test was about 5 % of an in-process module's samples (py-spy)
    with moto.mock_aws():
        create_table()
        aws_clients.client("sesv2").create_email_identity(EmailIdentity="philatelic.test")
        aws_clients.client("s3").create_bucket(Bucket=os.environ["UPLOAD_BUCKET"])
        yield


@pytest.fixture
def sender(aws):
    from chalicelib.realtime.sender import use_sender

    fake = RecordingSender()
    use_sender(fake)
    yield fake
    use_sender(None)


@pytest.fixture
def deliver(aws):
    """Drains the table's stream through the real delivery handler (tests/support/stream_pump.py)."""
    from tests.support.stream_pump import Pump, table_stream

    return Pump(table_stream())


def _pumping_client(deliver, http_api_events: bool):
    from chalice.test import Client

    from app import app
    from tests.support.event_shapes import use_http_api_events
    from tests.support.stream_pump import PumpingClient

    with Client(app, stage_name="test") as test_client:
        if http_api_events:
            use_http_api_events(test_client)
        yield PumpingClient(test_client, deliver)


@pytest.fixture
def client(aws, sender, deliver):
    """Each HTTP request is followed by the delivery of what it committed, as the stream would do it. Requests
    arrive as chalice's local gateway shapes them (the REST proxy event); with API_EVENT_SHAPE=http-api-1.0 in the
    environment, as the HTTP API's payload format 1.0 events instead (tests/support/event_shapes.py)."""
    from tests.support.event_shapes import HTTP_API_SHAPE

    yield from _pumping_client(deliver, os.environ.get("API_EVENT_SHAPE") == HTTP_API_SHAPE)


@pytest.fixture
def http_api_client(aws, sender, deliver):
    """The `client` fixture whose requests always arrive as HTTP API (payload format 1.0) events."""
    yield from _pumping_client(deliver, True)


@pytest.fixture
def aws_calls(aws):
    from tests.support.aws_calls import counting_aws_calls

    with counting_aws_calls() as log:
        yield log


@pytest.fixture
def dynamodb_conflicts(aws, monkeypatch):
    """Real DynamoDB's transaction conflicts, which moto never answers (infra/local/faults.py): set `.pending` to
    make the next N transactions/conditional writes conflict, `.rate` 1.0 to make every one conflict."""
    import botocore.client

    from infra.local.faults import ConflictFaults, conflicting_api_call

    faults = ConflictFaults(seed=13)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call",
                        conflicting_api_call(faults, botocore.client.BaseClient._make_api_call))
    return faults


@pytest.fixture
def units(aws):
    """DynamoDB's billed units (tests/support/capacity.py): `units["request"]` for the request's own calls,
    `units["delivery"]` for the delivery the test pump runs after it. Clear with `units.clear()`."""
    from tests.support.aws_calls import _uncounted
    from tests.support.capacity import metering_units

    with metering_units(lambda: "delivery" if _uncounted.get() else "request") as parts:
        yield parts
