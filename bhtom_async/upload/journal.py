"""The upload journal's interface: what the uploader records of every file it sends, so nothing
is ever uploaded twice.

The scheduler talks to a journal through `UploadJournal` (open, find, claim, begin, finish, the
unclear rows, the ids held); `journal_sqlite.SqliteJournal` is the embedded store (one job per
journal), and `journal_pg.PostgresJournal` the shared one (many workers on many hosts; see
docs/many-hosts.md). A row (`JournalRow`) is keyed by where the file goes (`JournalKey`) and by
its stat fingerprint; `read_row` reads one from the columns both backends select.

A row in ``sending`` means "a request may have left": the next run reconciles it with the server
before re-sending.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar

import attrs

from ..models.uploads import UploadOptions
from .discovery import Fingerprint
from .events import JournalWritten

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "Claim",
    "JournalKey",
    "JournalRow",
    "State",
    "UploadJournal",
    "default_journal_path",
    "key_of",
    "read_row",
    "record_copy",
]

State = Literal["sending", "uploaded", "failed", "unknown", "changed"]


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


async def record_copy(
    journal: UploadJournal, key: JournalKey, fingerprint: Fingerprint, name: str, original: JournalRow
) -> None:
    """Remember a copy of an uploaded file under its own fingerprint, so it is not hashed again."""
    await journal.record_stored(
        key,
        fingerprint,
        name,
        original.data_product_id,
        sha256=original.sha256,
        reason=f"same content as {original.path}",
    )


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
    first_sent_at: float | None = None
    server_offset: float | None = None
    marker: str | None = None
    candidates: tuple[int, ...] = ()
    device: int = 0
    inode: int = 0
    id_floor: int | None = None
    host: str | None = None  # the host that last sent it (shared journals; None: this one)

    @property
    def server_sent_at(self) -> float | None:
        """When the first request of this row started, by the server's clock, if known."""
        start = self.first_sent_at if self.first_sent_at is not None else self.sent_at
        if start is None or self.server_offset is None:
            return None
        return start + self.server_offset


def read_row(values: tuple[object, ...]) -> JournalRow:
    """A row from its columns in the order both backends select them (`journal_sqlite.COLUMNS`)."""
    (id_, target, obs, dpt, path, name, size, mtime, sha, state, dp_id, reason, attempts) = values[:13]
    (sent, first, offset, marker, candidates, device, inode, host, floor) = values[13:22]
    return JournalRow(
        id=_int(id_),
        key=JournalKey(str(target), str(obs), str(dpt)),
        path=str(path),
        name=str(name),
        size=_int(size),
        mtime_ns=_int(mtime),
        sha256=None if sha is None else str(sha),
        state=str(state),  # type: ignore[arg-type]  # the CHECK-free column holds only State values
        data_product_id=None if dp_id is None else _int(dp_id),
        reason=None if reason is None else str(reason),
        attempts=_int(attempts),
        sent_at=_float(sent),
        first_sent_at=_float(first),
        server_offset=_float(offset),
        marker=None if marker is None else str(marker),
        candidates=tuple(json.loads(str(candidates))) if candidates else (),
        device=_int(device),
        inode=_int(inode),
        host=None if host is None else str(host),
        id_floor=None if floor is None else _int(floor),
    )


def _int(value: object) -> int:
    return int(value) if isinstance(value, (int, float, str)) else 0


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


@attrs.frozen
class Claim:
    """The answer to `UploadJournal.claim`: may this worker handle the file now?

    Attributes:
        granted: the file is this worker's until `UploadJournal.release` (or its lease lapses).
        row: when refused, the file's row (``uploaded`` by another worker), if it has one.
        holder: when refused because another worker holds it: who ("host pid N").
        retry_after: when refused because it is held: seconds before asking again is worth it.
    """

    granted: bool
    row: JournalRow | None = None
    holder: str | None = None
    retry_after: float = 0.0


#: Computes a file's content hash when a backend needs it for the file's identity.
ContentHash = Callable[[], Awaitable[str]]


_P = ParamSpec("_P")
_R = TypeVar("_R")


class _Observed(Protocol):
    on_write: Callable[[JournalWritten], None] | None


_J = TypeVar("_J", bound=_Observed)


def timed_write(
    operation: str,
) -> Callable[
    [Callable[Concatenate[_J, _P], Coroutine[Any, Any, _R]]],
    Callable[Concatenate[_J, _P], Coroutine[Any, Any, _R]],
]:
    """Decorate a backend's write: when it succeeds, its `on_write` is told how long it took."""

    def decorate(
        write: Callable[Concatenate[_J, _P], Coroutine[Any, Any, _R]],
    ) -> Callable[Concatenate[_J, _P], Coroutine[Any, Any, _R]]:
        async def timed(journal: _J, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            started = time.monotonic()
            result = await write(journal, *args, **kwargs)
            if journal.on_write is not None:
                journal.on_write(JournalWritten(operation, time.monotonic() - started))
            return result

        functools.update_wrapper(timed, write)  # its name and docstring
        return timed

    return decorate


class UploadJournal(Protocol):
    """What the uploader needs of a journal (another store can back it without scheduler changes).

    `path` is what messages show (a URL's password masked). `shared` is True when other workers
    may use the journal at the same time: the uploader then claims each file before handling it
    and asks again later for a file another worker holds.
    """

    path: str
    shared: bool
    #: Told how long each write took (the night page's metrics); None: nobody listens.
    on_write: Callable[[JournalWritten], None] | None

    @property
    def fresh(self) -> bool:
        """True when this job created the journal (so it knows nothing of earlier runs)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def open(self) -> None: ...

    async def aclose(self) -> None: ...

    async def find(self, key: JournalKey, fingerprint: Fingerprint) -> JournalRow | None: ...

    async def find_similar(self, key: JournalKey, name: str, size: int) -> list[JournalRow]: ...

    async def begin(
        self,
        key: JournalKey,
        fingerprint: Fingerprint,
        name: str,
        *,
        server_offset: float | None,
        marker: str | None,
        id_floor: int | None = None,
    ) -> JournalRow: ...

    async def finish(
        self,
        row_id: int,
        state: State,
        *,
        data_product_id: int | None = None,
        reason: str | None = None,
        sha256: str | None = None,
        candidates: Iterable[int] = (),
    ) -> None: ...

    async def record_stored(
        self,
        key: JournalKey,
        fingerprint: Fingerprint,
        name: str,
        data_product_id: int | None,
        *,
        sha256: str | None = None,
        reason: str | None = None,
    ) -> None: ...

    async def unclear(self, key: JournalKey, name: str) -> list[JournalRow]: ...

    async def held_ids(self, ids: Iterable[int]) -> set[int]: ...

    async def rows(self) -> list[JournalRow]: ...

    async def claim(
        self, key: JournalKey, candidate: Fingerprint, name: str, content: ContentHash
    ) -> Claim: ...

    async def release(self, key: JournalKey, candidate: Fingerprint) -> None: ...
