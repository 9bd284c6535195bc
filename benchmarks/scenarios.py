"""The eight scenarios. Each starts its own emulator, runs its contenders one after another (each
in its own process) and returns its parameters, its runs and the figures derived from them.

Sizes come from `Sizes`: `FULL` is the issue's workload (about 8 minutes on 2 cores), `QUICK` a
small copy of every scenario (under 2 minutes) that exercises the same code.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bhtom_async.emulator import Emulator, FaultRule

from . import figures as fig
from .runner import run_contender
from .workload import MB, ONAME, TARGET, bad_night, latency, link_cap, write_catalogues, write_frames

__all__ = ["FULL", "QUICK", "SCENARIOS", "Context", "Sizes"]

Run = dict[str, Any]
Outcome = dict[str, Any]


@dataclass(frozen=True)
class Sizes:
    """Workload sizes of one benchmark run (`FULL` or `QUICK`)."""

    latency_files: int = 400
    latency_file_bytes: int = 30_000
    latency_s: float = 0.25
    latency_concurrency: tuple[int, ...] = (4, 16, 32)
    #: Where the latency goals are judged, the wire floor runs too (what any client can reach).
    latency_floor_concurrency: tuple[int, ...] = (16, 32)
    bandwidth_sets: tuple[tuple[str, int, int], ...] = (
        ("large", 8, 256 * MB),
        ("medium", 8, 64 * MB),
        ("small", 8, 16 * MB),
    )
    bandwidth_concurrency: int = 4
    capped_files: int = 8
    capped_file_bytes: int = 16 * MB
    capped_mb_s: float = 50.0
    poll_ids: int = 5000
    poll_window_s: float = 60.0
    poll_time_scale: float = 4.0
    list_pages: int = 50
    list_page_latency_s: float = 0.2
    scale_files: int = 20_000
    night_frames: int = 24
    night_frame_bytes: int = 2 * MB
    night_latency_s: float = 0.25
    night_mb_s: float = 20.0
    night_groups: tuple[str, ...] = ("clean", "clean_per_connection", "bad_night")


FULL = Sizes()
QUICK = Sizes(
    latency_files=64,
    latency_s=0.1,
    bandwidth_sets=(("large", 4, 32 * MB), ("medium", 4, 16 * MB), ("small", 4, 8 * MB)),
    capped_files=4,
    capped_file_bytes=8 * MB,
    poll_ids=1000,
    poll_window_s=20.0,
    list_pages=10,
    list_page_latency_s=0.1,
    scale_files=1000,
    night_frames=8,
    night_frame_bytes=1 * MB,
    night_groups=("clean", "bad_night"),
)


@dataclass
class Context:
    """What every scenario gets: sizes, a scratch folder, a logger, and results of this invocation."""

    sizes: Sizes
    scratch: Path
    log: Callable[[str], None] = print
    done: dict[str, Outcome] = field(default_factory=dict)


def _job(emu: Emulator, contender: str, folder: Path, **extra: Any) -> dict[str, Any]:
    return {
        "contender": contender,
        "kind": "upload",
        "base_url": emu.base_url,
        "upload_url": emu.upload_url,
        "token": emu.tokens["alice"],
        "target": TARGET,
        "oname": ONAME,
        "folder": str(folder),
        "pattern": "*.fits",
        "data_product_type": "fits_file",
        "concurrency": 1,
        "journal": ":memory:",
        **extra,
    }


def _label(contender: str, concurrency: int) -> str:
    return (
        f"{contender}@{concurrency}"
        if contender in ("bhtom_async", "bhtom_async_unhashed", "curl", "curl_hashed", "wire_floor")
        and concurrency > 1
        else contender
    )


def _upload_run(
    ctx: Context,
    emu: Emulator,
    contender: str,
    folder: Path,
    *,
    group: str,
    faults: Sequence[FaultRule] = (),
    size: int = 0,
    files: int = 0,
    **extra: Any,
) -> Run:
    """Reset the emulator, arm `faults`, run one upload contender, and describe the run."""
    emu.reset()
    for rule in faults:
        emu.add_fault(rule)
    job = _job(emu, contender, folder, **extra)
    result = run_contender(job, control=bool(extra.get("heartbeat")))
    run: Run = {
        "label": _label(contender, job["concurrency"]),
        "contender": contender,
        "concurrency": job["concurrency"],
        "group": group,
        "files": files,
        "bytes": size,
        **result,
    }
    run.pop("yielded_at", None)
    ctx.log(
        f"  [{group}] {run['label']:<16} {run['work_s']:8.2f} s  cpu {run['cpu_s']:6.2f} s"
        f"  peak {run['peak_rss_mb']:7.1f} MB  ok {run['ok']}/{files}"
    )
    return run


def _sizes_of(paths: Sequence[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


# ---- 1. latency-bound -------------------------------------------------------------------------


def latency_bound(ctx: Context) -> Outcome:
    """400 small photometry files, 250 ms per upload, at several concurrencies and the official way."""
    s = ctx.sizes
    params = {
        "files": s.latency_files,
        "file_bytes": s.latency_file_bytes,
        "latency_s": s.latency_s,
        "concurrency": list(s.latency_concurrency),
        "network": "upload latency only (no bandwidth cap)",
        "data_product_type": "photometry",
    }
    folder = ctx.scratch / "latency"
    paths = write_catalogues(folder, s.latency_files, s.latency_file_bytes)
    size = _sizes_of(paths)
    common = {"pattern": "*.cat", "data_product_type": "photometry", "mjd": 60000.5}
    runs = []
    with Emulator(seed=1, calibration_delays=(600.0, 600.0)) as emu:
        plan = [
            ("official", 1),
            *(("bhtom_async", c) for c in s.latency_concurrency),
            *(("wire_floor", c) for c in s.latency_floor_concurrency),
            ("naive_async", 1),
        ]
        for contender, concurrency in plan:
            runs.append(
                _upload_run(
                    ctx,
                    emu,
                    contender,
                    folder,
                    group="latency",
                    faults=latency(s.latency_s),
                    size=size,
                    files=len(paths),
                    concurrency=concurrency,
                    **common,
                )
            )
    shutil.rmtree(folder, ignore_errors=True)
    return {"params": params, "runs": runs, "figures": fig.latency_figures(params, runs)}


# ---- 2 + 4. bandwidth-bound, with the event-loop heartbeat -------------------------------------


def _sha256_cpu_s_per_gb(path: Path) -> float:
    """CPU seconds per GB to read and SHA-256 `path` in 512 KiB reads: the floor of the client's
    own work, since it hashes every byte it sends for the journal."""
    digest = hashlib.sha256()
    started = time.process_time()
    with path.open("rb") as handle:
        while chunk := handle.read(512 * 1024):
            digest.update(chunk)
    return round((time.process_time() - started) / (path.stat().st_size / 1e9), 3)


def _bandwidth_runs(ctx: Context, contenders: Sequence[str]) -> tuple[dict[str, Any], list[Run]]:
    s = ctx.sizes
    c = s.bandwidth_concurrency
    params: dict[str, Any] = {
        "sets": {name: {"files": n, "file_bytes": size} for name, n, size in s.bandwidth_sets},
        "concurrency": c,
        "network": "loopback, no cap",
    }
    runs = []
    with Emulator(seed=1, calibration_delays=(600.0, 600.0)) as emu:
        for name, count, size in s.bandwidth_sets:
            folder = ctx.scratch / f"bandwidth-{name}"
            paths = write_frames(folder, count, size)
            total = _sizes_of(paths)
            if name == s.bandwidth_sets[0][0]:
                params["sha256_cpu_s_per_gb"] = _sha256_cpu_s_per_gb(paths[0])  # outside every run
            for contender in contenders:
                if contender == "naive_async" and name != s.bandwidth_sets[-1][0]:
                    continue  # it holds every file in memory at once: only the smallest set
                if contender in ("bhtom_async_unhashed", "curl_hashed") and name == s.bandwidth_sets[-1][0]:
                    continue  # what hashing costs, each way round: on the sets with goals only
                concurrency = 1 if contender in ("official", "naive_async") else c
                runs.append(
                    _upload_run(
                        ctx,
                        emu,
                        contender,
                        folder,
                        group=name,
                        size=total,
                        files=count,
                        concurrency=concurrency,
                        heartbeat=contender == "bhtom_async",
                    )
                )
            emu.reset()
            shutil.rmtree(folder, ignore_errors=True)
    return params, runs


def bandwidth_bound(ctx: Context) -> Outcome:
    """8 x 256 MB and 8 x 64 MB FITS, no cap, concurrency 4: throughput and CPU per GB against
    curl's in the same run; memory from 16 MB to 256 MB frames. `bhtom_async_unhashed` (the same
    upload without its SHA-256, measurement only) and `curl_hashed` (curl after an openssl
    SHA-256 of each file) show what the hash costs."""
    contenders = ("curl", "curl_hashed", "bhtom_async", "bhtom_async_unhashed", "official", "naive_async")
    params, runs = _bandwidth_runs(ctx, contenders)
    return {"params": params, "runs": runs, "figures": fig.bandwidth_figures(params, runs)}


def loop_lag(ctx: Context) -> Outcome:
    """Event-loop lag in the bhtom_async process during scenario 2 (its own run if 2 did not run)."""
    bandwidth = ctx.done.get("bandwidth")
    if bandwidth is not None:
        params, runs = bandwidth["params"], bandwidth["runs"]
    else:
        params, runs = _bandwidth_runs(ctx, ("bhtom_async",))
    ours = [r for r in runs if r["contender"] == "bhtom_async"]
    params = {**params, "heartbeat_interval_ms": 5.0, "source": "the bhtom_async runs of scenario 2"}
    return {"params": params, "runs": ours, "figures": fig.loop_lag_figures(ours)}


# ---- 3. capped link ---------------------------------------------------------------------------


def capped_link(ctx: Context) -> Outcome:
    """A link capped at 50 MB/s in total (the default model), and per connection (second line)."""
    s = ctx.sizes
    c = s.bandwidth_concurrency
    params = {
        "cap_mb_s": s.capped_mb_s,
        "files": s.capped_files,
        "file_bytes": s.capped_file_bytes,
        "concurrency": c,
        "groups": {
            "total": f"{s.capped_mb_s:g} MB/s shared by all connections",
            "per_connection": f"{s.capped_mb_s / c:g} MB/s per connection ({s.capped_mb_s:g} MB/s at {c})",
        },
    }
    folder = ctx.scratch / "capped"
    paths = write_frames(folder, s.capped_files, s.capped_file_bytes)
    total = _sizes_of(paths)
    runs = []
    with Emulator(seed=1, calibration_delays=(600.0, 600.0)) as emu:
        for group, rules in (
            ("total", link_cap(s.capped_mb_s * MB, per="total")),
            ("per_connection", link_cap(s.capped_mb_s * MB / c, per="connection")),
        ):
            for contender in ("official", "curl", "bhtom_async"):
                concurrency = 1 if contender == "official" else c
                runs.append(
                    _upload_run(
                        ctx,
                        emu,
                        contender,
                        folder,
                        group=group,
                        faults=rules,
                        size=total,
                        files=len(paths),
                        concurrency=concurrency,
                    )
                )
    shutil.rmtree(folder, ignore_errors=True)
    return {"params": params, "runs": runs, "figures": fig.capped_figures(params, runs)}


# ---- 5. poller --------------------------------------------------------------------------------


def poller(ctx: Context) -> Outcome:
    """5,000 ids finishing at random times over 60 s, on a compressed clock."""
    s = ctx.sizes
    params: dict[str, Any] = {
        "ids": s.poll_ids,
        "window_s": s.poll_window_s,
        "time_scale": s.poll_time_scale,
        "batch": 200,
        "clock": f"emulator and client clocks both run {s.poll_time_scale:g}x real time",
    }
    with Emulator(
        seed=1,
        calibration_delays=(0.0, 0.0),
        calibration_spread=s.poll_window_s,
        time_scale=s.poll_time_scale,
    ) as emu:
        ids = emu.add_dataproducts(s.poll_ids)
        job = {
            "contender": "bhtom_async",
            "kind": "poll",
            "base_url": emu.base_url,
            "upload_url": emu.upload_url,
            "token": emu.tokens["alice"],
            "ids": ids,
            "time_scale": s.poll_time_scale,
            "time_origin": emu.time_origin,
            "timeout": 600.0,
        }
        result = run_contender(job)
        wanted = set(ids)
        finished = {p.id: p.calibrated_at for p in emu.state.dataproducts() if p.id in wanted}
        server_requests = emu.state.request_count("POST", "/calibration/get-calibration-res/")
    yielded = {int(k): v for k, v in result.pop("yielded_at").items()}
    finished_at = {k: v for k, v in finished.items() if v is not None}
    rounds = result.pop("rounds")
    figures = fig.poller_figures(params, rounds, yielded, finished_at)
    figures["server_requests"] = server_requests
    run = {"label": "bhtom_async", "contender": "bhtom_async", "group": "poller", **result}
    details = {"rounds": [{**r, "expected": -(-r["pending"] // 200)} for r in rounds]}
    ctx.log(
        f"  [poller] {len(rounds)} rounds, {figures['total_requests']} requests, "
        f"delay p50 {figures['delay_p50_s']} s, p99 {figures['delay_p99_s']} s"
    )
    return {"params": params, "runs": [run], "figures": figures, "details": details}


# ---- 6. listing -------------------------------------------------------------------------------


def listing(ctx: Context) -> Outcome:
    """A 50-page target list with 200 ms per page, against 50 x 0.2 s one page at a time."""
    s = ctx.sizes
    params = {"pages": s.list_pages, "page_latency_s": s.list_page_latency_s, "page_size": 200}
    runs = []
    with Emulator(seed=1) as emu:
        emu.add_targets(s.list_pages * 200 - len(emu.state.target_names()))
        emu.add_fault(
            FaultRule("latency", path="/targets/getTargetList/", host="main", seconds=s.list_page_latency_s)
        )
        for contender in ("official", "bhtom_async"):
            job = {
                "contender": contender,
                "kind": "list",
                "base_url": emu.base_url,
                "upload_url": emu.upload_url,
                "token": emu.tokens["alice"],
            }
            result = run_contender(job)
            runs.append({"label": contender, "contender": contender, "group": "listing", **result})
            ctx.log(f"  [listing] {contender:<16} {result['work_s']:8.2f} s  rows {result['ok']}")
    return {"params": params, "runs": runs, "figures": fig.listing_figures(params, runs)}


# ---- 7. scale of a night ----------------------------------------------------------------------


def scale(ctx: Context) -> Outcome:
    """20,000 small FITS files in one folder: uploaded once, then a re-run that skips them all."""
    s = ctx.sizes
    params = {"files": s.scale_files, "file_bytes": 2 * 2880, "concurrency": 8, "network": "loopback"}
    folder = ctx.scratch / "scale"
    paths = write_frames(folder, s.scale_files, 2880, prefix="small")
    fsync_ms = _fsync_ms(ctx.scratch)
    journal = ctx.scratch / "scale-journal.sqlite3"
    runs = []
    with Emulator(seed=1, calibration_delays=(0.5, 0.5)) as emu:
        for group in ("first", "rerun"):
            job = _job(emu, "bhtom_async", folder, concurrency=8, journal=str(journal))
            result = run_contender(job)
            run = {"label": "bhtom_async@8", "contender": "bhtom_async", "group": group, "files": len(paths)}
            runs.append({**run, **result})
            ctx.log(
                f"  [{group}] {result['work_s']:8.2f} s  uploaded {result['ok']} skipped {result['skipped']}"
                f"  peak {result['peak_rss_mb']} MB"
            )
    shutil.rmtree(folder, ignore_errors=True)
    journal.unlink(missing_ok=True)
    figures = {**fig.scale_figures(params, runs), "disk_fsync_ms": fsync_ms}
    return {"params": params, "runs": runs, "figures": figures}


def _fsync_ms(folder: Path, count: int = 50) -> float:
    """Mean time of a small write + fsync in `folder`: what each journal commit waits for."""
    probe = folder / "fsync-probe"
    with probe.open("wb") as handle:
        started = time.perf_counter()
        for _ in range(count):
            handle.write(b"x" * 100)
            handle.flush()
            os.fsync(handle.fileno())
        elapsed = time.perf_counter() - started
    probe.unlink()
    return round(elapsed / count * 1000, 3)


# ---- 8. a night, clean and bad ----------------------------------------------------------------


def _stored(emu: Emulator, shas: Sequence[str]) -> tuple[int, int]:
    """(frames stored at least once, extra copies stored) according to the emulator."""
    copies = Counter(p.sha256 for p in emu.state.dataproducts() if not p.dry_run)
    return sum(1 for sha in shas if copies[sha]), sum(max(0, copies[sha] - 1) for sha in shas)


def night(ctx: Context) -> Outcome:
    """Every contender on a night of frames: clean link (shared cap), per-connection cap, bad night."""
    s = ctx.sizes
    rate = s.night_mb_s * MB
    lines: dict[str, list[FaultRule]] = {
        "clean": latency(s.night_latency_s) + link_cap(rate, per="total"),
        "clean_per_connection": latency(s.night_latency_s) + link_cap(rate, per="connection"),
        "bad_night": latency(s.night_latency_s) + link_cap(rate, per="total") + bad_night(),
    }
    params = {
        "frames": s.night_frames,
        "frame_bytes": s.night_frame_bytes,
        "latency_s": s.night_latency_s,
        "link_mb_s": s.night_mb_s,
        "groups": list(s.night_groups),
        "lines": {
            "clean": f"{s.night_latency_s} s per upload, {s.night_mb_s:g} MB/s shared by all connections",
            "clean_per_connection": f"{s.night_latency_s} s per upload, {s.night_mb_s:g} MB/s per connection",
            "bad_night": "clean, plus 10 % 503 pages and 15 % connections reset after the store",
        },
    }
    folder = ctx.scratch / "night"
    paths = write_frames(folder, s.night_frames, s.night_frame_bytes)
    shas = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    total = _sizes_of(paths)
    contenders = [
        ("official", 1),
        ("curl", 1),
        ("naive_async", 1),
        ("naive_retry", 1),
        ("bhtom_async", 4),
        ("bhtom_async", 8),
    ]
    runs = []
    with Emulator(seed=1, calibration_delays=(0.5, 0.5)) as emu:
        for group in s.night_groups:
            for contender, concurrency in contenders:
                run = _upload_run(
                    ctx,
                    emu,
                    contender,
                    folder,
                    group=group,
                    faults=lines[group],
                    size=total,
                    files=len(paths),
                    concurrency=concurrency,
                    crash_on_error=group == "bad_night",
                )
                run["stored"], run["duplicates"] = _stored(emu, shas)
                run["missing"] = len(paths) - run["stored"]
                runs.append(run)
    shutil.rmtree(folder, ignore_errors=True)
    return {"params": params, "runs": runs, "figures": fig.night_figures(params, runs)}


#: name -> (title, function), in the issue's order.
SCENARIOS: dict[str, tuple[str, Callable[[Context], Outcome]]] = {
    "latency": ("1. Latency-bound: many small files, a fixed latency per upload", latency_bound),
    "bandwidth": ("2. Bandwidth-bound: big frames, no cap", bandwidth_bound),
    "capped": ("3. Capped link", capped_link),
    "loop_lag": ("4. Event-loop health during scenario 2", loop_lag),
    "poller": ("5. Poller: thousands of ids finishing at random times", poller),
    "listing": ("6. Listing: a many-page target list", listing),
    "scale": ("7. Scale of a night: many small files in one folder", scale),
    "night": ("8. A night: clean, per-connection cap, bad night", night),
}


def timed(ctx: Context, name: str) -> Outcome:
    """Run scenario `name` and add its title and duration."""
    title, function = SCENARIOS[name]
    started = time.perf_counter()
    outcome = function(ctx)
    outcome["title"] = title
    outcome["duration_s"] = round(time.perf_counter() - started, 1)
    ctx.done[name] = outcome
    return outcome
