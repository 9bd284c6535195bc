"""Observatory views."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from bhtom_async.emulator import Emulator
from bhtom_async.emulator.records import Camera, Favourite, Observatory

Client = Callable[..., httpx.Client]


def _many_observatories(emu: Emulator, count: int) -> None:
    state = emu._require_state()
    for index in range(count):
        obs = Observatory(
            state.next_id("observatory"), f"Bulk{index:03d}", 1.0, 2.0, 1.7e9 + index, 1.7e9 + index, 3
        )
        state.put("observatory", obs)
        camera = Camera(
            state.next_id("camera"), 3, obs.id, "Cam", f"Bulk{index:03d}_Cam", 1.7e9, 1.7e9, active_flg=True
        )
        state.put("camera", camera)
        state.put(
            "favourite", Favourite(state.next_id("favourite"), 3, camera.id, 1.7e9 + index, 1.7e9 + index)
        )


def test_observatory_list_returns_every_row_on_every_page(client: Client, emu: Emulator) -> None:
    """Server bug: count/num_pages/current_page are right but data holds the whole queryset."""
    _many_observatories(emu, 250)
    for page, current in ((1, 1), (2, 2), (7, 2)):
        body = client().post("/observatory/getObservatoryList/", json={"page": page}).json()
        assert (body["count"], body["num_pages"], body["current_page"]) == (253, 2, current)
        assert len(body["data"]) == 253


def test_favourites_return_every_row_of_every_user(client: Client, emu: Emulator) -> None:
    """Not scoped to the caller, and data holds every row on every page."""
    _many_observatories(emu, 250)
    body = client("bob").post("/observatory/getFavouriteObservatory/", json={"page": 2}).json()
    assert (body["count"], body["num_pages"], body["current_page"]) == (253, 2, 2)
    assert len(body["data"]) == 253
    assert {row["user"] for row in body["data"]} == {3, 4}


def test_observatory_list_items(client: Client) -> None:
    """DRF items with nested cameras; prefix is the ONAME; active_flg ignored as a filter."""
    body = client().post("/observatory/getObservatoryList/", json={"active_flg": False}).json()
    by_name = {o["name"]: o for o in body["data"]}
    assert list(by_name) == ["ROAD", "CalibObs", "HarnessObs"]  # ordered by created
    assert [c["prefix"] for c in by_name["ROAD"]["cameras"]] == ["ROAD_QHY600M", "ROAD_OldCCD"]
    assert by_name["CalibObs"]["calibration_flg"] is True
    r = client().post("/observatory/getObservatoryList/", json={"lon": "east"})
    assert r.status_code == 500


def test_favourite_filters(client: Client) -> None:
    """User needs the numeric id (a username is a 400 bare string); camera is camera_name."""
    c = client()
    rows = c.post("/observatory/getFavouriteObservatory/", json={"user": 4}).json()["data"]
    assert [(r["user"], r["camera"]) for r in rows] == [(4, 1)]
    rows = c.post("/observatory/getFavouriteObservatory/", json={"camera": "CalibCam"}).json()
    assert [(r["user"], r["camera"]) for r in rows["data"]] == [(3, 4)]
    r = c.post("/observatory/getFavouriteObservatory/", json={"user": "JohnDoe"})
    assert (r.status_code, r.json()) == (
        400,
        "Oops, somthing went wrong: Field 'id' expected a number but got 'JohnDoe'.",
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"oname": "ROAD_OldCCD"}, "Observatory is not active"),
        ({"observatory": "Nowhere", "camera": "X"}, "Observatory with this name does not exist"),
        ({"observatory": "ROAD", "camera": "X"}, "Camera with this name does not exist for this observatory"),
        ({"observatory": "ROAD"}, "Either (Observatory and Camera) or ONAME is required"),
    ],
)
def test_add_favourite_errors_are_404_strings(client: Client, body: dict[str, str], expected: str) -> None:
    """Every refusal is a 404 with a bare JSON string."""
    r = client().post("/observatory/addFavouriteObservatory/", json=body)
    assert (r.status_code, r.json()) == (404, expected)


def test_add_favourite_then_duplicate(client: Client) -> None:
    """201 Created, then the same call answers 404 'already exists' (not idempotent)."""
    c = client("bob")
    r = c.post("/observatory/addFavouriteObservatory/", json={"oname": "ROAD_QHY600M", "comment": "ignored"})
    assert (r.status_code, r.json()) == (201, {"Status": "Created"})
    r = c.post("/observatory/addFavouriteObservatory/", json={"observatory": "ROAD", "camera": "QHY600M"})
    assert (r.status_code, r.json()) == (404, "This observatory already exists in yours favourite list")


def test_delete_favourite_is_staff_only_and_own_row(client: Client) -> None:
    """Non-staff 404 'Only admin have access'; admin deletes own row; unknown -> 500."""
    body = {"observatory": "HarnessObs", "camera": "HarnessCam"}
    r = client("alice").request("DELETE", "/observatory/deleteFavouriteObservatory/", json=body)
    assert (r.status_code, r.json()) == (404, "Only admin have access")
    admin = client("admin")
    r = admin.request("DELETE", "/observatory/deleteFavouriteObservatory/", json=body)
    assert r.status_code == 500  # admin has no row for that camera yet
    admin.post("/observatory/addFavouriteObservatory/", json={"oname": "HarnessObs_HarnessCam"})
    r = admin.request("DELETE", "/observatory/deleteFavouriteObservatory/", json=body)
    assert (r.status_code, r.json()) == (200, {"Status": "deleted"})
    rows = admin.post("/observatory/getFavouriteObservatory/", json={"camera": "HarnessCam"})
    assert sorted(r["user"] for r in rows.json()["data"]) == [3, 4]


def test_create_observatory(client: Client) -> None:
    """404 string without camera, 404 dict for nulls/duplicates, 500 for a valid request."""
    c = client()
    r = c.post("/observatory/createObservatory/", json={"name": "New", "lon": 1, "lat": 2})
    assert (r.status_code, r.json()) == (404, "camera name can not be None")
    r = c.post(
        "/observatory/createObservatory/",
        json={"name": "HarnessObs", "lon": 1, "lat": 2, "calibration_flg": False, "camera_name": "C"},
    )
    assert (r.status_code, r.json()) == (
        404,
        {"name": ["observatory with this Observatory name already exists."]},
    )
    r = c.post("/observatory/createObservatory/", json={"name": "New", "camera_name": "C"})
    assert r.json() == {
        "lon": ["This field may not be null."],
        "lat": ["This field may not be null."],
        "calibration_flg": ["This field may not be null."],
    }
    r = c.post(
        "/observatory/createObservatory/",
        json={"name": "New", "lon": 1, "lat": 2, "calibration_flg": False, "camera_name": "C"},
    )
    assert (r.status_code, r.headers["content-type"]) == (500, "text/html")
    r = c.post("/observatory/getObservatoryList/", json={"name": "New"})
    assert r.json()["count"] == 0


def test_update_observatory_is_patch_for_the_owner(client: Client) -> None:
    """POST -> 405; owner PATCH -> 201; camera fields -> 404; other users -> 500."""
    c = client("alice")
    r = c.post("/observatory/updateObservatory/", json={"name": "HarnessObs"})
    assert (r.status_code, r.json()) == (405, {"detail": 'Method "POST" not allowed.'})
    r = c.patch("/observatory/updateObservatory/", json={"name": "HarnessObs", "altitude": 123})
    assert (r.status_code, r.json()) == (201, {"Status": "updated"})
    obs = c.post("/observatory/getObservatoryList/", json={"name": "HarnessObs"}).json()
    assert obs["data"][0]["altitude"] == 123.0
    r = c.patch("/observatory/updateObservatory/", json={"name": "HarnessObs", "gain": 2})
    assert (r.status_code, r.json()) == (404, {"non_field_errors": ["Unknown field(s): gain"]})
    assert (
        client("bob")
        .patch("/observatory/updateObservatory/", json={"name": "HarnessObs", "altitude": 1})
        .status_code
        == 500
    )
    assert c.patch("/observatory/updateObservatory/", json={"name": "Nope"}).status_code == 500
