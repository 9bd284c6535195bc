"""`upload.reconcile` (finding a lost upload on the server) and `upload.ratelimit` (token bucket)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import attrs
import pytest

from bhtom_async.errors import ServerError
from bhtom_async.testing import ManualClock
from bhtom_async.upload.ratelimit import TokenBucket
from bhtom_async.upload.reconcile import ProductLike, matching_ids, reconcile

pytestmark = pytest.mark.anyio
SENT = 1_750_000_000.0


@attrs.frozen
class Item:
    id: int
    data: str | None
    created: dt.datetime | None


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def test_matches_prefixed_stored_name_only() -> None:
    """The server stores `<n>_<name>`: the suffix matches, other names do not."""
    items = [
        Item(1, "/data/targets/T/416_a.fits", at(SENT + 1)),
        Item(2, "/data/targets/T/417_xa.fits", at(SENT + 1)),
        Item(3, "/data/targets/T/a.fits", at(SENT + 1)),
        Item(4, None, at(SENT + 1)),
    ]
    assert matching_ids(items, "a.fits", sent_at=SENT) == [1, 3]


def test_older_uploads_of_the_same_name_do_not_match() -> None:
    """A same-named product created well before the request started is another upload."""
    items = [Item(1, "/d/1_a.fits", at(SENT - 3600)), Item(2, "/d/2_a.fits", at(SENT - 5))]
    assert matching_ids(items, "a.fits", sent_at=SENT) == [2]


def lookup_of(items: list[Item]):  # type: ignore[no-untyped-def]
    async def lookup(target: str, observatory: str, dpt: str, name: str) -> AsyncIterator[ProductLike]:
        for item in items:
            yield item

    return lookup


async def no_claims(ids: list[int]) -> set[int]:
    return set()


async def test_one_match_is_stored() -> None:
    """Exactly one unclaimed match: the file is on the server with that id."""
    verdict = await reconcile(
        lookup_of([Item(9, "/d/1_a.fits", at(SENT))]),
        target="T",
        observatory="O",
        data_product_type="fits_file",
        name="a.fits",
        sent_at=SENT,
        claimed=no_claims,
    )
    assert (verdict.kind, verdict.data_product_id) == ("stored", 9)


async def test_no_match_is_absent_and_claimed_ids_do_not_count() -> None:
    """An id the journal already holds for another file is not this upload."""

    async def claims(ids: list[int]) -> set[int]:
        return {9}

    verdict = await reconcile(
        lookup_of([Item(9, "/d/1_a.fits", at(SENT))]),
        target="T",
        observatory="O",
        data_product_type="fits_file",
        name="a.fits",
        sent_at=SENT,
        claimed=claims,
    )
    assert verdict.kind == "absent"


async def test_ambiguous_or_failed_lookup_is_undecided() -> None:
    """Two candidates, or a lookup error, give `undecided`: never re-send on a guess."""
    two = await reconcile(
        lookup_of([Item(1, "/d/1_a.fits", at(SENT)), Item(2, "/d/2_a.fits", at(SENT))]),
        target="T",
        observatory="O",
        data_product_type="fits_file",
        name="a.fits",
        sent_at=SENT,
        claimed=no_claims,
    )
    assert two.kind == "undecided"

    async def broken(target: str, observatory: str, dpt: str, name: str) -> AsyncIterator[ProductLike]:
        raise ServerError("boom", status=500, method="POST", path="/common/api/data/")
        yield  # pragma: no cover

    failed = await reconcile(
        broken,
        target="T",
        observatory="O",
        data_product_type="fits_file",
        name="a.fits",
        sent_at=SENT,
        claimed=no_claims,
    )
    assert failed.kind == "undecided"
    assert failed.reason is not None
    assert "could not look the file up" in failed.reason


async def test_token_bucket_spaces_requests_at_the_rate() -> None:
    """Five requests at 10/s with a burst of 1 wait 0.1 s each after the first."""
    clock = ManualClock()
    bucket = TokenBucket(10, burst=1, clock=clock)
    for _ in range(5):
        await bucket.acquire()
    assert clock.monotonic() == pytest.approx(0.4)


async def test_token_bucket_lets_large_chunks_through_in_debt() -> None:
    """A chunk bigger than the bucket passes, and the debt delays the next one at the average rate."""
    clock = ManualClock()
    bucket = TokenBucket(1000, clock=clock)
    await bucket.acquire(3000)
    await bucket.acquire(1000)
    assert clock.monotonic() == pytest.approx(3.0)


async def test_token_bucket_idle_time_does_not_grow_the_burst() -> None:
    """After a minute idle at 10/s with a burst of 2, 2 requests pass at once; the rest wait 0.1 s each."""
    clock = ManualClock()
    bucket = TokenBucket(10, burst=2, clock=clock)
    clock.advance(60)  # 600 tokens' worth of idle time, capped at the burst
    start = clock.monotonic()
    for _ in range(12):
        await bucket.acquire()
    assert clock.monotonic() - start == pytest.approx(1.0)
    assert len(clock.sleeps) == 10


def test_token_bucket_refuses_non_positive_rate() -> None:
    """A rate of zero would wait forever; it is refused."""
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0, clock=ManualClock())


@attrs.frozen
class DryItem:
    id: int
    data: str | None
    created: dt.datetime | None
    dry_run: bool = True


def test_dry_run_records_never_match() -> None:
    """A dry run's record (its id never resolves) is not mistaken for the lost upload."""
    assert matching_ids([DryItem(1, "/d/1_a.fits", at(SENT))], "a.fits", sent_at=SENT) == []
