"""Per-file settings: when a night mixes targets or filters, each file may get its own options.

A settings source is a mapping (keyed by the path as given, its absolute path, or its bare
name) or a callback ``(path, job_options) -> UploadOptions | SkipFile | None`` (sync callbacks
run in a worker thread, so they may read FITS headers; see `headers.settings_from_header`).
None keeps the job's options.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import anyio.to_thread
import attrs

from ..errors import InvalidInputError
from ..models.uploads import UploadOptions

__all__ = ["FileChoice", "SettingsCallback", "SettingsSource", "SkipFile", "settings_for"]


@attrs.frozen
class SkipFile:
    """Return this from a settings source to leave a file out, with the reason shown for it."""

    reason: str


FileChoice = UploadOptions | SkipFile
SettingsCallback = Callable[[Path, UploadOptions], FileChoice | Awaitable[FileChoice | None] | None]
#: Per-file settings: a mapping from path (as given, absolute, or bare file name) or a callback.
SettingsSource = Mapping[str, FileChoice] | SettingsCallback


async def settings_for(
    source: SettingsSource | None, path: Path, absolute: str, defaults: UploadOptions
) -> FileChoice:
    """The options (or the skip) `source` gives for `path`; `defaults` when it gives none."""
    if source is None:
        return defaults
    if isinstance(source, Mapping):
        for key in (str(path), absolute, path.name):
            if key in source:
                return source[key]
        return defaults
    if inspect.iscoroutinefunction(source):
        result = await source(path, defaults)
    else:
        result = await anyio.to_thread.run_sync(source, path, defaults)
        if inspect.isawaitable(result):
            result = await result
    if result is None:
        return defaults
    if not isinstance(result, (UploadOptions, SkipFile)):
        raise InvalidInputError(
            f"the settings callback returned {type(result).__name__}, not UploadOptions, SkipFile or None"
        )
    return result
