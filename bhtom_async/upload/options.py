"""How a bulk upload job runs: one frozen `JobOptions`, used by the library and the CLI alike.

What the server is told about each file is `bhtom_async.models.UploadOptions`; this is how the
job behaves on this side: concurrency, journal, rate limits, which files, how patient.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

import attrs

from ..errors import InvalidInputError

__all__ = ["JobOptions"]


def _patterns(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _path_or_none(value: str | os.PathLike[str] | None) -> str | None:
    return None if value is None else os.fspath(value)


def _positive_or_none(
    instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InvalidInputError(f"{attribute.name} must be a positive number, not {value!r}")


@attrs.frozen(kw_only=True)
class JobOptions:
    """How the bulk uploader runs.

    Attributes:
        concurrency: uploads in flight at once (default 4).
        journal: SQLite file that records every file sent; default
            ``$XDG_STATE_HOME/bhtom_async/uploads.sqlite3``. Use the same journal for a re-run:
            it skips what is uploaded, retries what failed and reconciles what is unknown.
            ``":memory:"`` keeps no record.
        include, exclude: glob patterns on file names (or full paths).
        max_requests_per_second: optional limit on upload requests started per second.
        max_bytes_per_second: optional limit on body bytes sent per second (all uploads).
        min_age: seconds since the last write below which a file counts as still being written.
        max_attempts: upload requests per file in one run, counting re-sends after the server
            was found not to have the file.
    """

    concurrency: int = 4
    journal: str | None = attrs.field(default=None, converter=_path_or_none)
    include: tuple[str, ...] = attrs.field(default=(), converter=_patterns)
    exclude: tuple[str, ...] = attrs.field(default=(), converter=_patterns)
    max_requests_per_second: float | None = attrs.field(default=None, validator=_positive_or_none)
    max_bytes_per_second: float | None = attrs.field(default=None, validator=_positive_or_none)
    min_age: float = 2.0
    max_attempts: int = 3

    def __attrs_post_init__(self) -> None:
        if self.concurrency < 1:
            raise InvalidInputError(f"concurrency must be at least 1, not {self.concurrency}")
        if self.max_attempts < 1:
            raise InvalidInputError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if not (math.isfinite(self.min_age) and self.min_age >= 0):
            raise InvalidInputError(f"min_age must be zero or more seconds, not {self.min_age!r}")
