"""`upload.reconcile`: the rule that decides whether a lost upload is stored, and its look-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from bhtom_async.errors import ServerError
from bhtom_async.testing import ManualClock
from bhtom_async.upload.clocks import CreatedClock
from bhtom_async.upload.discovery import Fingerprint, wire_name
from bhtom_async.upload.journal import JournalKey
from bhtom_async.upload.journal_sqlite import SqliteJournal
from bhtom_async.upload.reconcile import (
    NewestId,
    ProductLike,
    Sent,
    ServerCheck,
    attribute,
    stored_name_matches,
)

pytestmark = pytest.mark.anyio
SENT = 1_750_000_000.0
KEY = JournalKey("Gaia22bpl", "Obs_Cam", "fits_file")


@attrs.frozen
class Item:
    """A data product as the look-up lists it (any field may be unreadable)."""

    id: int | None
    data: str | None
    created: dt.datetime | None
    target_name: str | None = "Gaia22bpl"
    camera: str | None = "Obs_Cam"
    data_product_type: str | None = "fits_file"
    dry_run: bool | None = False
    comment: str | None = None


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def sent(
    name: str = "a.fits", *, offset: float | None = 0.0, marker: str | None = None, at: float = SENT
) -> Sent:
    return Sent(KEY, name, 1, at, offset, marker)


def test_the_stored_name_is_the_wire_name_alone_or_behind_a_numeric_prefix() -> None:
    """`416_a.fits` and `a.fits` are this file; `417_xa.fits` and `x_a.fits` are not."""
    assert stored_name_matches("/data/targets/T/416_a.fits", "a.fits")
    assert stored_name_matches("targets/T/a.fits", "a.fits")
    assert not stored_name_matches("/data/targets/T/417_xa.fits", "a.fits")
    assert not stored_name_matches("/data/targets/T/x_a.fits", "a.fits")


def test_one_matching_product_is_stored() -> None:
    """The one product with the exact name, place and a creation time after the send is adopted."""
    verdict = attribute([Item(7, "/d/12_a.fits", at(SENT + 2))], sent(), offset_now=0.0)
    assert (verdict.kind, verdict.data_product_id) == ("stored", 7)


def test_an_earlier_product_of_the_same_name_is_someone_else_s() -> None:
    """A colleague's `a.fits` stored earlier the same night is not this upload: absent, re-send."""
    verdict = attribute([Item(3, "/d/9_a.fits", at(SENT - 600))], sent(), offset_now=0.0)
    assert verdict.kind == "absent"


def test_times_are_compared_on_the_server_s_clock() -> None:
    """With the server 11 minutes behind us, its fresh stamp still matches once its offset is known."""
    product = Item(5, "/d/1_a.fits", at(SENT - 660 + 1))
    assert attribute([product], sent(offset=-660.0), offset_now=-660.0).kind == "stored"
    # Read on our own clock the same product would look older than the send, so absent (a duplicate).
    assert attribute([product], sent(offset=0.0), offset_now=0.0).kind == "absent"


def test_the_offset_read_at_look_up_time_is_used_when_the_send_had_none() -> None:
    """A send before any answer (offset unknown) is placed on the server's clock by the look-up's Date."""
    product = Item(5, "/d/1_a.fits", at(SENT - 660 + 1))
    assert attribute([product], sent(offset=None), offset_now=-660.0).kind == "stored"


def test_a_target_that_differs_only_in_case_is_not_this_upload() -> None:
    """The server's target filter ignores case; the rule does not (`gaia22BPL` is not `Gaia22bpl`)."""
    product = Item(9, "/d/1_a.fits", at(SENT + 1), target_name="Gaia22bpl")
    mine = Sent(JournalKey("gaia22BPL", "Obs_Cam", "fits_file"), "a.fits", 1, SENT, 0.0)
    assert attribute([product], mine, offset_now=0.0).kind == "absent"


def test_another_camera_or_type_is_not_this_upload() -> None:
    """A product from another camera, or of another type, does not count."""
    items = [
        Item(1, "/d/1_a.fits", at(SENT + 1), camera="Other_Cam"),
        Item(2, "/d/2_a.fits", at(SENT + 1), data_product_type="photometry"),
    ]
    assert attribute(items, sent(), offset_now=0.0).kind == "absent"


def test_free_text_observatories_are_not_compared() -> None:
    """For photometry_csv the observatory is free text the listing does not echo: it is not checked."""
    csv = Sent(JournalKey("Gaia22bpl", "my scope", "photometry_csv"), "a.csv", 1, SENT, 0.0)
    item = Item(4, "/d/4_a.csv", at(SENT + 1), camera=None, data_product_type="photometry_csv")
    assert attribute([item], csv, offset_now=0.0).kind == "stored"


def test_several_candidates_are_unknown_and_listed() -> None:
    """Two products that both fit: neither is adopted, both ids are reported."""
    items = [Item(8, "/d/8_a.fits", at(SENT + 1)), Item(9, "/d/9_a.fits", at(SENT + 3))]
    verdict = attribute(items, sent(), offset_now=0.0)
    assert (verdict.kind, verdict.candidates) == ("unknown", (8, 9))
    assert "8, 9" in str(verdict.reason)


def test_ids_other_journal_rows_hold_do_not_count() -> None:
    """A product another row of the journal already holds is not a candidate."""
    items = [Item(8, "/d/8_a.fits", at(SENT + 1)), Item(9, "/d/9_a.fits", at(SENT + 3))]
    verdict = attribute(items, sent(), offset_now=0.0, held=frozenset({8}))
    assert (verdict.kind, verdict.data_product_id) == ("stored", 9)


def test_another_unresolved_upload_of_the_same_name_makes_it_unknown() -> None:
    """`R/img.fits` still unresolved when `V/img.fits` is checked: the one product could be either."""
    other = Sent(KEY, "img.fits", 2, SENT - 1, 0.0)
    verdict = attribute(
        [Item(4, "/d/4_img.fits", at(SENT + 1))], sent("img.fits"), offset_now=0.0, others=[other]
    )
    assert (verdict.kind, verdict.candidates) == ("unknown", (4,))


def test_a_product_that_may_match_but_cannot_be_read_is_unknown() -> None:
    """An unreadable id, file path or creation time is "cannot tell", never "absent"."""
    for item in (
        Item(None, "/d/4_a.fits", at(SENT + 1)),
        Item(4, None, at(SENT + 1)),
        Item(4, "/d/4_a.fits", None),
        Item(4, "/d/4_a.fits", at(SENT + 1), target_name=None),
    ):
        assert attribute([item], sent(), offset_now=0.0).kind == "unknown", item


def test_a_dry_run_record_never_matches() -> None:
    """A dry run's record (its id never resolves) is not mistaken for the lost upload."""
    assert (
        attribute([Item(1, "/d/1_a.fits", at(SENT + 1), dry_run=True)], sent(), offset_now=0.0).kind
        == "absent"
    )


def test_a_marker_makes_the_match_exact() -> None:
    """With a marker, only the product whose comment carries it is this upload, whatever else matches."""
    items = [
        Item(8, "/d/8_a.fits", at(SENT + 1), comment="night 1 [bhtom_async:other]"),
        Item(9, "/d/9_a.fits", at(SENT + 3), comment="night 1 [bhtom_async:mine]"),
    ]
    verdict = attribute(items, sent(marker="bhtom_async:mine"), offset_now=0.0)
    assert (verdict.kind, verdict.data_product_id) == ("stored", 9)
    assert attribute(items[:1], sent(marker="bhtom_async:mine"), offset_now=0.0).kind == "absent"


def test_names_are_sent_in_a_form_the_wire_keeps() -> None:
    """Quotes, line breaks, spaces and slashes become `_`; letters (any script), digits, `.-_` stay."""
    assert wire_name('a "b"\nc.fits') == "a__b__c.fits"
    assert wire_name("Łódź frame 1.fits") == "Łódź_frame_1.fits"
    assert wire_name("r-band_001.fits") == "r-band_001.fits"


async def _listing(items: list[Item]) -> AsyncIterator[ProductLike]:
    for item in items:
        yield item


async def test_server_check_journals_a_stored_file(tmp_path: Path) -> None:
    """A stored verdict is written to the journal row before the check returns."""
    async with SqliteJournal(tmp_path / "j.sqlite3") as journal:
        row = await journal.begin(
            KEY, Fingerprint(str(tmp_path / "a.fits"), 10, 1), "a.fits", server_offset=0.0, marker=None
        )
        check = ServerCheck(
            lambda key, name, since: _listing(
                [Item(7, "/d/1_a.fits", at(row.sent_at or 0) + dt.timedelta(seconds=1))]
            ),
            journal,
            ManualClock(),
            lambda: 0.0,
        )
        verdict = await check.check(Sent.of_row(row), sha256="f00")
        (stored,) = await journal.rows()
    assert (verdict.kind, stored.state, stored.data_product_id, stored.sha256) == (
        "stored",
        "uploaded",
        7,
        "f00",
    )


async def test_server_check_looks_twice_before_calling_a_recent_upload_absent(tmp_path: Path) -> None:
    """A gateway may give up while the service still stores: an absent recent upload is looked up again."""
    calls: list[float] = []
    clock = ManualClock()

    def lookup(key: JournalKey, name: str, since: float) -> AsyncIterator[ProductLike]:
        calls.append(clock.monotonic())
        return _listing([])

    async with SqliteJournal(":memory:") as journal:
        import time

        verdict = await ServerCheck(lookup, journal, clock, lambda: 0.0).check(
            Sent(KEY, "a.fits", None, time.time())
        )
    assert verdict.kind == "absent"
    assert calls == [0.0, 2.0]


async def test_a_failed_look_up_is_unknown_not_absent(tmp_path: Path) -> None:
    """If the server cannot be asked, the file is unknown (not re-sent), with the reason."""

    async def failing(key: JournalKey, name: str, since: float) -> AsyncIterator[ProductLike]:
        raise ServerError("boom", status=500, method="POST", path="/common/api/data/")
        yield  # pragma: no cover

    async with SqliteJournal(":memory:") as journal:
        verdict = await ServerCheck(failing, journal, ManualClock(), lambda: 0.0).check(sent())
    assert verdict.kind == "unknown"
    assert "could not look the file up" in str(verdict.reason)


def test_a_product_at_or_below_the_id_floor_is_never_this_upload() -> None:
    """Ids are assigned in order: a same-named product created 3 s before our send (inside the clock
    tolerance) whose id the server had shown before we sent is not a candidate; one above it is."""
    before = Sent(KEY, "a.fits", 1, SENT, 0.0, None, 40)
    theirs = Item(40, "/d/40_a.fits", at(SENT - 3))
    assert attribute([theirs], before, offset_now=0.0).kind == "absent"
    ours = Item(41, "/d/41_a.fits", at(SENT + 1))
    verdict = attribute([theirs, ours], before, offset_now=0.0)
    assert (verdict.kind, verdict.data_product_id) == ("stored", 41)
    assert attribute([theirs], sent(), offset_now=0.0).kind == "stored"  # no floor: time alone


def test_newest_id_keeps_the_largest_id_seen() -> None:
    newest = NewestId()
    for ident in (5, None, 9, 7):
        newest.see(ident)
    assert newest.value == 9


def test_a_product_above_the_floor_stamped_before_our_send_is_unknown_not_absent() -> None:
    """Newer than anything seen before the send, yet stamped 60 s before it: the server's clocks
    disagree (or someone else's frame), so it is neither adopted nor taken as absent."""
    floored = Sent(KEY, "a.fits", 1, SENT, 0.0, None, 40)
    verdict = attribute([Item(41, "/d/41_a.fits", at(SENT - 60))], floored, offset_now=0.0)
    assert (verdict.kind, verdict.candidates) == ("unknown", (41,))


def test_once_the_stamps_are_known_to_run_on_another_clock_only_ids_decide() -> None:
    """With a known clock gap, creation times are not compared: above the floor is this upload;
    without a floor any candidate is unknown."""
    floored = Sent(KEY, "a.fits", 1, SENT, 0.0, None, 40)
    item = Item(41, "/d/41_a.fits", at(SENT - 60))
    verdict = attribute([item], floored, offset_now=0.0, clock_gap=-60.0)
    assert (verdict.kind, verdict.data_product_id) == ("stored", 41)
    assert attribute([item], sent(), offset_now=0.0, clock_gap=-60.0).kind == "unknown"
    assert attribute([], sent(), offset_now=0.0, clock_gap=-60.0).kind == "absent"


@pytest.mark.parametrize(("stamp", "gap"), [(SENT + 1, None), (SENT - 60, -60.0), (SENT + 70, 68.0)])
async def test_our_own_receipt_shows_whether_the_stamps_share_the_date_clock(
    stamp: float, gap: float | None
) -> None:
    """Sent at SENT, answered 2 s later, Date offset 0: a stamp inside the window agrees; 60 s before
    or 70 s after it is a gap (stamp clock minus Date clock)."""

    async def created_of(product_id: int) -> dt.datetime:
        return at(stamp)

    stamps = CreatedClock(created_of)
    await stamps.check(7, SENT, SENT + 2, 0.0)
    assert (stamps.checked, stamps.gap) == (True, gap)


def test_a_killed_process_s_send_stored_after_the_next_job_began_is_still_found() -> None:
    """Killed mid-request: the server may finish storing that request after the next job began
    (its newest id then was 50), so a product stored since (id 51) is still this upload."""
    killed = Sent(KEY, "a.fits", 1, SENT, 0.0, None, 40)
    verdict = attribute([Item(51, "/d/51_a.fits", at(SENT + 30))], killed, offset_now=0.0)
    assert (verdict.kind, verdict.data_product_id) == ("stored", 51)
