"""Request schemas: JSON Schema is the one source for validation and for the API documents.

Form bodies carry every value as text, so each value is first coerced to the type its schema names
(strictly: "12abc" is not an integer), then the whole object is checked with fastjsonschema.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.http.body import UploadedFile

Schema = dict[str, Any]

# Text integers (body, query and path alike): ASCII digits, a minus only for a field whose minimum allows it (the
# schema's minimum refuses it elsewhere); no "+", no spaces, no other script's digits, no trailing newline.
INT_PATTERN = re.compile(r"-?[0-9]{1,16}")
MAX_SAFE_INT = 2**53 - 1
DEFAULT_MAX_STRING = 1000
DEFAULT_MAX_ITEMS = 500


def integer(minimum: int | None = 1, maximum: int | None = MAX_SAFE_INT, **extra: Any) -> Schema:
    schema: Schema = {"type": "integer", **extra}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def string(min_length: int = 0, max_length: int = DEFAULT_MAX_STRING, **extra: Any) -> Schema:
    return {"type": "string", "minLength": min_length, "maxLength": max_length, **extra}


# Text a person reads as a name or a label: no C0/C1 control characters (NUL included) and no bidirectional
# embeddings, overrides or isolates (U+202A–U+202E, U+2066–U+2069), which can make one name look like another.
DISPLAY_TEXT_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]*$"


def display_text(min_length: int = 0, max_length: int = DEFAULT_MAX_STRING, **extra: Any) -> Schema:
    return string(min_length, max_length, pattern=DISPLAY_TEXT_PATTERN, **extra)


def email() -> Schema:
    return {"type": "string", "format": "email", "minLength": 3, "maxLength": 254}


def enum(*values: int, **extra: Any) -> Schema:
    return {"type": "integer", "enum": list(values), **extra}


def array(items: Schema, max_items: int = DEFAULT_MAX_ITEMS, **extra: Any) -> Schema:
    return {"type": "array", "items": items, "maxItems": max_items, **extra}


def file_field(**extra: Any) -> Schema:
    return {"type": "string", "format": "binary", **extra}


def obj(properties: dict[str, Schema], required: list[str] | tuple[str, ...] = ()) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _coerce_integer(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and INT_PATTERN.fullmatch(value):
        return int(value)
    raise InvalidInput(f"{name} must be an integer")


def _coerce(name: str, schema: Schema, value: Any) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return _coerce_integer(name, value)
    if kind == "array":
        items = value if isinstance(value, list) else [value]
        return [_coerce(f"{name}[]", schema["items"], item) for item in items]
    if kind == "string" and schema.get("format") == "binary":
        if not isinstance(value, UploadedFile):
            raise InvalidInput(f"{name} must be an uploaded file")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be a string")
        check_text(name, value)
        return value.strip() if schema.get("format") == "email" else value
    return value


def check_text(name: str, value: str) -> None:
    """Any text may travel except lone surrogates (`\ud800`): they are not Unicode scalar values, and bcrypt,
    the push and DynamoDB all refuse them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{name} must be valid Unicode text (it holds a lone surrogate)") from exc


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _message(exc: Any) -> str:
    field = ".".join(str(part) for part in exc.path[1:]) or "body"
    rule, definition = exc.rule, exc.rule_definition
    if rule == "maxLength":
        return f"{field} must be at most {definition} characters"
    if rule == "minLength":
        return f"{field} must be at least {definition} characters" if definition > 1 else f"{field} is required"
    if rule == "minimum":
        return f"{field} must be at least {definition}"
    if rule == "maximum":
        return f"{field} must be at most {definition}"
    if rule == "enum":
        return f"{field} must be one of {', '.join(str(v) for v in definition)}"
    if rule == "format":
        return f"{field} must be a valid {definition}"
    if rule == "maxItems":
        return f"{field} may hold at most {definition} items"
    if rule == "pattern" and definition == DISPLAY_TEXT_PATTERN:
        return f"{field} must not contain control characters or bidirectional overrides"
    if rule == "pattern":
        return f"{field} has an invalid format"
    return f"{field} is invalid"


_validators: dict[int, Callable[[Any], Any]] = {}


def _validator(schema: Schema) -> Callable[[Any], Any]:
    key = id(schema)
    found = _validators.get(key)
    if found is None:
        import fastjsonschema

        found = fastjsonschema.compile(schema, formats={"binary": lambda _value: True})
        _validators[key] = found
    return found


def validate(schema: Schema, form: dict[str, Any]) -> dict[str, Any]:
    """Typed values for the schema's properties; blank optional fields are left out."""
    import fastjsonschema

    properties: dict[str, Schema] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    values: dict[str, Any] = {}
    for name, prop in properties.items():
        raw = form.get(name)
        if _is_blank(raw) or raw == []:
            if name in required:
                raise InvalidInput(f"{name} is required")
            continue
        values[name] = _coerce(name, prop, raw)
    try:
        _validator(schema)({k: v.filename if isinstance(v, UploadedFile) else v for k, v in values.items()})
    except fastjsonschema.JsonSchemaValueException as exc:
        raise InvalidInput(_message(exc)) from exc
    return values
