"""The remaining commands against the emulator: admin calls, downloads, restarts, the server itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from ..conftest import fits_bytes
from .conftest import parse_json

Run = Callable[..., Result]
AsUser = Callable[[str], None]
CAMERA = "HarnessObs_HarnessCam"


def _upload_one(run_cli: Run, tmp_path: Path) -> int:
    night = tmp_path / "one"
    night.mkdir()
    (night / "f.fits").write_bytes(fits_bytes(7))
    result = run_cli(
        "--json", "upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA, "--min-age", "0"
    )
    assert result.exit_code == 0, result.output
    (dp_id,) = parse_json(result.stdout)["ids"]
    return int(dp_id)


def test_targets_update_groups_in_group_plots_delete(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """A target's life cycle through the CLI, and group and plot listings."""
    as_user("admin")
    assert run_cli("targets", "create", "CliStar2", "--ra", "1.5", "--dec", "2.5").exit_code == 0
    updated = run_cli("--json", "targets", "update", "CliStar2", "--importance", "7")
    assert updated.exit_code == 0, updated.output
    assert parse_json(updated.stdout)["changes"] == {"importance": 7.0}
    assert run_cli("targets", "update", "CliStar2").exit_code == 2  # nothing to change
    groups = parse_json(run_cli("--json", "targets", "groups").stdout)
    assert [g["name"] for g in groups] == ["Microlensing"]
    in_group = run_cli("--json", "targets", "in-group", "Microlensing")
    assert in_group.exit_code == 0, in_group.output
    assert [t["name"] for t in parse_json(in_group.stdout)] == ["Gaia22bpl"]
    plots = run_cli("--json", "targets", "plots", "Gaia22bpl", "--out", str(tmp_path))
    assert plots.exit_code == 0, plots.output
    assert Path(parse_json(plots.stdout)[0]["path"]).is_file()
    assert run_cli("targets", "delete", "CliStar2", "--yes").exit_code == 0
    assert run_cli("photometry", "CliStar2").exit_code == 3


def test_observatories_favourites_update_remove(run_cli: Run, as_user: AsUser) -> None:
    """Favourites list as JSON; removing a favourite is admin-only (exit 3 for others)."""
    as_user("alice")
    favourites = run_cli("--json", "observatories", "favourites")
    assert favourites.exit_code == 0, favourites.output
    # The view is not scoped to the caller: every user's favourite rows come back.
    rows = parse_json(favourites.stdout)
    assert sorted((r["user"], r["camera"]) for r in rows) == [(3, 1), (3, 4), (4, 1)]
    assert run_cli("observatories", "update", "HarnessObs").exit_code == 2  # nothing to change
    assert run_cli("observatories", "remove-favourite", "HarnessObs", "HarnessCam").exit_code == 3


def test_dataproducts_change_observers_download_delete(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """Observers change, the photometry file downloads, and an admin deletes the product."""
    as_user("alice")
    dp_id = _upload_one(run_cli, tmp_path)
    changed = run_cli("dataproducts", "change-observers", str(dp_id), "alice")
    assert changed.exit_code == 0, changed.output
    assert (
        run_cli("results", str(dp_id), "--wait", "--timeout", "20", "--poll-interval", "0.2").exit_code == 0
    )
    out = tmp_path / "cats"
    downloaded = run_cli("--json", "dataproducts", "download", str(dp_id), "--out", str(out))
    assert downloaded.exit_code == 0, downloaded.output
    assert Path(parse_json(downloaded.stdout)[0]["path"]).is_file()
    assert run_cli("dataproducts", "delete", str(dp_id), "--yes").exit_code == 3  # alice is no admin
    as_user("admin")
    assert run_cli("dataproducts", "delete", str(dp_id), "--yes").exit_code == 0


def test_reduced_data_deactivate_and_delete(run_cli: Run, as_user: AsUser) -> None:
    """An admin deactivates then deletes a point found through `reduced-data list`."""
    as_user("admin")
    points = parse_json(run_cli("--json", "reduced-data", "list", "--target", "Gaia22bpl").stdout)
    point = next(p for p in points if p["value"] and p["error"] and p["filter"] and p["observer"])
    match = [
        "--target", "Gaia22bpl", "--mjd", repr(point["mjd"]), "--mag", repr(point["value"]),
        "--magerr", repr(point["error"]), "--filter", point["filter"], "--observer", point["observer"],
    ]  # fmt: skip
    deactivated = run_cli("reduced-data", "deactivate", *match)
    assert deactivated.exit_code == 0, deactivated.output
    deleted = run_cli("--json", "reduced-data", "delete", *match)
    assert deleted.exit_code == 0, deleted.output
    assert parse_json(deleted.stdout)["deleted"] is True


def test_restart_calibration_is_admin_only(run_cli: Run, as_user: AsUser) -> None:
    """A normal user gets exit 3; an admin's restart is accepted; a bad combination is exit 2."""
    as_user("alice")
    assert run_cli("restart-calibration", "--dataproduct", "1").exit_code == 3
    as_user("admin")
    result = run_cli("--json", "restart-calibration", "--target", "HarnessStar1")
    assert result.exit_code == 0, result.output
    assert parse_json(result.stdout)["restarted"] is True
    assert run_cli("restart-calibration", "--dataproduct", "1", "--target", "X").exit_code == 2


def test_calibrate_file_and_results_plots(
    run_cli: Run, as_user: AsUser, samples_dir: Path, tmp_path: Path
) -> None:
    """`calibrate-file` answers in JSON; `results --plots` saves the calibration plot."""
    as_user("alice")
    calibrated = run_cli(
        "--json", "calibrate-file", str(samples_dir / "instrumental.cat"), "--ra", "276.12", "--dec", "-12.34"
    )
    assert calibrated.exit_code == 0, calibrated.output
    assert "is_limit" in parse_json(calibrated.stdout)
    dp_id = _upload_one(run_cli, tmp_path)
    plots = tmp_path / "plots"
    waited = run_cli(
        "--json",
        "results",
        str(dp_id),
        "--wait",
        "--timeout",
        "20",
        "--poll-interval",
        "0.2",
        "--plots",
        str(plots),
    )
    assert waited.exit_code == 0, waited.output
    (result,) = parse_json(waited.stdout)
    assert result["status"] == "success"
    assert result["plot_path"] is not None
    assert Path(result["plot_path"]).is_file()


def test_emulator_command_serves_until_interrupted(tmp_path: Path) -> None:
    """`bhtom emulator --port 0` prints its URLs and seeded tokens, and stops cleanly on Ctrl-C."""
    script = Path(sys.executable).with_name("bhtom")
    bhtom = [str(script)] if script.exists() else [sys.executable, "-m", "bhtom_async.cli"]
    process = subprocess.Popen(
        [*bhtom, "emulator", "--port", "0", "--upload-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Serving until Ctrl-C" in line:
                break
        text = "".join(lines)
        assert "http://127.0.0.1:" in text
        assert "alice" in text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_ecsv_without_astropy_says_what_to_install(
    run_cli: Run, as_user: AsUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--format ecsv` with astropy missing stops before any download, exit 2, naming the extra."""
    as_user("alice")
    monkeypatch.setitem(sys.modules, "astropy.table", None)
    result = run_cli("photometry", "Gaia22bpl", "--out", str(tmp_path), "--format", "ecsv")
    assert result.exit_code == 2
    assert "astropy" in result.stderr
    assert "bhtom_async[astro]" in result.stderr
    assert not list(tmp_path.iterdir())


def test_demo_without_the_emulator_extra_exits_3(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """If uvicorn is missing, `bhtom demo` says which extra to install, with no traceback."""
    for name in [
        n for n in sys.modules if n == "bhtom_async.emulator" or n.startswith("bhtom_async.emulator.")
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = run_cli("demo", "--frames", "1")
    assert result.exit_code == 3
    assert "bhtom_async[emulator]" in result.stderr
    assert "Traceback" not in result.output


def test_emulator_rejects_a_bad_fault_spec_with_usage_error(run_cli: Run) -> None:
    """A malformed --faults spec exits 2 naming the rule and the grammar, without a traceback."""
    result = run_cli("emulator", "--faults", "upload:500:0.1")
    assert result.exit_code == 2
    assert "unknown kind '500'" in result.stderr
    assert "Traceback" not in result.output
