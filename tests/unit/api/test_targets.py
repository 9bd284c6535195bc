"""`bh.targets`: every endpoint's exact request, its parsed result, and the server's error shapes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bhtom_async import Client, errors
from bhtom_async.models import (
    LightCurve,
    Target,
    TargetAlias,
    TargetDownload,
    TargetGroup,
    TargetGroupRef,
)

from ...conftest import BASE_URL, capture

pytestmark = pytest.mark.anyio

HTML_500 = (
    "<!doctype html><html><head><title>Server Error (500)</title></head>"
    "<body><h1>Server Error (500)</h1></body></html>"
)
EMPTY = {"count": 0, "num_pages": 1, "current_page": 1, "data": []}


def replay(number: str) -> httpx.Response:
    """The recorded answer as an httpx response (JSON or text, with its content type)."""
    recorded = capture(number)
    headers = {k: v for k, v in dict(recorded["response_headers"]).items() if k != "Allow"}  # type: ignore[call-overload]
    if recorded["json"] is not None:
        return httpx.Response(int(recorded["status"]), json=recorded["json"], headers=headers)  # type: ignore[call-overload]
    return httpx.Response(int(recorded["status"]), text=str(recorded["text"]), headers=headers)  # type: ignore[call-overload]


def sent(route: respx.Route) -> object:
    """The JSON body of the route's last request."""
    return json.loads(route.calls.last.request.content)


def html_500() -> httpx.Response:
    return httpx.Response(500, text=HTML_500, headers={"Content-Type": "text/html"})


# --- list -------------------------------------------------------------------------------------


async def test_list_by_name_sends_exact_body_and_parses_recorded_target(bh: Client) -> None:
    """list(name=...) posts {name, page} to getTargetList/ and reads the recorded Django fields item."""
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/getTargetList/").mock(return_value=replay("07"))
        targets = await bh.targets.list(name="HarnessStar1").to_list()
    assert route.calls.last.request.method == "POST"
    assert sent(route) == {"name": "HarnessStar1", "page": 1}
    (target,) = targets
    assert isinstance(target, Target)
    assert (target.name, target.ra, target.dec, target.epoch, target.classification) == (
        "HarnessStar1",
        83.633,
        22.0145,
        2000.0,
        "Unknown",
    )
    assert target.created == dt.datetime(2026, 11, 24, 13, 57, 3, 203000, tzinfo=dt.timezone.utc)
    assert target.has_photometry is False  # mag_last=100, mjd_last=0 are the "no data" placeholders
    assert "scheme" in target.extra


async def test_list_maps_every_filter_to_the_servers_camelcase(bh: Client) -> None:
    """Every snake_case filter goes out under the server's camelCase key, cone searches as strings."""
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/getTargetList/").mock(
            return_value=httpx.Response(200, json=EMPTY)
        )
        await bh.targets.list(
            name="N",
            type="SIDEREAL",
            ra_min=1.0,
            ra_max=2.0,
            dec_min=-3.0,
            dec_max=4.0,
            importance_min=1,
            importance_max=9,
            last_mag_min=10,
            last_mag_max=20,
            sun_separation_min=30,
            sun_separation_max=90,
            galactic_lat_min=-10,
            galactic_lat_max=10,
            galactic_lon_min=100,
            galactic_lon_max=200,
            priority=5,
            description="d",
            classification="Nova",
            target_group="G",
            cone_search_target=("Gaia22bpl", 0.4),
            cone_search=(3.11, 2.11, 0.4),
            has_optical=True,
            has_infrared=False,
            has_radio=True,
            has_xray=False,
            has_gamma=True,
            has_polarimetry=False,
        ).to_list()
    assert sent(route) == {
        "name": "N",
        "type": "SIDEREAL",
        "raMin": 1.0,
        "raMax": 2.0,
        "decMin": -3.0,
        "decMax": 4.0,
        "importanceMin": 1,
        "importanceMax": 9,
        "lastMagMin": 10,
        "lastMagMax": 20,
        "sunSeparationMin": 30,
        "sunSeparationMax": 90,
        "galacticLatMin": -10,
        "galacticLatMax": 10,
        "galacticLonMin": 100,
        "galacticLonMax": 200,
        "priority": 5,
        "description": "d",
        "classification": "Nova",
        "targetGroup": "G",
        "coneSearchTarget": "Gaia22bpl,0.4",
        "coneSearchRaDecRadius": "3.11,2.11,0.4",
        "hasOptical": True,
        "hasInfrared": False,
        "hasRadio": True,
        "hasXray": False,
        "hasGamma": True,
        "hasPolarimetry": False,
        "page": 1,
    }


async def test_list_accepts_the_documented_cone_search_strings(bh: Client) -> None:
    """The docs' "ra,dec,radius" and "name,radius" strings are accepted and normalised."""
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/getTargetList/").mock(
            return_value=httpx.Response(200, json=EMPTY)
        )
        await bh.targets.list(cone_search=" 3.11, 2.11 ,0.4", cone_search_target="TA,0.4").to_list()
    assert sent(route) == {"coneSearchRaDecRadius": "3.11,2.11,0.4", "coneSearchTarget": "TA,0.4", "page": 1}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cone_search": "1,2"},
        {"cone_search": (10.0, 95.0, 1.0)},
        {"cone_search": (10.0, 5.0, 0.0)},
        {"cone_search": "a,b,c"},
        {"cone_search_target": "Gaia22bpl"},
        {"cone_search_target": ("", 1.0)},
    ],
)
async def test_list_refuses_malformed_cone_search_before_sending(
    bh: Client, kwargs: dict[str, object]
) -> None:
    """A cone search the server would silently ignore (returning every target) is refused locally."""
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/getTargetList/")
        with pytest.raises(errors.InvalidInputError):
            bh.targets.list(**kwargs)  # type: ignore[arg-type]
    assert not route.called


async def test_list_parses_alias_and_group_pairs_into_typed_tuples(bh: Client) -> None:
    """`aliases` [source, alias] and `groups` [name, id] pairs become TargetAlias / TargetGroupRef."""
    item = {"name": "Gaia22bpl", "aliases": [["GAIA_ALERTS", "Gaia22bpl"]], "groups": [["Microlensing", "3"]]}
    with respx.mock:
        respx.post(BASE_URL + "/targets/getTargetList/").mock(
            return_value=httpx.Response(
                200, json={"count": 1, "num_pages": 1, "current_page": 1, "data": [item]}
            )
        )
        (target,) = await bh.targets.list().to_list()
    assert target.aliases == (TargetAlias("GAIA_ALERTS", "Gaia22bpl"),)
    assert target.groups == (TargetGroupRef("Microlensing", 3),)
    assert target.groups[0].id == 3


async def test_list_walks_pages_and_drops_repeated_names(bh: Client) -> None:
    """Pages are walked to num_pages; a target repeated across pages is yielded once (keyed by name)."""

    def page(request: httpx.Request) -> httpx.Response:
        number = json.loads(request.content)["page"]
        names = {1: ["A", "B"], 2: ["B", "C"]}[number]
        data = [{"name": n} for n in names]
        return httpx.Response(200, json={"count": 4, "num_pages": 2, "current_page": number, "data": data})

    with respx.mock:
        respx.post(BASE_URL + "/targets/getTargetList/").mock(side_effect=page)
        names = [t.name async for t in bh.targets.list()]
    assert names == ["A", "B", "C"]


async def test_list_bad_filter_value_is_a_validation_error(bh: Client) -> None:
    """The server's 400 bare string for an unreadable number surfaces as ValidationError."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/getTargetList/").mock(return_value=replay("08"))
        with pytest.raises(errors.ValidationError, match="could not convert"):
            await bh.targets.list(importance_min=1).to_list()


async def test_list_without_valid_token_is_an_authentication_error(bh: Client) -> None:
    """The recorded 401 answer becomes AuthenticationError."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/getTargetList/").mock(return_value=replay("04"))
        with pytest.raises(errors.AuthenticationError):
            await bh.targets.list().to_list()


# --- create / update / delete ---------------------------------------------------------------


async def test_create_sends_fields_without_type_and_parses_recorded_answer(bh: Client) -> None:
    """create() posts the recorded body to createTarget/ (never `type`) and returns the stored Target."""
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/createTarget/").mock(return_value=replay("11"))
        target = await bh.targets.create(
            "HarnessStar2",
            10.5,
            -20.25,
            epoch=2000,
            classification="Nova",
            importance=3,
            cadence=2,
            has_optical=True,
            type="SIDEREAL",
        )
    assert sent(route) == capture("11")["request"]["body"]  # type: ignore[index]
    assert "type" not in sent(route)  # type: ignore[operator]
    assert (target.name, target.ra, target.dec, target.classification, target.has_optical) == (
        "HarnessStar2",
        10.5,
        -20.25,
        "Nova",
        True,
    )


async def test_create_is_not_retried_after_a_server_error(bh: Client) -> None:
    """A mutating call is sent once even when the server answers 500 (it may have stored it)."""
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/createTarget/").mock(return_value=html_500())
        with pytest.raises(errors.ServerError):
            await bh.targets.create("X1", 1.0, 1.0)
    assert route.call_count == 1


async def test_create_sends_discovery_date_as_iso(bh: Client) -> None:
    """A datetime discovery_date goes out as ISO 8601."""
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/createTarget/").mock(return_value=replay("11"))
        await bh.targets.create(
            "HarnessStar2", 10.5, -20.25, discovery_date=dt.datetime(2023, 9, 28, 10, tzinfo=dt.timezone.utc)
        )
    assert sent(route) == {
        "name": "HarnessStar2",
        "ra": 10.5,
        "dec": -20.25,
        "discovery_date": "2023-09-28T10:00:00+00:00",
    }


async def test_create_duplicate_name_is_a_validation_error_with_fields(bh: Client) -> None:
    """The recorded 404 field dict for a taken name becomes ValidationError with field_errors."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/createTarget/").mock(return_value=replay("12"))
        with pytest.raises(errors.ValidationError) as info:
            await bh.targets.create("HarnessStar2", 10.5, -20.25)
    assert info.value.field_errors == {"name": ("target with this Name already exists.",)}


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("Bad:Name", 1.0, 1.0), {}),
        (("Ok", 361.0, 1.0), {}),
        (("Ok", 1.0, -91.0), {}),
        (("Ok", 1.0, 1.0), {"type": "NON_SIDEREAL"}),
    ],
)
async def test_create_refuses_known_bad_input_before_sending(
    bh: Client, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    """Forbidden name characters, out-of-range coordinates and non-sidereal types never reach the server."""
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/createTarget/")
        with pytest.raises(errors.InvalidInputError):
            await bh.targets.create(*args, **kwargs)  # type: ignore[arg-type]
    assert not route.called


async def test_update_patches_named_path_with_float_epoch(bh: Client) -> None:
    """update() PATCHes updateTarget/<name>/ with the given fields; the docs' "J2023" is sent as 2023.0."""
    with respx.mock:
        route = respx.patch(BASE_URL + "/targets/updateTarget/Gaia22bpl/").mock(
            return_value=httpx.Response(201, json={"Status": "updated"})
        )
        result = await bh.targets.update("Gaia22bpl", epoch="J2023", importance=3, new_name="Gaia22bpl_b")
    assert result is None
    assert route.calls.last.request.method == "PATCH"
    assert sent(route) == {"epoch": 2023.0, "importance": 3, "name": "Gaia22bpl_b"}


async def test_update_quotes_names_with_spaces_in_the_path(bh: Client) -> None:
    """A name with a space is percent-encoded in the URL path."""
    with respx.mock:
        route = respx.patch(BASE_URL + "/targets/updateTarget/My%20Target/").mock(
            return_value=httpx.Response(201, json={"Status": "updated"})
        )
        await bh.targets.update("My Target", cadence=2.0)
    assert route.called


async def test_update_with_nothing_or_bad_epoch_is_refused(bh: Client) -> None:
    """No fields, or an epoch that is not a number, raise InvalidInputError without a request."""
    with respx.mock:
        route = respx.patch(BASE_URL + "/targets/updateTarget/Gaia22bpl/")
        with pytest.raises(errors.InvalidInputError, match="nothing to update"):
            await bh.targets.update("Gaia22bpl")
        with pytest.raises(errors.InvalidInputError, match="epoch"):
            await bh.targets.update("Gaia22bpl", epoch="B-fifty")
    assert not route.called


async def test_update_unknown_target_500_becomes_target_not_found(bh: Client) -> None:
    """The server's HTML 500 for an unknown name is reported as TargetNotFoundError after a list check."""
    with respx.mock:
        patch = respx.patch(BASE_URL + "/targets/updateTarget/Nope/").mock(return_value=html_500())
        check = respx.post(BASE_URL + "/targets/getTargetList/").mock(
            return_value=httpx.Response(200, json=EMPTY)
        )
        with pytest.raises(errors.TargetNotFoundError) as info:
            await bh.targets.update("Nope", importance=1)
    assert info.value.target == "Nope"
    assert patch.call_count == 1
    assert json.loads(check.calls[0].request.content) == {"name": "Nope", "page": 1}
    assert str(info.value).startswith("no target named 'Nope': names are exact and case-sensitive")
    assert info.value.suggestion is None


async def test_update_unknown_name_suggests_the_same_name_in_another_case(bh: Client) -> None:
    """After the 500, a target whose name differs only in case is named in the error."""

    def answer(request: httpx.Request) -> httpx.Response:
        name = json.loads(request.content)["name"]
        data = [{"name": name}] if name == "Gaia22bpl" else []
        return httpx.Response(200, json={**EMPTY, "count": len(data), "data": data})

    with respx.mock:
        respx.patch(BASE_URL + "/targets/updateTarget/gaia22bpl/").mock(return_value=html_500())
        respx.post(BASE_URL + "/targets/getTargetList/").mock(side_effect=answer)
        with pytest.raises(errors.TargetNotFoundError) as info:
            await bh.targets.update("gaia22bpl", importance=1)
    assert info.value.suggestion == "Gaia22bpl"
    assert str(info.value).startswith(
        "no target named 'gaia22bpl': names are exact and case-sensitive; did you mean 'Gaia22bpl'?"
    )
    assert "answered 500" in str(info.value)


async def test_update_a_name_with_a_slash_is_refused_before_sending(bh: Client) -> None:
    """The server cannot route a name containing '/': InvalidInputError says so and what to do."""
    with respx.mock:
        route = respx.patch(url__startswith=BASE_URL + "/targets/updateTarget/")
        with pytest.raises(errors.InvalidInputError, match="cannot address target 'a/b' by name") as info:
            await bh.targets.update("a/b", importance=1)
    assert not route.called
    assert info.value.hint is not None
    assert "web site" in info.value.hint


async def test_update_500_for_an_existing_target_stays_a_server_error(bh: Client) -> None:
    """When the target exists, a 500 is a genuine server crash and is not misreported as not-found."""
    with respx.mock:
        respx.patch(BASE_URL + "/targets/updateTarget/HarnessStar1/").mock(return_value=html_500())
        respx.post(BASE_URL + "/targets/getTargetList/").mock(return_value=replay("07"))
        with pytest.raises(errors.ServerError) as info:
            await bh.targets.update("HarnessStar1", importance=1)
    assert not isinstance(info.value, errors.NotFoundError)


async def test_delete_sends_name_in_a_delete_body(bh: Client) -> None:
    """delete() sends DELETE deleteTarget/ with {"name"} and returns None on {"status":"deleted"}."""
    with respx.mock:
        route = respx.delete(BASE_URL + "/targets/deleteTarget/").mock(
            return_value=httpx.Response(200, json={"status": "deleted"})
        )
        assert await bh.targets.delete("HarnessStar2") is None
    assert route.calls.last.request.method == "DELETE"
    assert sent(route) == {"name": "HarnessStar2"}


async def test_delete_unknown_target_is_target_not_found_and_not_retried(bh: Client) -> None:
    """delete() of a missing name: one DELETE, then TargetNotFoundError."""
    with respx.mock:
        route = respx.delete(BASE_URL + "/targets/deleteTarget/").mock(return_value=html_500())
        respx.post(BASE_URL + "/targets/getTargetList/").mock(return_value=httpx.Response(200, json=EMPTY))
        with pytest.raises(errors.TargetNotFoundError):
            await bh.targets.delete("Nope")
    assert route.call_count == 1


# --- light curves ---------------------------------------------------------------------------


async def test_photometry_parses_recorded_csv_and_keeps_raw(bh: Client, tmp_path: Path) -> None:
    """photometry() posts {name}, parses the recorded CSV, and save() writes the original bytes."""
    recorded = capture("16")
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/download-photometry/").mock(return_value=replay("16"))
        curve = await bh.targets.photometry("HarnessStar1")
    assert sent(route) == {"name": "HarnessStar1"}
    assert isinstance(curve, LightCurve)
    assert (curve.target, curve.kind, curve.unit, len(curve)) == ("HarnessStar1", "photometry", "mag", 3)
    first = curve.points[0]
    assert (first.mjd, first.value, first.error, first.facility, first.filter, first.observer) == (
        60000.1,
        15.2,
        0.02,
        "HarnessObs",
        "GaiaSP/V",
        "alice",
    )
    assert curve.raw == recorded["text"]
    assert curve.filename == "target_HarnessStar1_photometry.csv"
    saved = await curve.save(tmp_path)
    assert saved == tmp_path / "target_HarnessStar1_photometry.csv"
    assert saved.read_text() == recorded["text"]


async def test_photometry_header_only_is_an_empty_curve(bh: Client) -> None:
    """A target without data answers the header only: an empty light curve, not an error."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/download-photometry/").mock(return_value=replay("17"))
        curve = await bh.targets.photometry("HarnessStar2")
    assert curve.points == ()
    assert curve.columns == ("MJD", "Magnitude", "Error", "Facility", "Filter", "Observer")


async def test_photometry_unknown_target_is_target_not_found(bh: Client) -> None:
    """The recorded HTML 500 for an unknown name plus an empty list check give TargetNotFoundError."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/download-photometry/").mock(return_value=replay("18"))
        respx.post(BASE_URL + "/targets/getTargetList/").mock(return_value=replay("24"))
        with pytest.raises(errors.TargetNotFoundError, match="NoSuchTarget"):
            await bh.targets.photometry("NoSuchTarget")


async def test_photometry_non_csv_answer_is_a_decode_error(bh: Client) -> None:
    """A 200 that is not the light-curve CSV raises ResponseDecodeError."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/download-photometry/").mock(
            return_value=httpx.Response(200, text="<html>login</html>")
        )
        with pytest.raises(errors.ResponseDecodeError):
            await bh.targets.photometry("HarnessStar1")


async def test_radio_parses_mjy_curve(bh: Client) -> None:
    """radio() posts {name} to download-radio/ and reads mJy points (negative error = limit)."""
    text = (
        "MJD;mJy;Error;Facility;Filter;Observer\n"
        "60001.5;1.25;0.1;RT32;5GHz;bob\n60002.5;0.3;-1.0;RT32;5GHz;bob\n"
    )
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/download-radio/").mock(
            return_value=httpx.Response(
                200,
                text=text,
                headers={"Content-Disposition": 'attachment; filename="target_X_radio.csv"'},
            )
        )
        curve = await bh.targets.radio("X")
    assert sent(route) == {"name": "X"}
    assert (curve.kind, curve.unit, curve.filename) == ("radio", "mJy", "target_X_radio.csv")
    assert [(p.value, p.is_limit) for p in curve.points] == [(1.25, False), (0.3, True)]
    assert curve.detections == (curve.points[0],)


async def test_radio_unknown_target_is_target_not_found(bh: Client) -> None:
    """radio() on a missing name: 500 HTML then an empty list check give TargetNotFoundError."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/download-radio/").mock(return_value=html_500())
        respx.post(BASE_URL + "/targets/getTargetList/").mock(return_value=httpx.Response(200, json=EMPTY))
        with pytest.raises(errors.TargetNotFoundError):
            await bh.targets.radio("Nope")


# --- plots ----------------------------------------------------------------------------------


async def test_plots_sends_target_names_list_and_reads_figures(bh: Client) -> None:
    """plots() wraps a single name in a list and reads figures, with the string "None" as no plot."""
    figure = {"data": [{"x": [1], "y": [2]}], "layout": {}}
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/get-plots/").mock(
            return_value=httpx.Response(200, json={"Plots": {"A": figure, "B": "None"}})
        )
        plots = await bh.targets.plots(["A", "B"])
        single = await bh.targets.plots("A")
    assert json.loads(route.calls[0].request.content) == {"targetNames": ["A", "B"]}
    assert sent(route) == {"targetNames": ["A"]}
    assert [(p.name, p.figure) for p in plots] == [("A", figure), ("B", None)]
    assert single[0].figure == figure


async def test_plots_unknown_name_is_target_not_found(bh: Client) -> None:
    """The server's 400 {"Error ": "Target does not exist ..."} (trailing spaces) becomes not-found."""
    answer = httpx.Response(400, json={"Error ": "Target does not exist in the database "})
    with respx.mock:
        respx.post(BASE_URL + "/targets/get-plots/").mock(return_value=answer)
        with pytest.raises(errors.TargetNotFoundError):
            await bh.targets.plots("Nope")
        with pytest.raises(errors.NotFoundError, match="one of the targets"):
            await bh.targets.plots(["A", "Nope"])


async def test_plots_with_no_names_is_refused(bh: Client) -> None:
    """An empty name list raises InvalidInputError before sending."""
    with pytest.raises(errors.InvalidInputError):
        await bh.targets.plots([])


# --- caches ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("clean_list_cache", "/targets/cleanTargetListCache/"),
        ("clean_details_cache", "/targets/cleanTargetDetailCache/"),
    ],
)
async def test_cache_cleaners_post_once_to_the_server_path(bh: Client, method: str, path: str) -> None:
    """Cache cleaners POST an empty body to the server's route (Detail, not the docs' Details)."""
    with respx.mock:
        route = respx.post(BASE_URL + path).mock(return_value=httpx.Response(200, json="OK"))
        assert await getattr(bh.targets, method)() is None
    assert route.call_count == 1
    assert sent(route) == {}


@pytest.mark.parametrize("method", ["clean_list_cache", "clean_details_cache"])
async def test_cache_cleaners_error_500_is_permission_denied(bh: Client, method: str) -> None:
    """The server's 500 "ERROR" to non-superusers becomes PermissionDeniedError (sent once)."""
    with respx.mock:
        route = respx.post(
            url__regex=r".*/targets/cleanTargetDetails?Cache/|.*/targets/cleanTargetListCache/"
        ).mock(return_value=httpx.Response(500, json="ERROR"))
        with pytest.raises(errors.PermissionDeniedError, match="superusers"):
            await getattr(bh.targets, method)()
    assert route.call_count == 1


async def test_cache_cleaner_login_redirect_is_permission_denied(bh: Client) -> None:
    """A 302 to the login page is also PermissionDeniedError."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/cleanTargetListCache/").mock(
            return_value=httpx.Response(302, headers={"Location": "/accounts/login/?next=/x/"})
        )
        with pytest.raises(errors.PermissionDeniedError):
            await bh.targets.clean_list_cache()


# --- downloads, groups ----------------------------------------------------------------------


async def test_downloads_sends_filters_and_parses_rows(bh: Client) -> None:
    """downloads() posts its filters to get-downloaded-target-list/ and reads TargetDownload rows."""
    row = {
        "id": 9912,
        "user": "jdoe",
        "user_name": "John Doe",
        "target": 812,
        "target_name": "Gaia22bpl",
        "created": "2026-05-02T01:12:03.123456Z",
        "modified": "2026-05-02T01:12:03.123456Z",
        "download_type": "P",
        "ip_address": "192.0.2.7",
    }
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/get-downloaded-target-list/").mock(
            return_value=httpx.Response(
                200, json={"count": 1, "num_pages": 1, "current_page": 1, "data": [row]}
            )
        )
        rows = await bh.targets.downloads(
            target="Gaia",
            user="jd",
            created_from=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
            download_type="P",
        ).to_list()
    assert sent(route) == {
        "target": "Gaia",
        "user": "jd",
        "created_from": "2026-01-01T00:00:00+00:00",
        "download_type": "P",
        "page": 1,
    }
    assert rows == [
        TargetDownload(
            id=9912,
            user="jdoe",
            user_name="John Doe",
            target=812,
            target_name="Gaia22bpl",
            download_type="P",
            ip_address="192.0.2.7",
            created=dt.datetime(2026, 5, 2, 1, 12, 3, 123456, tzinfo=dt.timezone.utc),
            modified=dt.datetime(2026, 5, 2, 1, 12, 3, 123456, tzinfo=dt.timezone.utc),
        )
    ]


async def test_downloads_admin_only_404_is_permission_denied(bh: Client) -> None:
    """The server's 404 "You have no permissions, Admin Only" becomes PermissionDeniedError."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/get-downloaded-target-list/").mock(
            return_value=httpx.Response(404, json="You have no permissions, Admin Only")
        )
        with pytest.raises(errors.PermissionDeniedError, match="superusers"):
            await bh.targets.downloads().to_list()


async def test_downloads_unknown_type_is_refused(bh: Client) -> None:
    """download_type outside P/R/H raises InvalidInputError."""
    with pytest.raises(errors.InvalidInputError):
        bh.targets.downloads(download_type="X")


async def test_groups_posts_page_and_parses_groups(bh: Client) -> None:
    """groups() posts {page} to target-groups/ and reads TargetGroup items."""
    data = [{"id": 3, "name": "Microlensing", "created": "2023-01-05T12:00:00.123456Z"}]
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/target-groups/").mock(
            return_value=httpx.Response(
                200, json={"count": 1, "num_pages": 1, "current_page": 1, "data": data}
            )
        )
        groups = await bh.targets.groups().to_list()
    assert sent(route) == {"page": 1}
    assert groups == [
        TargetGroup(
            id=3,
            name="Microlensing",
            created=dt.datetime(2023, 1, 5, 12, 0, 0, 123456, tzinfo=dt.timezone.utc),
        )
    ]


async def test_groups_server_error_string_is_a_validation_error(bh: Client) -> None:
    """The groups view's 400 bare string surfaces as ValidationError."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/target-groups/").mock(
            return_value=httpx.Response(400, json="Oops, something went wrong boom")
        )
        with pytest.raises(errors.ValidationError, match="Oops"):
            await bh.targets.groups().to_list()


@pytest.mark.parametrize(
    ("kwargs", "body"), [({"id": 3}, {"id": 3, "page": 1}), ({"name": "M"}, {"name": "M", "page": 1})]
)
async def test_in_group_sends_id_or_name_and_reads_targets(
    bh: Client, kwargs: dict[str, object], body: dict[str, object]
) -> None:
    """in_group() posts id or name to targets-from-group/ and reads Target items (extra `group` ignored)."""
    data = [{"name": "Gaia22bpl", "ra": 276.12, "dec": -12.34, "has_optical": True}]
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/targets-from-group/").mock(
            return_value=httpx.Response(
                200, json={"count": 1, "num_pages": 1, "current_page": 1, "group": 3, "data": data}
            )
        )
        targets = await bh.targets.in_group(**kwargs).to_list()  # type: ignore[arg-type]
    assert sent(route) == body
    assert [(t.name, t.ra, t.has_optical) for t in targets] == [("Gaia22bpl", 276.12, True)]


@pytest.mark.parametrize("kwargs", [{}, {"id": 1, "name": "M"}])
async def test_in_group_needs_exactly_one_of_id_and_name(bh: Client, kwargs: dict[str, object]) -> None:
    """Neither or both of id/name raise InvalidInputError with a hint."""
    with pytest.raises(errors.InvalidInputError) as info:
        bh.targets.in_group(**kwargs)  # type: ignore[arg-type]
    assert info.value.hint


async def test_in_group_unknown_group_is_not_found(bh: Client) -> None:
    """The server's 404 {"detail": "Target group not found."} becomes NotFoundError."""
    with respx.mock:
        respx.post(BASE_URL + "/targets/targets-from-group/").mock(
            return_value=httpx.Response(404, json={"detail": "Target group not found."})
        )
        with pytest.raises(errors.NotFoundError, match="group not found"):
            await bh.targets.in_group(name="Nope").to_list()


# --- retries --------------------------------------------------------------------------------

MUTATIONS = [
    ("POST", "/targets/createTarget/", lambda bh: bh.targets.create("X1", 1.0, 1.0)),
    ("PATCH", "/targets/updateTarget/X1/", lambda bh: bh.targets.update("X1", importance=1)),
    ("DELETE", "/targets/deleteTarget/", lambda bh: bh.targets.delete("X1")),
    ("POST", "/targets/cleanTargetListCache/", lambda bh: bh.targets.clean_list_cache()),
    ("POST", "/targets/cleanTargetDetailCache/", lambda bh: bh.targets.clean_details_cache()),
]


@pytest.mark.parametrize(("method", "path", "call"), MUTATIONS, ids=[m[1] for m in MUTATIONS])
async def test_mutating_calls_are_not_retried(bh: Client, method: str, path: str, call: Any) -> None:
    """A mutating call is sent once even on a retryable 503 (the server may have acted on it)."""
    with respx.mock:
        route = respx.route(method=method, url=BASE_URL + path).mock(return_value=httpx.Response(503))
        with pytest.raises(errors.ServerError):
            await call(bh)
    assert route.call_count == 1


async def test_light_curve_reads_are_retried(bh: Client) -> None:
    """photometry() is a read: a 503 is retried and the next answer is used."""
    with respx.mock:
        route = respx.post(BASE_URL + "/targets/download-photometry/").mock(
            side_effect=[httpx.Response(503), replay("16")]
        )
        curve = await bh.targets.photometry("HarnessStar1")
    assert route.call_count == 2
    assert len(curve.points) == 3


async def test_empty_names_and_forbidden_new_names_are_refused(bh: Client) -> None:
    """An empty name, or renaming to a name with forbidden characters, raises before any request."""
    with respx.mock(assert_all_called=False) as mock:
        with pytest.raises(errors.InvalidInputError):
            await bh.targets.photometry(" ")
        with pytest.raises(errors.InvalidInputError):
            await bh.targets.delete("")
        with pytest.raises(errors.InvalidInputError, match="contains"):
            await bh.targets.update("Gaia22bpl", new_name="a/b")
    assert not mock.calls


@pytest.mark.parametrize(("name", "segment"), [(".", "%2E"), ("..", "%2E%2E")])
async def test_update_dot_names_are_escaped_so_they_reach_the_server(
    bh: Client, name: str, segment: str
) -> None:
    """`.` and `..` are sent as %2E segments, not collapsed into PATCH /targets/."""
    with respx.mock:
        route = respx.patch(url__startswith=BASE_URL + "/targets/").mock(
            return_value=httpx.Response(201, json={"Status": "updated"})
        )
        await bh.targets.update(name, importance=1)
    assert route.calls.last.request.url.raw_path == f"/targets/updateTarget/{segment}/".encode()
