"""The upload journal: a SQLite record of every file sent, so nothing is ever uploaded twice.

Schema (one table, ``uploads``)::

    id               INTEGER PRIMARY KEY
    target, observatory, data_product_type   TEXT   -- where the file goes (the job key)
    path             TEXT     -- absolute path when last seen
    name             TEXT     -- file name as sent (the server stores "<prefix>_<name>")
    size, mtime_ns   INTEGER  -- stat fingerprint: lets a re-run skip without reading the file
    sha256           TEXT     -- content hash from the upload's own pass (NULL until one completed)
    state            TEXT     -- pending | sending | uploaded | failed | unknown
    data_product_id  INTEGER  -- the server's id once uploaded
    reason           TEXT     -- last failure or why the outcome is unknown
    attempts         INTEGER  -- upload requests sent, over all runs
    sent_at          REAL     -- wall-clock time the last request started (for reconciliation)
    updated_at       REAL

    UNIQUE (path, size, mtime_ns, target, observatory, data_product_type)
    INDEX  (sha256, target, observatory, data_product_type)    -- content identity
    INDEX  (name, size, target, observatory, data_product_type) -- cheap "same file elsewhere?" test

Why the unique key is the stat fingerprint and not the content hash: the hash is computed in the
upload's own single pass, so it is unknown until the body has been sent, yet the row must exist
(``sending``) before the first byte leaves. The content identity (sha256, target, observatory, data
product type) is therefore an index filled in once a pass completes; a file new to the journal
whose name and size match an uploaded row is hashed up front and skipped if its content matches
(a copied or touched frame), and recorded under its own fingerprint with the same id.
``pending`` is accepted by the schema but not written: a row goes straight to ``sending`` right
before its request, since a row written earlier would cost a sync per file and say nothing new.

Every change is one short transaction in WAL mode with ``synchronous=FULL``, so a process killed at
any instant (``kill -9``) leaves either the old or the new row, never half of one. A row in
``sending`` therefore means "a request may have left": the next run treats it as ``unknown`` and
reconciles it with the server before re-sending. All calls run in one worker thread at a time
(`anyio.to_thread` with a limiter of one), never on the event loop.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, TypeVar

import anyio
import anyio.to_thread
import attrs

from ..models.uploads import UploadOptions

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Journal", "JournalKey", "JournalRow", "State", "default_journal_path", "key_of"]

State = Literal["pending", "sending", "uploaded", "failed", "unknown"]
T = TypeVar("T")
SCHEMA_VERSION = 1

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
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'uploaded', 'failed', 'unknown')),
    data_product_id INTEGER,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at REAL,
    updated_at REAL NOT NULL,
    UNIQUE (path, size, mtime_ns, target, observatory, data_product_type)
);
CREATE INDEX IF NOT EXISTS uploads_content ON uploads (sha256, target, observatory, data_product_type);
CREATE INDEX IF NOT EXISTS uploads_name ON uploads (name, size, target, observatory, data_product_type);
CREATE INDEX IF NOT EXISTS uploads_product ON uploads (data_product_id);
"""


def default_journal_path() -> Path:
    """``$XDG_STATE_HOME/bhtom_async/uploads.sqlite3`` (``~/.local/state/...`` by default)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "bhtom_async" / "uploads.sqlite3"


@attrs.frozen
class JournalKey:
    """Where a file goes: the part of the row key that is not about the file itself."""

    target: str
    observatory: str
    data_product_type: str


def key_of(options: UploadOptions) -> JournalKey:
    """The journal key of files uploaded with `options`."""
    return JournalKey(options.target, options.observatory, options.data_product_type)


@attrs.frozen
class JournalRow:
    """One journal row."""

    id: int
    key: JournalKey
    path: str
    name: str
    size: int
    mtime_ns: int
    sha256: str | None
    state: State
    data_product_id: int | None
    reason: str | None
    attempts: int
    sent_at: float | None


_COLUMNS = (
    "id, target, observatory, data_product_type, path, name, size, mtime_ns, sha256, state, "
    "data_product_id, reason, attempts, sent_at"
)


def _row(values: tuple[object, ...]) -> JournalRow:
    (id_, target, observatory, dpt, path, name, size, mtime_ns, sha, state, dp_id, reason, attempts, sent) = (
        values
    )
    return JournalRow(
        id=int(id_),  # type: ignore[call-overload]
        key=JournalKey(str(target), str(observatory), str(dpt)),
        path=str(path),
        name=str(name),
        size=int(size),  # type: ignore[call-overload]
        mtime_ns=int(mtime_ns),  # type: ignore[call-overload]
        sha256=None if sha is None else str(sha),
        state=state,  # type: ignore[arg-type]
        data_product_id=None if dp_id is None else int(dp_id),  # type: ignore[call-overload]
        reason=None if reason is None else str(reason),
        attempts=int(attempts),  # type: ignore[call-overload]
        sent_at=None if sent is None else float(sent),  # type: ignore[arg-type]
    )


class Journal:
    """The SQLite upload journal. Open it with ``async with Journal(path) as journal:``.

    Args:
        path: the database file (created with its parent folder); ``":memory:"`` keeps nothing.
        read_only: open without writing (dry runs consult the journal but never change it).
    """

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._limiter = anyio.CapacityLimiter(1)

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True):
            await self.aclose()

    async def open(self) -> None:
        """Create or open the database (in a worker thread)."""
        await self._run(self._open_sync)

    async def aclose(self) -> None:
        """Checkpoint and close (in a worker thread)."""
        await self._run(self._close_sync)

    def _open_sync(self) -> None:
        if self._db is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        if self.read_only and self.path != ":memory:" and not Path(self.path).exists():
            self.path = ":memory:"  # nothing recorded yet, and a dry run must not create one
        if self.read_only and self.path != ":memory:":
            uri = Path(self.path).absolute().as_uri() + "?mode=ro"
            db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=30.0)
        else:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
        if not self.read_only or self.path == ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._db = db

    def _close_sync(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.close()

    async def _run(self, func: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                return func()

        return await anyio.to_thread.run_sync(locked, limiter=self._limiter)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the journal is not open")
        return self._db

    # ---- reads -------------------------------------------------------------------------------

    async def find(self, key: JournalKey, path: str, size: int, mtime_ns: int) -> JournalRow | None:
        """The row of this exact file (path and stat fingerprint), if any."""

        def query() -> JournalRow | None:
            found = (
                self._conn()
                .execute(
                    f"SELECT {_COLUMNS} FROM uploads WHERE path=? AND size=? AND mtime_ns=? "  # noqa: S608
                    "AND target=? AND observatory=? AND data_product_type=?",
                    (path, size, mtime_ns, key.target, key.observatory, key.data_product_type),
                )
                .fetchone()
            )
            return None if found is None else _row(found)

        return await self._run(query)

    async def find_similar(self, key: JournalKey, name: str, size: int) -> list[JournalRow]:
        """Uploaded rows with this name and size (a copied or touched file?)."""

        def query() -> list[JournalRow]:
            rows = self._conn().execute(
                f"SELECT {_COLUMNS} FROM uploads WHERE name=? AND size=? AND target=? AND observatory=? "  # noqa: S608
                "AND data_product_type=? AND state='uploaded' AND sha256 IS NOT NULL LIMIT 20",
                (name, size, key.target, key.observatory, key.data_product_type),
            )
            return [_row(r) for r in rows]

        return await self._run(query)

    async def find_content(self, key: JournalKey, sha256: str) -> JournalRow | None:
        """An uploaded row with this content under this key, if any."""

        def query() -> JournalRow | None:
            found = (
                self._conn()
                .execute(
                    f"SELECT {_COLUMNS} FROM uploads WHERE sha256=? AND target=? AND observatory=? "  # noqa: S608
                    "AND data_product_type=? AND state='uploaded' LIMIT 1",
                    (sha256, key.target, key.observatory, key.data_product_type),
                )
                .fetchone()
            )
            return None if found is None else _row(found)

        return await self._run(query)

    async def known_ids(self, ids: list[int]) -> set[int]:
        """Which of these data-product ids some row already claims."""

        def query() -> set[int]:
            if not ids:
                return set()
            marks = ",".join("?" * len(ids))
            rows = self._conn().execute(
                f"SELECT data_product_id FROM uploads WHERE data_product_id IN ({marks})",  # noqa: S608
                ids,
            )
            return {int(r[0]) for r in rows}

        return await self._run(query)

    async def rows(self) -> list[JournalRow]:
        """Every row (for tests and `bhtom upload --status`)."""

        def query() -> list[JournalRow]:
            sql = f"SELECT {_COLUMNS} FROM uploads ORDER BY id"  # noqa: S608
            return [_row(r) for r in self._conn().execute(sql)]

        return await self._run(query)

    # ---- writes (each one transaction) -------------------------------------------------------

    async def begin_send(self, key: JournalKey, path: str, name: str, size: int, mtime_ns: int) -> int:
        """Record that a request for this file is about to start (state ``sending``); its row id."""

        def write() -> int:
            now = time.time()
            db = self._conn()
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "INSERT INTO uploads (target, observatory, data_product_type, path, name, size, "
                    "mtime_ns, state, attempts, sent_at, updated_at) VALUES (?,?,?,?,?,?,?,'sending',1,?,?) "
                    "ON CONFLICT (path, size, mtime_ns, target, observatory, data_product_type) "
                    "DO UPDATE SET "
                    "state='sending', attempts=attempts+1, sent_at=excluded.sent_at, "
                    "updated_at=excluded.updated_at, name=excluded.name",
                    (
                        key.target,
                        key.observatory,
                        key.data_product_type,
                        path,
                        name,
                        size,
                        mtime_ns,
                        now,
                        now,
                    ),
                )
                found = db.execute(
                    "SELECT id FROM uploads WHERE path=? AND size=? AND mtime_ns=? AND target=? "
                    "AND observatory=? AND data_product_type=?",
                    (path, size, mtime_ns, key.target, key.observatory, key.data_product_type),
                ).fetchone()
            return int(found[0])

        return await self._run(write)

    async def mark(
        self,
        row_id: int,
        state: State,
        *,
        data_product_id: int | None = None,
        reason: str | None = None,
        sha256: str | None = None,
    ) -> None:
        """Move a row to `state` (keeping a known sha256 if none is given)."""

        def write() -> None:
            db = self._conn()
            with db:
                db.execute(
                    "UPDATE uploads SET state=?, data_product_id=COALESCE(?, data_product_id), reason=?, "
                    "sha256=COALESCE(?, sha256), updated_at=? WHERE id=?",
                    (state, data_product_id, reason, sha256, time.time(), row_id),
                )

        await self._run(write)

    async def adopt(self, row_id: int, path: str, size: int, mtime_ns: int) -> None:
        """Point an uploaded row at the file's new location or timestamp (same content, moved or touched)."""

        def write() -> None:
            db = self._conn()
            with db:
                db.execute(
                    "UPDATE OR IGNORE uploads SET path=?, size=?, mtime_ns=?, updated_at=? WHERE id=?",
                    (path, size, mtime_ns, time.time(), row_id),
                )

        await self._run(write)

    async def record_skip_copy(
        self, key: JournalKey, path: str, name: str, size: int, mtime_ns: int, original: JournalRow
    ) -> None:
        """Remember a copy of an uploaded file under its own fingerprint, so it is not hashed again."""

        def write() -> None:
            db = self._conn()
            with db:
                db.execute(
                    "INSERT OR IGNORE INTO uploads (target, observatory, data_product_type, path, name, "
                    "size, mtime_ns, sha256, state, data_product_id, reason, attempts, updated_at) "
                    "VALUES (?,?,?,?,?,?,?,?,'uploaded',?,?,0,?)",
                    (
                        key.target,
                        key.observatory,
                        key.data_product_type,
                        path,
                        name,
                        size,
                        mtime_ns,
                        original.sha256,
                        original.data_product_id,
                        f"same content as {original.path}",
                        time.time(),
                    ),
                )

        await self._run(write)
