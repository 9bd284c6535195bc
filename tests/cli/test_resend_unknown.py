"""`--resend-unknown` (issue 21 case 4): an unknown no re-run can resolve says so, and the flag sends it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from ..conftest import fits_bytes
from .test_upload_exit_codes import _args

Run = Callable[..., Result]
AsUser = Callable[[str], None]


def test_unknowns_no_rerun_can_resolve_say_so_and_resend_unknown_sends_them(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """Two stored img.fits could be this frame (its time is older than both): exit 4 whose reason
    says no re-run resolves it and names --resend-unknown; with the flag it is sent, exit 0."""
    as_user("alice")
    for seed in (1, 2):
        other = tmp_path / f"older{seed}" / "img.fits"
        other.parent.mkdir()
        other.write_bytes(fits_bytes(seed))
        assert run_cli(*_args(other.parent, "--journal", str(tmp_path / f"o{seed}.sqlite3"))).exit_code == 0
    night = tmp_path / "night"
    night.mkdir()
    frame = night / "img.fits"
    frame.write_bytes(fits_bytes(3))
    old = time.time() - 2 * 86400
    os.utime(frame, (old, old))
    fresh = ("--journal", str(tmp_path / "fresh.sqlite3"), "--check-server")
    result = run_cli(*_args(night, *fresh))
    assert result.exit_code == 4, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "exit 4 (unknown): 1 file with an unknown outcome that no re-run can resolve (several stored "
        "products could be each; ids above): check them on the server, then run again with "
        "--resend-unknown to send them"
    )
    assert run_cli(*_args(night, *fresh, "--resend-unknown")).exit_code == 0
