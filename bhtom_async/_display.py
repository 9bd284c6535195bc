"""Strictly private: small HTML tables for notebooks (`_repr_html_`), with no dependency.

Jupyter shows an object through its `_repr_html_` when it has one. A light curve, a result set
or an upload summary should show as a short table (a few rows, the counts that matter), not as
one long attrs repr. Everything here is plain string building with escaping; it imports nothing
else of the package, so models and the uploader may both use it.
"""

from __future__ import annotations

import datetime as dt
import enum
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

__all__ = ["SummaryLike", "cell_text", "html_table", "summary_html"]

#: Rows shown before the table is cut (the head and tail are kept).
MAX_ROWS = 20


def cell_text(value: object) -> str:
    """A short, human form of one value (floats trimmed, datetimes to the second, enums by name)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.6f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.6g}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, enum.Enum):
        return value.name
    return str(value)


def html_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    caption: str | None = None,
    max_rows: int = MAX_ROWS,
) -> str:
    """An escaped HTML table; beyond `max_rows` rows, the first and last few with a "…" row."""
    shown: list[Sequence[object] | None] = list(rows)
    if len(rows) > max_rows:
        head = max_rows // 2
        shown = [*rows[:head], None, *rows[len(rows) - (max_rows - head) :]]
    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr></thead>")
    parts.append("<tbody>")
    for row in shown:
        if row is None:
            hidden = len(rows) - max_rows
            parts.append(f'<tr><td colspan="{len(columns)}">… {hidden} more rows …</td></tr>')
            continue
        parts.append("<tr>" + "".join(f"<td>{html.escape(cell_text(v))}</td>" for v in row) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


class _OutcomeLike(Protocol):
    @property
    def path(self) -> Path: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def data_product_id(self) -> int | None: ...


class _ErrorLike(Protocol):
    @property
    def headline(self) -> str: ...
    @property
    def hint(self) -> str | None: ...


class SummaryLike(Protocol):
    """What `summary_html` reads of an upload summary (`bhtom_async.upload.UploadSummary`)."""

    @property
    def counts(self) -> Mapping[str, int]: ...
    @property
    def outcomes(self) -> Sequence[_OutcomeLike]: ...
    @property
    def stopped(self) -> _ErrorLike | None: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def bytes_sent(self) -> int: ...
    @property
    def elapsed(self) -> float: ...


def summary_html(summary: SummaryLike) -> str:
    """An upload summary for a notebook: the counts, then every file that did not go well."""
    counts = summary.counts
    names = [name.replace("_", " ") for name in counts]
    sent = f"{summary.bytes_sent / 1e6:.1f} MB in {summary.elapsed:.1f} s"
    parts = [html_table([*names, "sent"], [[*counts.values(), sent]], caption="Upload summary")]
    if summary.stopped is not None:
        text = summary.stopped.headline.rstrip(". ") + "."
        if summary.stopped.hint:
            text += f" Hint: {summary.stopped.hint}"
        parts.append(f"<p><b>Stopped:</b> {html.escape(text)}</p>")
    if summary.cancelled:
        parts.append("<p><b>Cancelled</b> before every file was handled.</p>")
    trouble = [o for o in summary.outcomes if o.status in ("failed", "unknown")]
    if trouble:
        rows = [[o.path.name, o.status, o.reason or ""] for o in trouble]
        parts.append(html_table(["file", "status", "reason"], rows))
    return "".join(parts)
