"""The real server's wire habits, in one place.

Django error pages, DRF's JSON rendering, the 302-to-login that replaces every 403, the two
datetime precisions, and the hand-rolled paginator with its "out of range means last page" rule
(docs/server-behaviour.md, "Cross-cutting" and "Pagination"). Capture numbers name the recorded
answers in ``tests/data/captures/``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

__all__ = [
    "HTML_500",
    "ServerError",
    "django_404",
    "django_dt",
    "drf_dt",
    "drf_json",
    "html_500",
    "json_bytes",
    "login_redirect",
    "method_not_allowed",
    "page_envelope",
    "page_number",
    "permanent_redirect",
    "raw_response",
    "strict_page",
    "unauthorized",
]

#: Django's stock 500 page (DEBUG=False, no 500.html), byte for byte as captured (captures 13, 18).
HTML_500 = (
    '\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n'
    "<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)

_HTML_404 = (
    '\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n'
    "<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n"
    "</body>\n</html>\n"
)


class ServerError(Exception):
    """An uncaught exception in a real view: Django answers the HTML 500 page."""


def json_bytes(data: Any) -> bytes:
    """DRF's JSONRenderer: compact separators, UTF-8, NaN refused (callers map NaN to null)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def raw_response(
    status: int, body: bytes | str, content_type: str | None, headers: dict[str, str] | None = None
) -> Response:
    """A response whose Content-Type is sent exactly as given (Starlette would add a charset)."""
    all_headers = dict(headers or {})
    if content_type is not None:
        all_headers["content-type"] = content_type
    payload = body.encode() if isinstance(body, str) else body
    return Response(payload, status_code=status, headers=all_headers)


def drf_json(
    data: Any, status: int = 200, *, allow: str = "POST, OPTIONS", headers: dict[str, str] | None = None
) -> Response:
    """A DRF ``Response``: ``application/json`` and the view's ``Allow`` header."""
    extra = {"allow": allow, **(headers or {})}
    return raw_response(status, json_bytes(data), "application/json", extra)


def html_500() -> Response:
    """Django's ``<h1>Server Error (500)</h1>`` page, ``Content-Type: text/html`` (no charset)."""
    return raw_response(500, HTML_500, "text/html")


def django_404() -> Response:
    """Django's default 404 page for an unknown path."""
    return raw_response(404, _HTML_404, "text/html; charset=utf-8")


def login_redirect(path: str) -> Response:
    """What ``Raise403Middleware`` makes of a 403: 302 to the login page, empty body."""
    return raw_response(302, b"", "text/html; charset=utf-8", {"location": f"/accounts/login/?next={path}"})


def permanent_redirect(location: str) -> Response:
    """APPEND_SLASH's 301 for a slashless path that exists with a slash."""
    return raw_response(301, b"", "text/html; charset=utf-8", {"location": location})


def unauthorized(detail: str, *, allow: str = "POST, OPTIONS") -> Response:
    """DRF's 401 with ``WWW-Authenticate: Token`` (captures 04, 05)."""
    return drf_json({"detail": detail}, 401, allow=allow, headers={"www-authenticate": "Token"})


def method_not_allowed(method: str, allow: str) -> Response:
    """DRF's 405 body (capture 10)."""
    return drf_json({"detail": f'Method "{method}" not allowed.'}, 405, allow=allow)


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc)


@functools.lru_cache(maxsize=1 << 16)
def django_dt(ts: float | None) -> str | None:
    """``serialize('json')`` datetimes: millisecond precision, ``Z`` suffix (memoised: a list
    page formats three per row, and rows repeat across requests)."""
    if ts is None:
        return None
    moment = _utc(ts)
    text = moment.isoformat()
    if moment.microsecond:
        text = text[:23] + text[26:]
    return text.replace("+00:00", "Z")


def drf_dt(ts: float | None) -> str | None:
    """DRF serializer datetimes: microsecond precision, ``Z`` suffix."""
    if ts is None:
        return None
    return _utc(ts).isoformat().replace("+00:00", "Z")


def clean_float(value: float | None) -> float | None:
    """NaN and infinities become null, as the target list does."""
    if value is None or math.isfinite(value):
        return value
    return None


def page_number(raw: Any, num_pages: int) -> int:
    """Django ``Paginator.get_page``: junk means page 1, out of range means the last page."""
    try:
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    if number < 1 or number > num_pages:
        return num_pages
    return number


def strict_page(raw: Any, num_pages: int) -> int | None:
    """Django ``Paginator.page``: None for any invalid page (the reducedDatum 400)."""
    try:
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError
        number = int(raw)
    except (TypeError, ValueError):
        return None
    if number < 1 or number > num_pages:
        return None
    return number


def num_pages(count: int, size: int) -> int:
    """Page count with Django's ``allow_empty_first_page``: never below one."""
    return max(1, math.ceil(count / size))


def page_envelope(items: Sequence[Any], number: int, size: int, *, all_rows: bool = False) -> dict[str, Any]:
    """The ``{"count","num_pages","current_page","data"}`` envelope.

    ``all_rows`` reproduces the observatory and favourites bug: ``data`` holds every row.
    """
    pages = num_pages(len(items), size)
    start = (number - 1) * size
    data = list(items) if all_rows else list(items[start : start + size])
    return {"count": len(items), "num_pages": pages, "current_page": number, "data": data}
