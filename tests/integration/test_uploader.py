"""The bulk uploader over real loopback sockets: the emulator with faults, big files, SIGKILL."""

from __future__ import annotations

import asyncio
import json
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from blockbuster import blockbuster_ctx

from bhtom_async import Client
from bhtom_async.upload import Uploader

from ..conftest import FAKE_TOKEN, fits_bytes

pytestmark = pytest.mark.anyio
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
        assert self._loop is not None and self._stop is not None
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


@pytest.fixture(scope="module")
def discard_server() -> Iterator[DiscardServer]:
    """One discard server for the big-file tests."""
    with DiscardServer() as server:
        yield server


def sparse_fits(path: Path, size: int) -> Path:
    """A FITS file of `size` bytes whose data part is sparse (cheap to create, real to read)."""
    path.write_bytes(fits_bytes(0))
    with open(path, "r+b") as handle:
        handle.truncate(size)
    return path


async def upload_one(server: DiscardServer, path: Path, journal: Path) -> int:
    async with Client(FAKE_TOKEN, base_url=server.url, upload_url=server.url) as bh:
        summary = await Uploader(
            bh, path, target="Gaia22bpl", observatory="HarnessObs_HarnessCam", journal=journal, min_age=0
        ).run()
    (outcome,) = summary.outcomes
    assert outcome.status == "uploaded", outcome
    return summary.bytes_sent


async def test_event_loop_stays_responsive_while_streaming_64_mb(discard_server: DiscardServer, tmp_path: Path) -> None:
    """A 10 ms heartbeat is never 0.2 s late during a 64 MB upload, and nothing blocks the loop."""
    big = sparse_fits(tmp_path / "big.fits", 64 * MB)
    lags: list[float] = []
    done = anyio.Event()

    async def heartbeat() -> None:
        while not done.is_set():
            before = anyio.current_time()
            await anyio.sleep(0.01)
            lags.append(anyio.current_time() - before - 0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeat)
        with blockbuster_ctx():  # and no blocking call (read, stat, sqlite, hashing) ran on the loop
            sent = await upload_one(discard_server, big, tmp_path / "j.sqlite3")
        done.set()
    assert sent > 64 * MB
    assert len(lags) > 5
    print(f"heartbeat: {len(lags)} ticks, max lag {max(lags) * 1000:.1f} ms")
    assert max(lags) < 0.2


async def test_memory_does_not_grow_with_file_size(discard_server: DiscardServer, tmp_path: Path) -> None:
    """Peak traced memory while uploading 64 MB is within 4 MB of the peak for 8 MB."""
    small = sparse_fits(tmp_path / "small.fits", 8 * MB)
    big = sparse_fits(tmp_path / "big.fits", 64 * MB)
    peaks = []
    for index, path in enumerate((small, big)):
        tracemalloc.start()
        try:
            await upload_one(discard_server, path, tmp_path / f"j{index}.sqlite3")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    print(f"peak traced memory: 8 MB file {peaks[0] / MB:.2f} MB, 64 MB file {peaks[1] / MB:.2f} MB")
    assert peaks[1] - peaks[0] < 4 * MB
    assert peaks[1] < 16 * MB
