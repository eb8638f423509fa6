"""Type detection from bytes, download dispositions and filename sanitising (no AWS)."""
from __future__ import annotations

import pytest

from chalicelib.storage import file_types as ft
from chalicelib.storage.filenames import MAX_NAME_CHARS, from_metadata, sanitize_filename, to_metadata
from tests.support import upload_samples as samples

ACCEPTED = [
    (samples.png(), ft.PNG), (samples.jpeg(), ft.JPEG), (samples.gif(), ft.GIF), (samples.webp(), ft.WEBP),
    (samples.wav(), ft.WAV), (samples.mp3(), ft.MP3), (samples.ogg(), ft.OGG), (samples.m4a(), ft.M4A),
    (samples.mp4(), ft.MP4), (samples.webm(), ft.VIDEO_WEBM), (samples.pdf(), ft.PDF),
    (samples.zip_archive(), ft.ZIP), (samples.text(), ft.TEXT), (b"plain ascii", ft.TEXT),
]
REFUSED = [samples.HTML, samples.SVG, samples.XML_SVG, samples.EXE, samples.ELF, samples.GZIP, samples.UTF16_TEXT,
           samples.LATIN1_TEXT, b"", b"text with a NUL\x00 inside", b"<p>hello</p>", b"  <IFRAME src=x>",
           b"notes\n<!-- comment -->", b"\x1b[31mred\x01"]


@pytest.mark.parametrize(("data", "expected"), ACCEPTED, ids=[t.mime + t.ext for _, t in ACCEPTED])
def test_accepted_types_are_detected_from_bytes(data, expected):
    assert ft.detect(data, complete=True) == expected
    assert ft.detect(data, complete=True, declared_mime="application/x-msdownload", name="evil.exe") == expected


@pytest.mark.parametrize("data", REFUSED)
def test_everything_else_is_refused(data):
    assert ft.detect(data, complete=True) is None
    assert ft.detect(data, complete=True, declared_mime="image/png", name="cat.png") is None


def test_declared_type_only_picks_a_variant_of_the_same_container():
    assert ft.detect(samples.webm(), complete=True, declared_mime="audio/webm;codecs=opus") == ft.AUDIO_WEBM
    assert ft.detect(samples.mp4(), complete=True, declared_mime="audio/mp4") == ft.M4A
    assert ft.detect(samples.png(), complete=True, declared_mime="audio/webm") == ft.PNG


def test_text_declared_as_script_or_markup_is_refused():
    assert ft.detect(b"alert(1)", complete=True, name="x.js") is None
    assert ft.detect(b"alert(1)", complete=True, declared_mime="text/javascript") is None
    assert ft.detect(b"hi", complete=True, declared_mime="image/svg+xml") is None
    assert ft.detect(b"a < b and c > d; List<String>", complete=True, name="notes.md") == ft.TEXT


def test_a_prefix_may_end_inside_a_utf8_character():
    data = ("汉" * 30000).encode()
    assert ft.detect(data[: ft.SNIFF_BYTES], complete=False) == ft.TEXT
    assert ft.detect(data[: ft.SNIFF_BYTES], complete=True) is None


def test_office_documents_are_zip_downloads():
    docx = samples.zip_archive("[Content_Types].xml")
    assert ft.detect(docx, complete=True) == ft.ZIP


def test_mime_aliases_map_to_one_served_type():
    assert ft.type_for_mime("image/jpg") == ft.JPEG
    assert ft.type_for_mime("audio/x-wav") == ft.WAV
    assert ft.type_for_mime(" Audio/WebM; codecs=opus") == ft.AUDIO_WEBM
    for refused in ("text/html", "image/svg+xml", "application/javascript", "application/octet-stream", ""):
        assert ft.type_for_mime(refused) is None
    assert ft.TEXT.served_as == "text/plain; charset=utf-8"


def test_media_is_inline_and_everything_else_a_named_download():
    for media in (ft.PNG, ft.JPEG, ft.GIF, ft.WEBP, ft.WAV, ft.MP3, ft.OGG, ft.M4A, ft.MP4, ft.AUDIO_WEBM):
        assert ft.content_disposition(media, "x") == "inline"
    assert ft.content_disposition(ft.PDF, "报告 1.pdf") == "attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A%201.pdf"
    assert ft.content_disposition(ft.TEXT, 'a";b.txt') == "attachment; filename*=UTF-8''a%22%3Bb.txt"


@pytest.mark.parametrize(("raw", "expected"), [
    ("photo.png", "photo.png"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system.ini", "system.ini"),
    ("/abs/path/", "path"),
    ("evil\x00.png", "evil.png"),
    ("line\r\nbreak.txt", "linebreak.txt"),
    ("gpj\u202eexe.txt", "gpjexe.txt"),
    ("会议 记录.pdf", "会议 记录.pdf"),
    ("Ünïcödé.txt", "Ünïcödé.txt"),
    ("..", "file"),
    ("", "file"),
    ("   ", "file"),
    ("name. ", "name"),
])
def test_filenames_are_sanitised(raw, expected):
    assert sanitize_filename(raw) == expected


def test_long_names_are_capped_keeping_the_extension():
    name = sanitize_filename("长" * 500 + ".docx")
    assert len(name) == MAX_NAME_CHARS and name.endswith(".docx")
    assert len(sanitize_filename("x" * 1000)) == MAX_NAME_CHARS


def test_names_travel_as_ascii_metadata():
    encoded = to_metadata("会议 记录.pdf")
    assert encoded.isascii() and from_metadata(encoded) == "会议 记录.pdf"
    assert from_metadata(None) == "file"
