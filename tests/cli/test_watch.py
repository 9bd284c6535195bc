"""`bhtom upload --watch`: a night's folder watched live, ended by --until, --idle-exit or a signal."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import Result

from ..conftest import fits_bytes
from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

Run = Callable[..., Result]
AsUser = Callable[[str], None]
CAMERA = "HarnessObs_HarnessCam"


def _args(night: Path, journal: Path, *extra: str) -> tuple[str, ...]:
    return ("upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA,
            "--journal", str(journal), "--settle", "0.3", *extra)  # fmt: skip


def _night(tmp_path: Path, frames: int) -> Path:
    night = tmp_path / "night"
    night.mkdir()
    for i in range(frames):
        (night / f"early_{i}.fits").write_bytes(fits_bytes(i))
    return night


def _write_slowly(path: Path, data: bytes, pieces: int = 4, pause: float = 0.1) -> None:
    step = -(-len(data) // pieces)
    with path.open("wb") as out:
        for start in range(0, len(data), step):
            out.write(data[start : start + step])
            out.flush()
            time.sleep(pause)


def _stored(emu: Emulator) -> list[tuple[str, int]]:
    frames = [p for p in emu.state.dataproducts() if p.file_name.startswith(("early_", "late_"))]
    return sorted((p.file_name, p.size) for p in frames)


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_watch_sends_new_frames_once_settled_and_ends_after_idle_exit(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path
) -> None:
    """Frames already there and frames written in pieces during the watch are each stored once,
    whole; --idle-exit ends the watch with status lines, the reason and exit 0."""
    as_user("alice")
    night = _night(tmp_path, 2)
    late = {f"late_{i}.fits": fits_bytes(10 + i) for i in range(2)}

    def camera() -> None:
        time.sleep(0.5)
        for name, data in late.items():
            _write_slowly(night / name, data)

    writer = threading.Thread(target=camera)
    writer.start()
    flags = ("--watch", "--idle-exit", "1.5s", "--status-every", "0.5", "--json-lines")
    result = run_cli(*_args(night, tmp_path / "j.sqlite3", *flags))
    writer.join()
    events = _json_lines(result.stdout)
    summary = events[-1]
    assert result.exit_code == 0, result.output
    assert summary["event"] == "summary"
    assert summary["counts"]["uploaded"] == 4
    assert "--idle-exit" in summary["watch_ended"]
    assert [e["event"] for e in events[:2]] == ["start", "watch"]
    assert any(e["event"] == "status" and e["seen"] == 4 for e in events)
    sizes = {f"early_{i}.fits": len(fits_bytes(i)) for i in range(2)} | {n: len(d) for n, d in late.items()}
    assert _stored(emu) == sorted(sizes.items())


def test_watch_ends_at_until_with_the_summary(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path
) -> None:
    """--until as an ISO time ends the watch then; the JSON summary says so; exit 0."""
    as_user("alice")
    night = _night(tmp_path, 1)
    until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1.5)).isoformat(timespec="seconds")
    started = time.monotonic()
    result = run_cli("--json", *_args(night, tmp_path / "j.sqlite3", "--watch", "--until", until))
    report = parse_json(result.stdout)
    assert result.exit_code == 0, result.output
    assert report["watch_ended"].startswith("--until ")
    assert report["counts"]["uploaded"] == 1
    assert time.monotonic() - started < 10


def test_a_watch_that_saw_no_frame_says_nothing_was_found(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path
) -> None:
    """An empty night (the camera wrote nothing before --idle-exit) exits 6, like a one-shot run."""
    as_user("alice")
    night = _night(tmp_path, 0)
    result = run_cli(*_args(night, tmp_path / "j.sqlite3", "--watch", "--idle-exit", "0.5"))
    assert result.exit_code == 6
    assert "nothing to upload" in result.stderr


def test_check_server_under_a_fresh_journal_sends_nothing(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path
) -> None:
    """A night uploaded before, re-run under a new journal with --check-server: every file is
    reported as already on the server, nothing is sent, and it costs at most two listings."""
    as_user("alice")
    night = _night(tmp_path, 5)
    first = run_cli("--json", *_args(night, tmp_path / "one.sqlite3"))
    assert parse_json(first.stdout)["counts"]["uploaded"] == 5
    uploads = emu.state.request_count("POST", "/upload/")
    listings = emu.state.request_count("POST", "/common/api/data/")
    again = run_cli("--json", *_args(night, tmp_path / "two.sqlite3", "--check-server"))
    report = parse_json(again.stdout)
    assert again.exit_code == 0, again.output
    assert [f["status"] for f in report["files"]] == ["skipped"] * 5
    assert all(f["reason"].startswith("already on the server (id ") for f in report["files"])
    assert emu.state.request_count("POST", "/upload/") == uploads
    assert emu.state.request_count("POST", "/common/api/data/") - listings <= 2


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--until", "06:30"), "--until: only with --watch"),
        (("--idle-exit", "30m", "--force-polling"), "--idle-exit and --force-polling: only with --watch"),
        (("--watch", "--until", "25:61"), "is not a time"),
        (("--watch", "--idle-exit", "5 minutes"), "is not a duration"),
        (("--watch", "--until", "2001-01-01T00:00"), "--until is already past"),
    ],
)
def test_watch_options_are_checked_before_anything_runs(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path, flags: tuple[str, ...], message: str
) -> None:
    """A watch option without --watch, or a time or duration that is not one: usage error (2)."""
    as_user("alice")
    night = _night(tmp_path, 1)
    result = run_cli(*_args(night, tmp_path / "j.sqlite3", *flags))
    assert result.exit_code == 2
    assert message in result.stderr
    assert emu.state.request_count("POST", "/upload/") == 0


def test_watch_needs_a_folder(run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path) -> None:
    """--watch given only files is a usage error that says a folder is needed."""
    as_user("alice")
    frame = _night(tmp_path, 1) / "early_0.fits"
    result = run_cli(*_args(frame, tmp_path / "j.sqlite3", "--watch"))
    assert result.exit_code == 2
    assert "--watch needs a folder" in result.stderr


# ---- signals (a real process) -------------------------------------------------------------------


def _wait_for_uploads(emu: Emulator, count: int) -> None:
    deadline = time.monotonic() + 20
    while emu.state.request_count("POST", "/upload/") < count:
        assert time.monotonic() < deadline, "the watch never started uploading"
        time.sleep(0.05)


def test_sigterm_ends_a_watch_with_the_summary_and_143(
    bhtom: Callable[..., subprocess.Popen[str]], emu: Emulator, tmp_path: Path
) -> None:
    """SIGTERM during a watch: the upload in flight finishes, the summary is printed, exit 143;
    a one-shot re-run with the journal sends only what the watch had not."""
    emu.add_fault("upload:/upload/:latency=0.5")
    night = _night(tmp_path, 3)
    journal = tmp_path / "j.sqlite3"
    process = bhtom(*_args(night, journal, "--watch", "--json-lines", "--concurrency", "1"))
    _wait_for_uploads(emu, 1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    summary = _json_lines(out)[-1]
    assert process.returncode == 143, err
    assert (summary["event"], summary["interrupted"], summary["watch_ended"]) == ("summary", "SIGTERM", None)
    sent = summary["counts"]["uploaded"]
    assert sent >= 1
    assert summary["counts"]["not_attempted"] == 3 - sent
    emu.clear_faults()
    rerun = bhtom("--json", *_args(night, journal))
    out, err = rerun.communicate(timeout=30)
    assert rerun.returncode == 0, err
    assert parse_json(out)["counts"]["uploaded"] == 3 - sent
    assert [name for name, _ in _stored(emu)] == [f"early_{i}.fits" for i in range(3)]


def test_a_watch_killed_with_sigkill_then_rerun_stores_nothing_twice(
    bhtom: Callable[..., subprocess.Popen[str]], emu: Emulator, tmp_path: Path
) -> None:
    """kill -9 while uploads are in flight, then a watch re-run on the same journal: each frame
    is stored exactly once (the lost answers are reconciled, not re-sent)."""
    emu.add_fault("upload:/upload/:latency=0.5")
    night = _night(tmp_path, 6)
    journal = tmp_path / "j.sqlite3"
    process = bhtom(*_args(night, journal, "--watch", "--concurrency", "3"))
    _wait_for_uploads(emu, 4)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    emu.clear_faults()
    rerun = bhtom("--json", *_args(night, journal, "--watch", "--idle-exit", "1"))
    out, err = rerun.communicate(timeout=60)
    report = parse_json(out)
    assert rerun.returncode == 0, err
    assert report["counts"]["uploaded"] + report["counts"]["skipped"] == 6
    assert [name for name, _ in _stored(emu)] == [f"early_{i}.fits" for i in range(6)]
