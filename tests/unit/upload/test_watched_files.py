"""What a watched night reports about files that change after they were handled, vanish before
they were ready, or are renamed into place: one outcome per file, each one true."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from bhtom_async import Client
from bhtom_async.upload import FileFinished, FileSkipped, UploadEvent

from ...conftest import fits_bytes
from .conftest import FakeServer, Frames, MakeUploader, Routes

pytestmark = pytest.mark.anyio


class Outcomes:
    """Counts the per-file outcome events of a job, so a watch source can wait for them."""

    def __init__(self) -> None:
        self.events: list[UploadEvent] = []

    def __call__(self, event: UploadEvent) -> None:
        if isinstance(event, (FileFinished, FileSkipped)):
            self.events.append(event)

    async def reach(self, count: int) -> None:
        with anyio.fail_after(10):
            while len(self.events) < count:
                await anyio.sleep(0.001)


async def test_a_file_rewritten_or_touched_after_its_upload_has_one_outcome(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """Watching: `a` rewritten after its upload is sent again and `b` only touched is not; the
    summary has one outcome per file, `a`'s earlier version inside it, `b` still uploaded."""
    a, b = frames(2)
    seen = Outcomes()

    async def source() -> AsyncIterator[Path]:
        yield a.parent
        await seen.reach(2)
        a.write_bytes(fits_bytes(50))
        os.utime(a, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns - 10**10))  # old enough to send
        yield a
        stamp = b.stat().st_mtime_ns - 5 * 10**9
        os.utime(b, ns=(stamp, stamp))  # touched: same content, new time
        yield b

    summary = await make_uploader(bh, source(), tmp_path / "j.sqlite3", on_event=seen).run()
    by_name = {o.path.name: o for o in summary.outcomes}
    assert len(summary.outcomes) == 2
    assert (summary.counts["uploaded"], summary.counts["skipped"]) == (2, 0)
    assert (by_name[a.name].status, by_name[a.name].data_product_id) == ("uploaded", 1003)
    assert [(v.status, v.data_product_id) for v in by_name[a.name].versions] == [("uploaded", 1001)]
    assert (by_name[b.name].status, by_name[b.name].data_product_id) == ("uploaded", 1002)
    assert by_name[b.name].versions == ()
    assert "same content as" not in (by_name[b.name].reason or "")
    assert sorted(summary.ids) == [1001, 1002, 1003]
    assert routes.upload.call_count == 3
