"""Shared journals: a file is claimed before it is handled, and one another worker holds is asked
for again later, until it is this job's or stored (see docs/many-hosts.md).

A held file is asked for again after `CLAIM_POLL` seconds, then twice as long each time up to
`CLAIM_BACKOFF_MAX`, and never later than the holder's lease lapses (`Claim.retry_after`). Its
content hash (what a claim compares across mount paths) is kept for the fingerprint it was
computed at, so a held 250 MB frame is read once, not on every ask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import anyio.to_thread
import attrs

from .._clock import Clock
from ..errors import BhtomError, JournalError
from . import frames
from .discovery import Candidate, Fingerprint
from .journal import JournalKey, UploadJournal
from .ledger import Ledger
from .scratch import Scratch

__all__ = ["CLAIM_BACKOFF_MAX", "CLAIM_POLL", "HeldFiles"]

#: Seconds before a held file is first asked for again (and between rounds of asking).
CLAIM_POLL = 0.25
#: The longest wait between two asks for the same held file.
CLAIM_BACKOFF_MAX = 2.0

T = TypeVar("T")


@attrs.frozen
class _Held(Generic[T]):
    item: T
    ask_at: float


@attrs.frozen
class _Memo:
    """What is kept of a file between asks: its hash at a fingerprint, and the next wait."""

    fingerprint: Fingerprint
    sha256: str | None
    backoff: float


class HeldFiles(Generic[T]):
    """One job's claims on a shared journal, and its files that other workers hold.

    Args:
        clock: when a held file is due to be asked for again.
        ledger: where a file's outcome goes when a claim settles it (stored by another worker,
            unreadable, or the journal failed).
        scratch: where compressed frames are unpacked to be hashed.
        stop: stops the job (a claim that cannot be written: no send starts without one).
    """

    def __init__(
        self, clock: Clock, ledger: Ledger, scratch: Scratch, stop: Callable[[BhtomError], None]
    ) -> None:
        self._clock = clock
        self._ledger = ledger
        self._scratch = scratch
        self._stop = stop
        self._held: list[_Held[T]] = []
        self._memo: dict[str, _Memo] = {}  # by path

    def __len__(self) -> int:
        """Files held by another worker, waiting to be asked for again."""
        return len(self._held)

    async def claim(self, journal: UploadJournal, key: JournalKey, candidate: Candidate, item: T) -> bool:
        """Claim the file for this job: True if it is this job's to handle now.

        Otherwise its outcome is recorded (stored by another worker, unreadable, or the journal
        failed, which stops the job), or it is held, and `item` comes back from `due` later.
        """
        path = candidate.fingerprint.path
        memo = self._memo.get(path)
        known = memo.sha256 if memo is not None and memo.fingerprint == candidate.fingerprint else None
        hashed: list[str] = []

        async def content() -> str:
            if known is not None:
                return known
            digest = await anyio.to_thread.run_sync(
                frames.content_sha256, candidate.path, candidate.compression, self._scratch.folder()
            )
            hashed.append(digest)
            return digest

        try:
            claim = await journal.claim(key, candidate.fingerprint, candidate.wire_name, content)
        except JournalError as exc:
            self._memo.pop(path, None)
            self._stop(exc)
            self._ledger.not_attempted(candidate.path, candidate.size)
            return False
        except (OSError, ValueError, EOFError) as exc:
            self._memo.pop(path, None)
            self._ledger.finished(candidate, "failed", reason=f"could not be read ({exc})")
            return False
        if claim.granted:
            self._memo.pop(path, None)
            return True
        if claim.row is not None and claim.row.state == "uploaded":
            self._memo.pop(path, None)
            self._ledger.already_uploaded(candidate.path, candidate.size, claim.row)
            return False
        backoff = memo.backoff if memo is not None else CLAIM_POLL
        wait = min(backoff, max(CLAIM_POLL, claim.retry_after))
        sha256 = hashed[0] if hashed else known
        self._memo[path] = _Memo(candidate.fingerprint, sha256, min(backoff * 2, CLAIM_BACKOFF_MAX))
        self._held.append(_Held(item, self._clock.monotonic() + wait))
        return False

    def due(self) -> list[T]:
        """The held files due to be asked for again now (they are no longer counted as held)."""
        now = self._clock.monotonic()
        due = [held.item for held in self._held if held.ask_at <= now]
        self._held = [held for held in self._held if held.ask_at > now]
        return due

    def abandon(self) -> list[T]:
        """Every held file, given up (the job ends)."""
        items = [held.item for held in self._held]
        self._held.clear()
        self._memo.clear()
        return items
