"""Human output (rich tables, progress) and machine output (``--json``) for the CLI.

``--json`` output is stable: attrs models become objects via `attrs.asdict`, datetimes and dates
become ISO 8601 strings, paths become strings, enums their values, and secrets are masked.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs
import click

from .._secret import Secret

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["ProgressDisplay", "emit_json", "is_terminal", "print_table", "to_jsonable"]


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
    """A rich table on a terminal, tab-free aligned plain text otherwise (same columns)."""
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else _cell(cell) for cell in row))
    _console().print(table)


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
    return str(value)


def human_bytes(size: float) -> str:
    """1536 → '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class ProgressDisplay:
    """Live progress for many files: a rich bar on a terminal, one plain line per file otherwise.

    Shows files done/failed/left, bytes, rate and ETA (with `by_files`, the bar counts files
    instead of bytes, as while waiting for calibration). Quiet when `enabled` is False (``--json``).

    Example:
        >>> with ProgressDisplay(total_files=3, total_bytes=9000) as progress:  # doctest: +SKIP
        ...     progress.file_finished("a.fits", status="uploaded", size=3000)
    """

    def __init__(
        self,
        *,
        total_files: int = 0,
        total_bytes: int = 0,
        enabled: bool = True,
        live: bool | None = None,
        label: str = "uploading",
        by_files: bool = False,
    ) -> None:
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.done = 0
        self.failed = 0
        self.bytes_done = 0
        self.enabled = enabled
        self.live = is_terminal() if live is None else live
        self.label = label
        self.by_files = by_files
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressDisplay:
        if self.enabled and self.live:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                MofNCompleteColumn,
                Progress,
                ProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            middle: tuple[ProgressColumn, ...] = (
                (MofNCompleteColumn(), TimeElapsedColumn())
                if self.by_files
                else (DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
            )
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                *middle,
                TextColumn("{task.fields[counts]}"),
                console=_console(),
                transient=False,
            )
            self._progress.start()
            total = self.total_files if self.by_files else self.total_bytes
            self._task = self._progress.add_task(self.label, total=total or None, counts=self._counts())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def set_totals(self, *, files: int, size: int) -> None:
        """Totals once discovery has finished."""
        self.total_files, self.total_bytes = files, size
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=size or None, counts=self._counts())

    def advance_bytes(self, count: int) -> None:
        """Bytes sent (for the rate and ETA)."""
        self.bytes_done += count
        if self._progress is not None and self._task is not None and not self.by_files:
            # Request bodies carry multipart framing, so the bytes sent outgrow the file sizes.
            total = max(self.total_bytes, self.bytes_done) or None
            self._progress.update(self._task, advance=count, total=total)

    def file_finished(self, name: str, *, status: str, size: int = 0, detail: str = "") -> None:
        """One file reached a final state (uploaded, skipped, failed, unknown, ...)."""
        if status in ("failed", "unknown"):
            self.failed += 1
        else:
            self.done += 1
        if not self.enabled:
            return
        line = f"{status:<10} {name}" + (f"  ({detail})" if detail else "")
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, counts=self._counts(), advance=1 if self.by_files else 0)
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            click.echo(f"[{self.done + self.failed}/{self.total_files or '?'}] {line}")

    def note(self, message: str) -> None:
        """A free-form line (plain in both modes)."""
        if not self.enabled:
            return
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        else:
            click.echo(message)

    def _counts(self) -> str:
        left = max(self.total_files - self.done - self.failed, 0)
        return f"{self.done} done, {self.failed} failed, {left} left"
