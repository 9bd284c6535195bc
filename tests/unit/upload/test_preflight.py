"""What a job-wide refusal costs: the checks before uploads, then at most `concurrency` uploads.

Each path counts the requests spent: a refusal the checks see costs the two look-ups and no
upload; one they cannot see costs at most `concurrency` uploads; when they cannot tell, the first
upload goes alone and a refusal costs one.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from bhtom_async import Client, UploadOptions, errors

from .conftest import Frames, MakeUploader, Routes, page

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("bad token", errors.AuthenticationError),
        ("unknown target", errors.TargetNotFoundError),
        ("unknown camera", errors.CameraNotFavouriteError),
    ],
)
async def test_a_refusal_the_checks_see_costs_two_look_ups_and_no_upload(
    make_uploader: MakeUploader,
    bh: Client,
    routes: Routes,
    frames: Frames,
    tmp_path: Path,
    case: str,
    error: type[errors.BhtomError],
) -> None:
    paths = frames(6)
    settings: dict[str, object] = {"concurrency": 4}
    if case == "bad token":
        routes.refuse_token()
    elif case == "unknown target":
        settings["target"] = "NoSuchStar"
    else:
        settings["observatory"] = "NoSuchObs_NoCam"
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", **settings).run()
    assert (routes.targets.call_count, routes.observatories.call_count, routes.upload.call_count) == (1, 1, 0)
    assert isinstance(summary.stopped, error)
    assert summary.stopped.hint
    assert summary.counts["not_attempted"] == 6


async def test_a_refusal_the_checks_cannot_see_costs_at_most_concurrency_uploads(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """An unknown observer: the checks pass, 4 uploads start at once, the first answer stops the job."""
    paths = frames(10)
    arrived = 0

    async def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        arrived += 1
        with anyio.move_on_after(5):  # let every upload the job would start arrive first
            while arrived < 4:
                await anyio.sleep(0.005)
        return httpx.Response(400, json={"non_field_errors": ["The following usernames do not exist: bob"]})

    routes.upload.mock(side_effect=refuse)
    job = make_uploader(bh, paths, tmp_path / "j.sqlite3", concurrency=4, observers=("bob",))
    summary = await job.run()
    assert (routes.targets.call_count, routes.observatories.call_count) == (1, 1)
    assert routes.upload.call_count == 4
    assert isinstance(summary.stopped, errors.ObserverUnknownError)
    assert summary.counts["failed"] == 4
    assert summary.counts["not_attempted"] == 6


async def test_when_the_checks_cannot_tell_a_refusal_costs_one_upload(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """The target list answers without the name: the first upload goes alone, its refusal stops the job."""
    paths = frames(6)
    routes.targets.mock(return_value=page([{"name": "SomeOtherStar"}]))
    routes.upload.mock(
        return_value=httpx.Response(400, json={"non_field_errors": ["Target 'Gaia22bpl' does not exist."]})
    )
    summary = await make_uploader(bh, paths, tmp_path / "j.sqlite3", concurrency=4).run()
    assert routes.upload.call_count == 1
    assert isinstance(summary.stopped, errors.TargetNotFoundError)
    assert (summary.counts["failed"], summary.counts["not_attempted"]) == (1, 5)


async def test_per_file_settings_leave_the_target_to_each_file(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """With per-file settings the defaults' target may never be used: its absence stops nothing."""
    paths = frames(3)

    def per_file(path: Path, defaults: UploadOptions) -> UploadOptions:
        return defaults.replace(target="Gaia22bpl")

    job = make_uploader(bh, paths, tmp_path / "j.sqlite3", target="NoSuchStar", settings=per_file)
    summary = await job.run()
    assert summary.stopped is None
    assert summary.counts["uploaded"] == 3
    assert (routes.targets.call_count, routes.observatories.call_count) == (1, 0)


async def test_a_run_that_sends_nothing_does_not_wait_for_the_checks(
    make_uploader: MakeUploader, bh: Client, routes: Routes, frames: Frames, tmp_path: Path
) -> None:
    """A re-run whose files are all uploaded ends without waiting for a look-up that hangs."""
    paths = frames(3)
    await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()

    async def hang(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError

    routes.targets.mock(side_effect=hang)
    with anyio.fail_after(5):
        again = await make_uploader(bh, paths, tmp_path / "j.sqlite3").run()
    assert again.counts["skipped"] == 3
    assert again.stopped is None
