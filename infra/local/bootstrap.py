"""Creating what the app expects in local AWS: the table, the upload bucket (with CORS), the SES sender and the
bot user."""
from __future__ import annotations

from collections.abc import Callable

from infra.local.errors import StackError
from infra.local.moto_server import MotoServer

UPLOAD_METHODS = ["GET", "PUT", "POST"]
CORS_MAX_AGE_SECONDS = 600


def bootstrap(aws: MotoServer) -> list[str]:
    """Creates every resource from the app's own settings; returns one line per resource for the banner."""
    from chalicelib.config import ConfigError, get_settings
    from chalicelib.db.table import create_table
    from chalicelib.services.bot import BOT_ID, BOT_NAME, ensure_bot

    try:
        settings = get_settings()
    except ConfigError as exc:
        raise StackError(f"the app's settings are invalid: {exc}") from None
    if not settings.upload_bucket or "@" not in settings.mail_sender:
        raise StackError("the local stage in .chalice/config.json must set UPLOAD_BUCKET and MAIL_SENDER")
    sender_domain = settings.mail_sender.rpartition("@")[2]

    def create_bucket() -> None:
        s3 = aws.client("s3", settings.region)
        location = {} if settings.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": settings.region}}
        s3.create_bucket(Bucket=settings.upload_bucket, **location)
        if settings.cors_allowed_origins:
            s3.put_bucket_cors(Bucket=settings.upload_bucket, CORSConfiguration={"CORSRules": [{
                "AllowedOrigins": list(settings.cors_allowed_origins), "AllowedMethods": UPLOAD_METHODS,
                "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": CORS_MAX_AGE_SECONDS}]})

    def verify_sender() -> None:
        aws.client("sesv2", settings.region).create_email_identity(EmailIdentity=sender_domain)

    steps: list[tuple[str, Callable[[], None]]] = [
        (f"DynamoDB table {settings.table_name} (PK/SK, GSI1, TTL on expires_at)", create_table),
        (f"S3 bucket {settings.upload_bucket} (CORS {'/'.join(UPLOAD_METHODS)} from "
         f"{', '.join(settings.cors_allowed_origins) or 'no origin'})", create_bucket),
        (f"SES identity {sender_domain} (sender {settings.mail_sender})", verify_sender),
        (f"bot user {BOT_ID} ({BOT_NAME})", ensure_bot),
    ]
    for description, step in steps:
        try:
            step()
        except Exception as exc:  # any failure here means the app cannot work: stop with the reason
            raise StackError(f"bootstrap failed creating {description}: {type(exc).__name__}: {exc}") from exc
    return [description for description, _ in steps]
