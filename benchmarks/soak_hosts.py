"""The many-hosts soak: `nox -s soak-hosts` or `python -m benchmarks.soak_hosts` (minutes; not a test).

Three `bhtom upload` workers (subprocesses) share one PostgreSQL journal (a real PostgreSQL 16
from `pgserver`) and one emulator, each seeing the night's folder through its own mount path
(a symlink), as three ingest hosts mounting one NAS would:

- 2,000 frames (the exactly-once soak's night: four folders holding the same 500 names);
- about 10 % of upload requests faulted (resets after the store, resets before the body, 503
  and 500 pages, truncated 2xx answers, 429s), 3 % of look-ups a 502, 50-250 ms of latency;
- the server's clock 11 minutes behind, and each worker's own clock skewed differently
  (-5 min, 0, +7 min; `skewed_cli`), while leases run on the database's clock;
- random ``kill -9`` of workers (each restarted on its mount), leases of 3 s;
- one PostgreSQL restart (immediate shutdown, every connection cut) mid-run;
- then runs until one ends with exit 0 (faults on for at most 6 runs, then cleared).

The check is the exactly-once soak's, on the emulator's state file by file: 0 lost, 0 stored
twice, nothing stored that is not a frame, every id a finished report claims (uploaded, or
skipped as already uploaded) holds that file's bytes. Figures go to
``benchmarks/results/<date>-soak-hosts.json``; README "Guarantees" quotes them.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bhtom_async.emulator import Emulator

from .soak import CAMERA, SKEW, TARGET, UPLOAD_FAULTS, check, cli_env, write_night, write_result

HERE = Path(__file__).resolve().parent
WORKER_SKEWS = (-300.0, 0.0, 420.0)  # each worker's clock against the real time, seconds
LEASE = 3.0


class Database:
    """A PostgreSQL 16 of its own (`pgserver`), restartable mid-run."""

    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pgserver's platformdirs warning without XDG_RUNTIME_DIR
            import pgserver

            self.server = pgserver.get_server(folder, cleanup_mode="stop")
        socket_dir = self.server.get_uri().split("host=", 1)[1]
        self.url = f"postgresql://postgres@/postgres?host={socket_dir}&lease={LEASE:g}"

    def restart(self) -> float:
        """Stop at once (every connection cut), start again; seconds it was down."""
        from pgserver._commands import pg_ctl

        started = time.monotonic()
        pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)
        time.sleep(1.0)
        self.server.ensure_postgres_running()
        return round(time.monotonic() - started, 2)

    def close(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.server.pgdata, ignore_errors=True)


class Hosts:
    """Starts workers on their mounts and keeps every finished run's report."""

    def __init__(self, emulator: Emulator, mounts: list[Path], journal: str, work: Path) -> None:
        self.emulator = emulator
        self.mounts = mounts
        self.journal = journal
        self.env = cli_env(emulator, work)
        self.reports: list[dict[str, Any]] = []
        self.exits: list[int] = []
        self.sent_by_worker: list[int] = []
        self.work = work
        self.started = 0
        self.outputs: dict[int, tuple[Any, Any]] = {}

    def start(self, host: int) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "benchmarks.skewed_cli", "--json", "upload", str(self.mounts[host]),
                   "--target", TARGET, "--observatory", CAMERA, "--journal", self.journal,
                   "--settle", "0", "--concurrency", "8", "--file-timeout", "120",
                   "--max-attempts", "6"]  # fmt: skip
        env = {**self.env, "BHTOM_SOAK_SKEW": str(WORKER_SKEWS[host])}
        self.started += 1
        # Files, not pipes: a worker's JSON report outgrows a pipe while the harness is polling.
        out = (self.work / f"run{self.started}.out").open("w+")
        err = (self.work / f"run{self.started}.err").open("w+")
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env, cwd=HERE.parent)
        self.outputs[process.pid] = (out, err)
        return process

    def finish(self, process: subprocess.Popen[str], timeout: float = 1800) -> dict[str, Any] | None:
        process.wait(timeout=timeout)
        files = self.outputs.pop(process.pid)
        for handle in files:
            handle.seek(0)
        out, err = (handle.read() for handle in files)
        for handle in files:
            handle.close()
        self.exits.append(process.returncode)
        if process.returncode < 0:
            return None  # killed: no report
        try:
            report: dict[str, Any] = json.loads(out)
        except json.JSONDecodeError:
            raise SystemExit(f"a run printed no JSON (exit {process.returncode}): {err[-2000:]}") from None
        self.reports.append(report)
        self.sent_by_worker.append(report.get("counts", {}).get("uploaded", 0))
        return report

    def uploads(self) -> int:
        return self.emulator.state.request_count("POST", "/upload/")


def _night_with_kills(hosts: Hosts, db: Database, kills: int, rng: random.Random) -> dict[str, Any]:
    """Three workers; kill -9 a random one every few dozen uploads (restarting it); one DB restart."""
    running = {h: hosts.start(h) for h in range(3)}
    killed = 0
    restart_at = rng.randint(400, 900)
    down_s: float | None = None
    next_kill = hosts.uploads() + rng.randint(40, 160)
    deadline = time.monotonic() + 1800
    while running and time.monotonic() < deadline:
        time.sleep(0.02)
        sent = hosts.uploads()
        if down_s is None and sent >= restart_at:
            down_s = db.restart()
        if killed < kills and sent >= next_kill:
            host = rng.choice(sorted(running))
            victim = running.pop(host)
            if victim.poll() is None:
                victim.send_signal(signal.SIGKILL)
                killed += 1
            hosts.finish(victim)
            running[host] = hosts.start(host)
            next_kill = sent + rng.randint(40, 160)
        for host, process in list(running.items()):
            if process.poll() is not None:
                hosts.finish(process)
                del running[host]
    for process in running.values():
        process.kill()
        hosts.finish(process)
    return {"kills": killed, "database_restart_after_uploads": restart_at, "database_down_s": down_s}


def _final_runs(hosts: Hosts, max_faulty_runs: int) -> dict[str, Any]:
    faulty = clean = 0
    while True:
        if faulty >= max_faulty_runs:
            hosts.emulator.clear_faults()
            clean += 1
        else:
            faulty += 1
        report = hosts.finish(hosts.start(0))
        if report is not None and report["exit_code"] == 0:
            listed = len(report.get("files", []))
            return {"runs_with_faults": faulty, "runs_without_faults": clean, "final_report_files": listed}
        if clean >= 3:
            return {"runs_with_faults": faulty, "runs_without_faults": clean, "unfinished": True}


def _doubled_detail(emulator: Emulator, db: Database, shas: dict[str, str]) -> list[dict[str, Any]]:
    """For each frame stored more than once: its products and its journal rows (to find out why)."""
    import psycopg

    from bhtom_async.upload.journal_url import split_options

    expected = set(shas.values())
    detail = []
    for sha in sorted(expected):
        stored = [p for p in emulator.state.dataproducts_by_sha256(sha) if not p.dry_run]
        if len(stored) < 2:
            continue
        name = stored[0].file_name.split("_", 1)[-1]
        with psycopg.connect(split_options(db.url)[0]) as conn:
            rows = conn.execute(
                "SELECT id, path, state, attempts, epoch, reason, sent_at, first_sent_at, server_offset "
                "FROM bhtom_uploads WHERE sha256=%s OR name=%s",
                (sha, name),
            ).fetchall()
        detail.append(
            {
                "products": [[p.id, str(p.created), p.file_name, p.comment] for p in stored],
                "rows": [[str(v) for v in row] for row in rows],
            }
        )
    return detail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak_hosts", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--frames-per-folder", type=int, default=500, help="x4 folders (default 500: 2,000)")
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bhtom-soak-hosts-") as tmp:
        work = Path(tmp)
        root = work / "nas" / "night"
        shas = write_night(root, args.frames_per_folder)
        mounts = []
        for name in ("alpha", "beta", "gamma"):
            mount = work / name / "mnt" / "night"
            mount.parent.mkdir(parents=True)
            mount.symlink_to(root, target_is_directory=True)
            mounts.append(mount)
        db_folder = Path(tempfile.mkdtemp(prefix="bhtom-soak-pg-"))
        db = Database(db_folder)
        try:
            with Emulator(
                seed=args.seed,
                calibration_delays=(3600.0, 3600.0),
                faults=UPLOAD_FAULTS,
                clock=lambda: time.time() + SKEW,
            ) as emulator:
                hosts = Hosts(emulator, mounts, db.url, work)
                night = _night_with_kills(hosts, db, args.kills, rng)
                first_night_shares = list(hosts.sent_by_worker)
                faults_fired = {
                    f"{rule.kind} {rule.host}{rule.path}": n for rule, n in emulator.faults_fired()
                }
                finished = _final_runs(hosts, max_faulty_runs=6)
                resolved = [
                    {
                        **r,
                        "files": [{**f, "path": str(Path(f["path"]).resolve())} for f in r.get("files", [])],
                    }
                    for r in hosts.reports
                ]
                figures = check(emulator, shas, resolved)
                figures["doubled_detail"] = _doubled_detail(emulator, db, shas)
                requests = emulator.state.request_count("POST", "/upload/")
                faults_fired = {
                    f"{rule.kind} {rule.host}{rule.path}": n for rule, n in emulator.faults_fired()
                }
        finally:
            db.close()
    figures.update(
        night=night,
        finish=finished,
        uploaded_by_each_finished_run=hosts.sent_by_worker,
        uploaded_by_runs_during_the_night=first_night_shares,
        runs=len(hosts.exits),
        exit_codes=hosts.exits,
        upload_requests=requests,
        server_clock_skew_s=SKEW,
        worker_clock_skews_s=list(WORKER_SKEWS),
        lease_s=LEASE,
        faults_fired=faults_fired,
        elapsed_s=round(time.monotonic() - started, 1),
    )
    passed = (
        figures["lost"] == 0
        and figures["doubled"] == 0
        and figures["not_a_frame"] == 0
        and figures["false_stored_claims"] == 0
        and not finished.get("unfinished")
        and finished.get("final_report_files") == len(shas)
    )
    figures["passed"] = passed
    write_result("soak-hosts", argv, figures)
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
