"""Many hosts, one night: `bhtom upload` processes sharing a PostgreSQL journal (a real one).

Three processes see one folder through three mount paths (symlinks), as three hosts mounting
one NAS would. Checked in the emulator's state file by file: every frame stored once, every id
a report claims holds that frame's bytes.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from click.testing import Result

from ..conftest import fits_bytes
from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

CAMERA = "HarnessObs_HarnessCam"
FRAMES = 24


def _night(tmp_path: Path, frames: int = FRAMES) -> tuple[Path, list[Path]]:
    """One folder of frames and three paths to it (the mounts of three hosts)."""
    folder = tmp_path / "nas" / "night"
    folder.mkdir(parents=True)
    for i in range(frames):
        (folder / f"frame_{i:02d}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.001))
    mounts = []
    for host in ("alpha", "beta", "gamma"):
        mount = tmp_path / host / "mnt" / "night"
        mount.parent.mkdir(parents=True)
        mount.symlink_to(folder, target_is_directory=True)
        mounts.append(mount)
    return folder, mounts


def _args(mount: Path, journal: str, *extra: str) -> list[str]:
    return ["--json", "upload", str(mount), "--target", "Gaia22bpl", "--observatory", CAMERA,
            "--settle", "0", "--concurrency", "2", "--journal", journal, *extra]  # fmt: skip


def _stored_once_each(emu: Emulator, folder: Path) -> dict[str, int]:
    """Each frame of `folder` is stored exactly once, with its bytes; name -> id."""
    ids = {}
    for frame in sorted(folder.iterdir()):
        digest = hashlib.sha256(frame.read_bytes()).hexdigest()
        stored = [p for p in emu.state.dataproducts_by_sha256(digest) if not p.dry_run]
        assert len(stored) == 1, (frame.name, [p.id for p in stored])
        ids[frame.name] = stored[0].id
    return ids


def _true_report(report: dict[str, Any], ids: dict[str, int]) -> None:
    """Every file of the night is in the report, with the id that holds its bytes."""
    files = {Path(f["path"]).name: f for f in report["files"]}
    assert sorted(files) == sorted(ids)
    for name, item in files.items():
        assert item["status"] in ("uploaded", "skipped"), item
        assert item["data_product_id"] == ids[name], item


def test_three_hosts_on_three_mount_paths_store_every_frame_once(
    bhtom: Callable[..., subprocess.Popen[str]], emu: Emulator, pg_url: str, tmp_path: Path
) -> None:
    """Three workers split the night: each sends a share, each report is true, none stored twice."""
    # Long enough (48 frames, 0.25 s each: 6 s for one worker alone) that a worker whose
    # interpreter starts a second or two late on a busy machine still finds frames to send.
    emu.add_fault("upload:/upload/:latency=0.25")
    folder, mounts = _night(tmp_path, 2 * FRAMES)
    workers = [bhtom(*_args(mount, pg_url)) for mount in mounts]
    reports = []
    for process in workers:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        reports.append(json.loads(out))
    ids = _stored_once_each(emu, folder)
    for report in reports:
        _true_report(report, ids)
    shares = [report["counts"]["uploaded"] for report in reports]
    assert sum(shares) == 2 * FRAMES
    assert all(share >= 1 for share in shares), shares


def test_two_workers_killed_mid_night_then_one_run_settles_the_whole_night(
    bhtom: Callable[..., subprocess.Popen[str]],
    run_cli: Callable[..., Result],
    as_user: Callable[[str], None],
    emu: Emulator,
    pg_url: str,
    tmp_path: Path,
) -> None:
    """SIGKILL two of three under faults; their leases lapse, and one more run reconciles and finishes."""
    emu.add_fault("upload:/upload/:latency=0.3")
    emu.add_fault("upload:/upload/:reset_after_store:p=0.2")
    folder, mounts = _night(tmp_path)
    journal = pg_url + "&lease=1"
    workers = [bhtom(*_args(mount, journal, "--max-attempts", "6")) for mount in mounts]
    deadline = time.monotonic() + 30
    while len(emu.state.dataproducts()) < 1 + 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in workers[:2]:
        process.send_signal(signal.SIGKILL)
    for process in workers:
        process.communicate(timeout=60)
    assert [p.returncode for p in workers[:2]] == [-signal.SIGKILL, -signal.SIGKILL]
    as_user("alice")
    final = run_cli(*_args(mounts[0], journal, "--max-attempts", "6"))
    assert final.exit_code == 0, final.output
    ids = _stored_once_each(emu, folder)
    _true_report(parse_json(final.stdout), ids)


def test_three_watchers_on_one_camera_folder_upload_each_frame_once(
    bhtom: Callable[..., subprocess.Popen[str]], emu: Emulator, pg_url: str, tmp_path: Path
) -> None:
    """Watch mode the same way: frames there at the start and frames the camera writes later, once each."""
    folder, mounts = _night(tmp_path)
    flags = ("--watch", "--idle-exit", "2s", "--settle", "0.3", "--check-server")
    workers = [bhtom(*_args(mount, pg_url, *flags)) for mount in mounts]
    time.sleep(1.0)
    for i in range(4):  # the camera goes on writing (each frame appears whole, renamed into place)
        partial = folder.parent / f".late_{i}.part"
        partial.write_bytes(fits_bytes(100 + i))
        partial.rename(folder / f"late_{i}.fits")
        time.sleep(0.2)
    reports = []
    for process in workers:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        reports.append(json.loads(out))
    ids = _stored_once_each(emu, folder)
    assert len(ids) == FRAMES + 4
    for report in reports:
        uploaded = {
            Path(f["path"]).name: f["data_product_id"] for f in report["files"] if f["status"] == "uploaded"
        }
        assert all(ids[name] == product for name, product in uploaded.items())
    assert sum(report["counts"]["uploaded"] for report in reports) == FRAMES + 4
