"""POST /upload/file, POST /upload/presign and the stable GET /files/{owner}/{name} URLs, against moto S3."""
from __future__ import annotations

import json
import os
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from chalicelib.aws import client as aws_client
from chalicelib.security.tokens import issue_token
from tests.support import upload_samples as samples

BUCKET = os.environ["UPLOAD_BUCKET"]
USER_ID = 7
URL = re.compile(r"^http://localhost/files/7/([A-Za-z0-9_-]{32})(\.[a-z0-9]{1,5})/([^/?#%]+)$")


def auth(user_id: int = USER_ID) -> dict[str, str]:
    return {"authorization": f"Bearer {issue_token(user_id, f'uid-{user_id}', f'user{user_id}').token}"}


def upload(client, filename, data, content_type="application/octet-stream", user_id=USER_ID, field="file"):
    body, headers = samples.multipart(filename, data, content_type, field)
    return client.http.post("/upload/file", headers={**headers, **auth(user_id)}, body=body)


def stored_keys() -> list[str]:
    return [item["Key"] for item in aws_client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def path_of(file_url: str) -> str:
    return urlparse(file_url).path


def follow(client, file_url: str):
    """GET the stable URL, then fetch its redirect target (moto intercepts the presigned S3 URL)."""
    answer = client.http.get(path_of(file_url))
    assert answer.status_code == 302, answer.body
    return answer, requests.get(answer.headers["Location"], timeout=5)


TYPES = [
    ("photo.png", samples.png(), "image/png", ".png"),
    ("photo.jpeg", samples.jpeg(), "image/jpeg", ".jpg"),
    ("anim.gif", samples.gif(), "image/gif", ".gif"),
    ("pic.webp", samples.webp(), "image/webp", ".webp"),
    ("1700000000.wav", samples.wav(), "audio/wav", ".wav"),
    ("song.mp3", samples.mp3(), "audio/mpeg", ".mp3"),
    ("voice.ogg", samples.ogg(), "audio/ogg", ".ogg"),
    ("voice.m4a", samples.m4a(), "audio/mp4", ".m4a"),
    ("clip.mp4", samples.mp4(), "video/mp4", ".mp4"),
    ("clip.webm", samples.webm(), "video/webm", ".webm"),
    ("doc.pdf", samples.pdf(), "application/pdf", ".pdf"),
    ("bundle.zip", samples.zip_archive(), "application/zip", ".zip"),
    ("notes.txt", samples.text(), "text/plain", ".txt"),
]


@pytest.mark.parametrize(("name", "data", "mime", "ext"), TYPES, ids=[t[0] for t in TYPES])
def test_each_allowed_type_is_stored_under_a_server_chosen_key(client, name, data, mime, ext):
    answer = upload(client, name, data).json_body
    assert answer["code"] == 200, answer
    assert answer["data"]["content_type"] == mime
    assert answer["data"]["name"] == name and answer["data"]["size"] == len(data)
    match = URL.match(answer["data"]["file_url"])
    assert match and match.group(2) == ext and match.group(3) == name
    key = f"uploads/{USER_ID}/{match.group(1)}{ext}"
    assert stored_keys() == [key]
    head = aws_client("s3").head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == mime and head["Metadata"]["verified"] == "1"
    _, fetched = follow(client, answer["data"]["file_url"])
    assert fetched.status_code == 200 and fetched.content == data


def test_webm_voice_keeps_its_declared_audio_variant(client):
    answer = upload(client, "voice.webm", samples.webm(), "audio/webm").json_body
    assert answer["data"]["content_type"] == "audio/webm"


def test_the_bytes_decide_not_the_name(client):
    answer = upload(client, "totally-a-program.exe", samples.png(), "application/x-msdownload").json_body
    assert answer["code"] == 200 and answer["data"]["content_type"] == "image/png"
    assert answer["data"]["file_url"].endswith(".png") and answer["data"]["name"] == "totally-a-program.exe"


@pytest.mark.parametrize(("name", "data", "declared"), [
    ("cat.png", samples.HTML, "image/png"),
    ("cat.png", samples.SVG, "image/png"),
    ("logo.svg", samples.XML_SVG, "image/svg+xml"),
    ("page.html", samples.HTML, "text/html"),
    ("app.js", b"fetch('/steal?c=' + document.cookie)", "text/javascript"),
    ("setup.exe", samples.EXE, "application/x-msdownload"),
    ("run.bin", samples.ELF, "application/octet-stream"),
    ("archive.gz", samples.GZIP, "application/gzip"),
    ("notes.txt", samples.UTF16_TEXT, "text/plain"),
])
def test_anything_else_is_refused_and_nothing_is_stored(client, name, data, declared):
    answer = upload(client, name, data, declared).json_body
    assert answer["code"] == 1000 and "type is not allowed" in answer["message"]
    assert stored_keys() == []


def test_empty_file_is_refused(client):
    answer = upload(client, "empty.txt", b"").json_body
    assert answer == {"code": 1000, "message": "file is empty", "data": {}}
    assert stored_keys() == []


def test_missing_file_field_is_refused(client):
    answer = upload(client, "photo.png", samples.png(), field="avatar").json_body
    assert answer == {"code": 1000, "message": "file is required", "data": {}}
    body = b"--xx\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nnot a file\r\n--xx--\r\n"
    answer = client.http.post("/upload/file", body=body,
                              headers={"content-type": "multipart/form-data; boundary=xx", **auth()}).json_body
    assert answer["code"] == 1000 and "uploaded file" in answer["message"]


def test_upload_needs_a_token(client):
    body, headers = samples.multipart("photo.png", samples.png())
    answer = client.http.post("/upload/file", headers=headers, body=body)
    assert answer.status_code == 401 and answer.json_body["code"] == 401
    assert stored_keys() == []


def test_file_over_4_mb_is_refused_with_a_clear_message(client):
    data = samples.png() + b"\x00" * (4 * 1024 * 1024)
    answer = upload(client, "huge.png", data)
    assert answer.status_code == 200
    assert answer.json_body["code"] == 1000 and "larger than 4 MB" in answer.json_body["message"]
    assert "/upload/presign" in answer.json_body["message"]
    assert stored_keys() == []


def test_exactly_4_mb_is_accepted(client):
    data = samples.png() + b"\x00" * (4 * 1024 * 1024 - len(samples.png()))
    assert upload(client, "big.png", data).json_body["code"] == 200


def test_body_over_the_route_limit_is_a_413_envelope(client):
    answer = upload(client, "huge.png", samples.png() + b"\x00" * (5 * 1024 * 1024))
    assert answer.status_code == 413
    assert answer.json_body["code"] == 413 and "larger than" in answer.json_body["message"]
    assert stored_keys() == []


@pytest.mark.parametrize(("raw", "expected"), [
    ("../../../etc/passwd.png", "passwd.png"),
    ("..\\..\\boot.ini.png", "boot.ini.png"),
    (b"evil\x00.png", "evil.png"),
    (b"tab\x01\x7fname.png", "tabname.png"),
    ("会议 记录 — 最终版.png", "会议 记录 — 最终版.png"),
    ("x" * 300 + ".png", "x" * 116 + ".png"),
])
def test_client_filenames_are_sanitised_and_never_used_as_keys(client, raw, expected):
    answer = upload(client, raw, samples.png()).json_body
    assert answer["code"] == 200, answer
    assert answer["data"]["name"] == expected
    [key] = stored_keys()
    assert re.fullmatch(r"uploads/7/[A-Za-z0-9_-]{32}\.png", key)


def test_random_ids_do_not_repeat(client):
    urls = {upload(client, "same.png", samples.png()).json_body["data"]["file_url"] for _ in range(5)}
    assert len(urls) == 5 and len(stored_keys()) == 5


def test_media_is_served_inline_with_the_detected_type(client):
    file_url = upload(client, "voice.exe", samples.wav(), "application/x-msdownload").json_body["data"]["file_url"]
    answer, fetched = follow(client, file_url)
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    assert query["response-content-type"] == ["audio/wav"]
    assert query["response-content-disposition"] == ["inline"]
    assert fetched.headers["Content-Type"] == "audio/wav"
    assert fetched.headers["Content-Disposition"] == "inline"
    assert int(query["X-Amz-Expires"][0]) <= 300
    assert answer.headers["Cache-Control"].startswith("private")


def test_other_types_download_under_their_original_name(client):
    file_url = upload(client, "../季度 报告.pdf", samples.pdf()).json_body["data"]["file_url"]
    _, fetched = follow(client, file_url)
    assert fetched.headers["Content-Type"] == "application/pdf"
    assert fetched.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''%E5%AD%A3%E5%BA%A6%20%E6%8A%A5%E5%91%8A.pdf")
    file_url = upload(client, "notes.md", samples.text()).json_body["data"]["file_url"]
    _, fetched = follow(client, file_url)
    assert fetched.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert fetched.headers["Content-Disposition"] == "attachment; filename*=UTF-8''notes.md"
    assert fetched.content == samples.text()


def test_file_urls_need_no_token_and_carry_cors_for_the_web_client(client):
    file_url = upload(client, "a.png", samples.png()).json_body["data"]["file_url"]
    answer = client.http.get(path_of(file_url), headers={"origin": "https://chat.example.com"})
    assert answer.status_code == 302
    assert answer.headers["Access-Control-Allow-Origin"] == "https://chat.example.com"


@pytest.mark.parametrize("path", [
    "/files/7/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.png",
    "/files/8/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.png",
    "/files/7/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.png/a.png",
])
def test_unknown_keys_are_404(client, path):
    answer = client.http.get(path)
    assert answer.status_code == 404
    assert answer.json_body == {"code": 404, "message": "file not found", "data": {}}


@pytest.mark.parametrize(("name", "data", "segment"), [
    ("notes.txt", samples.text(), "notes.txt"),
    ("报告 final#2?.pdf", samples.pdf(), "报告_final_2_.pdf"),
    ("cat.png", samples.pdf(), "cat.png.pdf"),  # the client would draw a .png as an image
    ("photo", samples.jpeg(), "photo.jpg"),
    ("photo.JPEG", samples.jpeg(), "photo.JPEG"),
    ("100%.txt", samples.text(), "100_.txt"),
])
def test_file_urls_end_with_the_name_people_recognise(client, name, data, segment):
    """The web client shows the URL's last segment on file chips and picks image or file by its extension."""
    file_url = upload(client, name, data).json_body["data"]["file_url"]
    match = URL.match(file_url)
    assert match and match.group(3) == segment
    _, fetched = follow(client, file_url)
    assert fetched.status_code == 200 and fetched.content == data
    # the name is for people: the random id finds the file, and URLs issued without a name keep working
    unnamed = path_of(file_url).rsplit("/", 1)[0]
    assert client.http.get(unnamed).status_code == 302
    assert client.http.get(f"{unnamed}/another-name.txt").status_code == 302
    assert client.http.get(path_of(file_url).replace(match.group(1), "B" * 32)).status_code == 404


def test_another_owner_path_does_not_reach_the_file(client):
    file_url = upload(client, "a.png", samples.png()).json_body["data"]["file_url"]
    assert client.http.get(path_of(file_url).replace("/files/7/", "/files/8/")).status_code == 404


@pytest.mark.parametrize("path", [
    "/files/abc/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.png",
    "/files/0/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.png",
    "/files/-1/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.png",
    "/files/7/short.png",
    "/files/7/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.PNG",
    "/files/7/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.png%00.html",
    "/files/7/..%2F..%2Fsecret.txtxx",
    "/files/7/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "/files/7/short.png/a.png",
    "/files/7/..%2F..%2Fsecret.txtxx/a.png",
])
def test_malformed_owner_or_name_never_reaches_s3(client, aws_calls, path):
    aws_calls.reset()
    answer = client.http.get(path)
    assert answer.json_body["code"] in (404, 1000)
    assert aws_calls.count() == 0


def test_public_base_url_setting_wins(client, monkeypatch):
    from chalicelib.config import reset_caches

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.com/api/")
    reset_caches()
    try:
        answer = upload(client, "a.png", samples.png()).json_body
    finally:
        monkeypatch.delenv("PUBLIC_BASE_URL")
        reset_caches()
    assert re.fullmatch(r"https://api\.example\.com/api/files/7/[A-Za-z0-9_-]{32}\.png/a\.png",
                        answer["data"]["file_url"])


def test_base_url_behind_api_gateway_is_absolute_with_the_stage():
    from chalice.app import Request

    from chalicelib.api.uploads import request_base_url

    def event(context_path: str, path: str, domain: str) -> dict:
        return {"multiValueQueryStringParameters": None, "headers": {"host": domain}, "pathParameters": {},
                "body": None, "stageVariables": None, "path": path,
                "requestContext": {"httpMethod": "POST", "resourcePath": path, "domainName": domain,
                                   "stage": "api", "path": context_path}}

    aws_domain = "abc123.execute-api.us-east-1.amazonaws.com"
    assert request_base_url(Request(event("/api/upload/file", "/upload/file", aws_domain))) == f"https://{aws_domain}/api"
    assert request_base_url(Request(event("/im/upload/file", "/upload/file", "chat.example.com"))
                            ) == "https://chat.example.com/im"
    assert request_base_url(Request(event("", "", aws_domain))) == f"https://{aws_domain}/api"


# ---- presigned uploads ----------------------------------------------------------------------------------------

def presign(client, name="movie.mp4", size=1024, content_type="video/mp4", user_id=USER_ID):
    return client.http.post("/upload/presign", headers={"content-type": "application/json", **auth(user_id)},
                            body=json.dumps({"name": name, "size": size, "content_type": content_type})).json_body


def post_to_s3(grant: dict, data: bytes, filename: str = "upload.bin") -> requests.Response:
    return requests.post(grant["url"], data=grant["fields"], files={"file": (filename, data)}, timeout=5)


def policy_of(grant: dict) -> dict:
    import base64

    return json.loads(base64.b64decode(grant["fields"]["policy"]))


def test_presign_returns_a_policy_bound_to_size_type_and_key(client):
    answer = presign(client, name="../假期 视频.mp4", size=50 * 1024 * 1024, content_type="video/mp4")
    assert answer["code"] == 200, answer
    grant = answer["data"]
    match = URL.match(grant["file_url"])
    assert match and match.group(2) == ".mp4" and match.group(3) == "假期_视频.mp4"
    assert grant["fields"]["key"] == f"uploads/7/{match.group(1)}.mp4"
    assert grant["name"] == "假期 视频.mp4" and grant["size"] == 50 * 1024 * 1024
    conditions = policy_of(grant)["conditions"]
    assert ["content-length-range", 50 * 1024 * 1024, 50 * 1024 * 1024] in conditions
    assert {"Content-Type": "video/mp4"} in conditions
    assert grant["fields"]["Content-Type"] == "video/mp4"
    assert "X-Amz-Signature" in grant["fields"] or "x-amz-signature" in grant["fields"]


def test_presign_normalises_declared_type_aliases(client):
    grant = presign(client, name="voice.webm", size=10, content_type="audio/webm;codecs=opus")["data"]
    assert grant["content_type"] == "audio/webm" and grant["fields"]["Content-Type"] == "audio/webm"
    assert presign(client, name="a.jpg", size=10, content_type="image/jpg")["data"]["content_type"] == "image/jpeg"


@pytest.mark.parametrize(("size", "content_type", "message"), [
    (0, "video/mp4", "size must be at least 1"),
    (-5, "video/mp4", "size must be at least 1"),
    (100 * 1024 * 1024 + 1, "video/mp4", "file is larger than 100 MB"),
    (10, "text/html", "content_type is not allowed"),
    (10, "image/svg+xml", "content_type is not allowed"),
    (10, "application/javascript", "content_type is not allowed"),
    (10, "application/octet-stream", "content_type is not allowed"),
])
def test_presign_validation(client, size, content_type, message):
    answer = presign(client, size=size, content_type=content_type)
    assert answer["code"] == 1000 and message in answer["message"], answer


def test_presign_limit_is_configurable(client, monkeypatch):
    from chalicelib.config import reset_caches

    monkeypatch.setenv("MAX_PRESIGNED_UPLOAD_BYTES", str(200 * 1024 * 1024))
    reset_caches()
    try:
        assert presign(client, size=150 * 1024 * 1024)["code"] == 200
    finally:
        monkeypatch.delenv("MAX_PRESIGNED_UPLOAD_BYTES")
        reset_caches()


def test_presign_needs_a_token(client):
    answer = client.http.post("/upload/presign", headers={"content-type": "application/json"},
                              body=json.dumps({"name": "a.png", "size": 10, "content_type": "image/png"}))
    assert answer.status_code == 401


def test_presigned_upload_is_verified_on_first_download(client, aws_calls):
    data = samples.mp4()
    grant = presign(client, name="trip.mp4", size=len(data), content_type="video/mp4")["data"]
    assert post_to_s3(grant, data).status_code in (200, 201, 204)
    key = grant["fields"]["key"]
    assert "verified" not in aws_client("s3").head_object(Bucket=BUCKET, Key=key)["Metadata"]

    aws_calls.reset()
    _, fetched = follow(client, grant["file_url"])
    assert fetched.content == data and fetched.headers["Content-Type"] == "video/mp4"
    assert fetched.headers["Content-Disposition"] == "inline"
    assert aws_calls.calls["s3.GetObject"] == 1 and aws_calls.calls["s3.CopyObject"] == 1
    head = aws_client("s3").head_object(Bucket=BUCKET, Key=key)
    assert head["Metadata"]["verified"] == "1" and head["ContentType"] == "video/mp4"

    aws_calls.reset()
    follow(client, grant["file_url"])
    assert dict(aws_calls.calls) == {"s3.HeadObject": 1}


def test_presigned_download_keeps_the_original_name(client):
    data = samples.zip_archive()
    grant = presign(client, name="资料 包.zip", size=len(data), content_type="application/zip")["data"]
    post_to_s3(grant, data)
    _, fetched = follow(client, grant["file_url"])
    assert fetched.headers["Content-Disposition"] == "attachment; filename*=UTF-8''%E8%B5%84%E6%96%99%20%E5%8C%85.zip"


@pytest.mark.parametrize(("declared", "data"), [
    ("image/png", samples.HTML),
    ("text/plain", samples.HTML),
    ("text/plain", samples.SVG),
    ("image/png", samples.jpeg()),
    ("video/mp4", samples.EXE),
])
def test_presigned_upload_with_wrong_content_is_deleted_and_404(client, declared, data):
    grant = presign(client, name="innocent.png", size=len(data), content_type=declared)["data"]
    post_to_s3(grant, data)
    assert grant["fields"]["key"] in stored_keys()
    answer = client.http.get(path_of(grant["file_url"]))
    assert answer.status_code == 404 and answer.json_body["code"] == 404
    assert stored_keys() == []


def test_presigned_upload_of_another_size_is_refused(client):
    grant = presign(client, name="a.png", size=10, content_type="image/png")["data"]
    post_to_s3(grant, samples.png())  # moto does not enforce content-length-range; the first download does
    assert client.http.get(path_of(grant["file_url"])).status_code == 404
    assert stored_keys() == []


def test_presigned_url_before_the_upload_is_404(client):
    grant = presign(client, name="a.png", size=10, content_type="image/png")["data"]
    assert client.http.get(path_of(grant["file_url"])).status_code == 404


def test_head_forbidden_counts_as_missing_as_s3_answers_without_list_bucket(aws):
    from botocore.stub import Stubber

    from chalicelib.storage import s3

    with Stubber(aws_client("s3")) as stub:
        stub.add_client_error("head_object", service_error_code="403", http_status_code=403)
        assert s3.head("uploads/7/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.png") is None
