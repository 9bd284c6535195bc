"""`bhtom_async.sync.Client` against the emulator: from plain code and inside a running loop."""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import subprocess
import sys
import threading
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from bhtom_async import (
    Client,
    ClientStateError,
    JobOptions,
    PollOptions,
    ResultSet,
    ServerError,
    TargetNotFoundError,
    UploadOptions,
    sync,
)
from bhtom_async.upload import FileFinished, JobFinished

from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

CAMERA = "HarnessObs_HarnessCam"
FAST = PollOptions(interval=0.05, max_interval=0.2, timeout=20)


def portal_threads() -> int:
    return sum(1 for t in threading.enumerate() if "portal" in t.name)


@pytest.fixture
def make_sync(emulator: Emulator) -> Iterator[Callable[..., sync.Client]]:
    """Factory of sync clients for the emulator's users; all are closed at the end."""
    made: list[sync.Client] = []

    def make(user: str = "alice") -> sync.Client:
        client = sync.Client(
            emulator.tokens[user], base_url=emulator.base_url, upload_url=emulator.upload_url
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def night(folder: Path, count: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"frame_{index}.fits"
        path.write_bytes(fits_bytes(index + 100 * len(folder.name), mjd=60827.9 + index / 100))
        os.utime(path, (1_700_000_000, 1_700_000_000))
        paths.append(path)
    return paths


async def async_view(emulator: Emulator) -> tuple[list[object], object, list[object]]:
    async with Client(
        emulator.tokens["alice"], base_url=emulator.base_url, upload_url=emulator.upload_url
    ) as bh:
        targets = await bh.targets.list().to_list()
        curve = await bh.targets.photometry("Gaia22bpl")
        products = await bh.dataproducts.list(target="Gaia22bpl").to_list()
    return list(targets), curve, list(products)


def test_sync_client_from_plain_code_equals_the_async_client(
    emulator: Emulator, make_sync: Callable[..., sync.Client]
) -> None:
    """No event loop running: lists, a light curve and a filtered list equal the async client's."""
    expected_targets, expected_curve, expected_products = anyio.run(async_view, emulator)
    bh = make_sync()
    targets = bh.targets.list().to_list()
    assert isinstance(targets, ResultSet)
    assert targets == expected_targets
    assert len(targets) > 1
    assert bh.targets.photometry("Gaia22bpl") == expected_curve
    assert bh.dataproducts.list(target="Gaia22bpl").to_list() == expected_products
    assert [t.name for t in bh.targets.list()] == [t.name for t in expected_targets]


@pytest.mark.anyio
async def test_sync_client_inside_a_running_event_loop(
    emulator: Emulator, make_sync: Callable[..., sync.Client]
) -> None:
    """Called from a coroutine (as in a Jupyter cell), it works and equals the async client."""
    asyncio.get_running_loop()  # the caller's loop is running, as in Jupyter
    async with Client(
        emulator.tokens["alice"], base_url=emulator.base_url, upload_url=emulator.upload_url
    ) as abh:
        expected_curve = await abh.targets.photometry("Gaia22bpl")
        expected_targets = await abh.targets.list(name="Gaia").to_list()
    bh = make_sync()
    assert bh.targets.photometry("Gaia22bpl") == expected_curve
    assert bh.targets.list(name="Gaia").to_list() == expected_targets
    first = bh.targets.list().first_page()
    assert first.number == 1
    assert [page.number for page in bh.targets.list().pages()] == [1]


def test_sync_errors_are_the_async_errors(emulator: Emulator, make_sync: Callable[..., sync.Client]) -> None:
    """An unknown target raises the same TargetNotFoundError, with the same message."""

    async def expected() -> str:
        async with Client(emulator.tokens["alice"], base_url=emulator.base_url) as abh:
            try:
                await abh.targets.photometry("NoSuchStar")
            except TargetNotFoundError as exc:
                return str(exc)
        raise AssertionError("no error")

    message = anyio.run(expected)
    with pytest.raises(TargetNotFoundError) as caught:
        make_sync().targets.photometry("NoSuchStar")
    assert str(caught.value) == message


def test_breaking_out_of_a_listing_closes_it_on_the_loop(make_sync: Callable[..., sync.Client]) -> None:
    """Stopping an iteration early leaves the client usable (the async side was closed)."""
    bh = make_sync()
    for target in bh.targets.list():
        assert target.name
        break
    assert len(bh.targets.list().to_list()) > 1


def test_upload_then_wait_blocking(tmp_path: Path, make_sync: Callable[..., sync.Client]) -> None:
    """Upload two frames, then wait for their calibrations as a block and as a list."""
    bh = make_sync()
    options = UploadOptions(target="Gaia22bpl", observatory=CAMERA)
    receipt = bh.uploads.upload_file(night(tmp_path / "n1", 2), options)
    assert len(receipt.ids) == 2
    with bh.calibration.wait(receipt.ids, FAST) as results:
        done = sorted(r.dataproduct_id or 0 for r in results)
    assert done == sorted(receipt.ids)
    listed = bh.calibration.wait(receipt.ids, FAST).to_list()
    assert {r.status.name for r in listed} == {"SUCCESS"}
    assert {r.dataproduct_id for r in bh.calibration.wait(list(receipt.ids), FAST)} == set(receipt.ids)
    assert [r.dataproduct_id for r in bh.calibration.results(receipt.ids)] == list(receipt.ids)


def test_uploader_and_upload_and_calibrate_blocking(
    tmp_path: Path, make_sync: Callable[..., sync.Client]
) -> None:
    """The bulk uploader runs blocking, its events iterate, and the pipeline yields calibrations."""
    bh = make_sync()
    options = UploadOptions(target="Gaia22bpl", observatory=CAMERA)
    job = JobOptions(journal=str(tmp_path / "j.sqlite3"), settle_time=0)
    summary = sync.Uploader(bh, night(tmp_path / "a", 2), options, job).run()
    assert summary.counts["uploaded"] == 2
    events = sync.Uploader(bh, night(tmp_path / "bb", 2), options, job).events()
    with events as stream:
        seen = list(stream)
    assert sum(isinstance(e, FileFinished) for e in seen) == 2
    assert isinstance(seen[-1], JobFinished)
    with sync.upload_and_calibrate(bh, night(tmp_path / "ccc", 3), options, job, FAST) as running:
        calibrated = {r.filename for r in running}
    assert calibrated == {"frame_0.fits", "frame_1.fits", "frame_2.fits"}
    assert running.summary is not None
    assert running.summary.counts["uploaded"] == 3


def test_close_stops_the_loop_and_later_calls_say_so(make_sync: Callable[..., sync.Client]) -> None:
    """After close() the loop thread is gone and a call raises ClientStateError."""
    before = portal_threads()
    bh = make_sync()
    bh.targets.photometry("Gaia22bpl")
    assert portal_threads() == before + 1
    bh.close()
    assert portal_threads() == before
    assert bh.closed
    with pytest.raises(ClientStateError, match="closed"):
        bh.targets.photometry("Gaia22bpl")
    bh.close()  # twice is fine


def test_with_block_and_garbage_collection_close_the_client(emulator: Emulator) -> None:
    """Leaving a `with` block closes the client; so does dropping the last reference."""
    before = portal_threads()
    with sync.Client(emulator.tokens["alice"], base_url=emulator.base_url) as bh:
        assert bh.config.base_url == emulator.base_url
    assert bh.closed
    dropped = sync.Client(emulator.tokens["alice"], base_url=emulator.base_url)
    dropped.targets.photometry("Gaia22bpl")
    del dropped
    gc.collect()
    assert portal_threads() == before


def test_with_options_applies_and_shares_the_loop(
    emulator: Emulator, make_sync: Callable[..., sync.Client]
) -> None:
    """A derived client has its own retries on the parent's loop; closing it leaves the parent open."""
    bh = make_sync()
    before = portal_threads()
    hasty = bh.with_options(max_retries=0)
    assert portal_threads() == before
    emulator.add_fault("main:*:error=503:times=1")
    with pytest.raises(ServerError):
        hasty.targets.photometry("Gaia22bpl")
    hasty.close()
    assert bh.targets.photometry("Gaia22bpl").target == "Gaia22bpl"


def test_sync_login_returns_the_token(emulator: Emulator) -> None:
    """`sync.login` gets the same token the emulator seeded."""
    assert (
        sync.login("alice", emulator.passwords["alice"], base_url=emulator.base_url)
        == emulator.tokens["alice"]
    )


EXIT_SCRIPT = """
import sys
import bhtom_async.sync as s
stop = s._Bridge.stop
def noisy(self):
    print("loop stopped", flush=True)
    stop(self)
s._Bridge.stop = noisy
bh = s.Client(sys.argv[1], base_url=sys.argv[2])
print(bh.targets.photometry("Gaia22bpl").target, flush=True)
"""


def test_an_unclosed_client_is_closed_at_interpreter_exit(emulator: Emulator) -> None:
    """A script that never closes its client still stops the loop thread at exit, and exits 0."""
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, emulator.tokens["alice"], emulator.base_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Gaia22bpl", "loop stopped"]


RESOURCES = [
    "targets",
    "observatories",
    "calibration",
    "dataproducts",
    "reduced_data",
    "comments",
    "users",
    "uploads",
]


@pytest.mark.parametrize("name", RESOURCES)
def test_each_sync_resource_has_exactly_the_async_methods(name: str) -> None:
    """Every public async method has its blocking twin of the same name, and nothing else."""
    async_cls = typing.get_type_hints(getattr(Client, name).fget)["return"]
    sync_cls = typing.get_type_hints(getattr(sync.Client, name).fget)["return"]
    assert async_cls is not sync_cls
    wanted = {n for n, f in inspect.getmembers(async_cls, inspect.isfunction) if not n.startswith("_")}
    have = {n for n, v in vars(sync_cls).items() if isinstance(v, sync._Method)}
    assert have == wanted
    assert sync_cls.__name__ == async_cls.__name__


def test_sync_client_has_the_async_clients_resources() -> None:
    """The sync client offers the same resource properties as the async one."""

    def props(cls: type) -> set[str]:
        return {n for n, v in vars(cls).items() if isinstance(v, property) and not n.startswith("_")}

    assert props(Client) <= props(sync.Client)
    assert set(RESOURCES) <= props(Client)
