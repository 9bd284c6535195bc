"""The uploader's questions to the server: what a destination holds, over the data-product list.

`reconcile.ServerCheck` (was a file whose answer was lost stored?) and `server_index.ServerIndex`
(was this night uploaded under another journal?) take their look-ups as callables, so they are
tested without a client. These build them from a `Client`. Times are shifted onto the server's
clock (`Client.server_clock_offset`), as the server filters by its own creation time. Every id
they see goes to the job's `NewestId` (the floor below which no product can be a later upload).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING

from ..errors import BhtomError
from .clocks import CreatedOf
from .journal import JournalKey
from .reconcile import CAMERA_TYPES, Lookup, NewestId, ProductLike
from .server_index import Listing

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["created_for", "listing_for", "lookup_for", "probe_newest_id"]

#: How far back (seconds) the job-start probe lists products to learn the newest id.
PROBE_WINDOW = 3600.0


async def _seen(items: AsyncIterable[ProductLike], newest: NewestId | None) -> AsyncIterator[ProductLike]:
    async for item in items:
        if newest is not None:
            newest.see(item.id)
        yield item


async def probe_newest_id(client: Client, newest: NewestId) -> None:
    """At job start: the newest product id now (any user's), from the last hour's products (or,
    when there are none, the first page of all; newest first). One request, rarely two.

    A failure is ignored (the floor stays unknown and the first upload reports any refusal).
    """
    since = time.time() + (client.server_clock_offset or 0.0) - PROBE_WINDOW
    for start in (dt.datetime.fromtimestamp(since, tz=dt.timezone.utc), None):
        try:
            page = await client.dataproducts.list(created_start=start).first_page()
        except BhtomError:
            return
        for item in page.items:
            newest.see(item.id)
        if newest.value is not None:
            return


def created_for(client: Client) -> CreatedOf:
    """`CreatedClock`'s read-back: one product's ``created`` stamp, by its id (one request)."""

    async def created_of(product_id: int) -> dt.datetime | None:
        page = await client.dataproducts.list(id=product_id).first_page()
        return next((item.created for item in page.items if item.id == product_id), None)

    return created_of


def lookup_for(client: Client, newest: NewestId | None = None) -> Lookup:
    """`ServerCheck`'s look-up: the destination's products of one wire name since it was sent."""

    def lookup(key: JournalKey, wire_name: str, sent_at: float) -> AsyncIterator[ProductLike]:
        offset = client.server_clock_offset or 0.0
        # A day of slack: the exact comparison is made on our side, by `reconcile.attribute`.
        since = dt.datetime.fromtimestamp(sent_at + offset - 86400.0, tz=dt.timezone.utc)
        found = client.dataproducts.list(
            target=key.target,
            oname=key.observatory if key.data_product_type in CAMERA_TYPES else None,
            data_product_type=key.data_product_type,
            photometry_data=wire_name,
            created_start=since,
        )
        return _seen(found, newest)

    return lookup


def listing_for(client: Client, newest: NewestId | None = None) -> Listing:
    """`ServerIndex`'s listing: every product of the destination created after `since`."""

    def listing(key: JournalKey, since: float) -> AsyncIterator[ProductLike]:
        offset = client.server_clock_offset or 0.0
        found = client.dataproducts.list(
            target=key.target,
            oname=key.observatory if key.data_product_type in CAMERA_TYPES else None,
            data_product_type=key.data_product_type,
            created_start=dt.datetime.fromtimestamp(since + offset, tz=dt.timezone.utc),
        )
        return _seen(found, newest)

    return listing
