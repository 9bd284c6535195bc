"""The upload journal on PostgreSQL: one record shared by many workers on many hosts.

Same `UploadJournal` contract as `SqliteJournal`; what differs stays here.

*Identity.* A file is its destination (target, camera, type), its name as sent, its size and its
content hash (unique together), never a local path: two hosts mounting one folder at different
paths see one file. The hash is computed only when needed: a file whose name, size and
modification time match an ``uploaded`` row is known without reading it.

*Claims.* A worker handles a file only while it holds the file's claim: `claim` takes the row
with ``SELECT ... FOR UPDATE SKIP LOCKED`` when nobody else's lease on it is live, and raises
its ``epoch``. A file whose wire name another worker is sending to the same place waits (one
upload of a name to a place at a time, across hosts as within a job, so reconciling can tell
same-named frames apart). A heartbeat thread renews this worker's leases every third of `lease`; a worker
killed mid-send leaves a lease that lapses, and the next taker reconciles the row (``sending``)
with the server before re-sending. Leases are timed by the database's clock, never a worker's.

*Fencing.* Every write names the claim's epoch; a worker whose claim was taken over (a paused
VM, a partition) has its write refused with a `JournalError` saying so, and its job stops.

*Outages.* A call that cannot reach PostgreSQL is tried again for `reconnect_wait` seconds (a
restart is a pause); then it raises `JournalError`. No send starts without a durable claim
(`begin` needs a live lease), and a row left ``sending`` is reconciled by the next taker.

*Schema.* Three tables, created and upgraded on open (`journal_pg_schema`).

Why psycopg 3: it is libpq underneath, so every connection option (``sslmode``, ``sslrootcert``,
service files, ``PGPASSFILE``) passes through unchanged; it has a maintained pool and binary
wheels. Its blocking API runs in worker threads here, as the SQLite journal does, so the journal
works under any anyio backend.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
import attrs
import psycopg
from psycopg_pool import ConnectionPool

from .._clock import Clock
from .._retry import backoff
from ..errors import JournalError
from .discovery import Fingerprint
from .events import JournalWritten
from .journal import Claim, ContentHash, JournalKey, JournalRow, State, read_row, timed_write
from .journal_pg_schema import (
    COLUMN_COUNT,
    COLUMNS,
    ensure_schema,
)
from .journal_url import masked, split_options

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_RECONNECT",
    "PostgresJournal",
    "WorkerInfo",
]

logger = logging.getLogger("bhtom_async")
T = TypeVar("T")

#: Seconds a claim lasts without a heartbeat (``?lease=`` in the URL changes it).
DEFAULT_LEASE = 60.0
#: Seconds a call keeps trying to reach the database (``?reconnect=`` in the URL changes it).
DEFAULT_RECONNECT = 60.0
_DEST = "target=%s AND observatory=%s AND data_product_type=%s"
#: A lease is live until it lapses, and in any case for one lease after PostgreSQL (re)started:
#: while it was down no owner could renew, so a lapsed stamp then says nothing about the owner.
_LIVE = (
    "(owner IS NOT NULL AND (lease_until > now() "
    "OR now() - pg_postmaster_start_time() < make_interval(secs => %s)))"
)
_STALE = "its claim was taken over by another worker after its lease lapsed; this write was refused"


@attrs.frozen
class WorkerInfo:
    """One worker that used the journal (for `bhtom journal status`)."""

    id: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float
    stopped_at: float | None
    heartbeat_age: float


@attrs.frozen
class _Held:
    """Strictly private: a claim this worker holds."""

    row_id: int
    epoch: int


class PostgresJournal:
    """The shared upload journal. Open it with ``async with PostgresJournal(url) as journal:``.

    Args:
        url: ``postgresql://user[:password]@host[:port]/db[?sslmode=...&lease=SECONDS]``; every
            libpq option passes through. The password is never shown (`path` masks it).
        read_only: consult without writing or claiming (dry runs, reports).
        clock: what retries sleep on.
        lease: seconds a claim lasts without a heartbeat (default: the URL's ``lease``, else 60).
        reconnect_wait: how long a call keeps trying to reach the database before it fails
            (default: the URL's ``reconnect``, else 60).
        restart_grace: seconds after PostgreSQL (re)starts during which no lease counts as lapsed
            (its owner could not renew it while the server was down); default: `lease`.

    Raises (from `open` and every call):
        JournalError: the database cannot be reached or used (the message says why and what to
            do), or a write of a claim another worker took over was refused.
    """

    shared = True
    fresh = False  # claims coordinate every run that shares it; the new-journal warning is moot

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        clock: Clock | None = None,
        lease: float | None = None,
        reconnect_wait: float | None = None,
        restart_grace: float | None = None,
    ) -> None:
        conninfo, ours = split_options(url)
        self._conninfo = conninfo
        self._password = _password_of(conninfo)
        self.path: str = masked(url) or ""
        self.read_only = read_only
        self.lease = lease if lease is not None else float(ours.get("lease", DEFAULT_LEASE))
        self.reconnect_wait = (
            reconnect_wait if reconnect_wait is not None else float(ours.get("reconnect", DEFAULT_RECONNECT))
        )
        self.restart_grace = self.lease if restart_grace is None else restart_grace
        self._clock = clock
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._host = socket.gethostname()
        self._pool: ConnectionPool[Any] | None = None
        self._held: dict[str, _Held] = {}  # by the local path of the file claimed
        self._epochs: dict[int, int] = {}  # row id -> epoch of the claim held on it
        self._limiter = anyio.CapacityLimiter(4)
        self._stop_heartbeat = threading.Event()
        # The database's clock minus ours. Send times and the server's offset are stored on the
        # database's clock, so a worker taking a file over reads them on its own clock, however
        # skewed the two hosts' clocks are.
        self._gap = 0.0
        self._heartbeat: threading.Thread | None = None
        self.on_write: Callable[[JournalWritten], None] | None = None

    def _row(self, values: tuple[Any, ...]) -> JournalRow:
        """A row with its send times on this worker's clock (they are kept on the database's)."""
        row = read_row(values)
        gap = self._gap
        return attrs.evolve(
            row,
            sent_at=None if row.sent_at is None else row.sent_at - gap,
            first_sent_at=None if row.first_sent_at is None else row.first_sent_at - gap,
            server_offset=None if row.server_offset is None else row.server_offset + gap,
        )

    def __repr__(self) -> str:
        return f"PostgresJournal({self.path!r}, read_only={self.read_only})"

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
        """Connect, create or upgrade the schema, and (unless read-only) start the heartbeat."""
        if self._pool is not None:
            return
        pool: ConnectionPool[Any] = ConnectionPool(
            self._conninfo, min_size=1, max_size=4, open=False, timeout=10.0, name="bhtom-journal"
        )
        self._pool = pool
        try:
            await self._reach()
            await anyio.to_thread.run_sync(pool.open)
            await self._run(ensure_schema)
            self._gap = await self._run(_clock_gap)
            if not self.read_only:
                await self._run(self._register)
        except BaseException:
            await anyio.to_thread.run_sync(pool.close)
            self._pool = None
            raise
        if not self.read_only:
            self._heartbeat = threading.Thread(target=self._beat, name="bhtom-journal-heartbeat", daemon=True)
            self._heartbeat.start()

    async def aclose(self) -> None:
        """Stop the heartbeat, give back the claims still held, and close the connections."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        self._stop_heartbeat.set()
        heartbeat, self._heartbeat = self._heartbeat, None

        def close() -> None:
            if heartbeat is not None:
                heartbeat.join(timeout=5.0)
            if not self.read_only:
                try:
                    with pool.connection(timeout=2.0) as conn:
                        conn.execute(
                            "UPDATE bhtom_uploads SET owner=NULL, lease_until=NULL WHERE owner=%s",
                            (self.worker,),
                        )
                        conn.execute("UPDATE bhtom_workers SET stopped_at=now() WHERE id=%s", (self.worker,))
                except psycopg.Error:
                    pass  # the leases lapse by themselves
            pool.close(timeout=2.0)

        await anyio.to_thread.run_sync(close)
        self._held.clear()
        self._epochs.clear()

    async def _reach(self) -> None:
        """Connect once outside the pool, so a refusal is reported with libpq's own reason."""

        def probe() -> None:
            psycopg.connect(self._conninfo, connect_timeout=10).close()

        await self._retrying(lambda: anyio.to_thread.run_sync(probe, limiter=self._limiter))

    def _register(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            "INSERT INTO bhtom_workers (id, host, pid, started_at, heartbeat_at) "
            "VALUES (%s, %s, %s, now(), now())",
            (self.worker, self._host, os.getpid()),
        )

    def _beat(self) -> None:
        """Renew this worker's leases every third of the lease (runs in its own thread)."""
        interval = self.lease / 3
        while not self._stop_heartbeat.wait(interval):
            pool = self._pool
            if pool is None:
                return
            try:
                with pool.connection(timeout=interval) as conn:
                    conn.execute(
                        "UPDATE bhtom_uploads SET lease_until=now() + make_interval(secs => %s) "
                        "WHERE owner=%s AND lease_until IS NOT NULL",
                        (self.lease, self.worker),
                    )
                    conn.execute("UPDATE bhtom_workers SET heartbeat_at=now() WHERE id=%s", (self.worker,))
            except (psycopg.Error, OSError) as exc:
                logger.warning("journal heartbeat failed (%s); trying again", self._scrub(str(exc)))

    async def _run(self, func: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run `func` in one transaction in a worker thread, trying again while unreachable."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("the journal is not open")

        def once() -> T:
            with (
                pool.connection(timeout=min(10.0, max(0.1, self.reconnect_wait))) as conn,
                conn.transaction(),
            ):
                return func(conn)

        return await self._retrying(lambda: anyio.to_thread.run_sync(once, limiter=self._limiter))

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call`, tried again while PostgreSQL cannot be reached, for `reconnect_wait` seconds."""
        start = time.monotonic()
        attempt = 0
        while True:
            try:
                return await call()
            except psycopg.OperationalError as exc:
                attempt += 1
                if time.monotonic() - start >= self.reconnect_wait:
                    raise self._error(exc, unreachable=True) from None
                wait = backoff(attempt, initial=0.2, maximum=2.0)
                logger.warning("journal %s unreachable (%s); trying again", self.path, self._scrub(str(exc)))
                if self._clock is not None:
                    await self._clock.sleep(wait)
                else:
                    await anyio.sleep(wait)
            except psycopg.Error as exc:
                raise self._error(exc, unreachable=False) from None

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    def _error(self, exc: psycopg.Error, *, unreachable: bool) -> JournalError:
        text = self._scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        if unreachable:
            return JournalError(
                self.path,
                f"PostgreSQL cannot be reached ({text})",
                "check that the server runs and the URL is right; a re-run reconciles what was in flight",
            )
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return JournalError(
                self.path,
                f"permission denied ({text})",
                "grant the role CREATE on the database's schema (see docs/many-hosts.md)",
            )
        return JournalError(self.path, text, "see docs/many-hosts.md")

    def _stale(self, what: str) -> JournalError:
        return JournalError(
            self.path, f"{what}: {_STALE}", "nothing is lost: the new owner reconciles it before re-sending"
        )

    # ---- claims ------------------------------------------------------------------------------

    @timed_write("claim")
    async def claim(self, key: JournalKey, candidate: Fingerprint, name: str, content: ContentHash) -> Claim:
        """Take the file for this worker unless another's lease on it is live or it is stored."""
        if self.read_only:
            return Claim(granted=True)
        known = await self._find_stored(key, candidate)
        if known is not None:
            return Claim(granted=False, row=known)
        sha256 = await content()
        fp = candidate
        where = (key.target, key.observatory, key.data_product_type, name, fp.size, sha256)

        def take(conn: psycopg.Connection[Any]) -> tuple[Claim, _Held | None]:
            conn.execute(
                "INSERT INTO bhtom_uploads (target, observatory, data_product_type, name, size, sha256, "
                "file_name, mtime_ns, path, host, device, inode, state, updated_at) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,'new',%s) ON CONFLICT DO NOTHING",
                (
                    *where,
                    os.path.basename(fp.path),
                    fp.mtime_ns,
                    fp.path,
                    self._host,
                    fp.device,
                    fp.inode,
                    time.time(),
                ),
            )
            found = conn.execute(
                f"SELECT {COLUMNS}, owner, {_LIVE}, "  # noqa: S608
                "EXTRACT(EPOCH FROM lease_until - now()) FROM bhtom_uploads "
                f"WHERE {_DEST} AND name=%s AND size=%s AND sha256=%s FOR UPDATE SKIP LOCKED",
                (self.restart_grace, *where),
            ).fetchone()
            if found is None:  # another worker is claiming it this very moment
                return Claim(granted=False, holder="another worker", retry_after=0.5), None
            row, owner, live, left = (
                self._row(found[:COLUMN_COUNT]),
                found[COLUMN_COUNT],
                found[COLUMN_COUNT + 1],
                found[COLUMN_COUNT + 2],
            )
            if row.state == "uploaded":
                return Claim(granted=False, row=row), None
            if live and owner != self.worker:
                return Claim(
                    granted=False, holder=_who(owner), retry_after=max(0.5, float(left or 0.0))
                ), None
            # One upload of a name to a place at a time, across workers too (as within one job):
            # two same-named frames in flight at once could not be told apart on the server.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("|".join(where[:4]),))
            rival = conn.execute(
                f"SELECT owner FROM bhtom_uploads WHERE {_DEST} AND name=%s AND id<>%s "  # noqa: S608
                f"AND owner IS NOT NULL AND owner<>%s AND {_LIVE} LIMIT 1",
                (*where[:4], row.id, self.worker, self.restart_grace),
            ).fetchone()
            if rival is not None:
                return Claim(granted=False, holder=_who(rival[0]), retry_after=0.5), None
            epoch = conn.execute(
                "UPDATE bhtom_uploads SET owner=%s, epoch=epoch+1, "
                "lease_until=now() + make_interval(secs => %s), path=%s, file_name=%s, mtime_ns=%s, "
                "device=%s, inode=%s, host=%s WHERE id=%s RETURNING epoch",
                (
                    self.worker,
                    self.lease,
                    fp.path,
                    os.path.basename(fp.path),
                    fp.mtime_ns,
                    fp.device,
                    fp.inode,
                    self._host,
                    row.id,
                ),
            ).fetchone()
            assert epoch is not None
            return Claim(granted=True, row=None), _Held(row.id, int(epoch[0]))

        claim, held = await self._run(take)
        if held is not None:
            self._held[fp.path] = held
            self._epochs[held.row_id] = held.epoch
        return claim

    @timed_write("release")
    async def release(self, key: JournalKey, candidate: Fingerprint) -> None:
        """Give the file's claim back (its row keeps its state)."""
        held = self._held.pop(candidate.path, None)
        if held is None:
            return
        self._epochs.pop(held.row_id, None)

        def write(conn: psycopg.Connection[Any]) -> None:
            conn.execute(
                "UPDATE bhtom_uploads SET owner=NULL, lease_until=NULL WHERE id=%s AND owner=%s AND epoch=%s",
                (held.row_id, self.worker, held.epoch),
            )

        await self._run(write)

    # ---- reads -------------------------------------------------------------------------------

    async def _find_stored(self, key: JournalKey, fp: Fingerprint) -> JournalRow | None:
        """An ``uploaded`` row with this file's name, size and modification time, if any."""
        found = await self._by_stat(key, fp, "AND state='uploaded' ")
        return found

    async def _by_stat(self, key: JournalKey, fp: Fingerprint, extra: str) -> JournalRow | None:
        values = (
            key.target,
            key.observatory,
            key.data_product_type,
            os.path.basename(fp.path),
            fp.size,
            fp.mtime_ns,
        )

        def query(conn: psycopg.Connection[Any]) -> JournalRow | None:
            found = conn.execute(
                f"SELECT {COLUMNS} FROM bhtom_uploads WHERE {_DEST} AND file_name=%s AND size=%s "  # noqa: S608
                f"AND mtime_ns=%s AND state <> 'new' {extra}ORDER BY (state='uploaded') DESC, id LIMIT 1",
                values,
            ).fetchone()
            return None if found is None else self._row(found)

        return await self._run(query)

    async def find(self, key: JournalKey, fingerprint: Fingerprint) -> JournalRow | None:
        """The row of the file this worker claimed; else one with its name, size and mtime."""
        held = self._held.get(fingerprint.path)
        if held is None:
            return await self._by_stat(key, fingerprint, "")

        def query(conn: psycopg.Connection[Any]) -> JournalRow | None:
            found = conn.execute(
                f"SELECT {COLUMNS} FROM bhtom_uploads WHERE id=%s AND state <> 'new'",  # noqa: S608
                (held.row_id,),
            ).fetchone()
            return None if found is None else self._row(found)

        return await self._run(query)

    async def find_similar(self, key: JournalKey, name: str, size: int) -> list[JournalRow]:
        """Uploaded rows with this wire name and size and a known hash (a copied or touched file?)."""
        return await self._select(
            f"{_DEST} AND name=%s AND size=%s AND state='uploaded' AND sha256 IS NOT NULL LIMIT 50",
            (key.target, key.observatory, key.data_product_type, name, size),
        )

    async def unclear(self, key: JournalKey, name: str) -> list[JournalRow]:
        """Rows sent under this wire name to this destination whose outcome is not known."""
        return await self._select(
            f"{_DEST} AND name=%s AND state IN ('sending', 'unknown')",
            (key.target, key.observatory, key.data_product_type, name),
        )

    async def held_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of these data-product ids some row (any worker's) already holds."""
        wanted = list(ids)
        if not wanted:
            return set()

        def query(conn: psycopg.Connection[Any]) -> set[int]:
            rows = conn.execute(
                "SELECT data_product_id FROM bhtom_uploads WHERE data_product_id = ANY(%s)", (wanted,)
            ).fetchall()
            return {int(r[0]) for r in rows}

        return await self._run(query)

    async def rows(self) -> list[JournalRow]:
        """Every row of every worker (claims never sent are left out)."""
        return await self._select("state <> 'new' ORDER BY id", ())

    async def _select(self, where: str, values: tuple[object, ...]) -> list[JournalRow]:
        def query(conn: psycopg.Connection[Any]) -> list[JournalRow]:
            sql = f"SELECT {COLUMNS} FROM bhtom_uploads WHERE {where}"  # noqa: S608
            return [self._row(r) for r in conn.execute(sql, values).fetchall()]

        return await self._run(query)

    async def workers(self) -> list[WorkerInfo]:
        """Every worker that opened the journal for writing, newest first."""

        def query(conn: psycopg.Connection[Any]) -> list[WorkerInfo]:
            found = conn.execute(
                "SELECT id, host, pid, EXTRACT(EPOCH FROM started_at), EXTRACT(EPOCH FROM heartbeat_at), "
                "EXTRACT(EPOCH FROM stopped_at), EXTRACT(EPOCH FROM now() - heartbeat_at) "
                "FROM bhtom_workers ORDER BY started_at DESC"
            ).fetchall()
            return [
                WorkerInfo(
                    str(r[0]),
                    str(r[1]),
                    int(r[2]),
                    float(r[3]),
                    float(r[4]),
                    _float(r[5]),
                    float(r[6]),
                )
                for r in found
            ]

        return await self._run(query)

    async def claims(self) -> list[tuple[JournalRow, str, bool]]:
        """Rows claimed now: the row, its owner, and whether the lease is live (False: stale)."""

        def query(conn: psycopg.Connection[Any]) -> list[tuple[JournalRow, str, bool]]:
            found = conn.execute(
                f"SELECT {COLUMNS}, owner, lease_until > now() FROM bhtom_uploads "  # noqa: S608
                "WHERE owner IS NOT NULL ORDER BY id"
            ).fetchall()
            return [
                (self._row(r[:COLUMN_COUNT]), str(r[COLUMN_COUNT]), bool(r[COLUMN_COUNT + 1])) for r in found
            ]

        return await self._run(query)

    # ---- writes (each one transaction, fenced by the claim's epoch) ---------------------------

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
        """Record that a request is about to start (``sending``); needs a live claim on the file."""
        held = self._held.get(fingerprint.path)
        if held is None:
            raise self._stale(f"{name} is not claimed by this worker")
        fp = fingerprint

        def write(conn: psycopg.Connection[Any]) -> JournalRow | None:
            now = time.time()
            found = conn.execute(
                "UPDATE bhtom_uploads SET state='sending', attempts=attempts+1, sent_at=%s, "  # noqa: S608
                "first_sent_at=COALESCE(first_sent_at, %s), server_offset=COALESCE(%s, server_offset), "
                "marker=COALESCE(marker, %s), id_floor=COALESCE(id_floor, %s), path=%s, host=%s, "
                "updated_at=%s, "
                "lease_until=now() + make_interval(secs => %s) WHERE id=%s AND owner=%s AND epoch=%s "
                f"RETURNING {COLUMNS}",
                (
                    now + self._gap,
                    now + self._gap,
                    None if server_offset is None else server_offset - self._gap,
                    marker,
                    id_floor,
                    fp.path,
                    self._host,
                    now,
                    self.lease,
                    held.row_id,
                    self.worker,
                    held.epoch,
                ),
            ).fetchone()
            return None if found is None else self._row(found)

        row = await self._run(write)
        if row is None:
            raise self._stale(f"{name} could not be marked sending")
        return row

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
        """Move a claimed row to `state` (keeping a known id and sha256 if none is given)."""
        epoch = self._epochs.get(row_id)
        if epoch is None:
            raise self._stale(f"row {row_id} is not claimed by this worker")
        listed = json.dumps(sorted(candidates)) if candidates else None

        def write(conn: psycopg.Connection[Any]) -> int:
            done = conn.execute(
                "UPDATE bhtom_uploads SET state=%s, data_product_id=COALESCE(%s, data_product_id), "
                "reason=%s, sha256=COALESCE(%s, sha256), candidates=%s, updated_at=%s "
                "WHERE id=%s AND owner=%s AND epoch=%s",
                (state, data_product_id, reason, sha256, listed, time.time(), row_id, self.worker, epoch),
            )
            return done.rowcount

        if await self._run(write) != 1:
            raise self._stale(f"the outcome of row {row_id} ({state})")

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
        held = self._held.get(fingerprint.path)
        fp = fingerprint

        def write(conn: psycopg.Connection[Any]) -> int:
            if held is not None:
                return conn.execute(
                    "UPDATE bhtom_uploads SET state='uploaded', data_product_id=%s, "
                    "sha256=COALESCE(sha256, %s), reason=%s, updated_at=%s "
                    "WHERE id=%s AND owner=%s AND epoch=%s",
                    (data_product_id, sha256, reason, time.time(), held.row_id, self.worker, held.epoch),
                ).rowcount
            conn.execute(
                "INSERT INTO bhtom_uploads (target, observatory, data_product_type, name, size, sha256, "
                "file_name, mtime_ns, path, host, device, inode, state, data_product_id, reason, "
                "updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,'uploaded',%s,%s,%s) "
                "ON CONFLICT DO NOTHING",
                (
                    key.target,
                    key.observatory,
                    key.data_product_type,
                    name,
                    fp.size,
                    sha256,
                    os.path.basename(fp.path),
                    fp.mtime_ns,
                    fp.path,
                    self._host,
                    fp.device,
                    fp.inode,
                    data_product_id,
                    reason,
                    time.time(),
                ),
            )
            return 1

        if await self._run(write) != 1:
            raise self._stale(f"{name} could not be recorded as stored")

    async def import_rows(self, rows: Iterable[JournalRow]) -> int:
        """Copy rows of another journal in (rows already present are left); how many were added."""
        listed = list(rows)

        def write(conn: psycopg.Connection[Any]) -> int:
            added = 0
            for r in listed:
                state = "unknown" if r.state == "sending" else r.state
                reason = (
                    r.reason
                    if r.state != "sending"
                    else "imported while sending; reconciled before any re-send"
                )
                done = conn.execute(
                    "INSERT INTO bhtom_uploads (target, observatory, data_product_type, name, size, "
                    "sha256, file_name, mtime_ns, path, host, device, inode, state, data_product_id, "
                    "reason, attempts, first_sent_at, sent_at, server_offset, marker, candidates, "
                    "id_floor, updated_at) "
                    "SELECT %s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s "
                    "WHERE NOT EXISTS (SELECT 1 FROM bhtom_uploads WHERE target=%s AND observatory=%s "
                    "AND data_product_type=%s AND name=%s AND size=%s AND mtime_ns=%s AND file_name=%s) "
                    "ON CONFLICT DO NOTHING",
                    (
                        r.key.target,
                        r.key.observatory,
                        r.key.data_product_type,
                        r.name,
                        r.size,
                        r.sha256,
                        os.path.basename(r.path),
                        r.mtime_ns,
                        r.path,
                        r.host or self._host,
                        r.device,
                        r.inode,
                        state,
                        r.data_product_id,
                        reason,
                        r.attempts,
                        None if r.first_sent_at is None else r.first_sent_at + self._gap,
                        None if r.sent_at is None else r.sent_at + self._gap,
                        None if r.server_offset is None else r.server_offset - self._gap,
                        r.marker,
                        json.dumps(list(r.candidates)) if r.candidates else None,
                        r.id_floor,
                        time.time(),
                        r.key.target,
                        r.key.observatory,
                        r.key.data_product_type,
                        r.name,
                        r.size,
                        r.mtime_ns,
                        os.path.basename(r.path),
                    ),
                )
                added += done.rowcount
            return added

        return await self._run(write)


def _clock_gap(conn: psycopg.Connection[Any]) -> float:
    """The database's clock minus ours (seconds), read once at open."""
    before = time.time()
    found = conn.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())").fetchone()
    after = time.time()
    assert found is not None
    return float(found[0]) - (before + after) / 2


def _who(owner: str | None) -> str:
    """``host pid N`` from a worker id (``host:pid:nonce``)."""
    if not owner:
        return "another worker"
    host, _, rest = owner.partition(":")
    return f"{host} pid {rest.partition(':')[0]}"


def _password_of(conninfo: str) -> str | None:
    try:
        return psycopg.conninfo.conninfo_to_dict(conninfo).get("password") or None  # type: ignore[return-value]
    except psycopg.ProgrammingError:
        return None


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
