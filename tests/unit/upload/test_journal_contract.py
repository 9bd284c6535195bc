"""The `UploadJournal` contract: every backend (SQLite, PostgreSQL) passes the same tests.

A real PostgreSQL runs for these (the `pg_url` fixture); none is skipped for lack of one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bhtom_async.upload.discovery import Fingerprint
from bhtom_async.upload.events import JournalWritten
from bhtom_async.upload.journal import JournalKey, UploadJournal, record_copy
from bhtom_async.upload.journal_backend import open_journal

pytestmark = pytest.mark.anyio
KEY = JournalKey("Gaia22bpl", "HarnessObs_HarnessCam", "fits_file")


def fp(path: str = "/n/a.fits", size: int = 10, mtime_ns: int = 123) -> Fingerprint:
    return Fingerprint(path, size, mtime_ns, 1, 42)


async def sha_of(text: str = "ab") -> str:
    return text * 32


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a journal of each backend lives."""
    if request.param == "sqlite":
        return str(tmp_path / "j.sqlite3")
    url: str = request.getfixturevalue("pg_url")
    return url


async def claimed(journal: UploadJournal, f: Fingerprint, name: str = "a.fits") -> None:
    claim = await journal.claim(KEY, f, name, sha_of)
    assert claim.granted


async def test_sent_then_uploaded_is_found_again_after_reopening(location: str) -> None:
    """sending → uploaded(id); a later job finds the same file, and not a changed one."""
    async with open_journal(location) as journal:
        await claimed(journal, fp())
        row = await journal.begin(KEY, fp(), "a.fits", server_offset=-3.5, marker="m1")
        assert (row.state, row.attempts, row.server_offset, row.marker) == ("sending", 1, -3.5, "m1")
        await journal.finish(row.id, "uploaded", data_product_id=77, sha256="ab" * 32)
        await journal.release(KEY, fp())
    async with open_journal(location) as journal:
        found = await journal.find(KEY, fp())
        assert found is not None
        assert (found.state, found.data_product_id, found.sha256) == ("uploaded", 77, "ab" * 32)
        assert await journal.find(KEY, fp(mtime_ns=124)) is None
        assert await journal.find(JournalKey("other", KEY.observatory, KEY.data_product_type), fp()) is None


async def test_a_resend_keeps_one_row_counts_attempts_and_keeps_the_first_marker(location: str) -> None:
    """Sending the same file again updates its row; the first send time and marker are kept."""
    async with open_journal(location) as journal:
        await claimed(journal, fp())
        first = await journal.begin(KEY, fp(), "a.fits", server_offset=None, marker="m1")
        await journal.finish(first.id, "failed", reason="503")
        second = await journal.begin(KEY, fp(), "a.fits", server_offset=2.0, marker="m2")
        rows = await journal.rows()
    assert first.id == second.id
    assert [(r.state, r.attempts, r.marker, r.server_offset) for r in rows] == [("sending", 2, "m1", 2.0)]
    assert second.first_sent_at == first.first_sent_at


async def test_unclear_similar_and_held_ids_read_every_row(location: str) -> None:
    """Unresolved sends by name, uploaded look-alikes by name and size, and the ids held."""
    async with open_journal(location) as journal:
        a, b = fp("/n/a.fits"), fp("/m/b.fits", size=20)
        await claimed(journal, a)
        row_a = await journal.begin(KEY, a, "a.fits", server_offset=None, marker=None)
        await journal.finish(row_a.id, "uploaded", data_product_id=5, sha256="cd" * 32)
        await claimed(journal, b, "b.fits")
        row_b = await journal.begin(KEY, b, "b.fits", server_offset=None, marker=None)
        await journal.finish(row_b.id, "unknown", reason="lost answer", candidates=[9, 8])
        similar = await journal.find_similar(KEY, "a.fits", 10)
        unclear = await journal.unclear(KEY, "b.fits")
        held = await journal.held_ids([5, 6, 9])
    assert [(r.name, r.data_product_id) for r in similar] == [("a.fits", 5)]
    assert [(r.name, r.state, r.candidates) for r in unclear] == [("b.fits", "unknown", (8, 9))]
    assert held == {5}


async def test_record_stored_and_copy_hold_the_file_as_uploaded(location: str) -> None:
    """A file found on the server, and a copy of an uploaded one, are journaled uploaded unsent."""
    async with open_journal(location) as journal:
        await claimed(journal, fp("/n/x.fits"), "x.fits")
        await journal.record_stored(KEY, fp("/n/x.fits"), "x.fits", 31, reason="already on the server")
        await journal.release(KEY, fp("/n/x.fits"))
        original = await journal.find(KEY, fp("/n/x.fits"))
        assert original is not None
        await claimed(journal, fp("/c/y.fits", mtime_ns=9), "y.fits")
        await record_copy(journal, KEY, fp("/c/y.fits", mtime_ns=9), "y.fits", original)
        await journal.release(KEY, fp("/c/y.fits", mtime_ns=9))
        rows = await journal.rows()
    assert sorted((r.name, r.state, r.data_product_id, r.attempts) for r in rows) == [
        ("x.fits", "uploaded", 31, 0),
        ("y.fits", "uploaded", 31, 0),
    ]


async def test_a_read_only_journal_reads_and_claims_without_writing(location: str) -> None:
    """Dry runs: a read-only journal finds rows and grants claims, and records nothing."""
    async with open_journal(location) as journal:
        await claimed(journal, fp())
        row = await journal.begin(KEY, fp(), "a.fits", server_offset=None, marker=None)
        await journal.finish(row.id, "uploaded", data_product_id=3)
        await journal.release(KEY, fp())
    async with open_journal(location, read_only=True) as journal:
        assert (await journal.claim(KEY, fp("/n/new.fits"), "new.fits", sha_of)).granted
        found = await journal.find(KEY, fp())
        assert found is not None
        assert found.data_product_id == 3
        assert len(await journal.rows()) == 1


async def test_each_write_is_told_to_on_write_with_its_duration(location: str) -> None:
    """Claim, begin, finish, a stored copy and release each tell `on_write` once; reads tell nothing."""
    told: list[JournalWritten] = []
    async with open_journal(location) as journal:
        journal.on_write = told.append
        await claimed(journal, fp())
        row = await journal.begin(KEY, fp(), "a.fits", server_offset=None, marker=None)
        await journal.finish(row.id, "uploaded", data_product_id=5, sha256="ab" * 32)
        await record_copy(journal, KEY, fp("/n/copy.fits"), "copy.fits", row)
        await journal.find(KEY, fp())
        await journal.release(KEY, fp())
    assert [event.operation for event in told] == ["claim", "begin", "finish", "record_stored", "release"]
    assert all(event.seconds >= 0 for event in told)
