"""Exactly once with reused names (issue 21): our own same-named frames after a crash, a colleague's
same-named frame, a night whose names were reused, a listing on another clock.

Each test checks the emulator's own state: every "uploaded" outcome names a product whose content is
that file's, and no file is stored twice.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import pytest

from bhtom_async import Client, UploadOptions
from bhtom_async.cli.upload_summary import exit_for
from bhtom_async.emulator import Emulator, FaultRule
from bhtom_async.testing import ManualClock
from bhtom_async.upload.discovery import fingerprint_of
from bhtom_async.upload.journal import JournalKey
from bhtom_async.upload.journal_sqlite import SqliteJournal
from bhtom_async.upload.scheduler import CONCURRENT_RUNS

from .test_exactly_once import CAMERA, TARGET, check_truthful, upload, write

pytestmark = pytest.mark.anyio
KEY = JournalKey(TARGET, CAMERA, "fits_file")


def client(emulator: Emulator, user: str = "alice") -> Client:
    urls = {"base_url": emulator.base_url, "upload_url": emulator.upload_url}
    return Client(emulator.tokens[user], clock=ManualClock(), **urls)


async def crash_after_store(emulator: Emulator, frame: Path, journal: Path, *, state: str = "sending") -> int:
    """What `kill -9` leaves after the server stored `frame`: its row `sending` (or `unknown`)."""
    async with SqliteJournal(journal) as j:
        row = await j.begin(
            KEY, fingerprint_of(frame, frame.stat()), frame.name, server_offset=0.0, marker=None
        )
        async with client(emulator) as bh:
            receipt = await bh.uploads.upload_file(frame, UploadOptions(target=TARGET, observatory=CAMERA))
        if state != "sending":
            await j.finish(row.id, "unknown", reason="the answer was lost")
    (stored,) = receipt.files
    assert stored.id is not None
    return stored.id


def stored_names(emulator: Emulator) -> list[str]:
    return sorted(p.file_name for p in emulator.state.dataproducts() if not p.dry_run)


@pytest.mark.parametrize("state", ["sending", "unknown"])
async def test_a_never_sent_frame_does_not_claim_a_crashed_same_named_frame_s_product(
    tmp_path: Path, state: str
) -> None:
    """B/img.fits was stored, then the process was killed (row `sending`, or `unknown`); A/img.fits
    was never sent. A sorts first; the re-run with the server check must not let A claim B's product:
    B is resolved first (its product), A is sent (its own). Each stored once."""
    a = write(tmp_path / "night" / "A" / "img.fits", 1)
    b = write(tmp_path / "night" / "B" / "img.fits", 2)
    journal = tmp_path / "j.sqlite3"
    with Emulator(seed=5, calibration_delays=(30, 30)) as emulator:
        b_id = await crash_after_store(emulator, b, journal, state=state)
        async with client(emulator) as bh:
            summary = await upload(bh, tmp_path / "night", journal, check_server=True, concurrency=1)
        by_path = {o.path: o for o in summary.outcomes}
        assert by_path[b].data_product_id == b_id, by_path[b]
        assert by_path[a].status == "uploaded", by_path[a]
        assert by_path[a].data_product_id != b_id
        check_truthful(emulator, summary)
        assert len(emulator.state.dataproducts_by_file_name("img.fits")) == 2, stored_names(emulator)
        async with client(emulator) as bh:  # and the re-run agrees: nothing more to do
            again = await upload(bh, tmp_path / "night", journal, check_server=True)
        assert again.counts["skipped"] == 2, again
        assert len(emulator.state.dataproducts_by_file_name("img.fits")) == 2


@pytest.mark.parametrize("user", ["alice", "bob"], ids=["same-account", "colleague-account"])
async def test_a_colleague_s_frame_stored_seconds_before_our_send_is_never_adopted(
    tmp_path: Path, user: str
) -> None:
    """A colleague's img.fits stored to the same target and camera just before our job (inside the
    clock tolerance); our upload meets a 503 that stored nothing. The server showed their product's
    id before we sent, so it cannot be ours: ours is sent again and stored, never reported with
    their id."""
    theirs = write(tmp_path / "colleague" / "img.fits", 1)
    mine = write(tmp_path / "night" / "img.fits", 2)
    with Emulator(seed=6, calibration_delays=(30, 30)) as emulator:
        async with client(emulator, user) as colleague:
            receipt = await colleague.uploads.upload_file(
                theirs, UploadOptions(target=TARGET, observatory=CAMERA)
            )
        (their,) = receipt.files
        emulator.add_fault(FaultRule(kind="error", host="upload", path="/upload/", status=503, times=1))
        async with client(emulator) as bh:
            summary = await upload(bh, mine, tmp_path / "j.sqlite3")
        (outcome,) = summary.outcomes
        assert outcome.status == "uploaded", outcome
        assert outcome.data_product_id != their.id
        check_truthful(emulator, summary)
        assert len(emulator.state.dataproducts_by_file_name("img.fits")) == 2


async def test_a_fresh_journal_over_reused_names_says_no_rerun_resolves_it_and_resend_unknown_sends(
    tmp_path: Path,
) -> None:
    """Two products named img.fits are stored after our frame was written (older nights reused the
    name, the frame was copied keeping its time). A fresh journal with the server check cannot tell
    which is ours: `unknown` with both ids on every run, saying a re-run will not resolve it and what
    to do; the exit reason says the same. After checking, `resend_unknown` sends it, once."""
    frame = write(tmp_path / "night" / "img.fits", 3)
    old = time.time() - 2 * 86400
    os.utime(frame, (old, old))
    with Emulator(seed=7, calibration_delays=(30, 30)) as emulator:
        async with client(emulator) as bh:
            for seed in (4, 5):
                other = write(tmp_path / f"older{seed}" / "img.fits", seed)
                await bh.uploads.upload_file(other, UploadOptions(target=TARGET, observatory=CAMERA))
            for run in range(2):
                summary = await upload(bh, frame, tmp_path / f"fresh{run}.sqlite3", check_server=True)
                (outcome,) = summary.outcomes
                assert (outcome.status, len(outcome.candidates)) == ("unknown", 2), outcome
                assert outcome.reason is not None
                assert "a re-run cannot either" in outcome.reason
                assert "--resend-unknown" in outcome.reason
                code, reason = exit_for(summary)
                assert code == 4
                assert reason is not None
                assert reason.startswith("1 file with an unknown outcome that no re-run can resolve")
            assert len(emulator.state.dataproducts_by_file_name("img.fits")) == 2
            summary = await upload(
                bh, frame, tmp_path / "fresh1.sqlite3", check_server=True, resend_unknown=True
            )
        (outcome,) = summary.outcomes
        assert outcome.status == "uploaded", outcome
        check_truthful(emulator, summary)
        assert len(emulator.state.dataproducts_by_file_name("img.fits")) == 3


async def test_a_listing_stamped_on_another_clock_than_the_date_header_doubles_nothing(
    tmp_path: Path,
) -> None:
    """A proxy's `Date` runs 60 s ahead of the clock that stamps `created`; half the answers are lost
    after the store. Our own receipt shows the disagreement: nothing is stored twice (what cannot be
    told is `unknown`, never re-sent), and a fresh --check-server run sends none of them again."""
    night = [write(tmp_path / "night" / f"f{i:02d}.fits", i) for i in range(12)]
    with Emulator(seed=8, calibration_delays=(30, 30), date_skew=60.0) as emulator:
        emulator.add_fault(
            FaultRule(kind="reset_after_store", host="upload", path="/upload/", probability=0.5)
        )
        async with client(emulator) as bh:
            summary = await upload(bh, tmp_path / "night", tmp_path / "j.sqlite3", max_attempts=4)
        check_truthful(emulator, summary)
        assert summary.counts["uploaded"] + summary.counts["unknown"] == len(night), summary
        assert summary.counts["uploaded"] >= 6, summary
        stored = [p for p in emulator.state.dataproducts() if p.file_name.startswith("f") and not p.dry_run]
        assert len(stored) == len({p.sha256 for p in stored}) == len(night)
        emulator.injector.clear()
        async with client(emulator) as bh:
            fresh = await upload(bh, tmp_path / "night", tmp_path / "fresh.sqlite3", check_server=True)
        assert fresh.counts["uploaded"] <= 1, fresh  # the receipt that shows the clocks disagree
        stored = [p for p in emulator.state.dataproducts() if p.file_name.startswith("f") and not p.dry_run]
        assert len(stored) <= len(night) + 1


async def test_two_runs_on_different_journals_at_once_are_told_the_check_cannot_see_each_other(
    tmp_path: Path,
) -> None:
    """What docs/uploads.md says of concurrent runs: the server check sees what was stored before the
    job began, not another run under another journal at the same time, so two such runs both store
    the frames; each run says so in its summary. On one journal the second run is refused instead."""
    for i in range(4):
        write(tmp_path / "night" / f"f{i}.fits", i)
    with Emulator(seed=9, calibration_delays=(30, 30)) as emulator:
        emulator.add_fault(FaultRule(kind="latency", host="upload", path="/upload/", seconds=0.2))
        summaries = []

        async def run(journal: str) -> None:
            async with client(emulator) as bh:
                summaries.append(await upload(bh, tmp_path / "night", tmp_path / journal, check_server=True))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "a.sqlite3")
            tg.start_soon(run, "b.sqlite3")
        for summary in summaries:
            assert summary.counts["uploaded"] == 4, summary
            assert summary.warnings == (CONCURRENT_RUNS,)
        frames = [p for p in emulator.state.dataproducts() if p.file_name.startswith("f") and not p.dry_run]
        assert len(frames) == 8  # the documented limit: each frame stored by both runs
        async with client(emulator) as bh:  # a later run on a journal that knows them: no warning
            again = await upload(bh, tmp_path / "night", tmp_path / "a.sqlite3", check_server=True)
        assert (again.counts["skipped"], again.warnings) == (4, ())
