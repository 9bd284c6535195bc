"""Uploading one request's worth of files to the upload service (`POST /upload/`)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio.to_thread
import attrs

from .._multipart import FilePart, MultipartBody
from ..errors import (
    CameraNotFavouriteError,
    InvalidInputError,
    ResponseDecodeError,
    ServerError,
    TransportError,
    UploadOutcomeUnknown,
)
from ..models.uploads import UploadedFile, UploadReceipt
from ._resource import Resource

__all__ = ["DATA_PRODUCT_TYPES", "PATH", "PreparedUpload", "UploadsAPI"]

PATH = "/upload/"
#: The types the upload service knows. Other strings are passed through (the server decides).
DATA_PRODUCT_TYPES = ("fits_file", "photometry", "photometry_csv", "spectroscopy")
StrPath = str | os.PathLike[str]
FITS_MAGIC = b"SIMPLE  ="


@attrs.frozen
class PreparedUpload:
    """A validated upload request, ready for `UploadsAPI.send` (and re-sendable: the body replays)."""

    body: MultipartBody
    filenames: tuple[str, ...]
    target: str
    observatory: str
    dry_run: bool


class UploadsAPI(Resource):
    """Uploading one request's worth of files to the upload service."""

    async def upload_file(
        self,
        path: StrPath | Sequence[StrPath],
        *,
        target: str,
        observatory: str,
        data_product_type: str = "fits_file",
        filter: str | None = None,
        mjd: float | None = None,
        observers: Sequence[str] = (),
        comment: str | None = None,
        match_dist: float | None = None,
        dry_run: bool = False,
    ) -> UploadReceipt:
        """Upload a file (or several in one request) to the upload service.

        Args:
            path: the file, or several files sent in one request (part name ``files``).
            target: the exact BHTOM target name.
            observatory: the camera's ONAME for ``fits_file``/``photometry``; free text for
                ``photometry_csv``/``spectroscopy``. The camera must be in your favourites.
            data_product_type: ``fits_file`` (default), ``photometry`` (a SExtractor catalogue;
                needs `mjd` and exactly one file), ``photometry_csv`` or ``spectroscopy``.
            filter: e.g. ``"GaiaSP/V"``; omitted means the server default (``GaiaSP/any``).
            mjd: observation MJD (required for ``photometry``).
            observers: BHTOM usernames (case-sensitive), sent as the repeated ``observers``
                field the server reads (not the legacy single ``observer``).
            comment: free text.
            match_dist: matching radius in arcsec.
            dry_run: process without storing; the returned ids never resolve.

        Returns:
            An `UploadReceipt` with one `UploadedFile` (int id) per file.

        Raises:
            InvalidInputError: refused before sending (missing/empty file, not FITS, photometry
                without `mjd` or with several files).
            TargetNotFoundError: the target does not exist (names are exact).
            ValidationError: other refusals; a camera not in your favourites carries a hint.
            UploadOutcomeUnknown: the body was sent but the answer was lost; the file may be
                stored. Uploads are never re-sent automatically once the body may have left.

        Example:
            >>> receipt = await bh.upload_file("night/f1.fits", target="Gaia22bpl",   # doctest: +SKIP
            ...                                observatory="HarnessObs_HarnessCam")
            >>> receipt.ids
            (1454270,)
        """
        prepared = await self.prepare(
            path,
            target=target,
            observatory=observatory,
            data_product_type=data_product_type,
            filter=filter,
            mjd=mjd,
            observers=observers,
            comment=comment,
            match_dist=match_dist,
            dry_run=dry_run,
        )
        return await self.send(prepared)

    async def prepare(
        self,
        path: StrPath | Sequence[StrPath],
        *,
        target: str,
        observatory: str,
        data_product_type: str = "fits_file",
        filter: str | None = None,
        mjd: float | None = None,
        observers: Sequence[str] = (),
        comment: str | None = None,
        match_dist: float | None = None,
        dry_run: bool = False,
        on_bytes: Callable[[int], None] | None = None,
        throttle: Callable[[int], Awaitable[None]] | None = None,
    ) -> PreparedUpload:
        """Validate the arguments and files (in a worker thread) and build the streaming body.

        Same arguments as `upload_file`, plus the body's `on_bytes` (progress) and `throttle`
        (rate limit) hooks. The bulk uploader uses this with `send`.
        """
        paths = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
        if not paths:
            raise InvalidInputError("no file to upload")
        if not target or not target.strip():
            raise InvalidInputError("target is required", hint="give the exact BHTOM target name")
        if not observatory or not observatory.strip():
            raise InvalidInputError(
                "observatory is required", hint="give the camera's ONAME, e.g. 'HarnessObs_HarnessCam'"
            )
        if data_product_type == "photometry":
            if mjd is None:
                raise InvalidInputError(
                    "a 'photometry' upload needs mjd", hint="pass mjd= (the observation's MJD)"
                )
            if len(paths) != 1:
                raise InvalidInputError(
                    "a 'photometry' upload takes exactly one file", hint="send each catalogue separately"
                )
        if isinstance(observers, str):
            observers = [observers]
        sizes = [await _check_file(p, fits=data_product_type == "fits_file") for p in paths]
        fields: list[tuple[str, str]] = [
            ("target", target),
            ("data_product_type", data_product_type),
            ("observatory", observatory),
        ]
        if filter is not None:
            fields.append(("filter", filter))
        fields.append(("dry_run", "True" if dry_run else "False"))
        if mjd is not None:
            fields.append(("mjd", repr(float(mjd))))
        fields.extend(("observers", name) for name in observers)
        if comment is not None:
            fields.append(("comment", comment))
        if match_dist is not None:
            fields.append(("match_dist", repr(float(match_dist))))
        files = [FilePart(field="files", path=p, size=s) for p, s in zip(paths, sizes, strict=True)]
        body = MultipartBody(fields, files, on_bytes=on_bytes, throttle=throttle)
        return PreparedUpload(
            body=body,
            filenames=tuple(p.name for p in paths),
            target=target,
            observatory=observatory,
            dry_run=dry_run,
        )

    async def send(self, prepared: PreparedUpload) -> UploadReceipt:
        """Send a prepared upload once (retried only when nothing can have reached the server)."""
        try:
            response = await self._call_raw(
                "POST", PATH, host="upload", idempotent=False, stream=prepared.body
            )
        except TransportError as exc:
            if exc.request_sent:
                raise UploadOutcomeUnknown(", ".join(prepared.filenames), cause=exc) from exc
            raise
        except ServerError as exc:
            if exc.status in (502, 504):
                # A gateway gave up waiting; the service may still have stored the file.
                raise UploadOutcomeUnknown(", ".join(prepared.filenames), cause=exc) from exc
            raise
        except CameraNotFavouriteError as exc:
            raise exc.for_camera(prepared.observatory) from None
        payload = response.json()
        entries = payload.get("Success") if isinstance(payload, dict) else None
        if response.status != 201 or not isinstance(entries, list):
            raise ResponseDecodeError(
                "expected 201 with a 'Success' list",
                method="POST",
                path=PATH,
                status=response.status,
                snippet=response.text[:80],
            )
        converted = [self._convert(entry, UploadedFile, "POST", PATH) for entry in entries]
        files = tuple(
            attrs.evolve(
                item,
                dry_run=prepared.dry_run,
                local_name=_local_name(item.filename, index, prepared.filenames),
            )
            for index, item in enumerate(converted)
        )
        return UploadReceipt(files=files, dry_run=prepared.dry_run)


def _local_name(reported: str, index: int, sent: tuple[str, ...]) -> str | None:
    """The sent name behind a reported one: exact, then as the suffix after the stored prefix."""
    if reported in sent:
        return reported
    matches = [name for name in sent if reported.endswith("_" + name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        return max(matches, key=len)
    return sent[index] if index < len(sent) else None


async def _check_file(path: Path, *, fits: bool) -> int:
    return await anyio.to_thread.run_sync(_check_file_sync, path, fits)


def _check_file_sync(path: Path, fits: bool) -> int:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InvalidInputError(f"{path} does not exist") from None
    if not path.is_file():
        raise InvalidInputError(f"{path} is not a file")
    if stat.st_size == 0:
        raise InvalidInputError(f"{path} is empty")
    if fits:
        with open(path, "rb") as handle:
            head = handle.read(80)
        if not head.startswith(FITS_MAGIC):
            raise InvalidInputError(
                f"{path} is not a FITS file (no 'SIMPLE  =' card at the start)",
                hint="compressed frames (.fz, .gz) must be decompressed first; for catalogues use "
                "data_product_type='photometry'",
            )
    return stat.st_size
