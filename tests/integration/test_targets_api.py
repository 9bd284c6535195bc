"""`bh.targets` against the emulator over loopback: every endpoint, success and refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from bhtom_async import Client, errors

pytestmark = pytest.mark.anyio


async def test_list_by_name_returns_the_seeded_target(alice: Client) -> None:
    """list(name=...) finds Gaia22bpl with its alias and group pairs typed."""
    (target,) = await alice.targets.list(name="Gaia22bpl").to_list()
    assert (target.name, target.ra, target.dec) == ("Gaia22bpl", 276.12, -12.34)
    assert target.aliases[0].source == "GAIA_ALERTS"
    assert [g.name for g in target.groups] == ["Microlensing"]
    assert target.has_photometry


async def test_list_without_filters_returns_every_seeded_target(alice: Client) -> None:
    """The unfiltered list holds all seeded targets once."""
    names = [t.name async for t in alice.targets.list()]
    assert {"Gaia22bpl", "HarnessStar1", "HarnessStar2"} <= set(names)
    assert len(names) == len(set(names))


async def test_list_cone_search_filters_by_position(alice: Client) -> None:
    """A 1-degree cone around Gaia22bpl's position returns Gaia22bpl only."""
    names = [t.name async for t in alice.targets.list(cone_search=(276.12, -12.34, 1.0))]
    assert names == ["Gaia22bpl"]


async def test_list_ra_range_and_flags_filter(alice: Client) -> None:
    """ra_min/ra_max and has_radio narrow the list."""
    names = [t.name async for t in alice.targets.list(ra_min=200.0, ra_max=300.0, has_radio=True)]
    assert names == ["Gaia22bpl"]


async def test_create_then_list_then_update_then_delete(alice: Client) -> None:
    """A created target is listed, updated (float epoch) and deleted."""
    created = await alice.targets.create("IntegStar1", 150.25, 10.5, classification="Nova", importance=4)
    assert (created.name, created.classification) == ("IntegStar1", "Nova")
    (listed,) = await alice.targets.list(name="IntegStar1").to_list()
    assert listed.ra == 150.25
    await alice.targets.update("IntegStar1", importance=7, epoch="J2000")
    (updated,) = await alice.targets.list(name="IntegStar1").to_list()
    assert (updated.importance, updated.epoch) == (7.0, 2000.0)
    await alice.targets.delete("IntegStar1")
    assert await alice.targets.list(name="IntegStar1").to_list() == []


async def test_create_duplicate_name_is_a_validation_error(alice: Client) -> None:
    """Creating a name that exists is refused with the server's field error."""
    with pytest.raises(errors.ValidationError) as info:
        await alice.targets.create("HarnessStar2", 10.5, -20.25)
    assert "name" in info.value.field_errors


async def test_update_unknown_target_is_target_not_found(alice: Client) -> None:
    """update() on a missing name raises TargetNotFoundError, not a bare server error."""
    with pytest.raises(errors.TargetNotFoundError):
        await alice.targets.update("NoSuchTarget", importance=1)


async def test_delete_unknown_target_is_target_not_found(alice: Client) -> None:
    """delete() on a missing name raises TargetNotFoundError."""
    with pytest.raises(errors.TargetNotFoundError):
        await alice.targets.delete("NoSuchTarget")


async def test_photometry_returns_typed_points_with_limits(alice: Client, tmp_path: Path) -> None:
    """photometry() of Gaia22bpl returns magnitudes sorted by MJD, a limit, and saves the raw CSV."""
    curve = await alice.targets.photometry("Gaia22bpl")
    assert curve.unit == "mag"
    assert len(curve.points) > 10
    assert [p.mjd for p in curve.points] == sorted(p.mjd for p in curve.points)
    assert any(p.is_limit for p in curve.points)
    saved = await curve.save(tmp_path / "gaia.csv")
    assert saved.read_text() == curve.raw


async def test_photometry_of_target_without_data_is_empty(alice: Client) -> None:
    """A target with no photometry gives an empty curve."""
    curve = await alice.targets.photometry("HarnessStar2")
    assert curve.points == ()


async def test_photometry_unknown_target_is_target_not_found(alice: Client) -> None:
    """The server's 500 for an unknown name is reported as TargetNotFoundError."""
    with pytest.raises(errors.TargetNotFoundError):
        await alice.targets.photometry("NoSuchTarget")


async def test_radio_returns_mjy_points(alice: Client) -> None:
    """radio() of Gaia22bpl returns its two mJy points."""
    curve = await alice.targets.radio("Gaia22bpl")
    assert curve.unit == "mJy"
    assert [round(p.value, 2) for p in curve.points] == [0.45, 0.31]


async def test_radio_unknown_target_is_target_not_found(alice: Client) -> None:
    """radio() on a missing name raises TargetNotFoundError."""
    with pytest.raises(errors.TargetNotFoundError):
        await alice.targets.radio("NoSuchTarget")


async def test_plots_returns_one_plot_per_name(alice: Client) -> None:
    """plots() returns a TargetPlot for each requested name, in request order."""
    plots = await alice.targets.plots(["Gaia22bpl", "HarnessStar2"])
    assert [p.name for p in plots] == ["Gaia22bpl", "HarnessStar2"]


async def test_plots_unknown_target_is_target_not_found(alice: Client) -> None:
    """plots() of a missing name raises TargetNotFoundError."""
    with pytest.raises(errors.TargetNotFoundError):
        await alice.targets.plots("NoSuchTarget")


async def test_cache_cleaners_work_for_admin(admin: Client) -> None:
    """The superuser can clean both caches."""
    assert await admin.targets.clean_list_cache() is None
    assert await admin.targets.clean_details_cache() is None


async def test_cache_cleaners_refuse_normal_users(alice: Client) -> None:
    """A normal user gets PermissionDeniedError from both cache cleaners."""
    with pytest.raises(errors.PermissionDeniedError):
        await alice.targets.clean_list_cache()
    with pytest.raises(errors.PermissionDeniedError):
        await alice.targets.clean_details_cache()


async def test_downloads_log_records_a_download(alice: Client, admin: Client) -> None:
    """A photometry download shows up in the admin's downloads log as type P."""
    await alice.targets.photometry("HarnessStar1")
    rows = await admin.targets.downloads(target="HarnessStar1", download_type="P").to_list()
    assert rows
    assert rows[0].target_name == "HarnessStar1"
    assert rows[0].download_type == "P"


async def test_downloads_refuse_normal_users(alice: Client) -> None:
    """A normal user gets PermissionDeniedError from the downloads log."""
    with pytest.raises(errors.PermissionDeniedError):
        await alice.targets.downloads().to_list()


async def test_groups_and_in_group(alice: Client) -> None:
    """groups() lists Microlensing; in_group by name and by id returns Gaia22bpl."""
    groups = await alice.targets.groups().to_list()
    group = next(g for g in groups if g.name == "Microlensing")
    by_name = [t.name async for t in alice.targets.in_group(name="Microlensing")]
    by_id = [t.name async for t in alice.targets.in_group(id=group.id)]
    assert by_name == by_id == ["Gaia22bpl"]


async def test_in_group_unknown_group_is_not_found(alice: Client) -> None:
    """An unknown group name raises NotFoundError."""
    with pytest.raises(errors.NotFoundError):
        await alice.targets.in_group(name="NoSuchGroup").to_list()
