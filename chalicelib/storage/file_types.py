"""What a file is, decided from its bytes (never its name), and how it may be served.

Only the types below are accepted. Images, audio and video are served inline; everything else is a
download. Markup and script (HTML, SVG, XML, JS) are never accepted, so nothing we serve can run in a page.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

SNIFF_BYTES = 64 * 1024  # read for detection; magic numbers need 8 KiB, the rest makes the text check stronger


@dataclass(frozen=True)
class FileType:
    mime: str
    ext: str
    family: str  # types of one container share a family (audio/video webm, audio/video mp4)
    inline: bool

    @property
    def served_as(self) -> str:
        return f"{self.mime}; charset=utf-8" if self.mime == "text/plain" else self.mime


PNG = FileType("image/png", ".png", "png", True)
JPEG = FileType("image/jpeg", ".jpg", "jpeg", True)
GIF = FileType("image/gif", ".gif", "gif", True)
WEBP = FileType("image/webp", ".webp", "webp", True)
WAV = FileType("audio/wav", ".wav", "wav", True)
MP3 = FileType("audio/mpeg", ".mp3", "mp3", True)
OGG = FileType("audio/ogg", ".ogg", "ogg", True)
M4A = FileType("audio/mp4", ".m4a", "mp4", True)
MP4 = FileType("video/mp4", ".mp4", "mp4", True)
AUDIO_WEBM = FileType("audio/webm", ".webm", "webm", True)
VIDEO_WEBM = FileType("video/webm", ".webm", "webm", True)
PDF = FileType("application/pdf", ".pdf", "pdf", False)
ZIP = FileType("application/zip", ".zip", "zip", False)
TEXT = FileType("text/plain", ".txt", "text", False)

ALL_TYPES = (PNG, JPEG, GIF, WEBP, WAV, MP3, OGG, M4A, AUDIO_WEBM, MP4, VIDEO_WEBM, PDF, ZIP, TEXT)

MIME_ALIASES = {
    "image/jpg": JPEG, "image/pjpeg": JPEG, "image/apng": PNG,
    "audio/x-wav": WAV, "audio/wave": WAV, "audio/vnd.wave": WAV, "audio/mp3": MP3,
    "audio/x-m4a": M4A, "audio/m4a": M4A,
    "application/x-zip-compressed": ZIP, "application/x-zip": ZIP,
}
BY_MIME: dict[str, FileType] = {**{t.mime: t for t in ALL_TYPES}, **MIME_ALIASES}

# filetype's extension → our type. Office/EPUB documents are zip containers: accepted and served as zip
# downloads (the browser still saves them under their original name).
BY_DETECTED_EXTENSION: dict[str, FileType] = {
    "png": PNG, "apng": PNG, "jpg": JPEG, "gif": GIF, "webp": WEBP,
    "wav": WAV, "mp3": MP3, "ogg": OGG, "m4a": M4A, "mp4": MP4, "webm": VIDEO_WEBM,
    "pdf": PDF, "zip": ZIP, "docx": ZIP, "xlsx": ZIP, "pptx": ZIP, "odt": ZIP, "ods": ZIP, "odp": ZIP, "epub": ZIP,
}


def known_extensions(file_type: FileType) -> frozenset[str]:
    """The extensions a name of this type may end with (e.g. .jpg and .jpeg; a zip's .docx)."""
    aliases = {f".{ext}" for ext, found in BY_DETECTED_EXTENSION.items() if found == file_type}
    return frozenset({file_type.ext, *aliases, *({".jpeg"} if file_type == JPEG else ())})


# Text that a browser could treat as a page, an image with script (SVG) or a stylesheet/script.
MARKUP = re.compile(
    r"<(?:!doctype|!--|\?xml|/?(?:html|head|body|script|svg|iframe|frame|frameset|object|embed|meta|link|"
    r"style|title|base|form|img|a|b|p|br|h1|div|font|table|math|xsl:[a-z]+)(?=[\s/>]))",
    re.IGNORECASE,
)
ACTIVE_NAME = re.compile(r"\.(?:html?|xhtml|shtml|svgz?|xml|xsl|xslt|m?js|cjs|hta|php\d?|jsp|aspx?)$", re.IGNORECASE)
ACTIVE_MIME = re.compile(r"html|javascript|ecmascript|svg|xml", re.IGNORECASE)
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def normalize_mime(declared: str) -> str:
    return declared.split(";", 1)[0].strip().lower()


def type_for_mime(declared: str) -> FileType | None:
    """The accepted type a declared MIME type stands for, or None when it is not accepted."""
    return BY_MIME.get(normalize_mime(declared))


def _is_plain_text(prefix: bytes, complete: bool) -> bool:
    if CONTROL_BYTES.search(prefix):
        return False
    try:
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(prefix, final=complete)
    except UnicodeDecodeError:
        return False
    return MARKUP.search(text) is None


def detect(data: bytes, *, complete: bool, declared_mime: str = "", name: str = "") -> FileType | None:
    """The accepted type of `data` (the whole file, or its first bytes when `complete` is False), or None.

    The bytes decide. The declared MIME type only picks between variants of the same container (audio or
    video webm/mp4) and, for text, a declared script/markup name or type refuses the file.
    """
    if not data:
        return None
    import filetype

    kind = filetype.guess(data[:8192])
    declared = type_for_mime(declared_mime)
    if kind is not None:
        found = BY_DETECTED_EXTENSION.get(kind.extension)
        if found is None:
            return None
        return declared if declared is not None and declared.family == found.family else found
    if ACTIVE_NAME.search(name) or ACTIVE_MIME.search(declared_mime):
        return None
    prefix = data[:SNIFF_BYTES]
    return TEXT if _is_plain_text(prefix, complete and len(prefix) == len(data)) else None


def content_disposition(file_type: FileType, filename: str) -> str:
    """Media plays in the page; every other type is a download under its original (RFC 5987-encoded) name."""
    if file_type.inline:
        return "inline"
    from urllib.parse import quote

    return f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
