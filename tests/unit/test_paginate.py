"""The page walker: num_pages from page 1, never past it, all-rows-on-every-page, dedupe, bound."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping

import anyio
import anyio.lowlevel
import attrs
import httpx
import pytest
import respx

from bhtom_async import Client, errors
from bhtom_async._paginate import CONVERT_SLICE_S, Envelope, Pager
from bhtom_async.api._resource import Resource
from bhtom_async.models._converter import DecodeReport

from ..conftest import BASE_URL

pytestmark = pytest.mark.anyio
URL = BASE_URL + "/things/list/"


@attrs.frozen
class Thing:
    name: str
    extra: Mapping[str, object] = attrs.field(factory=dict, repr=False)


class Things(Resource):
    def list(self, *, dedupe: bool = False, prefetch: int = 4) -> Pager[Thing]:
        return self._paginate(
            "POST",
            "/things/list/",
            Thing,
            body={"q": 1},
            key=(lambda t: t.name) if dedupe else None,
            prefetch=prefetch,
        )


def envelope(page: int, num_pages: int, names: list[str], count: int | None = None) -> httpx.Response:
    data = [{"name": n} for n in names]
    total = count if count is not None else num_pages * len(names)
    return httpx.Response(
        200, json={"count": total, "num_pages": num_pages, "current_page": page, "data": data}
    )


def requested_pages(route: respx.Route) -> list[int]:
    return [json.loads(call.request.content)["page"] for call in route.calls]


async def test_walks_every_page_in_order_and_never_past_num_pages(bh: Client) -> None:
    """Three pages are fetched once each, items come out in page order."""

    def answer(request: httpx.Request) -> httpx.Response:
        page = json.loads(request.content)["page"]
        return envelope(page, 3, [f"p{page}a", f"p{page}b"])

    with respx.mock:
        route = respx.post(URL).mock(side_effect=answer)
        items = await Things(bh._session).list().to_list()
    assert [t.name for t in items] == ["p1a", "p1b", "p2a", "p2b", "p3a", "p3b"]
    assert sorted(requested_pages(route)) == [1, 2, 3]
    assert all(json.loads(c.request.content)["q"] == 1 for c in route.calls)


async def test_stops_when_server_serves_a_different_page(bh: Client) -> None:
    """Out-of-range pages come back as the last page; the walker stops instead of repeating it."""

    def answer(request: httpx.Request) -> httpx.Response:
        page = json.loads(request.content)["page"]
        return envelope(min(page, 2), 3, [f"p{min(page, 2)}"])  # the list shrank to 2 pages

    with respx.mock:
        respx.post(URL).mock(side_effect=answer)
        items = await Things(bh._session).list(prefetch=1).to_list()
    assert [t.name for t in items] == ["p1", "p2"]


async def test_all_rows_on_page_one_means_one_request(bh: Client) -> None:
    """Views that put every row on every page cost one request and no duplicates."""
    with respx.mock:
        route = respx.post(URL).mock(return_value=envelope(1, 5, ["a", "b", "c"], count=3))
        items = await Things(bh._session).list().to_list()
    assert [t.name for t in items] == ["a", "b", "c"]
    assert route.call_count == 1


async def test_key_drops_rows_already_yielded(bh: Client) -> None:
    """With a key, a row repeated on a later page is yielded once."""

    def answer(request: httpx.Request) -> httpx.Response:
        page = json.loads(request.content)["page"]
        return envelope(page, 2, ["same", f"only{page}"], count=4)

    with respx.mock:
        respx.post(URL).mock(side_effect=answer)
        items = await Things(bh._session).list(dedupe=True).to_list()
    assert [t.name for t in items] == ["same", "only1", "only2"]


async def test_prefetch_bounds_concurrent_page_requests(bh: Client) -> None:
    """With prefetch=3 no more than three page requests are in flight at once."""
    in_flight = 0
    peak = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01)
        in_flight -= 1
        page = json.loads(request.content)["page"]
        return envelope(page, 10, [f"p{page}"])

    with respx.mock:
        route = respx.post(URL).mock(side_effect=answer)
        items = await Things(bh._session).list(prefetch=3).to_list()
    assert [t.name for t in items] == [f"p{n}" for n in range(1, 11)]
    assert peak == 3
    assert route.call_count == 10


async def test_a_slow_page_does_not_hold_back_the_requests_after_it(bh: Client) -> None:
    """prefetch=2: while page 2 is slow, the other slot goes on through pages 3, 4 and 5 (a batch of
    two would wait for page 2 before asking for page 4); the pages still come out in order."""
    page_five_asked = anyio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        page = json.loads(request.content)["page"]
        if page == 2:
            with anyio.fail_after(5):
                await page_five_asked.wait()
        if page == 5:
            page_five_asked.set()
        return envelope(page, 6, [f"p{page}"])

    with respx.mock:
        respx.post(URL).mock(side_effect=answer)
        items = await Things(bh._session).list(prefetch=2).to_list()
    assert [t.name for t in items] == [f"p{n}" for n in range(1, 7)]


async def test_first_page_makes_one_request(bh: Client) -> None:
    """first_page() reads only page 1 and reports the server's totals."""
    with respx.mock:
        route = respx.post(URL).mock(return_value=envelope(1, 4, ["a"], count=4))
        page = await Things(bh._session).list().first_page()
    assert (page.number, page.num_pages, page.count, len(page.items)) == (1, 4, 4, 1)
    assert route.call_count == 1


async def test_bare_list_is_one_page(bh: Client) -> None:
    """The users view answers a bare JSON list: one page with every item."""
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, json=[{"name": "a"}, {"name": "b"}]))
        items = await Things(bh._session).list().to_list()
    assert [t.name for t in items] == ["a", "b"]


async def test_non_envelope_answer_is_a_decode_error(bh: Client) -> None:
    """An answer without a data list raises ResponseDecodeError, not KeyError."""
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, json={"unexpected": True}))
        with pytest.raises(errors.ResponseDecodeError):
            await Things(bh._session).list().to_list()


async def test_a_row_that_cannot_be_read_is_kept_not_vanishing(
    bh: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """One unreadable row among good ones is yielded in its place (fields None), with one warning."""
    rows = [{"name": "a"}, "garbage", {"name": "c"}]
    with respx.mock:
        respx.post(URL).mock(
            return_value=httpx.Response(
                200, json={"count": 3, "num_pages": 1, "current_page": 1, "data": rows}
            )
        )
        items = await Things(bh._session).list().to_list()
    assert [item.name for item in items] == ["a", None, "c"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "POST /things/list/" in warnings[0]
    assert "1 of 3 rows" in warnings[0]


async def test_unknown_keys_are_kept_in_extra(bh: Client) -> None:
    """Keys a model does not know go to `extra` instead of being dropped."""
    with respx.mock:
        respx.post(URL).mock(
            return_value=httpx.Response(
                200, json={"count": 1, "num_pages": 1, "current_page": 1, "data": [{"name": "a", "new": 5}]}
            )
        )
        (item,) = await Things(bh._session).list().to_list()
    assert item.extra == {"new": 5}


async def test_a_page_slow_to_convert_lets_other_tasks_run_between_its_rows() -> None:
    """Converting a later page yields to the event loop every `CONVERT_SLICE_S`, not once per page,
    so answers that arrive meanwhile are read and the next pages asked for."""
    ticks = 0
    seen_by_row: dict[object, int] = {}

    async def fetch(number: int) -> Callable[[], Envelope]:
        rows = [f"p{number}r{i}" for i in range(8)]
        return lambda: Envelope(number, 2, 16, list(rows), {})

    def convert(raw: object, report: DecodeReport) -> object:
        busy_until = time.perf_counter() + 2 * CONVERT_SLICE_S  # a row costlier than a slice
        while time.perf_counter() < busy_until:
            pass
        seen_by_row[raw] = ticks
        return raw

    async def ticker(done: anyio.Event) -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await anyio.lowlevel.checkpoint()

    done = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(ticker, done)
        items = await Pager(fetch, convert).to_list()
        done.set()
    assert len(items) == 16
    page_two = [seen_by_row[f"p2r{i}"] for i in range(8)]
    assert page_two == sorted(set(page_two)), "the ticker ran between every two rows of page 2"
