"""Upload service and main-host proxy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from bhtom_async.emulator import Emulator

from .conftest import SAMPLES, fits_frame, upload, wait_status

Client = Callable[..., httpx.Client]


def test_success_shape(client: Client, emu: Emulator) -> None:
    """201 {"Success": [...]}, "file name:" key, string id, numeric prefix, stored once."""
    frame = fits_frame()
    r = upload(client(upload=True), [("night1.fits", frame)])
    assert r.status_code == 201
    (entry,) = r.json()["Success"]
    assert list(entry) == ["file name:", "id", "message"]
    assert isinstance(entry["id"], str)
    assert entry["message"] == "Received plain FITS file."
    prefix, _, rest = entry["file name:"].partition("_")
    assert prefix.isdigit()
    assert rest == "night1.fits"
    (stored,) = emu.state.dataproducts_by_sha256(hashlib.sha256(frame).hexdigest())
    assert (
        stored.id,
        stored.file_name,
        stored.size,
        stored.user,
        stored.target,
        stored.observatory,
        stored.dry_run,
    ) == (int(entry["id"]), "night1.fits", len(frame), "alice", "Gaia22bpl", "HarnessObs_HarnessCam", False)
    assert emu.state.request_count("POST", "/upload/") == 1


def test_several_files_and_file_n_parts(client: Client) -> None:
    """File parts named 'files' (repeated) or 'file_0..file_N'; one entry per file."""
    c = client(upload=True)
    r = c.post(
        "/upload/",
        data={"target": "Gaia22bpl", "observatory": "HarnessObs_HarnessCam"},
        files=[("file_0", ("a.fits", fits_frame())), ("file_1", ("b.fits", fits_frame()))],
    )
    assert r.status_code == 201
    assert [e["file name:"].split("_", 1)[1] for e in r.json()["Success"]] == ["a.fits", "b.fits"]
    ids = [int(e["id"]) for e in r.json()["Success"]]
    assert ids[1] == ids[0] + 1


@pytest.mark.parametrize(
    ("fields", "files", "expected"),
    [
        ({"target": "XYZ"}, None, {"non_field_errors": ["Target 'XYZ' does not exist."]}),
        (
            {"observatory": "ROAD_QHY600M"},
            None,
            {"non_field_errors": ["Observatory with camera doesn't exist on your list"]},
        ),
        (
            {"observatory": "ROAD_OldCCD"},
            None,
            {"non_field_errors": ["Observatory with camera doesn't exist on your list"]},
        ),
        ({"observatory": "CalibObs_CalibCam"}, None, "calibration only"),
        ({"data_product_type": "photometry"}, [("x.cat", b"1 2 3\n")], "mjd is required"),
        (
            {"data_product_type": "photometry", "mjd": "60000.5"},
            [("x.cat", b"1 2 3\n"), ("y.cat", b"1 2 3\n")],
            "exactly one file",
        ),
        ({}, [("notes.txt", b"hello world")], "is not a FITS file"),
        ({}, [("frame.fits.gz", b"\x1f\x8b\x08\x00" + bytes(100))], "is not a FITS file"),
        ({"observers": "ghost"}, None, {"non_field_errors": ["Observer(s) do not exist: ghost"]}),
        ({"data_product_type": "raw"}, None, {"data_product_type": ['"raw" is not a valid choice.']}),
        ({"mjd": "yesterday"}, None, {"mjd": ["A valid number is required."]}),
    ],
)
def test_preconditions(
    client: Client,
    emu: Emulator,
    fields: dict[str, str],
    files: list[tuple[str, bytes]] | None,
    expected: Any,
) -> None:
    """Target exists, camera active and favourited, photometry rules, FITS magic."""
    r = upload(client(upload=True), files or [("f.fits", fits_frame())], **fields)
    assert r.status_code == 400
    if isinstance(expected, str):
        assert expected in r.json()["non_field_errors"][0]
    else:
        assert r.json() == expected
    assert emu.state.dataproducts() == [p for p in emu.state.dataproducts() if p.id == 1]


def test_token_checks(client: Client) -> None:
    """Bad token -> 401 Invalid token; no token -> 401 not provided."""
    r = upload(
        client(None, upload=True, headers={"Authorization": "Token " + "a" * 40}), [("f.fits", fits_frame())]
    )
    assert (r.status_code, r.json()) == (401, {"detail": "Invalid token."})
    r = upload(client(None, upload=True), [("f.fits", fits_frame())])
    assert (r.status_code, r.json()) == (401, {"detail": "Authentication credentials were not provided."})


@pytest.mark.parametrize("flag", ["True", "true", "1"])
def test_dry_run_stores_nothing(client: Client, emu: Emulator, flag: str) -> None:
    """A dry run answers like a real upload but nothing becomes visible."""
    r = upload(client(upload=True), [("dry.fits", fits_frame())], dry_run=flag)
    assert r.status_code == 201
    ident = int(r.json()["Success"][0]["id"])
    c = client()
    assert c.post("/common/api/data/", json={"id": ident}).json()["count"] == 0
    (info,) = emu.state.dataproducts_by_file_name("dry.fits")
    assert (info.id, info.dry_run, info.status) == (ident, True, "dry_run")


def test_observers_forms(client: Client) -> None:
    """Observers as a repeated field, a JSON list string or a comma string."""
    c = client(upload=True)
    frame = [("f.fits", fits_frame())]
    ids = []
    for observers in (["alice", "bob"], '["alice", "bob"]', "alice,bob"):
        r = upload(c, frame, observers=observers)
        assert r.status_code == 201, r.text
        ids.append(int(r.json()["Success"][0]["id"]))
    for ident in ids:
        item = client().post("/common/api/data/", json={"id": ident}).json()["data"][0]
        assert item["observers"] == ["alice", "bob"]


def test_proxy_forwards_only_files_parts(client: Client) -> None:
    """The main-host proxy answers text/html, drops file_N parts, collapses fields."""
    c = client()
    data = {"target": "Gaia22bpl", "observatory": "HarnessObs_HarnessCam", "observers": ["ghost", "bob"]}
    r = c.post("/dataproducts/upload/", data=data, files=[("files", ("p.fits", fits_frame()))])
    assert r.status_code == 201
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    ident = int(json.loads(r.text)["Success"][0]["id"])
    item = c.post("/common/api/data/", json={"id": ident}).json()["data"][0]
    assert item["observers"] == ["bob"]  # the repeated field kept its last value only
    r = c.post("/dataproducts/upload/", data=data, files=[("file_0", ("p.fits", fits_frame()))])
    assert r.status_code == 400
    assert "No files" in json.loads(r.text)["non_field_errors"][0]
    r = client(None).post("/dataproducts/upload/", data=data, files=[("files", ("p.fits", fits_frame()))])
    assert (r.status_code, json.loads(r.text)) == (
        401,
        {"detail": "Authentication credentials were not provided."},
    )


def test_photometry_csv_upload_becomes_points(client: Client) -> None:
    """photometry_csv with free-text observatory; rows (limits too) become datums."""
    content = (SAMPLES / "photometry_upload.csv").read_bytes()
    r = upload(
        client(upload=True),
        [("lc.csv", content)],
        data_product_type="photometry_csv",
        observatory="Obs; with semicolon",
    )
    assert r.status_code == 201
    ident = int(r.json()["Success"][0]["id"])
    c = client()
    assert wait_status(c, ident) == "S"
    datums = [
        d
        for d in c.post("/common/api/reducedDatum/", json={"target_name": "Gaia22bpl"}).json()["data"]
        if d["data_product"] == ident
    ]
    assert len(datums) == content.count(b"\n") - 1
    assert any(d["error"] < 0 for d in datums)
    csv_text = c.post("/targets/download-photometry/", json={"name": "Gaia22bpl"}).text
    assert '"Obs; with semicolon"' in csv_text  # fields holding ';' are quoted


def test_photometry_catalogue_upload(client: Client) -> None:
    """A SExtractor catalogue with mjd is calibrated at that mjd."""
    content = (SAMPLES / "instrumental.cat").read_bytes()
    r = upload(client(upload=True), [("inst.cat", content)], data_product_type="photometry", mjd="60827.5")
    assert r.status_code == 201
    ident = int(r.json()["Success"][0]["id"])
    assert r.json()["Success"][0]["message"] == "Received photometry file."
    c = client()
    assert wait_status(c, ident) == "S"
    item = c.post("/calibration/get-calibration-res/", json={"calibid": [ident]}).json()
    assert item["data"][0]["mjd"] == 60827.5
    assert "ccdphot_results" not in item["data"][0]


def test_calib_file(client: Client) -> None:
    """Never verified against the real service: multipart photometry_file -> a calibration-like object."""
    content = (SAMPLES / "instrumental.cat").read_bytes()
    c = client(upload=True)
    r = c.post(
        "/calibFile/",
        data={
            "ra": "318.737",
            "dec": "-55.872",
            "match_dist": "2",
            "survey": "GaiaSP",
            "filter": "V",
            "no_plot": "False",
        },
        files={"photometry_file": ("inst.cat", content)},
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["best_filter"], body["survey"]) == ("S", "V", "GaiaSP")
    assert body["calibration_plot"].startswith("data:image/png;base64,")
    r = c.post("/calibFile/", data={"ra": "1"}, files={"other": ("x", b"1")})
    assert (r.status_code, r.json()) == (400, {"photometry_file": ["No file was submitted."]})


def test_upload_host_paths(client: Client) -> None:
    """The upload host serves /upload/ and /calibFile/ only; slashless POST -> 301."""
    c = client(upload=True)
    assert c.post("/upload", data={}).status_code == 301
    assert c.post("/targets/getTargetList/", json={}).status_code == 404
    assert c.get("/upload/").status_code == 405


@pytest.mark.anyio
async def test_client_abort_mid_body_leaves_nothing_behind(emu: Emulator) -> None:
    """A client that dies mid-upload stores nothing and leaves no temporary file."""

    class Boom(Exception):
        pass

    async def body() -> Any:
        yield (
            b'--b\r\nContent-Disposition: form-data; name="files"; filename="x.fits"'
            b"\r\n\r\nSIMPLE  =                    T"
        )
        yield bytes(3 << 20)
        raise Boom

    auth = {"Authorization": f"Token {emu.tokens['alice']}"}
    async with httpx.AsyncClient(base_url=emu.upload_url, headers=auth) as c:
        with pytest.raises(Boom):
            await c.post(
                "/upload/", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"}
            )
        r = await c.post(
            "/upload/",
            data={"target": "Gaia22bpl", "observatory": "HarnessObs_HarnessCam"},
            files={"files": ("ok.fits", fits_frame())},
        )
    assert r.status_code == 201
    incoming = emu._require_state().files_dir / ".incoming"
    for _ in range(50):
        if not any(incoming.iterdir()):
            break
        await anyio.sleep(0.02)
    assert not any(incoming.iterdir())
    assert [p.file_name for p in emu.state.dataproducts()] == ["harness_phot_1.csv", "ok.fits"]
