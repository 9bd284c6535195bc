"""The upload progress display tells the truth: totals, rate, labels, units, counts, a full bar."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from bhtom_async import Client, JobOptions, UploadOptions
from bhtom_async.cli.plan import Plan
from bhtom_async.cli.progress import JobReport
from bhtom_async.cli.tally import RateMeter, Tally
from bhtom_async.cli.upload_job import UploadRequest, run_job
from bhtom_async.upload.events import (
    BytesSent,
    FileFinished,
    FileHeld,
    FileQueued,
    FileSkipped,
    FileStarted,
    JobFinished,
    UploadOutcome,
    UploadSummary,
)

from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

CAMERA = "HarnessObs_HarnessCam"
MiB = 1024 * 1024
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_is_not_shown_while_the_first_bytes_fill_buffers() -> None:
    """No rate in the first seconds; then the burst at the start does not inflate it."""
    clock = Clock()
    meter = RateMeter(window=15.0, warmup=3.0, now=clock)
    meter.add(4 * MiB)  # the socket buffers swallow 4 MiB at once
    clock.now = 1.0
    meter.add(4 * MiB + MiB)
    assert meter.rate() is None
    for second in range(2, 11):
        clock.now = float(second)
        meter.add(4 * MiB + second * MiB)
    assert meter.rate() == pytest.approx(MiB)  # 1 MiB/s, as the link really goes


def test_rate_follows_a_slower_link_once_the_window_has_moved() -> None:
    """The rate is an average over the last window, not since the start."""
    clock = Clock()
    meter = RateMeter(window=5.0, warmup=1.0, now=clock)
    sent = 0
    for second in range(0, 21):
        clock.now = float(second)
        sent += 4 * MiB if second < 10 else MiB
        meter.add(sent)
    assert meter.rate() == pytest.approx(MiB, rel=0.01)


def _outcome(path: str, status: str, size: int = 100, id_: int | None = None) -> UploadOutcome:
    return UploadOutcome(Path(path), status, data_product_id=id_, size=size)  # type: ignore[arg-type]


def test_totals_on_a_rerun_count_only_the_bytes_to_send() -> None:
    """Three files uploaded before and one new: the total is the new file's bytes; the bar ends full."""
    plan = Plan(entries=4, to_send={"n/new.fits": 100}, already=3, already_bytes=300)
    tally = Tally(plan)
    assert (tally.total_bytes, tally.completed_bytes) == (100, 0)
    for name in ("a", "b", "c"):
        tally.apply(FileSkipped(_outcome(f"n/{name}.fits", "skipped", id_=7)))
    tally.apply(FileQueued(Path("n/new.fits"), 100))
    tally.apply(FileStarted(Path("n/new.fits"), 100))
    tally.apply(BytesSent(Path("n/new.fits"), 60, 60))
    assert (tally.total_bytes, tally.completed_bytes) == (100, 60)
    tally.apply(BytesSent(Path("n/new.fits"), 200, 260))  # multipart framing: more than the file
    assert tally.completed_bytes == 100
    tally.apply(FileFinished(_outcome("n/new.fits", "uploaded", id_=8)))
    summary = UploadSummary(outcomes=(), bytes_sent=260, elapsed=1.0)
    tally.apply(JobFinished(summary))
    assert (tally.total_bytes, tally.completed_bytes) == (100, 100)
    assert tally.counts_text() == "1 uploaded, 3 already uploaded, 0 failed, 0 unknown, 0 left"


def test_a_file_found_to_be_a_copy_leaves_the_total() -> None:
    """A file planned to be sent but settled without sending no longer counts toward the total."""
    plan = Plan(entries=2, to_send={"a.fits": 100, "b.fits": 50})
    tally = Tally(plan)
    tally.apply(FileSkipped(_outcome("b.fits", "skipped", size=50, id_=3)))
    assert tally.total_bytes == 100


def test_a_watched_file_handled_again_counts_once() -> None:
    """A file rewritten after its upload is uploaded again: one file, one count, not two."""
    tally = Tally(Plan(entries=2, to_send={"a.fits": 100, "b.fits": 100}))
    first = _outcome("a.fits", "uploaded", id_=1)
    tally.apply(FileFinished(first))
    tally.apply(FileFinished(_outcome("b.fits", "uploaded", id_=2)))
    again = UploadOutcome(Path("a.fits"), "uploaded", data_product_id=3, size=100, versions=(first,))
    tally.apply(FileFinished(again))
    assert tally.counts_text() == "2 uploaded, 0 already uploaded, 0 failed, 0 unknown, 0 left"
    tally.apply(FileHeld(Path("a.fits"), 100))  # touched: held, then its outcome announced again
    assert tally.known(again)
    tally.apply(FileSkipped(again))
    assert tally.counts_text() == "2 uploaded, 0 already uploaded, 0 failed, 0 unknown, 0 left"
    assert not tally.held


def test_cancelled_files_count_as_unknown_and_untried_ones_keep_the_bar_short() -> None:
    """After Ctrl-C: an upload cut short is 'unknown' (not 'failed'); untried bytes stay undone."""
    plan = Plan(entries=3, to_send={"a.fits": 100, "b.fits": 100, "c.fits": 100})
    tally = Tally(plan)
    tally.apply(FileStarted(Path("a.fits"), 100))
    tally.apply(BytesSent(Path("a.fits"), 40, 40))
    tally.apply(FileFinished(_outcome("a.fits", "unknown")))
    tally.apply(FileSkipped(_outcome("b.fits", "not_attempted")))
    tally.apply(FileSkipped(_outcome("c.fits", "not_attempted")))
    tally.apply(JobFinished(UploadSummary(outcomes=(), cancelled=True)))
    assert (
        tally.counts_text() == "0 uploaded, 0 already uploaded, 0 failed, 1 unknown, 2 not attempted, 0 left"
    )
    assert (tally.completed_bytes, tally.total_bytes) == (100, 300)


def test_labels_and_units_while_running_and_when_done() -> None:
    """Elapsed and ETA are labelled, the rate waits for data, and bytes are binary units only."""
    clock = Clock()
    tally = Tally(Plan(entries=1, to_send={"a.fits": 10 * MiB}), now=clock)
    tally.apply(FileStarted(Path("a.fits"), 10 * MiB))
    tally.apply(BytesSent(Path("a.fits"), MiB, MiB))
    assert tally.bytes_text(0.5) == "1.0 MiB of 10.0 MiB  rate -  elapsed 0:00:00  ETA -"
    for second in range(1, 5):
        clock.now = float(second)
        tally.apply(BytesSent(Path("a.fits"), MiB, MiB * (second + 1)))
    assert tally.bytes_text(4.0) == "5.0 MiB of 10.0 MiB  1.0 MiB/s  elapsed 0:00:04  ETA 0:00:05"
    tally.apply(FileFinished(_outcome("a.fits", "uploaded", size=10 * MiB, id_=1)))
    tally.apply(JobFinished(UploadSummary(outcomes=(_outcome("a.fits", "uploaded", 10 * MiB, 1),),
                                          bytes_sent=10 * MiB, elapsed=8.0)))  # fmt: skip
    assert tally.bytes_text(8.0) == "10.0 MiB of 10.0 MiB  avg 1.2 MiB/s  elapsed 0:00:08  done"


@pytest.mark.anyio
async def test_live_display_on_a_rerun_through_a_fake_terminal(emu: Emulator, tmp_path: Path) -> None:
    """Re-run with one new frame: the terminal shows that frame's bytes as the whole job, full at the end."""
    night = tmp_path / "night"
    night.mkdir()
    for i in range(3):
        (night / f"frame_{i}.fits").write_bytes(fits_bytes(i, size_blocks=4, mjd=60827.9 + i * 0.01))
    options = UploadOptions(target="Gaia22bpl", observatory=CAMERA)
    request = UploadRequest((night,), options, JobOptions(journal=str(tmp_path / "j.sqlite3"), settle_time=0))
    screen = io.StringIO()

    def report(plan: Plan, wait: bool, *, out: io.StringIO | None = None) -> JobReport:
        console = Console(file=out or io.StringIO(), force_terminal=True, width=160)
        return JobReport(plan, screen="live", console=console, wait=wait)

    async with Client(emu.tokens["alice"], base_url=emu.base_url, upload_url=emu.upload_url) as bh:
        first, _ = await run_job(bh, request, report)
        assert first.summary.counts["uploaded"] == 3
        (night / "frame_3.fits").write_bytes(fits_bytes(3, size_blocks=2))  # 5760 bytes
        result, seen = await run_job(bh, request, lambda plan, wait: report(plan, wait, out=screen))
    text = ANSI.sub("", screen.getvalue())
    assert result.summary.counts["uploaded"] == 1
    assert (seen.tally.total_bytes, seen.tally.completed_bytes) == (5760, 5760)
    assert "5.6 KiB of 5.6 KiB" in text  # the new frame only, complete
    assert "0 B of 5.6 KiB" in text  # ... and nothing counted before it was sent
    assert "elapsed 0:00:0" in text
    assert " done" in text
    assert "files     1 uploaded, 3 already uploaded, 0 failed, 0 unknown, 0 left" in text
    assert "4 files found: 1 to send (5.6 KiB), 3 already uploaded" in text
    assert not re.search(r"\d (kB|MB|GB)\b", text)  # one unit family: KiB, MiB, GiB
    assert "━" in text  # the bar itself


@pytest.mark.anyio
async def test_the_plan_follows_per_file_settings(emu: Emulator, tmp_path: Path) -> None:
    """Per-file settings: a file they leave out is not counted to send; the rest are, by their own key."""
    from bhtom_async.cli.plan import plan_job
    from bhtom_async.upload import SkipFile

    night = tmp_path / "night"
    night.mkdir()
    for i in range(3):
        (night / f"frame_{i}.fits").write_bytes(fits_bytes(i))
    options = UploadOptions(target="Gaia22bpl", observatory=CAMERA)
    job = JobOptions(journal=str(tmp_path / "j.sqlite3"), settle_time=0)
    settings = {"frame_2.fits": SkipFile("dark frame")}
    request = UploadRequest((night,), options, job, settings)
    async with Client(emu.tokens["alice"], base_url=emu.base_url, upload_url=emu.upload_url) as bh:
        result, _ = await run_job(bh, request, lambda plan, wait: JobReport(plan, screen="off", wait=wait))
    assert (result.summary.counts["uploaded"], result.summary.counts["skipped"]) == (2, 1)
    again = await plan_job([str(night)], options, job, settings)
    assert (again.entries, again.already, again.other, again.to_send) == (3, 2, 1, {})
    fresh = await plan_job([str(night)], options, job)  # without the settings: frame_2 is new
    assert list(fresh.to_send) == [str(night / "frame_2.fits")]


def test_a_watch_reports_its_night_in_status_lines_on_time() -> None:
    """--watch off a terminal: a status line every status_every seconds (not before) with frames
    seen (new ones too), uploaded, waiting to settle, calibrated and the last magnitude per filter."""
    from bhtom_async.models.calibration import CalibrationResult, CalibrationStatus
    from bhtom_async.upload.events import FileHeld

    clock = Clock()
    log = io.StringIO()
    plan = Plan(entries=1, to_send={"n/a.fits": 100})
    report = JobReport(
        plan, screen="off", log=log, wait=True, watching="watching n/", status_every=60, now=clock
    )
    report.start()
    report(FileQueued(Path("n/a.fits"), 100))
    report(FileFinished(_outcome("n/a.fits", "uploaded", id_=7)))
    clock.now = 30.0
    report(FileQueued(Path("n/b.fits"), 100))
    report(FileHeld(Path("n/b.fits"), 100))
    report.calibrated(CalibrationResult(7, CalibrationStatus.SUCCESS, magnitude=15.2134, filter="GaiaSP/V"))
    report.calibrated(CalibrationResult(9, CalibrationStatus.SUCCESS, magnitude=14.5, filter="GaiaSP/R"))
    report.tick()
    assert "status" not in log.getvalue()  # not due yet
    clock.now = 61.0
    report.tick()
    status = [line for line in log.getvalue().splitlines() if " status " in line]
    assert len(status) == 1
    assert status[0].endswith(
        "status        2 frames seen, 1 uploaded, 0 already uploaded, 1 waiting to settle, 0 failed, "
        "0 unknown, 2 calibrated; last GaiaSP/R 14.500, GaiaSP/V 15.213; newest frame 0:00:31 ago"
    )
    assert "watch         watching n/" in log.getvalue()


def test_a_watch_on_a_terminal_shows_its_night_line() -> None:
    """--watch on a terminal: the live display carries a `night` line with the watch's figures."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200)
    report = JobReport(Plan(entries=2, to_send={"n/a.fits": 100}, already=1), screen="live", console=console,
                       watching="watching n/")  # fmt: skip
    report.start()
    report(FileQueued(Path("n/a.fits"), 100))
    report(FileFinished(_outcome("n/a.fits", "uploaded", id_=7)))
    report.close()
    text = ANSI.sub("", out.getvalue())
    assert "night     2 frames seen, 1 uploaded, 0 already uploaded, 0 waiting to settle" in text
    assert "watch         watching n/" in text
