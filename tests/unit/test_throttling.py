"""Which AWS failures count as throttling (answered 503 + Retry-After instead of 500)."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError, VerboseClientError

from chalicelib.aws import is_throttling


def client_error(code: str, operation: str = "PutItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, operation)


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException",
                                  "RequestLimitExceeded", "TooManyRequestsException"])
def test_throttling_codes_count_directly_and_wrapped_by_pynamodb(code):
    assert is_throttling(client_error(code))
    assert is_throttling(PutError("Failed to put item", cause=client_error(code)))


def test_transaction_cancelled_for_a_throttled_item_counts():
    cause = VerboseClientError({"Error": {"Code": "TransactionCanceledException", "Message": "m"}},
                               "TransactWriteItems",
                               cancellation_reasons=[None, CancellationReason(code="ThrottlingError", message="busy")])
    assert is_throttling(TransactWriteError("Failed", cause=cause))


@pytest.mark.parametrize("error", [
    client_error("ConditionalCheckFailedException"),
    PutError("Failed to put item", cause=client_error("ValidationException")),
    ValueError("not AWS"),
])
def test_other_failures_do_not_count(error):
    assert not is_throttling(error)


def test_exception_chained_with_raise_from_counts():
    try:
        try:
            raise client_error("ThrottlingException")
        except ClientError as inner:
            raise RuntimeError("while sending") from inner
    except RuntimeError as outer:
        assert is_throttling(outer)
