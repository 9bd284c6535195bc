"""Which journal a location names: a SQLite file (the default) or a PostgreSQL URL.

The uploader, `bhtom results` and `bhtom journal` open journals only through `open_journal`, so
they see the `UploadJournal` protocol and never a backend.
"""

from __future__ import annotations

import os

from .._clock import Clock
from ..errors import MissingDependencyError
from .journal import UploadJournal
from .journal_sqlite import SqliteJournal
from .journal_url import is_postgres_url

__all__ = ["open_journal"]


def open_journal(
    location: str | os.PathLike[str],
    *,
    read_only: bool = False,
    wait: float = 0.0,
    clock: Clock | None = None,
) -> UploadJournal:
    """The journal at `location`, not yet opened (call ``await journal.open()`` or ``async with``).

    Args:
        location: a SQLite file (``":memory:"`` keeps nothing) or ``postgresql://...``.
        read_only: consult without writing (dry runs, reports).
        wait: SQLite only: seconds to wait for another job holding the file.
        clock: what waits sleep on.

    Raises:
        MissingDependencyError: a PostgreSQL URL without the ``postgres`` extra installed.
    """
    where = os.fspath(location)
    if not is_postgres_url(where):
        return SqliteJournal(where, read_only=read_only, wait=wait, clock=clock)
    try:
        from .journal_pg import PostgresJournal
    except ImportError:
        raise MissingDependencyError("a PostgreSQL journal", "psycopg", extra="postgres") from None
    return PostgresJournal(where, read_only=read_only, clock=clock)
