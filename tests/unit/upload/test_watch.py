"""`upload.watch.watch_paths`: the folders first, then new and changed files, until a stop condition."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from bhtom_async.errors import InvalidInputError
from bhtom_async.upload.watch import WatchOptions, watch_paths

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("force_polling", [False, True], ids=["notifications", "polling"])
async def test_yields_the_folder_then_each_new_file_until_idle(tmp_path: Path, force_polling: bool) -> None:
    """The given folder comes first, then a file written into it; an idle spell ends the watch."""
    seen: list[Path] = []
    options = WatchOptions(idle_exit=0.8, force_polling=force_polling, poll_interval=0.1)

    async def write_later() -> None:
        await anyio.sleep(0.3)
        (tmp_path / "new.fits").write_bytes(b"x")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(write_later)
            async for path in watch_paths([tmp_path], options):
                seen.append(path)
    assert seen[0] == tmp_path
    assert tmp_path / "new.fits" in seen[1:]


@pytest.mark.parametrize("force_polling", [False, True], ids=["notifications", "polling"])
async def test_new_files_are_named_under_the_folder_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, force_polling: bool
) -> None:
    """A relative folder's new files come as relative paths too, like the frames already there."""
    monkeypatch.chdir(tmp_path)
    Path("night").mkdir()
    options = WatchOptions(idle_exit=0.8, force_polling=force_polling, poll_interval=0.1)

    async def write_later() -> None:
        await anyio.sleep(0.3)
        Path("night/new.fits").write_bytes(b"x")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(write_later)
            seen = [path async for path in watch_paths(["night"], options)]
    assert seen[0] == Path("night")
    assert set(seen[1:]) == {Path("night/new.fits")}


@pytest.mark.parametrize("force_polling", [False, True], ids=["notifications", "polling"])
async def test_a_file_rewritten_in_place_is_yielded_again(tmp_path: Path, force_polling: bool) -> None:
    """A frame already there when the watch began, then rewritten (same name, new size): its path
    comes again, so the new content is sent (also when polling, e.g. on a network filesystem)."""
    old = tmp_path / "old.fits"
    old.write_bytes(b"first")
    options = WatchOptions(idle_exit=0.8, force_polling=force_polling, poll_interval=0.1)

    async def rewrite_later() -> None:
        await anyio.sleep(0.3)
        old.write_bytes(b"second, longer")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(rewrite_later)
            seen = [path async for path in watch_paths([tmp_path], options)]
    assert seen[0] == tmp_path
    assert old in seen[1:]


@pytest.mark.parametrize("force_polling", [False, True], ids=["notifications", "polling"])
async def test_a_file_written_while_the_watch_starts_is_not_lost(tmp_path: Path, force_polling: bool) -> None:
    """A frame written after the folder was handed out (and walked) but before the watcher runs is
    yielded all the same: it would otherwise wait, unsent, until it changed again."""
    options = WatchOptions(idle_exit=0.8, force_polling=force_polling, poll_interval=0.1)
    with anyio.fail_after(10):
        watch = watch_paths([tmp_path], options)
        assert await anext(watch) == tmp_path  # the uploader walks the (empty) folder now
        (tmp_path / "early.fits").write_bytes(b"x")  # before the watcher has started
        rest = [path async for path in watch]
    assert tmp_path / "early.fits" in rest


async def test_until_ends_the_watch_at_that_moment(tmp_path: Path) -> None:
    """A watch with `until` one second away ends within a tick of it, with nothing new."""
    start = time.time()
    with anyio.fail_after(5):
        seen = [path async for path in watch_paths([tmp_path], WatchOptions(until=start + 0.6))]
    assert seen == [tmp_path]
    assert 0.6 <= time.time() - start < 2.5


async def test_the_stop_event_ends_the_watch(tmp_path: Path) -> None:
    """Setting `stop` ends the iteration (the CLI sets it on SIGTERM)."""
    stop = anyio.Event()
    seen: list[Path] = []
    with anyio.fail_after(5):
        async for path in watch_paths([tmp_path], stop=stop):
            seen.append(path)
            stop.set()
    assert seen == [tmp_path]


def test_nonsense_durations_are_refused() -> None:
    """nan, zero and negative idle times are refused before anything starts."""
    for value in (float("nan"), 0.0, -5.0, float("inf")):
        with pytest.raises(InvalidInputError):
            WatchOptions(idle_exit=value)
