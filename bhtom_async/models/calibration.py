"""Models for calibration results (`calibration/get-calibration-res/`), restarts and `calibFile/`."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
from collections.abc import Mapping
from pathlib import Path

import attrs

__all__ = [
    "CalibrationRecord",
    "CalibrationResult",
    "CalibrationStatus",
    "FileCalibration",
    "RestartResult",
]


class CalibrationStatus(enum.Enum):
    """Where a data product's calibration stands.

    The server's letters are ``C`` (to do), ``P`` (in progress), ``S`` (success) and ``E``
    (error). Two values are ours: `PENDING`, no calibration record exists yet (or the wait ran
    out), and `UNKNOWN`, the record holds a letter this version does not know (the column also
    allows ``""``); the letter itself is kept as the result's `status_letter`.
    """

    PENDING = "pending"
    UNKNOWN = "unknown"
    TODO = "C"
    IN_PROGRESS = "P"
    SUCCESS = "S"
    ERROR = "E"

    @property
    def is_terminal(self) -> bool:
        """S and E are final; everything else may still change (an unknown letter too)."""
        return self in (CalibrationStatus.SUCCESS, CalibrationStatus.ERROR)


@attrs.frozen
class CalibrationRecord:
    """One `Calibration_data` record exactly as the server keeps it (Django ``fields``; no id).

    `dataproduct` is the only id (None if the server sent one this version cannot read). Keys
    not listed here (``ccdphot_results``, new ones) are in `extra`; the row as sent is in `raw`.
    """

    dataproduct: int | None
    status: CalibrationStatus = CalibrationStatus.PENDING
    status_message: str | None = None
    use_catalog: int | None = None
    mjd: float | None = None
    exp_time: float | None = None
    mag: float | None = None
    mag_error: float | None = None
    ra: float | None = None
    dec: float | None = None
    zeropoint: float | None = None
    outlier_fraction: float | None = None
    scatter: float | None = None
    npoints: int | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    start_processing: dt.datetime | None = None
    best_filter: str | None = None
    survey: str | None = None
    match_distans: float | None = None
    no_plot: bool | None = None
    calibration_plot: str | None = None
    number_tries: int | None = None
    file_download_link: str | None = None
    plot: str | None = attrs.field(default=None, repr=False)
    observatory: str | None = None
    extra: dict[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def status_letter(self) -> str | None:
        """The status exactly as the server sent it (``"S"``, ``""``, a new letter), if any."""
        letter = self.raw.get("status")
        return None if letter is None else str(letter)


@attrs.frozen
class CalibrationResult:
    """A data product's calibration, as `bh.calibration.results` and `bh.calibration.wait` report it.

    Attributes:
        dataproduct_id: the data-product (upload) id; None only for a file-name lookup that found
            nothing.
        filename: the file name, when known (asked by name, or given with the id).
        status: a `CalibrationStatus`; `PENDING` when no record exists yet or the wait ran out,
            `UNKNOWN` when the record's letter is one this version does not know.
        status_letter: the record's status exactly as the server sent it (``"S"``, ``""``, a
            letter newer than this version), when there is a record.
        magnitude, error: the calibrated magnitude and its error (mag); a negative error marks
            an upper limit (`is_limit`).
        filter: the filter the frame was standardised to (``"GaiaSP/V"``, or the bare
            ``best_filter`` when the survey is unknown).
        mjd: the observation's MJD.
        observatory: the observatory/camera, when the server reports it.
        status_message: the server's message (why it failed, for E).
        message: this client's note when there is no record: ``"File with id 5 does not exist"``,
            ``"dry run: nothing was stored"``, ``"still pending after 600 s"``, ...
        dry_run: the id came from a dry-run upload, so no record is expected.
        plot: the calibration plot (PNG bytes) when asked for and available.
        plot_path: where the plot was saved (`plots_dir`).
        record: the full server record, when there is one.
    """

    dataproduct_id: int | None
    status: CalibrationStatus
    filename: str | None = None
    magnitude: float | None = None
    error: float | None = None
    filter: str | None = None
    mjd: float | None = None
    observatory: str | None = None
    status_message: str | None = None
    message: str | None = None
    dry_run: bool = False
    plot: bytes | None = attrs.field(default=None, repr=False)
    plot_path: Path | None = None
    record: CalibrationRecord | None = attrs.field(default=None, repr=False)
    status_letter: str | None = None

    @property
    def is_limit(self) -> bool:
        """The magnitude is an upper limit (the server marks limits with a negative error)."""
        return self.error is not None and self.error < 0

    @property
    def is_done(self) -> bool:
        """Calibration finished, successfully or not (S or E)."""
        return self.status.is_terminal

    @classmethod
    def from_record(
        cls, record: CalibrationRecord, *, filename: str | None = None, dry_run: bool = False
    ) -> CalibrationResult:
        """Build a result from a server record (the plot is decoded from its data URL)."""
        if record.best_filter and record.survey:
            band: str | None = f"{record.survey}/{record.best_filter}"
        else:
            band = record.best_filter or None
        return cls(
            dataproduct_id=record.dataproduct,
            status=record.status,
            filename=filename,
            magnitude=record.mag,
            error=record.mag_error,
            filter=band,
            mjd=record.mjd,
            observatory=record.observatory,
            status_message=record.status_message,
            dry_run=dry_run,
            plot=_decode_plot(record.plot),
            record=record,
            status_letter=record.status_letter,
        )


def _decode_plot(value: str | None) -> bytes | None:
    """PNG bytes from the server's ``data:image/png;base64,…`` (or bare base64); None if absent."""
    if not value:
        return None
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None


@attrs.frozen
class RestartResult:
    """A calibration restart accepted by the server; `cpcs` is the calibration service's answer."""

    cpcs: object = None


@attrs.frozen
class FileCalibration:
    """The upload service's answer to `calibFile/` (its shape is not documented; unknown keys in `extra`)."""

    status: str | None = None
    mag: float | None = None
    mag_error: float | None = None
    filter: str | None = None
    survey: str | None = None
    zeropoint: float | None = None
    npoints: int | None = None
    message: str | None = None
    plot: str | None = attrs.field(default=None, repr=False)
    extra: dict[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def plot_png(self) -> bytes | None:
        """The plot's bytes, if the answer carried one."""
        return _decode_plot(self.plot)

    @property
    def is_limit(self) -> bool:
        """A negative error marks an upper limit."""
        return self.mag_error is not None and self.mag_error < 0
