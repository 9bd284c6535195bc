"""`bh.observatories` against the emulator over loopback."""

from __future__ import annotations

import pytest

from bhtom_async import Client, errors

pytestmark = pytest.mark.anyio


async def test_list_returns_seeded_observatories_once(alice: Client) -> None:
    """list() returns each seeded observatory once, with cameras and ONAMEs."""
    observatories = await alice.observatories.list().to_list()
    names = [o.name for o in observatories]
    assert {"HarnessObs", "ROAD"} <= set(names)
    assert len(names) == len(set(names))
    road = next(o for o in observatories if o.name == "ROAD")
    assert "ROAD_QHY600M" in road.onames


async def test_list_by_name(alice: Client) -> None:
    """list(name=...) is an exact match."""
    (obs,) = await alice.observatories.list(name="HarnessObs").to_list()
    assert obs.onames == ("HarnessObs_HarnessCam",)


async def test_create_on_the_real_server_behaviour_is_a_server_error(alice: Client) -> None:
    """A valid create gets the real server's 500, surfaced with the web-UI hint."""
    with pytest.raises(errors.ServerError) as info:
        await alice.observatories.create("IntegObs", lon=10.0, lat=45.0, camera_name="Cam")
    assert "web UI" in str(info.value.hint)


async def test_create_without_camera_name_is_refused_locally(alice: Client) -> None:
    """An empty camera name never reaches the server."""
    with pytest.raises(errors.InvalidInputError):
        await alice.observatories.create("IntegObs", lon=10.0, lat=45.0, camera_name=" ")


async def test_update_own_observatory(alice: Client) -> None:
    """The owner (alice owns HarnessObs) can update it; the change is listed."""
    await alice.observatories.update("HarnessObs", comment="updated by test")
    (obs,) = await alice.observatories.list(name="HarnessObs").to_list()
    assert obs.comment == "updated by test"


async def test_update_unknown_observatory_is_a_server_error(alice: Client) -> None:
    """Updating a missing observatory surfaces the server's crash with a hint."""
    with pytest.raises(errors.ServerError) as info:
        await alice.observatories.update("NoSuchObs", comment="x")
    assert "NoSuchObs" in str(info.value.hint)


async def test_favourites_for_a_user(alice: Client) -> None:
    """favourites(user=3) holds alice's HarnessCam (camera id 1)."""
    rows = await alice.observatories.favourites(user=3).to_list()
    assert 1 in [r.camera for r in rows]
    assert {r.user for r in rows} == {3}


async def test_add_favourite_then_it_is_listed(alice: Client) -> None:
    """Adding ROAD_QHY600M creates a favourite that then appears for alice."""
    result = await alice.observatories.add_favourite(oname="ROAD_QHY600M")
    assert result.created
    rows = await alice.observatories.favourites(user=3).to_list()
    assert 2 in [r.camera for r in rows]


async def test_add_favourite_already_present_is_success(alice: Client) -> None:
    """HarnessObs_HarnessCam is already alice's favourite: success with already_present."""
    result = await alice.observatories.add_favourite(observatory="HarnessObs", camera="HarnessCam")
    assert result.already_present


async def test_add_favourite_unknown_camera_is_not_found(alice: Client) -> None:
    """An unknown ONAME raises NotFoundError."""
    with pytest.raises(errors.NotFoundError):
        await alice.observatories.add_favourite(oname="No_Such")


async def test_remove_favourite_as_admin(admin: Client) -> None:
    """An admin can remove their own favourite after adding it."""
    await admin.observatories.add_favourite(oname="ROAD_QHY600M")
    await admin.observatories.remove_favourite(observatory="ROAD", camera="QHY600M")
    rows = await admin.observatories.favourites(user=2).to_list()
    assert 2 not in [r.camera for r in rows]


async def test_remove_favourite_refuses_normal_users(alice: Client) -> None:
    """A normal user gets PermissionDeniedError."""
    with pytest.raises(errors.PermissionDeniedError):
        await alice.observatories.remove_favourite(observatory="HarnessObs", camera="HarnessCam")
