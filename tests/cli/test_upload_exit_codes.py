"""`bhtom upload` exit codes when the server misbehaves (emulator fault injection)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import Result

from bhtom_async import Client
from bhtom_async.cli import upload as cli_upload
from bhtom_async.cli.upload_summary import exit_for
from bhtom_async.testing import ManualClock

from ..conftest import fits_bytes
from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

Run = Callable[..., Result]
AsUser = Callable[[str], None]
CAMERA = "HarnessObs_HarnessCam"


@pytest.fixture(autouse=True)
def _no_real_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """`bhtom upload`'s client backs off on a ManualClock, so retries cost no wall time."""
    real = cli_upload.make_client

    def with_manual_clock(*args: Any, **options: Any) -> Client:
        return real(*args, clock=ManualClock(wall_start=time.time()), **options)

    monkeypatch.setattr(cli_upload, "make_client", with_manual_clock)


def _upload_night(run_cli: Run, tmp_path: Path, n: int = 3) -> Result:
    folder = tmp_path / "night"
    folder.mkdir()
    for i in range(n):
        (folder / f"frame_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    return run_cli(
        "--json", "upload", str(folder), "--target", "Gaia22bpl", "--observatory", CAMERA, "--min-age", "0"
    )


@pytest.mark.parametrize(
    ("faults", "counts", "code", "stored"),
    [
        # Two frames stored and one refused by every attempt (HTML 500): exit 1, never 0.
        ("upload:/upload/:error=500:after=2", (2, 1, 0), 1, 2),
        # A frame stored but unanswered, the look-up failing too: `unknown`, exit 4 (not 0 or 1);
        # the unanswered frame was stored all the same.
        (
            "upload:/upload/:reset_after_store:after=2:times=1;main:/common/api/data/:error=500",
            (2, 0, 1),
            4,
            3,
        ),
    ],
    ids=["failed-exits-1", "unknown-exits-4"],
)
def test_a_failed_or_unknown_file_sets_the_exit_code(
    run_cli: Run,
    as_user: AsUser,
    emu: Emulator,
    tmp_path: Path,
    faults: str,
    counts: tuple[int, int, int],
    code: int,
    stored: int,
) -> None:
    """A refused frame exits 1 and an unanswered one that cannot be looked up exits 4, never 0."""
    as_user("alice")
    emu.add_fault(faults)
    result = _upload_night(run_cli, tmp_path)
    report = parse_json(result.stdout)
    assert (report["counts"]["uploaded"], report["counts"]["failed"], report["counts"]["unknown"]) == counts
    assert result.exit_code == code, result.output
    assert len(emu.state.dataproducts()) == 1 + stored  # the seeded product and the stored frames


def test_upload_target_and_filter_from_headers(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path
) -> None:
    """`--target-from-header --filter-from-header`: each frame's own cards; frames lacking them are
    reported as skipped with the reason, and nothing is sent for them."""
    as_user("alice")
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good_0.fits").write_bytes(fits_bytes(0))
    (folder / "good_1.fits").write_bytes(fits_bytes(1, filt="Johnson V"))
    (folder / "halpha.fits").write_bytes(fits_bytes(2, filt="Halpha"))
    anonymous = bytearray(fits_bytes(3))
    start = anonymous.index(b"OBJECT  =")
    anonymous[start : start + 80] = b" " * 80
    (folder / "anonymous.fits").write_bytes(bytes(anonymous))
    args = ("--json", "upload", str(folder), "--observatory", CAMERA, "--min-age", "0")
    result = run_cli(*args, "--target-from-header", "--filter-from-header")
    assert result.exit_code == 0, result.output
    report = parse_json(result.stdout)
    assert (report["counts"]["uploaded"], report["counts"]["skipped"]) == (2, 2)
    reasons = {Path(f["path"]).name: f["reason"] for f in report["files"] if f["status"] == "skipped"}
    assert "no OBJECT card" in reasons["anonymous.fits"]
    assert "'Halpha'" in reasons["halpha.fits"]
    stored = {info.file_name: info.target for info in emu.state.dataproducts() if info.id in report["ids"]}
    assert stored == {"good_0.fits": "Gaia22bpl", "good_1.fits": "Gaia22bpl"}


@pytest.mark.parametrize(
    "flags",
    [
        (),
        ("--target", "Gaia22bpl", "--target-from-header"),
        ("--target", "Gaia22bpl", "--filter", "GaiaSP/V", "--filter-from-header"),
    ],
)
def test_upload_target_flags_are_exclusive(
    run_cli: Run, as_user: AsUser, tmp_path: Path, flags: tuple[str, ...]
) -> None:
    """A target must come from exactly one place, and so must a filter: else usage error (2)."""
    as_user("alice")
    (tmp_path / "f.fits").write_bytes(fits_bytes(0))
    result = run_cli("upload", str(tmp_path / "f.fits"), "--observatory", CAMERA, *flags)
    assert result.exit_code == 2
    assert "either" in result.stderr


def _args(folder: Path, *extra: str) -> tuple[str, ...]:
    return ("upload", str(folder), "--target", "Gaia22bpl", "--observatory", CAMERA, "--settle", "0", *extra)


def _frames(tmp_path: Path, n: int = 2) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(n):
        (folder / f"frame_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    return folder


def test_every_file_uploaded_exits_0_without_a_reason_line(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """Verdict ok: exit 0 and nothing on stderr."""
    as_user("alice")
    result = run_cli(*_args(_frames(tmp_path)))
    assert (result.exit_code, result.stderr) == (0, "")


def test_a_job_stopped_by_an_unknown_target_exits_3_with_the_summary(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """Verdict stopped: the summary, the error and its hint, then the exit line; exit 3."""
    as_user("alice")
    folder = _frames(tmp_path)
    result = run_cli(
        "upload", str(folder), "--target", "NoSuchStar", "--observatory", CAMERA, "--settle", "0"
    )
    assert result.exit_code == 3
    error, hint, exit_line = result.stderr.strip().splitlines()
    assert error.startswith("error: no target named 'NoSuchStar'")
    assert hint.startswith("hint: find it with `bhtom targets list --name NAME`")
    assert exit_line.startswith("exit 3 (stopped): the job was stopped: no target named 'NoSuchStar'")
    assert "2 not attempted" in result.stdout  # the checks before uploads refused: nothing sent


def test_files_still_being_written_make_the_job_incomplete_exit_5(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """Verdict incomplete: a file that never settles within --max-settle-wait is 'not ready'; exit 5."""
    as_user("alice")
    folder = _frames(tmp_path, 1)
    result = run_cli(
        "--json", "upload", str(folder), "--target", "Gaia22bpl", "--observatory", CAMERA,
        "--settle", "3600", "--max-settle-wait", "0.1",
    )  # fmt: skip
    report = parse_json(result.stdout)
    assert result.exit_code == 5
    assert (report["verdict"], report["counts"]["not_ready"], report["exit_code"]) == ("incomplete", 1, 5)
    assert report["reason"].startswith("1 not ready")
    assert result.stderr.startswith("exit 5 (incomplete): 1 not ready")


def test_nothing_to_upload_exits_6_unless_allow_empty(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """Verdict empty: exit 6 with a reason naming --allow-empty; with it, exit 0."""
    as_user("alice")
    empty = tmp_path / "quiet-night"
    empty.mkdir()
    (empty / "notes.txt").write_text("clouds all night\n")
    result = run_cli(*_args(empty))
    assert result.exit_code == 6
    assert result.stderr == (
        "exit 6 (empty): nothing to upload: no files of this type were found "
        "(pass --allow-empty where quiet nights are normal)\n"
    )
    assert run_cli(*_args(empty, "--allow-empty")).exit_code == 0


@pytest.mark.parametrize(
    ("option", "value"),
    [("--timeout", "nan"), ("--settle", "-5"), ("--min-age", "nan"), ("--file-timeout", "0"),
     ("--max-settle-wait", "inf"), ("--journal-wait", "-1"), ("--grace", "nan")],
)  # fmt: skip
def test_bad_durations_are_one_line_usage_errors(
    run_cli: Run, as_user: AsUser, tmp_path: Path, option: str, value: str
) -> None:
    """nan, inf, negative (or zero where it cannot be) durations: exit 2 and one line on stderr."""
    as_user("alice")
    result = run_cli(*_args(_frames(tmp_path, 1), option, value))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: Invalid value for '{option}'")
    assert line.endswith("(see `bhtom upload --help`)")


def test_a_journal_in_use_by_another_job_is_one_error_and_exit_3(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """JournalBusyError: `error:` naming the holder and a hint with CLI words; no traceback; exit 3."""
    import anyio

    from bhtom_async.upload.journal_sqlite import SqliteJournal

    as_user("alice")
    journal = SqliteJournal(tmp_path / "busy.sqlite3")
    anyio.run(journal.open)
    try:
        result = run_cli(*_args(_frames(tmp_path), "--journal", str(tmp_path / "busy.sqlite3")))
    finally:
        anyio.run(journal.aclose)
    assert result.exit_code == 3
    error, hint = result.stderr.strip().splitlines()
    assert error.startswith(f"error: upload journal {tmp_path / 'busy.sqlite3'} is in use by process ")
    assert (
        hint == "hint: let that job finish, wait for it with --journal-wait SECONDS, or use another --journal"
    )
    assert "Traceback" not in result.output


def test_a_damaged_journal_is_one_error_and_exit_3(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """A file that is not a journal: one error line and a hint, exit 3, nothing sent."""
    as_user("alice")
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    result = run_cli("--json", *_args(_frames(tmp_path), "--journal", str(bad)))
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0].endswith("it is not an upload journal (or it is damaged).")
    assert parse_json(result.stdout)["type"] == "JournalError"


def test_a_disk_full_mid_job_prints_the_json_summary_and_exits_3(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal cannot be written after the first file: the job stops, the JSON summary still comes."""
    import errno

    from bhtom_async.upload import journal_sqlite as journal_module

    as_user("alice")
    real_begin = journal_module.SqliteJournal.begin
    calls = 0

    async def begin(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise journal_module._journal_error(self.path, OSError(errno.ENOSPC, "No space left on device"))
        return await real_begin(self, *args, **kwargs)

    monkeypatch.setattr(journal_module.SqliteJournal, "begin", begin)
    # One upload at a time: the first file is sent before the second one's journal write fails.
    folder = _frames(tmp_path, 3)
    result = run_cli("--json", *_args(folder, "--journal", str(tmp_path / "j.sqlite3"), "--concurrency", "1"))
    report = parse_json(result.stdout)
    assert result.exit_code == 3
    assert (report["verdict"], report["exit_code"]) == ("stopped", 3)
    assert report["stopped"].endswith("the disk is full.")
    assert report["counts"]["uploaded"] == 1
    assert report["counts"]["uploaded"] + report["counts"]["not_attempted"] == 3
    assert len(emu.state.dataproducts()) == 1 + 1  # nothing sent without a journal row


@pytest.mark.parametrize(
    ("verdict_outcomes", "expected"),
    [
        ((("uploaded", 1),), 0),
        ((("uploaded", 1), ("failed", None)), 1),
        ((("uploaded", 1), ("unknown", None)), 4),
        ((("uploaded", 1), ("not_ready", None)), 5),
        ((("uploaded", 1), ("not_attempted", None)), 5),
        ((("ignored", None),), 6),
        ((("skipped", 3),), 0),
    ],
)
def test_exit_code_for_each_verdict(
    verdict_outcomes: tuple[tuple[str, int | None], ...], expected: int
) -> None:
    """The documented table: ok 0, failed 1, unknown 4, incomplete 5, empty 6 (already uploaded is ok)."""
    from bhtom_async.upload.events import UploadOutcome, UploadSummary

    outcomes = tuple(
        UploadOutcome(Path(f"f{i}.fits"), status, data_product_id=id_)  # type: ignore[arg-type]
        for i, (status, id_) in enumerate(verdict_outcomes)
    )
    code, reason = exit_for(UploadSummary(outcomes=outcomes))
    assert code == expected
    assert (reason is None) == (expected == 0)


def test_exit_codes_for_stopped_cancelled_and_allowed_empty() -> None:
    """stopped 3, SIGINT 130, SIGTERM 143, empty with --allow-empty 0."""
    import signal

    from bhtom_async.errors import TargetNotFoundError
    from bhtom_async.upload.events import UploadSummary

    stopped = UploadSummary(outcomes=(), stopped=TargetNotFoundError("X", method="POST", path="/upload/"))
    assert exit_for(stopped)[0] == 3
    cancelled = UploadSummary(outcomes=(), cancelled=True)
    assert exit_for(cancelled, signum=signal.SIGINT)[0] == 130
    assert exit_for(cancelled, signum=signal.SIGTERM)[0] == 143
    assert exit_for(UploadSummary(outcomes=()), allow_empty=True) == (0, None)
