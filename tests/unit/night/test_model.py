"""`Night` folds the uploader's events and the poller's results into counts, frames and points."""

from __future__ import annotations

from pathlib import Path

import pytest

from bhtom_async.models.calibration import CalibrationResult, CalibrationStatus
from bhtom_async.night import Night
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
from bhtom_async.upload.journal import JournalKey, JournalRow


class Wall:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def ok(name: str, dp: int, **fields: object) -> CalibrationResult:
    values: dict[str, object] = {"magnitude": 15.2, "error": 0.02, "filter": "GaiaSP/V", "mjd": 60000.1}
    values.update(fields)
    return CalibrationResult(dp, CalibrationStatus.SUCCESS, filename=name, **values)  # type: ignore[arg-type]


def uploaded(path: str, dp: int, attempts: int = 1) -> FileFinished:
    return FileFinished(UploadOutcome(Path(path), "uploaded", dp, size=100, attempts=attempts))


def test_a_frame_goes_from_waiting_to_calibrated_and_becomes_a_point() -> None:
    """Held, sent, uploaded, calibrated: the counts follow, and the result is a light-curve point."""
    wall = Wall()
    night = Night("n", now=wall)
    night.feed(FileHeld(Path("/n/a.fits"), 100))
    assert night.counts()["waiting"] == 1
    night.feed(FileQueued(Path("/n/a.fits"), 100))
    night.feed(FileStarted(Path("/n/a.fits"), 100))
    night.feed(BytesSent(Path("/n/a.fits"), 100, 100))
    night.feed(uploaded("/n/a.fits", 7))
    assert (night.counts()["uploaded"], night.counts()["waiting"]) == (1, 0)
    wall.t += 12.5
    night.feed(ok("a.fits", 7))
    counts = night.counts()
    assert (counts["calibrated"], counts["uploaded"], counts["uploaded_total"]) == (1, 0, 1)
    assert [(p.name, p.filter, p.magnitude) for p in night.points] == [("a.fits", "GaiaSP/V", 15.2)]
    assert night.lag()["last"] == pytest.approx(12.5)
    assert night.bytes_sent == 100


def test_failures_and_calibration_errors_keep_their_reasons_and_come_first() -> None:
    """A refused upload and a failed calibration keep their reasons; the table puts them first."""
    night = Night()
    night.feed(uploaded("/n/b.fits", 8))
    night.feed(FileFinished(UploadOutcome(Path("/n/c.fits"), "failed", reason="bad FITS")))
    night.feed(CalibrationResult(8, CalibrationStatus.ERROR, status_message="no stars"))
    night.feed(FileSkipped(UploadOutcome(Path("/n/d.fits"), "skipped", 3, reason="already uploaded")))
    frames = night.problems_first()
    assert [(f.name, f.state, f.reason) for f in frames] == [
        ("c.fits", "failed", "bad FITS"),
        ("b.fits", "calib_failed", "no stars"),
        ("d.fits", "already_uploaded", "already uploaded"),
    ]
    assert night.points == []


def test_changes_since_carries_only_what_changed() -> None:
    """A page that has version v gets only the frames and points changed after it."""
    night = Night()
    for n in range(50):
        night.feed(uploaded(f"/n/{n}.fits", n + 1))
    version, seen = night.version, len(night.points)
    night.feed(ok("3.fits", 4))
    delta = night.changes_since(version, seen)
    assert [f["name"] for f in delta["frames"]] == ["3.fits"]  # type: ignore[union-attr]
    assert [p["id"] for p in delta["light_curve"]] == [4]  # type: ignore[union-attr]
    assert delta["counts"]["calibrated"] == 1  # type: ignore[index]


def test_limits_are_marked_and_errors_positive() -> None:
    """A negative error is the server's mark of an upper limit: the point says limit, error positive."""
    night = Night()
    night.feed(uploaded("/n/l.fits", 9))
    night.feed(ok("l.fits", 9, error=-1.0))
    assert night.points[0].limit
    assert night.points[0].error == 1.0
    assert night.to_json()["frames"][0]["limit"] is True  # type: ignore[index]


def test_a_silent_server_is_said_after_a_minute_of_uploads_in_flight() -> None:
    """Uploads in flight and no answer for a minute: the night says the server is quiet."""
    wall = Wall()
    night = Night(now=wall)
    night.feed(FileStarted(Path("/n/a.fits"), 1))
    wall.t += 59
    assert night.stalled() is None
    wall.t += 2
    assert night.stalled() == "no answer from the BHTOM server for 61 s (1 uploads waiting)"
    night.feed(uploaded("/n/a.fits", 1))
    assert night.stalled() is None


def test_the_summary_gives_the_verdict_and_bytes() -> None:
    """JobFinished closes the night with the job's verdict and byte count."""
    night = Night()
    outcome = UploadOutcome(Path("/n/a.fits"), "uploaded", 1)
    night.feed(JobFinished(UploadSummary((outcome,), bytes_sent=321)))
    assert (night.header()["verdict"], night.bytes_sent) == ("ok", 321)


def row(id_: int, path: str, state: str, dp: int | None, reason: str | None = None) -> JournalRow:
    key = JournalKey("T", "O", "fits_file")
    return JournalRow(
        id_,
        key,
        path,
        Path(path).name,
        10,
        0,
        None,
        state,
        dp,
        reason,
        1,
        5.0,  # type: ignore[arg-type]
    )


def test_a_night_from_journal_rows_takes_the_latest_row_per_path() -> None:
    """Journal rows become frames; a later row of the same path wins; results then attach by id."""
    night = Night()
    night.merge_rows(
        [
            row(2, "/n/a.fits", "uploaded", 11),
            row(1, "/n/a.fits", "failed", None, "timeout"),
            row(3, "/n/b.fits", "unknown", None, "answer lost"),
        ]
    )
    assert {f.name: f.state for f in night.frames.values()} == {"a.fits": "uploaded", "b.fits": "unknown"}
    night.feed(ok("a.fits", 11))
    version = night.version
    night.merge_rows([row(2, "/n/a.fits", "uploaded", 11)])  # a re-read: nothing new
    assert night.version == version
    assert night.counts()["calibrated"] == 1


def test_failing_poll_rounds_are_said_until_one_succeeds() -> None:
    """Rounds of the poller that fail (server unreachable) are said on the night; a good round clears it."""
    from bhtom_async.poll import PollRound

    night = Night()
    night.feed(PollRound(asked=3, finished=0, pending=3, failed=True))
    night.feed(PollRound(asked=3, finished=0, pending=3, failed=True))
    assert night.stalled() == (
        "the BHTOM server is not answering the calibration poller (2 rounds in a row failed; it keeps trying)"
    )
    night.feed(PollRound(asked=3, finished=1, pending=2))
    assert night.stalled() is None
    assert (night.poll_rounds, night.poll_rounds_failed, night.poll_pending) == (3, 2, 2)
