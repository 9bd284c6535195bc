"""Pure parsing of the light-curve CSV that `download-photometry/` and `download-radio/` serve.

The server writes pandas ``to_csv(sep=';')``: a ``MJD;Magnitude;Error;Facility;Filter;Observer``
header (radio: ``MJD;mJy;...``), ``\\n`` line ends, fields holding ``;`` or ``"`` quoted with
doubled quotes, and only the header when the target has no data. A negative error marks an upper
limit. pandas writes NaN as an empty cell, so an empty (or otherwise unreadable) value or error is
NaN here and its row is kept; a row without a readable MJD cannot be placed on a curve and is left
out of `points` (the raw text keeps it). Both are counted for the caller's one warning.
"""

from __future__ import annotations

import csv
import email.message
import io
import math

from ..models._converter import DecodeReport
from ..models._files import safe_filename
from ..models.targets import LightCurve, LightCurvePoint

__all__ = ["LightCurveFormatError", "filename_from_disposition", "parse_light_curve"]

#: Field labels in the warning for cells that could not be read.
NO_MJD = "MJD [rows left out of points]"


class LightCurveFormatError(ValueError):
    """The text is not the server's light-curve CSV (the message names the line)."""


def parse_light_curve(
    text: str,
    *,
    target: str,
    kind: str,
    filename: str | None = None,
    report: DecodeReport | None = None,
) -> LightCurve:
    """Read the server's CSV into a `LightCurve`, keeping `text` unchanged as `raw`.

    Args:
        text: the CSV as served.
        target: the target's name (the CSV does not repeat it).
        kind: ``"photometry"`` (magnitudes) or ``"radio"`` (mJy).
        filename: the server's attachment name, kept for `LightCurve.save`.
        report: counts the rows whose cells could not be read (one per data row).

    Raises:
        LightCurveFormatError: there is text but no light-curve header.
    """
    rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=";") if row]
    if not rows:
        if text.strip():
            raise LightCurveFormatError("the light curve has no header row")
        return LightCurve(target=target, kind=kind, points=(), columns=(), raw=text, filename=filename)
    columns = tuple(cell.strip() for cell in rows[0])
    if len(columns) < 3 or columns[0].upper() != "MJD":
        raise LightCurveFormatError(f"line 1 is not a light-curve header: {';'.join(columns)[:80]!r}")
    report = DecodeReport() if report is None else report
    points = []
    for row in rows[1:]:
        point, problems = _point(row, columns)
        report.add_row(problems)
        if point is not None:
            points.append(point)
    return LightCurve(
        target=target, kind=kind, points=tuple(points), columns=columns, raw=text, filename=filename
    )


def filename_from_disposition(header: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header as a safe base name, if it has one.

    Read with the standard library's MIME parser, so a quoted name may hold ``;`` and the
    RFC 2231/5987 form ``filename*=utf-8''...`` is decoded. Directories and dot names are
    stripped (`safe_filename`): the server's name never chooses where a file is written.
    """
    if not header:
        return None
    message = email.message.Message()
    message["content-disposition"] = header
    name = message.get_filename()
    return safe_filename(name, "") or None


def _number(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return math.nan


def _point(row: list[str], columns: tuple[str, ...]) -> tuple[LightCurvePoint | None, set[str]]:
    cells = [cell.strip() for cell in row] + [""] * (6 - len(row))
    mjd, value, error = _number(cells[0]), _number(cells[1]), _number(cells[2])
    if math.isnan(mjd):
        return None, {NO_MJD}
    problems = {columns[i] for i, number in ((1, value), (2, error)) if math.isnan(number)}
    point = LightCurvePoint(
        mjd=mjd, value=value, error=error, facility=cells[3], filter=cells[4], observer=cells[5]
    )
    return point, problems
