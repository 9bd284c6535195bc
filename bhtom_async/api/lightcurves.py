"""Pure parsing of the light-curve CSV that `download-photometry/` and `download-radio/` serve.

The server writes pandas ``to_csv(sep=';')``: a ``MJD;Magnitude;Error;Facility;Filter;Observer``
header (radio: ``MJD;mJy;...``), ``\\n`` line ends, fields holding ``;`` or ``"`` quoted with
doubled quotes, and only the header when the target has no data. A negative error marks an upper
limit.
"""

from __future__ import annotations

import csv
import io
import re

from ..models.targets import LightCurve, LightCurvePoint

__all__ = ["LightCurveFormatError", "filename_from_disposition", "parse_light_curve"]

_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


class LightCurveFormatError(ValueError):
    """The text is not the server's light-curve CSV (the message names the line)."""


def parse_light_curve(text: str, *, target: str, kind: str, filename: str | None = None) -> LightCurve:
    """Read the server's CSV into a `LightCurve`, keeping `text` unchanged as `raw`.

    Args:
        text: the CSV as served.
        target: the target's name (the CSV does not repeat it).
        kind: ``"photometry"`` (magnitudes) or ``"radio"`` (mJy).
        filename: the server's attachment name, kept for `LightCurve.save`.

    Raises:
        LightCurveFormatError: no header, or a row whose MJD, value or error is not a number.
    """
    rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=";") if row]
    if not rows:
        if text.strip():
            raise LightCurveFormatError("the light curve has no header row")
        return LightCurve(target=target, kind=kind, points=(), columns=(), raw=text, filename=filename)
    columns = tuple(cell.strip() for cell in rows[0])
    if len(columns) < 3 or columns[0].upper() != "MJD":
        raise LightCurveFormatError(f"line 1 is not a light-curve header: {';'.join(columns)[:80]!r}")
    points = tuple(_point(row, number) for number, row in enumerate(rows[1:], start=2))
    return LightCurve(target=target, kind=kind, points=points, columns=columns, raw=text, filename=filename)


def filename_from_disposition(header: str | None) -> str | None:
    """The file name in a ``Content-Disposition: attachment; filename="..."`` header, if any."""
    match = _FILENAME.search(header or "")
    return match.group(1).strip() if match else None


def _point(row: list[str], number: int) -> LightCurvePoint:
    cells = [cell.strip() for cell in row] + [""] * (6 - len(row))
    try:
        mjd, value, error = float(cells[0]), float(cells[1]), float(cells[2])
    except ValueError:
        raise LightCurveFormatError(
            f"line {number} has a non-numeric MJD, value or error: {';'.join(row)[:80]!r}"
        ) from None
    return LightCurvePoint(
        mjd=mjd, value=value, error=error, facility=cells[3], filter=cells[4], observer=cells[5]
    )
