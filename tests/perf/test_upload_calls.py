"""AWS calls per upload operation: presigning is the uploader's quota (one conditional UpdateItem), a direct upload
the quota and one PutObject, a verified file URL one HeadObject."""
from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest

from chalicelib.security.tokens import issue_token
from tests.support import upload_samples as samples
from tests.support.factories import check_token_once

TOKEN: list[str] = []


@pytest.fixture(autouse=True)
def checked_token(client):
    TOKEN[:] = [issue_token(11, "uid-11", "user11").token]
    check_token_once(client, TOKEN[0])


def auth() -> dict[str, str]:
    return {"authorization": f"Bearer {TOKEN[0]}"}


def test_presign_makes_only_the_quota_write(client, aws_calls):
    headers = {"content-type": "application/json", **auth()}
    aws_calls.reset()
    for content_type in ("video/mp4", "image/png", "application/pdf"):
        answer = client.http.post("/upload/presign", headers=headers, body=json.dumps(
            {"name": "big.bin", "size": 80 * 1024 * 1024, "content_type": content_type})).json_body
        assert answer["code"] == 200
    assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 3}


def test_direct_upload_is_exactly_one_put_object(client, aws_calls):
    body, headers = samples.multipart("photo.png", samples.png(), "image/png")
    headers = {**headers, **auth()}
    aws_calls.reset()
    answer = client.http.post("/upload/file", headers=headers, body=body).json_body
    assert answer["code"] == 200
    assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 1, "s3.PutObject": 1}

    aws_calls.reset()
    assert client.http.get(urlparse(answer["data"]["file_url"]).path).status_code == 302
    assert dict(aws_calls.calls) == {"s3.HeadObject": 1}


def test_refused_upload_makes_no_aws_call(client, aws_calls):
    body, headers = samples.multipart("cat.png", samples.HTML, "image/png")
    headers = {**headers, **auth()}
    aws_calls.reset()
    assert client.http.post("/upload/file", headers=headers, body=body).json_body["code"] == 1000
    assert aws_calls.count() == 0
