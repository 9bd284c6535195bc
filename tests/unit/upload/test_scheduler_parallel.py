"""The uploader really runs `concurrency` uploads at once: from the start when the checks before
uploads passed, after the first answer when they could not tell."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from bhtom_async import Client, JobOptions, UploadOptions
from bhtom_async.upload import Uploader, UploadSummary

from ...conftest import BASE_URL, UPLOAD_URL
from .conftest import DATA, NO_PRODUCTS, mock_checks, page

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("checks", ["passed", "unsure"])
@pytest.mark.parametrize("concurrency", [2, 4, 8, 16, 32])
async def test_uploads_reach_the_concurrency_limit(
    bh: Client, make_fits_tree: Callable[..., list[Path]], tmp_path: Path, concurrency: int, checks: str
) -> None:
    """`concurrency` uploads in flight together, never more: at once when the checks passed, after
    the single probe request when they could not tell (the target list did not answer the name).
    Two rounds' worth of files follow, so one worker too many would show in the peak."""
    probe = checks == "unsure"
    paths = make_fits_tree(probe + 2 * concurrency)
    in_flight = peak = answered = 0
    ids = iter(range(1, 1000))

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak, answered
        in_flight += 1
        peak = max(peak, in_flight)
        # Hold each request of a round until as many are in flight as can be (`concurrency`, fewer at
        # the tail; or a while has passed), so the peak measures the uploader's parallelism, not the
        # journal's speed, and an extra worker has time to add one more.
        if answered or not probe:
            with anyio.move_on_after(10):
                while in_flight < min(concurrency, len(paths) - answered):
                    await anyio.sleep(0.005)
            await anyio.sleep(0.01)
        answered += 1
        in_flight -= 1
        number = next(ids)
        entry = {"file name:": f"{number}_x.fits", "id": str(number), "message": "ok"}
        return httpx.Response(201, json={"Success": [entry]})

    with respx.mock as mock:
        targets, _ = mock_checks(mock)
        if probe:
            targets.mock(return_value=page([{"name": "SomeOtherStar"}]))
        respx.post(DATA).mock(return_value=NO_PRODUCTS)  # the job-start probe of the newest id
        respx.post(UPLOAD_URL + "/upload/").mock(side_effect=answer)
        summary = await Uploader(
            bh,
            paths[0].parent,
            UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam"),
            JobOptions(journal=tmp_path / "j.sqlite3", concurrency=concurrency, settle_time=0),
        ).run()
    assert summary.counts["uploaded"] == len(paths)
    assert peak == concurrency
    assert summary.warnings == ()


async def test_a_fixed_pool_smaller_than_the_concurrency_is_said_not_hidden(
    make_client: Callable[..., Client], make_fits_tree: Callable[..., list[Path]], tmp_path: Path
) -> None:
    """max_connections=6 with concurrency 16: a warning (and summary.warnings) says 4 run at once."""
    paths = make_fits_tree(8)
    entry = {"file name:": "1_x.fits", "id": "1", "message": "ok"}
    with respx.mock as mock:
        mock_checks(mock)
        respx.post(DATA).mock(return_value=NO_PRODUCTS)  # the job-start probe of the newest id
        respx.post(UPLOAD_URL + "/upload/").mock(return_value=httpx.Response(201, json={"Success": [entry]}))
        async with make_client(max_connections=6) as bh:
            with pytest.warns(UserWarning, match="4 uploads run at once instead of 16"):
                summary = await Uploader(
                    bh,
                    paths[0].parent,
                    UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam"),
                    JobOptions(journal=tmp_path / "j.sqlite3", concurrency=16, settle_time=0),
                ).run()
    (warning,) = summary.warnings
    assert "set it to at least 18" in warning


async def test_look_ups_have_connections_while_every_worker_uploads(
    bh: Client, make_fits_tree: Callable[..., list[Path]], tmp_path: Path
) -> None:
    """With all 4 workers' uploads held at the server, other requests of the client still go through."""
    paths = make_fits_tree(5)
    arrived = 0
    release = anyio.Event()
    all_in = anyio.Event()

    async def hold(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        arrived += 1
        if arrived == 1:  # the first answers at once so the fifth file starts
            return httpx.Response(
                201, json={"Success": [{"file name:": "1_x.fits", "id": "1", "message": ""}]}
            )
        if arrived == 5:
            all_in.set()
        await release.wait()
        return httpx.Response(
            201, json={"Success": [{"file name:": f"{arrived}_x.fits", "id": str(arrived), "message": ""}]}
        )

    empty = {"count": 0, "num_pages": 1, "current_page": 1, "data": []}
    with respx.mock as mock:
        mock_checks(mock)
        respx.post(DATA).mock(return_value=NO_PRODUCTS)  # the job-start probe of the newest id
        respx.post(UPLOAD_URL + "/upload/").mock(side_effect=hold)
        respx.post(BASE_URL + "/common/api/comments/").mock(return_value=httpx.Response(200, json=empty))
        job = Uploader(
            bh,
            paths[0].parent,
            UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam"),
            JobOptions(journal=tmp_path / "j.sqlite3", concurrency=4, settle_time=0),
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(job.run)
            with anyio.fail_after(5):
                await all_in.wait()  # four uploads are in flight now
                assert await bh.comments.list().to_list() == []
            release.set()


def _receipt(number: int) -> httpx.Response:
    entry = {"file name:": f"{number}_x.fits", "id": str(number), "message": "ok"}
    return httpx.Response(201, json={"Success": [entry]})


async def _upload_one_at_a_time(
    bh: Client, paths: list[Path], journal: Path, answer: Callable[[httpx.Request], object], **job: float
) -> UploadSummary:
    """A concurrency-1 job over `paths`, every upload answered by `answer`, the checks passing."""
    with respx.mock as mock:
        mock_checks(mock)
        respx.post(DATA).mock(return_value=NO_PRODUCTS)
        respx.post(UPLOAD_URL + "/upload/").mock(side_effect=answer)
        with anyio.fail_after(20):
            return await Uploader(
                bh,
                paths[0].parent,
                UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam"),
                JobOptions(journal=journal, concurrency=1, settle_time=0, **job),
            ).run()


async def test_the_next_file_is_readied_while_an_upload_is_on_the_wire(
    bh: Client, make_fits_tree: Callable[..., list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrency 1: while the first upload waits for its answer, the second file is already
    inspected and triaged, so its request can start as soon as the slot frees. Never two sends."""
    import bhtom_async.upload.scheduler as scheduler

    paths = make_fits_tree(3)
    inspected: list[Path] = []
    real_inspect = scheduler.inspect

    def spy(found: object, data_product_type: str) -> object:
        inspected.append(found.path)  # type: ignore[attr-defined]
        return real_inspect(found, data_product_type)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduler, "inspect", spy)
    in_flight = peak = 0
    seen_while_sending: list[int] = []
    ids = iter(range(1, 100))

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        with anyio.move_on_after(5):  # a job without a second worker never gets there
            while len(inspected) < min(len(paths), len(seen_while_sending) + 2):
                await anyio.sleep(0.005)
        seen_while_sending.append(len(inspected))
        in_flight -= 1
        return _receipt(next(ids))

    summary = await _upload_one_at_a_time(bh, paths, tmp_path / "j.sqlite3", answer)
    assert summary.counts["uploaded"] == 3
    assert peak == 1
    assert seen_while_sending == [2, 3, 3]  # file n+1 was inspected while file n was on the wire


async def test_a_file_waiting_for_an_upload_slot_keeps_its_whole_deadline(
    bh: Client, make_fits_tree: Callable[..., list[Path]], tmp_path: Path
) -> None:
    """Concurrency 1, file_timeout 0.6 s, each upload answered after 0.4 s: the second file waits
    0.4 s for the slot, then takes 0.4 s; the wait is not counted, so it is uploaded, not unknown."""
    ids = iter(range(1, 100))

    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.4)
        return _receipt(next(ids))

    summary = await _upload_one_at_a_time(
        bh, make_fits_tree(2), tmp_path / "j.sqlite3", slow, file_timeout=0.6
    )
    assert [o.status for o in summary.outcomes] == ["uploaded", "uploaded"]
