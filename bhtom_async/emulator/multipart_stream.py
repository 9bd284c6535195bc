"""Single-pass streaming of multipart uploads to disk, hashed and counted on the fly.

Body chunks are batched to about 1 MiB and handed to a worker thread, which runs
python-multipart's push parser: file parts go straight to temporary files while SHA-256,
size and the FITS header are computed on the same bytes. Memory stays at a few MiB however
large the file is.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from .fits import FitsSniffer

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

__all__ = ["ReceivedFile", "ReceivedForm", "UnsupportedMedia", "receive_multipart"]

BATCH = 1 << 20
#: Largest non-file field kept in memory (Django's in-memory limit is far above what forms use).
MAX_FIELD = 2_621_440


class UnsupportedMedia(Exception):
    """The body is not ``multipart/form-data``."""


@dataclass
class ReceivedFile:
    """One file part, already on disk."""

    field: str
    filename: str
    path: Path
    size: int
    sha256: str
    is_fits: bool
    cards: dict[str, Any]
    data_nonzero: bool


@dataclass
class ReceivedForm:
    """Fields (in order, repeats kept) and file parts of one multipart body."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[ReceivedFile] = field(default_factory=list)

    def last(self, name: str) -> str | None:
        """Last value of a field (what Django's ``QueryDict.get`` returns)."""
        values = self.getlist(name)
        return values[-1] if values else None

    def getlist(self, name: str) -> list[str]:
        """Every value of a repeated field."""
        return [value for key, value in self.fields if key == name]

    def cleanup(self) -> None:
        """Remove temporary files that nobody moved away."""
        for received in self.files:
            received.path.unlink(missing_ok=True)


_DISPOSITION_PARAM = re.compile(r';\s*(\w+)="((?:[^"\\]|\\.)*)"|;\s*(\w+)=([^;\s]+)')


def _disposition(value: str) -> tuple[str, str | None]:
    name, filename = "", None
    for quoted_key, quoted_val, bare_key, bare_val in _DISPOSITION_PARAM.findall(value):
        key = (quoted_key or bare_key).lower()
        val = quoted_val.replace('\\"', '"') if quoted_key else bare_val
        if key == "name":
            name = val
        elif key == "filename":
            filename = val
    return name, filename


class _Sink:
    """Parser callbacks: where each part's bytes go. Used from one worker thread at a time."""

    def __init__(self, tmp_dir: Path, accept_file: Callable[[str], bool]) -> None:
        self.tmp_dir = tmp_dir
        self.accept_file = accept_file
        self.form = ReceivedForm()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._field_name = ""
        self._filename: str | None = None
        self._buffer = bytearray()
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self._sniffer = FitsSniffer()
        self._discard = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._header_name.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._buffer = bytearray()
        self._filename = None
        self._discard = False

    def _header_end(self) -> None:
        key = self._header_name.decode("latin-1").strip().lower()
        self._headers[key] = self._header_value.decode("utf-8", errors="replace").strip()
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        self._field_name, self._filename = _disposition(self._headers.get("content-disposition", ""))
        if self._filename is None:
            return
        if not self.accept_file(self._field_name):
            self._discard = True
            return
        handle, name = tempfile.mkstemp(prefix="upload-", dir=self.tmp_dir)
        self._file = os.fdopen(handle, "wb")
        self._path = Path(name)
        self._hash = hashlib.sha256()
        self._size = 0
        self._sniffer = FitsSniffer()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._discard:
            return
        view = memoryview(data)[start:end]
        if self._file is not None:
            self._file.write(view)
            self._hash.update(view)
            self._sniffer.feed(view)
            self._size += end - start
        elif self._filename is None:
            if len(self._buffer) + (end - start) > MAX_FIELD:
                raise ValueError(f"form field {self._field_name!r} is too large")
            self._buffer += view

    def _part_end(self) -> None:
        if self._file is not None and self._path is not None:
            self._file.close()
            self._sniffer.finish()
            self.form.files.append(
                ReceivedFile(
                    field=self._field_name,
                    filename=os.path.basename(self._filename or "upload"),
                    path=self._path,
                    size=self._size,
                    sha256=self._hash.hexdigest(),
                    is_fits=self._sniffer.is_fits,
                    cards=dict(self._sniffer.cards),
                    data_nonzero=self._sniffer.data_nonzero,
                )
            )
            self._file, self._path = None, None
        elif self._filename is None:
            self.form.fields.append((self._field_name, self._buffer.decode("utf-8", "replace")))

    def abandon(self) -> None:
        """Close and delete everything (client went away or the body was malformed)."""
        if self._file is not None:
            self._file.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        self.form.cleanup()


async def receive_multipart(
    request: Request, tmp_dir: Path, accept_file: Callable[[str], bool] = lambda name: True
) -> ReceivedForm:
    """Stream a multipart body to ``tmp_dir``; :class:`UnsupportedMedia` if it is not one."""
    media, params = parse_options_header(request.headers.get("content-type", ""))
    if media != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedMedia(media.decode("latin-1"))
    await anyio.Path(tmp_dir).mkdir(parents=True, exist_ok=True)
    sink = _Sink(tmp_dir, accept_file)
    parser = MultipartParser(params[b"boundary"], sink.callbacks())
    pending = bytearray()
    try:
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= BATCH:
                batch, pending = bytes(pending), bytearray()
                await anyio.to_thread.run_sync(parser.write, batch)
        if pending:
            await anyio.to_thread.run_sync(parser.write, bytes(pending))
        await anyio.to_thread.run_sync(parser.finalize)
    except BaseException:
        sink.abandon()
        raise
    return sink.form
