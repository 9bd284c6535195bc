"""The one page walker for every list endpoint.

The server's lists answer ``{"count", "num_pages", "current_page", "data"}``. It answers a page
past the end with the *last* page, and two views put every row on every page
(docs/server-behaviour.md, "Pagination"), so the walker reads `num_pages` from page 1, never
asks past it, stops early when page 1 already holds all `count` rows, and drops rows it has
already yielded when a key function is given (a row whose key is None, an identity the converter
could not read, is never dropped).

After page 1 (it says how many pages there are) the walker keeps `prefetch` requests in flight
until the last page has been asked for, rather than waiting for the slowest of each batch of
`prefetch`: a 50-page list then takes about one round trip plus 49 / `prefetch` of them. Pages
come back in order, a run of them at a time; a run holds at most `BUFFERED_ROWS` rows (at least
`prefetch` pages), so memory stays bounded whatever the list's length.

Rows are converted by the tolerant converter; what it could not read as typed is summed over
every page of one walk and logged as one warning at its end, never one line per row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

import anyio
import anyio.lowlevel
import attrs
from anyio.streams.memory import MemoryObjectSendStream

from .errors import ResponseDecodeError
from .models._converter import DecodeReport
from .models.results import ResultSet

__all__ = ["Page", "Pager", "parse_envelope"]

T = TypeVar("T")
DEFAULT_PREFETCH = 4
#: Rows of fetched pages held at once before they are yielded (a run of pages, see above).
BUFFERED_ROWS = 10_000
#: CPU seconds of row conversion between two yields to the event loop, so that answers arriving
#: meanwhile are read and the next pages asked for without waiting for a whole page's conversion.
CONVERT_SLICE_S = 0.0005
logger = logging.getLogger("bhtom_async")


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: its number, the totals the server reported, and its items."""

    number: int
    num_pages: int
    count: int
    items: tuple[T, ...]
    extra: Mapping[str, object] = attrs.field(factory=dict)


@attrs.frozen
class Envelope:
    """A page as the server sent it, before its items are converted."""

    number: int
    num_pages: int
    count: int
    data: list[object]
    extra: Mapping[str, object]


def parse_envelope(payload: object, *, method: str, path: str, requested: int) -> Envelope:
    """Check and unpack a paginated answer. A bare list (the users view) is one whole page."""
    if isinstance(payload, list):
        return Envelope(1, 1, len(payload), payload, {})
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ResponseDecodeError(
            "expected a paginated object with a 'data' list",
            method=method,
            path=path,
            status=200,
            snippet=repr(payload)[:80],
        )
    data: list[object] = payload["data"]
    try:
        num_pages = max(1, int(payload.get("num_pages", 1)))
        current = int(payload.get("current_page", requested))
        count = int(payload.get("count", len(data)))
    except (TypeError, ValueError):
        raise ResponseDecodeError(
            "page counters are not numbers",
            method=method,
            path=path,
            status=200,
            snippet=repr({k: v for k, v in payload.items() if k != "data"})[:80],
        ) from None
    known = {"count", "num_pages", "current_page", "data"}
    extra = {k: v for k, v in payload.items() if k not in known}
    return Envelope(current, num_pages, count, data, extra)


#: Asks the server for page n; answers with the page's decoder, called once the requests that
#: follow are on their way (a 200-row page takes milliseconds to decode).
FetchPage = Callable[[int], Awaitable[Callable[[], Envelope]]]


class Pager(Generic[T]):
    """Items across all pages, in order: ``async for item in pager``.

    Also: `await pager.first_page()`, ``async for page in pager.pages()``, `await pager.to_list()`
    (a `ResultSet`: a list that also gives ``.to_table()``, ``.to_pandas()`` and a notebook table).
    Pages after the first are fetched with `prefetch` requests in flight, and yielded in order.
    `convert(raw, report)` turns one row into an item and counts what it could not read in
    `report`; each walk (each of the calls above) logs one warning naming `call` when it did.
    """

    def __init__(
        self,
        fetch: FetchPage,
        convert: Callable[[object, DecodeReport], T],
        *,
        key: Callable[[T], Hashable] | None = None,
        prefetch: int = DEFAULT_PREFETCH,
        call: str = "list",
        kind: type[T] | None = None,
    ) -> None:
        self._kind = kind
        self._fetch = fetch
        self._convert = convert
        self._key = key
        self._prefetch = max(1, prefetch)
        self._call = call

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def first_page(self) -> Page[T]:
        """Only page 1 (one request)."""
        report = DecodeReport()
        decode = await self._fetch(1)
        page = self._page(decode(), report)
        self._warn(report)
        return page

    async def to_list(self) -> ResultSet[T]:
        """Every item of every page, as a `ResultSet` (a list)."""
        return ResultSet([item async for item in self], kind=self._kind)

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Each page in order; never requests a page number above the server's `num_pages`."""
        report = DecodeReport()
        try:
            async for page in self._walk(report):
                yield page
        finally:
            self._warn(report)

    async def _walk(self, report: DecodeReport) -> AsyncIterator[Page[T]]:
        first = (await self._fetch(1))()
        yield self._page(first, report)
        if first.num_pages <= 1 or len(first.data) >= first.count:
            return
        run = max(self._prefetch, BUFFERED_ROWS // max(1, len(first.data)))
        for start in range(2, first.num_pages + 1, run):
            numbers = range(start, min(start + run, first.num_pages + 1))
            fetched = await self._fetch_run(numbers, report)
            for number in numbers:
                page = fetched[number]
                if page.number != number:
                    return  # the server served another page: the list shrank while we walked it
                yield page

    async def _fetch_run(self, numbers: range, report: DecodeReport) -> dict[int, Page[T]]:
        """Fetch pages `numbers` with `prefetch` requests in flight until the last has started.

        A page that arrives goes to one converter task, which decodes and converts it, and its
        fetcher asks for the next page at once; the converter yields every `CONVERT_SLICE_S`,
        so new requests are not held up behind a page being decoded or converted.
        """
        fetched: dict[int, Page[T]] = {}
        waiting = iter(numbers)
        send, receive = anyio.create_memory_object_stream[tuple[int, Callable[[], Envelope]]](len(numbers))

        async def fetcher(out: MemoryObjectSendStream[tuple[int, Callable[[], Envelope]]]) -> None:
            async with out:
                for number in waiting:  # shared: each fetcher takes the next page not yet asked for
                    out.send_nowait((number, await self._fetch(number)))

        async def converter() -> None:
            async with receive:
                async for number, decode in receive:
                    fetched[number] = await self._page_yielding(decode(), report)

        async with anyio.create_task_group() as group:
            group.start_soon(converter)
            for _ in range(min(self._prefetch, len(numbers))):
                group.start_soon(fetcher, send.clone())
            send.close()
        return fetched

    async def _page_yielding(self, envelope: Envelope, report: DecodeReport) -> Page[T]:
        items: list[T] = []
        convert = self._convert
        until = time.perf_counter() + CONVERT_SLICE_S
        for raw in envelope.data:
            if time.perf_counter() > until:
                await anyio.lowlevel.checkpoint()
                until = time.perf_counter() + CONVERT_SLICE_S
            items.append(convert(raw, report))
        return Page(envelope.number, envelope.num_pages, envelope.count, tuple(items), envelope.extra)

    async def _items(self) -> AsyncIterator[T]:
        seen: set[Hashable] = set()
        async for page in self.pages():
            for item in page.items:
                if self._key is not None:
                    marker = self._key(item)
                    if marker is not None:
                        if marker in seen:
                            continue
                        seen.add(marker)
                yield item

    def _page(self, envelope: Envelope, report: DecodeReport) -> Page[T]:
        return Page(
            number=envelope.number,
            num_pages=envelope.num_pages,
            count=envelope.count,
            items=tuple(self._convert(raw, report) for raw in envelope.data),
            extra=envelope.extra,
        )

    def _warn(self, report: DecodeReport) -> None:
        message = report.message(self._call)
        if message is not None:
            logger.warning("%s", message)
