"""Reconcile before retry: after a lost answer, find out whether the server stored the file.

The upload POST has no idempotency key and the server does not de-duplicate, so a blind re-send
can store a frame twice, and a careless look-up can mistake someone else's frame for ours. When
an answer was lost after the body may have left (reset, read timeout, 5xx, a garbled 2xx), the
uploader lists the data products that could be this upload and applies one rule
(`attribute`, written out with its examples in ``docs/uploads.md``):

A stored product is this upload only if it is the **one** product that matches everything known:

- the exact target name (the server's ``target_name`` filter is a case-insensitive substring
  match, so it is checked again here, exactly), the data product type, and, for FITS and
  photometry uploads, the camera ONAME;
- the stored file name is the name sent on the wire, alone or behind the server's numeric prefix
  (``1234_<name>``);
- it was created after the first request for this file started, by the **server's** clock (our
  send time plus the offset read from the ``Date`` header of the server's answers), within a few
  seconds' tolerance;
- its id is above the newest id the server had shown us before that first request (ids are
  assigned in order, so a product at or below it existed before we sent: exact, no clock), and,
  for a send made by an earlier process (killed, or ended with the outcome unknown), at or below
  the newest id when this job began (that request was over by then);
- it carries this upload's marker in its comment, when markers are on (exact: then nothing else
  can match);
- no other journal row holds it, and no other unresolved upload of the same name to the same
  place could have made it (its window covers the product's creation time).

No candidate: the file is absent and may be sent again. One: it is stored (the id is adopted).
Several, or a product that might match but cannot be read: the outcome is unknown; it is never
adopted and never re-sent, and the candidates' ids are reported.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Literal, Protocol

import anyio
import attrs

from .._clock import Clock
from .._retry import backoff
from ..errors import AuthenticationError, BhtomError, PermissionDeniedError
from .journal import JournalKey, JournalRow, UploadJournal

__all__ = [
    "CAMERA_TYPES",
    "MAX_ITEMS",
    "TOLERANCE",
    "Lookup",
    "NewestId",
    "ProductLike",
    "Sent",
    "ServerCheck",
    "Verdict",
    "attribute",
]

#: Seconds of slack when comparing the server's creation stamps with our send time on its clock
#: (its ``Date`` header has one-second resolution; the offset is read from a later answer).
TOLERANCE = 5.0
#: Slack when the server sends no ``Date`` header, so its clock is unknown.
UNSYNCED_TOLERANCE = 120.0
#: Items read at most per look-up; more candidates than this and the verdict is unknown.
MAX_ITEMS = 1000
#: What an unknown outcome with several candidates says (no re-run can resolve it).
NO_RERUN = (
    "a re-run cannot either; none was adopted and the file was not sent again: check those ids on "
    "the server, then run with --resend-unknown (JobOptions.resend_unknown) to send it"
)
#: Seconds to wait before a second look-up when a recent upload seemed absent.
RECHECK_AFTER = 2.0
#: Uploads started less than this many seconds ago get that second look-up.
RECHECK_WINDOW = 60.0
#: Data product types whose ``observatory`` is a camera ONAME (the others take free text).
CAMERA_TYPES = ("fits_file", "photometry")


class ProductLike(Protocol):
    """What reconciliation reads of a data product (any field may be unreadable: None)."""

    @property
    def id(self) -> int | None: ...

    @property
    def data(self) -> str | None: ...

    @property
    def created(self) -> dt.datetime | None: ...

    @property
    def target_name(self) -> str | None: ...

    @property
    def camera(self) -> str | None: ...

    @property
    def data_product_type(self) -> str | None: ...

    @property
    def dry_run(self) -> bool | None: ...

    @property
    def comment(self) -> str | None: ...


#: ``lookup(key, wire_name, created_after)`` -> the server's candidate items, newest first.
Lookup = Callable[[JournalKey, str, float], AsyncIterator[ProductLike]]


@attrs.frozen
class Sent:
    """What we know of an upload whose answer was lost.

    Attributes:
        key: where it went (target, camera, type).
        wire_name: the file name as sent.
        row_id: its journal row (None in dry runs).
        sent_at: our wall time when the first request for this file started.
        server_offset: the server's clock minus ours at that time, if an answer had told us.
        marker: the tag put in its comment, when markers are on.
        id_floor: the newest product id the server had shown before the first request (None:
            none seen); no product at or below it can be this upload.
    """

    key: JournalKey
    wire_name: str
    row_id: int | None
    sent_at: float
    server_offset: float | None = None
    marker: str | None = None
    id_floor: int | None = None

    @classmethod
    def of_row(cls, row: JournalRow) -> Sent:
        start = row.first_sent_at if row.first_sent_at is not None else (row.sent_at or 0.0)
        return cls(row.key, row.name, row.id, start, row.server_offset, row.marker, row.id_floor)


class NewestId:
    """The newest data-product id the server has shown this job (its answers, its listings).

    Ids are assigned in order, so a product whose id is at or below the value known before a
    request started existed before it: it cannot be what that request stored.
    """

    def __init__(self) -> None:
        self.value: int | None = None

    def see(self, ident: int | None) -> None:
        """Note an id the server showed."""
        if ident is not None and (self.value is None or ident > self.value):
            self.value = ident


@attrs.frozen
class Verdict:
    """``stored`` (with `data_product_id`), ``absent`` (safe to re-send), or ``unknown``."""

    kind: Literal["stored", "absent", "unknown"]
    data_product_id: int | None = None
    candidates: tuple[int, ...] = ()
    reason: str | None = None


def stored_name_matches(data: str, wire_name: str) -> bool:
    """Whether a stored path is the file sent as `wire_name` (``<name>`` or ``<digits>_<name>``)."""
    stored = data.rsplit("/", 1)[-1]
    return stored == wire_name or re.fullmatch(r"\d+_" + re.escape(wire_name), stored) is not None


def attribute(
    items: Sequence[ProductLike],
    sent: Sent,
    *,
    offset_now: float | None,
    others: Sequence[Sent] = (),
    held: frozenset[int] = frozenset(),
    clock_gap: float | None = None,
) -> Verdict:
    """The rule (see the module docstring): which of `items` is the upload `sent`, if any.

    Args:
        items: the server's products that the look-up returned.
        sent: the upload in question.
        offset_now: the server's clock minus ours, read from the look-up's own answer.
        others: other unresolved uploads of the same name to the same place.
        held: ids other journal rows already hold.
        clock_gap: set when the server's ``created`` stamps were found to run on another clock
            than its ``Date`` header (`clocks.CreatedClock`): creation times are then not
            compared, and without an id floor any candidate leaves the outcome unknown.
    """
    offset = sent.server_offset if sent.server_offset is not None else offset_now
    slack = TOLERANCE if offset is not None else UNSYNCED_TOLERANCE
    start = sent.sent_at + (offset or 0.0)
    timed = clock_gap is None
    found: list[ProductLike] = []
    early: list[int] = []  # above the id floor, yet stamped before our send: the clocks disagree?
    for item in items:
        match = _matches(item, sent, start - slack if timed else None)
        if match is None:
            return Verdict(
                "unknown",
                reason=f"a stored product that may be this file cannot be read (id {item.id}); "
                "it was not adopted and the file was not sent again",
            )
        if match == "early" and item.id not in held and sent.id_floor is not None and item.id is not None:
            early.append(item.id)
        elif match is True and item.id not in held:
            found.append(item)
    ids = tuple(sorted({*(i.id for i in found if i.id is not None), *early}))
    if early:
        return Verdict(
            "unknown",
            candidates=ids,
            reason=f"stored product {early[0]} of this name is newer than any the server had shown "
            "before this file was sent, yet stamped before the send by the server's Date clock: "
            "its clocks may disagree; it was not adopted and the file was not sent again",
        )
    if not found:
        return Verdict("absent")
    if not timed and sent.id_floor is None:
        return Verdict(
            "unknown",
            candidates=ids,
            reason=f"the server stamps products on a clock {clock_gap:+.0f} s away from its Date header, "
            f"so stored product(s) {', '.join(map(str, ids))} cannot be told from this file by time; "
            "none was adopted and the file was not sent again",
        )
    if len(found) > 1:
        return Verdict(
            "unknown",
            candidates=ids,
            reason=f"{len(found)} stored products could be this file (ids {', '.join(map(str, ids))}) "
            f"and the server's records cannot tell them apart, so {NO_RERUN}",
        )
    (product,) = found
    assert product.id is not None  # checked by _matches
    assert product.created is not None
    created = _timestamp(product.created)
    for other in others:
        other_start = other.sent_at + (
            other.server_offset if other.server_offset is not None else offset or 0.0
        )
        if (not timed or created >= other_start - slack) and not (sent.marker and other.marker):
            return Verdict(
                "unknown",
                candidates=ids,
                reason=f"product {product.id} could be this file or another upload of the same name "
                "whose outcome is unknown; it was not adopted",
            )
    return Verdict("stored", data_product_id=product.id, candidates=ids)


def _matches(item: ProductLike, sent: Sent, earliest: float | None) -> bool | Literal["early"] | None:
    """True/False, ``"early"`` when only its creation time is before `earliest`, or None when the
    item might be this upload but a field needed to tell is unreadable."""
    key = sent.key
    if item.dry_run:
        return False  # a dry run's record is not a stored upload
    known = [
        item.data is None or stored_name_matches(item.data, sent.wire_name),
        item.target_name is None or item.target_name == key.target,
        item.data_product_type is None or item.data_product_type == key.data_product_type,
        key.data_product_type not in CAMERA_TYPES or item.camera is None or item.camera == key.observatory,
        not sent.marker or (item.comment is not None and sent.marker in item.comment),
        sent.id_floor is None or item.id is None or item.id > sent.id_floor,
    ]
    if not all(known):
        return False
    unreadable = item.id is None or item.data is None or item.target_name is None or item.created is None
    if unreadable:
        return None
    assert item.created is not None
    if earliest is not None and _timestamp(item.created) < earliest:
        return "early"
    return True


def _timestamp(value: dt.datetime) -> float:
    return (value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)).timestamp()


class ServerCheck:
    """Looks a file whose answer was lost up on the server, and journals it if it is there.

    Checks run one at a time, so two unclear same-named files cannot both claim one product.
    `AuthenticationError` and `PermissionDeniedError` pass through: they end the whole job.

    Args:
        lookup: lists candidate products (see `Lookup`).
        journal: the job's journal (other rows' ids and unresolved uploads).
        clock: the job's clock (the second look waits on it).
        server_offset: the server's clock minus ours, as last read from its answers.
        clock_gap: how far the server's ``created`` stamps run from its ``Date`` clock, once
            found to disagree (None: they agree, or it is not known yet).
    """

    def __init__(
        self,
        lookup: Lookup,
        journal: UploadJournal,
        clock: Clock,
        server_offset: Callable[[], float | None],
        clock_gap: Callable[[], float | None] = lambda: None,
    ) -> None:
        self._gap = clock_gap
        self._lookup = lookup
        self._journal = journal
        self._clock = clock
        self._offset = server_offset
        self._lock = anyio.Lock()

    async def check(self, sent: Sent, *, sha256: str | None = None) -> Verdict:
        """The server's answer for `sent`; a ``stored`` verdict is journaled before returning."""
        verdict = Verdict("unknown")
        for look in range(2):
            async with self._lock:
                verdict = await self._look(sent)
                if verdict.kind == "stored" and sent.row_id is not None:
                    await self._journal.finish(
                        sent.row_id, "uploaded", data_product_id=verdict.data_product_id, sha256=sha256
                    )
            recent = time.time() - sent.sent_at < RECHECK_WINDOW
            if verdict.kind != "absent" or not recent or look:
                return verdict
            # A gateway may give up while the service is still storing the file: look once more.
            await self._clock.sleep(backoff(look + 1, initial=RECHECK_AFTER, maximum=RECHECK_AFTER))
        return verdict

    async def _look(self, sent: Sent) -> Verdict:
        try:
            items: list[ProductLike] = []
            async for item in self._lookup(sent.key, sent.wire_name, sent.sent_at):
                items.append(item)
                if len(items) > MAX_ITEMS:
                    return Verdict(
                        "unknown", reason=f"more than {MAX_ITEMS} stored files are named like this one"
                    )
            others = [
                Sent.of_row(row)
                for row in await self._journal.unclear(sent.key, sent.wire_name)
                if row.id != sent.row_id
            ]
            ids = [i.id for i in items if i.id is not None]
            held = frozenset(await self._journal.held_ids(ids))
        except (AuthenticationError, PermissionDeniedError):
            raise
        except BhtomError as exc:
            return Verdict("unknown", reason=f"could not look the file up on the server ({exc.headline})")
        return attribute(
            items, sent, offset_now=self._offset(), others=others, held=held, clock_gap=self._gap()
        )
