"""Simulated calibration: each stored data product moves C -> P -> S (or E) on a timeline.

Nothing runs in the background. At upload time :func:`plan` fixes the whole future of the
product (when its calibration row appears, when its CCDPhotJob appears, when it leaves C and P,
and the final result); reads then evaluate the timeline against the clock. Results are
deterministic functions of the file: magnitudes come from its SHA-256, times from its header.

Rules for an ``E`` (error) outcome:

* ``fits_file`` with no ``MJD-OBS``/``DATE-OBS`` card and no ``mjd`` field in the upload;
* ``fits_file`` whose data bytes (after the header) are all zero;
* ``photometry`` (SExtractor catalogue) with no source rows;
* ``photometry_csv`` with no parsable ``time,filter,magnitude,error`` row.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fits import mjd_from_header
from .records import Calibration, DataProduct, Target

__all__ = [
    "CalibrationSettings",
    "CsvPoint",
    "catalogue_rows",
    "ccdphot_status",
    "csv_points",
    "parse_filter",
    "plan",
    "plot_data_uri",
    "spread_share",
    "status_at",
    "synthetic_catalogue",
]

_WIDE_BANDS = {"any", "ugriz", "UBVRI", ""}
_DEFAULT_BAND = {"GaiaSP": "V", "GaiaDR3": "G", "2MASS": "J"}
#: ``use_catalog`` id per survey; ``/calibration/get-catalogs/`` lists the same table.
CATALOGS: dict[str, tuple[int, str]] = {
    "GaiaSP": (1, "u,g,r,i,z,U,B,V,R,I,any,ugriz,UBVRI"),
    "GaiaDR3": (2, "G,GBP,GRP,any"),
    "2MASS": (3, "J,H,K,any"),
}


@dataclass
class CalibrationSettings:
    """How long calibration takes, in seconds.

    ``delays`` is (time in C, time in P). ``registration_delay`` is how long after the upload
    the calibration row appears (before that, get-calibration-res answers "does not exist").
    ``ccdphot_delay`` opens the window in which a ``fits_file`` has a calibration row but no
    CCDPhotJob, which makes the whole get-calibration-res batch fail with 400.
    ``spread`` lengthens each product's P phase by its own share of up to that many seconds
    (see :func:`spread_share`), so a night's products finish at scattered times, as on a busy
    server; 0 (the default) keeps every product on the same timeline.
    """

    delays: tuple[float, float] = (1.0, 2.0)
    registration_delay: float = 0.0
    ccdphot_delay: float = 0.0
    spread: float = 0.0


@dataclass(frozen=True)
class CsvPoint:
    """One row of a ``photometry_csv`` upload."""

    mjd: float
    band: str
    mag: float
    error: float


def parse_filter(upload_filter: str, cards: dict[str, Any]) -> tuple[str, str]:
    """(survey, best_filter) from the upload's ``filter`` field, else the FITS ``FILTER`` card."""
    survey, _, band = upload_filter.partition("/")
    if upload_filter in ("no", "") or not band:
        survey, band = "GaiaSP", ""
    if survey not in CATALOGS:
        survey = "GaiaSP"
    if band in _WIDE_BANDS:
        card = cards.get("FILTER")
        band = card.strip()[:5] if isinstance(card, str) and card.strip() else _DEFAULT_BAND[survey]
    return survey, band[:5]


def _unit(sha: str, start: int, modulo: int) -> int:
    return int(sha[start : start + 8], 16) % modulo


def catalogue_rows(path: str) -> int:
    """Number of source rows in a SExtractor ASCII_HEAD catalogue."""
    count = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                count += 1
    return count


def csv_points(path: str) -> list[CsvPoint]:
    """Rows of a photometry CSV (``time,filter,magnitude,error``; header optional)."""
    points: list[CsvPoint] = []
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        text = handle.read()
    dialect_delim = ";" if text.count(";") > text.count(",") else ","
    for row in csv.reader(io.StringIO(text), delimiter=dialect_delim):
        try:
            if len(row) >= 4:
                points.append(CsvPoint(float(row[0]), row[1].strip(), float(row[2]), float(row[3])))
            elif len(row) == 3:  # MJD,Magnitude,Error: the band comes from the upload
                points.append(CsvPoint(float(row[0]), "", float(row[1]), float(row[2])))
        except ValueError:
            continue
    return points


def spread_share(product: DataProduct) -> float:
    """A product's fixed fraction (0 <= f < 1) of ``CalibrationSettings.spread``.

    It is drawn from a hash of the product's content and id, so runs repeat exactly and two
    uploads of the same bytes still finish at different times.
    """
    digest = hashlib.sha256(f"{product.sha256}/{product.id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def plan(
    cal_id: int, product: DataProduct, target: Target, now: float, settings: CalibrationSettings
) -> Calibration:
    """Fix the calibration timeline and result of a freshly stored data product."""
    c_delay, p_delay = settings.delays
    if settings.spread > 0:
        p_delay += settings.spread * spread_share(product)
    survey, band = parse_filter(product.upload_filter, product.cards)
    sha = product.sha256
    cal = Calibration(
        id=cal_id,
        dataproduct_id=product.id,
        registered_at=now + settings.registration_delay,
        ccdphot_at=now + settings.ccdphot_delay,
        c_until=now + c_delay,
        p_until=now + c_delay + p_delay,
        outcome="S",
        status_message="Finished",
        best_filter=band,
        survey=survey,
        use_catalog=CATALOGS[survey][0],
        ra=target.ra,
        dec=target.dec,
        match_distans=product.match_dist if product.match_dist and product.match_dist > 0 else 0.5,
        no_plot=product.no_plot,
        job_id=sha[:12],
        processing_time=round(p_delay, 3),
    )
    kind = product.data_product_type
    if kind == "fits_file":
        _plan_fits(cal, product)
    elif kind == "photometry":
        rows = catalogue_rows(product.disk_path) if product.disk_path else 0
        cal.mjd = product.upload_mjd
        if rows == 0:
            _fail(cal, "No sources found in the SExtractor catalogue.")
        else:
            _derive_magnitudes(cal, sha)
            cal.npoints = rows
    elif kind == "photometry_csv":
        points = csv_points(product.disk_path) if product.disk_path else []
        if not points:
            _fail(cal, "No valid rows in the photometry CSV (time,filter,magnitude,error).")
        else:
            first = points[0]
            cal.mjd, cal.mag, cal.mag_error = first.mjd, first.mag, first.error
            cal.best_filter = (first.band or band)[:5]
            cal.npoints = len(points)
            cal.no_plot = True
    else:  # spectroscopy: a row that finishes, without photometry
        cal.no_plot = True
    if cal.outcome == "S" and not cal.no_plot and kind in ("fits_file", "photometry"):
        cal.calibration_plot = f"calibration/plots/{product.id}_calib.png"
    return cal


def _plan_fits(cal: Calibration, product: DataProduct) -> None:
    cards = product.cards
    cal.mjd = mjd_from_header(cards)
    if cal.mjd is None:
        cal.mjd = product.upload_mjd
    exptime = cards.get("EXPTIME", cards.get("EXPOSURE"))
    if isinstance(exptime, (int, float)) and not isinstance(exptime, bool):
        cal.exp_time = float(exptime)
    if cal.mjd is None:
        _fail(cal, "Cannot determine the observation time: no MJD-OBS or DATE-OBS card.")
    elif not product.data_nonzero:
        _fail(cal, "The frame holds no signal: all data values are zero.")
    else:
        _derive_magnitudes(cal, product.sha256)
        simulated = cards.get(SIMULATED_MAG_CARD)
        if isinstance(simulated, (int, float)) and not isinstance(simulated, bool):
            # A synthetic frame that states its target's true magnitude (the demo's frames do)
            # calibrates to it, within a deterministic ±0.01 mag, so its light curve looks real.
            cal.mag = round(float(simulated) + (_unit(product.sha256, 40, 21) - 10) / 1000.0, 3)


def _fail(cal: Calibration, message: str) -> None:
    cal.outcome = "E"
    cal.status_message = message
    cal.use_catalog = None


#: FITS card a synthetic frame may carry: the true magnitude of its target (not a real BHTOM card).
SIMULATED_MAG_CARD = "SIMMAG"


def _derive_magnitudes(cal: Calibration, sha: str) -> None:
    cal.mag = round(11.0 + _unit(sha, 0, 8000) / 1000.0, 3)
    cal.mag_error = round(0.004 + _unit(sha, 8, 120) / 1000.0, 3)
    cal.zeropoint = round(22.5 + _unit(sha, 16, 300) / 100.0, 2)
    cal.scatter = round(0.01 + _unit(sha, 24, 90) / 1000.0, 3)
    cal.npoints = 40 + _unit(sha, 32, 400)
    cal.outlier_fraction = round(_unit(sha, 40, 200) / 1000.0, 3)


def status_at(cal: Calibration, now: float) -> str:
    """Calibration status letter at ``now``: C, P, then the planned S or E."""
    if cal.fixed_times or now >= cal.p_until:
        return cal.outcome
    return "C" if now < cal.c_until else "P"


def ccdphot_status(cal: Calibration, now: float) -> str:
    """CCDPhotJob status letter: P (prep), R (running), D (done) or E (error)."""
    status = status_at(cal, now)
    return {"C": "P", "P": "R", "S": "D"}.get(status, "E")


def synthetic_catalogue(cal: Calibration, sha: str) -> str:
    """The SExtractor catalogue a calibrated frame leaves behind (downloadPhotometryFile)."""
    lines = [
        "#   1 NUMBER                 Running object number",
        "#   2 ALPHA_J2000            Right ascension of barycenter (J2000)                      [deg]",
        "#   3 DELTA_J2000            Declination of barycenter (J2000)                          [deg]",
        "#   4 XWIN_IMAGE             Windowed position estimate along x                         [pixel]",
        "#   5 YWIN_IMAGE             Windowed position estimate along y                         [pixel]",
        "#   6 MAG_AUTO               Kron-like elliptical aperture magnitude                    [mag]",
        "#   7 MAGERR_AUTO            RMS error for AUTO magnitude                               [mag]",
    ]
    ra, dec = cal.ra or 0.0, cal.dec or 0.0
    for number in range(1, 6):
        offset = int(sha[number * 4 : number * 4 + 4], 16) / 65535.0
        lines.append(
            f"{number:10d} {ra + (offset - 0.5) * 0.01:11.7f} {dec + (0.5 - offset) * 0.01:11.7f}"
            f" {10 + offset * 40:10.3f} {50 - offset * 40:10.3f} {-12.0 + number * 0.8 + offset:9.4f}"
            f" {0.002 * number + offset / 100:8.4f}"
        )
    return "\n".join(lines) + "\n"


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + (chunk(b"IEND", b""))
    )


def plot_data_uri(cal: Calibration, sha: str) -> str:
    """A small real PNG (a scatter of catalogue vs instrumental magnitudes) as a data URI."""
    width, height = 96, 64
    pixels = [bytearray(b"\xff" * width) for _ in range(height)]
    for x in range(4, width - 4):
        pixels[height - 5][x] = 0
    for y in range(4, height - 4):
        pixels[y][4] = 0
    for index in range(0, len(sha) - 3, 2):
        value = int(sha[index : index + 4], 16)
        x = 8 + value % (width - 16)
        y = max(6, min(height - 8, height - 8 - (x * (height - 16)) // width + (value >> 12) % 5 - 2))
        pixels[y][x] = 0
    encoded = base64.b64encode(_png(width, height, [bytes(row) for row in pixels])).decode()
    return f"data:image/png;base64,{encoded}"


def ccdphot_fields(
    cal: Calibration, product: DataProduct, now: float, created: str | None, modified: str | None
) -> dict[str, Any]:
    """CCDPhotJob Django ``fields`` (no pk), as ``ccdphot_results``/``ccdphot_result`` show them."""
    status = ccdphot_status(cal, now)
    cards = product.cards
    return {
        "dataProduct": product.id,
        "job_id": cal.job_id,
        "status": status,
        "status_message": cal.status_message if status in ("D", "E") else None,
        "progress": {"P": 0, "R": 50}.get(status, 100),
        "fits_object": cards.get("OBJECT"),
        "fits_ra": cal.ra,
        "fits_dec": cal.dec,
        "fits_mjd": cal.mjd,
        "fits_exp": cal.exp_time,
        "fits_filter": cards.get("FILTER"),
        "fits_origin": cards.get("ORIGIN"),
        "fits_fwhm_major": 2.8 if status == "D" else None,
        "fits_fwhm_minor": 2.5 if status == "D" else None,
        "fits_fwhm_theta": 12.0 if status == "D" else None,
        "fits_fwhm": 2.65 if status == "D" else None,
        "fits_fwhm_error": 0.12 if status == "D" else None,
        "fits_seeing": 2.12 if status == "D" else None,
        "fits_airmass": cards.get("AIRMASS"),
        "fits_gain": cards.get("GAIN"),
        "fits_naxis1": cards.get("NAXIS1"),
        "fits_naxis2": cards.get("NAXIS2"),
        "fits_bitpix": cards.get("BITPIX"),
        "instrumental_mag_limit": None,
        "number_of_sources": cal.npoints if status == "D" else None,
        "match_distans": cal.match_distans,
        "use_catalog": cal.use_catalog,
        "cpcs_time": None,
        "dry_run": "False",
        "priority": product.priority or "1",
        "no_plot": product.no_plot,
        "comment": product.comment,
        "created": created,
        "modified": modified,
    }


def read_disk(path: str) -> bytes:
    """Whole small file (catalogues, CSVs) from disk."""
    return Path(path).read_bytes()
