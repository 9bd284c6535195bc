"""Odd `--journal` paths get one true line each (issue 21 case 11), never "the disk is full",
"no such table" or a hang; nothing is sent."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from .test_upload_exit_codes import _args, _frames

Run = Callable[..., Result]
AsUser = Callable[[str], None]
POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/null are POSIX")


def test_an_empty_journal_path_is_a_usage_error(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """`--journal ""` would silently keep no record (or use another file): exit 2, one line naming it."""
    as_user("alice")
    result = run_cli(*_args(_frames(tmp_path), "--journal", ""))
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line == (
        "error: Invalid value for '--journal': the journal path is empty; give a file, or leave "
        "--journal out for the default journal (see `bhtom upload --help`)"
    )


@POSIX_ONLY
@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: (os.mkfifo(p), p)[1], "it is not a regular file (a FIFO)"),
        (lambda p: Path("/dev/null"), "it is not a regular file (a device)"),
        (lambda p: (p.write_text("x"), p / "j.sqlite3")[1], "its folder"),
    ],
    ids=["fifo", "dev-null", "under-a-file"],
)
def test_an_odd_journal_path_is_one_true_line_and_exit_3(
    run_cli: Run, as_user: AsUser, tmp_path: Path, make: Callable[[Path], Path], problem: str
) -> None:
    """A FIFO (hung forever), /dev/null ("no such table"), a folder, a path below a file: each says
    what is wrong with the path and what to do, exit 3, no traceback."""
    as_user("alice")
    journal = make(tmp_path / "odd")
    result = run_cli("--json", *_args(_frames(tmp_path), "--journal", str(journal)))
    assert result.exit_code == 3, result.output
    error, hint = result.stderr.strip().splitlines()
    assert error.startswith(f"error: upload journal {journal}: "), error
    assert problem in error, error
    assert hint == "hint: give a writable regular file with --journal (it is created if missing)", hint
    assert "Traceback" not in result.output


def test_a_folder_as_journal_is_a_usage_error(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """A folder given as the journal: exit 2 and one line saying so."""
    as_user("alice")
    result = run_cli(*_args(_frames(tmp_path), "--journal", str(tmp_path)))
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: Invalid value for '--journal'"), line
    assert "is a directory" in line, line
