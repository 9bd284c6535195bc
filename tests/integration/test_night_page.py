"""The night page's server: `/api/night`, `/metrics` and the event stream agree with the job's summary."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bhtom_async import Client, JobOptions, PollOptions, UploadOptions, upload_and_calibrate
from bhtom_async.errors import InvalidInputError
from bhtom_async.night import Night
from bhtom_async.web import night_app, night_registry, serve_night

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

pytestmark = pytest.mark.anyio


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def get(url: str) -> httpx.Response:
    def fetch() -> httpx.Response:
        return httpx.get(url, timeout=5)

    return await anyio.to_thread.run_sync(fetch)


async def test_metrics_and_api_agree_with_the_summary(
    alice: Client, make_fits_tree: Callable[..., list[Path]], tmp_path: Path
) -> None:
    """After a night of 4 frames, /metrics and /api/night count what the job's summary says."""
    frames = make_fits_tree(4)
    night = Night("test")
    async with serve_night(night, "127.0.0.1", 0) as server:
        async with upload_and_calibrate(
            alice,
            frames[0].parent,
            UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam"),
            JobOptions(journal=tmp_path / "j.sqlite3"),
            PollOptions(interval=0.05, timeout=20),
            on_event=night.feed,
            on_round=night.feed,
        ) as job:
            async for result in job:
                night.feed(result)
        assert job.summary is not None
        metrics = samples((await get(server.url + "metrics")).text)
        api = (await get(server.url + "api/night")).json()
    summary = job.summary
    assert metrics[("bhtom_uploads_total", (("state", "uploaded"),))] == summary.counts["uploaded"] == 4
    assert metrics[("bhtom_uploads_total", (("state", "failed"),))] == summary.counts["failed"] == 0
    assert metrics[("bhtom_upload_bytes_total", ())] == summary.bytes_sent > 0
    assert metrics[("bhtom_calibrations_total", (("status", "calibrated"),))] == 4
    assert metrics[("bhtom_calibration_lag_seconds_count", ())] == 4
    assert sum(v for (name, _), v in metrics.items() if name == "bhtom_light_curve_points") == 4
    assert metrics[("bhtom_poll_rounds_total", (("result", "ok"),))] >= 1
    assert metrics[("bhtom_journal_write_seconds_count", (("operation", "begin"),))] == 4
    assert metrics[("bhtom_journal_write_seconds_count", (("operation", "finish"),))] == 4
    assert metrics[("bhtom_poll_rounds_total", (("result", "failed"),))] == 0
    assert metrics[("bhtom_poll_pending_ids", ())] == 0
    assert api["counts"]["calibrated"] == 4
    assert api["bytes_sent"] == summary.bytes_sent
    assert api["verdict"] == "ok"
    assert sorted(p["name"] for p in api["light_curve"]) == sorted(f.name for f in frames)
    assert all(isinstance(p["mag"], float) for p in api["light_curve"])


async def test_the_event_stream_sends_the_night_then_only_what_changed() -> None:
    """The first event is the whole night; a later change arrives as a delta naming only that frame."""
    from bhtom_async.upload.events import FileFinished, UploadOutcome

    night = Night()
    for n in range(30):
        night.feed(FileFinished(UploadOutcome(Path(f"/n/{n}.fits"), "uploaded", n + 1)))
    async with serve_night(night, "127.0.0.1", 0) as server:
        events: list[tuple[str, dict[str, object]]] = []

        def read() -> None:
            with httpx.stream("GET", server.url + "events", timeout=10) as response:
                kind = ""
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        events.append((kind, json.loads(line[6:])))
                        if kind == "delta":
                            return

        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, read)
            while not events:
                await anyio.sleep(0.01)
            night.feed(FileFinished(UploadOutcome(Path("/n/7.fits"), "failed", reason="refused")))
    (first, whole), (second, delta) = events[0], events[-1]
    assert (first, len(whole["frames"])) == ("full", 30)  # type: ignore[arg-type]
    assert second == "delta"
    assert [(f["name"], f["state"]) for f in delta["frames"]] == [("7.fits", "failed")]  # type: ignore[union-attr]


async def test_a_public_address_needs_the_flag() -> None:
    """Binding beyond loopback is refused without public=True (and nothing is bound)."""
    with pytest.raises(InvalidInputError, match="reachable from other machines"):
        async with serve_night(Night(), "0.0.0.0", 0):  # noqa: S104  # refused before binding
            pass


async def test_with_a_key_every_path_needs_it() -> None:
    """An app given a key answers 403 without it or with a wrong one, and serves with it."""
    app = night_app(Night(), key="s3cret-key")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        for path in ("/", "/api/night", "/metrics", "/events"):
            assert (await client.get(path)).status_code == 403
            assert (await client.get(path + "?key=wrong")).status_code == 403
        assert (await client.get("/api/night?key=s3cret-key")).json()["counts"]["seen_total"] == 0


async def test_request_timings_and_429_pauses_reach_the_metrics(
    emulator: Emulator,
    emulator_client: Callable[..., Client],
    make_fits_tree: Callable[..., list[Path]],
    tmp_path: Path,
) -> None:
    """A server answering 429 six times: /metrics counts every attempt by route and status, and the
    job's pauses with their seconds (the night's own figures); the client itself retries none."""
    from bhtom_async.emulator import FaultRule
    from bhtom_async.testing import ManualClock
    from bhtom_async.upload import Uploader

    frames = make_fits_tree(3)
    emulator.add_fault(FaultRule(kind="throttle", host="upload", path="/upload/", times=6, retry_after=2))
    night = Night()
    async with emulator_client("alice", clock=ManualClock(), on_request=night.feed) as bh:
        summary = await Uploader(
            bh,
            frames[0].parent,
            UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam"),
            JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0),
            on_event=night.feed,
        ).run()
    assert summary.counts["uploaded"] == 3
    metrics = samples(generate_latest(night_registry(night)).decode())
    route = ("route", "POST /upload/")
    assert metrics[("bhtom_request_duration_seconds_count", (route, ("status", "429")))] == 6
    assert metrics[("bhtom_request_duration_seconds_count", (route, ("status", "201")))] == 3
    # An upload's 429 is the job's to wait (within its budget): the client sends each request once,
    # and every 429 answer is one pause of the job (one may find the job already paused: 0 s more).
    assert metrics[("bhtom_request_retries_total", ())] == 0
    assert metrics[("bhtom_rate_limit_pauses_total", ())] == len(night.pauses) == 6
    assert metrics[("bhtom_rate_limit_pause_seconds_total", ())] == sum(night.pauses) >= 2.0
    assert metrics[("bhtom_uploads_total", (("state", "uploaded"),))] == 3


async def test_the_page_takes_connections_as_soon_as_its_url_is_known() -> None:
    """The URL is announced once the socket listens: a client connecting at once is not refused."""
    async with serve_night(Night(), "127.0.0.1", 0) as server:
        # No await since the server was yielded: its task has not run yet.
        with socket.create_connection((server.host, server.port), timeout=5):
            pass
        async with httpx.AsyncClient() as client:
            assert (await client.get(server.url + "api/night", timeout=10)).status_code == 200
