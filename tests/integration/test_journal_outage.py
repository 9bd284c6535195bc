"""PostgreSQL unreachable mid-night: a short outage is a pause; a long one stops the job with one
line, and the next run reconciles what was in flight. Checked in the emulator's state."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import anyio.to_thread
import psycopg
import pytest

from bhtom_async import Client, JobOptions, UploadOptions, UploadSummary
from bhtom_async.emulator import Emulator
from bhtom_async.errors import JournalError
from bhtom_async.upload import Uploader
from bhtom_async.upload.journal_url import split_options

from ..conftest import fits_bytes

pytestmark = pytest.mark.anyio
CAMERA = "HarnessObs_HarnessCam"
FRAMES = 12


def _admin(url: str, statement: str) -> None:
    """Run `statement` on the maintenance database of `url`'s server."""
    conninfo = split_options(url)[0]
    database = psycopg.conninfo.conninfo_to_dict(conninfo)["dbname"]
    with psycopg.connect(conninfo.replace(f"/{database}?", "/postgres?"), autocommit=True) as conn:
        conn.execute(statement.format(db=database))


def _outage(url: str) -> None:
    """The journal's database refuses connections and loses those it had (a server going down)."""
    _admin(url, "ALTER DATABASE {db} ALLOW_CONNECTIONS false")
    _admin(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'")


def _night(tmp_path: Path) -> Path:
    folder = tmp_path / "night"
    folder.mkdir()
    for i in range(FRAMES):
        (folder / f"f{i:02d}.fits").write_bytes(fits_bytes(i))
    return folder


def _stored_once(emulator: Emulator, folder: Path) -> None:
    for frame in folder.iterdir():
        digest = hashlib.sha256(frame.read_bytes()).hexdigest()
        assert len([p for p in emulator.state.dataproducts_by_sha256(digest) if not p.dry_run]) == 1, frame


async def _upload_during(
    emulator: Emulator, folder: Path, journal: str, outage: float | None
) -> UploadSummary:
    """Upload `folder`; once two frames are stored, cut the database off for `outage` s (None: for good)."""
    options = UploadOptions(target="Gaia22bpl", observatory=CAMERA)
    job = JobOptions(journal=journal, settle_time=0, concurrency=2)
    result: list[UploadSummary] = []
    async with Client(
        emulator.tokens["alice"], base_url=emulator.base_url, upload_url=emulator.upload_url
    ) as bh:

        async def upload() -> None:
            result.append(await Uploader(bh, folder, options, job).run())

        async with anyio.create_task_group() as tg:
            tg.start_soon(upload)
            while len(emulator.state.dataproducts()) < 3 and not result:
                await anyio.sleep(0.01)
            await anyio.to_thread.run_sync(_outage, journal)
            if outage is not None:
                await anyio.sleep(outage)
                await anyio.to_thread.run_sync(_admin, journal, "ALTER DATABASE {db} ALLOW_CONNECTIONS true")
    return result[0]


async def test_a_short_outage_is_a_pause(emulator: Emulator, pg_url: str, tmp_path: Path) -> None:
    """The database is gone 1 s mid-night: the job waits for it and finishes every frame once."""
    emulator.add_fault("upload:/upload/:latency=0.1")
    folder = _night(tmp_path)
    summary = await _upload_during(emulator, folder, pg_url + "&lease=2", outage=1.0)
    assert summary.counts["uploaded"] == FRAMES, summary
    _stored_once(emulator, folder)


async def test_a_long_outage_stops_the_job_and_the_next_run_reconciles(
    emulator: Emulator, pg_url: str, tmp_path: Path
) -> None:
    """Past `reconnect` seconds the job stops with one line; the next run settles the whole night."""
    emulator.add_fault("upload:/upload/:latency=0.1")
    folder = _night(tmp_path)
    journal = pg_url + "&lease=1&reconnect=0.5"
    stopped = await _upload_during(emulator, folder, journal, outage=None)
    assert isinstance(stopped.stopped, JournalError)
    assert "PostgreSQL cannot be reached" in stopped.stopped.headline
    assert stopped.counts["uploaded"] < FRAMES
    _admin(journal, "ALTER DATABASE {db} ALLOW_CONNECTIONS true")
    async with Client(
        emulator.tokens["alice"], base_url=emulator.base_url, upload_url=emulator.upload_url
    ) as bh:
        options = UploadOptions(target="Gaia22bpl", observatory=CAMERA)
        again = await Uploader(bh, folder, options, JobOptions(journal=journal, settle_time=0)).run()
    assert again.stopped is None
    assert again.counts["uploaded"] + again.counts["skipped"] == FRAMES, again
    assert all(o.data_product_id is not None for o in again.outcomes)
    _stored_once(emulator, folder)
