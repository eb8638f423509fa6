"""API documents: GET /openapi.json, and Swagger UI at GET /docs working offline.

The Swagger UI files come from the installed `openapi-ui-bundles` package and are served by this app under
/docs/{asset} (a fixed allowlist), so the page needs no CDN. Every URL in the page is relative, so it works at the
root locally and under the `/api` stage path in the cloud.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.uploads import request_base_url
from chalicelib.http.envelope import JSON_TYPE, failure, to_json
from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import obj, string

bp = Blueprint(__name__)

# Asset name -> Content-Type; anything else under /docs/ is a 404. All are text, sent as str: no binary types, so
# API Gateway passes them through unchanged.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
}
ASSET_CACHE = "public, max-age=31536000, immutable"  # the page asks for ?v=<bundle version>
ASSET = obj({"asset": string(min_length=1)}, required=["asset"])

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Philatelic IM API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css?v={version}">
  <style>html {{ box-sizing: border-box; overflow-y: scroll; }} body {{ margin: 0; background: #fafafa; }}</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js?v={version}"></script>
  <script src="docs/swagger-ui-standalone-preset.js?v={version}"></script>
  <script>
    window.onload = function () {{
      window.ui = SwaggerUIBundle({{
        url: "openapi.json",
        dom_id: "#swagger-ui",
        deepLinking: true,
        persistAuthorization: true,
        validatorUrl: null,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        plugins: [SwaggerUIBundle.plugins.DownloadUrl],
        layout: "StandaloneLayout"
      }});
    }};
  </script>
</body>
</html>
"""

_assets: dict[str, str] = {}


def _bundle_dir() -> tuple[Path, str]:
    import openapi_ui_bundles
    from openapi_ui_bundles.swagger_ui import static_path

    return Path(static_path), str(openapi_ui_bundles.__version__)


def _asset(name: str) -> str:
    found = _assets.get(name)
    if found is None:
        found = (_bundle_dir()[0] / name).read_text("utf-8")
        _assets[name] = found
    return found


@endpoint(bp, "/openapi.json", ["GET"], auth=False, summary="The OpenAPI 3.1 document of this API")
def openapi_document(call: Call) -> Response:
    from chalicelib.http.openapi import document

    return Response(body=to_json(document(request_base_url(call.request))), status_code=200,
                    headers={"Content-Type": JSON_TYPE, "Cache-Control": "no-cache"})


@endpoint(bp, "/docs", ["GET"], auth=False, summary="Swagger UI for the OpenAPI document (no CDN needed)")
def swagger_ui(call: Call) -> Response:
    return Response(body=PAGE.format(version=_bundle_dir()[1]), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"})


@endpoint(bp, "/docs/{asset}", ["GET"], auth=False, schema=ASSET, summary="A Swagger UI asset (fixed allowlist)")
def swagger_asset(call: Call) -> Any:
    name = call.params["asset"]
    if name not in ASSETS:
        return failure(404, f"no documentation asset named {name}", 404)
    return Response(body=_asset(name), status_code=200,
                    headers={"Content-Type": ASSETS[name], "Cache-Control": ASSET_CACHE})
