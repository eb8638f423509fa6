"""Files: direct uploads (small), presigned browser uploads (large), and stable URLs that redirect to S3.

Keys are chosen here, never by the client: `uploads/<user id>/<random id><ext>`, the extension coming from
the type detected in the bytes. The stable URL `<base>/files/<user id>/<random id><ext>/<file name>` answers with
a short-lived presigned GET, so the bucket stays private and a URL in a message keeps working. Its last segment
is the person's file name: the web client shows it on file chips and decides image or file by its extension.
URLs without the name (issued before) keep working.
"""
from __future__ import annotations

import os
import re
import secrets
from typing import Any

from chalicelib.config import get_settings
from chalicelib.errors import AppError, InvalidInput
from chalicelib.logs import log_event
from chalicelib.security import limits
from chalicelib.storage import s3
from chalicelib.storage.file_types import (
    SNIFF_BYTES,
    FileType,
    content_disposition,
    detect,
    known_extensions,
    type_for_mime,
)
from chalicelib.storage.filenames import from_metadata, sanitize_filename, to_metadata

KEY_PREFIX = "uploads"
FILE_NAME_PATTERN = r"^[A-Za-z0-9_-]{16,64}\.[a-z0-9]{1,5}$"
_FILE_NAME = re.compile(FILE_NAME_PATTERN.rstrip("$") + r"\Z")
# What a URL path segment cannot carry as it is (and `%`, so nothing reads as an escape): shown as `_`.
_NOT_IN_A_SEGMENT = re.compile(r"[\x00-\x20\x7f\"#%/<>?\\^`{|}\[\]]")
RANDOM_ID_BYTES = 24  # 192 bits → 32 url-safe characters
DOWNLOAD_URL_TTL_SECONDS = 300
UPLOAD_POLICY_TTL_SECONDS = 900
REDIRECT_MAX_AGE_SECONDS = 60
META_NAME = "original-name"
META_SIZE = "declared-size"
META_VERIFIED = "verified"
ALLOWED_DESCRIPTION = ("images (png, jpeg, gif, webp), audio (wav, mp3, ogg, webm, m4a), video (mp4, webm), "
                       "pdf, zip and plain UTF-8 text")


class FileNotFound(AppError):
    code = 404
    http_status = 404


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _new_object_name(file_type: FileType) -> str:
    return secrets.token_urlsafe(RANDOM_ID_BYTES) + file_type.ext


def _key(owner: int, object_name: str) -> str:
    return f"{KEY_PREFIX}/{owner}/{object_name}"


def url_file_name(name: str, file_type: FileType) -> str:
    """The URL's last segment: the sanitised name, ending in an extension of the accepted type (appended when the
    name's own says otherwise, so a PDF named `cat.png` is `cat.png.pdf`); non-ASCII letters stay readable."""
    if os.path.splitext(name)[1].lower() not in known_extensions(file_type):
        name += file_type.ext
    return _NOT_IN_A_SEGMENT.sub("_", name)


def file_url(base_url: str, owner: int, object_name: str, name: str, file_type: FileType) -> str:
    base = (get_settings().public_base_url or base_url).rstrip("/")
    return f"{base}/files/{owner}/{object_name}/{url_file_name(name, file_type)}"


def upload(user_id: int, filename: str, declared_type: str, data: bytes, base_url: str) -> dict[str, Any]:
    """Store a file sent through the API (1 PutObject); the type comes from its bytes."""
    limit = get_settings().max_upload_bytes
    if not data:
        raise InvalidInput("file is empty")
    if len(data) > limit:
        raise InvalidInput(f"file is larger than {_megabytes(limit)}: use /upload/presign for large files")
    name = sanitize_filename(filename)
    file_type = detect(data, complete=True, declared_mime=declared_type, name=name)
    if file_type is None:
        raise InvalidInput(f"file type is not allowed: send {ALLOWED_DESCRIPTION}")
    limits.spend("uploads", user_id, limits.upload_units(len(data)), "too many uploads")
    object_name = _new_object_name(file_type)
    s3.put(_key(user_id, object_name), data, file_type.mime, {META_NAME: to_metadata(name), META_VERIFIED: "1"})
    return {"file_url": file_url(base_url, user_id, object_name, name, file_type), "name": name, "size": len(data),
            "content_type": file_type.mime}


def presign(user_id: int, filename: str, size: int, content_type: str, base_url: str) -> dict[str, Any]:
    """A presigned POST for one file of exactly `size` bytes and this type (no AWS call)."""
    limit = get_settings().max_presigned_upload_bytes
    if size < 1:
        raise InvalidInput("size must be at least 1")
    if size > limit:
        raise InvalidInput(f"file is larger than {_megabytes(limit)}")
    file_type = type_for_mime(content_type)
    if file_type is None:
        raise InvalidInput(f"content_type is not allowed: send {ALLOWED_DESCRIPTION}")
    name = sanitize_filename(filename)
    limits.spend("uploads", user_id, limits.upload_units(size), "too many uploads")
    object_name = _new_object_name(file_type)
    post = s3.presigned_post(_key(user_id, object_name), file_type.mime,
                             {META_NAME: to_metadata(name), META_SIZE: str(size)}, size, UPLOAD_POLICY_TTL_SECONDS)
    return {"url": post["url"], "fields": post["fields"],
            "file_url": file_url(base_url, user_id, object_name, name, file_type),
            "name": name, "size": size, "content_type": file_type.mime, "expires_in": UPLOAD_POLICY_TTL_SECONDS}


def _reject(stored: s3.StoredObject, reason: str) -> FileNotFound:
    s3.delete(stored.key)
    log_event(kind="upload_rejected", key=stored.key, reason=reason)
    return FileNotFound("file not found")


def _verify(stored: s3.StoredObject, declared: FileType, name: str) -> FileType:
    """First download of a presigned upload: check its bytes against what was declared, once."""
    declared_size = stored.metadata.get(META_SIZE, "")
    if stored.size < 1 or stored.size > get_settings().max_presigned_upload_bytes or declared_size != str(stored.size):
        raise _reject(stored, "size")
    try:
        prefix = s3.read_prefix(stored, SNIFF_BYTES)
        found = detect(prefix, complete=stored.size <= len(prefix), declared_mime=declared.mime, name=name)
        if found is None or found.family != declared.family:
            raise _reject(stored, "type")
        s3.replace_metadata(stored, found.mime, {**stored.metadata, META_VERIFIED: "1"})
    except s3.ObjectMissing as exc:
        raise FileNotFound("file not found") from exc
    return found


def download_location(owner: int, object_name: str) -> str:
    """Where the stable URL redirects: a presigned GET with a safe type and disposition."""
    if owner < 1 or not _FILE_NAME.match(object_name):
        raise FileNotFound("file not found")
    stored = s3.head(_key(owner, object_name))
    file_type = type_for_mime(stored.content_type) if stored else None
    if stored is None or file_type is None:
        raise FileNotFound("file not found")
    name = from_metadata(stored.metadata.get(META_NAME))
    if stored.metadata.get(META_VERIFIED) != "1":
        file_type = _verify(stored, file_type, name)
    return s3.presigned_get(stored.key, file_type.served_as, content_disposition(file_type, name),
                            DOWNLOAD_URL_TTL_SECONDS)
