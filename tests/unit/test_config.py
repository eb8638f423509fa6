"""Settings from the environment: integers are strict and within what the code using them accepts."""
from __future__ import annotations

import pytest

from chalicelib.config import ConfigError, load_settings

BASE = {"TABLE_NAME": "t", "STAGE": "test"}


def test_integers_within_bounds_are_taken():
    settings = load_settings({**BASE, "BCRYPT_ROUNDS": "4", "FANOUT_WORKERS": "3", "RECALL_WINDOW_SECONDS": "0"})
    assert (settings.bcrypt_rounds, settings.fanout_workers, settings.recall_window_seconds) == (4, 3, 0)


def test_unset_or_empty_integers_take_their_defaults():
    settings = load_settings({**BASE, "BCRYPT_ROUNDS": ""})
    assert settings.bcrypt_rounds == 12 and settings.fanout_workers == 16


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("BCRYPT_ROUNDS", "3", "BCRYPT_ROUNDS must be between 4 and 31, got 3"),
    ("BCRYPT_ROUNDS", "32", "BCRYPT_ROUNDS must be between 4 and 31, got 32"),
    ("BCRYPT_ROUNDS", "ten", "BCRYPT_ROUNDS must be an integer, got 'ten'"),
    ("FANOUT_WORKERS", "0", "FANOUT_WORKERS must be at least 1, got 0"),
    ("MAX_BODY_BYTES", "-1", "MAX_BODY_BYTES must be at least 1, got -1"),
])
def test_integers_out_of_bounds_or_malformed_are_refused_with_the_variable_named(name, raw, message):
    with pytest.raises(ConfigError) as refused:
        load_settings({**BASE, name: raw})
    assert str(refused.value) == message


def test_quotas_take_capacity_and_per_day_and_a_scale_for_all():
    settings = load_settings({**BASE, "QUOTA_FRIEND_REQUESTS": "5/7", "QUOTA_SCALE": "10"})
    assert (settings.quotas["friend_requests"].capacity, settings.quotas["friend_requests"].per_day) == (50, 70)
    assert settings.quotas["messages"].capacity == 10 * 20_000


@pytest.mark.parametrize(("raw", "message"), [
    ("5", "QUOTA_CREATIONS must be <capacity>/<per day>, got '5'"),
    ("5/x", "QUOTA_CREATIONS must be an integer, got 'x'"),
    ("0/5", "QUOTA_CREATIONS must be at least 1, got 0"),
])
def test_malformed_quotas_are_refused(raw, message):
    with pytest.raises(ConfigError) as refused:
        load_settings({**BASE, "QUOTA_CREATIONS": raw})
    assert str(refused.value) == message


def test_a_quota_too_small_for_the_largest_group_send_or_file_is_refused():
    with pytest.raises(ConfigError) as refused:
        load_settings({**BASE, "QUOTA_MESSAGES": "100/100"})
    assert str(refused.value) == "QUOTA_MESSAGES capacity must be at least 10030, got 100"
    with pytest.raises(ConfigError):
        load_settings({**BASE, "QUOTA_UPLOADS": "100/100"})
    assert load_settings({**BASE, "QUOTA_UPLOADS": "3/1", "MAX_PRESIGNED_UPLOAD_BYTES": "2097152"})
