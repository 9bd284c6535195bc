"""``/common/api`` views."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from bhtom_async.emulator import Emulator
from bhtom_async.emulator.records import DataProduct

from .conftest import EmulatorClock, fits_frame, upload

Client = Callable[..., httpx.Client]


def _wait_status(c: httpx.Client, ident: int, wanted: str = "S") -> dict[str, object]:
    deadline = time.monotonic() + 5
    while True:
        item = c.post("/common/api/data/", json={"id": ident}).json()["data"][0]
        if item["status"] == wanted or time.monotonic() > deadline:
            return item  # type: ignore[no-any-return]
        time.sleep(0.02)


def _upload_frame(client: Client, name: str = "frame.fits", **fields: object) -> int:
    r = upload(client(upload=True), [(name, fits_frame())], **fields)
    assert r.status_code == 201, r.text
    return int(r.json()["Success"][0]["id"])


def test_comment_filters(client: Client) -> None:
    """Target exact (404 lower-case error), targetid string, text icontains, dates."""
    c = client()
    r = c.post("/common/api/comments/", json={"target": "Nope"})
    assert (r.status_code, r.json()) == (404, {"error": "Target not found"})
    rows = c.post("/common/api/comments/", json={"targetid": 3, "text": "BRIGHTENING"}).json()
    assert [(row["target_id"], row["user_name"]) for row in rows["data"]] == [("3", "alice")]
    rows = c.post("/common/api/comments/", json={"created_start": "2026-01-01"}).json()
    assert [row["id"] for row in rows["data"]] == [1, 2]
    r = c.post("/common/api/comments/", json={"created_end": "01/01/2024"})
    assert (r.status_code, r.json()) == (400, {"error": "Invalid date format. Use YYYY-MM-DD."})
    assert c.post("/common/api/comments/", json={"created_end": 20240101}).status_code == 500


def test_data_list_filters(client: Client) -> None:
    """Every user's products, newest first; target_name icontains, oname, type, status."""
    first = _upload_frame(client, "one.fits")
    second = _upload_frame(client, "two.fits", observatory="HarnessObs_HarnessCam")
    c = client("bob")
    ids = [p["id"] for p in c.post("/common/api/data/", json={}).json()["data"]]
    assert ids == [second, first, 1]
    by = {
        "target_name": "BPL",
        "oname": "HarnessObs_HarnessCam",
        "data_product_type": "fits_file",
        "photometry_data": "two",
        "id": first,
    }
    found = {
        key: [p["id"] for p in c.post("/common/api/data/", json={key: value}).json()["data"]]
        for key, value in by.items()
    }
    assert found == {
        "target_name": [second, first],
        "oname": [second, first, 1],
        "data_product_type": [second, first],
        "photometry_data": [second],
        "id": [first],
    }
    _wait_status(c, first)
    _wait_status(c, second)
    done = c.post("/common/api/data/", json={"status": "S", "mjd_min": 60827, "mjd_max": 60828}).json()[
        "data"
    ]
    assert [p["id"] for p in done] == [second, first]


@pytest.mark.parametrize("key", ["mag_min", "mag_max", "filter"])
def test_data_list_broken_filters_are_500(client: Client, key: str) -> None:
    """mag_min/mag_max (lookup typos) and filter (no such field) -> HTML 500."""
    r = client().post("/common/api/data/", json={key: "15"})
    assert (r.status_code, r.headers["content-type"]) == (500, "text/html")


def test_data_list_page_sizes(client: Client, emu: Emulator) -> None:
    """500 per page, 1000 for staff."""
    state = emu._require_state()
    for index in range(600):
        state.put(
            "dataproduct",
            DataProduct(
                state.next_id("dataproduct"),
                1,
                4,
                "spectroscopy",
                f"targets/x/{index}.txt",
                f"{index}.txt",
                "0" * 64,
                1,
                1.7e9 + index,
                1.7e9 + index,
            ),
        )
    alice = client().post("/common/api/data/", json={}).json()
    assert (alice["count"], alice["num_pages"], len(alice["data"])) == (601, 2, 500)
    admin = client("admin").post("/common/api/data/", json={}).json()
    assert (admin["count"], admin["num_pages"], len(admin["data"])) == (601, 1, 601)


def test_calibration_data_without_row_has_blanks_and_no_mag_error(client: Client, emu: Emulator) -> None:
    """No calibration row yet -> every key "" and mag_error absent (the x or "" quirk)."""
    emu.calibration.registration_delay = 30
    ident = _upload_frame(client)
    item = client().post("/common/api/data/", json={"id": ident}).json()["data"][0]
    assert "mag_error" not in item["calibration_data"]
    assert set(item["calibration_data"].values()) == {""}
    assert item["status"] == "C"


def test_reduced_datum_list(client: Client) -> None:
    """One of target_id/target_name; unknown name 404; unknown id empty; bad page 400."""
    c = client()
    body = c.post("/common/api/reducedDatum/", json={"target_name": "Gaia22bpl"}).json()
    assert body["count"] == len(body["data"]) >= 30
    units = {d["value_unit"] for d in body["data"]}
    assert units == {"MAG", "MILLIJANSKY"}
    assert c.post("/common/api/reducedDatum/", json={"target_id": 999}).json()["count"] == 0
    for page in (0, 2, "x"):
        r = c.post("/common/api/reducedDatum/", json={"target_id": 3, "page": page})
        assert (r.status_code, r.json()) == (400, {"error": "Invalid page number."})
    r = c.post("/common/api/reducedDatum/", json={"target_name": "", "target_id": 0})
    assert r.status_code == 400


def test_delete_and_deactivate_reduced_datum(client: Client) -> None:
    """Staff; 0 counts as missing; delete 404 on no match; deactivate 500 on no match."""
    admin = client("admin")
    point = {
        "target_name": "HarnessStar1",
        "mjd": 60001.2,
        "mag": 15.35,
        "magerr": 0.03,
        "filter": "GaiaSP/V",
        "observer": "alice",
    }
    r = admin.request("DELETE", "/common/api/deleteReducedDatum/", json={**point, "mag": 0})
    assert (r.status_code, r.json()) == (400, {"Error": "Missing required parameters."})
    r = admin.post("/common/api/deactivateReducedDatum/", json={**point, "mag": 99.0})
    assert (r.status_code, r.json()) == (
        500,
        {"Error": "An error occurred: 'NoneType' object has no attribute 'active_flg'"},
    )
    r = admin.post("/common/api/deactivateReducedDatum/", json=point)
    assert r.json() == {"Success": "Reduced datum deactivated successfully."}
    rows = admin.post("/common/api/reducedDatum/", json={"target_id": 1}).json()["data"]
    assert [d["active_flg"] for d in rows] == [True, False, True]
    csv_text = admin.post("/targets/download-photometry/", json={"name": "HarnessStar1"}).text
    assert "60001.2" not in csv_text  # inactive points leave the download
    r = admin.request("DELETE", "/common/api/deleteReducedDatum/", json=point)
    assert r.json() == {"Success": "Reduced datum deleted successfully."}
    r = admin.request("DELETE", "/common/api/deleteReducedDatum/", json=point)
    assert (r.status_code, r.json()) == (404, {"Error": "Reduced datum not found."})


def test_delete_data_product(client: Client) -> None:
    """Staff only; missing id 400; unknown id is a 500 JSON; cascades to datums."""
    admin = client("admin")
    r = admin.request("DELETE", "/common/api/deleteDataProduct/", json={})
    assert (r.status_code, r.json()) == (400, {"Error": "Missing required parameter 'id'."})
    r = admin.request("DELETE", "/common/api/deleteDataProduct/", json={"id": 777})
    assert (r.status_code, r.json()) == (
        500,
        {"Error": "An error occurred: DataProduct matching query does not exist."},
    )
    r = admin.request("DELETE", "/common/api/deleteDataProduct/", json={"id": "1"})
    assert r.json() == {"Success": "DataProduct deleted successfully."}
    assert admin.post("/common/api/reducedDatum/", json={"target_id": 1}).json()["count"] == 0


def test_users_list_leaks_password_hashes(client: Client) -> None:
    """Staff get a bare list of User.__all__, password hashes included (a real leak)."""
    rows = client("admin").post("/common/api/users/", json={}).json()
    assert isinstance(rows, list)
    assert [u["username"] for u in rows] == ["AnonymousUser", "admin", "alice", "bob", "carol"]
    alice = rows[2]
    assert alice["password"].startswith("pbkdf2_sha256$")
    assert "alice-pass-123" not in alice["password"]
    assert list(alice) == [
        "id",
        "password",
        "last_login",
        "is_superuser",
        "username",
        "first_name",
        "last_name",
        "email",
        "is_staff",
        "is_active",
        "date_joined",
        "groups",
        "user_permissions",
    ]
    assert [u["id"] for u in client("admin").post("/common/api/users/", json={"username": "bob"}).json()] == [
        4
    ]


def test_change_observers(client: Client) -> None:
    """No owner check; stores user ids; unknown names 400; unknown product 404."""
    c = client("bob")
    r = c.post("/common/api/changeObservers/", json={"id": 1, "observers": "alice, bob"})
    assert r.status_code == 200
    assert r.json()["observers"] == [3, 4]
    r = c.post("/common/api/changeObservers/", json={"id": 1, "observers": ["zed", "yan"]})
    assert (r.status_code, r.json()) == (400, {"error": "The following usernames do not exist: zed, yan"})
    r = c.post("/common/api/changeObservers/", json={"id": 1})
    assert r.json() == {"error": "Missing required fields: 'id' and/or 'observers'"}
    r = c.post("/common/api/changeObservers/", json={"id": 555, "observers": ["bob"]})
    assert (r.status_code, r.json()) == (404, {"error": "DataProduct not found"})


def test_download_photometry_file(client: Client) -> None:
    """Any product's file as an attachment; errors are bare strings."""
    c = client("bob")
    r = c.post("/common/api/downloadPhotometryFile/", json={"id": 1})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="harness_phot_1.csv"'
    assert r.text.startswith("MJD,Magnitude,Error\n60000.1,15.20,0.02\n")
    assert c.post("/common/api/downloadPhotometryFile/", json={}).json() == "ID not provided"
    r = c.post("/common/api/downloadPhotometryFile/", json={"id": "x"})
    assert (r.status_code, r.json()) == (500, "Unexpected error: Field 'id' expected a number but got 'x'.")
    r = c.post("/common/api/downloadPhotometryFile/", json={"id": 4242})
    assert (r.status_code, r.json()) == (404, "DataProduct not found")


def test_download_photometry_file_of_a_calibrated_frame(
    client: Client, emu: Emulator, frozen: EmulatorClock
) -> None:
    """A FITS product has no catalogue until calibrated; then a SExtractor .dat file."""
    emu.calibration.delays = (0.3, 0.1)
    ident = _upload_frame(client)
    c = client()
    r = c.post("/common/api/downloadPhotometryFile/", json={"id": ident})
    assert (r.status_code, r.json()) == (404, "File not found")
    frozen.advance(0.5)
    assert c.post("/common/api/data/", json={"id": ident}).json()["data"][0]["status"] == "S"
    r = c.post("/common/api/downloadPhotometryFile/", json={"id": ident})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.text.startswith("#   1 NUMBER")


def test_calibration_data_zero_becomes_blank(client: Client, emu: Emulator) -> None:
    """The serializer's `x or ""` turns a 0.0 value into "" (and keeps the key)."""
    state = emu._require_state()
    cal = state.calibration_of(1)
    assert cal is not None
    cal.scatter = 0.0
    state.put("calibration", cal)
    data = client().post("/common/api/data/", json={"id": 1}).json()["data"][0]
    assert data["calibration_data"]["scatter"] == ""
    assert data["calibration_data"]["magnitude"] == 15.2
