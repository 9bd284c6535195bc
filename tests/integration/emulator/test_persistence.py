"""State kept in SQLite across restarts, the runnable module, and the inspection endpoint."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bhtom_async.emulator import Emulator

from .conftest import fits_frame, wait_status

FIELDS = {"target": "Gaia22bpl", "observatory": "HarnessObs_HarnessCam", "data_product_type": "fits_file"}


def _post_frame(upload_url: str, token: str, frame: bytes, name: str = "keep.fits") -> int:
    r = httpx.post(
        f"{upload_url}/upload/",
        data=FIELDS,
        files={"files": (name, frame)},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["Success"][0]["id"])


def test_state_survives_a_restart(tmp_path: Path) -> None:
    """With state_file, a stopped and restarted emulator still has products, targets, files."""
    state_file = tmp_path / "emu.sqlite"
    frame = fits_frame()
    with Emulator(state_file=state_file, calibration_delays=(0.02, 0.02)) as emu:
        token = emu.tokens["alice"]
        ident = _post_frame(emu.upload_url, token, frame)
        auth = {"Authorization": f"Token {token}"}
        with httpx.Client(base_url=emu.base_url, headers=auth) as c:
            assert (
                c.post("/targets/createTarget/", json={"name": "Kept", "ra": 1.5, "dec": 2.5}).status_code
                == 201
            )
            assert wait_status(c, ident) == "S"
    with Emulator(state_file=state_file, calibration_delays=(0.02, 0.02)) as emu:
        assert emu.tokens["alice"] == token
        (stored,) = emu.state.dataproducts_by_sha256(hashlib.sha256(frame).hexdigest())
        assert (stored.id, stored.status) == (ident, "S")
        with httpx.Client(base_url=emu.base_url, headers=auth) as c:
            names = [t["name"] for t in c.post("/targets/getTargetList/", json={}).json()["data"]]
            assert "Kept" in names
            r = c.post("/common/api/downloadPhotometryFile/", json={"id": ident})
            assert r.status_code == 200
        assert _post_frame(emu.upload_url, token, frame) == ident + 1  # ids keep counting


def test_reset_clears_the_state_file(tmp_path: Path) -> None:
    """reset() goes back to the seeded state, in the SQLite file too."""
    state_file = tmp_path / "emu.sqlite"
    with Emulator(state_file=state_file) as emu:
        _post_frame(emu.upload_url, emu.tokens["alice"], fits_frame())
        emu.reset()
        assert [p.id for p in emu.state.dataproducts()] == [1]
    with Emulator(state_file=state_file) as emu:
        assert [p.id for p in emu.state.dataproducts()] == [1]


def _start(state_file: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bhtom_async.emulator",
            "--port",
            "0",
            "--upload-port",
            "0",
            "--state",
            str(state_file),
            "--calibration-delays",
            "0.02,0.02",
            "--seed",
            "7",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    seen: dict[str, str] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "alice" not in seen:
        line = proc.stdout.readline()
        if not line:
            break
        if match := re.search(r"(main host|upload service):\s+(http://127\.0\.0\.1:\d+)", line):
            seen[match.group(1)] = match.group(2)
        if match := re.match(r"\s+(alice)\s+\S+\s+([0-9a-f]{40})", line):
            seen["alice"] = match.group(2)
    assert {"main host", "upload service", "alice"} <= set(seen), seen
    return proc, seen


def test_module_runs_and_survives_kill_9(tmp_path: Path) -> None:
    """python -m bhtom_async.emulator prints URLs and tokens; a SIGKILL loses nothing stored."""
    state_file = tmp_path / "killed.sqlite"
    frame = fits_frame(data=bytes(range(64)) * 2)
    proc, urls = _start(state_file)
    try:
        ident = _post_frame(urls["upload service"], urls["alice"], frame)
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    proc, urls = _start(state_file)
    try:
        snapshot = httpx.get(f"{urls['main host']}/_emulator/state", timeout=10).json()
        stored = [p for p in snapshot["dataproducts"] if p["id"] == ident]
        assert stored[0]["sha256"] == hashlib.sha256(frame).hexdigest()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


def test_inspection_endpoint(emu: Emulator) -> None:
    """GET /_emulator/state (no auth): data products by name and hash, request counts."""
    frame = fits_frame()
    _post_frame(emu.upload_url, emu.tokens["alice"], frame, name="seen.fits")
    httpx.post(f"{emu.base_url}/targets/getTargetList/", json={})
    for base in (emu.base_url, emu.upload_url):
        snapshot = httpx.get(f"{base}/_emulator/state").json()
        (product,) = [p for p in snapshot["dataproducts"] if p["file_name"] == "seen.fits"]
        assert product["sha256"] == hashlib.sha256(frame).hexdigest()
        assert product["user"] == "alice"
        assert snapshot["request_counts"] == {"POST /targets/getTargetList/": 1, "POST /upload/": 1}
    assert emu.state.request_counts == {"POST /targets/getTargetList/": 1, "POST /upload/": 1}
    assert emu.state.snapshot()["targets"] == emu.state.target_names()
