"""`bhtom upload --watch`: the night's folders as a live stream of paths, and why the watch ended.

The watching itself is the library's (`watch_paths`); this module describes it for the
progress report and remembers which stop condition ended it, for the summary.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import attrs

from ..upload.watch import WatchOptions, watch_paths
from .tally import clock_text

__all__ = ["NightWatch"]


@attrs.define
class NightWatch:
    """A watch of `paths` that remembers why it ended (`ended`: None until it has)."""

    paths: Sequence[Path]
    options: WatchOptions
    now: Callable[[], float] = time.time
    ended: str | None = None
    on_end: Callable[[str], None] | None = None

    async def stream(self) -> AsyncIterator[Path]:
        """The paths for the uploader: the folders, then each new or changed file."""
        async for path in watch_paths(self.paths, self.options, now=self.now):
            yield path
        self.ended = self._why()
        if self.on_end is not None:
            self.on_end(self.ended)

    def describe(self) -> str:
        """``watching night/ (change notifications); until 06:30:00, or 0:30:00 without a new frame``."""
        folders = ", ".join(f"{p}/" for p in self.paths if p.is_dir())
        if self.options.force_polling or importlib.util.find_spec("watchfiles") is None:
            how = f"a scan every {self.options.poll_interval:g} s"
        else:
            how = "change notifications"
        stops = []
        if self.options.until is not None:
            stops.append(f"until {_local(self.options.until)}")
        if self.options.idle_exit is not None:
            stops.append(f"{clock_text(self.options.idle_exit)} without a new frame")
        stops.append("Ctrl-C/SIGTERM")
        return f"watching {folders} ({how}); stops at " + ", or ".join(stops)

    def _why(self) -> str:
        until = self.options.until
        if until is not None and self.now() >= until:
            return f"--until {_local(until)} reached"
        if self.options.idle_exit is not None:
            return f"no new frame for {clock_text(self.options.idle_exit)} (--idle-exit)"
        return "the watched folders are gone"


def _local(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()
