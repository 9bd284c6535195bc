"""The night page in headless Chromium with a big night and a silent server (the night is fed here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from bhtom_async.models.calibration import CalibrationResult, CalibrationStatus
from bhtom_async.night import Night
from bhtom_async.upload.events import FileFinished, FileStarted, UploadOutcome
from bhtom_async.web import NightServer, serve_night

from ..browser import chromium

FRAMES = 5_000


class Wall:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


@contextmanager
def served(night: Night) -> Iterator[tuple[BlockingPortal, NightServer, Callable[[], None]]]:
    """Serve `night` from an event loop in a thread; `stop()` ends the server early."""
    with start_blocking_portal() as portal:
        manager = portal.wrap_async_context_manager(serve_night(night, "127.0.0.1", 0))
        server = manager.__enter__()
        stopped = False

        def stop() -> None:
            nonlocal stopped
            if not stopped:
                stopped = True
                manager.__exit__(None, None, None)

        try:
            yield portal, server, stop
        finally:
            stop()


def _wait(page: Any, condition: Callable[[Any], bool], what: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(page, 20, poll_frequency=0.1).until(condition, message=what)


def _count(page: Any, state: str) -> int:
    """The number on the page's card for `state` (-1 before the first event drew the cards)."""
    script = (
        "const b = document.querySelector(`[data-state='${arguments[0]}'] b`);return b ? b.textContent : '-1'"
    )
    return int(page.execute_script(script, state))


def _points(page: Any) -> int:
    return int(page.execute_script("return document.querySelectorAll('#points .pt').length"))


def test_a_night_of_5000_frames_is_shown_whole_and_then_updated_by_deltas() -> None:
    """5,000 calibrated frames: the page counts and plots them all, keeps its table short, and
    a new frame arrives as a delta (the page is not reloaded: its own marker survives)."""
    night = Night("big")
    for n in range(FRAMES):
        path = Path(f"/night/f{n:05d}.fits")
        night.feed(FileFinished(UploadOutcome(path, "uploaded", n + 1, size=10)))
        band = ("GaiaSP/V", "GaiaSP/R")[n % 2]
        magnitude, mjd = 15 + (n % 7) / 10, 60800 + n / 1e4
        night.feed(
            CalibrationResult(
                n + 1, CalibrationStatus.SUCCESS, magnitude=magnitude, error=0.02, filter=band, mjd=mjd
            )
        )
    with served(night) as (portal, server, _), chromium() as page:
        page.get(server.url)  # type: ignore[attr-defined]
        _wait(page, lambda p: _count(p, "calibrated") == FRAMES, "5000 calibrated")
        assert _points(page) == FRAMES
        assert len(page.find_elements("css selector", "#recent tr")) == 100  # type: ignore[attr-defined]
        page.execute_script("window.sameDocument = true")  # type: ignore[attr-defined]

        def one_more() -> None:
            night.feed(
                FileFinished(UploadOutcome(Path("/night/new.fits"), "failed", reason="refused: bad header"))
            )

        portal.call(one_more)
        _wait(page, lambda p: _count(p, "failed") == 1, "the failure counted")
        assert page.execute_script("return window.sameDocument") is True  # type: ignore[attr-defined]
        problems = page.find_elements("css selector", "#problems tr")  # type: ignore[attr-defined]
        assert [row.text for row in problems] == ["new.fits failed refused: bad header"]
        assert _count(page, "seen_total") == FRAMES + 1


def test_the_page_says_when_the_server_is_silent_and_when_its_own_connection_is_lost() -> None:
    """Uploads in flight with no answer for a minute: the page says so; the bhtom process gone:
    the page says that too instead of freezing on stale figures."""
    wall = Wall()
    night = Night("quiet", now=wall)
    with served(night) as (portal, server, stop), chromium() as page:
        portal.call(night.feed, FileStarted(Path("/night/a.fits"), 10))
        page.get(server.url)  # type: ignore[attr-defined]
        _wait(page, lambda p: _count(p, "sending") == 1, "one upload in flight")
        assert not page.find_element("id", "stalled").is_displayed()  # type: ignore[attr-defined]
        wall.t += 90  # the next heartbeat reads the night with a minute and a half of silence
        _wait(page, lambda p: p.find_element("id", "stalled").is_displayed(), "the silence said")
        assert "no answer from the BHTOM server for 90 s" in page.find_element("id", "stalled").text  # type: ignore[attr-defined]
        stop()
        _wait(page, lambda p: p.find_element("id", "lost").is_displayed(), "the lost connection said")
        assert page.find_element("id", "lost").text  # type: ignore[attr-defined]
