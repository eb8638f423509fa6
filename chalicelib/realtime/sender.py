"""Posting one frame to one connection through the API Gateway management API."""
from __future__ import annotations

from typing import Any, Protocol

MAX_PAYLOAD_BYTES = 128 * 1024


class ConnectionGone(Exception):
    """API Gateway answered 410: the connection is closed and should be forgotten."""


class Sender(Protocol):
    def post(self, connection_id: str, data: bytes) -> None: ...

    def close(self, connection_id: str) -> None: ...


class ManagementApiSender:
    """Uses one shared boto3 client (thread-safe) with explicit timeouts and a pool sized for fan-out."""

    def __init__(self, endpoint_url: str) -> None:
        self._endpoint_url = endpoint_url

    def _client(self) -> Any:
        from chalicelib.aws import client

        return client("apigatewaymanagementapi", self._endpoint_url)

    def post(self, connection_id: str, data: bytes) -> None:
        api = self._client()
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=data)
        except api.exceptions.GoneException as exc:
            raise ConnectionGone(connection_id) from exc

    def close(self, connection_id: str) -> None:
        """API Gateway closes the socket (its `$disconnect` follows)."""
        api = self._client()
        try:
            api.delete_connection(ConnectionId=connection_id)
        except api.exceptions.GoneException as exc:
            raise ConnectionGone(connection_id) from exc


_sender_override: list[Sender] = []
_endpoint_from_event: list[str] = []


def remember_endpoint(domain_name: str, stage: str) -> None:
    """WebSocket events name their own API; used when WS_MANAGEMENT_ENDPOINT is not configured."""
    if domain_name and not _endpoint_from_event:
        _endpoint_from_event.append(f"https://{domain_name}/{stage}")


def get_sender() -> Sender:
    if _sender_override:
        return _sender_override[0]
    from chalicelib.config import get_settings

    endpoint = get_settings().ws_management_endpoint or next(iter(_endpoint_from_event), "")
    if not endpoint:
        raise RuntimeError("WS_MANAGEMENT_ENDPOINT is not configured")
    return ManagementApiSender(endpoint)


def use_sender(sender: Sender | None) -> None:
    """Install a sender (tests, benchmarks); None restores the management API sender."""
    _sender_override[:] = [sender] if sender is not None else []
