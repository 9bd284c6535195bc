"""Do the server's ``created`` stamps run on the clock its ``Date`` header shows?

Reconciliation compares a product's ``created`` stamp with our send time moved onto the server's
clock by the offset read from ``Date`` headers. A proxy or a second host in front of the server
can answer with its own ``Date`` while the database stamps products on another clock; then the
comparison is wrong by the difference, and a stored frame looks older than its own upload.

Our own receipts tell: once per job, after the first upload answered with an id, that product is
read back (one request) and its stamp is compared with when we sent it. When the two clocks
disagree by more than the tolerance, `gap` is set and the time comparisons are no longer
trusted: look-ups rely on the product ids alone, and what the ids cannot settle is ``unknown``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from ..errors import BhtomError

__all__ = ["CreatedClock"]

#: Seconds by which the stamp clock may differ from the ``Date`` clock before they "disagree".
AGREEMENT = 5.0
#: Receipts read back at most per job (a failed read-back is tried on the next receipt).
MAX_CHECKS = 3

#: ``created_of(product_id)``: that product's ``created`` stamp, or None if it cannot be read.
CreatedOf = Callable[[int], Awaitable["dt.datetime | None"]]


class CreatedClock:
    """Checks, on our first receipt of the job, that ``created`` and ``Date`` share a clock.

    Args:
        created_of: reads one product's ``created`` stamp.
    """

    def __init__(self, created_of: CreatedOf) -> None:
        self._created_of = created_of
        self._tries = 0
        self.checked = False
        #: The stamp clock minus the ``Date`` clock (seconds) when they disagree, else None.
        self.gap: float | None = None

    async def check(self, product_id: int, sent_at: float, answered_at: float, offset: float | None) -> None:
        """Compare the product's stamp with our send window [`sent_at`, `answered_at`] (our clock).

        `offset` is the ``Date`` clock minus ours. Does nothing once checked, or without an offset.
        """
        if self.checked or offset is None or self._tries >= MAX_CHECKS:
            return
        self._tries += 1
        try:
            created = await self._created_of(product_id)
        except BhtomError:
            return
        if created is None:
            return
        self.checked = True
        stamp = (
            created if created.tzinfo is not None else created.replace(tzinfo=dt.timezone.utc)
        ).timestamp()
        # The stamp clock minus ours lies in [stamp - answered_at, stamp - sent_at].
        low, high = stamp - answered_at, stamp - sent_at
        if offset < low - AGREEMENT:
            self.gap = low - offset
        elif offset > high + AGREEMENT:
            self.gap = high - offset
