"""The uploader's questions to the server: what a destination holds, over the data-product list.

`reconcile.ServerCheck` (was a file whose answer was lost stored?) and `server_index.ServerIndex`
(was this night uploaded under another journal?) take their look-ups as callables, so they are
tested without a client. These build them from a `Client`. Times are shifted onto the server's
clock (`Client.server_clock_offset`), as the server filters by its own creation time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from .journal import JournalKey
from .reconcile import CAMERA_TYPES, Lookup, ProductLike
from .server_index import Listing

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["listing_for", "lookup_for"]


def lookup_for(client: Client) -> Lookup:
    """`ServerCheck`'s look-up: the destination's products of one wire name since it was sent."""

    def lookup(key: JournalKey, wire_name: str, sent_at: float) -> AsyncIterator[ProductLike]:
        offset = client.server_clock_offset or 0.0
        # A day of slack: the exact comparison is made on our side, by `reconcile.attribute`.
        since = dt.datetime.fromtimestamp(sent_at + offset - 86400.0, tz=dt.timezone.utc)
        return client.dataproducts.list(
            target=key.target,
            oname=key.observatory if key.data_product_type in CAMERA_TYPES else None,
            data_product_type=key.data_product_type,
            photometry_data=wire_name,
            created_start=since,
        ).__aiter__()

    return lookup


def listing_for(client: Client) -> Listing:
    """`ServerIndex`'s listing: every product of the destination created after `since`."""

    def listing(key: JournalKey, since: float) -> AsyncIterator[ProductLike]:
        offset = client.server_clock_offset or 0.0
        return client.dataproducts.list(
            target=key.target,
            oname=key.observatory if key.data_product_type in CAMERA_TYPES else None,
            data_product_type=key.data_product_type,
            created_start=dt.datetime.fromtimestamp(since + offset, tz=dt.timezone.utc),
        ).__aiter__()

    return listing
