"""One parser for every request body: JSON, urlencoded and multipart, with `name[]` arrays."""
from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.errors import InvalidInput

MAX_PARTS = 256
MAX_FIELD_BYTES = 64 * 1024


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


FormValue = Any


def _add(form: dict[str, FormValue], name: str, value: FormValue) -> None:
    """`name[]` always collects into a list under `name`; a repeated plain name keeps its last value."""
    if name.endswith("[]"):
        key = name[:-2]
        existing = form.get(key)
        if isinstance(existing, list):
            existing.append(value)
        else:
            form[key] = [value]
    else:
        form[name] = value


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    from multipart import parse_options_header

    media, options = parse_options_header(content_type or "")
    return media.lower(), options


def _parse_multipart(raw: bytes, options: Mapping[str, str], max_bytes: int) -> dict[str, FormValue]:
    from multipart import MultipartError, MultipartParser

    boundary = options.get("boundary")
    if not boundary:
        raise InvalidInput("multipart body has no boundary")
    form: dict[str, FormValue] = {}
    try:
        parser = MultipartParser(
            io.BytesIO(raw),
            boundary,
            content_length=len(raw),
            part_limit=MAX_PARTS,
            partsize_limit=max_bytes,
            memory_limit=max_bytes + MAX_PARTS * 1024,
            spool_limit=max_bytes + 1,
        )
        for part in parser:
            if part.filename is not None:
                _add(form, part.name, UploadedFile(part.filename, part.content_type or "", part.raw))
            else:
                if part.size > MAX_FIELD_BYTES:
                    raise InvalidInput(f"field {part.name} is too long")
                _add(form, part.name, part.raw.decode("utf-8", errors="strict"))
    except MultipartError as exc:
        raise InvalidInput("malformed multipart body") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput("form fields must be UTF-8 text") from exc
    return form


def _parse_urlencoded(raw: bytes) -> dict[str, FormValue]:
    """Both the body's bytes and its %-escapes must be UTF-8 (`%ff` is refused, never stored as U+FFFD)."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_PARTS, errors="strict")
    except UnicodeDecodeError as exc:  # a subclass of ValueError: caught first
        raise InvalidInput("form body must be UTF-8") from exc
    except ValueError as exc:  # more than MAX_PARTS fields
        raise InvalidInput(f"form body has more than {MAX_PARTS} fields") from exc
    form: dict[str, FormValue] = {}
    for name, value in pairs:
        _add(form, name, value)
    return form


def _parse_json(raw: bytes) -> dict[str, FormValue]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("request body is not valid JSON") from exc
    except RecursionError as exc:
        raise InvalidInput("request body is nested too deeply") from exc
    if not isinstance(value, dict):
        raise InvalidInput("request body must be a JSON object")
    form: dict[str, FormValue] = {}
    for name, item in value.items():
        if name.endswith("[]"):
            for element in item if isinstance(item, list) else [item]:
                _add(form, name, element)
        else:
            form[name] = item
    return form


def parse_body(raw: bytes, content_type: str, max_bytes: int) -> dict[str, FormValue]:
    """Fields of the body; an empty body is an empty form whatever its declared type."""
    if not raw or not raw.strip():
        return {}
    media, options = _media_type(content_type)
    if media == "multipart/form-data":
        return _parse_multipart(raw, options, max_bytes)
    if media == "application/x-www-form-urlencoded":
        return _parse_urlencoded(raw)
    if media in ("application/json", "") or media.endswith("+json"):
        return _parse_json(raw)
    raise InvalidInput(f"unsupported content type {media}: send JSON, urlencoded or multipart/form-data")


def parse_query(multi_value: Mapping[str, list[str]] | None) -> dict[str, FormValue]:
    form: dict[str, FormValue] = {}
    for name, values in (multi_value or {}).items():
        for value in values:
            _add(form, name, value)
    return form
