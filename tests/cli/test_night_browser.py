"""The night page and the night report in a real headless Chromium, as an observer opens them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from click.testing import Result

from ..browser import chromium
from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

CAMERA = "HarnessObs_HarnessCam"
#: Set to a folder (docs) to keep the page's screenshot there (the README shows docs/night-page.png).
SCREENSHOT_DIR = os.environ.get("BHTOM_SCREENSHOT_DIR")


def _url_of(process: subprocess.Popen[str]) -> str:
    """The page's URL from the line `--serve` prints on stderr; later stderr is drained in a thread."""
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("night page: "):
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return line.removeprefix("night page: ").strip()
    raise AssertionError(f"bhtom ended without serving the page (exit {process.wait()})")


def _counts(page: Any) -> dict[str, int]:
    """The numbers on the page's count cards, read in one go."""
    script = (
        "return [...document.querySelectorAll('#counts .count')]"
        ".map(c => [c.dataset.state, c.firstChild.textContent])"
    )
    return {state: int(text) for state, text in page.execute_script(script)}


def _wait(page: Any, condition: Callable[[Any], bool], what: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(page, 20, poll_frequency=0.1).until(condition, message=what)


def test_the_live_page_shows_counts_and_points_growing_during_a_watched_night(
    bhtom: Callable[..., subprocess.Popen[str]], emu: Emulator, tmp_path: Path
) -> None:
    """During `bhtom upload --watch --wait --serve`, the page's counts and light curve grow as
    frames are written, uploaded and calibrated, and nothing is fetched from elsewhere."""
    night = tmp_path / "night"
    night.mkdir()
    for i in range(3):
        (night / f"early_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.90 + 0.01 * i))
    process = bhtom("upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA,
                    "--journal", str(tmp_path / "j.sqlite3"), "--settle", "0.3", "--watch", "--wait",
                    "--poll-interval", "0.2", "--serve", "127.0.0.1:0")  # fmt: skip
    url = _url_of(process)
    assert url.startswith("http://127.0.0.1:")
    assert emu.tokens["alice"] not in url
    with chromium() as page:
        page.get(url)  # type: ignore[attr-defined]
        _wait(page, lambda p: len(p.find_elements("css selector", "#points .pt")) == 3, "3 points")
        _wait(page, lambda p: _counts(p).get("calibrated") == 3, "3 calibrated")
        assert _counts(page)["seen_total"] == 3  # type: ignore[arg-type]
        for i in range(3, 5):
            (night / f"late_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.90 + 0.01 * i))
        _wait(page, lambda p: len(p.find_elements("css selector", "#points .pt")) == 5, "5 points")
        _wait(page, lambda p: _counts(p).get("calibrated") == 5, "5 calibrated")
        counts = _counts(page)  # type: ignore[arg-type]
        assert (counts["seen_total"], counts["failed"], counts["unknown"]) == (5, 0, 0)
        assert len(page.find_elements("css selector", "#newest")) == 1  # type: ignore[attr-defined]
        assert len(page.find_elements("css selector", "#recent tr")) == 5  # type: ignore[attr-defined]
        page_source = page.page_source  # type: ignore[attr-defined]
        assert emu.tokens["alice"] not in page_source
        origin = url.split("/?")[0].rstrip("/")
        fetched = page.execute_script(  # type: ignore[attr-defined]
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert all(name.startswith(origin) for name in fetched), fetched
        shot = tmp_path / "night-page.png"
        assert page.save_screenshot(str(shot))  # type: ignore[attr-defined]
    assert shot.stat().st_size > 10_000
    if SCREENSHOT_DIR:
        shutil.copy(shot, Path(SCREENSHOT_DIR) / "night-page.png")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) in (0, 143)


def test_the_report_renders_from_a_file_with_networking_off(
    run_cli: Callable[..., Result],
    as_user: Callable[[str], None],
    emu: Emulator,
    tmp_path: Path,
) -> None:
    """`bhtom report` writes one file that Chromium, with every network path blocked, shows with
    the light curve and the table (failures first)."""
    night = tmp_path / "night"
    night.mkdir()
    for i in range(4):
        (night / f"f_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.90 + 0.01 * i))
    frame = fits_bytes(9)  # a dark frame: the same header, every data value zero, so calibration fails
    (night / "dark.fits").write_bytes(frame[:2880] + bytes(len(frame) - 2880))
    journal = tmp_path / "j.sqlite3"
    as_user("alice")
    upload = run_cli("upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA,
                     "--journal", str(journal), "--wait", "--poll-interval", "0.1")  # fmt: skip
    assert upload.exit_code == 1, upload.stderr  # the dark frame's calibration ended in error
    out = tmp_path / "night.html"
    made = run_cli("report", "--journal", str(journal), "-o", str(out))
    assert made.exit_code == 0, made.stderr
    assert "5 files, 4 calibrated, 4 light-curve points" in made.stderr, upload.stdout + upload.stderr
    with chromium(offline=True) as page:
        page.get(out.as_uri())  # type: ignore[attr-defined]
        points = page.find_elements("css selector", "#light-curve .pt")  # type: ignore[attr-defined]
        assert len(points) == 4
        assert all(p.is_displayed() for p in points)
        rows = page.find_elements("css selector", "#files tbody tr")  # type: ignore[attr-defined]
        cells = [[td.text for td in row.find_elements("tag name", "td")] for row in rows]
        assert len(cells) == 5
        assert (cells[0][0], cells[0][2]) == ("dark.fits", "calib failed")
        assert "no signal" in cells[0][6]
        assert all(c[2] == "calibrated" and c[3] and c[5] for c in cells[1:])
        assert page.execute_script("return performance.getEntriesByType('resource').length") == 0  # type: ignore[attr-defined]
