"""The emulator holds rows like the real database and answers them as the real serializers do."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bhtom_async.emulator import Emulator
from bhtom_async.emulator.__main__ import _parser


def _item(data: list[dict[str, object]], **match: object) -> dict[str, object]:
    return next(row for row in data if all(row.get(k) == v for k, v in match.items()))


def test_seed_dirty_flag_seeds_the_rows_and_reset_keeps_them() -> None:
    """`Emulator(seed_dirty=True)` starts with the dirty targets, and reset() brings them back."""
    with Emulator(seed_dirty=True) as emu:
        assert emu.state.target_names()[3:] == ["Null;Flags", ".", "..", "Łódź☄2024", "NaN;Phot"]
        emu.reset()
        assert len(emu.state.target_names()) == 8


def test_command_line_has_a_seed_dirty_option() -> None:
    """`python -m bhtom_async.emulator --seed-dirty` turns the dirty seed on (off by default)."""
    assert _parser().parse_args(["--seed-dirty"]).seed_dirty is True
    assert _parser().parse_args([]).seed_dirty is False


def test_null_flags_render_as_json_null(emu: Emulator, client: Callable[..., httpx.Client]) -> None:
    """A NULL has_optical is `null` in getTargetList's Django fields, and a hasOptical filter skips it."""
    emu.seed_dirty()
    data = client().post("/targets/getTargetList/", json={"name": "Null;Flags"}).json()["data"]
    assert (data[0]["has_optical"], data[0]["has_infrared"]) == (None, False)
    only_true = client().post("/targets/getTargetList/", json={"hasOptical": True}).json()["data"]
    assert "Null;Flags" not in [row["name"] for row in only_true]


def test_reduced_datum_arrays_and_observers_are_sent_as_stored(
    emu: Emulator, client: Callable[..., httpx.Client]
) -> None:
    """NULL arrays are null, NULL elements are null, observers are objects, a string or null."""
    emu.seed_dirty()
    data = client().post("/common/api/reducedDatum/", json={"target_name": "Null;Flags"}).json()["data"]
    assert _item(data, mjd=60100.1)["value_list"] is None
    assert _item(data, mjd=60100.1)["observers"] == [{"id": 3}]
    assert _item(data, mjd=60100.2)["error_list"] == [0.1, None]
    assert _item(data, mjd=60100.2)["observers"] == "alice bob"
    assert _item(data, mjd=60100.3)["observers"] is None
    assert _item(data, mjd=60100.3)["wavelengths"] == [None, 500.0]


def test_empty_status_letter_is_sent_as_is(emu: Emulator, client: Callable[..., httpx.Client]) -> None:
    """A calibration record holding status "" answers with "" (and the product's status too)."""
    emu.seed_dirty()
    (record,) = client().post("/calibration/get-calibration-res/", json={"calibid": [3]}).json()["data"]
    assert (record["dataproduct"], record["status"]) == (3, "")
    product = client().post("/common/api/data/", json={"id": 3}).json()["data"][0]
    assert (product["status"], product["observers"]) == ("", "alice bob")


def test_nan_photometry_is_written_as_empty_cells(emu: Emulator, client: Callable[..., httpx.Client]) -> None:
    """pandas writes NaN as an empty cell and sorts a NaN MJD last; the name keeps its `;` in quotes."""
    emu.seed_dirty()
    answer = client().post("/targets/download-photometry/", json={"name": "NaN;Phot"})
    assert answer.headers["content-disposition"] == 'attachment; filename="target_NaN;Phot_photometry.csv"'
    rows = answer.text.splitlines()
    assert rows[2] == "60200.2;;0.03;ROAD;V(GaiaSP);alice"
    assert rows[3] == "60200.3;16.3;;ROAD;V(GaiaSP);alice"
    assert rows[4] == ";16.4;0.03;ROAD;V(GaiaSP);alice"


def test_non_ascii_attachment_name_uses_rfc5987(emu: Emulator, client: Callable[..., httpx.Client]) -> None:
    """A non-ASCII file name is sent as Django does: `filename*=utf-8''` and percent-encoding."""
    emu.seed_dirty()
    answer = client().post("/targets/download-photometry/", json={"name": "Łódź☄2024"})
    assert answer.headers["content-disposition"] == (
        "attachment; filename*=utf-8''target_%C5%81%C3%B3d%C5%BA%E2%98%842024_photometry.csv"
    )


def test_dot_segments_escaped_reach_the_dot_named_target(
    emu: Emulator, client: Callable[..., httpx.Client]
) -> None:
    """PATCH /targets/updateTarget/%2E%2E/ updates the target named `..`."""
    emu.seed_dirty()
    answer = client().patch("/targets/updateTarget/%2E%2E/", json={"importance": 2.5})
    assert answer.status_code == 201
    (row,) = client().post("/targets/getTargetList/", json={"name": ".."}).json()["data"]
    assert row["importance"] == 2.5


def test_state_api_stores_any_row_over_http(emu: Emulator) -> None:
    """POST /_emulator/rows inserts a row as given; a bad field answers 400 naming it."""
    with httpx.Client(base_url=emu.base_url, timeout=10.0) as plain:
        made = plain.post(
            "/_emulator/rows",
            json={"kind": "target", "fields": {"name": "Odd", "ra": 1.0, "dec": 2.0, "has_gamma": None}},
        )
        bad = plain.post("/_emulator/rows", json={"kind": "target", "fields": {"nonsense": 1}})
        seeded = plain.post("/_emulator/seed-dirty")
    assert made.status_code == 200
    assert made.json()["kind"] == "target"
    assert bad.status_code == 400
    assert "nonsense" in bad.json()["error"]
    assert seeded.json() == {"seeded": "dirty"}
    names = emu.state.target_names()
    assert "Odd" in names
    assert "Null;Flags" in names


def test_nan_in_a_reduced_datum_list_is_the_html_500(
    emu: Emulator, client: Callable[..., httpx.Client]
) -> None:
    """DRF refuses NaN in JSON, so a target with a NaN point cannot list its reduced datums."""
    emu.seed_dirty()
    answer = client().post("/common/api/reducedDatum/", json={"target_name": "NaN;Phot"})
    assert (answer.status_code, answer.headers["content-type"]) == (500, "text/html")
