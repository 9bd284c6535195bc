"""Helpers for the integration tests: a loopback server that discards bodies, big sparse frames."""

from __future__ import annotations

import asyncio
import json
import threading
import tracemalloc
from pathlib import Path

from bhtom_async import Client, JobOptions, UploadOptions
from bhtom_async.upload import Uploader

from ..conftest import FAKE_TOKEN, fits_bytes

__all__ = ["MB", "DiscardServer", "sparse_fits", "upload_one"]

MB = 1024 * 1024


class DiscardServer:
    """A loopback HTTP server that reads each body in small pieces, drops it, and answers 201."""

    def __init__(self) -> None:
        self.port = 0
        self.received: list[int] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def __enter__(self) -> DiscardServer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                remaining = length
                while remaining:
                    chunk = await reader.read(min(remaining, 64 * 1024))
                    if not chunk:
                        return
                    remaining -= len(chunk)
                self.received.append(length)
                ident = 5000 + len(self.received)
                body = json.dumps(
                    {"Success": [{"file name:": f"{ident}_big.fits", "id": str(ident), "message": "ok"}]}
                ).encode()
                writer.write(
                    b"HTTP/1.1 201 Created\r\nContent-Type: text/html; charset=utf-8\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


def sparse_fits(path: Path, size: int) -> Path:
    """A FITS file of `size` bytes whose data part is sparse (cheap to create, real to read)."""
    path.write_bytes(fits_bytes(0))
    with open(path, "r+b") as handle:
        handle.truncate(size)
    return path


async def upload_one(server: DiscardServer, path: Path, journal: Path) -> int:
    async with Client(FAKE_TOKEN, base_url=server.url, upload_url=server.url) as bh:
        summary = await Uploader(
            bh,
            path,
            UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam"),
            JobOptions(journal=journal, settle_time=0),
        ).run()
    (outcome,) = summary.outcomes
    assert outcome.status == "uploaded", outcome
    return summary.bytes_sent


async def upload_peaks(server: DiscardServer, paths: list[Path], work: Path) -> list[int]:
    """Upload each file alone (its own journal under `work`); the peak traced memory of each."""
    peaks = []
    for index, path in enumerate(paths):
        tracemalloc.start()
        try:
            await upload_one(server, path, work / f"j{index}.sqlite3")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    return peaks
