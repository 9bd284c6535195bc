"""`bh.uploads.upload_file` / `UploadsAPI`: the multipart request, the receipt, refusals and lost answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import respx

from bhtom_async import Client, UploadOptions, errors
from bhtom_async.models import UploadedFile, UploadReceipt

from ...conftest import UPLOAD_URL, fits_bytes
from ...helpers import form_of

pytestmark = pytest.mark.anyio
URL = UPLOAD_URL + "/upload/"
SUCCESS = {
    "Success": [{"file name:": "frame_0000.fits", "id": "1454270", "message": "Received plain FITS file."}]
}


@pytest.fixture
def frame(make_fits_tree: Callable[..., list[Path]]) -> Path:
    return make_fits_tree(1)[0]


async def test_upload_sends_multipart_fields_and_file(bh: Client, frame: Path) -> None:
    """All fields the server reads are sent: repeated observers, dry_run as "True", the file as `files`."""
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(201, json=SUCCESS))
        await bh.uploads.upload_file(
            frame,
            UploadOptions(
                target="Gaia22bpl",
                observatory="HarnessObs_HarnessCam",
                filter="GaiaSP/V",
                mjd=60827.9,
                observers=["alice", "bob"],
                comment="night 1",
                match_dist=2.0,
                dry_run=True,
            ),
        )
    request = route.calls.last.request
    fields, files = form_of(request)
    assert request.url.path == "/upload/"
    assert request.headers["authorization"].startswith("Token ")
    assert fields == [
        ("target", "Gaia22bpl"),
        ("data_product_type", "fits_file"),
        ("observatory", "HarnessObs_HarnessCam"),
        ("filter", "GaiaSP/V"),
        ("dry_run", "True"),
        ("mjd", "60827.9"),
        ("observers", "alice"),
        ("observers", "bob"),
        ("comment", "night 1"),
        ("match_dist", "2.0"),
    ]
    assert files == [("files", "frame_0000.fits", frame.read_bytes())]


async def test_upload_omits_unset_fields_and_sends_dry_run_false(bh: Client, frame: Path) -> None:
    """Optional fields left None are not sent; dry_run is always the string "False"/"True"."""
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(201, json=SUCCESS))
        await bh.uploads.upload_file(
            frame, UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
        )
    fields, _ = form_of(route.calls.last.request)
    assert dict(fields) == {
        "target": "Gaia22bpl",
        "data_product_type": "fits_file",
        "observatory": "HarnessObs_HarnessCam",
        "dry_run": "False",
    }


async def test_upload_returns_receipt_with_int_ids(bh: Client, frame: Path) -> None:
    """The 201 answer becomes an UploadReceipt; the string id becomes an int."""
    with respx.mock:
        respx.post(URL).mock(
            return_value=httpx.Response(201, json=SUCCESS, headers={"content-type": "text/html"})
        )
        receipt = await bh.uploads.upload_file(
            frame, UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam", dry_run=True)
        )
    assert receipt == UploadReceipt(
        files=(
            UploadedFile(
                filename="frame_0000.fits",
                id=1454270,
                message="Received plain FITS file.",
                dry_run=True,
                local_name="frame_0000.fits",
            ),
        ),
        dry_run=True,
    )
    assert receipt.ids == (1454270,)


async def test_upload_several_files_in_one_request(
    bh: Client, make_fits_tree: Callable[..., list[Path]]
) -> None:
    """A sequence of paths goes as several `files` parts of one request."""
    paths = make_fits_tree(2)
    answer = {
        "Success": [{"file name:": p.name, "id": str(10 + i), "message": "ok"} for i, p in enumerate(paths)]
    }
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(201, json=answer))
        receipt = await bh.uploads.upload_file(
            paths, UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
        )
    _, files = form_of(route.calls.last.request)
    assert [f[:2] for f in files] == [("files", "frame_0000.fits"), ("files", "frame_0001.fits")]
    assert receipt.ids == (10, 11)


async def test_upload_missing_target_raises_target_not_found(bh: Client, frame: Path) -> None:
    """400 non_field_errors "Target 'XYZ' does not exist." becomes TargetNotFoundError."""
    body = {"non_field_errors": ["Target 'XYZ' does not exist."]}
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(400, json=body))
        with pytest.raises(errors.TargetNotFoundError) as caught:
            await bh.uploads.upload_file(
                frame, UploadOptions(target="XYZ", observatory="HarnessObs_HarnessCam")
            )
    assert caught.value.target == "XYZ"
    assert caught.value.status == 400


async def test_upload_camera_not_in_favourites_hints_add_favourite(bh: Client, frame: Path) -> None:
    """The "not on your list" refusal is a ValidationError whose hint names add_favourite(oname=...)."""
    body = {"non_field_errors": ["Observatory with camera doesn't exist on your list"]}
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(400, json=body))
        with pytest.raises(errors.ValidationError) as caught:
            await bh.uploads.upload_file(frame, UploadOptions(target="Gaia22bpl", observatory="Other_Cam"))
    assert "bh.observatories.add_favourite(oname='Other_Cam')" in (caught.value.hint or "")


async def test_upload_lost_answer_raises_outcome_unknown_without_resending(bh: Client, frame: Path) -> None:
    """A read timeout after the body was sent raises UploadOutcomeUnknown and is not retried."""
    with respx.mock:
        route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(errors.UploadOutcomeUnknown) as caught:
            await bh.uploads.upload_file(
                frame, UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
            )
    assert route.call_count == 1
    assert caught.value.filename == "frame_0000.fits"
    assert isinstance(caught.value.cause, errors.APITimeoutError)


async def test_upload_connect_error_is_retried(bh: Client, frame: Path) -> None:
    """A connect error (nothing sent) is retried, and the retried body is complete."""
    with respx.mock:
        route = respx.post(URL).mock(
            side_effect=[httpx.ConnectError("refused"), httpx.Response(201, json=SUCCESS)]
        )
        receipt = await bh.uploads.upload_file(
            frame, UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
        )
    assert route.call_count == 2
    assert form_of(route.calls.last.request)[1][0][2] == frame.read_bytes()
    assert receipt.ids == (1454270,)


async def test_upload_200_without_success_is_a_decode_error(bh: Client, frame: Path) -> None:
    """Only 201 with a Success list counts as success."""
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, json={"detail": "?"}))
        with pytest.raises(errors.ResponseDecodeError):
            await bh.uploads.upload_file(
                frame, UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
            )


async def test_photometry_upload_needs_mjd(bh: Client, samples_dir: Path) -> None:
    """A photometry upload without mjd is refused before anything is sent."""
    with respx.mock:
        route = respx.post(URL)
        with pytest.raises(errors.InvalidInputError, match="mjd"):
            await bh.uploads.upload_file(
                samples_dir / "instrumental.cat",
                UploadOptions(target="Gaia22bpl", observatory="C", data_product_type="photometry"),
            )
    assert route.call_count == 0


async def test_photometry_upload_takes_one_file(bh: Client, samples_dir: Path) -> None:
    """A photometry upload with two files is refused before sending."""
    cat = samples_dir / "instrumental.cat"
    with pytest.raises(errors.InvalidInputError, match="exactly one"):
        await bh.uploads.upload_file(
            [cat, cat],
            UploadOptions(target="T", observatory="C", data_product_type="photometry", mjd=60000.0),
        )


async def test_photometry_upload_sends_catalogue(bh: Client, samples_dir: Path) -> None:
    """A catalogue goes as photometry with mjd (no FITS check applies)."""
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(201, json=SUCCESS))
        await bh.uploads.upload_file(
            samples_dir / "instrumental.cat",
            UploadOptions(target="T", observatory="C", data_product_type="photometry", mjd=60000.5),
        )
    fields, files = form_of(route.calls.last.request)
    assert ("data_product_type", "photometry") in fields
    assert ("mjd", "60000.5") in fields
    assert files[0][1] == "instrumental.cat"


async def test_upload_refuses_non_fits(bh: Client, tmp_path: Path) -> None:
    """A fits_file upload whose file lacks the FITS magic is refused before sending."""
    path = tmp_path / "x.fits"
    path.write_bytes(b"\x1f\x8b compressed")
    with pytest.raises(errors.InvalidInputError, match="not a FITS"):
        await bh.uploads.upload_file(path, UploadOptions(target="T", observatory="C"))


async def test_upload_refuses_missing_and_empty_files(bh: Client, tmp_path: Path) -> None:
    """Missing and empty files are refused before sending."""
    with pytest.raises(errors.InvalidInputError, match="does not exist"):
        await bh.uploads.upload_file(tmp_path / "nope.fits", UploadOptions(target="T", observatory="C"))
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    with pytest.raises(errors.InvalidInputError, match="empty"):
        await bh.uploads.upload_file(empty, UploadOptions(target="T", observatory="C"))


async def test_prepare_and_send_report_sha256(bh: Client, tmp_path: Path) -> None:
    """The lower-level prepare/send pair uploads a prebuilt body and records each file's sha256."""
    import hashlib

    path = tmp_path / "a.fits"
    path.write_bytes(fits_bytes(7))
    prepared = await bh.uploads.prepare(path, UploadOptions(target="T", observatory="C"))
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(201, json=SUCCESS))
        await bh.uploads.send(prepared)
    assert prepared.body.sha256 == {"a.fits": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert prepared.filenames == ("a.fits",)


async def test_upload_gateway_timeout_is_outcome_unknown(bh: Client, frame: Path) -> None:
    """A 504 from a gateway after the body went out is UploadOutcomeUnknown, not a plain error."""
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(504, text="<h1>Gateway Timeout</h1>"))
        with pytest.raises(errors.UploadOutcomeUnknown):
            await bh.uploads.upload_file(
                frame, UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
            )
    assert route.call_count == 1


async def test_receipt_maps_prefixed_names_to_local_files(
    bh: Client, make_fits_tree: Callable[..., list[Path]]
) -> None:
    """Stored names with the server's numeric prefix are matched back to the files sent."""
    paths = make_fits_tree(2)
    answer = {
        "Success": [
            {"file name:": f"{400 + i}_{p.name}", "id": str(i), "message": "ok"} for i, p in enumerate(paths)
        ]
    }
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(201, json=answer))
        receipt = await bh.uploads.upload_file(paths, UploadOptions(target="T", observatory="C"))
    assert [(f.filename, f.local_name) for f in receipt.files] == [
        ("400_frame_0000.fits", "frame_0000.fits"),
        ("401_frame_0001.fits", "frame_0001.fits"),
    ]


async def test_check_access_asks_with_a_get_and_returns_the_405_of_an_accepted_token(bh: Client) -> None:
    """`check_access` sends GET /upload/ with the token and no file; an accepted token gets 405."""
    with respx.mock:
        route = respx.get(URL).mock(
            return_value=httpx.Response(405, json={"detail": 'Method "GET" not allowed.'})
        )
        assert await bh.uploads.check_access() == 405
    request = route.calls.last.request
    assert request.headers["authorization"].startswith("Token ")
    assert request.content == b"{}"  # the builder's empty JSON body: no file, no form


async def test_check_access_raises_for_a_refused_token(bh: Client) -> None:
    """A 401 from the upload service is an AuthenticationError (nothing was uploaded)."""
    with respx.mock:
        respx.get(URL).mock(return_value=httpx.Response(401, json={"detail": "Invalid token."}))
        with pytest.raises(errors.AuthenticationError):
            await bh.uploads.check_access()
