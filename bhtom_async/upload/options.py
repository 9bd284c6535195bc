"""How a bulk upload job runs: one frozen `JobOptions`, used by the library and the CLI alike.

What the server is told about each file is `bhtom_async.models.UploadOptions`; this is how the
job behaves on this side: concurrency, journal, rate limits, which files, how patient.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ..errors import InvalidInputError
from .journal_url import masked

__all__ = ["JobOptions"]


def _patterns(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _path_or_none(value: str | os.PathLike[str] | None) -> str | None:
    if value is None:
        return None
    path = os.fspath(value)
    if not path.strip():
        raise InvalidInputError(
            "journal must be a file path, not an empty string (None uses the default journal; "
            '":memory:" keeps no record)'
        )
    return path


def _masked_repr(value: str | None) -> str:
    return repr(masked(value))  # a PostgreSQL URL's password never reaches a repr


_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _seconds(minimum: float, *, allow_none: bool = False) -> _Validator:
    """A validator: a finite number of seconds of at least `minimum` (or None if allowed)."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
        if value is None and allow_none:
            return
        if value is None or not (math.isfinite(value) and value >= minimum):
            least = "a positive number" if minimum > 0 else "zero or more"
            raise InvalidInputError(f"{attribute.name} must be {least}, not {value!r}")

    return check


_RATE = _seconds(1e-9, allow_none=True)


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise InvalidInputError(f"{attribute.name} must be at least 1, not {value!r}")


@attrs.frozen(kw_only=True)
class JobOptions:
    """How the bulk uploader runs. Times are seconds.

    Attributes:
        concurrency: uploads in flight at once (default 4). The client's connection pool grows
            to fit (plus two connections kept for look-ups) unless its size was fixed.
        journal: SQLite file that records every file sent, or a ``postgresql://`` URL of a
            journal many jobs on many hosts share (docs/many-hosts.md); default
            ``$XDG_STATE_HOME/bhtom_async/uploads.sqlite3``. Use the same journal for a re-run:
            it skips what is uploaded, retries what failed and reconciles what is unknown.
            ``":memory:"`` keeps no record. One job at a time may use a SQLite journal.
        journal_wait: how long to wait for another job that is using the journal (0: refuse at
            once with a message naming it).
        include, exclude: glob patterns on file names (or full paths).
        max_requests_per_second: optional limit on upload requests started per second.
        max_bytes_per_second: optional limit on body bytes sent per second (all uploads).
        settle_time: a file modified more recently than this is held back until its size and
            modification time have been still for this long, then uploaded in the same run.
        max_settle_wait: how long a file may be held back; then it is reported as not ready.
        max_attempts: upload requests per file in one run, counting re-sends after the server
            was found not to have the file.
        file_timeout: one deadline per file, its look-ups included; then its outcome is unknown
            (and a re-run reconciles it).
        rate_limit_budget: how long in all the job may pause for the server's 429 answers; the
            job stops before a pause would pass it (at once if one ``Retry-After`` is longer), and
            the files not yet tried are reported as not attempted.
        marker: add a unique tag (``[bhtom_async:<id>]``) to each upload's comment (on by
            default), so a file whose answer was lost is recognised on the server exactly: a
            same-named product without the tag (a colleague's, the web form's) is never taken
            for it. The tag is visible in the product's comment on the web site; without it the
            server's records cannot tell a colleague's frame stored while ours was in flight
            from ours (docs/uploads.md).
        check_server: before first sending a file the journal does not know, look for it among
            the destination's stored products (one listing per destination, cached), so a night
            uploaded before under another journal is not stored twice. None (the default): on
            when the paths are a watched stream, off otherwise. See `upload.server_index`.
        resend_unknown: send again a file whose outcome is unknown because several stored
            products could be it (an earlier unknown in the journal, or a server check that
            cannot tell). No re-run can resolve that, as the server lists no size or hash: check
            the candidates' ids first (the outcome lists them), then set this.
    """

    concurrency: int = attrs.field(default=4, validator=_at_least_one)
    journal: str | None = attrs.field(default=None, converter=_path_or_none, repr=_masked_repr)
    journal_wait: float = attrs.field(default=0.0, validator=_seconds(0.0))
    include: tuple[str, ...] = attrs.field(default=(), converter=_patterns)
    exclude: tuple[str, ...] = attrs.field(default=(), converter=_patterns)
    max_requests_per_second: float | None = attrs.field(default=None, validator=_RATE)
    max_bytes_per_second: float | None = attrs.field(default=None, validator=_RATE)
    settle_time: float = attrs.field(default=2.0, validator=_seconds(0.0))
    max_settle_wait: float = attrs.field(default=300.0, validator=_seconds(0.0))
    max_attempts: int = attrs.field(default=3, validator=_at_least_one)
    file_timeout: float = attrs.field(default=900.0, validator=_seconds(1e-9))
    rate_limit_budget: float = attrs.field(default=900.0, validator=_seconds(0.0))
    marker: bool = True
    check_server: bool | None = None
    resend_unknown: bool = False
