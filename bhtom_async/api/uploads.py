"""Uploading one request's worth of files to the upload service (`POST /upload/`)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio.to_thread
import attrs

from .._multipart import FilePart, MultipartBody
from ..errors import (
    APIError,
    AuthenticationError,
    CameraNotFavouriteError,
    InvalidInputError,
    ResponseDecodeError,
    ServerError,
    TransportError,
    UploadOutcomeUnknown,
)
from ..models.uploads import UploadedFile, UploadOptions, UploadReceipt
from ._resource import Resource

__all__ = ["PATH", "PreparedUpload", "UploadsAPI"]

PATH = "/upload/"
StrPath = str | os.PathLike[str]
FITS_MAGIC = b"SIMPLE  ="


@attrs.frozen
class PreparedUpload:
    """A validated upload request, ready for `UploadsAPI.send` (and re-sendable: the body replays)."""

    body: MultipartBody
    filenames: tuple[str, ...]
    options: UploadOptions


class UploadsAPI(Resource):
    """Uploading one request's worth of files to the upload service."""

    async def upload_file(self, path: StrPath | Sequence[StrPath], options: UploadOptions) -> UploadReceipt:
        """Upload a file (or several in one request) to the upload service.

        Args:
            path: the file, or several files sent in one request (part name ``files``).
            options: the target, camera and the rest (`UploadOptions`). Observers go as the
                repeated ``observers`` field the server reads (not the legacy single
                ``observer``), ``dry_run`` as the string ``"True"``/``"False"``.

        Returns:
            An `UploadReceipt` with one `UploadedFile` (int id) per file.

        Raises:
            InvalidInputError: refused before sending (missing/empty file, not FITS, photometry
                with several files).
            TargetNotFoundError: the target does not exist (names are exact).
            CameraNotFavouriteError: the camera is not in your favourites (the hint says how to
                add it).
            ValidationError: other refusals.
            UploadOutcomeUnknown: the body was sent but the answer was lost; the file may be
                stored. Uploads are never re-sent automatically once the body may have left.

        Example:
            >>> options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
            >>> receipt = await bh.uploads.upload_file("night/f1.fits", options)   # doctest: +SKIP
            >>> receipt.ids                                                        # doctest: +SKIP
            (1454270,)
        """
        return await self.send(await self.prepare(path, options))

    async def prepare(
        self,
        path: StrPath | Sequence[StrPath],
        options: UploadOptions,
        *,
        send_as: Sequence[str] | None = None,
        on_bytes: Callable[[int], None] | None = None,
        throttle: Callable[[int], Awaitable[None]] | None = None,
    ) -> PreparedUpload:
        """Check the files (in a worker thread) and build the streaming body for `send`.

        `send_as` gives the file names to put on the wire (one per file; default: each file's
        own name). `on_bytes` (progress) and `throttle` (rate limit) are the body's hooks; the
        bulk uploader uses all three.
        """
        paths = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
        if not paths:
            raise InvalidInputError("no file to upload")
        names = list(send_as) if send_as is not None else [p.name for p in paths]
        if len(names) != len(paths):
            raise InvalidInputError("send_as needs one name per file")
        if options.data_product_type == "photometry" and len(paths) != 1:
            raise InvalidInputError(
                "a 'photometry' upload takes exactly one file", hint="send each catalogue separately"
            )
        sizes = [await _check_file(p, fits=options.data_product_type == "fits_file") for p in paths]
        files = [
            FilePart(field="files", path=p, size=s, filename=n)
            for p, s, n in zip(paths, sizes, names, strict=True)
        ]
        return await self.prepare_parts(files, options, on_bytes=on_bytes, throttle=throttle)

    async def prepare_parts(
        self,
        files: Sequence[FilePart],
        options: UploadOptions,
        *,
        on_bytes: Callable[[int], None] | None = None,
        throttle: Callable[[int], Awaitable[None]] | None = None,
    ) -> PreparedUpload:
        """Build the body from file parts already checked by the caller (the bulk uploader's
        frames: a gzipped frame goes as its decompressed stream, `FilePart.opener`)."""
        if not files:
            raise InvalidInputError("no file to upload")
        body = MultipartBody(_form_fields(options), files, on_bytes=on_bytes, throttle=throttle)
        return PreparedUpload(body=body, filenames=tuple(f.name for f in files), options=options)

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
            raise exc.for_camera(prepared.options.observatory) from None
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
                dry_run=prepared.options.dry_run,
                local_name=_local_name(item.filename, index, prepared.filenames),
            )
            for index, item in enumerate(converted)
        )
        return UploadReceipt(files=files, dry_run=prepared.options.dry_run)

    async def check_access(self) -> int:
        """Ask the upload service whether it accepts the token, sending no file (`GET /upload/`).

        The service authenticates before it looks at the method (Django REST framework's order,
        as the emulator follows), so an accepted token gets 405 (uploads are POST only).

        Returns:
            The status the service answered (405 when it accepted the token).

        Raises:
            AuthenticationError: the token is refused, or the account is inactive.
            ServerError: the service answered 5xx (after the usual retries).
            TransportError: the upload host does not answer.

        Example:
            >>> await bh.uploads.check_access()   # doctest: +SKIP
            405
        """
        try:
            response = await self._call_raw("GET", PATH, host="upload")
        except (AuthenticationError, ServerError):
            raise
        except APIError as exc:
            return exc.status
        return response.status


def _form_fields(options: UploadOptions) -> list[tuple[str, str]]:
    """The multipart form fields the upload service reads, in the wire form it expects."""
    fields: list[tuple[str, str]] = [
        ("target", options.target),
        ("data_product_type", options.data_product_type),
        ("observatory", options.observatory),
    ]
    if options.filter is not None:
        fields.append(("filter", options.filter))
    fields.append(("dry_run", "True" if options.dry_run else "False"))
    if options.mjd is not None:
        fields.append(("mjd", repr(float(options.mjd))))
    fields.extend(("observers", name) for name in options.observers)
    if options.comment is not None:
        fields.append(("comment", options.comment))
    if options.match_dist is not None:
        fields.append(("match_dist", repr(float(options.match_dist))))
    return fields


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
