"""The calibration poller (`bh.calibration.wait`) against a simulated server on a ManualClock."""

from __future__ import annotations

import base64
import itertools
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from bhtom_async import Client
from bhtom_async.errors import InvalidInputError
from bhtom_async.models import CalibrationResult, CalibrationStatus, UploadedFile
from bhtom_async.poll import CalibrationWait, PollOptions
from bhtom_async.testing import ManualClock

from ..conftest import BASE_URL

pytestmark = pytest.mark.anyio
URL = BASE_URL + "/calibration/get-calibration-res/"
PNG = b"\x89PNG\r\n\x1a\nplot"
POISON = {"Error": "Something went wrong: CCDPhotJob matching query does not exist."}


class FakeServer:
    """Answers get-calibration-res like the real view, with per-id timing on the test clock."""

    def __init__(
        self,
        clock: ManualClock,
        done_at: dict[int, float],
        *,
        final: str = "S",
        poisoned: frozenset[int] = frozenset(),
        poisoned_until: dict[int, float] | None = None,
        missing_until: dict[int, float] | None = None,
        not_yours: frozenset[int] = frozenset(),
        reverse: bool = False,
    ) -> None:
        self.clock = clock
        self.done_at = done_at
        self.final = final
        self.poisoned = poisoned
        self.poisoned_until = poisoned_until or {}
        self.missing_until = missing_until or {}
        self.not_yours = not_yours
        self.reverse = reverse
        self.calls: list[tuple[float, list[int], dict[str, object]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        ids: list[int] = body["calibid"]
        now = self.clock.monotonic()
        self.calls.append((now, ids, body))
        if any(i in self.poisoned or now < self.poisoned_until.get(i, -1.0) for i in ids):
            return httpx.Response(400, json=POISON)
        data: list[object] = []
        for i in ids:
            if now < self.missing_until.get(i, -1.0):
                data.append({"Error": f"File with id {i} does not exist"})
            elif i in self.not_yours:
                data.append({"calib-res": "It's not your data", "plot": None})
            else:
                done = now >= self.done_at.get(i, math.inf)
                record: dict[str, object] = {
                    "dataproduct": i,
                    "status": self.final if done else "P",
                    "mag": 15.0 + i / 10_000 if done else None,
                    "mag_error": 0.02 if done else None,
                    "best_filter": "V",
                    "survey": "GaiaSP",
                    "mjd": 60000.5,
                    "status_message": "No stars matched" if done and self.final == "E" else None,
                }
                if body.get("getPlot") and done:
                    record["plot"] = "data:image/png;base64," + base64.b64encode(PNG).decode()
                data.append(record)
        if self.reverse:
            data.reverse()
        return httpx.Response(200, json={"count": len(data), "num_pages": 1, "current_page": 1, "data": data})

    def rounds(self) -> dict[float, list[list[int]]]:
        grouped: dict[float, list[list[int]]] = {}
        for at, ids, _ in self.calls:
            grouped.setdefault(at, []).append(ids)
        return grouped


async def collect(waiting: CalibrationWait) -> list[CalibrationResult]:
    with anyio.fail_after(10):
        async with waiting as results:
            return [r async for r in results]


async def test_thousand_ids_resolve_with_at_most_five_requests_per_round(
    bh: Client, clock: ManualClock
) -> None:
    """1,000 ids resolve with at most ceil(1000/200) = 5 requests per round, each of ≤200 ids."""
    ids = list(range(1000, 2000))
    server = FakeServer(clock, {i: 5.0 + (i % 7) * 4.0 for i in ids})
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait(ids, PollOptions(timeout=600)))
    assert sorted(r.dataproduct_id for r in results) == ids  # type: ignore[type-var]
    assert {r.status for r in results} == {CalibrationStatus.SUCCESS}
    rounds = server.rounds()
    assert max(len(batches) for batches in rounds.values()) <= math.ceil(1000 / 200)
    assert all(len(batch) <= 200 for batches in rounds.values() for batch in batches)
    assert len(rounds) > 1


async def test_done_ids_leave_the_polling_set(bh: Client, clock: ManualClock) -> None:
    """An id that finished is not asked for again in later rounds."""
    server = FakeServer(clock, {1: 0.0, 2: 20.0})
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        await collect(bh.calibration.wait([1, 2]))
    assert [ids for _, ids, _ in server.calls][1:] == [[2]] * (len(server.calls) - 1)


async def test_results_arrive_in_completion_order(bh: Client, clock: ManualClock) -> None:
    """Each result is yielded when it becomes final, so later-finishing ids come later."""
    server = FakeServer(clock, {1: 40.0, 2: 5.0, 3: 15.0})
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait([1, 2, 3]))
    assert [r.dataproduct_id for r in results] == [2, 3, 1]


async def test_records_matched_by_dataproduct_field(bh: Client, clock: ManualClock) -> None:
    """Records are matched by `dataproduct`, not by their position in the answer."""
    server = FakeServer(clock, {1: 0.0, 2: 0.0, 3: 0.0}, reverse=True)
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait([1, 2, 3]))
    assert {r.dataproduct_id: r.magnitude for r in results} == {1: 15.0001, 2: 15.0002, 3: 15.0003}


async def test_error_status_is_final_with_message(bh: Client, clock: ManualClock) -> None:
    """An E record ends the wait for that id, with its status message."""
    server = FakeServer(clock, {9: 5.0}, final="E")
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        (result,) = await collect(bh.calibration.wait([9]))
    assert result.status is CalibrationStatus.ERROR
    assert result.status_message == "No stars matched"


async def test_poisoned_batch_is_bisected_and_others_resolve(bh: Client, clock: ManualClock) -> None:
    """A whole-batch 400 is split until the bad id is alone; the rest resolve; it errors after its grace."""
    ids = list(range(1, 301))
    server = FakeServer(clock, dict.fromkeys(ids, 0.0), poisoned=frozenset({137}))
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait(ids, PollOptions(missing_grace=60, timeout=600)))
    by_id = {r.dataproduct_id: r for r in results}
    assert len(results) == 300
    assert all(by_id[i].status is CalibrationStatus.SUCCESS for i in ids if i != 137)
    assert by_id[137].status is CalibrationStatus.ERROR
    assert "CCDPhotJob matching query does not exist" in (by_id[137].message or "")
    assert [137] in [batch for _, batch, _ in server.calls]
    assert results[-1].dataproduct_id == 137
    later_rounds = [batch for at, batch, _ in server.calls if at >= 3.0]  # after the first round
    assert later_rounds
    assert all(batch == [137] for batch in later_rounds)


async def test_poisoned_id_stays_pending_until_deadline_if_shorter(bh: Client, clock: ManualClock) -> None:
    """With a deadline shorter than the grace, the bad id is reported pending with the server's message."""
    server = FakeServer(clock, {1: 0.0}, poisoned=frozenset({2}))
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait([1, 2], PollOptions(timeout=30, missing_grace=300)))
    assert [(r.dataproduct_id, r.status) for r in results] == [
        (1, CalibrationStatus.SUCCESS),
        (2, CalibrationStatus.PENDING),
    ]
    assert "CCDPhotJob" in (results[1].message or "")


async def test_deadline_reports_pending_ones_and_ends(bh: Client, clock: ManualClock) -> None:
    """At the deadline the unfinished ids are yielded as PENDING and the wait ends (no hang)."""
    server = FakeServer(clock, {1: 10.0})  # id 2 never finishes
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait([1, 2], PollOptions(timeout=120)))
    assert [(r.dataproduct_id, r.status) for r in results] == [
        (1, CalibrationStatus.SUCCESS),
        (2, CalibrationStatus.PENDING),
    ]
    assert "last status IN_PROGRESS" in (results[1].message or "")
    assert clock.monotonic() == pytest.approx(120.0)


async def test_backoff_grows_from_first_interval_to_cap(bh: Client, clock: ManualClock) -> None:
    """Waits between rounds start at `interval` and grow by 1.5x up to `max_interval`."""
    server = FakeServer(clock, {1: 100.0})
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        await collect(bh.calibration.wait([1], PollOptions(interval=2.0, max_interval=10.0)))
    assert clock.sleeps[:6] == [2.0, 3.0, 4.5, 6.75, 10.0, 10.0]
    assert max(clock.sleeps) == 10.0


async def test_missing_id_pending_for_grace_then_error(bh: Client, clock: ManualClock) -> None:
    """ "File with id N does not exist" keeps a fresh id pending, then becomes ERROR after the grace."""
    server = FakeServer(clock, {}, missing_until={5: math.inf})
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        (result,) = await collect(bh.calibration.wait([5], PollOptions(missing_grace=50, timeout=600)))
    assert result.status is CalibrationStatus.ERROR
    assert "File with id 5 does not exist" in (result.message or "")
    assert 50 <= clock.monotonic() < 100
    assert len(server.calls) > 2


async def test_missing_id_that_appears_later_resolves(bh: Client, clock: ManualClock) -> None:
    """An id unknown at first but registered before the grace ends resolves normally."""
    server = FakeServer(clock, {5: 30.0}, missing_until={5: 10.0})
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        (result,) = await collect(bh.calibration.wait([5], PollOptions(missing_grace=50)))
    assert result.status is CalibrationStatus.SUCCESS


async def test_dry_run_id_reported_at_once(bh: Client, clock: ManualClock) -> None:
    """A dry-run upload's id is reported after one round as expected-missing (dry_run=True), not waited on."""
    server = FakeServer(clock, {}, missing_until={8: math.inf})
    dry = UploadedFile(filename="f.fits", id=8, message="ok", dry_run=True)
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        (result,) = await collect(bh.calibration.wait([dry]))
    assert len(server.calls) == 1
    assert (result.dataproduct_id, result.filename, result.dry_run) == (8, "f.fits", True)
    assert "dry run" in (result.message or "")


async def test_not_your_data_is_error_at_once(bh: Client, clock: ManualClock) -> None:
    """ "It's not your data" is final at once."""
    server = FakeServer(clock, {}, not_yours=frozenset({4}))
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        (result,) = await collect(bh.calibration.wait([4]))
    assert (result.status, result.message) == (CalibrationStatus.ERROR, "It's not your data")
    assert len(server.calls) == 1


async def test_plots_are_fetched_and_saved(bh: Client, clock: ManualClock, tmp_path: Path) -> None:
    """With plots_dir, getPlot is sent and each plot is saved as <id>.png."""
    server = FakeServer(clock, {11: 5.0, 12: 0.0})
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(
            bh.calibration.wait([11, 12], PollOptions(plot=True, plots_dir=tmp_path / "plots"))
        )
    assert all(body.get("getPlot") is True for _, _, body in server.calls)
    for result in results:
        assert result.plot == PNG
        assert result.plot_path == tmp_path / "plots" / f"{result.dataproduct_id}.png"
        assert result.plot_path.read_bytes() == PNG


async def test_ids_arriving_over_time_stream_results(bh: Client, clock: ManualClock) -> None:
    """With an async source, the first result is yielded before the last id has been fed."""
    server = FakeServer(clock, {1: 0.0, 2: 0.0})
    first_seen = anyio.Event()
    fed: list[int] = []

    async def source() -> AsyncIterator[int]:
        fed.append(1)
        yield 1
        await first_seen.wait()
        fed.append(2)
        yield 2

    results = []
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        with anyio.fail_after(10):
            async with bh.calibration.wait(source()) as waiting:
                async for result in waiting:
                    if not results:
                        assert fed == [1]
                        first_seen.set()
                    results.append(result.dataproduct_id)
    assert results == [1, 2]


async def test_async_source_ends_when_exhausted_and_done(bh: Client, clock: ManualClock) -> None:
    """An async source of UploadedFiles: the wait ends once the source is exhausted and all are final."""
    server = FakeServer(clock, {1: 5.0, 2: 9.0, 3: 1.0})

    async def source() -> AsyncIterator[UploadedFile]:
        for i in (1, 2, 3):
            yield UploadedFile(filename=f"f{i}.fits", id=i)

    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait(source()))
    assert sorted((r.dataproduct_id, r.filename) for r in results) == [
        (1, "f1.fits"),
        (2, "f2.fits"),
        (3, "f3.fits"),
    ]  # type: ignore[type-var]


async def test_wait_uses_retry_policy_on_transient_errors(bh: Client, clock: ManualClock) -> None:
    """A 503 in a round is retried by the client's policy, not fatal to the wait."""
    server = FakeServer(clock, {1: 0.0})
    with respx.mock:
        respx.post(URL).mock(side_effect=[httpx.Response(503), server])
        (result,) = await collect(bh.calibration.wait([1]))
    assert result.status is CalibrationStatus.SUCCESS


async def test_isolated_ids_are_rebisected_and_healed_ones_resolve(bh: Client, clock: ManualClock) -> None:
    """Ids that broke a batch are asked alone; one that heals resolves while the other stays isolated."""
    ids = list(range(1, 11))
    server = FakeServer(clock, dict.fromkeys(ids, 0.0), poisoned=frozenset({3}), poisoned_until={7: 20.0})
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait(ids, PollOptions(missing_grace=100, timeout=600)))
    by_id = {r.dataproduct_id: r for r in results}
    assert by_id[7].status is CalibrationStatus.SUCCESS
    assert by_id[3].status is CalibrationStatus.ERROR
    assert [r.dataproduct_id for r in results][-2:] == [7, 3]
    later = [batch for at, batch, _ in server.calls if at >= 3.0]  # after the first round
    assert later[:2] == [[3], [7]]  # isolated ids are asked alone
    assert all(batch in ([3], [7]) for batch in later)


async def test_leaving_the_block_early_stops_the_source(bh: Client, clock: ManualClock) -> None:
    """Breaking out of the `async with` block stops reading the async source before the block ends."""
    server = FakeServer(clock, {1: 0.0, 2: 50.0})
    source_finished = anyio.Event()

    async def source() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2
            await anyio.sleep_forever()
        finally:
            source_finished.set()

    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        with anyio.fail_after(5):
            async with bh.calibration.wait(source()) as waiting:
                async for _ in waiting:
                    break
            assert source_finished.is_set(), "the source was not closed when the block ended"
            polls = len(server.calls)
            await anyio.sleep(0.05)
    assert len(server.calls) == polls, "the wait kept polling after the block ended"


async def test_an_async_source_needs_the_block(bh: Client) -> None:
    """Iterating an async source without `async with` is refused with the form to use."""

    async def source() -> AsyncIterator[int]:
        yield 1

    with pytest.raises(InvalidInputError, match="arrive over time") as caught:
        bh.calibration.wait(source()).__aiter__()
    assert "async with bh.calibration.wait" in str(caught.value.hint)


async def test_an_error_in_the_block_is_not_wrapped(bh: Client, clock: ManualClock) -> None:
    """An exception raised by the caller inside the block propagates as itself, not an ExceptionGroup."""
    server = FakeServer(clock, {1: 0.0})

    async def source() -> AsyncIterator[int]:
        yield 1
        await anyio.sleep_forever()

    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        with anyio.fail_after(5), pytest.raises(KeyError):  # noqa: PT012 - the raise is inside the block
            async with bh.calibration.wait(source()) as waiting:
                async for _ in waiting:
                    raise KeyError("mine")


async def test_source_error_reaches_the_consumer(bh: Client, clock: ManualClock) -> None:
    """An exception raised by the async source is raised from the wait."""
    server = FakeServer(clock, {1: 0.0})

    async def source() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("upload failed")

    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        with pytest.raises(RuntimeError, match="upload failed"):
            await collect(bh.calibration.wait(source()))


async def test_new_ids_reset_the_backoff(bh: Client, clock: ManualClock) -> None:
    """An id arriving while the waits have grown brings the next wait back to `interval`."""
    server = FakeServer(clock, {1: 60.0, 2: 0.0})

    async def source() -> AsyncIterator[int]:
        yield 1
        while clock.monotonic() < 20:
            await anyio.lowlevel.checkpoint()
        yield 2

    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait(source(), PollOptions(interval=2.0, max_interval=10.0)))
    assert [r.dataproduct_id for r in results] == [2, 1]
    grown = clock.sleeps.index(10.0)
    assert 2.0 in clock.sleeps[grown:]


async def test_a_server_failing_every_batch_is_not_flooded(bh: Client, clock: ManualClock) -> None:
    """400 ids whose every batch answers 400: the request rate stays within the limit and the
    isolated ids back off, so the total stays a small multiple of the ids, never a storm."""
    ids = list(range(1, 401))
    server = FakeServer(clock, dict.fromkeys(ids, 0.0), poisoned=frozenset(ids))
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(
            bh.calibration.wait(ids, PollOptions(missing_grace=120, timeout=600, max_requests_per_second=10))
        )
    assert {r.status for r in results} == {CalibrationStatus.ERROR}
    times = [at for at, _, _ in server.calls]
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 10 + 10  # the rate plus one burst
    assert len(server.calls) < 12 * len(ids)  # bisection plus a few backed-off looks per id


async def test_each_round_is_told_with_ids_asked_finished_and_pending(bh: Client, clock: ManualClock) -> None:
    """`on_round` hears every round: how many ids were asked, became final, and are still pending."""
    from bhtom_async.poll import PollRound

    server = FakeServer(clock, {1: 0.0, 2: 5.0})
    rounds: list[PollRound] = []
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        options = PollOptions(interval=10, max_interval=10)
        results = await collect(bh.calibration.wait([1, 2], options, on_round=rounds.append))
    assert [r.dataproduct_id for r in results] == [1, 2]
    assert rounds == [PollRound(asked=2, finished=1, pending=1), PollRound(asked=1, finished=1, pending=0)]


async def test_the_deadline_holds_while_every_batch_fails(bh: Client, clock: ManualClock) -> None:
    """2,000 ids whose every batch answers 400 with a 20 s timeout: the wait ends 20 s after it
    began (one rate-limited request of slack), every id reported PENDING, not after bisecting
    every batch (which took ~400 s at 10 requests a second)."""
    ids = list(range(1, 2001))
    server = FakeServer(clock, dict.fromkeys(ids, 0.0), poisoned=frozenset(ids))
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait(ids, PollOptions(timeout=20, max_requests_per_second=10)))
    assert clock.monotonic() <= 20 + 0.1
    assert len(results) == len(ids)
    assert {r.status for r in results} == {CalibrationStatus.PENDING}
    assert all("not final 20 s after it was queued" in (r.message or "") for r in results)
    assert len(server.calls) <= 10 * 20 + 10  # the rate for 20 s plus one burst


async def test_a_broken_id_keeps_its_own_backoff_while_new_ids_arrive(bh: Client, clock: ManualClock) -> None:
    """New ids keep the rounds at the short interval; the id that breaks its batch is still asked
    alone only after its own growing backoff, not in every round."""
    server = FakeServer(clock, {}, poisoned=frozenset({1}))

    async def source() -> AsyncIterator[int]:
        yield 1
        for k in range(2, 32):  # a new id every 2 s for a minute, each final at once
            while clock.monotonic() < 2.0 * k:
                await anyio.lowlevel.checkpoint()
            server.done_at[k] = 0.0
            yield k

    options = PollOptions(interval=2.0, max_interval=30.0, missing_grace=100, timeout=1000)
    with respx.mock:
        respx.post(URL).mock(side_effect=server)
        results = await collect(bh.calibration.wait(source(), options))
    assert [r.status for r in results if r.dataproduct_id == 1] == [CalibrationStatus.ERROR]
    alone = [at for at, ids, _ in server.calls if ids == [1]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(alone)]
    assert gaps == sorted(gaps)  # growing, never reset by the new ids
    assert gaps[0] >= 2.0
    assert max(gaps) >= 30.0  # grew to the cap
    assert len([t for t in alone if t <= 62]) <= 9  # its backoff from 2 s toward 30 s, not ~30 looks
