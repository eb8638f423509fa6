"""File uploads (§2.32) and the stable file URLs the client embeds in <img>, <audio> and download links."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import file_field, integer, obj, string
from chalicelib.services import uploads

bp = Blueprint(__name__)

# API Gateway + Lambda cap a request near 4.5 MB once base64-encoded: files up to 4 MB pass, with room for
# the multipart envelope; anything bigger gets the 413 envelope before parsing.
MAX_UPLOAD_BODY = 4 * 1024 * 1024 + 256 * 1024

UPLOAD = obj({"file": file_field(description="the file; its type is detected from its bytes")}, required=["file"])
PRESIGN = obj(
    {"name": string(min_length=1, max_length=1000), "size": integer(minimum=1, description="exact size in bytes"),
     "content_type": string(min_length=1, max_length=255)},
    required=["name", "size", "content_type"],
)
FILE = obj({"owner": integer(), "name": string(min_length=18, max_length=70, pattern=uploads.FILE_NAME_PATTERN)},
           required=["owner", "name"])
NAMED_FILE = obj({**FILE["properties"],
                  "file_name": string(min_length=1, max_length=2000,
                                      description="the file's name, for people: not used to find the file")},
                 required=["owner", "name", "file_name"])
FILE_REDIRECT_STATUSES = ((302, "redirect (Location) to a short-lived presigned S3 link"),
                          (404, "no such file: the envelope with code 404"))
FILE_DATA = obj({"file_url": {"type": "string"}, "name": {"type": "string"}, "size": {"type": "integer"},
                 "content_type": {"type": "string"}})
PRESIGN_DATA = obj({"url": {"type": "string"}, "fields": {"type": "object"}, "file_url": {"type": "string"},
                    "name": {"type": "string"}, "size": {"type": "integer"}, "content_type": {"type": "string"},
                    "expires_in": {"type": "integer"}})


def request_base_url(request: Request) -> str:
    """The API's own absolute base: `https://<domain>/<base path>` behind API Gateway, `http://<host>` locally.

    requestContext.path is the path the client sent (stage or custom-domain base path included); what follows the
    base is the route's path with its parameters filled in. The event's top-level `path` is not used: a REST API
    leaves the stage out of it, an HTTP API (payload format 1.0) puts it in."""
    context = request.context or {}
    domain = context.get("domainName")
    if domain and context.get("stage"):
        full_path = str(context.get("path") or "")
        route_path = request.path or ""
        for name, value in (request.uri_params or {}).items():
            route_path = route_path.replace("{" + name + "}", value)
        if route_path.startswith("/") and full_path.endswith(route_path):
            return f"https://{domain}{full_path[: len(full_path) - len(route_path)]}"
        return f"https://{domain}/{context['stage']}"
    return f"http://{request.headers.get('host') or 'localhost'}"


@endpoint(bp, "/upload/file", ["POST"], schema=UPLOAD, max_body=MAX_UPLOAD_BODY, response=FILE_DATA,
          summary="Upload a file of up to 4 MB (multipart field `file`); returns its absolute, stable file_url")
def upload_file(call: Call) -> Any:
    file = call.params["file"]
    return uploads.upload(call.user_id, file.filename, file.content_type, file.data, request_base_url(call.request))


@endpoint(bp, "/upload/presign", ["POST"], schema=PRESIGN, response=PRESIGN_DATA,
          summary="A presigned S3 POST for one file of up to 100 MB of an allowed type, and its future file_url")
def presign_upload(call: Call) -> Any:
    p = call.params
    return uploads.presign(call.user_id, p["name"], p["size"], p["content_type"], request_base_url(call.request))


@endpoint(bp, "/files/{owner}/{name}/{file_name}", ["GET"], auth=False, schema=NAMED_FILE,
          other_statuses=FILE_REDIRECT_STATUSES,
          summary="Stable file URL ending in the file's name: 302 to a short-lived S3 link (media inline, other "
                  "types as downloads)")
def get_named_file(call: Call) -> Response:
    return _redirect(call)


@endpoint(bp, "/files/{owner}/{name}", ["GET"], auth=False, schema=FILE, other_statuses=FILE_REDIRECT_STATUSES,
          summary="Stable file URL as issued before file names were added: the same 302")
def get_file(call: Call) -> Response:
    return _redirect(call)


def _redirect(call: Call) -> Response:
    location = uploads.download_location(call.params["owner"], call.params["name"])
    return Response(body="", status_code=302, headers={
        "Location": location, "Cache-Control": f"private, max-age={uploads.REDIRECT_MAX_AGE_SECONDS}",
        "Content-Type": "text/plain; charset=utf-8"})
