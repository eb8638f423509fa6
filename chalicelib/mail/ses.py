"""Sending email through SES (text and HTML bodies)."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.aws import client
from chalicelib.config import get_settings


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


class MailFailure(Exception):
    pass


def send(email: Email) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client("sesv2").send_email(
            FromEmailAddress=get_settings().mail_sender,
            Destination={"ToAddresses": [email.to]},
            Content={
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": email.text, "Charset": "UTF-8"},
                             "Html": {"Data": email.html, "Charset": "UTF-8"}},
                }
            },
        )
    except (BotoCoreError, ClientError) as exc:
        raise MailFailure(type(exc).__name__) from exc
