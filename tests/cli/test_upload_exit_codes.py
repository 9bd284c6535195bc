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


def test_upload_with_a_failed_file_exits_1(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path
) -> None:
    """Two frames stored and one refused by every attempt (HTML 500): exit 1, never 0."""
    as_user("alice")
    emu.add_fault("upload:/upload/:error=500:after=2")
    result = _upload_night(run_cli, tmp_path)
    report = parse_json(result.stdout)
    assert (report["counts"]["uploaded"], report["counts"]["failed"], report["counts"]["unknown"]) == (
        2,
        1,
        0,
    )
    assert result.exit_code == 1, result.output
    assert len(emu.state.dataproducts()) == 1 + 2  # the seeded product and the two stored frames


def test_upload_with_an_unknown_outcome_exits_4(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path
) -> None:
    """A frame stored but unanswered, with the look-up failing too, is `unknown`: exit 4 (not 0 or 1)."""
    as_user("alice")
    emu.add_fault("upload:/upload/:reset_after_store:after=2:times=1;main:/common/api/data/:error=500")
    result = _upload_night(run_cli, tmp_path)
    report = parse_json(result.stdout)
    assert (report["counts"]["uploaded"], report["counts"]["failed"], report["counts"]["unknown"]) == (
        2,
        0,
        1,
    )
    assert result.exit_code == 4, result.output
    assert len(emu.state.dataproducts()) == 1 + 3  # the unanswered frame was stored all the same


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
