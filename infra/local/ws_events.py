"""API Gateway WebSocket events, shaped as AWS delivers them to `$connect`, `$default` and `$disconnect`."""
from __future__ import annotations

import secrets
import string
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

API_ID = "local"
STAGE = "api"
_ID_ALPHABET = string.ascii_letters + string.digits


def new_id() -> str:
    """A connection or message id shaped like AWS's (e.g. `L0SM9cOFvHcCIhw=`), without `/` or `+`."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15)) + "="


def iso8601(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ConnectionInfo:
    connection_id: str
    connected_at: float
    domain_name: str
    source_ip: str
    user_agent: str


def _request_context(connection: ConnectionInfo, route_key: str, event_type: str) -> dict[str, Any]:
    now = time.time()
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "messageDirection": "IN",
        "connectionId": connection.connection_id,
        "connectedAt": int(connection.connected_at * 1000),
        "requestId": str(uuid.uuid4()),
        "extendedRequestId": str(uuid.uuid4()),
        "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now * 1000),
        "domainName": connection.domain_name,
        "stage": STAGE,
        "apiId": API_ID,
        "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
    }


def connect_event(connection: ConnectionInfo, query: dict[str, list[str]],
                  headers: dict[str, list[str]]) -> dict[str, Any]:
    """Single-value maps keep the last value of a repeated name, as API Gateway does."""
    return {
        "requestContext": _request_context(connection, "$connect", "CONNECT"),
        "headers": {name: values[-1] for name, values in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "isBase64Encoded": False,
    }


def message_event(connection: ConnectionInfo, body: str, is_base64: bool = False) -> dict[str, Any]:
    context = _request_context(connection, "$default", "MESSAGE")
    context["messageId"] = new_id()
    return {"requestContext": context, "body": body, "isBase64Encoded": is_base64}


def disconnect_event(connection: ConnectionInfo, status_code: int, reason: str) -> dict[str, Any]:
    context = _request_context(connection, "$disconnect", "DISCONNECT")
    context.update(disconnectStatusCode=status_code, disconnectReason=reason)
    return {"requestContext": context, "headers": {}, "isBase64Encoded": False}
