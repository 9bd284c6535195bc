"""`upload.journal`: the SQLite record of uploads, its states, its lock and its crash safety."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bhtom_async import JobOptions
from bhtom_async.errors import InvalidInputError, JournalBusyError, JournalError
from bhtom_async.upload.discovery import Fingerprint
from bhtom_async.upload.journal import JournalKey
from bhtom_async.upload.journal_paths import _journal_error
from bhtom_async.upload.journal_sqlite import Journal

pytestmark = pytest.mark.anyio
KEY = JournalKey("Gaia22bpl", "HarnessObs_HarnessCam", "fits_file")
SIBLINGS = ("j.sqlite3-wal", "j.sqlite3-shm")


def fp(path: str = "/n/a.fits", size: int = 10, mtime_ns: int = 123) -> Fingerprint:
    return Fingerprint(path, size, mtime_ns, 1, 42)


async def test_begin_then_uploaded_is_found_by_fingerprint(tmp_path: Path) -> None:
    """A row goes sending → uploaded(id) and a re-run finds it by (path, size, mtime_ns)."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        row = await journal.begin(KEY, fp(), "a.fits", server_offset=-3.5, marker="m1")
        assert (row.state, row.attempts, row.server_offset, row.marker, row.inode) == (
            "sending",
            1,
            -3.5,
            "m1",
            42,
        )
        await journal.finish(row.id, "uploaded", data_product_id=77, sha256="ab" * 32)
    async with Journal(tmp_path / "j.sqlite3") as journal:
        found = await journal.find(KEY, fp())
        assert found is not None
        assert (found.state, found.data_product_id, found.sha256) == ("uploaded", 77, "ab" * 32)
        assert await journal.find(KEY, fp(mtime_ns=124)) is None
        assert await journal.find(JournalKey("other", KEY.observatory, KEY.data_product_type), fp()) is None


async def test_resend_counts_attempts_keeps_one_row_and_its_first_send(tmp_path: Path) -> None:
    """Sending the same file again updates its row; the first send time and marker are kept."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        first = await journal.begin(KEY, fp(), "a.fits", server_offset=None, marker="m1")
        await journal.finish(first.id, "failed", reason="503")
        second = await journal.begin(KEY, fp(), "a.fits", server_offset=2.0, marker="m2")
        rows = await journal.rows()
    assert first.id == second.id
    assert [(r.state, r.attempts, r.marker, r.server_offset) for r in rows] == [("sending", 2, "m1", 2.0)]
    assert second.first_sent_at == first.first_sent_at


async def test_journal_uses_wal(tmp_path: Path) -> None:
    """The database is in WAL mode with the uploads table, at schema version 3."""
    async with Journal(tmp_path / "j.sqlite3"):
        pass
    db = sqlite3.connect(tmp_path / "j.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0
    db.close()


async def test_a_new_journal_and_its_wal_files_are_private(tmp_path: Path) -> None:
    """A journal, its lock and SQLite's -wal/-shm are created 0600 (under a 022 umask)."""
    path = tmp_path / "j.sqlite3"
    async with Journal(path) as journal:
        await journal.begin(KEY, fp(), "a.fits", server_offset=None, marker=None)
        siblings = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("j.sqlite3-"))
        modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert siblings == ["j.sqlite3-shm", "j.sqlite3-wal"]
    assert modes == dict.fromkeys(["j.sqlite3", "j.sqlite3.lock", *siblings], 0o600)


async def test_a_memory_journal_creates_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``:memory:`` keeps nothing: no file of that name appears in the working folder."""
    monkeypatch.chdir(tmp_path)
    async with Journal(":memory:") as journal:
        await journal.begin(KEY, fp(), "a.fits", server_offset=None, marker=None)
    assert list(tmp_path.iterdir()) == []


async def test_siblings_an_older_version_left_readable_are_tightened(tmp_path: Path) -> None:
    """A -shm/-wal left 0644 beside a private journal are made 0600 when the journal opens."""
    path = tmp_path / "j.sqlite3"
    async with Journal(path) as journal:
        await journal.begin(KEY, fp(), "a.fits", server_offset=None, marker=None)
    for name in SIBLINGS:
        (tmp_path / name).touch()
        (tmp_path / name).chmod(0o644)
    async with Journal(path):
        modes = {name: (tmp_path / name).stat().st_mode & 0o777 for name in SIBLINGS}
    assert modes == {"j.sqlite3-wal": 0o600, "j.sqlite3-shm": 0o600}


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


async def test_similar_rows_unclear_rows_and_held_ids(tmp_path: Path) -> None:
    """Uploaded rows are found by wire name and size; unresolved ones by name; held ids are reported."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        row = await journal.begin(KEY, fp(), "a.fits", server_offset=0.0, marker=None)
        assert [r.id for r in await journal.unclear(KEY, "a.fits")] == [row.id]
        await journal.finish(row.id, "uploaded", data_product_id=5, sha256="cd" * 32)
        assert await journal.unclear(KEY, "a.fits") == []
        assert [r.id for r in await journal.find_similar(KEY, "a.fits", 10)] == [row.id]
        assert await journal.find_similar(KEY, "a.fits", 11) == []
        assert await journal.held_ids([5, 6]) == {5}
        other = await journal.begin(KEY, fp("/m/a.fits"), "a.fits", server_offset=0.0, marker=None)
        await journal.finish(other.id, "unknown", reason="lost", candidates=[8, 9])
        (unclear,) = await journal.unclear(KEY, "a.fits")
    assert unclear.candidates == (8, 9)


async def test_a_second_job_on_the_journal_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    """One job at a time: a second opening fails at once, naming the process that holds it."""
    async with Journal(tmp_path / "j.sqlite3"):
        with pytest.raises(JournalBusyError) as caught:
            await Journal(tmp_path / "j.sqlite3").open()
    assert f"process {os.getpid()}" in str(caught.value)
    assert "--journal-wait" in str(caught.value.cli_hint)
    async with Journal(tmp_path / "j.sqlite3"):  # released when the first closed
        pass


HOLDER = """
import anyio, sys
from bhtom_async.upload.journal_sqlite import Journal
async def main():
    async with Journal(sys.argv[1]):
        print("holding", flush=True)
        await anyio.sleep(float(sys.argv[2]))
anyio.run(main)
"""


def test_another_process_holding_the_journal_is_waited_for_or_refused(tmp_path: Path) -> None:
    """Across processes the lock holds; `wait` waits for the holder, and kill -9 releases it."""
    import anyio

    path = tmp_path / "j.sqlite3"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), "30"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"

    async def try_open(wait: float) -> None:
        async with Journal(path, wait=wait):
            pass

    with pytest.raises(JournalBusyError, match=f"process {holder.pid}"):
        anyio.run(try_open, 0.0)
    holder.send_signal(signal.SIGKILL)  # the operating system releases the lock of a killed process
    holder.wait()
    holder.stdout.close()
    anyio.run(try_open, 5.0)


async def test_a_file_that_is_not_a_journal_is_one_clear_error(tmp_path: Path) -> None:
    """A non-SQLite file given as the journal: JournalError saying to move it aside, no traceback."""
    path = tmp_path / "notes.txt"
    path.write_text("this is not a database\n" * 100)
    with pytest.raises(JournalError) as caught:
        await Journal(path).open()
    assert "not an upload journal" in str(caught.value)
    assert "move it aside" in str(caught.value.hint)


async def test_a_journal_that_cannot_be_created_is_one_clear_error(tmp_path: Path) -> None:
    """A journal that cannot be created (here its lock file's place is taken) says so and what to do."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "j.sqlite3.lock").mkdir()  # as unwritable as a read-only folder, even for root
    with pytest.raises(JournalError) as caught:
        await Journal(folder / "j.sqlite3").open()
    assert caught.value.problem == f"its lock file {folder / 'j.sqlite3'}.lock is a folder, not a file"
    assert "--journal" in str(caught.value.hint)


def test_disk_full_is_named_as_such() -> None:
    """ENOSPC and SQLite's "database or disk is full" both read as "the disk is full"."""
    assert "disk is full" in str(_journal_error("/j", OSError(errno.ENOSPC, "No space left on device")))
    assert "disk is full" in str(_journal_error("/j", sqlite3.OperationalError("database or disk is full")))


async def test_a_version_1_journal_gains_the_new_columns(tmp_path: Path) -> None:
    """A journal written by an earlier version opens, keeps its rows and gains the new columns."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE uploads (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, "
        "observatory TEXT NOT NULL, data_product_type TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL, "
        "size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT, state TEXT NOT NULL, "
        "data_product_id INTEGER, reason TEXT, attempts INTEGER NOT NULL DEFAULT 0, sent_at REAL, "
        "updated_at REAL NOT NULL, UNIQUE (path, size, mtime_ns, target, observatory, data_product_type));"
        "INSERT INTO uploads (target, observatory, data_product_type, path, name, size, mtime_ns, state, "
        "data_product_id, updated_at) VALUES ('Gaia22bpl', 'HarnessObs_HarnessCam', 'fits_file', "
        "'/n/a.fits', 'a.fits', 10, 123, 'uploaded', 77, 0); PRAGMA user_version=1;"
    )
    db.close()
    async with Journal(path) as journal:
        found = await journal.find(KEY, fp())
    assert found is not None
    assert (found.state, found.data_product_id, found.marker) == ("uploaded", 77, None)


WRITER = """
import anyio, sys
from bhtom_async.upload.discovery import Fingerprint
from bhtom_async.upload.journal import JournalKey
from bhtom_async.upload.journal_sqlite import Journal
KEY = JournalKey("T", "O", "fits_file")
async def main():
    async with Journal(sys.argv[1]) as j:
        i = 0
        while True:
            fp = Fingerprint(f"/p/{i}.fits", i, i)
            row = await j.begin(KEY, fp, f"{i}.fits", server_offset=0.0, marker=None)
            await j.finish(row.id, "uploaded", data_product_id=i, sha256="00")
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
    """An existing journal opened for a dry run is truly read-only (a write is a JournalError)."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        await journal.begin(KEY, fp(), "a.fits", server_offset=0.0, marker=None)
    async with Journal(tmp_path / "j.sqlite3", read_only=True) as journal:
        assert len(await journal.rows()) == 1
        with pytest.raises(JournalError, match="cannot be written"):
            await journal.begin(KEY, fp("/n/b.fits"), "b.fits", server_offset=0.0, marker=None)


async def test_a_journal_without_its_table_yet_reads_as_empty(tmp_path: Path) -> None:
    """A dry run (or the CLI's plan) opening a journal another job has just created, before its
    schema: no "no such table", it reads as empty; the writer then creates the schema."""
    path = tmp_path / "j.sqlite3"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()  # the file exists, no table yet
    async with Journal(path, read_only=True) as journal:
        assert await journal.find(KEY, fp()) is None
        assert await journal.rows() == []
    async with Journal(path) as journal:
        await journal.begin(KEY, fp(), "a.fits", server_offset=None, marker=None)
        assert len(await journal.rows()) == 1


def test_ten_runs_starting_at_once_on_a_new_journal_never_see_a_missing_table(tmp_path: Path) -> None:
    """Ten processes start on a journal that does not exist yet; each reads it without the lock (as
    the CLI's plan does), then takes it (waiting for the others) and records a row: all ten succeed."""
    path = tmp_path / "new" / "j.sqlite3"
    start = time.time() + 1.5
    script = """
import anyio, sys, time
from bhtom_async.upload.discovery import Fingerprint
from bhtom_async.upload.journal import JournalKey
from bhtom_async.upload.journal_sqlite import Journal
async def main(path, start, n):
    key = JournalKey("T", "O", "fits_file")
    time.sleep(max(0.0, float(start) - time.time()))
    for _ in range(20):  # read while the others create it
        async with Journal(path, read_only=True) as journal:
            await journal.find(key, Fingerprint("/x", 1, 1))
    async with Journal(path, wait=30) as journal:
        await journal.begin(key, Fingerprint(f"/f{n}", 1, 1), "f.fits", server_offset=None, marker=None)
    print("ok")
anyio.run(main, *sys.argv[1:])
"""
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), str(start), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(10)
    ]
    results = [run.communicate(timeout=60) for run in runs]
    assert [r.returncode for r in runs] == [0] * 10, [err for _, err in results if err]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM uploads").fetchone() == (10,)


def test_an_empty_journal_path_is_refused_by_the_job_options() -> None:
    """JobOptions(journal="") would keep no record (SQLite's temporary database): refused, saying why."""
    with pytest.raises(InvalidInputError, match="not an empty string"):
        JobOptions(journal="")


async def test_a_row_keeps_the_id_floor_of_its_first_send(tmp_path: Path) -> None:
    """The newest id known before the first request is kept across re-sends (its window starts then)."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        first = await journal.begin(KEY, fp(), "a.fits", server_offset=None, marker=None, id_floor=40)
        await journal.finish(first.id, "failed", reason="503")
        again = await journal.begin(KEY, fp(), "a.fits", server_offset=None, marker=None, id_floor=55)
    assert (first.id_floor, again.id_floor) == (40, 40)
