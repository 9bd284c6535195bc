"""The official upload scripts' command lines work through `bhtom upload`, with the native flags' effect.

Each official form is run against the emulator next to the native form, and the two must hand
the uploader the same `UploadOptions` and leave the same products on the server.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import Result

from bhtom_async.cli import upload as cli_upload
from bhtom_async.cli.upload_job import UploadRequest

from ..conftest import fits_bytes
from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

Run = Callable[..., Result]
AsUser = Callable[[str], None]
CAMERA = "HarnessObs_HarnessCam"
SAMPLES = Path(__file__).parent.parent / "data" / "samples"


@pytest.fixture
def requests_seen(monkeypatch: pytest.MonkeyPatch) -> list[UploadRequest]:
    """Every `UploadRequest` `bhtom upload` hands to the job runner, in order."""
    seen: list[UploadRequest] = []
    real = cli_upload.run_job

    async def recording(bh: Any, request: UploadRequest, *args: Any, **kwargs: Any) -> Any:
        seen.append(request)
        return await real(bh, request, *args, **kwargs)

    monkeypatch.setattr(cli_upload, "run_job", recording)
    return seen


def _night(folder: Path, n: int = 2) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"frame_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    return folder


def _stored(emu: Emulator) -> list[tuple[str, str | None, str, bool]]:
    """(target, camera, type, dry run) of each product the uploads stored (the seeded one left out)."""
    return sorted(
        (p.target, p.observatory, p.data_product_type, p.dry_run) for p in emu.state.dataproducts()[1:]
    )


def test_upload_files_script_directory_form(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path, requests_seen: list[Any]
) -> None:
    """`--directory --target_name --observatory_name --filter_name` = `PATH --target ... --filter`."""
    as_user("alice")
    night = _night(tmp_path / "night")
    official = run_cli(
        "upload", "--directory", str(night), "--target_name", "Gaia22bpl",
        "--observatory_name", CAMERA, "--filter_name", "GaiaSP/any", "--comment", "seeing 2.1",
        "--match_dist", "2.5", "--journal", str(tmp_path / "official.sqlite3"), "--settle", "0",
    )  # fmt: skip
    assert official.exit_code == 0, official.output
    stored_official = _stored(emu)
    emu.reset()
    native = run_cli(
        "upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA,
        "--filter", "GaiaSP/any", "--comment", "seeing 2.1", "--match-dist", "2.5",
        "--journal", str(tmp_path / "native.sqlite3"), "--settle", "0",
    )  # fmt: skip
    assert native.exit_code == 0, native.output
    first, second = requests_seen
    assert first.options == second.options
    assert first.paths == second.paths == (night,)
    assert stored_official == _stored(emu) == [("Gaia22bpl", CAMERA, "fits_file", False)] * 2


def test_api_documentation_photometry_form(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path, requests_seen: list[Any]
) -> None:
    """The documented `--filename ... --data_product_type photometry --mjd --observer` line works."""
    as_user("alice")
    catalogue = tmp_path / "file1.cat"
    shutil.copy(SAMPLES / "instrumental.cat", catalogue)
    official = run_cli(
        "upload", "--token", emu.tokens["alice"], "--target", "Gaia22bpl", "--observatory", CAMERA,
        "--data_product_type", "photometry", "--filename", str(catalogue), "--mjd", "51234.123",
        "--observer", "alice", "--journal", str(tmp_path / "official.sqlite3"), "--settle", "0",
    )  # fmt: skip
    assert official.exit_code == 0, official.output
    assert "warning: --token on the command line" in official.stderr
    emu.reset()
    native = run_cli(
        "upload", str(catalogue), "--target", "Gaia22bpl", "--observatory", CAMERA,
        "--type", "photometry", "--mjd", "51234.123", "--observers", "alice",
        "--journal", str(tmp_path / "native.sqlite3"), "--settle", "0",
    )  # fmt: skip
    assert native.exit_code == 0, native.output
    first, second = requests_seen
    assert first.options == second.options
    assert first.options.mjd == 51234.123
    assert first.options.observers == ("alice",)
    assert _stored(emu) == [("Gaia22bpl", CAMERA, "photometry", False)]


@pytest.mark.parametrize(("word", "stores"), [("True", False), ("False", True), ("true", False)])
def test_dry_run_takes_the_scripts_true_or_false(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path, word: str, stores: bool
) -> None:
    """`--dry_run True` checks without storing (like `--dry-run`); `--dry_run False` uploads."""
    as_user("alice")
    night = _night(tmp_path / "night", n=1)
    result = run_cli(
        "--json", "upload", "--directory", str(night), "--target_name", "Gaia22bpl",
        "--observatory_name", CAMERA, "--dry_run", word, "--settle", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = parse_json(result.stdout)
    assert report["counts"]["uploaded" if stores else "dry_run"] == 1
    assert [dry for *_, dry in _stored(emu)] == [not stores]


def test_dry_run_refuses_a_word_that_is_not_true_or_false(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """`--dry_run maybe` is a one-line usage error (exit 2), not 'path does not exist'."""
    as_user("alice")
    night = _night(tmp_path / "night", n=1)
    result = run_cli("upload", "--directory", str(night), "--target_name", "X", "--dry_run", "maybe")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "'maybe' is not True or False" in result.stderr


def test_send_fits_to_bhtom_short_flags(
    run_cli: Run, as_user: AsUser, emu: Emulator, tmp_path: Path, requests_seen: list[Any]
) -> None:
    """send_fits_to_bhtom.py's `-d DIR -t TOKEN --object X -oname CAM -f FILTER --dryrun`."""
    as_user("alice")
    night = _night(tmp_path / "night", n=1)
    result = run_cli(
        "upload", "-d", str(night), "-t", emu.tokens["alice"], "--object", "Gaia22bpl",
        "-oname", CAMERA, "-f", "GaiaSP/V", "--dryrun", "--settle", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (request,) = requests_seen
    assert (request.options.target, request.options.observatory) == ("Gaia22bpl", CAMERA)
    assert (request.options.filter, request.options.dry_run) == ("GaiaSP/V", True)
    assert "warning: -t puts the token" in result.stderr


def test_two_different_values_for_one_setting_are_refused(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """`--target A --target_name B` is a usage error naming both, never a silent pick."""
    as_user("alice")
    night = _night(tmp_path / "night", n=1)
    result = run_cli("upload", str(night), "--target", "A", "--target_name", "B", "--observatory", CAMERA)
    assert result.exit_code == 2
    assert "'A' and 'B'" in result.stderr


def test_missing_target_and_paths_are_usage_errors(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """No paths, or no target, exit 2 with a line naming what is missing."""
    as_user("alice")
    no_paths = run_cli("upload", "--target", "Gaia22bpl", "--observatory", CAMERA)
    assert no_paths.exit_code == 2
    assert "--directory / --filename" in no_paths.stderr
    night = _night(tmp_path / "night", n=1)
    no_target = run_cli("upload", str(night), "--observatory", CAMERA)
    assert no_target.exit_code == 2
    assert "missing --target" in no_target.stderr
