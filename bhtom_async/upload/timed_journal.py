"""A journal that times its writes: each one is told as a `JournalWritten` event.

Strictly private. The scheduler wraps whichever `UploadJournal` it opened, so the night page
and its metrics see the journal's write latency without knowing the backend, and the backend
does not know it is watched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from .events import JournalWritten

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import TracebackType

    from typing_extensions import Self

    from .._clock import Clock
    from .discovery import Fingerprint
    from .journal import Claim, ContentHash, JournalKey, JournalRow, State, UploadJournal

__all__ = ["TimedJournal"]


class TimedJournal:
    """Strictly private: `inner`'s reads pass through; each write is timed and told to `tell`."""

    def __init__(self, inner: UploadJournal, clock: Clock, tell: Callable[[JournalWritten], None]) -> None:
        self._inner = inner
        self._clock = clock
        self._tell = tell
        self.path = inner.path
        self.shared = inner.shared

    @property
    def fresh(self) -> bool:
        return self._inner.fresh

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    @asynccontextmanager
    async def _timed(self, operation: str) -> AsyncIterator[None]:
        started = self._clock.monotonic()
        yield
        self._tell(JournalWritten(operation, self._clock.monotonic() - started))

    async def open(self) -> None:
        await self._inner.open()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def find(self, key: JournalKey, fingerprint: Fingerprint) -> JournalRow | None:
        return await self._inner.find(key, fingerprint)

    async def find_similar(self, key: JournalKey, name: str, size: int) -> list[JournalRow]:
        return await self._inner.find_similar(key, name, size)

    async def unclear(self, key: JournalKey, name: str) -> list[JournalRow]:
        return await self._inner.unclear(key, name)

    async def held_ids(self, ids: Iterable[int]) -> set[int]:
        return await self._inner.held_ids(ids)

    async def rows(self) -> list[JournalRow]:
        return await self._inner.rows()

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
        async with self._timed("begin"):
            return await self._inner.begin(
                key, fingerprint, name, server_offset=server_offset, marker=marker, id_floor=id_floor
            )

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
        async with self._timed("finish"):
            await self._inner.finish(
                row_id,
                state,
                data_product_id=data_product_id,
                reason=reason,
                sha256=sha256,
                candidates=candidates,
            )

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
        async with self._timed("record_stored"):
            await self._inner.record_stored(
                key, fingerprint, name, data_product_id, sha256=sha256, reason=reason
            )

    async def claim(self, key: JournalKey, candidate: Fingerprint, name: str, content: ContentHash) -> Claim:
        async with self._timed("claim"):
            return await self._inner.claim(key, candidate, name, content)

    async def release(self, key: JournalKey, candidate: Fingerprint) -> None:
        async with self._timed("release"):
            await self._inner.release(key, candidate)
