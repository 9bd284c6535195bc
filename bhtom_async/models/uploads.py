"""Models for uploads to the upload service (`POST /upload/`)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ._converter import local, required

__all__ = ["UploadReceipt", "UploadedFile"]


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
