"""One parser for the server's many error-body shapes.

Seen from the real server (docs/server-behaviour.md, "Cross-cutting"): a bare JSON string,
``{"Error": …}``, ``{"Error ": …}`` (trailing space), ``{"error": …}``, ``{"detail": …}``,
``{"non_field_errors": […]}``, DRF field dicts, a bare JSON list, Django's HTML error pages, and
empty bodies.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping

import attrs

__all__ = ["ErrorBody", "parse_error_body"]

_MESSAGE_KEYS = ("Error", "error", "detail", "message", "Status", "status", "calib-res")
_SNIPPET_CHARS = 200
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
_TITLE = re.compile(r"<(h1|title)[^>]*>(.*?)</\1>", re.IGNORECASE | re.DOTALL)


@attrs.frozen
class ErrorBody:
    """What an error body says: one line for people, plus per-field messages when given."""

    message: str
    field_errors: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    is_html: bool = False
    is_field_dict: bool = False


def parse_error_body(content: bytes, content_type: str = "") -> ErrorBody:
    """Reduce an error body to a short message. Never returns more than ~200 characters of it."""
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return ErrorBody("empty response body")
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        return ErrorBody(_html_snippet(text), is_html=True)
    try:
        data = json.loads(text)
    except ValueError:
        return ErrorBody(_clip(_SPACES.sub(" ", text)))
    return _from_json(data)


def _from_json(data: object) -> ErrorBody:
    if isinstance(data, str):
        return ErrorBody(_clip(data.strip()))
    if isinstance(data, list):
        return ErrorBody(_clip("; ".join(_flatten(data))) or "empty error list")
    if not isinstance(data, Mapping):
        return ErrorBody(_clip(json.dumps(data)))
    stripped = {str(k).strip(): v for k, v in data.items()}
    for key in _MESSAGE_KEYS:
        if key in stripped and stripped[key] not in (None, ""):
            return ErrorBody(_clip("; ".join(_flatten(stripped[key]))))
    if "non_field_errors" in stripped:
        messages = _flatten(stripped["non_field_errors"])
        return ErrorBody(
            _clip("; ".join(messages)), {"non_field_errors": tuple(messages)}, is_field_dict=True
        )
    fields = {key: tuple(_flatten(value)) for key, value in stripped.items()}
    summary = "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in fields.items())
    return ErrorBody(_clip(summary) or "empty error object", fields, is_field_dict=True)


def _flatten(value: object) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [item for element in value for item in _flatten(element)]
    if isinstance(value, Mapping):
        return [f"{k}: {' '.join(_flatten(v))}" for k, v in value.items()]
    return [str(value).strip()]


def _html_snippet(text: str) -> str:
    match = _TITLE.search(text)
    source = match.group(2) if match else text
    plain = _SPACES.sub(" ", html.unescape(_TAGS.sub(" ", source))).strip()
    return _clip(f"HTML page: {plain}" if plain else "HTML page with no text")


def _clip(text: str) -> str:
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"
