"""What a watched night reports about files that change after they were handled, vanish before
they were ready, or are renamed into place: one outcome per file, each one true."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from bhtom_async import Client
from bhtom_async.upload import FileFinished, FileHeld, FileSkipped, UploadEvent

from ...conftest import fits_bytes
from .conftest import FakeServer, Frames, MakeUploader, Routes

pytestmark = pytest.mark.anyio


class Outcomes:
    """Counts the per-file outcome events of a job, so a watch source can wait for them."""

    def __init__(self) -> None:
        self.events: list[FileFinished | FileSkipped] = []

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
    first = {e.outcome.path.name: e.outcome.data_product_id for e in seen.events[:2]}
    by_name = {o.path.name: o for o in summary.outcomes}
    assert len(summary.outcomes) == 2
    assert (summary.counts["uploaded"], summary.counts["skipped"]) == (2, 0)
    assert (by_name[a.name].status, by_name[a.name].data_product_id) == ("uploaded", 1003)
    assert [(v.status, v.data_product_id) for v in by_name[a.name].versions] == [("uploaded", first[a.name])]
    assert (by_name[b.name].status, by_name[b.name].data_product_id) == ("uploaded", first[b.name])
    assert by_name[b.name].versions == ()
    assert "same content as" not in (by_name[b.name].reason or "")
    touched = [e for e in seen.events if e.outcome.path == b]
    assert [e.outcome for e in touched] == [by_name[b.name]] * 2  # announced again, unchanged
    assert sorted(summary.ids) == [1001, 1002, 1003]
    assert routes.upload.call_count == 3


async def test_a_camera_that_writes_then_renames_has_a_perfect_night(
    make_uploader: MakeUploader, bh: Client, routes: Routes, tmp_path: Path
) -> None:
    """`f.fits.tmp` written, then renamed to `f.fits`: the watcher reports both paths, the `.tmp`
    is gone by then; that is no failure, and the frame is uploaded once."""
    night = tmp_path / "night"
    night.mkdir()

    async def source() -> AsyncIterator[Path]:
        yield night
        for i in range(3):
            temporary = night / f"f{i}.fits.tmp"
            temporary.write_bytes(fits_bytes(i))
            temporary.rename(night / f"f{i}.fits")
            yield night / f"f{i}.fits"
            yield temporary  # the notification of the write arrives after the rename

    summary = await make_uploader(bh, source(), tmp_path / "j.sqlite3").run()
    assert sorted((o.path.name, o.status) for o in summary.outcomes) == [
        ("f0.fits", "uploaded"),
        ("f1.fits", "uploaded"),
        ("f2.fits", "uploaded"),
    ]
    assert summary.verdict == "ok"
    assert routes.upload.call_count == 3


async def test_a_file_that_vanishes_before_it_settled_is_no_failure(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """A file held back to settle (it is fresh) and deleted or renamed meanwhile is reported
    `ignored` with that reason, not `not_ready` ("run again" cannot help); the night is ok."""
    (old,) = frames(1)
    seen = Outcomes()
    held: list[Path] = []

    def note(event: UploadEvent) -> None:
        seen(event)
        if isinstance(event, FileHeld):
            held.append(event.path)

    async def source() -> AsyncIterator[Path]:
        yield old.parent
        await seen.reach(1)
        fresh = old.parent / "scratch.fits"
        fresh.write_bytes(fits_bytes(9))
        soon = time.time_ns() + 5 * 10**8
        os.utime(fresh, ns=(soon, soon))  # fresh however slow the machine: held for the settle time
        yield fresh
        with anyio.fail_after(10):
            while not held:
                await anyio.sleep(0.001)
        fresh.unlink()

    summary = await make_uploader(bh, source(), tmp_path / "j.sqlite3", settle_time=0.3, on_event=note).run()
    statuses = {o.path.name: (o.status, o.reason) for o in summary.outcomes}
    assert statuses[old.name][0] == "uploaded"
    assert statuses["scratch.fits"][0] == "ignored"
    assert "vanished before it was ready" in (statuses["scratch.fits"][1] or "")
    assert summary.verdict == "ok"


async def test_a_frame_deleted_while_it_was_sent_is_reported_as_what_the_server_holds(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """The frame is deleted while its body goes out; the server stores every byte and answers 201:
    it is `uploaded` with the id, and the reason says the local file vanished; nothing is re-sent."""
    (path,) = frames(1)

    def delete_during_send(request: object) -> None:
        path.unlink()

    server.faults.append(delete_during_send)  # type: ignore[arg-type]
    summary = await make_uploader(bh, path.parent, tmp_path / "j.sqlite3").run()
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.data_product_id) == ("uploaded", 1001)
    assert "deleted or renamed while it was sent" in (outcome.reason or "")
    assert summary.verdict == "ok"
    assert routes.upload.call_count == 1


async def test_old_frames_go_at_once_with_a_settle_time(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """Frames last changed an hour ago have long settled: with `settle_time=30` they are sent at
    once (no FileHeld, no waiting), while a fresh one beside them is held back."""
    paths = frames(3)
    hour_ago = time.time_ns() - 3600 * 10**9
    for path in paths:
        os.utime(path, ns=(hour_ago, hour_ago))
    held: list[Path] = []

    def note(event: UploadEvent) -> None:
        if isinstance(event, FileHeld):
            held.append(event.path)

    started = time.monotonic()
    with anyio.fail_after(5):  # the gate runs on real time: waiting 30 s would fail here
        summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", settle_time=30, on_event=note).run()
    assert [o.status for o in summary.outcomes] == ["uploaded"] * 3
    assert held == []
    assert time.monotonic() - started < 5
