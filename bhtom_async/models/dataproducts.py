"""Models for data products (`common/api/data/`, `changeObservers/`, `downloadPhotometryFile/`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Mapping
from pathlib import Path

import anyio.to_thread
import attrs

from ._converter import wire
from ._files import safe_filename

__all__ = ["DataProduct", "DataProductCalibration", "PhotometryFile", "PhotometryRow"]


@attrs.frozen
class DataProductCalibration:
    """The calibration summary embedded in a data product.

    The server writes ``x or ""`` for every value, so 0.0 and null both arrive as ``""`` and
    read as None here; `mag_error` is absent when no calibration row exists.
    """

    id: int | None = None
    time_photometry: dt.datetime | None = None
    mjd: float | None = None
    calib_survey_filter: str | None = None
    standardised_to: str | None = None
    magnitude: float | None = None
    mag_error: float | None = None
    zp: float | None = None
    scatter: float | None = None
    npoints: int | None = attrs.field(
        default=None, metadata=wire("number of datapoints used for calibration")
    )
    outlier_fraction: float | None = attrs.field(default=None, metadata=wire("outlier fraction"))
    match_radius: float | None = attrs.field(default=None, metadata=wire("matching radius[arcsec]"))
    extra: dict[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class DataProduct:
    """An uploaded file as `common/api/data/` lists it (DRF item).

    `status` is the server's letter (``C``, ``P``, ``S``, ``E``; web lists also use ``R``).
    `observers` holds usernames after an upload, but user ids (as strings) after
    `change_observers`, which is how the server stores them.
    """

    id: int | None
    target_name: str | None = None
    target: int | None = None
    user: str | None = None
    user_name: str | None = None
    camera: str | None = None
    observatory_name: str | None = None
    observatory: int | None = None
    calibration_data: DataProductCalibration | None = None
    ccdphot_result: dict[str, object] = attrs.field(factory=dict, repr=False)
    product_id: str | None = None
    observers: tuple[str, ...] = ()
    data: str | None = None
    status: str | None = None
    photometry_data: str | None = None
    fits_data: str | None = None
    fits_webp: str | None = None
    extra_data: str | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    data_product_type: str | None = None
    featured: bool | None = None
    thumbnail: str | None = None
    dry_run: bool | None = attrs.field(default=False, metadata=wire("dryRun"))
    comment: str | None = None
    observation_record: int | None = None
    group: tuple[int, ...] = ()
    extra: dict[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def filename(self) -> str | None:
        """The stored file's base name (with the server's numeric prefix)."""
        return self.data.rsplit("/", 1)[-1] if self.data else None


@attrs.frozen
class PhotometryRow:
    """One row of a photometry file.

    For a SExtractor catalogue the common columns are typed (`number`, `ra`, `dec`, `x`, `y`,
    `mag`, `mag_error`); `values` holds every column by its header name.
    """

    values: tuple[tuple[str, float | str], ...]
    number: int | None = None
    ra: float | None = None
    dec: float | None = None
    x: float | None = None
    y: float | None = None
    mag: float | None = None
    mag_error: float | None = None

    def get(self, column: str) -> float | str | None:
        """The value of `column` (header name), or None."""
        return next((v for k, v in self.values if k == column), None)

    @property
    def is_limit(self) -> bool:
        """A negative error marks an upper limit."""
        return self.mag_error is not None and self.mag_error < 0


@attrs.frozen
class PhotometryFile:
    """The per-frame photometry file of a data product (`downloadPhotometryFile/`).

    Usually a SExtractor catalogue (``#   1 NUMBER ...`` header lines, whitespace columns);
    CSV files (``photometry_csv`` uploads) are read by their header row. `content` is the file
    exactly as served, so `save` writes the original.
    """

    filename: str
    content: bytes = attrs.field(repr=False)
    columns: tuple[str, ...]
    rows: tuple[PhotometryRow, ...]
    content_type: str | None = None

    @property
    def text(self) -> str:
        """The file as text."""
        return self.content.decode("utf-8", errors="replace")

    async def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the original bytes to `path` (a directory gets `filename`, as a plain base name)."""
        target = Path(path)
        if await anyio.Path(target).is_dir():
            target = target / safe_filename(self.filename, "photometry.dat")
        await anyio.Path(target).write_bytes(self.content)
        return target

    @classmethod
    def parse(cls, content: bytes, *, filename: str, content_type: str | None = None) -> PhotometryFile:
        """Read SExtractor ASCII_HEAD or CSV content into rows."""
        text = content.decode("utf-8", errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        if any(line.lstrip().startswith("#") for line in lines):
            columns, table = _sextractor(lines)
        else:
            columns, table = _csv(text)
        rows = tuple(_row(columns, values) for values in table)
        return cls(filename=filename, content=content, columns=columns, rows=rows, content_type=content_type)


_HEADER = re.compile(r"^#\s*(\d+)\s+(\S+)")
_ALIASES = {
    "number": ("NUMBER",),
    "ra": ("ALPHA_J2000", "ALPHAWIN_J2000", "RA"),
    "dec": ("DELTA_J2000", "DELTAWIN_J2000", "DEC"),
    "x": ("XWIN_IMAGE", "X_IMAGE"),
    "y": ("YWIN_IMAGE", "Y_IMAGE"),
    "mag": ("MAG_AUTO", "MAG", "MAGNITUDE"),
    "mag_error": ("MAGERR_AUTO", "MAGERR", "ERROR", "MAG_ERROR"),
}


def _sextractor(lines: list[str]) -> tuple[tuple[str, ...], list[list[str]]]:
    named: dict[int, str] = {}
    table: list[list[str]] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            match = _HEADER.match(stripped)
            if match:
                named[int(match.group(1))] = match.group(2)
            continue
        table.append(stripped.split())
    width = max([len(r) for r in table] + [max(named, default=0)])
    columns = []
    for index in range(1, width + 1):
        # A vector column (e.g. MAG_APER(3)) names only its first position.
        columns.append(
            named.get(index)
            or next(
                (f"{named[i]}_{index - i}" for i in sorted(named, reverse=True) if i < index), f"COL{index}"
            )
        )
    return tuple(columns), table


def _csv(text: str) -> tuple[tuple[str, ...], list[list[str]]]:
    sample = text[:2048]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    if not reader:
        return (), []
    return tuple(c.strip() for c in reader[0]), [[c.strip() for c in r] for r in reader[1:]]


def _value(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _row(columns: tuple[str, ...], raw: list[str]) -> PhotometryRow:
    values = tuple((name, _value(cell)) for name, cell in zip(columns, raw, strict=False))
    by_upper = {name.upper(): value for name, value in values}

    def pick(key: str) -> float | None:
        for alias in _ALIASES[key]:
            found = by_upper.get(alias)
            if isinstance(found, float):
                return found
        return None

    number = pick("number")
    return PhotometryRow(
        values=values,
        number=int(number) if number is not None else None,
        ra=pick("ra"),
        dec=pick("dec"),
        x=pick("x"),
        y=pick("y"),
        mag=pick("mag"),
        mag_error=pick("mag_error"),
    )
