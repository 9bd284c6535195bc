"""The embedded upload journal: SQLite, one job at a time (`SqliteJournal`).

Schema (one table, ``uploads``; ``PRAGMA user_version`` 3)::
    id               INTEGER PRIMARY KEY
    target, observatory, data_product_type   TEXT   -- where the file goes (the destination)
    path             TEXT     -- absolute path when last seen
    name             TEXT     -- the file name as sent on the wire (see discovery.wire_name)
    size, mtime_ns   INTEGER  -- stat fingerprint: lets a re-run skip without reading the file
    device, inode    INTEGER  -- which file it was (tells a rewrite in place from the same file)
    sha256           TEXT     -- content hash from the upload's own pass (NULL until one completed)
    state            TEXT     -- sending | uploaded | failed | unknown | changed
    data_product_id  INTEGER  -- the server's id once uploaded (or the torn copy's, for changed)
    reason           TEXT     -- last failure, or why the outcome is unknown
    attempts         INTEGER  -- upload requests sent, over all runs
    first_sent_at    REAL     -- wall time (ours) the first request of this row started
    sent_at          REAL     -- wall time (ours) the last request started
    server_offset    REAL     -- the server's clock minus ours when it was sent (NULL: unknown)
    marker           TEXT     -- the per-upload tag put in the comment, when markers are on
    candidates       TEXT     -- ids that might be this file, for an unknown outcome
    id_floor         INTEGER  -- the newest product id known before the first request: none at or
                                 below it can be this file (ids are assigned in order)
    updated_at       REAL

    UNIQUE (path, size, mtime_ns, target, observatory, data_product_type)

Why the unique key is the stat fingerprint and not the content hash: the hash is computed in the
upload's own single pass, so it is unknown until the body has been sent, yet the row must exist
(``sending``) before the first byte leaves.

Every change is one short transaction in WAL mode with ``synchronous=FULL``, so a process killed
at any instant (``kill -9``) leaves either the old or the new row, never half of one. A row in
``sending`` therefore means "a request may have left": the next run reconciles it with the
server before re-sending. All calls run in one worker thread at a time, never on the event loop.

One job at a time: opening for writing takes an exclusive lock on ``<journal>.lock`` (released by
the operating system when the process ends, even on ``kill -9``). A second job either waits for
it (`wait`) or is refused with a message naming the process that holds it.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TextIO, TypeVar

import anyio
import anyio.to_thread

from .._clock import Clock
from .._private import create_private, restrict_siblings
from ..errors import JournalBusyError
from .discovery import Fingerprint
from .events import JournalWritten
from .journal import Claim, ContentHash, JournalKey, JournalRow, State, read_row, timed_write
from .journal_paths import _journal_error, check_journal_path

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["COLUMNS", "SCHEMA_VERSION", "Journal", "SqliteJournal"]

T = TypeVar("T")
SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    observatory TEXT NOT NULL,
    data_product_type TEXT NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT,
    state TEXT NOT NULL,
    data_product_id INTEGER,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at REAL,
    updated_at REAL NOT NULL,
    device INTEGER NOT NULL DEFAULT 0,
    inode INTEGER NOT NULL DEFAULT 0,
    first_sent_at REAL,
    server_offset REAL,
    marker TEXT,
    candidates TEXT,
    id_floor INTEGER,
    UNIQUE (path, size, mtime_ns, target, observatory, data_product_type)
);
CREATE INDEX IF NOT EXISTS uploads_content ON uploads (sha256, target, observatory, data_product_type);
CREATE INDEX IF NOT EXISTS uploads_name ON uploads (name, target, observatory, data_product_type);
CREATE INDEX IF NOT EXISTS uploads_product ON uploads (data_product_id);
"""
#: Columns added since schema 1 (journals written by earlier versions gain them on open).
_ADDED_IN_2 = {
    "device": "INTEGER NOT NULL DEFAULT 0",
    "inode": "INTEGER NOT NULL DEFAULT 0",
    "first_sent_at": "REAL",
    "server_offset": "REAL",
    "marker": "TEXT",
    "candidates": "TEXT",
    "id_floor": "INTEGER",  # schema 3
}
_HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type='table' AND name='uploads'"
COLUMNS = (
    "id, target, observatory, data_product_type, path, name, size, mtime_ns, sha256, state, "
    "data_product_id, reason, attempts, sent_at, first_sent_at, server_offset, marker, candidates, "
    "device, inode, NULL, id_floor"  # NULL: the host, which a one-host journal does not keep
)


class SqliteJournal:
    """The SQLite upload journal. Open it with ``async with SqliteJournal(path) as journal:``.

    Args:
        path: the database file (created with its parent folder); ``":memory:"`` keeps nothing.
        read_only: open without writing and without the lock (dry runs consult, never change).
        wait: seconds to wait for another job using the journal (0: refuse at once).
        clock: what waiting for the lock sleeps on.

    Raises (from `open`):
        JournalBusyError: another job holds the journal (the message names it).
        JournalError: the file cannot be used (not a journal, unreadable, read-only folder,
            disk full); the message says what to do.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        wait: float = 0.0,
        clock: Clock | None = None,
    ) -> None:
        self.path = str(path)
        self.read_only = read_only
        self._wait = wait
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        #: True when this open created the journal (it held no record before).
        self.fresh = False
        self._lock_file: TextIO | None = None
        self._lock = threading.Lock()
        self._limiter = anyio.CapacityLimiter(1)
        self.on_write: Callable[[JournalWritten], None] | None = None

    #: One job holds the journal (its lock file), so no other worker can hold a file.
    shared = False

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True):
            await self.aclose()

    # ---- opening and closing ----------------------------------------------------------------

    async def open(self) -> None:
        """Take the journal for this job (waiting up to `wait` seconds), then open the database."""
        await self._run(lambda: check_journal_path(self.path))
        if not self.read_only and self.path != ":memory:":
            waited = 0.0
            while not await self._run(self._try_lock):
                if waited >= self._wait:
                    raise JournalBusyError(self.path, holder=await self._run(self._holder))
                step = min(0.5, self._wait - waited)
                if self._clock is not None:
                    await self._clock.sleep(step)
                else:
                    await anyio.sleep(step)
                waited += step
        try:
            await self._run(self._open_sync)
        except BaseException:
            await self._run(self._unlock)
            raise

    async def aclose(self) -> None:
        """Close the database and release the journal."""
        await self._run(self._close_sync)

    def _try_lock(self) -> bool:
        lock_path = Path(self.path + ".lock")
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            create_private(lock_path)
            handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held until aclose
        except OSError as exc:
            raise _journal_error(self.path, exc) from None
        if not _lock_nowait(handle):
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}))
        handle.flush()
        self._lock_file = handle
        return True

    def _holder(self) -> str:
        try:
            info = json.loads(Path(self.path + ".lock").read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return "another process"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info.get("since", 0))))
        return f"process {info.get('pid', '?')} on {info.get('host', '?')}, since {since}"

    def _unlock(self) -> None:
        if self._lock_file is not None:
            handle, self._lock_file = self._lock_file, None
            handle.close()  # closing the descriptor releases the lock

    def _open_sync(self) -> None:
        if self._db is not None:
            return
        try:
            self._db = self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise _journal_error(self.path, exc) from None

    def _connect(self) -> sqlite3.Connection:
        memory = self.path == ":memory:"
        if self.read_only and not memory and not Path(self.path).exists():
            self.path, memory = ":memory:", True  # nothing recorded yet; a dry run creates nothing
        if not memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        if self.read_only and not memory:
            uri = Path(self.path).absolute().as_uri() + "?mode=ro"
            db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=30.0)
            # A non-database fails here. A journal another job is creating right now (or an empty
            # file) has no table yet: it holds nothing, so it reads as an empty journal.
            if db.execute(_HAS_TABLE).fetchone() is None:
                db.close()
                self.path = ":memory:"
                return self._connect()
            return db
        if not memory:
            create_private(self.path)  # a new journal is 0600: it names every target and folder
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            if not memory:
                restrict_siblings(self.path)
            db.execute("PRAGMA synchronous=FULL")
            # One transaction: a reader (a dry run, the CLI's plan) sees no table or the whole schema.
            db.execute("BEGIN IMMEDIATE")
            try:
                self.fresh = memory or db.execute(_HAS_TABLE).fetchone() is None
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)
                present = {row[1] for row in db.execute("PRAGMA table_info(uploads)")}
                for column, kind in _ADDED_IN_2.items():
                    if column not in present:
                        db.execute(f"ALTER TABLE uploads ADD COLUMN {column} {kind}")
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except BaseException:
            db.close()
            raise
        return db

    def _close_sync(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.close()
        self._unlock()

    async def _run(self, func: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                try:
                    return func()
                except (sqlite3.Error, OSError) as exc:
                    raise _journal_error(self.path, exc) from None

        return await anyio.to_thread.run_sync(locked, limiter=self._limiter)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the journal is not open")
        return self._db

    # ---- reads -------------------------------------------------------------------------------

    async def find(self, key: JournalKey, fingerprint: Fingerprint) -> JournalRow | None:
        """The row of this exact file (path and stat fingerprint), if any."""
        fp = fingerprint

        def query() -> JournalRow | None:
            found = (
                self._conn()
                .execute(
                    f"SELECT {COLUMNS} FROM uploads WHERE path=? AND size=? AND mtime_ns=? "  # noqa: S608
                    "AND target=? AND observatory=? AND data_product_type=?",
                    (fp.path, fp.size, fp.mtime_ns, key.target, key.observatory, key.data_product_type),
                )
                .fetchone()
            )
            return None if found is None else read_row(found)

        return await self._run(query)

    async def find_similar(self, key: JournalKey, name: str, size: int) -> list[JournalRow]:
        """Uploaded rows with this wire name and size and a known hash (a copied or touched file?)."""

        def query() -> list[JournalRow]:
            rows = self._conn().execute(
                f"SELECT {COLUMNS} FROM uploads WHERE name=? AND size=? AND target=? "  # noqa: S608
                "AND observatory=? AND data_product_type=? AND state='uploaded' AND sha256 IS NOT NULL "
                "LIMIT 50",
                (name, size, key.target, key.observatory, key.data_product_type),
            )
            return [read_row(r) for r in rows]

        return await self._run(query)

    async def unclear(self, key: JournalKey, name: str) -> list[JournalRow]:
        """Rows sent under this wire name to this destination whose outcome is not known."""

        def query() -> list[JournalRow]:
            rows = self._conn().execute(
                f"SELECT {COLUMNS} FROM uploads WHERE name=? AND target=? AND observatory=? "  # noqa: S608
                "AND data_product_type=? AND state IN ('sending', 'unknown')",
                (name, key.target, key.observatory, key.data_product_type),
            )
            return [read_row(r) for r in rows]

        return await self._run(query)

    async def held_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of these data-product ids some row already holds."""
        wanted = list(ids)

        def query() -> set[int]:
            if not wanted:
                return set()
            marks = ",".join("?" * len(wanted))
            rows = self._conn().execute(
                f"SELECT data_product_id FROM uploads WHERE data_product_id IN ({marks})",  # noqa: S608
                wanted,
            )
            return {int(r[0]) for r in rows}

        return await self._run(query)

    async def rows(self) -> list[JournalRow]:
        """Every row (for reports and tests)."""

        def query() -> list[JournalRow]:
            sql = f"SELECT {COLUMNS} FROM uploads ORDER BY id"  # noqa: S608
            return [read_row(r) for r in self._conn().execute(sql)]

        return await self._run(query)

    # ---- writes (each one transaction) -------------------------------------------------------

    @timed_write("begin")
    async def begin(
        self,
        key: JournalKey,
        fingerprint: Fingerprint,
        name: str,
        *,
        server_offset: float | None,
        marker: str | None,
        id_floor: int | None = None,
    ) -> JournalRow:
        """Record that a request for this file is about to start (state ``sending``).

        `id_floor` is the newest product id known now; the row keeps the first one given.
        """
        fp = fingerprint

        def write() -> JournalRow:
            now = time.time()
            db = self._conn()
            where = (fp.path, fp.size, fp.mtime_ns, key.target, key.observatory, key.data_product_type)
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "INSERT INTO uploads (target, observatory, data_product_type, path, name, size, "
                    "mtime_ns, device, inode, state, attempts, first_sent_at, sent_at, server_offset, "
                    "marker, id_floor, updated_at) VALUES (?,?,?,?,?,?,?,?,?,'sending',1,?,?,?,?,?,?) "
                    "ON CONFLICT (path, size, mtime_ns, target, observatory, data_product_type) "
                    "DO UPDATE SET state='sending', attempts=attempts+1, sent_at=excluded.sent_at, "
                    "first_sent_at=COALESCE(first_sent_at, excluded.first_sent_at), "
                    "server_offset=COALESCE(excluded.server_offset, server_offset), "
                    "marker=COALESCE(marker, excluded.marker), name=excluded.name, "
                    "id_floor=CASE WHEN first_sent_at IS NULL THEN excluded.id_floor ELSE id_floor END, "
                    "updated_at=excluded.updated_at",
                    (
                        *_identity(key, fp, name),
                        now,
                        now,
                        server_offset,
                        marker,
                        id_floor,
                        now,
                    ),
                )
                found = db.execute(
                    f"SELECT {COLUMNS} FROM uploads WHERE path=? AND size=? AND mtime_ns=? "  # noqa: S608
                    "AND target=? AND observatory=? AND data_product_type=?",
                    where,
                ).fetchone()
            return read_row(found)

        return await self._run(write)

    @timed_write("finish")
    async def finish(
        self,
        row_id: int,
        state: State,
        *,
        data_product_id: int | None = None,
        reason: str | None = None,
        sha256: str | None = None,
        candidates: Iterable[int] = (),
    ) -> None:
        """Move a row to `state` (keeping a known id and sha256 if none is given)."""
        listed = json.dumps(sorted(candidates)) if candidates else None

        def write() -> None:
            db = self._conn()
            with db:
                db.execute(
                    "UPDATE uploads SET state=?, data_product_id=COALESCE(?, data_product_id), reason=?, "
                    "sha256=COALESCE(?, sha256), candidates=?, updated_at=? WHERE id=?",
                    (state, data_product_id, reason, sha256, listed, time.time(), row_id),
                )

        await self._run(write)

    @timed_write("record_stored")
    async def record_stored(
        self,
        key: JournalKey,
        fingerprint: Fingerprint,
        name: str,
        data_product_id: int | None,
        *,
        sha256: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Record a file found already stored (a copy, or found on the server) without sending it."""
        fp = fingerprint

        def write() -> None:
            db = self._conn()
            with db:
                db.execute(
                    "INSERT OR IGNORE INTO uploads (target, observatory, data_product_type, path, name, "
                    "size, mtime_ns, device, inode, sha256, state, data_product_id, reason, attempts, "
                    "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,'uploaded',?,?,0,?)",
                    (
                        *_identity(key, fp, name),
                        sha256,
                        data_product_id,
                        reason,
                        time.time(),
                    ),
                )

        await self._run(write)

    # ---- claims (trivial here: the lock file makes this job the journal's only worker) -------

    @timed_write("claim")
    async def claim(self, key: JournalKey, candidate: Fingerprint, name: str, content: ContentHash) -> Claim:
        """Always granted: the journal's lock keeps every other job out (`content` is not needed)."""
        return Claim(granted=True)

    @timed_write("release")
    async def release(self, key: JournalKey, candidate: Fingerprint) -> None:
        """Nothing to release: the lock is held until `aclose`."""


#: The journal the uploader uses by default.
Journal = SqliteJournal


def _identity(key: JournalKey, fp: Fingerprint, name: str) -> tuple[object, ...]:
    """A row's first nine columns as `begin` and `record_stored` write them: where the file goes,
    then which file it is (path, name, size, mtime_ns, device, inode)."""
    return (key.target, key.observatory, key.data_product_type, fp.path, name, fp.size, fp.mtime_ns,
            fp.device, fp.inode)  # fmt: skip


def _lock_nowait(handle: TextIO) -> bool:
    """Take an exclusive lock on the open file without waiting; False if another holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True
