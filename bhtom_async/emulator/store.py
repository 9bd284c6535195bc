"""Optional SQLite persistence: every record is one JSON row, written as it changes.

Each write commits at once (autocommit, WAL), so a killed emulator loses nothing it had answered.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (kind TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL,
                                 PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteStore:
    """Rows keyed by (kind, id) plus a small key/value table for counters."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def load(self) -> tuple[dict[str, dict[int, dict[str, Any]]], dict[str, Any]]:
        """Everything stored: rows per kind, and the meta values."""
        with self._lock:
            rows: dict[str, dict[int, dict[str, Any]]] = {}
            for kind, ident, body in self._db.execute("SELECT kind, id, body FROM rows"):
                rows.setdefault(kind, {})[int(ident)] = json.loads(body)
            meta = {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}
        return rows, meta

    def put(self, kind: str, ident: int, body: dict[str, Any]) -> None:
        """Insert or replace one row."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO rows (kind, id, body) VALUES (?, ?, ?)",
                (kind, ident, json.dumps(body)),
            )

    def delete(self, kind: str, ident: int) -> None:
        """Remove one row (no error when absent)."""
        with self._lock:
            self._db.execute("DELETE FROM rows WHERE kind = ? AND id = ?", (kind, ident))

    def set_meta(self, key: str, value: Any) -> None:
        """Store one JSON-encodable counter or setting."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    def clear(self) -> None:
        """Forget everything (used by ``Emulator.reset``)."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM rows")
            self._db.execute("DELETE FROM meta")
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
