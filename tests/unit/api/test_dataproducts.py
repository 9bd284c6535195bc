"""`bh.dataproducts`: list filters and parsing, delete, change_observers, photometry_file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
import respx

from bhtom_async import Client, errors
from bhtom_async.models import DataProduct

from ...conftest import BASE_URL, capture

pytestmark = pytest.mark.anyio


async def test_list_sends_filters_and_parses_recorded_item(bh: Client) -> None:
    """Filters go in the JSON body with the page; the recorded DRF item becomes a DataProduct."""
    recorded = capture("40")
    with respx.mock:
        route = respx.post(BASE_URL + "/common/api/data/").mock(
            return_value=httpx.Response(200, json=recorded["json"])
        )
        items = await bh.dataproducts.list(
            id=1, target="Harness", created_start=dt.date(2026, 1, 2)
        ).to_list()
    assert json.loads(route.calls.last.request.content) == {
        "id": 1,
        "target_name": "Harness",
        "created_start": "2026-01-02",
        "page": 1,
    }
    (dp,) = items
    assert isinstance(dp, DataProduct)
    assert (dp.id, dp.target_name, dp.camera, dp.status, dp.observers) == (
        1,
        "HarnessStar1",
        "HarnessObs_HarnessCam",
        "S",
        ("alice",),
    )
    assert dp.filename == "harness_phot_1.csv"
    assert dp.dry_run is False
    assert dp.calibration_data is not None
    assert (
        dp.calibration_data.magnitude,
        dp.calibration_data.npoints,
        dp.calibration_data.calib_survey_filter,
    ) == (15.2, 120, "")


async def test_list_row_without_an_id_is_kept_not_dropped(
    bh: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A stored product whose id cannot be read is yielded with id None (never dropped, which would
    read as "absent" to a caller checking whether a file is stored), with one warning naming `id`."""
    good = capture("40")["json"]["data"][0]
    broken = {**good, "id": None}
    answer = {"count": 2, "num_pages": 1, "current_page": 1, "data": [good, broken]}
    with respx.mock:
        respx.post(BASE_URL + "/common/api/data/").mock(return_value=httpx.Response(200, json=answer))
        rows = await bh.dataproducts.list(target="HarnessStar1").to_list()
    assert [row.id for row in rows] == [good["id"], None]
    assert rows[1].raw["id"] is None
    warnings = [r for r in caplog.records if r.name == "bhtom_async" and r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "id (1 row)" in warnings[0].getMessage()


async def test_list_empty_strings_read_as_none(bh: Client) -> None:
    """The server's `x or ""` values (0.0 and null) read as None in the calibration summary."""
    item = {
        "id": 3,
        "calibration_data": {"id": "", "mjd": "", "magnitude": "", "zp": ""},
        "observers": [12, 34],
    }
    env = {"count": 1, "num_pages": 1, "current_page": 1, "data": [item]}
    with respx.mock:
        respx.post(BASE_URL + "/common/api/data/").mock(return_value=httpx.Response(200, json=env))
        (dp,) = await bh.dataproducts.list().to_list()
    assert dp.calibration_data is not None
    assert (dp.calibration_data.id, dp.calibration_data.magnitude, dp.calibration_data.mag_error) == (
        None,
        None,
        None,
    )
    assert dp.observers == ("12", "34")


async def test_delete_sends_id_with_delete_method(bh: Client) -> None:
    """delete() is a DELETE with the id in the JSON body."""
    with respx.mock:
        route = respx.delete(BASE_URL + "/common/api/deleteDataProduct/").mock(
            return_value=httpx.Response(200, json={"Success": "DataProduct deleted successfully."})
        )
        await bh.dataproducts.delete(5)
    assert json.loads(route.calls.last.request.content) == {"id": 5}


async def test_delete_unknown_id_500_is_not_found(bh: Client) -> None:
    """The server's 500 "matching query does not exist" becomes NotFoundError."""
    err = {"Error": "An error occurred: DataProduct matching query does not exist."}
    with respx.mock:
        respx.delete(BASE_URL + "/common/api/deleteDataProduct/").mock(
            return_value=httpx.Response(500, json=err)
        )
        with pytest.raises(errors.NotFoundError):
            await bh.dataproducts.delete(5)


async def test_delete_non_admin_is_permission_denied(bh: Client) -> None:
    """A 302 to the login page becomes PermissionDeniedError."""
    with respx.mock:
        respx.delete(BASE_URL + "/common/api/deleteDataProduct/").mock(
            return_value=httpx.Response(302, headers={"location": "/accounts/login/?next=/x/"})
        )
        with pytest.raises(errors.PermissionDeniedError):
            await bh.dataproducts.delete(5)


async def test_change_observers_sends_list_and_returns_product(bh: Client) -> None:
    """change_observers posts id and the observers list and returns the updated product."""
    item = capture("40")["json"]["data"][0]  # type: ignore[index]
    with respx.mock:
        route = respx.post(BASE_URL + "/common/api/changeObservers/").mock(
            return_value=httpx.Response(200, json={**item, "observers": [3, 4]})
        )
        dp = await bh.dataproducts.change_observers(1, ["alice", "bob"])
    assert json.loads(route.calls.last.request.content) == {"id": 1, "observers": ["alice", "bob"]}
    assert dp.observers == ("3", "4")


async def test_change_observers_unknown_user_is_validation_error(bh: Client) -> None:
    """400 listing unknown usernames becomes ValidationError; the change is not re-sent."""
    with respx.mock:
        route = respx.post(BASE_URL + "/common/api/changeObservers/").mock(
            return_value=httpx.Response(400, json={"error": "The following usernames do not exist: bob"})
        )
        with pytest.raises(errors.ValidationError, match="bob"):
            await bh.dataproducts.change_observers(1, ["bob"])
    assert route.call_count == 1


async def test_photometry_file_parses_sextractor_rows_and_saves(
    bh: Client, samples_dir: Path, tmp_path: Path
) -> None:
    """A SExtractor catalogue download is parsed into rows and saved byte for byte."""
    content = (samples_dir / "instrumental.cat").read_bytes()
    with respx.mock:
        route = respx.post(BASE_URL + "/common/api/downloadPhotometryFile/").mock(
            return_value=httpx.Response(
                200, content=content, headers={"content-disposition": 'attachment; filename="416_x.dat"'}
            )
        )
        phot = await bh.dataproducts.photometry_file(416)
    assert json.loads(route.calls.last.request.content) == {"id": 416}
    assert phot.filename == "416_x.dat"
    assert phot.columns[:3] == ("NUMBER", "ALPHA_J2000", "DELTA_J2000")
    first = phot.rows[0]
    assert (first.number, first.ra, first.dec, first.mag, first.mag_error) == (
        1,
        318.7370317,
        -55.871986,
        -11.2345,
        0.0021,
    )
    saved = await phot.save(tmp_path)
    assert saved == tmp_path / "416_x.dat"
    assert saved.read_bytes() == content


async def test_photometry_file_reads_recorded_csv(bh: Client) -> None:
    """The recorded CSV download (capture 50) is read by its header row."""
    recorded = capture("50")
    with respx.mock:
        respx.post(BASE_URL + "/common/api/downloadPhotometryFile/").mock(
            return_value=httpx.Response(
                200,
                text=str(recorded["text"]),
                headers={
                    "content-type": "text/csv",
                    "content-disposition": 'attachment; filename="harness_phot_1.csv"',
                },
            )
        )
        phot = await bh.dataproducts.photometry_file(1)
    assert phot.columns == ("MJD", "Magnitude", "Error")
    assert [(r.get("MJD"), r.mag, r.mag_error) for r in phot.rows] == [
        (60000.1, 15.2, 0.02),
        (60001.2, 15.35, 0.03),
        (60002.3, 15.1, 0.02),
    ]


async def test_photometry_file_not_found(bh: Client) -> None:
    """The bare-string 404 "File not found" becomes NotFoundError."""
    with respx.mock:
        respx.post(BASE_URL + "/common/api/downloadPhotometryFile/").mock(
            return_value=httpx.Response(404, json="File not found")
        )
        with pytest.raises(errors.NotFoundError, match="File not found"):
            await bh.dataproducts.photometry_file(1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="416_a;b.dat"', "416_a;b.dat"),
        ("attachment; filename*=utf-8''416_%C5%82%C3%B3d%C5%BA.dat", "416_łódź.dat"),
        ('attachment; filename="../../416_x.dat"', "416_x.dat"),
        ('attachment; filename=".."', "416.dat"),
    ],
)
async def test_photometry_file_name_is_parsed_and_made_safe(bh: Client, header: str, expected: str) -> None:
    """A quoted `;`, an RFC 5987 name and path parts: the file name is decoded and a plain base name."""
    with respx.mock:
        respx.post(BASE_URL + "/common/api/downloadPhotometryFile/").mock(
            return_value=httpx.Response(
                200, content=b"# 1 NUMBER\n1\n", headers={"content-disposition": header}
            )
        )
        phot = await bh.dataproducts.photometry_file(416)
    assert phot.filename == expected


@pytest.mark.parametrize("keyword", ["target", "target_name"])
async def test_target_and_its_older_name_send_the_same_filter(bh: Client, keyword: str) -> None:
    """`target=` (the CLI's --target) and the older `target_name=` both filter by target name."""
    with respx.mock:
        route = respx.post(BASE_URL + "/common/api/data/").mock(
            return_value=httpx.Response(200, json={"count": 0, "num_pages": 1, "current_page": 1, "data": []})
        )
        await bh.dataproducts.list(**{keyword: "Gaia22bpl"}).to_list()  # type: ignore[arg-type]
    assert json.loads(route.calls.last.request.content) == {"target_name": "Gaia22bpl", "page": 1}


async def test_target_and_a_different_target_name_are_refused(bh: Client) -> None:
    """Two different names for the one target filter are refused before anything is sent."""
    with pytest.raises(errors.InvalidInputError, match="name different targets"):
        bh.dataproducts.list(target="A", target_name="B")
    with pytest.raises(errors.InvalidInputError, match="name different targets"):
        bh.reduced_data.list(target="A", target_name="B")
