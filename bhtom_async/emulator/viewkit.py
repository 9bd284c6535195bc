"""Small helpers shared by the view modules."""

from __future__ import annotations

import csv
import io
import math
import posixpath
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from .quirks import ServerError, raw_response
from .wire import Ctx

__all__ = ["Handler", "body", "csv_attachment", "file_attachment", "is_absent"]

Handler = Callable[[Ctx], Awaitable[Response]]


def body(ctx: Ctx) -> dict[str, Any]:
    """``request.data`` as a dict; anything else makes ``.get`` blow up in the real view (500)."""
    if not isinstance(ctx.data, dict):
        raise ServerError("request.data has no .get()")
    return ctx.data


def is_absent(value: Any) -> bool:
    """Falsy the way the views test parameters (``if not value``)."""
    return value is None or value == "" or value == [] or value == {}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)  # pandas writes NaN as an empty cell
    return str(value)


def attachment_header(filename: str) -> str:
    """Django 4.0's ``FileResponse`` Content-Disposition: the base name, quoted as is if ASCII
    (no escaping: a ``;`` stays inside the quotes), else RFC 5987 ``filename*=utf-8''...``."""
    name = posixpath.basename(filename)
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        return f"attachment; filename*=utf-8''{quote(name)}"
    return f'attachment; filename="{name}"'


def csv_attachment(header: Sequence[str], rows: Sequence[Sequence[Any]], filename: str) -> Response:
    """pandas ``to_csv(sep=';', index=False)`` as a ``text/csv`` attachment."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return raw_response(
        200,
        out.getvalue(),
        "text/csv",
        {"content-disposition": attachment_header(filename), "allow": "POST, OPTIONS"},
    )


def file_attachment(content: bytes, filename: str, content_type: str) -> Response:
    """Django ``FileResponse(as_attachment=True)``."""
    return raw_response(
        200,
        content,
        content_type,
        {"content-disposition": attachment_header(filename), "allow": "POST, OPTIONS"},
    )
