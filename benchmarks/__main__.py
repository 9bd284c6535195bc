"""Upload benchmark against the local emulator: `nox -s bench` or `python -m benchmarks`.

Every contender uploads the same folder of FITS frames to the same emulator, in its own process
(so its peak memory is its own), under the same simulated network: a fixed per-request latency
(server processing plus round trip) and a per-connection upload bandwidth cap, which is what makes
one-file-at-a-time slow on a real link. Timing claims are ratios measured in one run.

Scenario "bad night" adds the faults a real night brings (5xx pages, connections reset after the
upload was stored) and counts what each contender left on the server: files missing and files
stored twice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bhtom_async.emulator import Emulator, FaultRule

CONTENDERS = ("official", "curl", "naive_async", "naive_retry", "bhtom_async", "bhtom_async@8")
TARGET = "Gaia22bpl"
ONAME = "HarnessObs_HarnessCam"


def make_frames(folder: Path, count: int, size_mb: float, seed: int = 7) -> dict[str, Path]:
    """Distinct valid FITS frames; returns sha256 → path."""
    rng = random.Random(seed)
    data_blocks = max(1, int(size_mb * 1024 * 1024 / 2880))
    frames = {}
    for index in range(count):
        cards = [
            "SIMPLE  =                    T",
            "BITPIX  =                    8",
            "NAXIS   =                    1",
            f"NAXIS1  = {2880 * data_blocks:20d}",
            f"OBJECT  = '{TARGET}'",
            "FILTER  = 'V'",
            f"MJD-OBS = {60827.9 + index * 0.01:20.6f}",
            "DATE-OBS= '2025-06-01T23:14:05'",
            "EXPTIME =                 60.0",
            "END",
        ]
        header = "".join(card.ljust(80) for card in cards).encode()
        header += b" " * (-len(header) % 2880)
        body = header + rng.randbytes(2880 * data_blocks)
        path = folder / f"frame_{index:04d}.fits"
        path.write_bytes(body)
        frames[hashlib.sha256(body).hexdigest()] = path
    return frames


def network(latency: float, bandwidth_mb: float) -> list[FaultRule]:
    return [
        FaultRule("latency", path="/upload/", host="upload", seconds=latency),
        FaultRule(
            "bandwidth",
            path="/upload/",
            host="upload",
            rate=bandwidth_mb * 1e6,
            direction="up",
            per="connection",
        ),
    ]


def bad_night() -> list[FaultRule]:
    return [
        FaultRule("error", path="/upload/", host="upload", status=503, probability=0.10),
        FaultRule("reset_after_store", path="/upload/", host="upload", probability=0.15),
    ]


def run_measured(name: str, folder: Path, emu: Emulator, journal: Path, crash: bool) -> dict[str, Any]:
    """Run one contender in its own process: wall time here, peak RSS as the contender reports it.

    curl's own memory is not included (curl streams from disk; the Python loop around it is tiny).
    """
    command = [
        sys.executable,
        "-m",
        "benchmarks.contenders",
        name,
        str(folder),
        "--base-url",
        emu.base_url,
        "--upload-url",
        emu.upload_url,
        "--token",
        emu.tokens["alice"],
        "--target",
        TARGET,
        "--oname",
        ONAME,
        "--journal",
        str(journal),
    ]
    if crash:
        command.append("--crash-on-error")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, _ = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = out.read().decode().strip().splitlines()
        error_text = err.read().decode()[-300:]
    result: dict[str, Any] = (
        json.loads(lines[-1]) if lines else {"ok": 0, "failed": None, "errors": [error_text]}
    )
    result.setdefault("peak_rss_mb", float("nan"))
    result["wall_s"] = round(wall, 2)
    return result


def stored_counts(emu: Emulator, frames: dict[str, Path]) -> tuple[int, int]:
    """(frames stored at least once, extra copies stored) according to the emulator."""
    present = duplicates = 0
    for sha in frames:
        copies = len(emu.state.dataproducts_by_sha256(sha))
        present += copies > 0
        duplicates += max(0, copies - 1)
    return present, duplicates


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--size-mb", type=float, default=8.0)
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per upload request")
    parser.add_argument("--bandwidth-mb", type=float, default=20.0, help="MB/s per connection, upload")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    names = [n for n in args.contenders.split(",") if n]
    report: dict[str, Any] = {"config": vars(args) | {"out": str(args.out)}, "scenarios": {}}
    with tempfile.TemporaryDirectory() as tmp, Emulator(seed=1, calibration_delays=(0.5, 0.5)) as emu:
        folder = Path(tmp) / "night"
        folder.mkdir()
        frames = make_frames(folder, args.files, args.size_mb)
        total_mb = args.files * args.size_mb
        for scenario, faults, crash in (
            ("clean network", network(args.latency, args.bandwidth_mb), False),
            ("bad night", network(args.latency, args.bandwidth_mb) + bad_night(), True),
        ):
            rows = {}
            for name in names:
                emu.clear_faults()
                emu.reset()
                for rule in faults:
                    emu.add_fault(rule)
                journal = Path(tmp) / f"{name}-{scenario.replace(' ', '-')}.sqlite3"
                result = run_measured(name, folder, emu, journal, crash)
                result["stored"], result["duplicates"] = stored_counts(emu, frames)
                result["missing"] = len(frames) - result["stored"]
                rows[name] = result
                print(
                    f"[{scenario}] {name:12s} {result['wall_s']:7.2f} s  peak {result['peak_rss_mb']:7.1f} MB"
                    f"  stored {result['stored']}/{len(frames)}  duplicates {result['duplicates']}",
                    flush=True,
                )
            baseline = rows.get("official", {}).get("wall_s")
            for row in rows.values():
                row["speedup_vs_official"] = round(baseline / row["wall_s"], 2) if baseline else None
            report["scenarios"][scenario] = rows
        print(
            f"\n{args.files} frames x {args.size_mb} MB = {total_mb:.0f} MB; "
            f"latency {args.latency} s/request, {args.bandwidth_mb} MB/s per connection"
        )
        for scenario, rows in report["scenarios"].items():
            print(f"\n{scenario}:")
            heads = ("wall s", "x official", "peak MB", "stored", "dupes")
            print(f"  {'contender':14s} " + " ".join(f"{h:>10s}" for h in heads))
            for name, row in rows.items():
                print(
                    f"  {name:14s} {row['wall_s']:8.2f} {row['speedup_vs_official'] or 0:10.2f}"
                    f" {row['peak_rss_mb']:8.1f} {row['stored']:7d} {row['duplicates']:6d}"
                )
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (args.out / f"upload-{stamp}.json").write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {args.out / f'upload-{stamp}.json'}")


if __name__ == "__main__":
    main()
