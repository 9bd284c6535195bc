"""Why an upload journal's path cannot be used, in one line each (and what to do).

`check_journal_path` refuses, before anything is created, a path that can never hold a journal
(empty, a folder, a FIFO or a device, below a file); `_journal_error` turns what SQLite or the
file system raised into a `JournalError` that says what happened.
"""

from __future__ import annotations

import errno
import stat
from pathlib import Path

from ..errors import JournalError

__all__ = ["check_journal_path"]

_PATH_HINT = "give a writable regular file with --journal (it is created if missing)"


def check_journal_path(path: str) -> None:
    """Raise `JournalError` if `path` (or its lock file) can never hold a journal."""
    if path == ":memory:":
        return
    if not path.strip():
        raise JournalError(path, "the path is empty", _PATH_HINT)
    given = Path(path)
    for parent in given.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise JournalError(path, f"its folder {parent} is a file", _PATH_HINT)
            break
    for checked, what in ((given, "it"), (Path(path + ".lock"), f"its lock file {path}.lock")):
        try:
            mode = checked.stat().st_mode
        except OSError:
            continue  # absent (it is created), or a problem the open itself reports
        if stat.S_ISDIR(mode):
            raise JournalError(path, f"{what} is a folder, not a file", _PATH_HINT)
        if not stat.S_ISREG(mode):
            kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
            raise JournalError(path, f"{what} is not a regular file ({kind})", _PATH_HINT)


def _journal_error(path: str, exc: BaseException) -> JournalError:
    """One line saying why the journal cannot be used, and what to do."""
    text = str(exc).lower()
    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    if full or "disk is full" in text or "disk i/o" in text:
        return JournalError(path, "the disk is full", "free some space; what is journaled stays recorded")
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return JournalError(
            path,
            "it is not an upload journal (or it is damaged)",
            "move it aside, or give another file with --journal",
        )
    if isinstance(exc, OSError) or "readonly" in text or "read-only" in text or "unable to open" in text:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return JournalError(
            path,
            f"it cannot be written ({why})",
            "check the folder's permissions, or give a writable file with --journal",
        )
    return JournalError(path, str(exc), "move it aside, or give another file with --journal")
