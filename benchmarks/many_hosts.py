"""The many-hosts benchmark: `python -m benchmarks.many_hosts` (minutes; not a test).

Three measurements, each in one run on one machine (timing claims are ratios):

1. *Workers*: a latency-bound night (400 small FITS frames, 250 ms per upload) sent by 1, 2 and 4
   `bhtom upload` processes of concurrency 8, each on its own mount path (a symlink) of one
   folder, sharing a PostgreSQL journal (`pgserver`), against the ideal
   ``n x latency / (workers x c)``. Wall time runs from starting the processes to the last exit
   (interpreter start-up included); each job's own time is kept too.
2. *Journal cost per file*: the journal calls one sent file costs (claim, find, begin, finish,
   release), in process, on SQLite and on PostgreSQL (a local socket).
3. *The single-host SQLite path against the base commit*: the same 400-file night with one job
   and a SQLite journal, with this tree's package and with the `--baseline` commit's
   (``git archive``), alternated three times; medians compared (goal: within 5 %).

Writes ``benchmarks/results/<date>-many-hosts.json``; the README table quotes it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from io import BytesIO
from pathlib import Path
from typing import Any

import anyio

from bhtom_async.emulator import Emulator
from bhtom_async.upload.discovery import Fingerprint
from bhtom_async.upload.journal import JournalKey
from bhtom_async.upload.journal_backend import open_journal

from . import machine
from .soak import cli_env
from .workload import ONAME, TARGET, latency, write_frames

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FILES = 400
LATENCY = 0.25
CONCURRENCY = 8
WORKERS = (1, 2, 4)

_JOB = """
import json, sys, time, anyio
from bhtom_async import Client, JobOptions, UploadOptions
from bhtom_async.upload import Uploader
a = json.loads(sys.argv[1])
async def main():
    async with Client(a["token"], base_url=a["base_url"], upload_url=a["upload_url"]) as bh:
        options = UploadOptions(target=a["target"], observatory=a["oname"])
        job = JobOptions(concurrency=a["concurrency"], journal=a["journal"], settle_time=0)
        started = time.perf_counter()
        summary = await Uploader(bh, a["folder"], options, job).run()
        print(json.dumps({"work_s": time.perf_counter() - started, "uploaded": summary.counts["uploaded"]}))
anyio.run(main)
"""


def _database(folder: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pgserver's platformdirs warning without XDG_RUNTIME_DIR
        import pgserver

        return pgserver.get_server(folder, cleanup_mode="stop")


def _fresh_database(server: Any, name: str) -> str:
    import psycopg

    socket_dir = server.get_uri().split("host=", 1)[1]
    with psycopg.connect(f"postgresql://postgres@/postgres?host={socket_dir}", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@/{name}?host={socket_dir}"


def workers_run(emu: Emulator, server: Any, folder: Path, work: Path, workers: int) -> dict[str, Any]:
    """`workers` CLI processes on their own mount paths, one shared journal; wall time and shares."""
    emu.reset()
    for rule in latency(LATENCY):
        emu.add_fault(rule)
    journal = _fresh_database(server, f"bench_w{workers}")
    mounts = []
    for index in range(workers):
        mount = work / f"w{workers}_{index}" / "night"
        mount.parent.mkdir(parents=True, exist_ok=True)
        if not mount.exists():
            mount.symlink_to(folder, target_is_directory=True)
        mounts.append(mount)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bhtom_async.cli",
                "--json",
                "upload",
                str(mount),
                "--target",
                TARGET,
                "--observatory",
                ONAME,
                "--settle",
                "0",
                "--concurrency",
                str(CONCURRENCY),
                "--journal",
                journal,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(emu, work),
        )
        for mount in mounts
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        if process.returncode != 0:
            raise SystemExit(f"a worker failed (exit {process.returncode}): {err[-1500:]}")
        reports.append(json.loads(out))
    wall = time.perf_counter() - started
    ideal = FILES * LATENCY / (workers * CONCURRENCY)
    stored = [p for p in emu.state.dataproducts() if p.target == TARGET and not p.dry_run]
    return {
        "workers": workers,
        "wall_s": round(wall, 2),
        "ideal_s": ideal,
        "wall_over_ideal": round(wall / ideal, 2),
        "job_s": [round(r["elapsed"], 2) if "elapsed" in r else None for r in reports],
        "shares": [r["counts"]["uploaded"] for r in reports],
        "stored": len(stored),
        "stored_twice": len(stored) - len({p.sha256 for p in stored}),
    }


async def _journal_cost(location: str, files: int) -> float:
    """Seconds of journal calls per sent file (claim, find, begin, finish, release)."""
    key = JournalKey(TARGET, ONAME, "fits_file")

    async def content() -> str:
        return os.urandom(32).hex()

    async with open_journal(location) as journal:
        started = time.perf_counter()
        for index in range(files):
            fp = Fingerprint(f"/night/f{index:05d}.fits", 30_000, index, 1, index)
            claim = await journal.claim(key, fp, f"f{index:05d}.fits", content)
            assert claim.granted
            await journal.find(key, fp)
            row = await journal.begin(key, fp, f"f{index:05d}.fits", server_offset=0.0, marker=None)
            await journal.finish(row.id, "uploaded", data_product_id=index, sha256="ab" * 32)
            await journal.release(key, fp)
        return (time.perf_counter() - started) / files


def _baseline_tree(ref: str, into: Path) -> Path:
    """The package as of `ref` (``git archive``), importable from `into`."""
    archive = subprocess.run(
        ["git", "archive", ref, "bhtom_async"], cwd=ROOT, check=True, capture_output=True
    )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def sqlite_single_host(emu: Emulator, folder: Path, work: Path, baseline: str, rounds: int) -> dict[str, Any]:
    """One job, a SQLite journal: this tree against `baseline`, alternated; medians of job time."""
    base_tree = _baseline_tree(baseline, work / "baseline")
    times: dict[str, list[float]] = {"this": [], "baseline": []}
    for round_ in range(rounds):
        for which, path in (("this", ROOT), ("baseline", base_tree)):
            emu.reset()
            for rule in latency(LATENCY):
                emu.add_fault(rule)
            args = {
                "token": emu.tokens["alice"], "base_url": emu.base_url, "upload_url": emu.upload_url,
                "target": TARGET, "oname": ONAME, "folder": str(folder), "concurrency": CONCURRENCY,
                "journal": str(work / f"{which}-{round_}.sqlite3"),
            }  # fmt: skip
            env = {**os.environ, "PYTHONPATH": str(path)}
            done = subprocess.run(
                [sys.executable, "-c", _JOB, json.dumps(args)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(done.stdout)
            assert result["uploaded"] == FILES, result
            times[which].append(result["work_s"])
    this, base = statistics.median(times["this"]), statistics.median(times["baseline"])
    return {
        "baseline": baseline,
        "rounds": rounds,
        "this_s": [round(t, 3) for t in times["this"]],
        "baseline_s": [round(t, 3) for t in times["baseline"]],
        "this_median_s": round(this, 3),
        "baseline_median_s": round(base, 3),
        "this_over_baseline": round(this / base, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.many_hosts", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--baseline", default="07d757a", help="commit the SQLite path is compared with")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bhtom-many-hosts-") as tmp:
        work = Path(tmp)
        folder = work / "nas" / "night"
        write_frames(folder, FILES, 30_000)
        server = _database(Path(tempfile.mkdtemp(prefix="bhtom-bench-pg-")))
        try:
            with Emulator(seed=1, calibration_delays=(3600.0, 3600.0)) as emu:
                scaling = [workers_run(emu, server, folder, work, w) for w in WORKERS]
                pg = _fresh_database(server, "bench_cost")
                cost = {
                    "sqlite_ms": round(anyio.run(_journal_cost, str(work / "cost.sqlite3"), FILES) * 1000, 3),
                    "postgresql_ms": round(anyio.run(_journal_cost, pg, FILES) * 1000, 3),
                }
                cost["postgresql_over_sqlite"] = round(cost["postgresql_ms"] / cost["sqlite_ms"], 2)
                cost["share_of_latency"] = round(cost["postgresql_ms"] / 1000 / LATENCY, 4)
                single = sqlite_single_host(emu, folder, work, args.baseline, args.rounds)
        finally:
            server.cleanup()
            shutil.rmtree(server.pgdata, ignore_errors=True)
    figures = {"workers": scaling, "journal_cost_per_file": cost, "sqlite_single_host": single}
    document = {
        "scenario": "many-hosts",
        "date": dt.date.today().isoformat(),
        "command": "python -m benchmarks.many_hosts " + " ".join(argv or sys.argv[1:]),
        "machine": machine.describe(),
        "params": {
            "files": FILES,
            "latency_s": LATENCY,
            "concurrency": CONCURRENCY,
            "workers": list(WORKERS),
        },
        "figures": figures,
    }
    out = HERE / "results" / f"{dt.date.today().isoformat()}-many-hosts.json"
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
