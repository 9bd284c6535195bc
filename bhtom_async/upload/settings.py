"""Per-file upload settings: where they come from and how they override the job's defaults.

Real nights mix targets and filters, so each file's target, observatory, filter, ... may come
from a mapping (keyed by the path as given, its absolute path, or its bare name) or from a
callback (sync callbacks run in a worker thread; see `headers.settings_from_header`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import anyio.to_thread
import attrs

from ..errors import InvalidInputError
from .events import FileSettings
from .journal import JournalKey

__all__ = ["FileJob", "SettingsCallback", "SettingsSource", "apply_overrides", "settings_for"]

SettingsCallback = Callable[[Path], FileSettings | Awaitable[FileSettings | None] | None]
#: Per-file settings: a mapping from path (as given, absolute, or bare file name) or a callback.
SettingsSource = Mapping[str, FileSettings] | SettingsCallback


@attrs.frozen
class FileJob:
    """The settings of one file's upload after applying the per-file overrides."""

    target: str
    observatory: str
    data_product_type: str
    filter: str | None
    mjd: float | None
    observers: tuple[str, ...]
    comment: str | None
    match_dist: float | None

    @property
    def key(self) -> JournalKey:
        return JournalKey(self.target, self.observatory, self.data_product_type)


async def settings_for(source: SettingsSource | None, path: Path, absolute: str) -> FileSettings | None:
    """The overrides `source` gives for `path`, or None."""
    if source is None:
        return None
    if isinstance(source, Mapping):
        for key in (str(path), absolute, path.name):
            if key in source:
                return source[key]
        return None
    if inspect.iscoroutinefunction(source):
        result = await source(path)
    else:
        result = await anyio.to_thread.run_sync(source, path)
        if inspect.isawaitable(result):
            result = await result
    if result is not None and not isinstance(result, FileSettings):
        raise InvalidInputError(f"the settings callback returned {type(result).__name__}, not FileSettings")
    return result


def apply_overrides(defaults: FileJob, overrides: FileSettings | None) -> FileJob:
    """`defaults` with every field the overrides set (None means "keep the default")."""
    if overrides is None:
        return defaults
    fields = (
        "target",
        "observatory",
        "data_product_type",
        "filter",
        "mjd",
        "observers",
        "comment",
        "match_dist",
    )
    changes = {name: value for name in fields if (value := getattr(overrides, name)) is not None}
    return attrs.evolve(defaults, **changes)
