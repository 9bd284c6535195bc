"""Is this frame already on the server? One listing per destination, not one request per file.

The journal knows what this journal sent. A night uploaded before under another journal (a new
machine, a deleted journal) is invisible to it, and sending it again would store every frame
twice. With `JobOptions.check_server`, a file with no journal row is first looked for among the
destination's stored products (target, camera, type), listed once per job and cached.

A stored product counts as this file when the rule of `reconcile` finds it: the exact target,
type and camera, the file's wire name alone or behind the server's numeric prefix, and created
after the file was last changed (by the server's clock, within a few seconds). What it cannot
see: it cannot tell this file from another file of the same name sent to the same target and
camera after this one was last written (for example by a colleague sharing the camera and the
naming scheme); such a file is then reported as already on the server, not sent. Nor can it
see another run sending the same files at the same time under another journal: the listing
shows what was stored when it was made, so both runs send (the scheduler says so when the
server check is a new journal's only protection).

Cost: one listing per destination (a request per 500 or 1,000 products created since the oldest
file's last change, less a day), again only when an older file turns up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import anyio
import attrs

from .journal import JournalKey
from .reconcile import ProductLike, Sent, Verdict, attribute

__all__ = ["Listing", "ServerIndex"]

#: ``listing(key, created_after)``: the destination's products created after that epoch second.
Listing = Callable[[JournalKey, float], AsyncIterator[ProductLike]]
#: How far before the oldest file's last change the listing starts (seconds).
SLACK = 86400.0


@attrs.define
class _Cached:
    since: float
    by_name: dict[str, list[ProductLike]]
    unreadable: list[ProductLike]  # a product whose path cannot be read might be any file


class ServerIndex:
    """The stored products of each destination, listed once and looked up by file name.

    Args:
        listing: lists a destination's products created after a time (our epoch seconds).
        server_offset: the server's clock minus ours, as last read from its answers.
        clock_gap: how far the server's ``created`` stamps run from its ``Date`` clock, once
            found to disagree; then a same-named product cannot be dated and the file is unknown.
    """

    def __init__(
        self,
        listing: Listing,
        server_offset: Callable[[], float | None],
        clock_gap: Callable[[], float | None] = lambda: None,
    ) -> None:
        self._listing = listing
        self._offset = server_offset
        self._gap = clock_gap
        self._cache: dict[JournalKey, _Cached] = {}
        self._lock = anyio.Lock()
        self.requests = 0  # listings made (for reports and tests)

    async def find(
        self,
        key: JournalKey,
        wire_name: str,
        changed_at: float,
        held: Callable[[Iterable[int]], Awaitable[set[int]]],
    ) -> Verdict:
        """Whether a file sent as `wire_name`, last changed at `changed_at` (our clock), is stored.

        ``stored`` with its id, ``absent``, or ``unknown`` when several products (or one that
        cannot be read) could be it. `held` tells which ids other journal rows already hold.
        """
        async with self._lock:
            cached = self._cache.get(key)
            if cached is None or changed_at < cached.since:
                cached = await self._fill(key, changed_at - SLACK)
        offset = self._offset()
        # The file was last changed at `changed_at`: an upload of this content cannot be older.
        sent = Sent(key, wire_name, None, changed_at, offset)
        candidates = [*cached.by_name.get(wire_name, []), *cached.unreadable]
        taken = frozenset(await held([c.id for c in candidates if c.id is not None]))
        return attribute(candidates, sent, offset_now=offset, held=taken, clock_gap=self._gap())

    async def _fill(self, key: JournalKey, since: float) -> _Cached:
        cached = _Cached(since, defaultdict(list), [])
        self.requests += 1
        async for item in self._listing(key, since):
            name = _stored_name(item.data)
            if name is None:
                cached.unreadable.append(item)
            else:
                cached.by_name[name].append(item)
        self._cache[key] = cached
        return cached


def _stored_name(data: str | None) -> str | None:
    """The file name a stored path was sent under (without the server's numeric prefix)."""
    if not data:
        return None
    stored = data.rsplit("/", 1)[-1]
    prefix, _, rest = stored.partition("_")
    return rest if prefix.isdigit() and rest else stored
