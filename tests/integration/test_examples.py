"""The `examples/` scripts run against the emulator as a user would run them (token from the env)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
from astropy.table import Table

from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CAMERA = "HarnessObs_HarnessCam"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def as_user(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Point the scripts at the emulator with one user's token, as BHTOM_* variables."""

    def use(user: str) -> None:
        monkeypatch.setenv("BHTOM_TOKEN", emulator.tokens[user])
        monkeypatch.setenv("BHTOM_BASE_URL", emulator.base_url)
        monkeypatch.setenv("BHTOM_UPLOAD_URL", emulator.upload_url)

    return use


def test_nightly_upload_then_rerun(
    as_user: Callable[[str], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A night uploads with target and filter from the headers, calibrations print and are saved;
    a re-run with the journal sends nothing again."""
    as_user("alice")
    night = tmp_path / "night"
    night.mkdir()
    for index in range(3):
        frame = night / f"frame_{index}.fits"
        frame.write_bytes(fits_bytes(index, mjd=60827.9 + index / 100, filt="rp" if index else "V"))
        os.utime(frame, (1_700_000_000, 1_700_000_000))
    out = tmp_path / "results.ecsv"
    args = [str(night), "--observatory", CAMERA, "--target-from-header", "--filter-from-header"]
    args += ["--journal", str(tmp_path / "j.sqlite3"), "--poll-interval", "0.05", "--out", str(out)]
    nightly = load("nightly_upload")
    assert nightly.main(args) == 0
    printed = capsys.readouterr().out
    assert printed.count(": SUCCESS ") == 3
    assert "upload: 3 uploaded" in printed
    table = Table.read(out, format="ascii.ecsv")
    assert sorted(table["filename"]) == ["frame_0.fits", "frame_1.fits", "frame_2.fits"]
    assert str(table["magnitude"].unit) == "mag"
    assert nightly.main(args) == 0
    assert "upload: 3 skipped" in capsys.readouterr().out


def test_light_curves_for_many_targets(
    as_user: Callable[[str], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Curves download side by side into ECSV and PNG files; an unknown name is reported (exit 1)."""
    as_user("alice")
    status = load("light_curves").main(
        ["Gaia22bpl", "HarnessStar1", "NoSuchStar", "--out", str(tmp_path), "--plot"]
    )
    assert status == 1
    printed = capsys.readouterr().out
    assert "NoSuchStar: no target named 'NoSuchStar'" in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "Gaia22bpl.ecsv",
        "Gaia22bpl.png",
        "HarnessStar1.ecsv",
        "HarnessStar1.png",
    ]
    table = Table.read(tmp_path / "Gaia22bpl.ecsv", format="ascii.ecsv")
    assert len(table) > 0
    assert table["mjd"].scale == "utc"
    assert f"Gaia22bpl: {len(table)} points" in printed


def test_recalibrate_as_admin_and_as_a_user(
    as_user: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    """An admin restarts a target's calibrations and sees them finish; a user is refused (exit 3)."""
    recalibrate = load("recalibrate")
    as_user("admin")
    assert recalibrate.main(["HarnessStar1", "--dry-run"]) == 0
    assert "HarnessStar1: 1 data products" in capsys.readouterr().out
    assert recalibrate.main(["HarnessStar1", "--poll-interval", "0.05", "--timeout", "20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "HarnessStar1: 1 data products"
    assert lines[1].startswith("  1: SUCCESS mag ")
    as_user("alice")
    assert recalibrate.main(["HarnessStar1"]) == 3
    assert "admin" in capsys.readouterr().err.lower()
