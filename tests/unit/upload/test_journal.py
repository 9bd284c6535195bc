"""`upload.journal`: the SQLite record of uploads, its states and its crash safety."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bhtom_async.upload.journal import Journal, JournalKey

pytestmark = pytest.mark.anyio
KEY = JournalKey("Gaia22bpl", "HarnessObs_HarnessCam", "fits_file")


async def test_begin_send_then_uploaded_is_found_by_fingerprint(tmp_path: Path) -> None:
    """A row goes sending → uploaded(id) and a re-run finds it by (path, size, mtime_ns)."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        row_id = await journal.begin_send(KEY, "/n/a.fits", "a.fits", 10, 123)
        (row,) = await journal.rows()
        assert (row.state, row.attempts) == ("sending", 1)
        await journal.mark(row_id, "uploaded", data_product_id=77, sha256="ab" * 32)
    async with Journal(tmp_path / "j.sqlite3") as journal:
        found = await journal.find(KEY, "/n/a.fits", 10, 123)
        assert found is not None
        assert (found.state, found.data_product_id, found.sha256) == ("uploaded", 77, "ab" * 32)
        assert await journal.find(KEY, "/n/a.fits", 10, 124) is None
        assert (
            await journal.find(
                JournalKey("other", KEY.observatory, KEY.data_product_type), "/n/a.fits", 10, 123
            )
            is None
        )


async def test_resend_counts_attempts_and_keeps_one_row(tmp_path: Path) -> None:
    """Sending the same file again updates its row rather than adding one."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        first = await journal.begin_send(KEY, "/n/a.fits", "a.fits", 10, 123)
        await journal.mark(first, "failed", reason="503")
        second = await journal.begin_send(KEY, "/n/a.fits", "a.fits", 10, 123)
        rows = await journal.rows()
    assert first == second
    assert [(r.state, r.attempts) for r in rows] == [("sending", 2)]


async def test_journal_uses_wal(tmp_path: Path) -> None:
    """The database is in WAL mode with the uploads table."""
    async with Journal(tmp_path / "j.sqlite3"):
        pass
    db = sqlite3.connect(tmp_path / "j.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0
    db.close()


async def test_journal_commits_are_synced_to_disk(tmp_path: Path) -> None:
    """The journal's connection runs with synchronous=FULL, so a committed row survives a power cut.

    In WAL mode NORMAL may lose the last commits on power loss, and the journal is what stops a
    frame being stored twice. The setting is per connection, so it is read back through the journal's.
    """
    async with Journal(tmp_path / "j.sqlite3") as journal:
        (level,) = journal._conn().execute("PRAGMA synchronous").fetchone()
    assert level == 2  # FULL (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA)


async def test_read_only_journal_creates_nothing(tmp_path: Path) -> None:
    """A dry run's journal does not create the file."""
    async with Journal(tmp_path / "dry.sqlite3", read_only=True) as journal:
        assert await journal.rows() == []
    assert not (tmp_path / "dry.sqlite3").exists()


async def test_content_and_claimed_ids(tmp_path: Path) -> None:
    """Rows are found by content hash and by name+size; claimed ids are reported."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        row_id = await journal.begin_send(KEY, "/n/a.fits", "a.fits", 10, 1)
        await journal.mark(row_id, "uploaded", data_product_id=5, sha256="cd" * 32)
        assert (await journal.find_content(KEY, "cd" * 32)) is not None
        assert [r.id for r in await journal.find_similar(KEY, "a.fits", 10)] == [row_id]
        assert await journal.find_similar(KEY, "a.fits", 11) == []
        assert await journal.known_ids([5, 6]) == {5}


WRITER = """
import anyio, sys
from bhtom_async.upload.journal import Journal, JournalKey
KEY = JournalKey("T", "O", "fits_file")
async def main():
    async with Journal(sys.argv[1]) as j:
        i = 0
        while True:
            row = await j.begin_send(KEY, f"/p/{i}.fits", f"{i}.fits", i, i)
            await j.mark(row, "uploaded", data_product_id=i, sha256="00")
            if i == 5:
                print("ready", flush=True)
            i += 1
anyio.run(main)
"""


def test_kill_9_leaves_the_journal_consistent(tmp_path: Path) -> None:
    """A writer killed with SIGKILL mid-stream leaves a readable journal whose rows are all whole."""
    path = tmp_path / "j.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT state, data_product_id FROM uploads").fetchall()
    db.close()
    assert len(rows) > 5
    assert {state for state, _ in rows} <= {"sending", "uploaded"}
    assert sum(state == "sending" for state, _ in rows) <= 1


async def test_read_only_journal_cannot_be_written(tmp_path: Path) -> None:
    """An existing journal opened for a dry run is truly read-only."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        await journal.begin_send(KEY, "/n/a.fits", "a.fits", 10, 1)
    async with Journal(tmp_path / "j.sqlite3", read_only=True) as journal:
        assert len(await journal.rows()) == 1
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await journal.begin_send(KEY, "/n/b.fits", "b.fits", 10, 1)
