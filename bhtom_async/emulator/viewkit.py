"""Small helpers shared by the view modules."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

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
        return repr(value)
    return str(value)


def csv_attachment(header: Sequence[str], rows: Sequence[Sequence[Any]], filename: str) -> Response:
    """pandas ``to_csv(sep=';', index=False)`` as a ``text/csv`` attachment (§3.9)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return raw_response(
        200,
        out.getvalue(),
        "text/csv",
        {"content-disposition": f'attachment; filename="{filename}"', "allow": "POST, OPTIONS"},
    )


def file_attachment(content: bytes, filename: str, content_type: str) -> Response:
    """Django ``FileResponse(as_attachment=True)``."""
    return raw_response(
        200,
        content,
        content_type,
        {"content-disposition": f'attachment; filename="{filename}"', "allow": "POST, OPTIONS"},
    )
