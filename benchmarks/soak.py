"""The exactly-once soak: `nox -s soak` or `python -m benchmarks.soak` (minutes; not a test).

An adversarial night against the local emulator, through the real `bhtom upload` command in
subprocesses, then a check of the emulator's state file by file:

- 2,000 frames: four folders (R, V, B, I) holding the same 500 names, some with characters the
  multipart encoding rewrites (``img "0100".fits``);
- the server's clock 11 minutes behind the client's (its ``Date`` header and creation stamps);
- about 10 % of upload requests meet a fault (reset after the server stored the file, reset
  before the body, 503 and Django 500 pages, a truncated 2xx, 429 with ``Retry-After``), 3 % of
  look-ups a 502, and every upload 50-250 ms of latency;
- two overlapping runs on one journal (the second refuses at once), and a third that waits for
  the journal (``--journal-wait``) while the first is killed;
- 20 ``kill -9`` cycles, each once its run has sent a random 20-120 uploads (so uploads are in
  flight, some with their answers lost); the first half with ``--check-server`` (same-named
  frames across folders, rows left ``sending`` by the kills, and the server check together);
- a colleague during the second half: another process with its own journal (another machine)
  uploading 100 frames of its own under the same names to the same target and camera, through
  the same faults, until its own run ends with exit 0;
- then runs until one ends with every file uploaded (the faults stay on for at most 12 runs,
  then are cleared; the figures say how many runs each took);
- a camera that writes then renames (``NAME.fits.tmp`` written in pieces, renamed to
  ``NAME.fits``) into a folder watched by ``bhtom upload --watch``, through the same faults, the
  watcher killed with ``kill -9`` halfway and started again, then runs until one ends with exit 0.

The check: every frame's content (ours, the colleague's and the renamed ones) is stored exactly
once (0 lost, 0 doubled, nothing stored that is not one of the frames), no watched run reports a
vanished ``.tmp`` file as failed, and every ``uploaded`` outcome (and
every ``skipped`` one naming an id: already uploaded) in every finished run's report names a
product holding that file's bytes.
Figures go to ``benchmarks/results/<date>-soak.json``; the README's **Guarantees** section
quotes them. Exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bhtom_async.cli.fits_synth import FrameSpec, write_frame
from bhtom_async.emulator import Emulator, FaultRule

from . import machine

HERE = Path(__file__).resolve().parent
TARGET = "Gaia22bpl"
CAMERA = "HarnessObs_HarnessCam"
FOLDERS = ("R", "V", "B", "I")
SKEW = -660.0  # the server's clock, seconds from ours

UPLOAD_FAULTS = [
    FaultRule(kind="reset_after_store", host="upload", path="/upload/", probability=0.03),
    FaultRule(kind="reset_before_body", host="upload", path="/upload/", probability=0.02),
    FaultRule(kind="error", host="upload", path="/upload/", status=503, probability=0.02),
    FaultRule(kind="error", host="upload", path="/upload/", status=500, probability=0.01),
    FaultRule(kind="truncate", host="upload", path="/upload/", probability=0.01),
    FaultRule(kind="throttle", host="upload", path="/upload/", retry_after=1, probability=0.01),
    FaultRule(kind="error", host="main", path="/common/api/data/", status=502, probability=0.03),
    FaultRule(kind="latency", host="upload", path="/upload/", seconds=0.05, seconds_max=0.25),
]


def _frame_names(per_folder: int) -> list[str]:
    return [f'img "{i:04d}".fits' if i % 100 == 0 else f"img_{i:04d}.fits" for i in range(per_folder)]


def write_night(
    root: Path, per_folder: int, folders: tuple[str, ...] = FOLDERS, seed: int = 0
) -> dict[str, str]:
    """The frames on disk; path -> sha256 of its bytes (every frame's content is distinct)."""
    shas: dict[str, str] = {}
    for folder in folders:
        (root / folder).mkdir(parents=True)
        for name in _frame_names(per_folder):
            seed += 1
            spec = FrameSpec(target=TARGET, mjd=60827.5 + seed * 1e-4, filter=folder, seed=seed, size=32)
            path = write_frame(spec, root / folder / name, use_astropy=False)
            shas[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return shas


def write_result(scenario: str, argv: list[str] | None, figures: dict[str, Any]) -> Path:
    """Write `results/<date>-<scenario>.json` (command, machine, figures) and print the figures."""
    document = {
        "scenario": scenario,
        "date": dt.date.today().isoformat(),
        "command": f"python -m benchmarks.{scenario.replace('-', '_')} " + " ".join(argv or sys.argv[1:]),
        "machine": machine.describe(),
        "figures": figures,
    }
    out = HERE / "results" / f"{dt.date.today().isoformat()}-{scenario}.json"
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return out


def cli_env(emulator: Emulator, work: Path) -> dict[str, str]:
    """The environment of a `bhtom` process run against `emulator`: alice's token, its hosts, and
    a config file and state folder of its own under `work` (no BHTOM_ variable of the caller's)."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("BHTOM_")}
    return {
        **keep,
        "BHTOM_TOKEN": emulator.tokens["alice"],
        "BHTOM_BASE_URL": emulator.base_url,
        "BHTOM_UPLOAD_URL": emulator.upload_url,
        "BHTOM_CONFIG": str(work / "config.toml"),
        "XDG_STATE_HOME": str(work / "state"),
    }


class Soak:
    """Runs `bhtom upload` against one emulator and keeps every finished run's report."""

    def __init__(self, emulator: Emulator, root: Path, work: Path, journal: str = "night.sqlite3") -> None:
        self.emulator = emulator
        self.root = root
        self.journal = work / journal
        self.env = cli_env(emulator, work)
        self.reports: list[dict[str, Any]] = []
        self.exits: list[int] = []
        self.faults_fired: dict[str, int] = {}

    def note_faults(self) -> None:
        """Remember how often each fault fired (clearing the rules forgets it)."""
        for rule, fired in self.emulator.faults_fired():
            name = (
                f"{rule.kind}{'' if rule.kind != 'error' else ' ' + str(rule.status)} {rule.host}{rule.path}"
            )
            self.faults_fired[name] = self.faults_fired.get(name, 0) + fired

    def start(self, *extra: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "bhtom_async.cli", "--json", "upload", str(self.root),
                   "--target", TARGET, "--observatory", CAMERA, "--journal", str(self.journal),
                   "--settle", "0", "--concurrency", "8", "--file-timeout", "120", *extra]  # fmt: skip
        pipe = subprocess.PIPE
        return subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True, env=self.env)

    def finish(self, process: subprocess.Popen[str], timeout: float = 1800) -> dict[str, Any] | None:
        out, err = process.communicate(timeout=timeout)
        self.exits.append(process.returncode)
        if process.returncode < 0:
            return None  # killed: no report
        try:
            report: dict[str, Any] = json.loads(out)
        except json.JSONDecodeError:
            raise SystemExit(f"a run printed no JSON (exit {process.returncode}): {err[-2000:]}") from None
        report["_stderr"] = err
        self.reports.append(report)
        return report

    def uploads(self) -> int:
        """Upload requests the emulator has received so far."""
        return self.emulator.state.request_count("POST", "/upload/")

    def kill(self, process: subprocess.Popen[str]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        self.finish(process)


def _overlap(soak: Soak) -> dict[str, Any]:
    """Run 1 uploads; run 2 on the same journal refuses; run 3 waits, takes over when 1 is killed."""
    first = soak.start()
    time.sleep(1.5)
    second = soak.start()
    refused = soak.finish(second)
    third = soak.start("--journal-wait", "600")
    time.sleep(1.0)
    soak.kill(first)
    time.sleep(2.0)
    soak.kill(third)
    assert refused is not None
    counts = refused.get("counts", {})  # a refusal before the job is an error document
    return {
        "second_run_exit": refused["exit_code"],
        "second_run_error": refused.get("type"),
        "second_run_message": refused.get("error"),
        "second_run_sent": sum(counts.get(k, 0) for k in ("uploaded", "unknown", "failed")),
    }


def _kill_cycles(soak: Soak, cycles: int, rng: random.Random, *extra: str) -> list[int]:
    """Start a run; kill -9 it once it has sent a random 20-120 more uploads (mid-flight)."""
    sent_before_kill = []
    for _ in range(cycles):
        before = soak.uploads()
        wanted = rng.randint(20, 120)
        process = soak.start(*extra)
        deadline = time.monotonic() + 120
        while soak.uploads() - before < wanted and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        soak.kill(process)
        sent_before_kill.append(soak.uploads() - before)
    return sent_before_kill


def _finish_night(soak: Soak, max_faulty_runs: int) -> dict[str, Any]:
    faulty = clean = 0
    while True:
        if faulty >= max_faulty_runs:
            soak.note_faults()
            soak.emulator.clear_faults()
            clean += 1
        else:
            faulty += 1
        report = soak.finish(soak.start())
        if report is not None and report["exit_code"] == 0:
            return {"runs_with_faults": faulty, "runs_without_faults": clean, "last_counts": report["counts"]}
        if clean >= 3:
            left = [f for f in (report or {}).get("files", []) if f["status"] != "skipped"]
            return {
                "runs_with_faults": faulty,
                "runs_without_faults": clean,
                "unfinished": True,
                "left": [{k: f.get(k) for k in ("path", "status", "reason", "candidates")} for f in left[:5]],
            }


def _colleague_finishes(colleague: Soak, first: subprocess.Popen[str]) -> dict[str, Any]:
    """The colleague's first run ends by itself; it runs again until one exits 0 (at most 15 runs)."""
    report = colleague.finish(first)
    while (report is None or report["exit_code"] != 0) and len(colleague.exits) < 15:
        report = colleague.finish(colleague.start())
    return {"runs": len(colleague.exits), "exit_codes": colleague.exits}


def _watched_renames(
    emulator: Emulator, work: Path, rng: random.Random, count: int
) -> tuple[dict[str, str], Soak, dict[str, Any]]:
    """A camera writes `count` frames as NAME.fits.tmp, then renames each to NAME.fits, while
    `bhtom upload --watch` watches the folder; the watcher is killed (-9) halfway and restarted.
    Then runs (the faults on) until one exits 0. Returns the frames' hashes, the runs and figures."""
    folder = work / "camera"
    folder.mkdir()
    watch = Soak(emulator, folder, work, journal="camera.sqlite3")
    shas: dict[str, str] = {}

    def write(i: int) -> None:
        spec = FrameSpec(target=TARGET, mjd=60828.5 + i * 1e-4, filter="R", seed=50_000 + i, size=32)
        temporary = write_frame(spec, folder / f"cam_{i:04d}.fits.tmp", use_astropy=False)
        final = folder / f"cam_{i:04d}.fits"
        os.replace(temporary, final)
        shas[str(final)] = hashlib.sha256(final.read_bytes()).hexdigest()

    watching = ("--watch", "--idle-exit", "4s", "--settle", "0.5")
    first = watch.start(*watching)
    time.sleep(1.5)  # the watcher is up
    for i in range(count // 2):
        write(i)
        time.sleep(rng.uniform(0.0, 0.05))
    watch.kill(first)
    second = watch.start(*watching)
    time.sleep(1.5)
    for i in range(count // 2, count):
        write(i)
        time.sleep(rng.uniform(0.0, 0.05))
    watch.finish(second)
    while watch.exits[-1] != 0 and len(watch.exits) < 12:
        watch.finish(watch.start())
    vanished_failures = sum(
        1
        for report in watch.reports
        for file in report.get("files", [])
        if file["status"] == "failed" and str(file["path"]).endswith(".tmp")
    )
    figures = {
        "frames": count,
        "exit_codes": watch.exits,
        "tmp_files_reported_failed": vanished_failures,
    }
    return shas, watch, figures


def check(emulator: Emulator, shas: dict[str, str], reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Every frame (ours and the colleague's, in `shas`) stored once; every `uploaded` claim true."""
    products = [p for p in emulator.state.dataproducts() if p.target == TARGET and not p.dry_run]
    stored: dict[str, list[int]] = {}
    for product in products:
        stored.setdefault(product.sha256, []).append(product.id)
    by_id = {p.id: p.sha256 for p in products}
    expected = set(shas.values())
    claims = false_claims = 0
    examples: list[dict[str, Any]] = []
    for report in reports:
        for file in report.get("files", []):
            # "uploaded", and "skipped" as already uploaded: both claim the id holds this file.
            if file["status"] not in ("uploaded", "skipped") or file["data_product_id"] is None:
                continue
            claims += 1
            if by_id.get(file["data_product_id"]) != shas.get(str(Path(file["path"]).absolute())):
                false_claims += 1
                if len(examples) < 5:
                    held = by_id.get(file["data_product_id"])
                    owner = next((p for p, sha in shas.items() if sha == held), None)
                    keys = ("path", "status", "reason", "data_product_id", "reconciled")
                    examples.append({**{k: file.get(k) for k in keys}, "id_holds": owner})
    return {
        "frames": len(shas),
        "stored_products": len(products),
        "lost": len(expected - set(stored)),
        "doubled": sum(1 for sha in expected if len(stored.get(sha, [])) > 1),
        "extra_copies": sum(len(ids) - 1 for ids in stored.values() if len(ids) > 1),
        "not_a_frame": sum(len(ids) for sha, ids in stored.items() if sha not in expected),
        "stored_claims_checked": claims,
        "false_stored_claims": false_claims,
        "false_claim_examples": examples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--frames-per-folder", type=int, default=500, help="x4 folders (default 500: 2,000)")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--renamed-frames", type=int, default=200, help="written then renamed, watched")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bhtom-soak-") as tmp:
        work = Path(tmp)
        root = work / "night"
        shas = write_night(root, args.frames_per_folder)
        theirs = work / "colleague"  # their own frames under our names (img_0000.fits ...)
        colleague_shas = write_night(theirs, 100, ("C",), seed=10_000)
        with Emulator(
            seed=args.seed,
            calibration_delays=(3600.0, 3600.0),
            faults=UPLOAD_FAULTS,
            clock=lambda: time.time() + SKEW,
        ) as emulator:
            soak = Soak(emulator, root, work)
            overlap = _overlap(soak)
            checked = args.kills // 2
            kills = _kill_cycles(soak, checked, rng, "--check-server")
            colleague = Soak(emulator, theirs, work, journal="colleague.sqlite3")
            their_run = colleague.start("--concurrency", "2")
            kills += _kill_cycles(soak, args.kills - checked, rng)
            their_runs = _colleague_finishes(colleague, their_run)
            finished = _finish_night(soak, max_faulty_runs=12)
            camera_shas, camera, renamed = _watched_renames(emulator, work, rng, args.renamed_frames)
            figures = check(
                emulator,
                shas | colleague_shas | camera_shas,
                soak.reports + colleague.reports + camera.reports,
            )
            soak.note_faults()
            requests = emulator.state.request_count("POST", "/upload/")
            lookups = emulator.state.request_count("POST", "/common/api/data/")
    figures.update(
        overlap=overlap,
        uploads_sent_before_each_kill=kills,
        kills_with_check_server=checked,
        colleague={"frames": len(colleague_shas), "same_names_as_ours": True, **their_runs},
        renamed_under_watch=renamed,
        finish=finished,
        runs=len(soak.exits),
        exit_codes=soak.exits,
        upload_requests=requests,
        lookup_requests=lookups,
        server_clock_skew_s=SKEW,
        faults_fired=soak.faults_fired,
        elapsed_s=round(time.monotonic() - started, 1),
    )
    passed = (
        figures["lost"] == 0
        and figures["doubled"] == 0
        and figures["not_a_frame"] == 0
        and figures["false_stored_claims"] == 0
        and overlap["second_run_exit"] == 3
        and overlap["second_run_error"] == "JournalBusyError"
        and overlap["second_run_sent"] == 0
        and not finished.get("unfinished")
        and their_runs["exit_codes"][-1] == 0
        and renamed["exit_codes"][-1] == 0
        and renamed["tmp_files_reported_failed"] == 0
    )
    figures["passed"] = passed
    out = write_result("soak", argv, figures)
    print(f"{'PASSED' if passed else 'FAILED'}; written to {out.relative_to(HERE.parent)}")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
