"""End to end: nothing a run produces (output, logs, journal, results, errors) contains the token."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from bhtom_async.cli.main import cli

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator


def everything_under(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def test_upload_job_with_debug_logs_never_shows_the_token(
    emulator: Emulator,
    make_fits_tree: Callable[..., list[Path]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A debug-logged CLI upload + wait, and a refused run, never print or store either token."""
    good = emulator.tokens["alice"]
    bad = "badbadbadbadbadbadbadbadbadbadbadbad0000"
    frames = make_fits_tree(3)
    for frame in frames:
        os.utime(frame, (1_700_000_000, 1_700_000_000))
    journal = tmp_path / "state" / "night.sqlite3"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("BHTOM_LOG", "debug")
    monkeypatch.setenv("BHTOM_BASE_URL", emulator.base_url)
    monkeypatch.setenv("BHTOM_UPLOAD_URL", emulator.upload_url)
    runner = CliRunner()
    produced = []
    for token, expected_exit in ((good, 0), (bad, 3)):
        monkeypatch.setenv("BHTOM_TOKEN", token)
        for extra in ([], ["--json"]):
            result = runner.invoke(
                cli,
                [
                    "-v",
                    *extra,
                    "upload",
                    str(frames[0].parent),
                    "--target",
                    "Gaia22bpl",
                    "--observatory",
                    "HarnessObs_HarnessCam",
                    "--journal",
                    str(journal),
                    "--min-age",
                    "0",
                    "--wait",
                    "--poll-interval",
                    "0.05",
                ],
            )
            assert result.exit_code == expected_exit, result.output
            produced.append(result.stdout.encode() + result.stderr.encode())
        produced.append(runner.invoke(cli, ["-v", "whoami"]).output.encode())
        produced.append(runner.invoke(cli, ["--json", "config", "show"]).output.encode())
    produced.append(everything_under(tmp_path / "state"))
    assert journal.exists()
    blob = b"\n".join(produced)
    assert b"Gaia22bpl" in blob  # the run really produced output
    assert blob.count("POST /upload/ → 201".encode()) >= 3  # and its debug lines were captured
    for token in (good, bad):
        assert token.encode() not in blob
