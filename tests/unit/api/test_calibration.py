"""`bh.calibration`: results (requests, paging, per-item shapes), restarts, calibrate_file."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
from pathlib import Path

import httpx
import pytest
import respx

from bhtom_async import Client, errors
from bhtom_async.models import CalibrationResult, CalibrationStatus, FileCalibration, RestartResult

from ...conftest import BASE_URL, UPLOAD_URL, capture

pytestmark = pytest.mark.anyio
URL = BASE_URL + "/calibration/get-calibration-res/"
PNG = b"\x89PNG\r\n\x1a\nfake"


def body(call: respx.models.Call) -> object:
    return json.loads(call.request.content)


def record(dp: int, status: str = "S", **more: object) -> dict[str, object]:
    return {
        "dataproduct": dp,
        "status": status,
        "mag": 15.0,
        "mag_error": 0.02,
        "best_filter": "V",
        "survey": "GaiaSP",
        "mjd": 60000.1,
        **more,
    }


def page(
    items: list[object], number: int = 1, num_pages: int = 1, count: int | None = None
) -> httpx.Response:
    return httpx.Response(
        200,
        json={"count": count or len(items), "num_pages": num_pages, "current_page": number, "data": items},
    )


async def test_results_sends_calibid_list_and_parses_record(bh: Client) -> None:
    """ids go as the `calibid` list; the recorded record becomes a typed CalibrationResult."""
    recorded = capture("33")
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(200, json=recorded["json"]))
        results = [r async for r in bh.calibration.results([1])]
    assert body(route.calls.last) == {"calibid": [1], "page": 1}
    (result,) = results
    assert result.dataproduct_id == 1
    assert result.status is CalibrationStatus.SUCCESS
    assert (result.magnitude, result.error, result.filter, result.mjd) == (15.2, 0.02, "GaiaSP/V", 60000.1)
    assert result.is_limit is False
    assert result.record is not None
    assert result.record.zeropoint == 25.1


async def test_results_missing_id_is_pending_with_message(bh: Client) -> None:
    """A "File with id N does not exist" item is reported as PENDING for that id."""
    recorded = capture("34")
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, json=recorded["json"]))
        results = [r async for r in bh.calibration.results([1, 999999])]
    assert [(r.dataproduct_id, r.status) for r in results] == [
        (1, CalibrationStatus.SUCCESS),
        (999999, CalibrationStatus.PENDING),
    ]
    assert results[1].message == "File with id 999999 does not exist"


async def test_results_by_filename_sends_filename_list(bh: Client) -> None:
    """File names go as the `filename` list (not the official script's `files`) and are kept on the result."""
    recorded = capture("35")
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(200, json=recorded["json"]))
        (result,) = [r async for r in bh.calibration.results(filenames=["harness_phot_1"])]
    assert body(route.calls.last) == {"filename": ["harness_phot_1"], "page": 1}
    assert result.filename == "harness_phot_1"
    assert result.dataproduct_id == 1


async def test_results_plot_sends_getplot_and_decodes_png(bh: Client) -> None:
    """plot=True sends getPlot and the data-URL plot arrives as PNG bytes."""
    plot = "data:image/png;base64," + base64.b64encode(PNG).decode()
    with respx.mock:
        route = respx.post(URL).mock(return_value=page([record(5, plot=plot)]))
        (result,) = [r async for r in bh.calibration.results([5], plot=True)]
    assert body(route.calls.last) == {"calibid": [5], "getPlot": True, "page": 1}
    assert result.plot == PNG


async def test_results_walks_pages_of_200(bh: Client) -> None:
    """More than 200 ids are read page by page, each item tied to its id."""
    ids = list(range(1, 251))
    with respx.mock:
        route = respx.post(URL).mock(
            side_effect=[
                page([record(i) for i in ids[:200]], 1, 2, 250),
                page([record(i) for i in ids[200:]], 2, 2, 250),
            ]
        )
        results = [r async for r in bh.calibration.results(ids)]
    assert [body(c)["page"] for c in route.calls] == [1, 2]  # type: ignore[index]
    assert [r.dataproduct_id for r in results] == ids


async def test_results_not_your_data_is_error(bh: Client) -> None:
    """The "It's not your data" item is an ERROR for the id asked in that position."""
    with respx.mock:
        respx.post(URL).mock(return_value=page([{"calib-res": "It's not your data", "plot": None}]))
        (result,) = [r async for r in bh.calibration.results([7])]
    assert (result.dataproduct_id, result.status, result.message) == (
        7,
        CalibrationStatus.ERROR,
        "It's not your data",
    )


async def test_results_negative_error_is_limit_and_e_has_message(bh: Client) -> None:
    """A negative mag_error marks a limit; an E record keeps its status message."""
    with respx.mock:
        respx.post(URL).mock(
            return_value=page([record(1, mag_error=-1.0), record(2, "E", status_message="No stars matched")])
        )
        first, second = [r async for r in bh.calibration.results([1, 2])]
    assert first.is_limit is True
    assert second.status is CalibrationStatus.ERROR
    assert second.status_message == "No stars matched"


async def test_results_needs_ids_or_filenames(bh: Client) -> None:
    """Asking with neither ids nor names is refused before sending."""
    with pytest.raises(errors.InvalidInputError):
        [r async for r in bh.calibration.results()]


async def test_results_whole_batch_400_raises_validation_error(bh: Client) -> None:
    """The server's whole-request 400 surfaces as ValidationError with its message."""
    recorded = capture("37")
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(400, json=recorded["json"]))
        with pytest.raises(errors.ValidationError, match="not iterable"):
            [r async for r in bh.calibration.results([1])]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "sent"),
    [
        (
            "restart_by_id",
            "restart-calib-by-id",
            {"id_from": 1, "id_to": 9, "filter": "GaiaSP/V"},
            {"id_from": 1, "id_to": 9, "filter": "GaiaSP/V"},
        ),
        (
            "restart_by_target",
            "restart-calib-by-target",
            {"target_name": "Gaia22bpl", "mjd_min": 60000.0},
            {"target_name": "Gaia22bpl", "mjd_min": 60000.0},
        ),
        (
            "restart_by_dataproduct",
            "restart-calib-by-dataproduct",
            {"match_dist": 2.0},
            {"data_product_id": 42, "match_dist": 2.0},
        ),
    ],
)
async def test_restarts_send_fields_and_return_cpcs_answer(
    bh: Client, method: str, path: str, kwargs: dict[str, object], sent: dict[str, object]
) -> None:
    """Each restart posts its fields to its path and returns the CPCS answer inside Success."""
    args = (42,) if method == "restart_by_dataproduct" else ()
    with respx.mock:
        route = respx.post(f"{BASE_URL}/calibration/{path}/").mock(
            return_value=httpx.Response(200, json={"Success": {"restarted": 3}})
        )
        result = await getattr(bh.calibration, method)(*args, **kwargs)
    assert body(route.calls.last) == sent
    assert result == RestartResult(cpcs={"restarted": 3})


async def test_restart_non_admin_302_is_permission_denied(bh: Client) -> None:
    """The server's 302 to the login page for non-staff becomes PermissionDeniedError, sent once."""
    with respx.mock:
        route = respx.post(f"{BASE_URL}/calibration/restart-calib-by-id/").mock(
            return_value=httpx.Response(302, headers={"location": "/accounts/login/?next=/calibration/"})
        )
        with pytest.raises(errors.PermissionDeniedError):
            await bh.calibration.restart_by_id(id_from=1)
    assert route.call_count == 1


async def test_restart_by_target_needs_exactly_one_target(bh: Client) -> None:
    """restart_by_target refuses both or neither of target/target_id."""
    with pytest.raises(errors.InvalidInputError):
        await bh.calibration.restart_by_target(target="A", target_id=1)
    with pytest.raises(errors.InvalidInputError):
        await bh.calibration.restart_by_target()


async def test_calibrate_file_sends_multipart_to_upload_host(bh: Client, samples_dir: Path) -> None:
    """calibrate_file posts the file as `photometry_file` with ra/dec/no_plot to the upload service."""
    cat = samples_dir / "instrumental.cat"
    answer = {
        "status": "S",
        "mag": 14.1,
        "mag_error": -0.3,
        "plot": base64.b64encode(PNG).decode(),
        "zp": 23.0,
    }
    with respx.mock:
        route = respx.post(f"{UPLOAD_URL}/calibFile/").mock(return_value=httpx.Response(200, json=answer))
        result = await bh.calibration.calibrate_file(
            cat, ra=1.5, dec=-2.0, survey="GaiaSP", filter="V", plot=True
        )
    request = route.calls.last.request
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
    assert parts["photometry_file"].get_payload(decode=True) == cat.read_bytes()
    assert {
        k: parts[k].get_payload() for k in ("ra", "dec", "survey", "filter", "no_plot", "image_format")
    } == {
        "ra": "1.5",
        "dec": "-2.0",
        "survey": "GaiaSP",
        "filter": "V",
        "no_plot": "False",
        "image_format": "png",
    }
    assert isinstance(result, FileCalibration)
    assert (result.mag, result.is_limit, result.plot_png, result.extra) == (14.1, True, PNG, {"zp": 23.0})


def test_calibration_result_is_limit_property() -> None:
    """is_limit is true exactly for a negative error."""
    assert CalibrationResult(1, CalibrationStatus.SUCCESS, error=-0.1).is_limit
    assert not CalibrationResult(1, CalibrationStatus.SUCCESS, error=0.1).is_limit


async def test_results_missing_filename_is_pending_for_that_name(bh: Client) -> None:
    """ "File with name X does not exist" is reported PENDING under the name asked, after the ids."""
    items = [record(3), {"Error": "File with name nosuch does not exist"}]
    with respx.mock:
        route = respx.post(URL).mock(return_value=page(items))
        first, second = [r async for r in bh.calibration.results([3], ["nosuch"])]
    assert body(route.calls.last) == {"calibid": [3], "filename": ["nosuch"], "page": 1}
    assert (first.dataproduct_id, first.filename) == (3, None)
    assert (second.dataproduct_id, second.filename, second.status) == (
        None,
        "nosuch",
        CalibrationStatus.PENDING,
    )
