"""Models for uploads to the upload service (`POST /upload/`): the settings sent, the answer."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..errors import InvalidInputError
from ._converter import local, required

__all__ = ["DATA_PRODUCT_TYPES", "UploadOptions", "UploadReceipt", "UploadedFile"]

#: The types the upload service knows. Other strings are passed through (the server decides).
DATA_PRODUCT_TYPES = ("fits_file", "photometry", "photometry_csv", "spectroscopy")


def _usernames(value: str | Iterable[str]) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else list(value)
    return tuple(name.strip() for name in names if name.strip())


@attrs.frozen(kw_only=True)
class UploadOptions:
    """What the server is told about the files of one upload. Every entry point takes this.

    Attributes:
        target: the exact BHTOM target name (names are case-sensitive; aliases do not match).
        observatory: the camera's ONAME for ``fits_file``/``photometry`` (it must be in your
            favourites); free text for ``photometry_csv``/``spectroscopy``.
        data_product_type: ``fits_file`` (default), ``photometry`` (a SExtractor catalogue;
            needs `mjd` and one file per request), ``photometry_csv`` or ``spectroscopy``.
        filter: e.g. ``"GaiaSP/V"``; None leaves it to the server (``GaiaSP/any``).
        mjd: the observation's MJD (required for ``photometry``).
        observers: BHTOM usernames (case-sensitive); a single string is one observer.
        comment: free text stored with each file.
        match_dist: matching radius in arcsec.
        dry_run: the server checks the files and stores nothing (the ids never resolve).

    Raises:
        InvalidInputError: an empty target or observatory, ``photometry`` without `mjd`, or a
            number that is not finite.

    Example:
        >>> night = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
        >>> night.replace(filter="GaiaSP/V").filter
        'GaiaSP/V'
    """

    target: str
    observatory: str
    data_product_type: str = "fits_file"
    filter: str | None = None
    mjd: float | None = None
    observers: tuple[str, ...] = attrs.field(default=(), converter=_usernames)
    comment: str | None = None
    match_dist: float | None = None
    dry_run: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.target or not self.target.strip():
            raise InvalidInputError("target is required", hint="give the exact BHTOM target name")
        if not self.observatory or not self.observatory.strip():
            raise InvalidInputError(
                "observatory is required", hint="give the camera's ONAME, e.g. 'HarnessObs_HarnessCam'"
            )
        for name in ("mjd", "match_dist"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise InvalidInputError(f"{name} must be a finite number, not {value!r}")
        if self.data_product_type == "photometry" and self.mjd is None:
            raise InvalidInputError(
                "a 'photometry' upload needs mjd", hint="pass mjd= (the observation's MJD)"
            )

    def replace(self, **changes: Any) -> UploadOptions:
        """A copy with some settings changed (checked like the original)."""
        return attrs.evolve(self, **changes)


@attrs.frozen
class UploadedFile:
    """One file the upload service accepted.

    Attributes:
        filename: the name the service reports, usually the stored name with its numeric
            prefix (``416_x.fits``).
        id: the data-product id, usable with `bh.calibration.wait`, `bh.calibration.results`,
            `bh.dataproducts.list(id=...)` and `bh.dataproducts.photometry_file`. The server
            sends it as a string; it is an int here.
        message: the service's note (``"Received plain FITS file."``).
        dry_run: the upload was a dry run; the id never resolves to stored data.
        local_name: the name of the file as sent (``x.fits``), when it could be matched.
    """

    filename: str = attrs.field(metadata=required("file name:"))
    id: int = attrs.field(metadata=required())
    message: str | None = None
    dry_run: bool = attrs.field(default=False, metadata=local())
    local_name: str | None = attrs.field(default=None, metadata=local())
    extra: dict[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class UploadReceipt:
    """The upload service's 201 answer: one `UploadedFile` per file sent."""

    files: tuple[UploadedFile, ...]
    dry_run: bool = False

    @property
    def ids(self) -> tuple[int, ...]:
        """The data-product ids, in the order the files were sent."""
        return tuple(f.id for f in self.files)
