"""chalicelib/aws.py keeps one client per service and endpoint while the settings it was made for hold, and makes
another for new settings (tests change them between cases; the clients outlive a test)."""
from __future__ import annotations

from chalicelib import aws
from chalicelib.config import get_settings, reset_caches


def test_a_client_is_kept_while_its_settings_hold_and_made_again_for_new_ones(monkeypatch):
    reset_caches()
    first = aws.client("sesv2")
    assert aws.client("sesv2") is first
    assert first.meta.config.max_pool_connections == get_settings().fanout_workers + 16
    monkeypatch.setenv("FANOUT_WORKERS", "9")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    reset_caches()
    other = aws.client("sesv2")
    assert other is not first
    assert (other.meta.region_name, other.meta.config.max_pool_connections) == ("eu-west-1", 25)
    monkeypatch.undo()
    reset_caches()
    assert aws.client("sesv2") is first
