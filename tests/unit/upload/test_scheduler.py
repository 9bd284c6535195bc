"""`upload.scheduler.Uploader` against respx: retries, reconciliation, fail-fast, journal, events."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from bhtom_async import Client, UploadOptions, errors
from bhtom_async.errors import JournalBusyError, JournalError
from bhtom_async.testing import ManualClock
from bhtom_async.upload import (
    BytesSent,
    FileFinished,
    FileHeld,
    FileSkipped,
    FileStarted,
    Fingerprint,
    JobFinished,
    Journal,
    JournalKey,
    SkipFile,
    SqliteJournal,
    UploadEvent,
    UploadSummary,
)

from ...conftest import fits_bytes
from ...helpers import form_of
from .conftest import CAMERA, TARGET, FakeServer, Frames, MakeUploader, Routes

pytestmark = pytest.mark.anyio
#: The form of a same-named upload to our target and camera that is not ours (a colleague's).
SOMEONE_ELSES = {
    "target": TARGET,
    "observatory": CAMERA,
    "data_product_type": "fits_file",
    "dry_run": "False",
}


async def test_uploads_every_frame_once_and_journals_ids(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """Five frames, five requests, five uploaded outcomes whose ids and hashes are journaled."""
    paths = frames(5)
    summary = await make_uploader(bh, paths[0].parent, tmp_path / "j.sqlite3").run()
    assert summary.counts["uploaded"] == 5
    assert routes.upload.call_count == 5
    assert sorted(summary.ids) == [1001, 1002, 1003, 1004, 1005]
    async with Journal(tmp_path / "j.sqlite3") as journal:
        rows = await journal.rows()
    assert {(r.state, r.data_product_id) for r in rows} == {("uploaded", i) for i in summary.ids}
    assert all(r.sha256 is not None and len(r.sha256) == 64 for r in rows)
    assert summary.ok


async def test_rerun_skips_uploaded_files_without_sending(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """A second run with the same journal sends nothing and reports each file already uploaded."""
    paths = frames(3)
    await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    again = await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    assert routes.upload.call_count == 3
    assert again.counts["skipped"] == 3
    assert all(o.reason and o.reason.startswith("already uploaded (id ") for o in again.outcomes)


async def test_a_touched_file_on_a_rerun_is_already_uploaded_not_a_copy_of_itself(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """A frame touched between runs (new mtime, same bytes) is skipped as already uploaded; its
    reason names no copy, since the stored file is the same file."""
    (path,) = frames(1)
    await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    later = path.stat().st_mtime + 60
    os.utime(path, (later, later))
    again = await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    assert routes.upload.call_count == 1
    (outcome,) = again.outcomes
    assert outcome.status == "skipped"
    assert outcome.reason == "already uploaded (id 1001)"


async def test_copied_file_is_recognised_by_content(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """The same frame copied to another folder is hashed and skipped, not sent again."""
    (path,) = frames(1)
    await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    shutil.copy(path, copy_dir / path.name)
    again = await make_uploader(bh, copy_dir, tmp_path / "j.sqlite3").run()
    assert routes.upload.call_count == 1
    (outcome,) = again.outcomes
    assert outcome.status == "skipped"
    assert outcome.reason is not None
    assert "same content as" in outcome.reason


async def test_lost_answer_after_store_is_reconciled_not_resent(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """The server stored the file but the connection broke: it is found by name, not re-sent."""
    (path,) = frames(1)

    def store_then_reset(request: httpx.Request) -> None:
        fields, files = form_of(request)
        server.store(dict(fields), files[0][1])
        raise httpx.ReadError("connection reset by peer")

    server.faults.append(store_then_reset)  # type: ignore[arg-type]
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.reconciled, outcome.data_product_id) == ("uploaded", True, 1001)
    assert routes.upload.call_count == 1
    assert routes.lookups == 1
    assert len(server.stored) == 1


async def test_lost_answer_without_store_is_resent_after_lookup(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """A 500 after sending: the file is not on the server, so it is sent again (once)."""
    (path,) = frames(1)
    server.faults.append(lambda request: httpx.Response(500, text="<html>Server Error</html>"))
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.attempts, outcome.reconciled) == ("uploaded", 2, False)
    assert routes.upload.call_count == 2
    assert len(server.stored) == 1


async def test_undecidable_outcome_is_unknown_and_not_resent(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """If the lookup fails too, the file is `unknown` in the outcome and the journal; no re-send."""
    (path,) = frames(1)
    server.faults.append(lambda request: httpx.Response(502, text="Bad Gateway"))
    routes.listing.mock(return_value=httpx.Response(500, text="<html>oops</html>"))
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    (outcome,) = summary.outcomes
    assert outcome.status == "unknown"
    assert isinstance(outcome.error, errors.UploadOutcomeUnknown)
    assert routes.upload.call_count == 1
    async with Journal(tmp_path / "j.sqlite3") as journal:
        (row,) = await journal.rows()
    assert row.state == "unknown"


async def test_unknown_row_is_reconciled_on_the_next_run(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """A row left `sending` by a crash is looked up first; found on the server, it is not re-sent."""
    (path,) = frames(1)
    info = path.stat()
    async with Journal(tmp_path / "j.sqlite3") as journal:
        await journal.begin(
            JournalKey(TARGET, CAMERA, "fits_file"),
            Fingerprint(str(path.absolute()), info.st_size, info.st_mtime_ns, info.st_dev, info.st_ino),
            path.name,
            server_offset=0.0,
            marker=None,
        )
    server.store(
        SOMEONE_ELSES,
        path.name,
    )
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.reconciled, outcome.data_product_id) == ("uploaded", True, 1001)
    assert routes.upload.call_count == 0


async def test_bad_token_stops_before_any_upload(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """A 401 for the checks before uploads stops the job: no upload, one error with a hint."""
    paths = frames(6)
    routes.refuse_token()
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", concurrency=4).run()
    assert routes.upload.call_count == 0
    assert isinstance(summary.stopped, errors.AuthenticationError)
    assert summary.stopped.hint
    assert summary.counts["not_attempted"] == 6
    assert all(summary.stopped.headline in str(o.reason) for o in summary.outcomes)
    assert not summary.ok


async def test_camera_not_in_favourites_stops_with_hint(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """The favourites refusal (the checks cannot see it) stops the job at its first answer with a hint."""
    paths = frames(8)
    routes.upload.mock(
        return_value=httpx.Response(
            400, json={"non_field_errors": ["Observatory with camera doesn't exist on your list"]}
        )
    )
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", concurrency=4).run()
    assert 1 <= routes.upload.call_count <= 4
    assert summary.stopped is not None
    assert "add_favourite" in str(summary.stopped)
    assert summary.counts["failed"] == routes.upload.call_count
    assert summary.counts["not_attempted"] == 8 - routes.upload.call_count
    assert all(summary.stopped.headline in str(o.reason) for o in summary.outcomes)


async def test_one_bad_file_does_not_stop_the_others(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """A per-file 400 fails that file; the rest are uploaded."""
    paths = frames(3)
    server.faults.append(lambda request: httpx.Response(400, json={"detail": "Corrupt FITS header"}))
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    assert {k: v for k, v in summary.counts.items() if v} == {"uploaded": 2, "failed": 1}
    assert summary.stopped is None


async def test_failed_file_is_retried_on_rerun(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """What failed in one run is sent again by the next."""
    (path,) = frames(1)
    server.faults.append(lambda request: httpx.Response(400, json={"detail": "Corrupt FITS header"}))
    first = await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    second = await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    assert (first.outcomes[0].status, second.outcomes[0].status) == ("failed", "uploaded")


async def test_dry_run_journals_nothing(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """A dry run sends dry_run=True, reports `dry_run` outcomes and never creates the journal."""
    paths = frames(2)
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", dry_run=True).run()
    assert summary.counts["dry_run"] == 2
    assert ("dry_run", "True") in form_of(routes.upload.calls[0].request)[0]
    assert not (tmp_path / "j.sqlite3").exists()


async def test_per_file_settings_from_mapping_and_callback(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """Each file's target and filter come from the mapping or the callback (sync or async)."""
    paths = frames(3)
    job = UploadOptions(target=TARGET, observatory=CAMERA)
    mapping = {paths[0].name: job.replace(filter="GaiaSP/V"), str(paths[1]): SkipFile("bias frame")}
    summary = await make_uploader(bh, paths, tmp_path / "a.sqlite3", settings=mapping).run()
    sent = [dict(form_of(call.request)[0]) for call in routes.upload.calls]
    assert {f.get("filter") for f in sent} == {"GaiaSP/V", None}
    assert [o.reason for o in summary.of("skipped")] == ["bias frame"]

    async def by_header(path: Path, defaults: UploadOptions) -> UploadOptions:
        return defaults.replace(target="OtherTarget")

    await make_uploader(bh, paths[:1], tmp_path / "b.sqlite3", settings=by_header).run()
    assert dict(form_of(routes.upload.calls[-1].request)[0])["target"] == "OtherTarget"

    def sync_cb(path: Path, defaults: UploadOptions) -> UploadOptions:
        return defaults.replace(filter="GaiaSP/R")

    await make_uploader(bh, paths[:1], tmp_path / "c.sqlite3", settings=sync_cb).run()
    assert dict(form_of(routes.upload.calls[-1].request)[0])["filter"] == "GaiaSP/R"


async def test_events_report_files_and_bytes(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """Progress events: a start and finish per file, byte counts that add up to the bodies sent."""
    paths = frames(2)
    events: list[UploadEvent] = []
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", on_event=events.append).run()
    assert sum(isinstance(e, FileStarted) for e in events) == 2
    assert sum(isinstance(e, FileFinished) for e in events) == 2
    assert isinstance(events[-1], JobFinished)
    body_bytes = sum(len(call.request.content) for call in routes.upload.calls)
    assert sum(e.sent for e in events if isinstance(e, BytesSent)) == body_bytes == summary.bytes_sent


async def test_request_rate_limit_spaces_uploads(
    make_uploader: MakeUploader,
    make_client: Callable[..., Client],
    routes: Routes,
    frames: Frames,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """max_requests_per_second=2 makes four uploads wait on the clock about 1.5 s in all."""
    paths = frames(4)
    async with make_client() as bh:
        await make_uploader(bh, paths, tmp_path / "j.sqlite3", max_requests_per_second=2).run()
    assert sum(s for s in clock.sleeps) == pytest.approx(1.5, abs=0.01)


async def test_byte_rate_limit_throttles_the_body(
    make_uploader: MakeUploader,
    make_client: Callable[..., Client],
    routes: Routes,
    frames: Frames,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """max_bytes_per_second makes the body's chunks wait on the clock for the bytes sent."""
    (path,) = frames(1)
    async with make_client() as bh:
        summary = await make_uploader(bh, path, tmp_path / "j.sqlite3", max_bytes_per_second=1000).run()
    expected = (summary.bytes_sent - 1000) / 1000
    assert sum(clock.sleeps) == pytest.approx(expected, rel=0.05)


async def test_cancellation_marks_in_flight_upload_unknown(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """Cancelling mid-request journals the file `unknown` (so a re-run reconciles it)."""
    (path,) = frames(1)
    started = anyio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError

    routes.upload.mock(side_effect=hang)
    job = make_uploader(bh, path, tmp_path / "j.sqlite3")
    async with anyio.create_task_group() as tg:
        tg.start_soon(job.run)
        await started.wait()
        tg.cancel_scope.cancel()
    assert [o.status for o in job.outcomes] == ["unknown"]
    async with Journal(tmp_path / "j.sqlite3") as journal:
        (row,) = await journal.rows()
    assert row.state == "unknown"


async def test_bad_inputs_each_get_their_own_reason_and_nothing_is_sent(
    make_uploader: MakeUploader, bh: Client, routes: Routes, tmp_path: Path
) -> None:
    """Bad inputs each come back with their own reason and status, and nothing is sent."""
    (tmp_path / "empty.fits").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "c.fits.fz").write_bytes(b"x")
    (tmp_path / "d.fits.bz2").write_bytes(b"x")
    summary = await make_uploader(bh, [tmp_path, tmp_path / "missing.fits"], tmp_path / "j.sqlite3").run()
    got = {o.path.name: (o.status, o.reason) for o in summary.outcomes}
    assert got["empty.fits"] == ("failed", "empty file (0 bytes)")
    assert got["missing.fits"] == ("failed", "does not exist")
    assert got["c.fits.fz"] == ("failed", "not a FITS file (no 'SIMPLE  =' card at the start)")
    assert got["d.fits.bz2"][0] == "failed"
    assert "cannot undo" in str(got["d.fits.bz2"][1])
    assert got["notes.txt"][0] == "ignored"
    assert routes.upload.call_count == 0


async def test_probe_passes_on_when_the_first_file_is_not_sent(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """Checks that cannot tell make the first upload go alone; if the first file vanishes before
    sending, the next one becomes the lone first request."""
    paths = frames(5)
    routes.targets.mock(return_value=httpx.Response(200, json={"unexpected": "shape"}))  # cannot tell
    routes.upload.mock(return_value=httpx.Response(401, json={"detail": "Invalid token."}))

    skipped_first = threading.Event()

    def vanish_first(path: Path, defaults: UploadOptions) -> None:
        # Runs in a worker thread: the others wait until the first file has been skipped.
        if path == paths[0]:
            path.unlink()
        else:
            assert skipped_first.wait(5)

    def on_event(event: UploadEvent) -> None:
        if isinstance(event, FileSkipped) and event.outcome.path == paths[0]:
            skipped_first.set()

    summary = await make_uploader(
        bh, paths, tmp_path / "j.sqlite3", settings=vanish_first, on_event=on_event, concurrency=4
    ).run()
    assert routes.upload.call_count == 1
    assert isinstance(summary.stopped, errors.AuthenticationError)
    assert summary.of("ignored")[0].path == paths[0]  # gone before it was ready: no failure
    assert "vanished" in str(summary.of("ignored")[0].reason)


async def test_absent_after_a_lost_answer_is_looked_up_twice_before_resending(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """A gateway error may precede the store: the uploader waits and looks again before re-sending."""
    (path,) = frames(1)
    server.faults.append(lambda request: httpx.Response(504, text="Gateway Timeout"))
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    assert summary.outcomes[0].status == "uploaded"
    assert routes.lookups == 2
    assert 2.0 in clock.sleeps


async def test_events_iterator_ends_with_the_summary(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """`Uploader.events()` yields every file's events and ends with `JobFinished`."""
    paths = frames(3)
    async with make_uploader(bh, paths, tmp_path / "j.sqlite3").events() as events:
        seen = [event async for event in events]
    assert sum(isinstance(e, FileFinished) for e in seen) == 3
    assert isinstance(seen[-1], JobFinished)
    assert seen[-1].summary.counts["uploaded"] == 3


async def test_leaving_the_events_block_early_cancels_the_job(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """Breaking out while the first upload is at the server cancels the rest; that file is `unknown`."""
    paths = frames(3)
    arrived = anyio.Event()
    received: list[httpx.Request] = []

    async def hang(request: httpx.Request) -> httpx.Response:
        received.append(request)
        arrived.set()
        await anyio.sleep_forever()
        raise AssertionError

    routes.upload.mock(side_effect=hang)
    job = make_uploader(bh, paths, tmp_path / "j.sqlite3", concurrency=1)
    async with job.events() as events:
        async for event in events:
            if isinstance(event, FileStarted):
                await arrived.wait()  # the request is in flight: its outcome cannot be known
                break
    # The one in flight is unknown; the two waiting for the one worker are listed too.
    assert sorted(o.status for o in job.outcomes) == ["not_attempted", "not_attempted", "unknown"]
    # respx records a call only once it is answered, so count arrivals at the server instead.
    assert len(received) == 1  # the one worker's request; no others started


async def test_settings_from_header_sets_each_files_filter(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """With `settings_from_header()`, each request carries the frame's own OBJECT and FILTER."""
    from bhtom_async.upload import settings_from_header

    paths = frames(2)
    await make_uploader(
        bh, paths, tmp_path / "j.sqlite3", target="Placeholder", settings=settings_from_header()
    ).run()
    sent = [dict(form_of(call.request)[0]) for call in routes.upload.calls]
    assert [(f["target"], f["filter"]) for f in sent] == [("Gaia22bpl", "GaiaSP/V")] * 2


async def test_a_file_listed_twice_is_sent_once(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """A frame given both on its own and inside its folder is uploaded once, and reported once."""
    paths = frames(1)
    summary = await make_uploader(bh, [paths[0], paths[0].parent, paths[0]], tmp_path / "j.sqlite3").run()
    assert routes.upload.call_count == 1
    assert [o.status for o in summary.outcomes] == ["uploaded"]


# ---- exactly once, and nothing dropped silently (#11, #13) -----------------------------------


async def test_same_name_and_size_but_other_content_is_not_a_copy(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """Cameras reuse names: `R/img.fits` and `V/img.fits` of equal size but other content are both sent."""
    (red,) = frames(1, "R", name="img.fits", seed=1)
    (visual,) = frames(1, "V", name="img.fits", seed=2)
    assert red.stat().st_size == visual.stat().st_size
    await make_uploader(bh, red, tmp_path / "j.sqlite3").run()
    second = await make_uploader(bh, visual, tmp_path / "j.sqlite3").run()
    assert [o.status for o in second.outcomes] == ["uploaded"]
    assert routes.upload.call_count == 2


async def test_same_named_frames_in_two_folders_meeting_faults_are_each_stored_once(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """R's answer lost after the store, V's a 503: V is still sent; two products, two distinct ids."""
    frames(1, "night/R", name="img.fits", seed=1)
    frames(1, "night/V", name="img.fits", seed=2)
    server.faults += [server.store_then(httpx.ReadError("reset")), lambda request: httpx.Response(503)]
    summary = await make_uploader(bh, tmp_path / "night", tmp_path / "j.sqlite3", concurrency=4).run()
    assert sorted(o.status for o in summary.outcomes) == ["uploaded", "uploaded"]
    assert len(set(summary.ids)) == 2
    assert len(server.stored) == 2
    async with Journal(tmp_path / "j.sqlite3") as journal:
        rows = await journal.rows()
    assert sorted(r.data_product_id for r in rows) == sorted(summary.ids)


async def test_a_garbled_2xx_answer_is_looked_up_not_a_crash(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """A 201 whose body is not JSON (a proxy's page): the file is looked up and found, not re-sent."""
    paths = frames(3)

    def garbled(request: httpx.Request) -> httpx.Response:
        fields, files = form_of(request)
        server.store(dict(fields), files[0][1])
        return httpx.Response(201, text="<html>Welcome to the portal</html>")

    server.faults.append(garbled)
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    assert [o.status for o in summary.outcomes] == ["uploaded"] * 3
    assert sum(o.reconciled for o in summary.outcomes) == 1
    assert len(server.stored) == 3
    assert routes.upload.call_count == 3


async def test_an_earlier_product_of_the_same_name_is_not_adopted_with_markers(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """A colleague's same-named product exists; with markers, our lost upload is told apart exactly."""
    (path,) = frames(1)
    server.store(
        SOMEONE_ELSES,
        path.name,
    )
    server.faults.append(server.store_then(httpx.ReadError("reset")))
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3", marker=True).run()
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.reconciled, outcome.data_product_id) == ("uploaded", True, 1002)
    assert "[bhtom_async:" in str(server.stored[1]["comment"])


async def test_a_colleague_s_frame_stored_while_ours_failed_is_never_taken_for_ours(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """Markers are on by default: a same-named frame someone else stored while our request was in
    flight, ours lost before the store, is not ours (no tag): ours is sent again and stored once,
    theirs is left alone. (Without the tag the server's records cannot tell the two apart.)"""
    (path,) = frames(1)

    def someone_else_then_reset(request: httpx.Request) -> httpx.Response | None:
        server.store(SOMEONE_ELSES, path.name)
        raise httpx.ReadError("reset before our file was stored")

    server.faults.append(someone_else_then_reset)
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.data_product_id) == ("uploaded", 1002)
    assert routes.upload.call_count == 2
    ours = [item for item in server.stored if "[bhtom_async:" in str(item["comment"])]
    assert [item["id"] for item in ours] == [1002]


async def test_without_markers_two_candidates_are_unknown_never_adopted(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """Without markers the same situation is ambiguous: unknown, both ids reported, nothing re-sent.

    (Someone else's same-named frame stored while ours was sent: after the job began, so the
    newest id seen before our send does not rule it out.)"""
    (path,) = frames(1)
    lost = server.store_then(httpx.ReadError("reset"))

    def someone_else_then_ours(request: httpx.Request) -> httpx.Response | None:
        server.store(SOMEONE_ELSES, path.name)
        return lost(request)

    server.faults.append(someone_else_then_ours)
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3", marker=False).run()
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.candidates) == ("unknown", (1001, 1002))
    assert routes.upload.call_count == 1
    assert summary.verdict == "unknown"


async def test_a_freshly_written_frame_is_uploaded_in_the_same_run(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """A frame written just before the run is held until still for the settle time, then sent."""
    (path,) = frames(1)
    soon = time.time_ns() + 10**8  # fresh however slow the machine is before the job looks at it
    os.utime(path, ns=(soon, soon))
    events: list[UploadEvent] = []
    summary = await make_uploader(
        bh, path, tmp_path / "j.sqlite3", settle_time=0.2, on_event=events.append
    ).run()
    assert [o.status for o in summary.outcomes] == ["uploaded"]
    assert any(isinstance(e, FileHeld) for e in events)
    assert summary.verdict == "ok"


async def test_a_frame_that_keeps_changing_is_not_ready_not_skipped(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """A file written to for longer than max_settle_wait is reported not ready (verdict incomplete)."""
    (path,) = frames(1)
    stop = anyio.Event()

    def append() -> None:
        with path.open("ab") as handle:
            handle.write(b"x")

    async def keep_writing() -> None:
        while not stop.is_set():
            await anyio.to_thread.run_sync(append)
            await anyio.sleep(0.05)

    async with anyio.create_task_group() as tg:
        tg.start_soon(keep_writing)
        summary = await make_uploader(
            bh, path, tmp_path / "j.sqlite3", settle_time=0.2, max_settle_wait=0.6
        ).run()
        stop.set()
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.reason) == (
        "not_ready",
        "still being written after 0.6 s; re-run to upload it",
    )
    assert routes.upload.call_count == 0
    assert summary.verdict == "incomplete"


async def test_a_frame_appended_to_while_sent_is_sent_again_once_settled(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """A frame that grows during its upload: the torn copy is journaled `changed`, the new one is sent."""
    (path,) = frames(1)

    def append_then_store(request: httpx.Request) -> None:
        with path.open("ab") as handle:
            handle.write(b"\0" * 2880)
        return None

    server.faults.append(append_then_store)
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3", settle_time=0.1).run()
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.data_product_id) == ("uploaded", 1002)
    assert "changed while being sent" in str(outcome.reason)
    assert "1001" in str(outcome.reason)
    assert routes.upload.call_count == 2
    async with Journal(tmp_path / "j.sqlite3") as journal:
        rows = await journal.rows()
    assert sorted((r.state, r.data_product_id) for r in rows) == [("changed", 1001), ("uploaded", 1002)]


async def test_a_frame_rewritten_in_place_with_the_same_size_is_noticed(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """Same size, new content and time during the send: not recorded as a clean upload."""
    (path,) = frames(1)
    size = path.stat().st_size

    def rewrite(request: httpx.Request) -> None:
        path.write_bytes(fits_bytes(99)[:size].ljust(size, b" "))
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 1000))
        return None

    server.faults.append(rewrite)
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3", settle_time=0.1).run()
    assert [o.status for o in summary.outcomes] == ["uploaded"]
    assert routes.upload.call_count == 2


async def test_a_persisting_429_pauses_and_carries_on(
    make_uploader: MakeUploader,
    make_client: Callable[..., Client],
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """429s with Retry-After: 1 that outlast the client's retries pause the job; every file still goes."""
    paths = frames(4)
    server.faults += [lambda request: httpx.Response(429, headers={"Retry-After": "1"})] * 6
    async with make_client(max_retries=0) as bh:
        summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    assert [o.status for o in summary.outcomes] == ["uploaded"] * 4
    assert summary.stopped is None
    assert routes.upload.call_count == 4 + 6
    assert clock.sleeps
    assert min(clock.sleeps) > 0


async def test_a_429_beyond_the_budget_stops_and_lists_every_file(
    make_uploader: MakeUploader,
    make_client: Callable[..., Client],
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """Past rate_limit_budget the job stops; the files not sent are in the summary as not attempted."""
    paths = frames(5)
    server.faults += [lambda request: httpx.Response(429, headers={"Retry-After": "1"})] * 50
    async with make_client(max_retries=0) as bh:
        summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", rate_limit_budget=3).run()
    assert isinstance(summary.stopped, errors.RateLimitError)
    assert "rate_limit_budget" in summary.stopped.headline
    assert len(summary.outcomes) == 5
    assert {o.status for o in summary.outcomes} == {"not_attempted"}
    assert summary.verdict == "stopped"


async def test_the_429_budget_counts_the_clients_own_retries(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """A server answering 429 (Retry-After: 1) to everything, the client retrying as by default:
    a budget of 8 s stops the job 8 s after it began, not after 4 x 8 s of retries and pauses."""
    paths = frames(4)
    server.faults += [lambda request: httpx.Response(429, headers={"Retry-After": "1"})] * 1000
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", rate_limit_budget=8).run()
    assert isinstance(summary.stopped, errors.RateLimitError)
    assert {o.status for o in summary.outcomes} == {"not_attempted"}
    assert clock.monotonic() <= 8.0
    assert routes.upload.call_count <= 4 * (8 + 1)  # at most one request per worker per second paused


async def test_a_429_pauses_every_worker_for_its_retry_after(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """The first round's first request gets 429 with Retry-After: 7: no later request of any worker
    goes for 7 s on the job's clock, then all go (the pause is the server's, not a backoff of its
    own). The checks passed, so the first round (3 at once) goes out without waiting for an answer."""
    paths = frames(6)
    arrivals: list[float] = []

    def note_time(request: httpx.Request) -> None:
        arrivals.append(clock.monotonic())

    def refuse(request: httpx.Request) -> httpx.Response:
        note_time(request)
        return httpx.Response(429, headers={"Retry-After": "7"})

    server.faults += [refuse] + [note_time] * 6
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", concurrency=3).run()
    assert [o.status for o in summary.outcomes] == ["uploaded"] * 6
    # Requests of the first round that left before the 429 came back go at 0; everything after it
    # (the refused file again, and the three files no worker had taken yet) waits exactly 7 s.
    assert arrivals == sorted(arrivals)
    assert set(arrivals) == {0.0, 7.0}
    assert arrivals.count(7.0) >= 4


async def test_the_429_budget_holds_without_retry_after(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """429s without Retry-After, which the client retries itself (with its backoff) before the job
    hears of them: the job still stops within a budget of 8 s, saying so. (One worker: on the
    test clock, waits of parallel workers would add up instead of overlapping.)"""
    paths = frames(4)
    server.faults += [lambda request: httpx.Response(429)] * 1000
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", rate_limit_budget=8, concurrency=1).run()
    assert isinstance(summary.stopped, errors.RateLimitError)
    assert "rate_limit_budget, 8 s" in summary.stopped.headline
    assert clock.monotonic() <= 8.0


async def test_a_retry_after_longer_than_the_budget_stops_and_says_so(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """Retry-After: 3600 stops the job at the first answer, with the wait the server asked for: one
    worker, one request; the other files are never tried. (With more workers the first round may
    be out already: at most `concurrency` requests, pinned in test_preflight.py.)"""
    paths = frames(3)
    server.faults += [lambda request: httpx.Response(429, headers={"Retry-After": "3600"})] * 10
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", concurrency=1).run()
    assert routes.upload.call_count == 1
    assert isinstance(summary.stopped, errors.RateLimitError)
    headline = summary.stopped.headline
    assert "asked us to wait 3600 s" in headline
    assert "rate_limit_budget, 900 s" in headline
    assert "for more than" not in headline


async def test_a_name_that_is_not_utf8_fails_alone_and_the_job_goes_on(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """One undecodable file name fails that file; the good frames beside it are uploaded."""
    paths = frames(2)
    with open(os.fsencode(str(paths[0].parent)) + b"/bad\xff.fits", "wb") as handle:
        handle.write(fits_bytes(7))
    summary = await make_uploader(bh, paths[0].parent, tmp_path / "j.sqlite3").run()
    assert sorted(o.status for o in summary.outcomes) == ["failed", "uploaded", "uploaded"]
    assert summary.verdict == "failed"


async def test_names_the_wire_would_change_are_sent_and_looked_up_under_a_safe_name(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """`a "b".fits` goes as `a__b_.fits`, and a lost answer is found under that name (not re-sent)."""
    (path,) = frames(1, name='a "b".fits')
    server.faults.append(server.store_then(httpx.ReadError("reset")))
    summary = await make_uploader(bh, path, tmp_path / "j.sqlite3").run()
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.reconciled, outcome.sent_as) == ("uploaded", True, "a__b_.fits")
    assert server.arrived == ["a__b_.fits"]


async def test_a_journal_that_fills_the_disk_mid_job_stops_cleanly(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The disk fills after two files: the job stops with the journal's error; nothing raises; all listed."""
    paths = frames(5)
    real_begin = SqliteJournal.begin
    calls = 0

    async def begin(self: SqliteJournal, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise JournalError(self.path, "the disk is full", "free some space")
        return await real_begin(self, *args, **kwargs)

    monkeypatch.setattr(SqliteJournal, "begin", begin)
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", concurrency=1).run()
    assert isinstance(summary.stopped, JournalError)
    assert [o.status for o in summary.outcomes].count("uploaded") == 2
    assert [o.status for o in summary.outcomes].count("not_attempted") == 3
    assert summary.verdict == "stopped"


async def test_a_second_job_on_the_same_journal_is_refused(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """Two jobs on one journal at once: the second is refused before sending anything."""
    paths = frames(2)
    async with Journal(tmp_path / "j.sqlite3"):
        with pytest.raises(JournalBusyError):
            await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    assert routes.upload.call_count == 0


async def test_a_server_that_never_answers_costs_one_file_timeout(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """An accepted request that is never answered: unknown after file_timeout, journaled for a re-run."""
    (path,) = frames(1)

    async def never(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError

    routes.upload.mock(side_effect=never)
    with anyio.fail_after(10):
        summary = await make_uploader(bh, path, tmp_path / "j.sqlite3", file_timeout=0.3).run()
    (outcome,) = summary.outcomes
    assert outcome.status == "unknown"
    assert "file_timeout" in str(outcome.reason)
    async with Journal(tmp_path / "j.sqlite3") as journal:
        (row,) = await journal.rows()
    assert row.state == "unknown"


async def test_a_run_that_finds_nothing_to_upload_is_empty_not_ok(
    make_uploader: MakeUploader, bh: Client, routes: Routes, tmp_path: Path
) -> None:
    """An empty night (or only logs) is the `empty` verdict, so scripts can tell it from success."""
    (tmp_path / "night").mkdir()
    (tmp_path / "night" / "log.txt").write_text("clouds all night")
    summary = await make_uploader(bh, tmp_path / "night", tmp_path / "j.sqlite3").run()
    assert [o.status for o in summary.outcomes] == ["ignored"]
    assert summary.verdict == "empty"


async def test_a_captive_portal_run_then_a_real_run_stores_every_frame(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """Every answer a 200 HTML page (a hotel portal): nothing is called uploaded; the re-run on the
    real network finds nothing stored and sends all five."""
    paths = frames(5)
    portal = httpx.Response(200, text="<html><body>Please log in to the Wi-Fi</body></html>")
    routes.upload.mock(return_value=portal)
    routes.listing.mock(return_value=portal)
    first = await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    assert {o.status for o in first.outcomes} == {"unknown"}
    assert first.verdict == "unknown"
    routes.upload.mock(side_effect=server.upload)
    routes.listing.mock(side_effect=server.listing)
    second = await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    assert [o.status for o in second.outcomes] == ["uploaded"] * 5
    assert len(server.stored) == 5


async def test_stop_lets_uploads_in_flight_finish_and_lists_the_rest(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    server: FakeServer,
    tmp_path: Path,
) -> None:
    """`stop()` (the CLI's SIGTERM) takes no new file; the one in flight is stored; the rest are listed."""
    paths = frames(5)
    arrived = anyio.Event()
    release = anyio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await release.wait()
        return server.upload(request)

    routes.upload.mock(side_effect=slow)
    job = make_uploader(bh, paths, tmp_path / "j.sqlite3", concurrency=1)
    result: list[UploadSummary] = []

    async def run() -> None:
        result.append(await job.run())

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        with anyio.fail_after(5):
            await arrived.wait()
        job.stop("the operator pressed Ctrl-C")
        release.set()
    (summary,) = result
    assert [o.status for o in summary.outcomes].count("uploaded") == 1
    assert [o.status for o in summary.outcomes].count("not_attempted") == 4
    assert all("Ctrl-C" in str(o.reason) for o in summary.of("not_attempted"))
    assert (summary.cancelled, summary.verdict) == (True, "cancelled")


async def test_a_new_file_is_looked_up_in_its_own_journal_once(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job alone writes its SQLite journal: the look-up made when a file is queued still holds
    when it is sent (same fingerprint), so three new frames cost three look-ups, not six; the
    re-run, where each is found uploaded, three again."""
    paths = frames(3)
    looked_up: list[Fingerprint] = []
    real_find = SqliteJournal.find

    async def counting(self: SqliteJournal, key: JournalKey, fingerprint: Fingerprint) -> object:
        looked_up.append(fingerprint)
        return await real_find(self, key, fingerprint)

    monkeypatch.setattr(SqliteJournal, "find", counting)
    first = await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    assert first.counts["uploaded"] == 3
    assert len(looked_up) == 3
    again = await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    assert again.counts["skipped"] == 3
    assert len(looked_up) == 6
    assert routes.upload.call_count == 3
