"""Watch a night's folders: the paths already there, then every file created or changed in them.

`watch_paths` is an async iterator of paths for `Uploader` (its ``paths`` may be one). It first
yields the folders it was given (the uploader walks them: every frame already there), then each
file that appears or changes, until a stop condition. The uploader holds each frame back until
it has been still for the settle time, so a frame the camera is still writing is never sent
half-written.

Events come from `watchfiles` (inotify and the like; the ``watch`` extra) when it is installed,
and from a plain polling scan otherwise or when asked (``force_polling``: network filesystems,
where change notifications often never arrive).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import anyio
import anyio.to_thread
import attrs

from ..errors import InvalidInputError

__all__ = ["WatchOptions", "watch_paths"]

#: How often the watcher wakes to check its stop conditions, seconds.
TICK = 0.5


def _until(value: dt.datetime | float | None) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    return value.timestamp()


@attrs.frozen(kw_only=True)
class WatchOptions:
    """When a watch ends and how it looks for new files. Times are seconds.

    Attributes:
        until: stop at this moment (a datetime, or seconds since the epoch).
        idle_exit: stop once no new frame has appeared for this long.
        force_polling: scan the folders every `poll_interval` instead of relying on change
            notifications (network filesystems).
        poll_interval: seconds between scans when polling.
    """

    until: float | None = attrs.field(default=None, converter=_until)
    idle_exit: float | None = None
    force_polling: bool = False
    poll_interval: float = 2.0

    def __attrs_post_init__(self) -> None:
        for name in ("idle_exit", "poll_interval"):
            value = getattr(self, name)
            if value is not None and not (value == value and 0 < value < float("inf")):
                raise InvalidInputError(f"{name} must be a positive number of seconds, not {value!r}")


async def watch_paths(
    paths: Sequence[str | os.PathLike[str]],
    options: WatchOptions | None = None,
    *,
    stop: anyio.Event | None = None,
    now: Callable[[], float] = time.time,
) -> AsyncIterator[Path]:
    """Yield `paths`, then every file created or changed under them, until a stop condition.

    The iteration ends at `options.until`, after `options.idle_exit` seconds without a new file,
    when `stop` is set, or when the consumer stops iterating. Each yielded path may be yielded
    again when the file changes again; the uploader keeps one entry per file.

    Example:
        >>> source = watch_paths(["night/"], WatchOptions(idle_exit=1800))     # doctest: +SKIP
        >>> summary = await Uploader(bh, source, options, job).run()          # doctest: +SKIP
    """
    options = options or WatchOptions()
    stop = stop or anyio.Event()
    roots = [Path(p) for p in paths]
    folders = [str(r) for r in roots if r.is_dir()]
    # What is there before the folders are walked: a file written after it and before the
    # watcher is running is caught by comparing with it (else it would be lost until it changed).
    before = await anyio.to_thread.run_sync(_scan, folders)
    for root in roots:
        yield root
    last_new = time.monotonic()

    def finished() -> bool:
        if stop.is_set():
            return True
        if options.until is not None and now() >= options.until:
            return True
        return options.idle_exit is not None and time.monotonic() - last_new >= options.idle_exit

    if not folders or finished():
        return
    changes = _notifications(folders, stop) if not options.force_polling else None
    caught_up = changes is None  # polling compares each scan with `before`
    if changes is None:
        changes = _polling(folders, options.poll_interval, stop, before)
    async for batch in changes:
        if not caught_up:  # the watcher runs now: what was written while it started
            caught_up = True
            now_there = await anyio.to_thread.run_sync(_scan, folders)
            batch = sorted({*batch, *_changed(before, now_there)})
        for path in batch:
            last_new = time.monotonic()
            yield path
        if finished():
            stop.set()
            return


def _notifications(folders: list[str], stop: anyio.Event) -> AsyncIterator[list[Path]] | None:
    """Change notifications through watchfiles, or None when it is not installed."""
    try:
        import watchfiles
    except ImportError:
        return None

    async def batches() -> AsyncIterator[list[Path]]:
        wanted = (watchfiles.Change.added, watchfiles.Change.modified)
        async for changes in watchfiles.awatch(
            *folders,
            stop_event=stop,
            rust_timeout=int(TICK * 1000),
            yield_on_timeout=True,
            debounce=200,
            step=50,
            watch_filter=None,
        ):
            # Folders and deleted files are sorted out by the walk that follows each path.
            yield sorted({_as_given(Path(path), folders) for change, path in changes if change in wanted})

    return batches()


def _as_given(path: Path, folders: list[str]) -> Path:
    """`path` (absolute, as notifications report it) under the folder as the caller wrote it."""
    for folder in folders:
        try:
            return Path(folder) / path.relative_to(Path(folder).absolute())
        except ValueError:
            continue
    return path


async def _polling(
    folders: list[str], interval: float, stop: anyio.Event, seen: dict[Path, tuple[int, int]]
) -> AsyncIterator[list[Path]]:
    """Scan the folders every `interval` seconds; yield the files new or changed since `seen`."""
    scanned = time.monotonic()
    while not stop.is_set():
        with anyio.move_on_after(min(interval, TICK)):
            await stop.wait()
        if stop.is_set():
            return
        if time.monotonic() - scanned < interval:
            yield []  # wake the caller to check its stop conditions
            continue
        current = await anyio.to_thread.run_sync(_scan, folders)
        scanned = time.monotonic()
        yield _changed(seen, current)
        seen = current


def _changed(before: dict[Path, tuple[int, int]], after: dict[Path, tuple[int, int]]) -> list[Path]:
    """The files in `after` that are new or differ (size or modification time) from `before`."""
    return sorted(path for path, stamp in after.items() if before.get(path) != stamp)


def _scan(folders: list[str]) -> dict[Path, tuple[int, int]]:
    found: dict[Path, tuple[int, int]] = {}
    for folder in folders:
        for base, _dirs, files in os.walk(folder):
            for name in files:
                path = Path(base) / name
                try:
                    info = path.stat()
                except OSError:
                    continue
                found[path] = (info.st_size, info.st_mtime_ns)
    return found
