"""A file another worker holds on a shared journal: asked for again with backoff, never re-read."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

from bhtom_async import Client, JobOptions, UploadOptions, UploadSummary
from bhtom_async.emulator import Emulator
from bhtom_async.testing import ManualClock
from bhtom_async.upload import Uploader, frames
from bhtom_async.upload.claims import HeldFiles
from bhtom_async.upload.discovery import Candidate, Fingerprint, Found, fingerprint_of, inspect
from bhtom_async.upload.journal import Claim, JournalKey
from bhtom_async.upload.journal_pg import PostgresJournal
from bhtom_async.upload.ledger import Ledger
from bhtom_async.upload.scratch import Scratch

from ..conftest import fits_bytes

pytestmark = pytest.mark.anyio
CAMERA = "HarnessObs_HarnessCam"
HELD_FOR = 1.6  # seconds: at the old fixed 0.25 s asks, six or seven reads of the frame


@attrs.frozen
class Night:
    """One frame in a night folder, and where another worker holds it (its own mount path)."""

    folder: Path
    frame: Path
    digest: str
    key: JournalKey
    elsewhere: Fingerprint

    async def content(self) -> str:
        return self.digest

    async def hold(self, other: PostgresJournal) -> None:
        assert (await other.claim(self.key, self.elsewhere, self.frame.name, self.content)).granted


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Each frame the uploader reads to hash it (`frames.content_sha256`), in order."""
    seen: list[Path] = []
    real_content_sha256 = frames.content_sha256

    def counted(path: Path, *args: object) -> str:
        seen.append(path)
        return real_content_sha256(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(frames, "content_sha256", counted)
    return seen


def one_frame_night(tmp_path: Path) -> Night:
    folder = tmp_path / "night"
    folder.mkdir()
    frame = folder / "f00.fits"
    frame.write_bytes(fits_bytes(0))
    stat = frame.stat()
    return Night(
        folder,
        frame,
        hashlib.sha256(frame.read_bytes()).hexdigest(),
        JournalKey("Gaia22bpl", CAMERA, "fits_file"),
        Fingerprint(f"/mnt/other-host/night/{frame.name}", stat.st_size, stat.st_mtime_ns, 1, 2),
    )


async def test_a_frame_held_by_another_worker_is_hashed_once_and_reported_when_it_is_stored(
    emulator: Emulator, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[Path]
) -> None:
    """While another worker holds the frame, this job asks again with growing waits but reads the
    unchanged frame once; when the other stores it, the job reports it stored, and sends nothing."""
    night = one_frame_night(tmp_path)

    asks: list[str] = []
    real_claim = PostgresJournal.claim

    async def counted_claim(self: PostgresJournal, *args: Any) -> Claim:
        claim = await real_claim(self, *args)
        if self is not other:
            stored = claim.row is not None and claim.row.state == "uploaded"
            asks.append("granted" if claim.granted else "stored" if stored else "held")
        return claim

    monkeypatch.setattr(PostgresJournal, "claim", counted_claim)

    result: list[UploadSummary] = []
    other = PostgresJournal(pg_url)
    async with other:
        await night.hold(other)
        async with Client(
            emulator.tokens["alice"], base_url=emulator.base_url, upload_url=emulator.upload_url
        ) as bh:

            async def upload() -> None:
                options = UploadOptions(target="Gaia22bpl", observatory=CAMERA)
                job = JobOptions(journal=pg_url, settle_time=0, concurrency=2)
                result.append(await Uploader(bh, night.folder, options, job).run())

            async with anyio.create_task_group() as group:
                group.start_soon(upload)
                await anyio.sleep(HELD_FOR)
                assert not result, "the job waited for the frame the other worker held"
                row = await other.begin(
                    night.key, night.elsewhere, "f00.fits", server_offset=None, marker=None
                )
                await other.finish(row.id, "uploaded", data_product_id=4242, sha256=night.digest)
                await other.release(night.key, night.elsewhere)
    (summary,) = result
    assert reads == [night.frame]
    # Asked again after 0.25, 0.5, 1 s... (not every 0.25 s): 3 refusals in 1.6 s, then the row.
    assert asks[-1] == "stored", asks
    assert 2 <= asks.count("held") <= 4, asks
    assert [(o.status, o.data_product_id) for o in summary.outcomes] == [("skipped", 4242)]
    assert emulator.state.dataproducts_by_sha256(night.digest) == []


async def test_a_job_stopped_while_a_frame_is_held_ends_at_once_with_it_not_attempted(
    emulator: Emulator, pg_url: str, tmp_path: Path
) -> None:
    """A stop does not wait out the backoff of a frame another worker holds."""
    night = one_frame_night(tmp_path)

    async with (
        PostgresJournal(pg_url) as other,
        Client(emulator.tokens["alice"], base_url=emulator.base_url, upload_url=emulator.upload_url) as bh,
    ):
        await night.hold(other)
        options = UploadOptions(target="Gaia22bpl", observatory=CAMERA)
        uploader = Uploader(
            bh, night.folder, options, JobOptions(journal=pg_url, settle_time=0, concurrency=2)
        )
        result: list[UploadSummary] = []

        async def upload() -> None:
            result.append(await uploader.run())

        async with anyio.create_task_group() as group:
            group.start_soon(upload)
            await anyio.sleep(1.0)  # held: the next ask is about 1 s away
            uploader.stop()
            with anyio.fail_after(0.6):
                while not result:
                    await anyio.sleep(0.02)
    (summary,) = result
    assert [o.status for o in summary.outcomes] == ["not_attempted"]


def _candidate(frame: Path) -> Candidate:
    found = Found(frame, fingerprint_of(frame, frame.stat()), frame.name)
    candidate = inspect(found, "fits_file")
    assert isinstance(candidate, Candidate)
    return candidate


async def test_held_files_wait_longer_each_ask_and_hash_again_only_a_rewritten_frame(
    pg_url: str, tmp_path: Path, reads: list[Path]
) -> None:
    """`HeldFiles` on a manual clock: a frame another worker holds comes back after 0.25, 0.5, 1
    and then every 2 s; its hash is computed once while it is unchanged, and again once it has
    been rewritten (a new fingerprint); a granted claim forgets what was kept."""
    night = one_frame_night(tmp_path)
    clock = ManualClock()
    stops: list[Exception] = []
    held = HeldFiles[str](clock, Ledger(None), Scratch(), stops.append)

    async def ask(candidate: Candidate) -> list[float]:
        """Claim (refused), then the waits until `due` hands the item back."""
        assert not await held.claim(ours, night.key, candidate, "f00")
        assert len(held) == 1
        started = clock.monotonic()
        while not held.due():
            clock.advance(0.25)  # every wait is a multiple of 0.25 s (exact in binary)
        return [round(clock.monotonic() - started, 2)]

    async with PostgresJournal(pg_url) as other, PostgresJournal(pg_url) as ours:
        await night.hold(other)
        waits: list[float] = []
        for _ in range(5):
            waits += await ask(_candidate(night.frame))
        assert waits == [0.25, 0.5, 1.0, 2.0, 2.0]
        assert reads == [night.frame]
        night.frame.write_bytes(fits_bytes(1))  # rewritten while held: other bytes, a new stat
        await ask(_candidate(night.frame))
        assert reads == [night.frame, night.frame]
        await other.release(night.key, night.elsewhere)
        assert await held.claim(ours, night.key, _candidate(night.frame), "f00")
        assert len(held) == 0
        await ours.release(night.key, _candidate(night.frame).fingerprint)
        await night.hold(other)
        assert await ask(_candidate(night.frame)) == [0.25]  # the backoff starts again
    assert stops == []
