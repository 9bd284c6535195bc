"""Output made for cron: timestamped plain lines off a terminal, --log-file, -q, --json-lines."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from click.testing import Result

from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

Run = Callable[..., Result]
AsUser = Callable[[str], None]
CAMERA = "HarnessObs_HarnessCam"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ")
BOX_DRAWING = re.compile("[\u2500-\u257f]")


def _night(tmp_path: Path, n: int = 3) -> Path:
    folder = tmp_path / "night"
    folder.mkdir(exist_ok=True)
    for i in range(n):
        (folder / f"frame_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    return folder


def _args(night: Path, tmp_path: Path, *extra: str) -> tuple[str, ...]:
    return ("upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA, "--settle", "0",
            "--journal", str(tmp_path / "j.sqlite3"), *extra)  # fmt: skip


def test_every_line_off_a_terminal_is_timestamped_and_has_no_box_drawing(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """A pipe gets one stamped line per event and for the summary: no box table, no control codes."""
    as_user("alice")
    result = run_cli(*_args(_night(tmp_path), tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 3 + 2  # start, three files, two summary lines
    assert all(STAMP.match(line) for line in lines), lines
    assert not BOX_DRAWING.search(result.stdout)
    assert "\x1b[" not in result.stdout
    words = [line.split()[1:3] for line in lines]
    assert words[0] == ["start", "3"]
    assert sorted(w for w in words if w[0].startswith("[")) == [[f"[{i}/3]", "uploaded"] for i in (1, 2, 3)]


def test_tables_off_a_terminal_are_plain_columns(run_cli: Run, as_user: AsUser) -> None:
    """`targets list` into a pipe: a header, a dashed rule and rows; no box drawing."""
    as_user("alice")
    result = run_cli("targets", "list")
    assert result.exit_code == 0, result.output
    header, rule, *rows = result.stdout.splitlines()
    assert header.split()[:3] == ["name", "ra", "dec"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert any(row.startswith("Gaia22bpl ") for row in rows)
    assert not BOX_DRAWING.search(result.stdout)


def test_quiet_prints_only_the_summary_and_the_log_file_keeps_everything(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """`-q --log-file`: stdout holds the summary only; the log holds every event, the summary, the exit."""
    as_user("alice")
    log = tmp_path / "night.log"
    log.write_text("2026-11-23T03:00:00+00:00 an earlier night\n")
    result = run_cli(*_args(_night(tmp_path), tmp_path, "-q", "--log-file", str(log)))
    assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["summary", "summary"]
    logged = log.read_text().splitlines()
    assert logged[0] == "2026-11-23T03:00:00+00:00 an earlier night"  # appended, not replaced
    assert all(STAMP.match(line) for line in logged)
    words = [line.split()[1] for line in logged[1:]]
    assert words == ["start", "[1/3]", "[2/3]", "[3/3]", "summary", "summary", "exit"]
    assert logged[-1].endswith("exit          0 (ok)")
    assert not BOX_DRAWING.search(log.read_text())


def test_quiet_still_shows_the_reason_for_a_failure(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path, no_backoff: None
) -> None:
    """With -q a failed file is named in the summary and the exit line says why (exit 1)."""
    as_user("alice")
    emu.add_fault("upload:/upload/:error=500:after=2")
    result = run_cli(*_args(_night(tmp_path), tmp_path, "-q", "--max-attempts", "1"))
    assert result.exit_code == 1
    assert any(" failed " in line and "frame_" in line for line in result.stdout.splitlines())
    assert result.stderr.strip().splitlines()[-1] == "exit 1 (failed): 1 file failed (reasons above)"


def test_json_lines_stream_one_event_per_line_with_the_documented_fields(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """`--json-lines --wait`: start, queued/started/uploaded per file, calibrated, summary last."""
    as_user("alice")
    night = _night(tmp_path, n=2)
    result = run_cli(
        *_args(night, tmp_path, "--json-lines", "--wait", "--poll-interval", "0.1", "--timeout", "20")
    )
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    for event in events:
        assert dt.datetime.fromisoformat(event["time"]).tzinfo is not None
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start"
    assert kinds[-1] == "summary"
    assert sorted(kinds[1:-1]) == sorted(["queued", "started", "uploaded", "calibrated"] * 2)
    start, summary = events[0], events[-1]
    assert (start["files"], start["to_send"], start["already_uploaded"]) == (2, 2, 0)
    uploaded = {e["path"]: e["data_product_id"] for e in events if e["event"] == "uploaded"}
    calibrated = {e["path"]: e for e in events if e["event"] == "calibrated"}
    assert set(uploaded) == set(calibrated) == {str(night / "frame_0.fits"), str(night / "frame_1.fits")}
    for path, event in calibrated.items():
        assert (event["dataproduct_id"], event["status"]) == (uploaded[path], "success")
        assert event["magnitude"] is not None
    assert (summary["verdict"], summary["exit_code"], summary["reason"]) == ("ok", 0, None)
    assert sorted(summary["ids"]) == sorted(uploaded.values())
    assert [r["status"] for r in summary["results"]] == ["success", "success"]


def test_json_lines_on_a_rerun_report_skips_and_already_uploaded(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """The second run's events are `skipped` (with the id) and the start event counts them."""
    as_user("alice")
    night = _night(tmp_path, n=2)
    assert run_cli(*_args(night, tmp_path)).exit_code == 0
    events = [
        json.loads(line) for line in run_cli(*_args(night, tmp_path, "-o", "jsonl")).stdout.splitlines()
    ]
    assert [e["event"] for e in events] == ["start", "skipped", "skipped", "summary"]
    assert (events[0]["to_send"], events[0]["bytes_to_send"], events[0]["already_uploaded"]) == (0, 0, 2)
    assert all(e["data_product_id"] is not None for e in events[1:3])
    assert events[-1]["already_uploaded"] == 2


def test_the_log_file_and_the_journal_a_run_creates_are_private(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """A new --log-file and a new journal (and its -wal/-shm) are 0600: they name every target and folder."""
    as_user("alice")
    log = tmp_path / "night.log"
    result = run_cli(*_args(_night(tmp_path), tmp_path, "-q", "--log-file", str(log)))
    assert result.exit_code == 0, result.output
    journal = tmp_path / "j.sqlite3"
    made = [log, journal, *(p for p in tmp_path.iterdir() if p.name.startswith("j.sqlite3-"))]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in made} == {p.name: "0o600" for p in made}


def test_a_name_that_is_not_utf8_is_escaped_in_text_and_stays_valid_json(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """`bad<0xff>.fits` prints as `bad\\xff.fits` on stdout, stderr and in the log file (valid
    UTF-8 for cron mail and log shippers); the JSON document stays valid and names it too."""
    as_user("alice")
    night = _night(tmp_path, 1)
    with open(bytes(night) + b"/bad\xff.fits", "wb") as handle:
        handle.write(fits_bytes(9))
    log = tmp_path / "night.log"
    result = run_cli(*_args(night, tmp_path, "--log-file", str(log)))
    assert result.exit_code == 1
    for text in (result.stdout_bytes, result.stderr_bytes, log.read_bytes()):
        decoded = text.decode("utf-8")  # strict: raw bytes would raise
        assert "\udcff" not in decoded
    assert "bad\\xff.fits" in result.stdout
    assert "bad\\xff.fits" in log.read_text(encoding="utf-8")
    machine = run_cli(*_args(night, tmp_path, "-o", "json"))
    document = json.loads(machine.stdout_bytes.decode("utf-8"))
    (failed,) = [f for f in document["files"] if f["status"] == "failed"]
    assert failed["path"].endswith("bad\udcff.fits")  # the name as the OS gives it, JSON-escaped
