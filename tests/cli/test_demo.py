"""`bhtom demo`: the README's first command, run the way a newcomer and CI run it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from bhtom_async.cli.demo import _save_plot
from bhtom_async.models.calibration import CalibrationResult, CalibrationStatus

from .conftest import parse_json


def test_demo_exits_0_and_prints_the_light_curve(tmp_path: Path) -> None:
    """The installed `bhtom demo` (not a terminal) finishes quickly, exit 0, with the table."""
    script = Path(sys.executable).with_name("bhtom")
    bhtom = [str(script)] if script.exists() else [sys.executable, "-m", "bhtom_async.cli"]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    started = time.monotonic()
    done = subprocess.run(
        [*bhtom, "demo", "--frames", "8"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Calibrated light curve" in done.stdout
    assert "8/8 frames calibrated" in done.stdout
    assert done.stdout.count("uploaded ") >= 8  # one plain line per file off a terminal
    assert done.stdout.count("calibrated ") >= 8
    assert "Traceback" not in done.stderr
    assert elapsed < 30


def test_demo_json_is_one_document(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    """`--json demo` prints only JSON: the target, timing and each calibrated frame."""
    result = run_cli("--json", "demo", "--frames", "4", "--no-plot")
    assert result.exit_code == 0, result.output
    data = parse_json(result.stdout)
    assert data["frames"] == 4
    assert len(data["results"]) == 4
    assert all(r["status"] == "success" and r["magnitude"] is not None for r in data["results"])
    mjds = [r["mjd"] for r in data["results"]]
    assert mjds == sorted(mjds)


def test_demo_plot_is_saved_when_matplotlib_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With matplotlib importable the light curve is plotted (brightest up) and saved as PNG."""
    calls: list[str] = []

    class Axes:
        def __getattr__(self, name: str) -> Callable[..., None]:
            return lambda *args, **kwargs: calls.append(name)

    class Figure(Axes):
        def savefig(self, path: Path, **kwargs: object) -> None:
            Path(path).write_bytes(b"\x89PNG")

    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.subplots = lambda **kwargs: (Figure(), Axes())  # type: ignore[attr-defined]
    pyplot.close = lambda figure: None  # type: ignore[attr-defined]
    matplotlib = types.ModuleType("matplotlib")
    matplotlib.use = lambda backend: calls.append(f"use:{backend}")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "matplotlib", matplotlib)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", pyplot)
    points = [
        CalibrationResult(i, CalibrationStatus.SUCCESS, mjd=60000 + i, magnitude=15.0, error=0.1)
        for i in range(3)
    ]
    saved = _save_plot(points, "Star", tmp_path / "lc.png", lambda message: None)
    assert saved == tmp_path / "lc.png"
    assert saved.read_bytes() == b"\x89PNG"
    assert {"use:Agg", "errorbar", "invert_yaxis"} <= set(calls)
