"""`bh.observatories`: list, create, update, favourites, add/remove favourite; requests and errors."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
import respx

from bhtom_async import Client, errors
from bhtom_async.models import Camera, FavouriteObservatory, Observatory

from ...conftest import BASE_URL, capture

pytestmark = pytest.mark.anyio

HTML_500 = "<!doctype html><title>Server Error (500)</title><h1>Server Error (500)</h1>"


def replay(number: str) -> httpx.Response:
    """The recorded answer as an httpx response."""
    recorded = capture(number)
    status = int(recorded["status"])  # type: ignore[call-overload]
    if recorded["json"] is not None:
        return httpx.Response(status, json=recorded["json"])
    return httpx.Response(status, text=str(recorded["text"]), headers={"Content-Type": "text/html"})


def sent(route: respx.Route) -> object:
    """The JSON body of the route's last request."""
    return json.loads(route.calls.last.request.content)


async def test_list_sends_filters_and_parses_recorded_observatory(bh: Client) -> None:
    """list() posts its filters to getObservatoryList/ and reads the observatory with typed cameras."""
    with respx.mock:
        route = respx.post(BASE_URL + "/observatory/getObservatoryList/").mock(return_value=replay("21"))
        observatories = await bh.observatories.list(
            name="HarnessObs",
            lon=21.0,
            lat=52.2,
            created_start=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        ).to_list()
    assert sent(route) == {
        "name": "HarnessObs",
        "lon": 21.0,
        "lat": 52.2,
        "created_start": "2026-01-01T00:00:00+00:00",
        "page": 1,
    }
    (obs,) = observatories
    assert isinstance(obs, Observatory)
    assert (obs.id, obs.name, obs.lon, obs.lat, obs.altitude, obs.calibration_flg) == (
        1,
        "HarnessObs",
        21.0,
        52.2,
        100.0,
        False,
    )
    (camera,) = obs.cameras
    assert isinstance(camera, Camera)
    assert (camera.id, camera.camera_name, camera.oname, camera.active, camera.binning) == (
        1,
        "HarnessCam",
        "HarnessObs_HarnessCam",
        True,
        1,
    )
    assert obs.onames == ("HarnessObs_HarnessCam",)


async def test_list_asks_one_page_when_every_row_is_on_every_page(bh: Client) -> None:
    """The server repeats all rows on each page; page 1 holding `count` rows ends the walk."""
    env = capture("20")["json"]
    with respx.mock:
        route = respx.post(BASE_URL + "/observatory/getObservatoryList/").mock(
            return_value=httpx.Response(200, json={**env, "num_pages": 3})  # type: ignore[dict-item]
        )
        observatories = await bh.observatories.list().to_list()
    assert route.call_count == 1
    assert [o.name for o in observatories] == ["HarnessObs"]


async def test_list_server_crash_is_a_server_error(bh: Client) -> None:
    """A 500 HTML page (e.g. a non-numeric lon on the server) surfaces as ServerError."""
    with respx.mock:
        respx.post(BASE_URL + "/observatory/getObservatoryList/").mock(
            return_value=httpx.Response(500, text=HTML_500, headers={"Content-Type": "text/html"})
        )
        with pytest.raises(errors.ServerError):
            await bh.observatories.list(lon=1.0).to_list()


async def test_create_sends_fields_with_calibration_flag(bh: Client) -> None:
    """create() posts observatory and camera fields, always with calibration_flg; None on 201."""
    with respx.mock:
        route = respx.post(BASE_URL + "/observatory/createObservatory/").mock(
            return_value=httpx.Response(201, json={"Status": "created"})
        )
        result = await bh.observatories.create(
            "HarnessObs2", lon=10.0, lat=45.0, camera_name="Cam2", altitude=10.0, filters="V", gain=1.5
        )
    assert result is None
    assert sent(route) == {
        "name": "HarnessObs2",
        "lon": 10.0,
        "lat": 45.0,
        "camera_name": "Cam2",
        "calibration_flg": False,
        "altitude": 10.0,
        "filters": "V",
        "gain": 1.5,
    }


async def test_create_server_crash_explains_api_creation_is_broken(bh: Client) -> None:
    """The recorded 500 for a valid request is a ServerError whose hint points to the web UI (sent once)."""
    with respx.mock:
        route = respx.post(BASE_URL + "/observatory/createObservatory/").mock(return_value=replay("23"))
        with pytest.raises(errors.ServerError) as info:
            await bh.observatories.create("HarnessObs2", lon=10.0, lat=45.0, camera_name="Cam2")
    assert info.value.hint is not None
    assert "web UI" in info.value.hint
    assert route.call_count == 1


async def test_create_validation_404_is_a_validation_error(bh: Client) -> None:
    """The recorded 404 field dict becomes ValidationError."""
    with respx.mock:
        respx.post(BASE_URL + "/observatory/createObservatory/").mock(return_value=replay("22"))
        with pytest.raises(errors.ValidationError) as info:
            await bh.observatories.create("HarnessObs2", lon=10.0, lat=45.0, camera_name="Cam2")
    assert "calibration_flg" in info.value.field_errors


async def test_update_patches_with_name_and_fields(bh: Client) -> None:
    """update() sends PATCH updateObservatory/ (not the docs' POST) with the name and given fields."""
    with respx.mock:
        route = respx.patch(BASE_URL + "/observatory/updateObservatory/").mock(
            return_value=httpx.Response(201, json={"Status": "updated"})
        )
        assert await bh.observatories.update("HarnessObs", comment="new", approx_lim_mag=19.5) is None
    assert route.calls.last.request.method == "PATCH"
    assert sent(route) == {"name": "HarnessObs", "comment": "new", "approx_lim_mag": 19.5}


async def test_update_needs_a_field(bh: Client) -> None:
    """update() with nothing to change raises InvalidInputError."""
    with pytest.raises(errors.InvalidInputError):
        await bh.observatories.update("HarnessObs")


async def test_update_crash_hint_names_the_observatory(bh: Client) -> None:
    """A 500 (unknown name, or not the owner) is a ServerError whose hint says why; sent once."""
    with respx.mock:
        route = respx.patch(BASE_URL + "/observatory/updateObservatory/").mock(
            return_value=httpx.Response(500, text=HTML_500, headers={"Content-Type": "text/html"})
        )
        with pytest.raises(errors.ServerError) as info:
            await bh.observatories.update("Nope", comment="x")
    assert "'Nope'" in str(info.value.hint)
    assert route.call_count == 1


async def test_favourites_sends_filters_and_parses_recorded_rows(bh: Client) -> None:
    """favourites() maps `active` to active_flg and reads the recorded rows (no id)."""
    with respx.mock:
        route = respx.post(BASE_URL + "/observatory/getFavouriteObservatory/").mock(return_value=replay("32"))
        rows = await bh.observatories.favourites(user=2, active=True, camera="HarnessCam").to_list()
    assert sent(route) == {"user": 2, "active_flg": True, "camera": "HarnessCam", "page": 1}
    assert rows == [
        FavouriteObservatory(
            user=2,
            camera=1,
            active=True,
            comment=None,
            number_of_uploaded_file=0,
            file_size=0.0,
            last_file_process=None,
            created=dt.datetime(2026, 11, 24, 13, 57, 9, 226000, tzinfo=dt.timezone.utc),
            modified=dt.datetime(2026, 11, 24, 13, 57, 9, 226000, tzinfo=dt.timezone.utc),
        )
    ]


async def test_favourites_all_users_rows_are_kept_apart(bh: Client) -> None:
    """Two users' favourites of the same camera are two rows (keyed by user and camera)."""
    with respx.mock:
        respx.post(BASE_URL + "/observatory/getFavouriteObservatory/").mock(return_value=replay("31"))
        rows = await bh.observatories.favourites().to_list()
    assert [(r.user, r.camera) for r in rows] == [(3, 1), (2, 1)]


async def test_favourites_user_must_be_numeric(bh: Client) -> None:
    """A username for `user` is refused locally (the server needs the numeric id)."""
    with pytest.raises(errors.InvalidInputError, match="numeric"):
        bh.observatories.favourites(user="JohnDoe")  # type: ignore[arg-type]


async def test_add_favourite_by_oname_is_created(bh: Client) -> None:
    """add_favourite(oname=...) posts {oname} once and reports a new favourite."""
    with respx.mock:
        route = respx.post(BASE_URL + "/observatory/addFavouriteObservatory/").mock(return_value=replay("26"))
        result = await bh.observatories.add_favourite(oname="HarnessObs_HarnessCam")
    assert sent(route) == {"oname": "HarnessObs_HarnessCam"}
    assert (result.created, result.already_present) == (True, False)
    assert route.call_count == 1


async def test_add_favourite_already_present_counts_as_success(bh: Client) -> None:
    """The recorded 404 "already exists in yours favourite list" is a success with already_present."""
    with respx.mock:
        route = respx.post(BASE_URL + "/observatory/addFavouriteObservatory/").mock(return_value=replay("28"))
        result = await bh.observatories.add_favourite(
            observatory="HarnessObs", camera="HarnessCam", comment="c"
        )
    assert sent(route) == {"observatory": "HarnessObs", "camera": "HarnessCam", "comment": "c"}
    assert result.already_present is True


async def test_add_favourite_unknown_camera_is_not_found(bh: Client) -> None:
    """The recorded 404 for an unknown ONAME stays NotFoundError."""
    with respx.mock:
        respx.post(BASE_URL + "/observatory/addFavouriteObservatory/").mock(return_value=replay("29"))
        with pytest.raises(errors.NotFoundError, match="Camera with this name"):
            await bh.observatories.add_favourite(oname="No_Such")


@pytest.mark.parametrize(
    "kwargs", [{}, {"observatory": "HarnessObs"}, {"camera": "HarnessCam"}, {"comment": "x"}]
)
async def test_add_favourite_needs_oname_or_observatory_and_camera(
    bh: Client, kwargs: dict[str, str]
) -> None:
    """Without oname or both observatory and camera, InvalidInputError is raised before sending."""
    with respx.mock:
        route = respx.post(BASE_URL + "/observatory/addFavouriteObservatory/")
        with pytest.raises(errors.InvalidInputError) as info:
            await bh.observatories.add_favourite(**kwargs)
    assert info.value.hint
    assert not route.called


async def test_remove_favourite_sends_delete_with_names(bh: Client) -> None:
    """remove_favourite() sends DELETE deleteFavouriteObservatory/ with observatory and camera."""
    with respx.mock:
        route = respx.delete(BASE_URL + "/observatory/deleteFavouriteObservatory/").mock(
            return_value=httpx.Response(200, json={"Status": "deleted"})
        )
        assert await bh.observatories.remove_favourite(observatory="HarnessObs", camera="HarnessCam") is None
    assert route.calls.last.request.method == "DELETE"
    assert sent(route) == {"observatory": "HarnessObs", "camera": "HarnessCam"}


async def test_remove_favourite_admin_only_404_is_permission_denied(bh: Client) -> None:
    """The server's 404 "Only admin have access" becomes PermissionDeniedError."""
    with respx.mock:
        route = respx.delete(BASE_URL + "/observatory/deleteFavouriteObservatory/").mock(
            return_value=httpx.Response(404, json="Only admin have access")
        )
        with pytest.raises(errors.PermissionDeniedError, match="admins only"):
            await bh.observatories.remove_favourite(observatory="HarnessObs", camera="HarnessCam")
    assert route.call_count == 1


async def test_remove_favourite_unknown_row_is_server_error_with_hint(bh: Client) -> None:
    """The server's 500 for a favourite that is not there keeps ServerError, with a hint naming it."""
    with respx.mock:
        respx.delete(BASE_URL + "/observatory/deleteFavouriteObservatory/").mock(
            return_value=httpx.Response(500, text=HTML_500, headers={"Content-Type": "text/html"})
        )
        with pytest.raises(errors.ServerError) as info:
            await bh.observatories.remove_favourite(observatory="X", camera="Y")
    assert "'X'/'Y'" in str(info.value.hint)


MUTATIONS = [
    (
        "POST",
        "/observatory/createObservatory/",
        lambda bh: bh.observatories.create("O", lon=1, lat=1, camera_name="C"),
    ),
    ("PATCH", "/observatory/updateObservatory/", lambda bh: bh.observatories.update("O", comment="c")),
    ("POST", "/observatory/addFavouriteObservatory/", lambda bh: bh.observatories.add_favourite(oname="O_C")),
    (
        "DELETE",
        "/observatory/deleteFavouriteObservatory/",
        lambda bh: bh.observatories.remove_favourite(observatory="O", camera="C"),
    ),
]


@pytest.mark.parametrize(("method", "path", "call"), MUTATIONS, ids=[m[1] for m in MUTATIONS])
async def test_mutating_calls_are_not_retried(bh: Client, method: str, path: str, call: Any) -> None:
    """A mutating call is sent once even on a retryable 503."""
    with respx.mock:
        route = respx.route(method=method, url=BASE_URL + path).mock(return_value=httpx.Response(503))
        with pytest.raises(errors.ServerError):
            await call(bh)
    assert route.call_count == 1


async def test_list_is_retried_as_a_read(bh: Client) -> None:
    """The observatory list is a read: a 503 is retried."""
    with respx.mock:
        route = respx.post(BASE_URL + "/observatory/getObservatoryList/").mock(
            side_effect=[httpx.Response(503), replay("20")]
        )
        assert len(await bh.observatories.list().to_list()) == 1
    assert route.call_count == 2
