"""A rate limit tells a person how long to wait, in words, rounded up."""
import pytest

from chalicelib.errors import RateLimited, wait_in_words


@pytest.mark.parametrize(("seconds", "words"), [
    (1, "1 second"), (45, "45 seconds"), (60, "1 minute"), (61, "2 minutes"), (900, "15 minutes"),
    (3600, "1 hour"), (3601, "2 hours"), (86399, "24 hours"),
])
def test_wait_in_words(seconds, words):
    assert wait_in_words(seconds) == words


def test_rate_limit_message_ends_with_the_wait():
    limited = RateLimited("too many failed logins for this address", 0)
    assert limited.retry_after == 1
    assert limited.message == "too many failed logins for this address; please try again in 1 second"
    assert (limited.code, limited.http_status) == (429, 200)
