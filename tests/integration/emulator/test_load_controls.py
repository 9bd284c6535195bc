"""Controls for load tests and benchmarks: bulk seeding, scattered calibration, a compressed clock."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from bhtom_async.emulator import Emulator
from bhtom_async.emulator.calibration import spread_share
from bhtom_async.emulator.records import DataProduct

from .conftest import fits_frame, upload, wait_status

Client = Callable[..., httpx.Client]
LIST = "/targets/getTargetList/"
RES = "/calibration/get-calibration-res/"


def _product(ident: int, sha: str) -> DataProduct:
    return DataProduct(ident, 1, 3, "fits_file", "x.fits", "x.fits", sha, 1, 0.0, 0.0)


def test_spread_share_is_fixed_per_product_and_varies_between_products() -> None:
    """spread_share depends only on content hash and id: repeatable, different across ids."""
    shares = [spread_share(_product(ident, "ab" * 32)) for ident in range(1, 41)]
    assert shares == [spread_share(_product(ident, "ab" * 32)) for ident in range(1, 41)]
    assert all(0.0 <= share < 1.0 for share in shares)
    assert len(set(shares)) == 40
    assert min(shares) < 0.25
    assert max(shares) > 0.75


def test_calibration_spread_scatters_finish_times_within_bounds(client: Client, emu: Emulator) -> None:
    """calibration.spread=S: each product finishes at delays + its own share of S seconds."""
    emu.calibration.delays = (10.0, 10.0)
    emu.calibration.spread = 100.0
    before = emu.now()
    frames = [(f"f{i}.fits", fits_frame({"OBJECT": "Gaia22bpl", "MJD-OBS": 60000.0 + i})) for i in range(6)]
    assert upload(client(upload=True), frames).status_code == 201
    after = emu.now()
    finishes = [p.calibrated_at for p in emu.state.dataproducts() if p.file_name.startswith("f")]
    assert len(finishes) == 6
    assert all(f is not None and before + 20.0 <= f < after + 120.0 for f in finishes)
    assert max(f for f in finishes if f is not None) - min(f for f in finishes if f is not None) > 1.0


def test_no_spread_keeps_one_timeline(client: Client, emu: Emulator) -> None:
    """With spread 0 (the default) every product of one upload finishes at the same moment."""
    emu.calibration.delays = (10.0, 10.0)
    frames = [(f"g{i}.fits", fits_frame({"OBJECT": "Gaia22bpl", "MJD-OBS": 60000.0 + i})) for i in range(3)]
    assert upload(client(upload=True), frames).status_code == 201
    finishes = {p.calibrated_at for p in emu.state.dataproducts() if p.file_name.startswith("g")}
    assert len(finishes) == 1


def test_time_scale_runs_calibration_on_a_compressed_clock() -> None:
    """time_scale=200: a 10 s calibration ends within a fraction of a real second."""
    with Emulator(calibration_delays=(5.0, 5.0), time_scale=200.0) as emu:
        headers = {"Authorization": f"Token {emu.tokens['alice']}"}
        with httpx.Client(base_url=emu.upload_url, headers=headers, timeout=10) as up:
            r = upload(up, [("frame.fits", fits_frame())])
        assert r.status_code == 201
        ident = int(r.json()["Success"][0]["id"])
        with httpx.Client(base_url=emu.base_url, headers=headers, timeout=10) as main:
            # wait_status gives up after 5 real seconds, half the unscaled calibration time.
            assert wait_status(main, ident) == "S"
        assert emu.now() > time.time() + 1.0


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_time_scale_must_be_positive(scale: float) -> None:
    """A zero or negative time_scale is refused with a ValueError naming it."""
    with pytest.raises(ValueError, match="time_scale"):
        Emulator(time_scale=scale)


def test_add_targets_fills_pages_in_order(client: Client, emu: Emulator) -> None:
    """add_targets(450): the list grows to 453 rows on 3 pages, bulk targets after the seeded ones."""
    names = emu.add_targets(450, prefix="Load")
    assert names[0] == "Load00001"
    assert names[-1] == "Load00450"
    c = client()
    first = c.post(LIST, json={}).json()
    assert (first["count"], first["num_pages"]) == (453, 3)
    second = c.post(LIST, json={"page": 2}).json()["data"]
    assert [t["name"] for t in second] == names[197:397]
    third = c.post(LIST, json={"page": 3}).json()["data"]
    assert [t["name"] for t in third] == names[397:]


def test_add_targets_refuses_a_taken_name(emu: Emulator) -> None:
    """A second add_targets with the same prefix raises ValueError naming the clash."""
    emu.add_targets(2, prefix="Twice")
    with pytest.raises(ValueError, match="Twice00001"):
        emu.add_targets(2, prefix="Twice")


def test_add_dataproducts_calibrate_like_uploads(client: Client, emu: Emulator) -> None:
    """add_dataproducts(3): alice's new FITS products, visible to get-calibration-res, end in S."""
    emu.calibration.delays = (0.05, 0.05)
    ids = emu.add_dataproducts(3)
    assert len(set(ids)) == 3
    infos = {p.id: p for p in emu.state.dataproducts()}
    assert all(infos[i].user == "alice" and infos[i].target == "Gaia22bpl" for i in ids)
    assert len({infos[i].sha256 for i in ids}) == 3
    c = client()
    deadline = time.monotonic() + 5
    while True:
        items = c.post(RES, json={"calibid": ids}).json()["data"]
        if all(item.get("status") == "S" for item in items) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert [item["status"] for item in items] == ["S", "S", "S"]
    assert all(item["ccdphot_results"]["status"] == "D" for item in items)


def test_add_dataproducts_names_what_is_unknown(emu: Emulator) -> None:
    """An unknown target or ONAME raises ValueError that names it."""
    with pytest.raises(ValueError, match="target 'NoSuchStar'"):
        emu.add_dataproducts(1, target="NoSuchStar")
    with pytest.raises(ValueError, match="camera ONAME 'Nope_Cam'"):
        emu.add_dataproducts(1, observatory="Nope_Cam")
