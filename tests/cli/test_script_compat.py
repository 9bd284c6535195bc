"""The other official scripts' command lines work with `bhtom` in place of `python SCRIPT.py`.

The forms are those of the scripts as shipped in BHTOM's documentation_scripts folder and of
the API documentation's examples (see docs/migrating.md).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import Result

from ..conftest import fits_bytes
from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

Run = Callable[..., Result]
AsUser = Callable[[str], None]
CAMERA = "HarnessObs_HarnessCam"


@pytest.fixture
def emulator_urls(emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Emulator:
    """The emulator's URLs in the environment but no token: the scripts' lines bring their own."""
    monkeypatch.setenv("BHTOM_BASE_URL", emu.base_url)
    monkeypatch.setenv("BHTOM_UPLOAD_URL", emu.upload_url)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return emu


def test_get_calib_res_positional_token_ids_and_names(
    run_cli: Run, emulator_urls: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`get_calib_res.py TOKEN ID NAME --get_plot`: the token is used (with a warning), plots saved here."""
    token = emulator_urls.tokens["alice"]
    night = tmp_path / "night"
    night.mkdir()
    for i in range(2):
        (night / f"frame_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    uploaded = run_cli(
        "upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA, "--settle", "0",
        "--wait", "--poll-interval", "0.05", "--json", "--token", token,
    )  # fmt: skip
    ids = {Path(f["path"]).stem: f["data_product_id"] for f in parse_json(uploaded.stdout)["files"]}
    monkeypatch.chdir(tmp_path)
    result = run_cli("results", token, str(ids["frame_0"]), "frame_1", "--get_plot", "--json")
    assert result.exit_code == 0, result.output
    assert "warning: a token on the command line" in result.stderr
    by_id, by_name = parse_json(result.stdout)
    assert (by_id["dataproduct_id"], by_id["status"]) == (ids["frame_0"], "success")
    assert (by_name["dataproduct_id"], by_name["status"]) == (ids["frame_1"], "success")
    assert (tmp_path / f"{ids['frame_0']}.png").read_bytes().startswith(b"\x89PNG")


def test_download_photometry_token_and_name_print_the_servers_csv(
    run_cli: Run, emulator_urls: Emulator
) -> None:
    """`download_photometry.py TOKEN NAME` → `bhtom photometry TOKEN NAME -o csv`: the file, unchanged."""
    emu = emulator_urls
    result = run_cli("photometry", emu.tokens["alice"], "Gaia22bpl", "-o", "csv")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header == "MJD;Magnitude;Error;Facility;Filter;Observer"
    assert len(rows) == 38  # the seeded magnitudes of Gaia22bpl


def test_create_and_update_target_scripts_flags(run_cli: Run, emulator_urls: Emulator) -> None:
    """create_target.py's and update_target.py's documented lines create and change the target."""
    token = emulator_urls.tokens["alice"]
    created = run_cli(
        "targets", "create", "--name", "My Target", "--ra", "123.456", "--dec", "-45.678",
        "--epoch", "2000.0", "--classification", "Star", "--discovery_date", "2023-09-28T10:00:00Z",
        "--importance", "5", "--cadence", "24", "--token", token,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    updated = run_cli(
        "targets", "update", "My Target", "--ra", "135.789", "--dec", "-30.123", "--epoch", "J2023",
        "--classification", "Galaxy", "--discovery_date", "2022-12-15T08:30:00Z", "--importance", "3",
        "--cadence", "12", "--token", token,
    )  # fmt: skip
    assert updated.exit_code == 0, updated.output
    (target,) = parse_json(
        run_cli("targets", "list", "--name", "My Target", "--json", "--token", token).stdout
    )
    assert (target["ra"], target["dec"], target["classification"]) == (135.789, -30.123, "Galaxy")


def test_create_observatory_script_flags(run_cli: Run, emulator_urls: Emulator) -> None:
    """create_observatory.py's documented line reaches the server (which, like BHTOM's, answers 500)."""
    token = emulator_urls.tokens["alice"]
    result = run_cli(
        "observatories", "create", "--name", "My Observatory", "--lon", "45.12345", "--lat", "-12.6789",
        "--camera_name", "Camera1", "--calibration_flg", "--example_file", "observatory_example.txt",
        "--comment", "This observatory is for calibration purposes", "--token", token,
    )  # fmt: skip
    # Every flag was accepted (no usage error, exit 2): the request went out and met the server's
    # known crash, which the hint explains.
    assert result.exit_code == 1, result.output
    assert "POST /observatory/createObservatory/ → 500" in result.stderr
    assert "create it in the BHTOM web UI instead" in result.stderr


def test_favourite_observatory_scripts_flags(run_cli: Run, emulator_urls: Emulator) -> None:
    """get_favourite_observatory.py's `--active_flg true --camera` and delete's `--observatory --camera`."""
    emu = emulator_urls
    listed = run_cli(
        "observatories", "favourites", "--camera", "HarnessCam", "--active_flg", "true", "--json",
        "--token", emu.tokens["alice"],
    )  # fmt: skip
    assert listed.exit_code == 0, listed.output
    favourites = parse_json(listed.stdout)
    assert favourites
    assert {(f["camera"], f["active"]) for f in favourites} == {(1, True)}
    admin = emu.tokens["admin"]
    assert run_cli("observatories", "add-favourite", "ROAD_QHY600M", "--token", admin).exit_code == 0
    removed = run_cli(
        "observatories", "remove-favourite", "--observatory", "ROAD", "--camera", "QHY600M", "--token", admin
    )
    assert removed.exit_code == 0, removed.output
    left = parse_json(
        run_cli("observatories", "favourites", "--user", "2", "--json", "--token", admin).stdout
    )
    assert 2 not in [f["camera"] for f in left]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port something else is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


def test_emulator_on_a_taken_port_is_one_line_with_the_fix(run_cli: Run, taken_port: int) -> None:
    """`bhtom emulator --port P` where P is taken: one line naming the port and `--port 0`; exit 3."""
    result = run_cli(
        "emulator", "--port", str(taken_port), "--upload-port", "0", "--calibration-delays", "0.5,1"
    )
    assert result.exit_code == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: cannot serve on 127.0.0.1:{taken_port} (")
    assert line.endswith("pick free ports with --port 0 --upload-port 0")
    assert "Traceback" not in result.output


def test_calibration_delays_take_one_c_comma_p_word(run_cli: Run) -> None:
    """`--calibration-delays C,P` as `python -m bhtom_async.emulator` takes it; else a usage error."""
    for bad in ("5", "5,x", "5,-1"):
        result = run_cli("emulator", "--calibration-delays", bad)
        assert result.exit_code == 2, bad
        assert "Invalid value for '--calibration-delays'" in result.stderr
    old_form = run_cli("emulator", "--calibration-delays", "5", "10")
    assert old_form.exit_code == 2


def test_wait_shows_calibrations_while_later_frames_still_upload(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path
) -> None:
    """`upload --wait` is pipelined: the first frame's calibration comes before the last upload ends."""
    as_user("alice")
    emu.add_fault("upload:/upload/:latency=0.4")
    night = tmp_path / "night"
    night.mkdir()
    for i in range(4):
        (night / f"frame_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    result = run_cli(
        "upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA, "--settle", "0",
        "--concurrency", "1", "--wait", "--poll-interval", "0.05", "--json-lines",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    kinds = [parse_json(line)["event"] for line in result.stdout.splitlines()]
    assert kinds.count("calibrated") == kinds.count("uploaded") == 4
    last_upload = len(kinds) - 1 - kinds[::-1].index("uploaded")
    assert kinds.index("calibrated") < last_upload
