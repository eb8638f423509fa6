"""Client filenames are only ever shown back (download name, `name` field); never used to build a key."""
from __future__ import annotations

import unicodedata
from urllib.parse import quote, unquote

MAX_NAME_CHARS = 120
MAX_EXT_CHARS = 16
FALLBACK_NAME = "file"
# Bidirectional overrides and isolates make "gpj.exe" display as "exe.jpg".
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
REMOVED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})


def sanitize_filename(raw: str) -> str:
    """Basename only, no NUL/control/bidi characters, at most MAX_NAME_CHARS; non-ASCII is kept."""
    name = unicodedata.normalize("NFC", raw or "")
    name = "".join(ch for ch in name if unicodedata.category(ch) not in REMOVED_CATEGORIES and ch not in BIDI_CONTROLS)
    name = name.replace("\\", "/").rstrip("/ ").rsplit("/", 1)[-1].strip().rstrip(". ")
    if not name or set(name) == {"."}:
        return FALLBACK_NAME
    if len(name) <= MAX_NAME_CHARS:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= MAX_EXT_CHARS:
        return f"{stem[:MAX_NAME_CHARS - len(ext) - 1].rstrip()}.{ext}"
    return name[:MAX_NAME_CHARS]


def to_metadata(name: str) -> str:
    """S3 user metadata travels in HTTP headers, so it must be ASCII: percent-encode the name."""
    return quote(name, safe="")


def from_metadata(value: str | None) -> str:
    return sanitize_filename(unquote(value)) if value else FALLBACK_NAME
