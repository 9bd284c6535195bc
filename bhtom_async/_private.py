"""Private files: the journal, its SQLite siblings and ``--log-file`` are created mode 0600.

They name every target, camera and folder of a night; on a shared observatory PC the default
0644 would let every account read them. The config file is private the same way
(`_config.write_config_file`).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRIVATE_MODE", "create_private", "restrict_siblings"]

#: Read and write for the owner only.
PRIVATE_MODE = 0o600
#: The files SQLite keeps beside a database in WAL mode.
SQLITE_SIBLINGS = ("-wal", "-shm", "-journal")


def create_private(path: str | os.PathLike[str]) -> None:
    """Create `path` empty with mode 0600 if it does not exist; an existing file is left as it is.

    Creating it first (``O_CREAT`` without ``O_TRUNC``) means the file is never readable by others,
    not even for the moment before a later ``chmod``. Blocking: call it from a worker thread.
    """
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), PRIVATE_MODE)
    os.close(fd)


def restrict_siblings(database: str | os.PathLike[str]) -> None:
    """Give the database's ``-wal``/``-shm`` files no more access than the database itself has.

    SQLite creates them with the database's mode; this also tightens siblings an older version
    left world-readable. Blocking: call it from a worker thread.
    """
    base = Path(database)
    try:
        mode = base.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    for suffix in SQLITE_SIBLINGS:
        sibling = base.with_name(base.name + suffix)
        try:
            current = sibling.stat().st_mode & 0o777
            if current & ~mode:
                sibling.chmod(current & mode)
        except FileNotFoundError:
            continue
