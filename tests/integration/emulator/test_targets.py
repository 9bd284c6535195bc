"""Target views."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import httpx
import pytest

Client = Callable[..., httpx.Client]
HTML_500 = "<h1>Server Error (500)</h1>"


def names(response: httpx.Response) -> list[str]:
    return [t["name"] for t in response.json()["data"]]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "Gaia22bpl"}, ["Gaia22bpl"]),
        ({"name": "gaia22bpl"}, []),
        ({"raMin": 80, "raMax": 90}, ["HarnessStar1"]),
        ({"decMax": -15}, ["HarnessStar2"]),
        ({"importanceMin": 4, "importanceMax": 6}, ["HarnessStar1"]),
        ({"classification": "Nova"}, ["HarnessStar2"]),
        ({"targetGroup": "Microlensing"}, ["Gaia22bpl"]),
        ({"hasRadio": "yes"}, ["Gaia22bpl"]),
        ({"hasOptical": False}, ["HarnessStar1"]),
        ({"lastMagMax": 50}, ["Gaia22bpl"]),
        ({"galacticLatMin": -10}, ["Gaia22bpl"]),
        ({"coneSearchRaDecRadius": "83.6,22.0,0.1"}, ["HarnessStar1"]),
        ({"coneSearchRaDecRadius": "276,-12,1"}, ["Gaia22bpl"]),
        ({"coneSearchTarget": "Star2,0.5"}, ["HarnessStar2"]),
        ({"coneSearchRaDecRadius": "not,a,cone"}, ["Gaia22bpl", "HarnessStar1", "HarnessStar2"]),
        ({"coneSearchTarget": "NoSuchThing,1"}, ["Gaia22bpl", "HarnessStar1", "HarnessStar2"]),
    ],
)
def test_target_list_filters(client: Client, body: dict[str, object], expected: list[str]) -> None:
    """Exact name, numeric ranges, bool words, group, cone in degrees; bad cones ignored."""
    r = client().post("/targets/getTargetList/", json=body)
    assert r.status_code == 200
    assert names(r) == expected


def test_target_list_items_have_alias_and_group_pairs(client: Client) -> None:
    """No id; aliases are [source, name] pairs and groups [name, id] pairs."""
    item = client().post("/targets/getTargetList/", json={"name": "Gaia22bpl"}).json()["data"][0]
    assert "id" not in item
    assert item["aliases"] == [["GAIA_ALERTS", "Gaia22bpl"]]
    assert item["groups"] == [["Microlensing", 1]]
    assert item["created"].endswith("Z")
    assert len(item["created"].split(".")[1]) == 4  # milliseconds + Z


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({"raMin": "abc"}, 400, "Wrong format: could not convert string to float: 'abc'"),
        ({"hasOptical": "maybe"}, 400, "Wrong format: Invalid boolean value: maybe"),
    ],
)
def test_target_list_bad_values(client: Client, body: dict[str, object], status: int, expected: str) -> None:
    """Float/bool ValueError -> 400 bare string."""
    r = client().post("/targets/getTargetList/", json=body)
    assert (r.status_code, r.json()) == (status, expected)


def test_target_list_list_value_is_500(client: Client) -> None:
    """A non-scalar filter value raises TypeError -> HTML 500."""
    r = client().post("/targets/getTargetList/", json={"raMin": [1, 2]})
    assert r.status_code == 500
    assert HTML_500 in r.text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"name": "T1", "ra": 1, "dec": 1, "type": "SIDEREAL"},
            {"non_field_errors": ["Unknown field(s): type"]},
        ),
        ({"name": "T1", "ra": 400, "dec": 1}, {"non_field_errors": ["Coordinates beyond range"]}),
        ({"name": "T(1)", "ra": 1, "dec": 1}, {"name": ["Target name cannot contain any of: ( ) / \\ :"]}),
        (
            {"name": "http://x.org", "ra": 1, "dec": 1},
            {"name": ["Target name cannot contain web addresses or query strings."]},
        ),
        ({"name": "T1", "ra": "12:00:00", "dec": 1}, {"ra": ["A valid number is required."]}),
        ({"ra": 1, "dec": 1}, {"name": ["This field is required."]}),
    ],
)
def test_create_target_validation_is_404(client: Client, body: dict[str, object], expected: object) -> None:
    """Validation failures answer 404 with the serializer's errors."""
    r = client().post("/targets/createTarget/", json=body)
    assert (r.status_code, r.json()) == (404, expected)


def test_create_target_near_existing_is_400_bare_list(client: Client) -> None:
    """A target within 3 arcsec is refused in create(): 400 with a bare list."""
    r = client().post("/targets/createTarget/", json={"name": "Twin", "ra": 276.1201, "dec": -12.34})
    assert (r.status_code, r.json()) == (400, ["Source found already at these coordinates (rad 3 arcsec)"])


def test_create_target_defaults_and_auto_comment(client: Client) -> None:
    """201 without id, create defaults, and the hook's 'Target created by' comment."""
    c = client()
    r = c.post("/targets/createTarget/", json={"name": "NewOne", "ra": 12.5, "dec": 3.25})
    assert r.status_code == 201
    body = r.json()
    assert "id" not in body
    assert (body["epoch"], body["classification"], body["importance"], body["cadence"]) == (
        2000.0,
        "Unknown",
        9.98,
        1.0,
    )
    comments = c.post("/common/api/comments/", json={"target": "NewOne"}).json()["data"]
    assert len(comments) == 1
    assert comments[0]["comment"].startswith("Target created by Alice Observer(alice) on ")


def test_update_target(client: Client) -> None:
    """PATCH any target -> 201 Status updated; bad epoch 404; unknown 500; slashless 301."""
    c = client("bob")
    r = c.patch("/targets/updateTarget/HarnessStar1/", json={"importance": 7, "cadence": 3})
    assert (r.status_code, r.json()) == (201, {"Status": "updated"})
    item = c.post("/targets/getTargetList/", json={"name": "HarnessStar1"}).json()["data"][0]
    assert (item["importance"], item["cadence"]) == (7.0, 3.0)
    r = c.patch("/targets/updateTarget/HarnessStar1/", json={"epoch": "J2023"})
    assert (r.status_code, r.json()) == (404, {"epoch": ["A valid number is required."]})
    assert c.patch("/targets/updateTarget/NoSuch/", json={"cadence": 2}).status_code == 500
    assert c.patch("/targets/updateTarget/HarnessStar1", json={}).status_code == 301
    assert c.post("/targets/updateTarget/HarnessStar1/", json={}).status_code == 405


def test_delete_target_anyone_and_unknown_is_500(client: Client) -> None:
    """Any user deletes any target (200, lower-case key); unknown name -> HTML 500."""
    c = client("bob")
    r = c.request("DELETE", "/targets/deleteTarget/", json={"name": "HarnessStar2"})
    assert (r.status_code, r.json()) == (200, {"status": "deleted"})
    assert names(c.post("/targets/getTargetList/", json={})) == ["Gaia22bpl", "HarnessStar1"]
    r = c.request("DELETE", "/targets/deleteTarget/", json={"name": "HarnessStar2"})
    assert r.status_code == 500
    assert HTML_500 in r.text


def test_dangling_comment_breaks_comment_list(client: Client) -> None:
    """Comments outlive their target; listing them then fails with a 500."""
    c = client()
    c.request("DELETE", "/targets/deleteTarget/", json={"name": "HarnessStar2"})
    assert c.post("/common/api/comments/", json={}).status_code == 500
    assert c.post("/common/api/comments/", json={"target": "HarnessStar1"}).status_code == 200


def test_get_plots(client: Client) -> None:
    """Figure per name, "None" string without data, "Error " keys, per-char strings."""
    c = client()
    r = c.post("/targets/get-plots/", json={"targetNames": ["Gaia22bpl", "HarnessStar2"]})
    assert r.status_code == 200
    plots = r.json()["Plots"]
    assert plots["HarnessStar2"] == "None"
    assert {trace["name"] for trace in plots["Gaia22bpl"]["data"]} >= {"G(GAIA_ALERTS)"}
    r = c.post("/targets/get-plots/", json={"targetNames": ["Gaia22bpl", "Nope"]})
    assert (r.status_code, r.json()) == (400, {"Error ": "Target does not exist in the database "})
    r = c.post("/targets/get-plots/", json={"targetNames": "Gaia22bpl"})  # iterated per char
    assert r.status_code == 400
    assert c.post("/targets/get-plots/", json={}).status_code == 500


def test_cache_cleaners(client: Client) -> None:
    """Superuser -> "OK"; others -> 500 "ERROR"; the doc's spelling hits the HTML route."""
    for path in ("/targets/cleanTargetListCache/", "/targets/cleanTargetDetailCache/"):
        r = client("alice").post(path)
        assert (r.status_code, r.json()) == (500, "ERROR")
        r = client("admin").post(path)
        assert (r.status_code, r.json()) == (200, "OK")
    r = client("admin").post("/targets/cleanTargetDetailsCache/")
    assert r.status_code == 302
    assert r.headers["location"] == "/accounts/login/?next=/targets/cleanTargetDetailsCache/"


def _rows(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text), delimiter=";"))


def test_download_photometry_light_curve(client: Client) -> None:
    """';' CSV sorted by MJD, all sources, negative error = limit, attachment name."""
    r = client().post("/targets/download-photometry/", json={"name": "Gaia22bpl"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv"
    assert r.headers["content-disposition"] == 'attachment; filename="target_Gaia22bpl_photometry.csv"'
    rows = _rows(r)
    assert rows[0] == ["MJD", "Magnitude", "Error", "Facility", "Filter", "Observer"]
    mjds = [float(row[0]) for row in rows[1:]]
    assert len(mjds) >= 30
    assert mjds == sorted(mjds)
    assert {row[3] for row in rows[1:]} >= {"Gaia", "ZTF", "ROAD"}
    assert any(float(row[2]) < 0 for row in rows[1:])


def test_download_radio(client: Client) -> None:
    """The radio download holds the MILLIJANSKY points under an mJy header."""
    r = client().post("/targets/download-radio/", json={"name": "Gaia22bpl"})
    rows = _rows(r)
    assert rows[0] == ["MJD", "mJy", "Error", "Facility", "Filter", "Observer"]
    assert len(rows) == 3
    r = client().post("/targets/download-high-energy/", json={"name": "Gaia22bpl"})
    assert r.text == "MJD;COUNTS;COUNTS_Error;FLUX;FLUX_Error;Facility;Band;Observer\n"


def test_download_errors(client: Client) -> None:
    """Missing name -> 400 Error; unknown target -> HTML 500 (get() outside the try)."""
    c = client()
    assert c.post("/targets/download-radio/", json={}).json() == {"Error": "Something went wrong"}
    assert c.post("/targets/download-high-energy/", json={}).json() == {
        "Error": "Something went wrong, bad request in API "
    }
    r = c.post("/targets/download-photometry/", json={"name": "Nope"})
    assert (r.status_code, r.headers["content-type"]) == (500, "text/html")


def test_downloads_are_recorded_for_admins(client: Client) -> None:
    """Each download adds a DownloadedTarget row; the list is superuser-only (404)."""
    client("alice").post("/targets/download-photometry/", json={"name": "Gaia22bpl"})
    client("bob").post("/targets/download-radio/", json={"name": "Gaia22bpl"})
    r = client("alice").post("/targets/get-downloaded-target-list/", json={})
    assert (r.status_code, r.json()) == (404, "You have no permissions, Admin Only")
    r = client("admin").post("/targets/get-downloaded-target-list/", json={"user": "ALI"})
    rows = r.json()["data"]
    assert [(row["user"], row["target_name"], row["download_type"]) for row in rows] == [
        ("alice", "Gaia22bpl", "P")
    ]
    assert rows[0]["ip_address"] == "127.0.0.1"
    r = client("admin").post("/targets/get-downloaded-target-list/", json={})
    assert [row["download_type"] for row in r.json()["data"]] == ["R", "P"]  # newest first


def test_target_groups_and_members(client: Client) -> None:
    """Every group listed; targets-from-group echoes 'group' and checks its inputs."""
    c = client()
    assert c.post("/targets/target-groups/", json={}).json()["data"][0]["name"] == "Microlensing"
    r = c.post("/targets/targets-from-group/", json={"name": "Microlensing"})
    body = r.json()
    assert list(body) == ["count", "num_pages", "current_page", "group", "data"]
    assert body["group"] == "Microlensing"
    assert [t["name"] for t in body["data"]] == ["Gaia22bpl"]
    assert c.post("/targets/targets-from-group/", json={"id": 1}).json()["group"] == 1
    assert c.post("/targets/targets-from-group/", json={}).json() == {
        "detail": "Please provide either 'id' or 'name' of the target group."
    }
    r = c.post("/targets/targets-from-group/", json={"id": 1, "name": "x"})
    assert r.status_code == 400
    r = c.post("/targets/targets-from-group/", json={"name": "nope"})
    assert (r.status_code, r.json()) == (404, {"detail": "Target group not found."})
