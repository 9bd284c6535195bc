"""Human output (tables) and machine output (``--json``, ``-o jsonl``, ``-o csv``) for the CLI.

Machine output is stable: attrs models become objects via `attrs.asdict`, datetimes and dates
become ISO 8601 strings, paths become strings, enums their values, and secrets are masked.
Off a terminal (a pipe, a log file, cron) tables are plain aligned text with no box drawing.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs
import click

from .._secret import Secret

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "FORMATS",
    "OutputFormat",
    "emit",
    "emit_json",
    "human_bytes",
    "is_terminal",
    "json_line",
    "plain_table",
    "print_mapping",
    "print_table",
    "printable",
    "timestamp",
    "to_csv",
    "to_jsonable",
]

OutputFormat = Literal["table", "json", "jsonl", "csv"]
#: What ``-o/--output`` accepts: a human table (the default), one JSON document, one JSON
#: object per line, or CSV with a header row.
FORMATS: tuple[OutputFormat, ...] = ("table", "json", "jsonl", "csv")


def to_jsonable(value: object) -> Any:
    """Turn models, lists, dicts, datetimes, paths, enums and secrets into JSON-ready values."""
    if attrs.has(type(value)):
        # Binary fields (plots, file contents) are left out; everything else is kept.
        return {
            key: to_jsonable(item)
            for key, item in attrs.asdict(value, recurse=False).items()  # type: ignore[arg-type]
            if not isinstance(item, bytes)
        }
    if isinstance(value, Secret):
        return value.masked()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {str(k): to_jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def emit_json(value: object) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(to_jsonable(value), indent=2, sort_keys=False, allow_nan=False, default=str))


def json_line(value: object) -> str:
    """One compact JSON object on one line (``-o jsonl``)."""
    return json.dumps(to_jsonable(value), sort_keys=False, allow_nan=False, default=str)


def emit(value: object, output: OutputFormat) -> None:
    """Print `value` in a machine format: one JSON document, JSON lines, or CSV.

    For ``jsonl`` a list prints one line per item and anything else one line; for ``csv`` see
    `to_csv`. ``table`` is the caller's own rendering, so it falls back to JSON here.
    """
    if output == "jsonl":
        data = to_jsonable(value)
        for item in data if isinstance(data, list) else [data]:
            click.echo(json.dumps(item, sort_keys=False, allow_nan=False, default=str))
    elif output == "csv":
        click.echo(to_csv(value), nl=False)
    else:
        emit_json(value)


def to_csv(value: object) -> str:
    """CSV text with a header row: a list of objects gives one row each, an object one row.

    Columns are the objects' keys in order of first appearance; nested values (lists, objects)
    are written as compact JSON, None as an empty cell.
    """
    data = to_jsonable(value)
    items = data if isinstance(data, list) else [data]
    rows = [item if isinstance(item, dict) else {"value": item} for item in items]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(columns))
    for row in rows:
        writer.writerow([_csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # as in the JSON output
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=False, default=str)
    if isinstance(value, str):
        return printable(value)
    return value


#: Characters a text line must not carry as they are: C0 controls (a newline in a file name would
#: split a log line), DEL and C1 controls, and the lone surrogates by which Python holds the bytes
#: of a file name that is not valid UTF-8.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")


def printable(text: str) -> str:
    """`text` safe for a text line: undecodable name bytes and control characters as ``\\xNN``.

    A file name that is not valid UTF-8 reaches Python as lone surrogates; written out as they
    are they would be raw bytes (invalid UTF-8 in cron mail and log shippers) or a crash. Shown
    the way ``ls -b`` does: ``bad\\xff.fits``. JSON output needs none of this (it escapes them).
    """
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()) & 0xFF:02x}", text)


def timestamp(*, date: bool = True) -> str:
    """Local time for log lines: ``2026-11-24T03:12:01+01:00`` (or ``03:12:01`` without the date)."""
    now = dt.datetime.now().astimezone()
    return now.isoformat(timespec="seconds") if date else now.strftime("%H:%M:%S")


def is_terminal() -> bool:
    """True when stdout is an interactive terminal (progress bars and colours are shown)."""
    return sys.stdout.isatty()


def _console() -> Console:
    from rich.console import Console

    # Write to the current sys.stdout (CliRunner swaps it); no colour unless on a terminal. Off a
    # terminal rich would assume 80 columns; logs read better with tables that do not wrap.
    width = None if is_terminal() or os.environ.get("COLUMNS") else 160
    return Console(file=sys.stdout, soft_wrap=True, highlight=False, width=width)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None
) -> None:
    """A rich table on a terminal; plain aligned columns otherwise (no box drawing in logs)."""
    cells = [["" if cell is None else _cell(cell) for cell in row] for row in rows]
    if not is_terminal():
        click.echo(plain_table(columns, cells, title=title), nl=False)
        return
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in cells:
        table.add_row(*row)
    _console().print(table)


def plain_table(columns: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None) -> str:
    """Columns padded with spaces, a dashed rule under the header, one line per row."""
    widths = [len(column) for column in columns]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=False)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=False)).rstrip()

    lines = ([title] if title else []) + [line(columns), line(["-" * width for width in widths])]
    lines += [line(row) for row in rows]
    return "\n".join(lines) + "\n"


def print_mapping(values: Mapping[str, object]) -> None:
    """`key: value` lines, aligned."""
    width = max((len(key) for key in values), default=0)
    for key, value in values.items():
        click.echo(f"{key.ljust(width)}  {'' if value is None else _cell(value)}")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.5f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.6g}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(item) for item in value)
    return printable(str(value))


def human_bytes(size: float) -> str:
    """1536 → '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
