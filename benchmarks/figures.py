"""From measured runs to the figures the goals are judged on: ratios, rates, percentiles.

Pure functions over plain dicts, so they are unit-tested (tests/unit/test_bench_report.py) and a
result file can be re-judged without re-running anything. A *run* is one contender's process:
``{"label", "contender", "concurrency", "group", "work_s", "cpu_s", "peak_rss_mb", "bytes",
"files", "ok", "failed", ...}``. Figures are a flat ``{name: number}`` mapping per scenario.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "MB",
    "bandwidth_figures",
    "capped_figures",
    "find",
    "lag_summary",
    "latency_figures",
    "listing_figures",
    "loop_lag_figures",
    "night_figures",
    "percentile",
    "poller_figures",
    "scale_figures",
    "slug",
]

MB = 1_000_000
GB = 1_000_000_000
Run = Mapping[str, Any]
Figures = dict[str, Any]


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def lag_summary(lags_s: Sequence[float], at_s: Sequence[float] = ()) -> dict[str, float | None]:
    """Heartbeat lags (seconds) as samples, p50, p99 and max in milliseconds.

    With `at_s` (when each lag was seen, seconds from the start), also when the worst one was,
    and the p99 of the lags after the first second (start-up excluded).
    """

    def ms(values: Sequence[float], q: float) -> float | None:
        return round(percentile(values, q) * 1000, 3) if values else None

    summary: dict[str, float | None] = {
        "samples": len(lags_s),
        "p50_ms": ms(lags_s, 50),
        "p99_ms": ms(lags_s, 99),
        "max_ms": ms(lags_s, 100),
    }
    if at_s and lags_s:
        worst = max(range(len(lags_s)), key=lags_s.__getitem__)
        summary["max_at_s"] = round(at_s[worst], 3)
        summary["p99_after_1s_ms"] = ms([lag for lag, at in zip(lags_s, at_s, strict=True) if at >= 1.0], 99)
    return summary


def slug(label: str) -> str:
    """A run label as a figure-name fragment: ``bhtom_async@16`` -> ``bhtom_async_c16``."""
    return label.replace("@", "_c").replace(" ", "_").replace("-", "_")


def find(runs: Iterable[Run], **match: Any) -> Run | None:
    """The first run whose fields equal every keyword, or None."""
    return next((r for r in runs if all(r.get(k) == v for k, v in match.items())), None)


def _ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(numerator / denominator, digits)


def _mb_s(run: Run | None) -> float | None:
    if run is None or not run.get("work_s"):
        return None
    return round(float(run["bytes"]) / float(run["work_s"]) / MB, 1)


def _cpu_per_gb(run: Run | None) -> float | None:
    if run is None or not run.get("bytes"):
        return None
    return round(float(run["cpu_s"]) / (float(run["bytes"]) / GB), 3)


def latency_figures(params: Mapping[str, Any], runs: Sequence[Run]) -> Figures:
    """Scenario 1: each concurrency against the ideal (files x latency / c) and the official way."""
    files, latency = params["files"], params["latency_s"]
    official = find(runs, contender="official")
    official_s = official["work_s"] if official else None
    figures: Figures = {"official_s": official_s, "official_per_file_s": _ratio(official_s, files, 4)}
    for c in params["concurrency"]:
        run = find(runs, contender="bhtom_async", concurrency=c)
        if run is None:
            continue
        ideal = files * latency / c
        figures[f"c{c}_s"] = run["work_s"]
        figures[f"c{c}_ideal_s"] = round(ideal, 3)
        figures[f"c{c}_over_ideal"] = _ratio(run["work_s"], ideal)
        figures[f"c{c}_of_ideal"] = _ratio(ideal, run["work_s"])
        figures[f"c{c}_x_official"] = _ratio(official_s, run["work_s"], 2)
        figures[f"c{c}_effective_concurrency"] = _ratio(files * latency, run["work_s"], 2)
        if run.get("cpu_s") is not None:
            figures[f"c{c}_cpu_ms_per_file"] = round(run["cpu_s"] * 1000 / files, 2)
        if run.get("server_cpu_s") is not None:
            figures[f"c{c}_server_cpu_ms_per_file"] = round(run["server_cpu_s"] * 1000 / files, 2)
        figures["pool_size"] = run.get("pool_size")
        floor = find(runs, contender="wire_floor", concurrency=c)
        if floor is not None and not floor.get("failed"):
            figures[f"c{c}_floor_s"] = floor["work_s"]
            figures[f"c{c}_floor_of_ideal"] = _ratio(ideal, floor["work_s"])
            figures[f"c{c}_x_floor"] = _ratio(run["work_s"], floor["work_s"])
    naive = find(runs, contender="naive_async")
    if naive is not None:
        figures["naive_async_s"] = naive["work_s"]
        figures["naive_async_x_official"] = _ratio(official_s, naive["work_s"], 2)
    return figures


def bandwidth_figures(params: Mapping[str, Any], runs: Sequence[Run]) -> Figures:
    """Scenario 2: throughput and CPU per GB against curl's (and curl's after a SHA-256 of each
    file) at the same concurrency; peak RSS."""
    figures: Figures = {}
    for group in params["sets"]:
        for run in (r for r in runs if r["group"] == group):
            key = f"{group}_{slug(run['label'])}"
            figures[f"{key}_mb_s"] = _mb_s(run)
            figures[f"{key}_cpu_s_per_gb"] = _cpu_per_gb(run)
            figures[f"{key}_peak_rss_mb"] = run["peak_rss_mb"]
            figures[f"{key}_server_cpu_s"] = run.get("server_cpu_s")
        ours = find(runs, group=group, contender="bhtom_async")
        curl = find(runs, group=group, contender="curl")
        figures[f"{group}_bhtom_mb_s"] = _mb_s(ours)
        figures[f"{group}_curl_mb_s"] = _mb_s(curl)
        figures[f"{group}_bhtom_cpu_s_per_gb"] = _cpu_per_gb(ours)
        figures[f"{group}_curl_cpu_s_per_gb"] = _cpu_per_gb(curl)
        figures[f"{group}_bhtom_server_cpu_s"] = ours.get("server_cpu_s") if ours else None
        for who, measured in (("bhtom", ours), ("curl", curl)):
            if measured is not None and measured.get("server_cpu_s") is not None and measured.get("bytes"):
                figures[f"{group}_{who}_server_cpu_s_per_gb"] = round(
                    measured["server_cpu_s"] / (measured["bytes"] / GB), 3
                )
        figures[f"{group}_x_curl_throughput"] = _ratio(_mb_s(ours), _mb_s(curl))
        figures[f"{group}_cpu_per_gb_x_curl"] = _ratio(_cpu_per_gb(ours), _cpu_per_gb(curl), 2)
        figures[f"{group}_peak_rss_mb"] = ours["peak_rss_mb"] if ours else None
        unhashed = find(runs, group=group, contender="bhtom_async_unhashed")
        if unhashed is not None:
            figures[f"{group}_unhashed_x_curl_throughput"] = _ratio(_mb_s(unhashed), _mb_s(curl))
            figures[f"{group}_unhashed_cpu_per_gb_x_curl"] = _ratio(
                _cpu_per_gb(unhashed), _cpu_per_gb(curl), 2
            )
        hashed_curl = find(runs, group=group, contender="curl_hashed")
        if hashed_curl is not None and not hashed_curl.get("failed"):
            figures[f"{group}_x_curl_hashed_throughput"] = _ratio(_mb_s(ours), _mb_s(hashed_curl))
            figures[f"{group}_cpu_per_gb_x_curl_hashed"] = _ratio(
                _cpu_per_gb(ours), _cpu_per_gb(hashed_curl), 2
            )
        if ours is not None and ours.get("lag_ms"):
            figures[f"{group}_lag_p99_ms"] = ours["lag_ms"]["p99_ms"]
            figures[f"{group}_lag_max_ms"] = ours["lag_ms"]["max_ms"]
        if ours is not None and curl is not None:
            figures[f"{group}_cores_busy"] = _ratio(
                ours["cpu_s"] + (ours.get("server_cpu_s") or 0.0), ours["work_s"], 2
            )
    hashing = params.get("sha256_cpu_s_per_gb")
    if hashing is not None:
        figures["sha256_cpu_s_per_gb"] = hashing
        figures["sha256_x_curl_cpu"] = _ratio(hashing, figures.get("large_curl_cpu_s_per_gb"), 2)
    sets = list(params["sets"])  # largest frames first, smallest last
    if len(sets) >= 2 and figures.get(f"{sets[0]}_peak_rss_mb") and figures.get(f"{sets[-1]}_peak_rss_mb"):
        figures["rss_growth_mb"] = round(
            figures[f"{sets[0]}_peak_rss_mb"] - figures[f"{sets[-1]}_peak_rss_mb"], 1
        )
    return figures


def capped_figures(params: Mapping[str, Any], runs: Sequence[Run]) -> Figures:
    """Scenario 3: achieved upload rate as a fraction of the link's cap, per network model."""
    cap = params["cap_mb_s"]
    figures: Figures = {"cap_mb_s": cap}
    for run in runs:
        key = f"{run['group']}_{slug(run['label'])}"
        figures[f"{key}_mb_s"] = _mb_s(run)
        figures[f"{key}_fraction"] = _ratio(_mb_s(run), cap)
    for group in ("total", "per_connection"):
        for contender in ("official", "curl"):
            figures[f"{group}_{contender}_fraction"] = _ratio(
                _mb_s(find(runs, group=group, contender=contender)), cap
            )
    ours = find(runs, group="total", contender="bhtom_async")
    figures["total_fraction"] = _ratio(_mb_s(ours), cap)
    return figures


def loop_lag_figures(runs: Sequence[Run]) -> Figures:
    """Scenario 4: the heartbeat's lag in the bhtom_async process during the bandwidth runs."""
    figures: Figures = {}
    for run in runs:
        lag = run.get("lag_ms")
        if run.get("contender") != "bhtom_async" or not lag:
            continue
        group = run["group"]
        figures[f"{group}_p50_ms"] = lag["p50_ms"]
        figures[f"{group}_p99_ms"] = lag["p99_ms"]
        figures[f"{group}_max_ms"] = lag["max_ms"]
        figures[f"{group}_samples"] = lag["samples"]
        if "max_at_s" in lag:
            figures[f"{group}_max_at_s"] = lag["max_at_s"]
            figures[f"{group}_p99_after_1s_ms"] = lag["p99_after_1s_ms"]
        control = run.get("control_lag_ms")
        if control:
            figures[f"{group}_control_p99_ms"] = control["p99_ms"]
            figures[f"{group}_control_max_ms"] = control["max_ms"]
    p99s = [v for k, v in figures.items() if k.endswith("_p99_ms") and "_control_" not in k and v is not None]
    maxes = [
        v for k, v in figures.items() if k.endswith("_max_ms") and "_control_" not in k and v is not None
    ]
    figures["p99_ms"] = max(p99s) if p99s else None
    figures["max_ms"] = max(maxes) if maxes else None
    return figures


def poller_figures(
    params: Mapping[str, Any],
    rounds: Sequence[Mapping[str, int]],
    yielded_at: Mapping[int, float],
    finished_at: Mapping[int, float],
) -> Figures:
    """Scenario 5: requests per round against ceil(pending / batch), and the yield delay.

    `yielded_at` and `finished_at` map ids to times on the same (emulator) clock; a delay is
    how long after the server finished an id the client yielded it, in emulator seconds.
    """
    batch = params.get("batch", 200)
    expected = [math.ceil(r["pending"] / batch) for r in rounds]
    delays = [yielded_at[i] - finished_at[i] for i in yielded_at if i in finished_at]
    return {
        "ids": params["ids"],
        "rounds": len(rounds),
        "rounds_off": sum(1 for r, e in zip(rounds, expected, strict=True) if r["requests"] != e),
        "total_requests": sum(r["requests"] for r in rounds),
        "ideal_requests": sum(expected),
        "first_round_requests": rounds[0]["requests"] if rounds else None,
        "missing": params["ids"] - len(yielded_at),
        "delay_p50_s": round(percentile(delays, 50), 2) if delays else None,
        "delay_p99_s": round(percentile(delays, 99), 2) if delays else None,
        "delay_max_s": round(max(delays), 2) if delays else None,
    }


def listing_figures(params: Mapping[str, Any], runs: Sequence[Run]) -> Figures:
    """Scenario 6: a many-page list against pages x latency / prefetch width."""
    sequential = params["pages"] * params["page_latency_s"]
    ours = find(runs, contender="bhtom_async")
    official = find(runs, contender="official")
    prefetch = ours.get("prefetch") if ours else None
    floor = sequential / prefetch if prefetch else None
    pages, latency = params["pages"], params["page_latency_s"]
    # Page 1 goes alone (it tells how many pages there are), then `prefetch` requests in flight.
    round_trips = 1 + math.ceil((pages - 1) / prefetch) if prefetch else None
    per_page = (official["work_s"] - sequential) / pages if official else None
    return {
        "round_trips": round_trips,
        "round_trip_floor_s": round(round_trips * latency, 3) if round_trips else None,
        "per_page_work_s": round(per_page, 4) if per_page is not None else None,
        "estimate_s": round(round_trips * latency + pages * per_page, 3)
        if round_trips and per_page is not None
        else None,
        "pages": params["pages"],
        "sequential_s": round(sequential, 3),
        "prefetch": prefetch,
        "floor_s": round(floor, 3) if floor else None,
        "bhtom_s": ours["work_s"] if ours else None,
        "official_s": official["work_s"] if official else None,
        "over_floor": _ratio(ours["work_s"] if ours else None, floor),
        "x_official": _ratio(official["work_s"] if official else None, ours["work_s"] if ours else None, 2),
        "rows": ours["ok"] if ours else None,
    }


def scale_figures(params: Mapping[str, Any], runs: Sequence[Run]) -> Figures:
    """Scenario 7: per-file cost of a big folder, uploaded once and then skipped."""
    files = params["files"]
    first = find(runs, group="first")
    again = find(runs, group="rerun")
    per_file = 1000.0 / files
    return {
        "files": files,
        "first_ms_per_file": round(first["work_s"] * per_file, 3) if first else None,
        "first_cpu_ms_per_file": round(first["cpu_s"] * per_file, 3) if first else None,
        "first_peak_rss_mb": first["peak_rss_mb"] if first else None,
        "first_uploaded": first["ok"] if first else None,
        "rerun_ms_per_file": round(again["work_s"] * per_file, 4) if again else None,
        "rerun_cpu_ms_per_file": round(again["cpu_s"] * per_file, 4) if again else None,
        "rerun_peak_rss_mb": again["peak_rss_mb"] if again else None,
        "rerun_skipped": again["skipped"] if again else None,
    }


def night_figures(params: Mapping[str, Any], runs: Sequence[Run]) -> Figures:
    """Scenario 8: per network line and contender, time, speed-up and what reached the server."""
    figures: Figures = {}
    for group in params["groups"]:
        official = find(runs, group=group, contender="official")
        for run in (r for r in runs if r["group"] == group):
            key = f"{group}_{slug(run['label'])}"
            figures[f"{key}_s"] = run["work_s"]
            figures[f"{key}_x_official"] = _ratio(official["work_s"] if official else None, run["work_s"], 2)
            figures[f"{key}_stored"] = run["stored"]
            figures[f"{key}_missing"] = run["missing"]
            figures[f"{key}_duplicates"] = run["duplicates"]
            figures[f"{key}_peak_rss_mb"] = run["peak_rss_mb"]
    ours = [r for r in runs if r["group"] == "bad_night" and r["contender"] == "bhtom_async"]
    if ours:
        figures["bad_night_bhtom_missing"] = sum(r["missing"] for r in ours)
        figures["bad_night_bhtom_duplicates"] = sum(r["duplicates"] for r in ours)
    return figures
