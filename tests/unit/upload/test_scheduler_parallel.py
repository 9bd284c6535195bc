"""The uploader really runs `concurrency` uploads at once once the first answer is in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from bhtom_async import Client, JobOptions, UploadOptions
from bhtom_async.upload import Uploader

from ...conftest import UPLOAD_URL

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("concurrency", [2, 4, 8])
async def test_uploads_reach_the_concurrency_limit_after_the_probe(
    bh: Client, make_fits_tree: Callable[..., list[Path]], tmp_path: Path, concurrency: int
) -> None:
    """After the single probe request, `concurrency` uploads are in flight together, never more."""
    paths = make_fits_tree(concurrency * 3)
    in_flight = peak = 0
    ids = iter(range(1, 1000))

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.02)
        in_flight -= 1
        number = next(ids)
        entry = {"file name:": f"{number}_x.fits", "id": str(number), "message": "ok"}
        return httpx.Response(201, json={"Success": [entry]})

    with respx.mock:
        respx.post(UPLOAD_URL + "/upload/").mock(side_effect=answer)
        summary = await Uploader(
            bh,
            paths[0].parent,
            UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam"),
            JobOptions(journal=tmp_path / "j.sqlite3", concurrency=concurrency, settle_time=0),
        ).run()
    assert summary.counts["uploaded"] == len(paths)
    assert peak == concurrency
