"""Each `bhtom` command against the emulator: output, `--json`, and exit codes."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import Result

from bhtom_async._config import config_file_path, read_config_file

from ..conftest import fits_bytes
from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

Run = Callable[..., Result]
AsUser = Callable[[str], None]
CAMERA = "HarnessObs_HarnessCam"


def _night(tmp_path: Path, n: int = 3) -> Path:
    folder = tmp_path / "night"
    folder.mkdir()
    for i in range(n):
        (folder / f"frame_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    return folder


def test_login_stores_the_token_privately(run_cli: Run, emu: Emulator) -> None:
    """`bhtom login` prompts for the password and writes token and URL to a 0600 config file."""
    result = run_cli("--base-url", emu.base_url, "login", "-u", "alice", input=emu.passwords["alice"] + "\n")
    assert result.exit_code == 0, result.output
    path = config_file_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = read_config_file(path)
    assert stored["token"] == emu.tokens["alice"]
    assert stored["base_url"] == emu.base_url
    assert emu.tokens["alice"] not in result.output


def test_login_with_a_wrong_password_exits_3(run_cli: Run, emu: Emulator) -> None:
    """Refused credentials are fatal (exit 3) with a hint and no traceback."""
    result = run_cli("--base-url", emu.base_url, "login", "-u", "alice", "--password-stdin", input="nope\n")
    assert result.exit_code == 3
    assert "hint:" in result.stderr
    assert "Traceback" not in result.output


def test_bad_token_exits_3(run_cli: Run, emu: Emulator, as_user: AsUser) -> None:
    """A refused token is fatal: exit 3 with one or two lines on stderr."""
    as_user("alice")
    result = run_cli("--token", "0" * 40, "targets", "list")
    assert result.exit_code == 3
    # The first line warns about --token on the command line; then the error and its hint.
    warning, error, *rest = result.stderr.strip().splitlines()
    assert warning.startswith("warning: --token on the command line is visible")
    assert error.startswith("error: ")
    assert len(rest) <= 1


def test_targets_list_json_parses(run_cli: Run, as_user: AsUser) -> None:
    """`--json targets list` prints a JSON array of targets with ISO dates."""
    as_user("alice")
    result = run_cli("--json", "targets", "list")
    assert result.exit_code == 0, result.output
    names = {t["name"] for t in parse_json(result.stdout)}
    assert {"Gaia22bpl", "HarnessStar1"} <= names


def test_targets_create_then_list_table(run_cli: Run, as_user: AsUser) -> None:
    """A created target shows in the plain table output."""
    as_user("alice")
    created = run_cli("targets", "create", "CliStar1", "--ra", "10.5", "--dec", "-3.25")
    assert created.exit_code == 0, created.output
    listed = run_cli("targets", "list", "--name", "CliStar1")
    assert listed.exit_code == 0
    assert "CliStar1" in listed.stdout


def test_photometry_of_an_unknown_target_exits_3(run_cli: Run, as_user: AsUser) -> None:
    """An unknown target name is fatal (exit 3) and says names are exact."""
    as_user("alice")
    result = run_cli("photometry", "NoSuchStar")
    assert result.exit_code == 3
    assert "NoSuchStar" in result.stderr
    assert "hint:" in result.stderr


def test_photometry_saves_csv_json_and_ecsv(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """`photometry --out` writes one file per target in each format."""
    as_user("alice")
    for fmt in ("csv", "json", "ecsv"):
        result = run_cli("photometry", "Gaia22bpl", "HarnessStar1", "--out", str(tmp_path), "--format", fmt)
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"Gaia22bpl_photometry.{fmt}").is_file()


def test_photometry_json_has_points(run_cli: Run, as_user: AsUser) -> None:
    """`--json photometry` prints each curve with its points."""
    as_user("alice")
    result = run_cli("--json", "photometry", "Gaia22bpl")
    assert result.exit_code == 0, result.output
    (curve,) = parse_json(result.stdout)
    assert curve["target"] == "Gaia22bpl"
    assert curve["unit"] == "mag"
    assert curve["points"]


def test_observatories_list_and_add_favourite(run_cli: Run, as_user: AsUser) -> None:
    """The camera's ONAME is listed; adding a favourite twice succeeds both times."""
    as_user("alice")
    listed = run_cli("observatories", "list")
    assert listed.exit_code == 0
    assert CAMERA in listed.stdout
    first = run_cli("--json", "observatories", "add-favourite", "ROAD_QHY600M")
    again = run_cli("observatories", "add-favourite", "ROAD_QHY600M")
    assert first.exit_code == 0, first.output
    assert again.exit_code == 0
    assert "already" in again.stdout


def test_upload_missing_path_exits_2(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """A path that does not exist is a usage error (exit 2)."""
    as_user("alice")
    result = run_cli("upload", str(tmp_path / "nope"), "--target", "Gaia22bpl", "--observatory", CAMERA)
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_upload_camera_not_in_favourites_exits_3(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """A camera missing from the favourites stops the job: exit 3 and a hint."""
    as_user("alice")
    night = _night(tmp_path, 2)
    result = run_cli(
        "upload", str(night), "--target", "Gaia22bpl", "--observatory", "ROAD_QHY600M", "--min-age", "0"
    )
    assert result.exit_code == 3, result.output
    assert "favourite" in result.stderr.lower()


def test_upload_unknown_target_exits_3(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """An unknown target stops the job with exit 3."""
    as_user("alice")
    night = _night(tmp_path, 1)
    result = run_cli(
        "upload", str(night), "--target", "NoSuchStar", "--observatory", CAMERA, "--min-age", "0"
    )
    assert result.exit_code == 3, result.output


def test_upload_prints_plain_lines_when_not_a_terminal(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """Off a terminal each file gets one plain line, then the summary; exit 0."""
    as_user("alice")
    night = _night(tmp_path, 3)
    result = run_cli("upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA, "--min-age", "0")
    assert result.exit_code == 0, result.output
    lines = [line.split(" ", 1)[1] for line in result.stdout.splitlines() if " [" in line]
    assert sorted(lines)[0].startswith("[1/3] uploaded ")
    assert [line.split()[:2] for line in sorted(lines)] == [[f"[{i}/3]", "uploaded"] for i in (1, 2, 3)]
    assert "3 uploaded, 0 already uploaded, 0 failed, 0 unknown" in result.stdout
    assert "\x1b[" not in result.stdout  # no terminal control codes


def test_upload_json_with_wait_and_journal_rerun(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """`--json upload --wait` reports ids and calibration; a re-run with the journal skips all."""
    as_user("alice")
    night = _night(tmp_path, 2)
    args = ("upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA, "--min-age", "0")
    journal = ("--journal", str(tmp_path / "j.sqlite3"))
    result = run_cli("--json", *args, *journal, "--wait", "--timeout", "20", "--poll-interval", "0.2")
    assert result.exit_code == 0, result.output
    data = parse_json(result.stdout)
    assert data["counts"]["uploaded"] == 2
    assert len(data["ids"]) == 2
    # The emulator calibrates these synthetic frames successfully; anything else is a regression.
    assert sorted(r["dataproduct_id"] for r in data["results"]) == sorted(data["ids"])
    assert [r["status"] for r in data["results"]] == ["success", "success"]
    again = parse_json(run_cli("--json", *args, *journal).stdout)
    assert again["counts"]["skipped"] == 2


def test_results_of_uploaded_ids(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """`results ID --wait` prints the finished calibration and exits 0; `--json results` parses."""
    as_user("alice")
    night = _night(tmp_path, 1)
    upload = run_cli(
        "--json", "upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA, "--min-age", "0"
    )
    (dp_id,) = parse_json(upload.stdout)["ids"]
    table = run_cli("results", str(dp_id), "--wait", "--timeout", "20", "--poll-interval", "0.2")
    assert table.exit_code == 0, table.output
    (row,) = [line for line in table.stdout.splitlines() if line.split()[0] == str(dp_id)]
    assert "success" in row
    (item,) = parse_json(run_cli("--json", "results", str(dp_id)).stdout)
    assert item["dataproduct_id"] == dp_id
    assert item["status"] == "success"
    assert item["magnitude"] is not None


def test_dataproducts_and_reduced_data_lists(run_cli: Run, as_user: AsUser) -> None:
    """Data products and reduced datums list as JSON arrays holding the seeded rows."""
    as_user("alice")
    products = run_cli("--json", "dataproducts", "list", "--limit", "5")
    assert products.exit_code == 0, products.output
    assert [(p["id"], p["target_name"]) for p in parse_json(products.stdout)] == [(1, "HarnessStar1")]
    points = run_cli("--json", "reduced-data", "list", "--target", "Gaia22bpl")
    assert points.exit_code == 0, points.output
    listed = parse_json(points.stdout)
    # The seed gives Gaia22bpl (target id 3) 38 magnitudes and 2 radio points.
    assert len(listed) == 40
    assert {p["target"] for p in listed} == {3}
    assert sorted(p["value_unit"] for p in listed).count("MAG") == 38


def test_comments_and_users(run_cli: Run, as_user: AsUser) -> None:
    """Comments list for anyone; users list for admins, exit 3 for others."""
    as_user("alice")
    assert run_cli("comments", "list").exit_code == 0
    refused = run_cli("users", "list")
    assert refused.exit_code == 3
    as_user("admin")
    users = run_cli("--json", "users", "list")
    assert users.exit_code == 0, users.output
    assert "alice" in {u["username"] for u in parse_json(users.stdout)}
    assert "password" not in users.stdout


def test_upload_dry_run_and_globs(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """`--dry-run` stores nothing (status dry_run); `--exclude` leaves matching files out."""
    as_user("alice")
    night = _night(tmp_path, 3)
    result = run_cli(
        "--json", "upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA,
        "--min-age", "0", "--dry-run", "--exclude", "frame_2.fits",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = parse_json(result.stdout)
    assert data["counts"]["dry_run"] == 2
    assert {Path(f["path"]).name for f in data["files"]} == {"frame_0.fits", "frame_1.fits"}


def test_upload_live_progress_on_a_terminal(
    run_cli: Run, as_user: AsUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the rich progress bar runs and reports files done and left."""
    as_user("alice")
    monkeypatch.setattr("bhtom_async.cli.output.is_terminal", lambda: True)
    night = _night(tmp_path, 2)
    result = run_cli("upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA, "--min-age", "0")
    assert result.exit_code == 0, result.output
    assert "upload " in result.stdout
    assert "2 uploaded, 0 already uploaded, 0 failed, 0 unknown, 0 left" in result.stdout
    assert "Upload summary" in result.stdout


def test_json_errors_are_json_on_stdout(run_cli: Run, as_user: AsUser) -> None:
    """With `--json`, a library error is also one JSON object on stdout, with its exit code."""
    as_user("alice")
    result = run_cli("--json", "photometry", "NoSuchStar")
    assert result.exit_code == 3
    data = parse_json(result.stdout)
    assert data["type"] == "TargetNotFoundError"
    assert data["exit_code"] == 3
    assert "NoSuchStar" in data["error"]
    assert data["hint"]
