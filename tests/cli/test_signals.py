"""Ctrl-C and SIGTERM during `bhtom upload` (a real subprocess, the emulator slowing uploads down).

The first signal starts no new uploads and lets those in flight finish within --grace; then
the summary is printed and the exit code is 130 (SIGINT) or 143 (SIGTERM). Past the grace time
the uploads still in flight are journaled unknown, and a re-run stores each frame exactly once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from click.testing import Result

from ..conftest import fits_bytes
from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

CAMERA = "HarnessObs_HarnessCam"
FRAMES = 6


def _night(tmp_path: Path) -> Path:
    folder = tmp_path / "night"
    folder.mkdir()
    for i in range(FRAMES):
        (folder / f"frame_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    return folder


def _read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    """Lines of stdout up to and including the first one containing `marker`."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} never came; stderr: {process.stderr.read() if process.stderr else ''}")


def _upload_args(night: Path, tmp_path: Path, *extra: str) -> list[str]:
    journal = str(tmp_path / "night.sqlite3")
    return ["upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA,
            "--settle", "0", "--concurrency", "2", "--journal", journal, *extra]  # fmt: skip


def test_sigint_lets_uploads_in_flight_finish_then_exits_130(
    bhtom: Callable[..., subprocess.Popen[str]], emu: Emulator, tmp_path: Path
) -> None:
    """Ctrl-C: what was in flight ends uploaded, nothing new starts, the summary follows, exit 130."""
    emu.add_fault("upload:/upload/:latency=1.0")
    process = bhtom(*_upload_args(_night(tmp_path), tmp_path, "--json-lines"))
    before = _read_until(process, '"event": "started"')
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    events = [json.loads(line) for line in before + out.splitlines()]
    started = [e["path"] for e in events if e["event"] == "started"]
    interrupted = next(e for e in events if e["event"] == "interrupted")
    summary = events[-1]
    assert process.returncode == 130, err
    assert interrupted["signal"] == "SIGINT"
    assert summary["event"] == "summary"
    assert (summary["interrupted"], summary["exit_code"], summary["verdict"]) == ("SIGINT", 130, "cancelled")
    counts = summary["counts"]
    assert counts["uploaded"] == len(started) >= 1
    assert (counts["unknown"], counts["not_attempted"]) == (0, FRAMES - len(started))
    assert len(emu.state.dataproducts()) == 1 + len(started)
    assert "exit 130 (cancelled): interrupted by SIGINT" in err


def test_sigterm_prints_the_json_document_and_exits_143(
    bhtom: Callable[..., subprocess.Popen[str]], emu: Emulator, tmp_path: Path
) -> None:
    """SIGTERM (cron's `timeout`) with --json: stdout is the summary document; exit 143."""
    emu.add_fault("upload:/upload/:latency=1.0")
    log = tmp_path / "night.log"
    process = bhtom("--json", *_upload_args(_night(tmp_path), tmp_path, "--log-file", str(log)))
    deadline = time.monotonic() + 20
    while "start " not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    time.sleep(0.3)  # the first upload is now in flight (each takes a second)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    report = parse_json(out)
    assert process.returncode == 143, err
    assert (report["interrupted"], report["exit_code"], report["cancelled"]) == ("SIGTERM", 143, True)
    assert report["counts"]["uploaded"] + report["counts"]["not_attempted"] == FRAMES
    assert report["counts"]["uploaded"] >= 1
    logged = log.read_text()
    assert "interrupted   by SIGTERM" in logged
    assert "exit          143 (cancelled)" in logged


def test_past_the_grace_time_uploads_are_unknown_and_a_rerun_stores_each_frame_once(
    bhtom: Callable[..., subprocess.Popen[str]],
    run_cli: Callable[..., Result],
    as_user: Callable[[str], None],
    emu: Emulator,
    tmp_path: Path,
) -> None:
    """A short --grace cuts slow uploads off (journaled unknown); the re-run settles them, no doubles."""
    emu.add_fault("upload:/upload/:latency=3.0")
    night = _night(tmp_path)
    process = bhtom(*_upload_args(night, tmp_path, "--json-lines", "--grace", "0.2"))
    _read_until(process, '"event": "started"')
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    summary = json.loads(out.splitlines()[-1])
    assert process.returncode == 143, err
    counts = summary["counts"]
    assert (counts["uploaded"], summary["verdict"]) == (0, "cancelled")
    assert counts["unknown"] >= 1
    # Every frame is accounted for: cut off (unknown), not attempted, or never reached.
    assert counts["unknown"] + counts["not_attempted"] + summary["unreached"] == FRAMES
    emu.clear_faults()
    as_user("alice")
    again = run_cli("--json", *_upload_args(night, tmp_path))
    assert again.exit_code == 0, again.output
    stored = [p.file_name for p in emu.state.dataproducts()[1:]]
    assert sorted(stored) == sorted(f"frame_{i}.fits" for i in range(FRAMES))
