"""Reconcile before retry: after a lost answer, find out whether the server stored the file.

The upload POST has no idempotency key and the server does not de-duplicate, so a blind re-send
can store a frame twice. When an answer was lost after the body may have left (reset, read
timeout, 5xx), the uploader looks the file up with `bh.dataproducts.list` (filters: target name,
camera ONAME, data product type, and `photometry_data`, which the server matches as a substring of
the stored path). The server stores ``<number>_<name>``, so a match is an item whose stored file
name is the sent name or ends with ``_<name>``, created no earlier than the request started (less
a clock-skew allowance), and not already claimed by another journal row.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

import anyio
import attrs

from .._clock import Clock
from .._retry import backoff
from ..errors import AuthenticationError, BhtomError, PermissionDeniedError
from .journal import Journal, JournalKey

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["CLOCK_SKEW", "Lookup", "ProductLike", "ServerCheck", "Verdict", "matching_ids", "reconcile"]

#: Seconds of disagreement allowed between our clock and the server's `created` stamps.
CLOCK_SKEW = 600.0
#: Items read at most per lookup (newest first); enough for a night of same-named retries.
MAX_ITEMS = 500
#: Seconds to wait before a second lookup when a recent upload seemed absent.
RECHECK_AFTER = 2.0
#: Uploads started less than this many seconds ago get that second lookup.
RECHECK_WINDOW = 60.0


class ProductLike(Protocol):
    """What reconciliation reads of a data product."""

    @property
    def id(self) -> int | None: ...

    @property
    def data(self) -> str | None: ...

    @property
    def created(self) -> dt.datetime | None: ...


#: ``lookup(target, observatory, data_product_type, name)`` -> the server's candidate items.
Lookup = Callable[[str, str, str, str], AsyncIterator[ProductLike]]


@attrs.frozen
class Verdict:
    """``stored`` (with `data_product_id`), ``absent`` (safe to re-send), or ``undecided``."""

    kind: Literal["stored", "absent", "undecided"]
    data_product_id: int | None = None
    reason: str | None = None


def matching_ids(
    items: Sequence[ProductLike], name: str, *, sent_at: float | None, skew: float = CLOCK_SKEW
) -> list[int]:
    """Ids of the items that can be this upload of `name` (stored as ``<prefix>_<name>``)."""
    found = []
    for item in items:
        if getattr(item, "dry_run", False):
            continue  # a dry run's record is not a stored upload
        stored = (item.data or "").rsplit("/", 1)[-1]
        if stored != name and not stored.endswith("_" + name):
            continue
        if sent_at is not None and item.created is not None:
            created = item.created
            if created.tzinfo is None:
                created = created.replace(tzinfo=dt.timezone.utc)
            if created.timestamp() < sent_at - skew:
                continue
        if item.id is None:
            # An unreadable id cannot be told apart from this upload: "undecided", never "absent".
            raise BhtomError(f"a stored file named {stored!r} has an id this version cannot read")
        found.append(item.id)
    return found


async def reconcile(
    lookup: Lookup,
    *,
    target: str,
    observatory: str,
    data_product_type: str,
    name: str,
    sent_at: float | None,
    claimed: Callable[[list[int]], Awaitable[set[int]]],
) -> Verdict:
    """Decide whether the upload of `name` (started at wall time `sent_at`) reached the server.

    `claimed(ids)` is awaited and returns the subset of ids the journal already holds for other
    files. A failed lookup is an ``undecided`` verdict; only a refused token or account
    (`AuthenticationError`, `PermissionDeniedError`) is raised, since every later lookup would fail.
    """
    try:
        items: list[ProductLike] = []
        async for item in lookup(target, observatory, data_product_type, name):
            items.append(item)
            if len(items) >= MAX_ITEMS:
                break
        ids = matching_ids(items, name, sent_at=sent_at)
        if ids:
            taken = await claimed(ids)
            ids = [i for i in ids if i not in taken]
    except (AuthenticationError, PermissionDeniedError):
        raise
    except BhtomError as exc:
        return Verdict("undecided", reason=f"could not look the file up on the server ({exc})")
    if not ids:
        return Verdict("absent")
    if len(ids) == 1:
        return Verdict("stored", data_product_id=ids[0])
    return Verdict(
        "undecided",
        reason=f"{len(ids)} stored files named {name!r} could be this upload (ids {sorted(ids)[:5]})",
    )


class ServerCheck:
    """Looks a file whose answer was lost up on the server and journals it if it is there.

    Checks run one at a time, so two same-named files cannot both claim one stored product.
    `AuthenticationError` and `PermissionDeniedError` pass through: they end the whole job.
    """

    def __init__(self, client: Client, journal: Journal, clock: Clock) -> None:
        self._client = client
        self._journal = journal
        self._clock = clock
        self._lock = anyio.Lock()

    async def check(
        self, key: JournalKey, name: str, sent_at: float | None, row_id: int | None, sha256: str | None
    ) -> Verdict:
        """The server's answer for `name` sent to `key` at `sent_at` (epoch seconds)."""
        verdict = Verdict("undecided")
        for look in range(2):
            async with self._lock:
                verdict = await reconcile(
                    self._lookup,
                    target=key.target,
                    observatory=key.observatory,
                    data_product_type=key.data_product_type,
                    name=name,
                    sent_at=sent_at,
                    claimed=self._journal.known_ids,
                )
                if verdict.kind == "stored" and row_id is not None:
                    await self._journal.mark(
                        row_id, "uploaded", data_product_id=verdict.data_product_id, sha256=sha256
                    )
            recent = sent_at is not None and time.time() - sent_at < RECHECK_WINDOW
            if verdict.kind != "absent" or not recent or look:
                return verdict
            # A gateway may give up while the service is still storing the file: look once more.
            await self._clock.sleep(backoff(look + 1, initial=RECHECK_AFTER, maximum=RECHECK_AFTER))
        return verdict

    def _lookup(self, target: str, observatory: str, dpt: str, filename: str) -> AsyncIterator[ProductLike]:
        return self._client.dataproducts.list(
            target_name=target, oname=observatory, data_product_type=dpt, photometry_data=filename
        ).__aiter__()
