"""A 256 MB upload streams through the emulator without sitting in memory (issue 5)."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import AsyncIterator

import anyio
import httpx
import psutil
import pytest

from bhtom_async.emulator import Emulator

from .conftest import fits_frame

MIB = 1 << 20
SIZE_MIB = 256


@pytest.mark.anyio
async def test_256_mib_upload_keeps_memory_bounded(emu: Emulator) -> None:
    """256 MiB generated chunk by chunk: stored with the right hash, RSS grows < 100 MB."""
    boundary = "emulator-memory-test-boundary"
    head = fits_frame()[:2880]  # a FITS header block, then 256 MiB of data
    chunk = bytes(range(256)) * (MIB // 256)
    digest = hashlib.sha256()
    preamble = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="target"\r\n\r\nGaia22bpl\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="observatory"\r\n\r\n'
        "HarnessObs_HarnessCam\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        'filename="huge.fits"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    epilogue = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield preamble
        digest.update(head)
        yield head
        for _ in range(SIZE_MIB):
            digest.update(chunk)
            yield chunk
        yield epilogue

    process = psutil.Process()
    gc.collect()
    baseline = process.memory_info().rss
    peak = baseline
    done = anyio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            await anyio.sleep(0.01)

    headers = {
        "Authorization": f"Token {emu.tokens['alice']}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    async with (
        httpx.AsyncClient(base_url=emu.upload_url, timeout=120) as client,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(sample)
        response = await client.post("/upload/", content=body(), headers=headers)
        done.set()
    assert response.status_code == 201, response.text
    (stored,) = emu.state.dataproducts_by_sha256(digest.hexdigest())
    assert stored.size == len(head) + SIZE_MIB * MIB
    growth_mb = (peak - baseline) / 1e6
    assert growth_mb < 100, f"RSS grew by {growth_mb:.0f} MB"
