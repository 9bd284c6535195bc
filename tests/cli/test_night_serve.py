"""`bhtom serve --journal` and `bhtom report` build the night from a journal and the server's results."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import httpx
import pytest
from click.testing import Result

from bhtom_async import Client
from bhtom_async.night import Night
from bhtom_async.testing import ManualClock

from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

CAMERA = "HarnessObs_HarnessCam"


def _uploaded_night(run_cli: Callable[..., Result], tmp_path: Path, frames: int = 3) -> Path:
    night = tmp_path / "night"
    night.mkdir()
    for i in range(frames):
        (night / f"f_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i / 100))
    journal = tmp_path / "j.sqlite3"
    result = run_cli("upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA,
                     "--journal", str(journal), "--wait", "--poll-interval", "0.1")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return journal


def test_serve_shows_a_journal_with_its_calibrations_and_metrics(
    run_cli: Callable[..., Result],
    as_user: Callable[[str], None],
    bhtom: Callable[..., subprocess.Popen[str]],
    emu: Emulator,
    tmp_path: Path,
) -> None:
    """`bhtom serve --journal` serves the journal's frames with their magnitudes; /metrics agrees."""
    as_user("alice")
    journal = _uploaded_night(run_cli, tmp_path)
    process = bhtom("serve", "--journal", str(journal), "--address", "127.0.0.1:0")
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("night page: http://127.0.0.1:"), line
    threading.Thread(target=process.stderr.read, daemon=True).start()
    url = line.removeprefix("night page: ").strip()
    night = httpx.get(url + "api/night", timeout=10).json()
    metrics = httpx.get(url + "metrics", timeout=10).text
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 130
    assert night["counts"]["calibrated"] == 3
    assert sorted(p["name"] for p in night["light_curve"]) == ["f_0.fits", "f_1.fits", "f_2.fits"]
    assert 'bhtom_calibrations_total{status="calibrated"} 3.0' in metrics
    assert emu.tokens["alice"] not in str(night) + metrics


def test_report_png_is_the_light_curve_alone(
    run_cli: Callable[..., Result], as_user: Callable[[str], None], emu: Emulator, tmp_path: Path
) -> None:
    """`--format png` writes a PNG image; `--no-results` reports the uploads without asking the server."""
    as_user("alice")
    journal = _uploaded_night(run_cli, tmp_path, frames=2)
    png = tmp_path / "lc.png"
    made = run_cli("report", "--journal", str(journal), "-o", str(png), "--format", "png")
    assert made.exit_code == 0, made.stderr
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    page = tmp_path / "night.html"
    offline = run_cli("report", "--journal", str(journal), "-o", str(page), "--no-results")
    assert "2 files, 0 calibrated, 0 light-curve points" in offline.stderr
    assert "f_0.fits" in page.read_text(encoding="utf-8")
    assert emu.tokens["alice"] not in page.read_text(encoding="utf-8")


def test_report_of_a_missing_journal_says_what_to_give(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    """A journal path that does not exist is a usage error naming the file."""
    result = run_cli("report", "--journal", str(tmp_path / "nope.sqlite3"), "-o", str(tmp_path / "x.html"))
    assert result.exit_code == 2
    assert "no journal at" in result.stderr


def test_an_unreachable_server_is_said_on_the_page(
    run_cli: Callable[..., Result], as_user: Callable[[str], None], emu: Emulator, tmp_path: Path
) -> None:
    """When the results cannot be fetched, the night says the server cannot be reached and keeps
    the uploads."""
    from bhtom_async.cli.serve import refresh

    as_user("alice")
    journal = _uploaded_night(run_cli, tmp_path, frames=1)

    async def main() -> Night:
        night = Night()
        dead = Client(
            "t0ken", base_url="http://127.0.0.1:9", upload_url="http://127.0.0.1:9", clock=ManualClock()
        )
        async with dead as bh:
            await refresh(night, journal, bh)
        return night

    night = anyio.run(main)
    assert night.counts()["uploaded"] == 1
    assert (night.stalled() or "").startswith("the BHTOM server cannot be reached")
    assert "t0ken" not in str(night.to_json())


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (("--serve", "0.0.0.0:0"), "reachable from other machines"),
        (("--serve", "nonsense"), "--serve needs HOST:PORT"),
        (("--serve-public",), "--serve-public: only with --serve"),
    ],
)
def test_serve_flags_that_cannot_work_are_usage_errors(
    run_cli: Callable[..., Result],
    as_user: Callable[[str], None],
    tmp_path: Path,
    flags: tuple[str, ...],
    said: str,
) -> None:
    """A public address without --serve-public, a bad address, --serve-public alone: exit 2, said why."""
    as_user("alice")
    (tmp_path / "night").mkdir()
    result = run_cli("upload", str(tmp_path / "night"), "--target", "T", "--observatory", CAMERA, *flags)
    assert result.exit_code == 2
    assert said in result.stderr
