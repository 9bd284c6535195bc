"""Library errors reach the shell as one headline plus the advice in `bhtom` terms."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.conftest import fits_bytes

Run = Callable[..., Result]
AsUser = Callable[[str], None]


def _frame(tmp_path: Path) -> Path:
    folder = tmp_path / "night"
    folder.mkdir()
    (folder / "frame_0.fits").write_bytes(fits_bytes(0))
    return folder


def test_camera_hint_names_the_cli_command_shell_quoted(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """A camera not in the favourites prints the add-favourite command for the camera sent."""
    as_user("alice")
    result = run_cli(
        "upload",
        str(_frame(tmp_path)),
        "--target",
        "Gaia22bpl",
        "--observatory",
        "ROAD_QHY600M",
        "--min-age",
        "0",
    )
    assert result.exit_code == 3, result.output
    assert (
        "hint: add the camera to your favourites first: `bhtom observatories add-favourite ROAD_QHY600M`"
        in (result.stderr)
    )
    assert "await bh." not in result.stderr


def test_unknown_target_json_error_carries_the_cli_hint(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """With --json, a stopped upload's error and hint are in CLI words, not Python calls."""
    as_user("alice")
    result = run_cli(
        "--json",
        "upload",
        str(_frame(tmp_path)),
        "--target",
        "NoSuchStar",
        "--observatory",
        "HarnessObs_HarnessCam",
        "--min-age",
        "0",
    )
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    assert "NoSuchStar" in data["stopped"]
    assert "Hint" not in data["stopped"]
    assert "bhtom targets create" in data["stopped_hint"]
    assert "bh.targets" not in result.stdout
