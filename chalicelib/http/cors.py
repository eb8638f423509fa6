"""CORS for the web client: the request's Origin is echoed only when it is in the allowed list."""
from __future__ import annotations

from collections.abc import Mapping

from chalice import Chalice, Response

ALLOW_HEADERS = "Authorization,Content-Type,X-Requested-With,Token,X-Token"
ALLOW_METHODS = "GET,POST,PUT,DELETE,OPTIONS"
EXPOSE_HEADERS = ("Retry-After",)
PREFLIGHT_MAX_AGE = "600"


def cors_headers(request_headers: Mapping[str, str], allowed_origins: tuple[str, ...]) -> dict[str, str]:
    origin = request_headers.get("origin", "")
    if not origin or origin not in allowed_origins:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": ",".join(EXPOSE_HEADERS),
        "Vary": "Origin",
    }


def preflight_headers(request_headers: Mapping[str, str], allowed_origins: tuple[str, ...]) -> dict[str, str]:
    headers = cors_headers(request_headers, allowed_origins)
    if "Access-Control-Allow-Origin" in headers:
        headers.update(
            {
                "Access-Control-Allow-Methods": ALLOW_METHODS,
                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            }
        )
    return headers


def register_preflight_routes(app: Chalice) -> None:
    """Answer OPTIONS on every path with a route, so browsers may call the API cross-origin."""
    from chalicelib.config import get_settings

    def preflight(**_path_params: str) -> Response:
        request = app.current_request
        assert request is not None
        headers: dict[str, str | list[str]] = {
            **preflight_headers(request.headers, get_settings().cors_allowed_origins)}
        return Response(body="", status_code=204, headers=headers)

    for path, methods in list(app.routes.items()):
        if "OPTIONS" not in methods:
            app.route(path, methods=["OPTIONS"], content_types=["*/*"], name=f"preflight{path}")(preflight)
