"""Calibration results and the simulated calibration."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bhtom_async.emulator import Emulator

from .conftest import EmulatorClock, fits_frame, upload

Client = Callable[..., httpx.Client]
RES = "/calibration/get-calibration-res/"


def _upload(client: Client, content: bytes | None = None, name: str = "frame.fits", **fields: Any) -> int:
    r = upload(client(upload=True), [(name, content or fits_frame())], **fields)
    assert r.status_code == 201, r.text
    return int(r.json()["Success"][0]["id"])


def _result(c: httpx.Client, ident: int) -> dict[str, Any]:
    return c.post(RES, json={"calibid": [ident]}).json()["data"][0]  # type: ignore[no-any-return]


def _final(c: httpx.Client, ident: int) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while True:
        item = _result(c, ident)
        if item.get("status") in ("S", "E") or time.monotonic() > deadline:
            return item
        time.sleep(0.02)


def test_lifecycle_c_p_s(client: Client, emu: Emulator, frozen: EmulatorClock) -> None:
    """A stored product moves C -> P -> S after the configured delays."""
    emu.calibration.delays = (0.25, 0.25)
    ident = _upload(client)
    c = client()
    seen = [_result(c, ident)["status"]]
    for step in (0.2, 0.1, 0.1, 0.15):  # 0.2 s: still C; 0.3: P; 0.4: P; 0.55: S
        frozen.advance(step)
        seen.append(_result(c, ident)["status"])
    assert seen == ["C", "C", "P", "P", "S"]


def test_result_record_shape_and_values(client: Client) -> None:
    """Django fields keyed by dataproduct (no id), link, plot, ccdphot_results for FITS."""
    ident = _upload(client, filter="GaiaSP/R")
    item = _final(client(), ident)
    assert "id" not in item
    assert item["dataproduct"] == ident
    assert (item["status"], item["best_filter"], item["survey"]) == ("S", "R", "GaiaSP")
    assert item["mjd"] == 60827.968115
    assert item["exp_time"] == 60.0
    assert 11.0 <= item["mag"] < 19.0
    assert item["mag_error"] > 0
    assert item["file_download_link"].endswith(f"/dataproducts/download/photometry/{ident}/")
    assert item["plot"] is None
    assert item["ccdphot_results"]["status"] == "D"
    assert item["ccdphot_results"]["dataProduct"] == ident


def test_magnitudes_are_deterministic(client: Client) -> None:
    """Emulator rule: the magnitude is a function of the file content."""
    frame = fits_frame()
    other = fits_frame(data=bytes(range(128)))
    first, second, third = (_upload(client, content) for content in (frame, frame, other))
    c = client()
    mags = [_final(c, ident)["mag"] for ident in (first, second, third)]
    assert mags[0] == mags[1] != mags[2]


@pytest.mark.parametrize(
    ("cards", "fields", "mjd", "band"),
    [
        ({"DATE-OBS": "2025-06-01T12:00:00", "FILTER": "B"}, {}, 60827.5, "B"),
        ({"FILTER": "I"}, {"mjd": "60000.25"}, 60000.25, "I"),
        ({}, {"mjd": "60000.25", "filter": "GaiaDR3/any"}, 60000.25, "G"),
    ],
)
def test_time_and_filter_come_from_header_or_upload(
    client: Client, cards: dict[str, Any], fields: dict[str, str], mjd: float, band: str
) -> None:
    """mjd from MJD-OBS/DATE-OBS or the upload's mjd; band from filter or FILTER card."""
    ident = _upload(client, fits_frame(cards), **fields)
    item = _final(client(), ident)
    assert (item["status"], item["mjd"], item["best_filter"]) == ("S", mjd, band)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (fits_frame({"OBJECT": "x"}), "Cannot determine the observation time"),
        (fits_frame(data=bytes(128)), "all data values are zero"),
    ],
)
def test_unusable_frames_end_in_e(client: Client, content: bytes, message: str) -> None:
    """Frames the pipeline cannot use end in E with a status message."""
    item = _final(client(), _upload(client, content))
    assert item["status"] == "E"
    assert message in item["status_message"]
    assert item["mag"] is None


def test_success_is_visible_everywhere(client: Client) -> None:
    """A calibrated frame shows in data list, reduced datums and the photometry CSV."""
    ident = _upload(client)
    c = client()
    mag = _final(c, ident)["mag"]
    product = c.post("/common/api/data/", json={"id": ident}).json()["data"][0]
    assert product["calibration_data"]["magnitude"] == mag
    assert product["calibration_data"]["standardised_to"] == "GaiaSP/V"
    datums = c.post("/common/api/reducedDatum/", json={"target_name": "Gaia22bpl"}).json()["data"]
    mine = [d for d in datums if d["data_product"] == ident]
    assert [(d["value"], d["filter"], d["facility"], d["observer"]) for d in mine] == [
        (mag, "V(GaiaSP)", "HarnessObs", "alice")
    ]
    csv_text = c.post("/targets/download-photometry/", json={"name": "Gaia22bpl"}).text
    assert f"60827.968115;{mag};" in csv_text


def test_calibid_forms(client: Client) -> None:
    """Numeric strings work; a string is iterated per character; scalars fail the batch."""
    c = client()
    rows = c.post(RES, json={"calibid": ["1"]}).json()["data"]
    assert rows[0]["dataproduct"] == 1
    rows = c.post(RES, json={"calibid": "12"}).json()["data"]
    assert rows == [{**rows[0], "dataproduct": 1}, {"Error": "File with id 2 does not exist"}]
    r = c.post(RES, json={"calibid": 1})
    assert (r.status_code, r.json()) == (400, {"Error": "Something went wrong: 'int' object is not iterable"})
    r = c.post(RES, json={"calibid": [1, "abc"]})
    assert (r.status_code, r.json()) == (
        400,
        {"Error": "Something went wrong: Field 'id' expected a number but got 'abc'."},
    )
    r = c.post(RES, json={"files": ["x"]})
    assert (r.status_code, r.json()) == (400, {"Error": "'calibid' or 'filename' fields are required."})


def test_ids_then_names_no_dedupe(client: Client) -> None:
    """calibid records first, then filename records, duplicates kept."""
    ident = _upload(client, name="special_frame.fits")
    rows = (
        client()
        .post(RES, json={"filename": ["special_frame", "nothing_like_it"], "calibid": [ident, 1]})
        .json()["data"]
    )
    assert [r.get("dataproduct", r.get("Error")) for r in rows] == [
        ident,
        1,
        ident,
        "File with name nothing_like_it does not exist",
    ]
    assert rows[2]["file_download_link"].startswith("http://")
    assert rows[2]["file_download_link"].endswith("_special_frame.fits")


def test_ambiguous_filename_fails_the_batch(client: Client) -> None:
    """A filename substring matching two products -> whole-request 400."""
    _upload(client, name="a_frame.fits")
    _upload(client, name="b_frame.fits")
    r = client().post(RES, json={"filename": ["_frame"]})
    assert (r.status_code, r.json()) == (
        400,
        {"Error": "Something went wrong: get() returned more than one Calibration_data -- it returned 2!"},
    )


def test_other_users_data_and_superuser(client: Client) -> None:
    """Someone else's product -> 'It's not your data'; the superuser sees everything."""
    ident = _upload(client)
    assert client("bob").post(RES, json={"calibid": [ident]}).json()["data"] == [
        {"calib-res": "It's not your data", "plot": None}
    ]
    assert client("admin").post(RES, json={"calibid": [ident]}).json()["data"][0]["dataproduct"] == ident


def test_get_plot_returns_a_png(client: Client) -> None:
    """getPlot adds a data:image/png;base64 plot for calibrated frames."""
    ident = _upload(client)
    c = client()
    _final(c, ident)
    item = c.post(RES, json={"calibid": [ident], "getPlot": True}).json()["data"][0]
    prefix = "data:image/png;base64,"
    assert item["plot"].startswith(prefix)
    assert base64.b64decode(item["plot"][len(prefix) :]).startswith(b"\x89PNG\r\n\x1a\n")


def test_dry_run_and_unregistered_ids_do_not_exist(
    client: Client, emu: Emulator, frozen: EmulatorClock
) -> None:
    """Dry-run ids never resolve; ids wait for their calibration row."""
    dry = _upload(client, dry_run="True")
    c = client()
    assert _result(c, dry) == {"Error": f"File with id {dry} does not exist"}
    emu.calibration.registration_delay = 0.3
    late = _upload(client)
    assert _result(c, late) == {"Error": f"File with id {late} does not exist"}
    frozen.advance(0.25)
    assert _result(c, late) == {"Error": f"File with id {late} does not exist"}
    frozen.advance(0.1)
    assert _result(c, late)["dataproduct"] == late


def test_ccdphot_window_fails_the_whole_batch(client: Client, emu: Emulator, frozen: EmulatorClock) -> None:
    """A fits_file with a calibration row but no CCDPhotJob yet -> whole-batch 400."""
    emu.calibration.ccdphot_delay = 0.4
    ident = _upload(client)
    c = client()
    r = c.post(RES, json={"calibid": [1, ident]})
    assert (r.status_code, r.json()) == (
        400,
        {"Error": "Something went wrong: CCDPhotJob matching query does not exist."},
    )
    assert c.post(RES, json={"calibid": [1]}).status_code == 200  # bisected: the rest works
    frozen.advance(0.45)
    assert c.post(RES, json={"calibid": [1, ident]}).status_code == 200


def test_restart_calibration(client: Client, emu: Emulator, frozen: EmulatorClock) -> None:
    """Staff restart puts a product back through C -> P -> S with one more try."""
    ident = _upload(client)
    c = client()
    frozen.advance(0.2)  # past the default 0.05 + 0.05 s
    before = _result(c, ident)
    assert before["status"] == "S"
    emu.calibration.delays = (0.2, 0.2)
    r = client("admin").post("/calibration/restart-calib-by-dataproduct/", json={"data_product_id": ident})
    assert r.status_code == 200
    assert r.json()["Success"]["count"] == 1
    assert _result(c, ident)["status"] == "C"
    frozen.advance(0.3)
    assert _result(c, ident)["status"] == "P"
    frozen.advance(0.2)
    after = _result(c, ident)
    assert after["status"] == "S"
    assert after["number_tries"] == before["number_tries"] + 1
    assert after["mag"] == before["mag"]
    datums = c.post("/common/api/reducedDatum/", json={"target_name": "Gaia22bpl"}).json()["data"]
    assert sum(d["data_product"] == ident for d in datums) == 1


def test_a_calibration_restarted_before_its_end_finishes_once_at_the_new_end(
    client: Client, emu: Emulator, frozen: EmulatorClock
) -> None:
    """The emulator files each calibration under its end time: a restart while it is still
    running moves the end later, so passing the old end materialises nothing, and the new end
    materialises it once (one datum)."""
    emu.calibration.delays = (0.1, 0.1)
    ident = _upload(client)
    c = client()
    frozen.advance(0.1)
    emu.calibration.delays = (0.3, 0.3)
    r = client("admin").post("/calibration/restart-calib-by-dataproduct/", json={"data_product_id": ident})
    assert r.json()["Success"]["count"] == 1

    def datums() -> int:
        rows = c.post("/common/api/reducedDatum/", json={"target_name": "Gaia22bpl"}).json()["data"]
        return sum(d["data_product"] == ident for d in rows)

    frozen.advance(0.15)  # past the first end (0.2 s), before the new one (0.1 + 0.6 s)
    assert _result(c, ident)["status"] == "C"
    assert datums() == 0
    frozen.advance(0.5)
    assert _result(c, ident)["status"] == "S"
    assert datums() == 1
    frozen.advance(1.0)
    assert datums() == 1


def test_catalogs(client: Client) -> None:
    """Not in the API documentation: GET get-catalogs answers an envelope of filters."""
    body = client().get("/calibration/get-catalogs/").json()
    assert body["count"] == len(body["data"]) == 3


@pytest.mark.parametrize(
    ("path", "body", "count"),
    [
        ("/calibration/restart-calib-by-id/", {"id_from": 1, "id_to": 1}, 1),
        ("/calibration/restart-calib-by-target/", {"target_name": "HarnessStar1"}, 1),
        ("/calibration/restart-calib-by-target/", {"target_name": "Gaia22bpl"}, 0),
    ],
)
def test_restart_scopes(client: Client, path: str, body: dict[str, Any], count: int) -> None:
    """Staff restarts select calibrations by id range or by target."""
    r = client("admin").post(path, json=body)
    assert r.status_code == 200
    assert r.json()["Success"]["count"] == count
    if count:
        assert _final(client(), 1)["number_tries"] == 1
