"""The upload bucket: one function per S3 operation we use. Presigning is local (no AWS call)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.aws import client
from chalicelib.config import get_settings

MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "412", "PreconditionFailed", "InvalidRange"})
# Without s3:ListBucket, S3 answers HEAD of a missing key with 403 rather than 404.
HEAD_MISSING_CODES = MISSING_CODES | {"403", "AccessDenied", "Forbidden"}


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str
    etag: str
    metadata: dict[str, str]


class ObjectMissing(Exception):
    """The object does not exist, or changed under us (a failed If-Match)."""


def _bucket() -> str:
    return get_settings().upload_bucket


def _missing(exc: Exception, codes: frozenset[str] = MISSING_CODES) -> bool:
    error: dict[str, Any] = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code", "")) in codes


def put(key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
    client("s3").put_object(Bucket=_bucket(), Key=key, Body=data, ContentType=content_type, Metadata=metadata)


def head(key: str) -> StoredObject | None:
    from botocore.exceptions import ClientError

    try:
        found = client("s3").head_object(Bucket=_bucket(), Key=key)
    except ClientError as exc:
        if _missing(exc, HEAD_MISSING_CODES):
            return None
        raise
    return StoredObject(key, int(found.get("ContentLength", 0)), found.get("ContentType", ""),
                        found.get("ETag", ""), dict(found.get("Metadata") or {}))


def read_prefix(stored: StoredObject, length: int) -> bytes:
    """The first `length` bytes of exactly the version `head` saw."""
    from botocore.exceptions import ClientError

    try:
        found = client("s3").get_object(Bucket=_bucket(), Key=stored.key, Range=f"bytes=0-{length - 1}",
                                        IfMatch=stored.etag)
        data: bytes = found["Body"].read()
    except ClientError as exc:
        if _missing(exc):
            raise ObjectMissing(stored.key) from exc
        raise
    return data


def replace_metadata(stored: StoredObject, content_type: str, metadata: dict[str, str]) -> None:
    """Copy the object onto itself with new metadata, only if it is still the version we checked."""
    from botocore.exceptions import ClientError

    try:
        client("s3").copy_object(
            Bucket=_bucket(), Key=stored.key, CopySource={"Bucket": _bucket(), "Key": stored.key},
            CopySourceIfMatch=stored.etag, MetadataDirective="REPLACE", ContentType=content_type, Metadata=metadata,
        )
    except ClientError as exc:
        if _missing(exc):
            raise ObjectMissing(stored.key) from exc
        raise


def delete(key: str) -> None:
    client("s3").delete_object(Bucket=_bucket(), Key=key)


def presigned_get(key: str, content_type: str, disposition: str, expires_in: int) -> str:
    url: str = client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": _bucket(), "Key": key, "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition},
        ExpiresIn=expires_in,
    )
    return url


def presigned_post(key: str, content_type: str, metadata: dict[str, str], size: int,
                   expires_in: int) -> dict[str, Any]:
    """A browser form upload to `key`, only of exactly `size` bytes, this Content-Type and this metadata."""
    fields: dict[str, str] = {"Content-Type": content_type,
                              **{f"x-amz-meta-{name}": value for name, value in metadata.items()}}
    conditions: list[Any] = [{name: value} for name, value in fields.items()]
    conditions.append(["content-length-range", size, size])
    post: dict[str, Any] = client("s3").generate_presigned_post(
        Bucket=_bucket(), Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in)
    return post
