"""Correct on the real server's real data: every odd value its columns allow, end to end over HTTP.

The emulator holds the rows the real database can hold (`Emulator.seed_dirty`, `put_row`) and
answers them as the real serializers do; the client must yield every row, read the good fields
right, and log one warning per call for what it had to replace.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bhtom_async import Client, PollOptions, errors
from bhtom_async.models import CalibrationStatus
from bhtom_async.testing import ManualClock

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

pytestmark = pytest.mark.anyio
BASE_CREATED = 1_800_000_000.0


@pytest.fixture
def dirty(emulator: Emulator) -> Emulator:
    """The session emulator with the dirty rows added."""
    emulator.seed_dirty()
    return emulator


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The bhtom_async warnings logged so far."""
    return [
        r.getMessage() for r in caplog.records if r.name == "bhtom_async" and r.levelno == logging.WARNING
    ]


@pytest.fixture(autouse=True)
def _capture_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bhtom_async")


# --- nullable has_* flags ----------------------------------------------------------------------


async def test_target_list_with_a_null_flag_yields_every_target(
    dirty: Emulator, alice: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A target whose has_optical is NULL no longer fails the listing: it reads as None."""
    targets = await alice.targets.list().to_list()
    names = [t.name for t in targets]
    assert names == [
        "Gaia22bpl",
        "HarnessStar1",
        "HarnessStar2",
        "Null;Flags",
        ".",
        "..",
        "Łódź☄2024",
        "NaN;Phot",
    ]
    flags = next(t for t in targets if t.name == "Null;Flags")
    assert (flags.has_optical, flags.has_radio, flags.has_infrared, flags.ra) == (None, None, False, 10.0)
    gaia = next(t for t in targets if t.name == "Gaia22bpl")
    assert (gaia.has_optical, gaia.has_radio, gaia.classification) == (True, True, "Microlensing Event")
    (warning,) = warnings_of(caplog)
    assert warning.startswith("POST /targets/getTargetList/: 2 of 8 rows")
    assert "has_optical (1 row)" in warning


async def test_target_list_by_name_reads_a_null_flag(dirty: Emulator, alice: Client) -> None:
    """list(name=...) of the odd target returns it, flags None where the database holds NULL."""
    (target,) = await alice.targets.list(name="Null;Flags").to_list()
    assert (target.name, target.has_optical, target.has_xray) == ("Null;Flags", None, False)


async def test_a_null_flag_after_200_good_rows_does_not_break_iteration(
    emulator: Emulator, alice: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """The odd row on page 2, after 200 good ones, is yielded like the rest (one warning in all)."""
    for i in range(200):
        emulator.put_row("target", name=f"Good{i:03d}", ra=1.0, dec=1.0, created=BASE_CREATED + i)
    emulator.put_row("target", name="LateNull", ra=2.0, dec=2.0, created=BASE_CREATED + 999, has_optical=None)
    seen = [t async for t in alice.targets.list()]
    assert len(seen) == 204
    assert (seen[-1].name, seen[-1].has_optical) == ("LateNull", None)
    assert len(warnings_of(caplog)) == 1


async def test_group_members_with_a_null_flag(dirty: Emulator, alice: Client) -> None:
    """in_group(...) reads a member whose flags are NULL."""
    (odd,) = await alice.targets.list(name="Null;Flags").to_list()
    dirty.put_row("group", id=1, target_ids=[3, 4])
    members = await alice.targets.in_group(name="Microlensing").to_list()
    assert [(m.name, m.has_optical) for m in members] == [("Gaia22bpl", True), ("Null;Flags", None)]
    assert odd.name == "Null;Flags"


# --- arrays and observers ----------------------------------------------------------------------


async def test_reduced_data_with_null_arrays_and_odd_observers(
    dirty: Emulator, alice: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """NULL arrays, NULL elements (NaN), observers as objects, a bare string or NULL: every row kept."""
    points = sorted(await alice.reduced_data.list(target="Null;Flags").to_list(), key=lambda d: d.mjd or 0)
    assert [p.mjd for p in points] == [60100.1, 60100.2, 60100.3, 60100.4]
    assert [p.observers for p in points] == [("3",), ("alice bob",), (), ("alice",)]
    assert points[0].value_list == ()
    assert points[1].error_list[0] == 0.1
    assert math.isnan(points[1].error_list[1])
    assert math.isnan(points[2].wavelengths[0])
    assert points[2].wavelengths[1] == 500.0
    assert [p.value for p in points] == [15.1, 15.2, 15.3, 15.4]
    assert points[0].raw["observers"] == [{"id": 3}]
    (warning,) = warnings_of(caplog)
    assert "observers (3 rows)" in warning
    assert "value_list (1 row)" in warning


async def test_data_products_with_observer_objects_and_a_bare_string(
    dirty: Emulator, alice: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Data-product observers stored as objects give usernames (else ids); a bare string is one name."""
    products = {p.id: p for p in await alice.dataproducts.list().to_list()}
    assert sorted(products) == [1, 2, 3]
    assert products[1].observers == ("alice",)
    assert products[2].observers == ("3", "bob")
    assert products[3].observers == ("alice bob",)
    assert (products[3].target_name, products[3].status) == ("Null;Flags", "")
    (warning,) = warnings_of(caplog)
    assert warning.startswith("POST /common/api/data/: 2 of 3 rows")


# --- calibration status letters ----------------------------------------------------------------


async def test_calibration_results_with_an_empty_status_letter(
    dirty: Emulator, alice: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A record whose status is "" is UNKNOWN with its letter kept; the good one next to it reads right."""
    results = [r async for r in alice.calibration.results([1, 3])]
    assert [(r.dataproduct_id, r.status) for r in results] == [
        (1, CalibrationStatus.SUCCESS),
        (3, CalibrationStatus.UNKNOWN),
    ]
    assert (results[0].magnitude, results[0].status_letter) == (15.2, "S")
    assert results[1].status_letter == ""
    (warning,) = warnings_of(caplog)
    assert "status (1 row)" in warning


async def test_wait_yields_the_good_id_and_reports_the_unknown_letter(
    dirty: Emulator, emulator_client: Callable[..., Client]
) -> None:
    """wait([good, odd]) yields the good one, keeps polling the odd one and names its letter at the end."""
    async with emulator_client("alice", clock=ManualClock()) as bh:
        results = [r async for r in bh.calibration.wait([1, 3], PollOptions(timeout=60.0))]
    assert [(r.dataproduct_id, r.status) for r in results] == [
        (1, CalibrationStatus.SUCCESS),
        (3, CalibrationStatus.UNKNOWN),
    ]
    assert results[1].message == "status '' unknown to this version (still so 60 s after it was queued)"


# --- light curves and file names ---------------------------------------------------------------


async def test_light_curve_with_nan_cells_keeps_its_rows(
    dirty: Emulator, alice: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Empty magnitude/error cells are NaN and kept; the NaN-MJD row is left out of points and reported."""
    curve = await alice.targets.photometry("NaN;Phot")
    assert [p.mjd for p in curve.points] == [60200.1, 60200.2, 60200.3]
    assert math.isnan(curve.points[1].value)
    assert math.isnan(curve.points[2].error)
    assert curve.points[0].value == 16.1
    assert len(curve.raw.strip().splitlines()) == 5  # header + 4 rows, the NaN-MJD one included
    (warning,) = warnings_of(caplog)
    assert "MJD [rows left out of points] (1 row)" in warning


async def test_quoted_semicolon_in_the_attachment_name_survives(
    dirty: Emulator, alice: Client, tmp_path: Path
) -> None:
    """`filename="target_NaN;Phot_photometry.csv"` is read whole and saved under that name."""
    curve = await alice.targets.photometry("NaN;Phot")
    assert curve.filename == "target_NaN;Phot_photometry.csv"
    assert await curve.save(tmp_path) == tmp_path / "target_NaN;Phot_photometry.csv"


async def test_rfc5987_attachment_name_is_decoded(dirty: Emulator, alice: Client, tmp_path: Path) -> None:
    """A non-ASCII name arrives as `filename*=utf-8''...` and is decoded before saving."""
    curve = await alice.targets.photometry("Łódź☄2024")
    assert curve.filename == "target_Łódź☄2024_photometry.csv"
    assert (await curve.save(tmp_path)).name == "target_Łódź☄2024_photometry.csv"


async def test_dot_named_target_saves_inside_the_folder(
    dirty: Emulator, alice: Client, tmp_path: Path
) -> None:
    """The light curve of a target named `..` is written inside the folder given, never above it."""
    curve = await alice.targets.photometry("..")
    saved = await curve.save(tmp_path)
    assert saved.parent == tmp_path
    assert saved.name == "target_.._photometry.csv"


# --- names in URLs and error messages ----------------------------------------------------------


@pytest.mark.parametrize("name", [".", ".."])
async def test_update_a_dot_named_target_reaches_it(dirty: Emulator, alice: Client, name: str) -> None:
    """update(".") and update("..") change that row (the dots are escaped, not collapsed)."""
    await alice.targets.update(name, importance=7.5)
    (target,) = await alice.targets.list(name=name).to_list()
    assert target.importance == 7.5
    assert dirty.state.request_count("PATCH", f"/targets/updateTarget/{name}/") == 1


async def test_update_a_name_with_a_slash_is_refused_before_sending(dirty: Emulator, alice: Client) -> None:
    """A name containing '/' cannot be routed by the server: InvalidInputError, nothing sent."""
    dirty.put_row("target", name="a/b", ra=3.0, dec=3.0)
    with pytest.raises(errors.InvalidInputError, match="cannot address target 'a/b' by name"):
        await alice.targets.update("a/b", importance=1)
    assert not any(key.startswith("PATCH ") for key in dirty.state.request_counts)


async def test_target_not_found_says_what_happened_and_suggests_the_case(
    dirty: Emulator, alice: Client
) -> None:
    """The message leads with the missing name and the likely spelling; the 500 is only a detail."""
    with pytest.raises(errors.TargetNotFoundError) as info:
        await alice.targets.update("gaia22bpl", importance=1)
    text = str(info.value)
    assert text.startswith(
        "no target named 'gaia22bpl': names are exact and case-sensitive; did you mean 'Gaia22bpl'?"
    )
    assert "→" not in text
    assert "answered 500" in text


# --- every listing of the dirty seed -----------------------------------------------------------


async def test_comments_with_a_deleted_author_are_all_listed(
    dirty: Emulator, alice: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A comment whose author is gone (user_id NULL, user_name "") is listed; such NULLs are normal."""
    comments = await alice.comments.list().to_list()
    assert sorted(c.id for c in comments) == [1, 2, 3, 4, 5]
    odd = next(c for c in comments if c.text == "Author since deleted")
    assert (odd.user_id, odd.user_name, odd.target_name) == (None, "", "Null;Flags")
    assert warnings_of(caplog) == []


async def test_favourites_with_a_null_modified_are_all_listed(
    dirty: Emulator, alice: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A favourite never modified (modified NULL) is listed with the rest; no warning for that NULL."""
    favourites = await alice.observatories.favourites().to_list()
    assert [(f.user, f.camera, f.modified is None) for f in favourites] == [
        (3, 1, False),
        (3, 4, False),
        (4, 1, False),
        (4, 2, True),
    ]
    assert warnings_of(caplog) == []


async def test_each_dirty_listing_logs_exactly_one_warning(
    dirty: Emulator, alice: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Targets, data products, reduced data and calibration results: one warning per call, not per row."""
    await alice.targets.list().to_list()
    await alice.dataproducts.list().to_list()
    await alice.reduced_data.list(target="Null;Flags").to_list()
    _ = [r async for r in alice.calibration.results([1, 3])]
    calls = [w.split(":", 1)[0] for w in warnings_of(caplog)]
    assert calls == [
        "POST /targets/getTargetList/",
        "POST /common/api/data/",
        "POST /common/api/reducedDatum/",
        "POST /calibration/get-calibration-res/",
    ]
