"""The PostgreSQL journal's tables: their migrations and the check on open.

Three tables (``bhtom_uploads``, ``bhtom_workers``, ``bhtom_journal_meta``) are created on first
use under a transaction-scoped advisory lock, so workers starting together create them once;
``bhtom_journal_meta.version`` says which of `MIGRATIONS` have run, and newer ones run on open.
"""

from __future__ import annotations

from typing import Any

import psycopg

__all__ = [
    "COLUMNS",
    "COLUMN_COUNT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ensure_schema",
]

#: Advisory lock key (``'bhtom'`` in ASCII) that serialises schema creation and upgrades.
_SCHEMA_LOCK = 0x6268746F6D

#: Index i takes the schema from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE bhtom_uploads (
        id BIGSERIAL PRIMARY KEY,
        target TEXT NOT NULL,
        observatory TEXT NOT NULL,
        data_product_type TEXT NOT NULL,
        name TEXT NOT NULL,
        size BIGINT NOT NULL,
        sha256 TEXT,
        file_name TEXT NOT NULL,
        mtime_ns BIGINT NOT NULL,
        path TEXT NOT NULL,
        host TEXT,
        device BIGINT NOT NULL DEFAULT 0,
        inode BIGINT NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        data_product_id BIGINT,
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        first_sent_at DOUBLE PRECISION,
        sent_at DOUBLE PRECISION,
        server_offset DOUBLE PRECISION,
        marker TEXT,
        candidates TEXT,
        updated_at DOUBLE PRECISION NOT NULL,
        owner TEXT,
        epoch BIGINT NOT NULL DEFAULT 0,
        lease_until TIMESTAMPTZ,
        UNIQUE (target, observatory, data_product_type, name, size, sha256)
    );
    CREATE INDEX bhtom_uploads_stat ON bhtom_uploads
        (file_name, size, mtime_ns, target, observatory, data_product_type);
    CREATE INDEX bhtom_uploads_name ON bhtom_uploads (name, target, observatory, data_product_type);
    CREATE INDEX bhtom_uploads_product ON bhtom_uploads (data_product_id);
    CREATE INDEX bhtom_uploads_owner ON bhtom_uploads (owner);
    CREATE TABLE bhtom_workers (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        heartbeat_at TIMESTAMPTZ NOT NULL,
        stopped_at TIMESTAMPTZ
    );
    """,
    # 2: the newest product id the server had shown before a row's first request (see reconcile.py).
    "ALTER TABLE bhtom_uploads ADD COLUMN id_floor BIGINT",
)
SCHEMA_VERSION = len(MIGRATIONS)

#: In `journal.read_row`'s order.
COLUMNS = (
    "id, target, observatory, data_product_type, path, name, size, mtime_ns, sha256, state, "
    "data_product_id, reason, attempts, sent_at, first_sent_at, server_offset, marker, candidates, "
    "device, inode, host, id_floor"
)
COLUMN_COUNT = len(COLUMNS.split(","))  # the columns a row is read from; queries add their own after them


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create or upgrade the tables, once, however many workers start together."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
    exists = conn.execute("SELECT to_regclass('bhtom_journal_meta') IS NOT NULL").fetchone()
    if not (exists and exists[0]):  # checked first: once created, workers need no CREATE right
        conn.execute("CREATE TABLE bhtom_journal_meta (version INTEGER NOT NULL)")
    found = conn.execute("SELECT version FROM bhtom_journal_meta").fetchone()
    current = int(found[0]) if found else 0
    if current > SCHEMA_VERSION:
        raise psycopg.errors.FeatureNotSupported(
            f"the journal's schema is version {current}, newer than this bhtom_async knows "
            f"({SCHEMA_VERSION}); upgrade bhtom_async"
        )
    for step in MIGRATIONS[current:]:
        conn.execute(step)
    if found is None:
        conn.execute("INSERT INTO bhtom_journal_meta (version) VALUES (%s)", (SCHEMA_VERSION,))
    elif current != SCHEMA_VERSION:
        conn.execute("UPDATE bhtom_journal_meta SET version=%s", (SCHEMA_VERSION,))
