"""`bhtom results --journal`: the night just uploaded, every file with its name, id and calibration."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from click.testing import Result

from ..conftest import fits_bytes
from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

Run = Callable[..., Result]
AsUser = Callable[[str], None]
CAMERA = "HarnessObs_HarnessCam"


def _upload_night(run_cli: Run, tmp_path: Path, n: int, *extra: str) -> tuple[Path, Result]:
    night = tmp_path / "night"
    night.mkdir()
    for i in range(n):
        (night / f"frame_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    journal = tmp_path / "night.sqlite3"
    result = run_cli(
        "--json", "upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA,
        "--settle", "0", "--journal", str(journal), *extra,
    )  # fmt: skip
    return journal, result


def test_results_of_a_journal_list_every_file_with_name_id_and_calibration(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """After a night's upload, `results --journal --wait` shows each frame's name, id and magnitude."""
    as_user("alice")
    journal, uploaded = _upload_night(run_cli, tmp_path, 3)
    ids = {Path(f["path"]).name: f["data_product_id"] for f in parse_json(uploaded.stdout)["files"]}
    table = run_cli(
        "results", "--journal", str(journal), "--wait", "--poll-interval", "0.1", "--timeout", "20"
    )
    assert table.exit_code == 0, table.output
    header, _rule, *rows = table.stdout.splitlines()
    assert header.split() == ["file", "id", "upload", "calibration", "MJD", "filter", "mag", "err", "note"]
    cells = [row.split() for row in rows]
    assert [(c[0], int(c[1]), c[2], c[3]) for c in cells] == [
        (name, ids[name], "uploaded", "success") for name in sorted(ids)
    ]
    assert all(float(c[6]) > 0 for c in cells)  # a magnitude for each


def test_results_of_a_journal_as_json_include_failed_uploads(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path, no_backoff: None
) -> None:
    """A frame whose upload failed is listed too, with its state, its reason and no calibration."""
    as_user("alice")
    emu.add_fault("upload:/upload/:error=500:after=2")
    journal, uploaded = _upload_night(run_cli, tmp_path, 3, "--max-attempts", "1")
    assert uploaded.exit_code == 1
    emu.clear_faults()
    result = run_cli("results", "--journal", str(journal), "--json")
    assert result.exit_code == 0, result.output
    items = parse_json(result.stdout)
    assert [i["file"] for i in items] == ["frame_0.fits", "frame_1.fits", "frame_2.fits"]
    states = sorted(i["upload_state"] for i in items)
    assert states == ["failed", "uploaded", "uploaded"]
    (failed,) = [i for i in items if i["upload_state"] == "failed"]
    assert (failed["data_product_id"], failed["calibration"]) == (None, None)
    assert "500" in failed["upload_reason"]
    for item in items:
        if item["upload_state"] == "uploaded":
            assert item["calibration"]["dataproduct_id"] == item["data_product_id"]
            assert item["calibration"]["filename"] == item["file"]


def test_results_by_id_take_the_file_name_from_the_default_journal(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """`results ID` fills the `file` column from the journal that knows the id (no more blanks)."""
    as_user("alice")
    night = tmp_path / "night"
    night.mkdir()
    (night / "m31_0001.fits").write_bytes(fits_bytes(7))
    upload = run_cli(
        "--json", "upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA, "--settle", "0"
    )
    (dp_id,) = parse_json(upload.stdout)["ids"]
    (item,) = parse_json(run_cli("results", str(dp_id), "--json").stdout)
    assert (item["dataproduct_id"], item["filename"]) == (dp_id, "m31_0001.fits")


def test_results_need_ids_names_or_a_journal(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """Nothing to look up is a one-line usage error; a missing journal file is too."""
    as_user("alice")
    nothing = run_cli("results")
    assert nothing.exit_code == 2
    assert "--journal FILE" in nothing.stderr
    missing = run_cli("results", "--journal", str(tmp_path / "nope.sqlite3"))
    assert missing.exit_code == 2
    assert missing.stderr.count("\n") == 1
