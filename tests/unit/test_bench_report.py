"""The benchmark's figures, goal verdicts and README regeneration, on made-up results (no benchmark runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import figures as fig
from benchmarks import report


def _latency_doc(
    c16_s: float,
    c32_s: float,
    *,
    quick: bool = False,
    when: str = "2026-01-02T03:04:05+00:00",
    floors: dict[int, float] | None = None,
) -> dict[str, Any]:
    params = {"files": 400, "file_bytes": 30_000, "latency_s": 0.25, "concurrency": [4, 16, 32]}
    runs = [
        {"label": "official", "contender": "official", "concurrency": 1, "work_s": 101.0},
        {
            "label": "bhtom_async@4",
            "contender": "bhtom_async",
            "concurrency": 4,
            "work_s": 26.0,
            "pool_size": 10,
        },
        {
            "label": "bhtom_async@16",
            "contender": "bhtom_async",
            "concurrency": 16,
            "work_s": c16_s,
            "pool_size": 10,
        },
        {
            "label": "bhtom_async@32",
            "contender": "bhtom_async",
            "concurrency": 32,
            "work_s": c32_s,
            "pool_size": 10,
            "cpu_s": 2.0,
            "server_cpu_s": 1.2,
        },
        {"label": "naive_async", "contender": "naive_async", "concurrency": 1, "work_s": 1.25},
    ]
    runs += [
        {"label": f"wire_floor@{c}", "contender": "wire_floor", "concurrency": c, "work_s": s, "failed": 0}
        for c, s in (floors or {}).items()
    ]
    return {
        "scenario": "latency",
        "title": "1. Latency-bound",
        "date": when[:10],
        "finished_at": when,
        "quick": quick,
        "params": params,
        "runs": runs,
        "figures": fig.latency_figures(params, runs),
    }


def test_latency_figures_are_ratios_to_ideal_and_official() -> None:
    """Ideal is files x latency / c; ratios to it and to the official way come from the same run."""
    figures = _latency_doc(11.5, 11.4)["figures"]
    assert figures["c16_ideal_s"] == pytest.approx(6.25)
    assert figures["c16_over_ideal"] == pytest.approx(1.84)
    assert figures["c16_x_official"] == pytest.approx(8.78)
    assert figures["c32_effective_concurrency"] == pytest.approx(8.77)
    assert figures["naive_async_x_official"] == pytest.approx(80.8)
    assert figures["official_per_file_s"] == pytest.approx(0.2525)


def test_capped_concurrency_misses_the_goal_and_the_note_names_the_pool_cap() -> None:
    """A c=16 run at the speed of 9 workers is missed, and the note derives the pool - 1 cap from figures."""
    doc = _latency_doc(11.5, 11.4)
    verdict = report.judge(next(g for g in report.GOALS if g.figure == "c16_of_ideal"), doc)
    assert verdict.met is False
    assert verdict.word == "**missed**"
    text = report.render_goals({"latency": doc}, ["latency"])
    assert "| latency | c=16: ideal / wall time | 0.543 | ≥ 0.92 | **missed** |" in text
    assert "(connection pool size - 1) = 9 workers (pool 10)" in text
    assert "issue #13" in text


def test_the_note_derives_the_whole_rounds_floor_and_the_rest() -> None:
    """400 files at c=32 and 0.25 s: ceil(400/32) = 13 rounds make 3.25 s at least; a 3.9 s run
    leaves 0.65 s of start-up and per-request work, and the note says both."""
    doc = _latency_doc(7.1, 3.9)
    text = report.render_goals({"latency": doc}, ["latency"])
    assert "take at least 3.25 s (1.04 of the ideal); the other 0.65 s are start-up" in text
    assert "5 ms per file in the client (one event loop, 32 uploads at once) and 3 ms in the emulator" in text
    assert "against the 2.5 ms per file the official way spends beyond the latency" in text


def test_the_wire_floor_is_set_beside_each_judged_concurrency() -> None:
    """The floor's time, its share of the ideal and ours over it come from the same run."""
    figures = _latency_doc(7.1, 3.9, floors={16: 6.6, 32: 3.6})["figures"]
    assert figures["c32_floor_s"] == 3.6
    assert figures["c32_floor_of_ideal"] == pytest.approx(0.868)
    assert figures["c32_x_floor"] == pytest.approx(1.083)
    assert figures["c16_floor_of_ideal"] == pytest.approx(0.947)
    assert "c4_floor_s" not in figures


def test_a_floor_below_the_goal_is_said_to_put_it_out_of_any_clients_reach() -> None:
    """c=32: the floor reached 0.868 < 0.88, so the note says no client can meet the goal here;
    c=16: the floor reached 0.947 >= 0.92, so the note says the goal is within reach."""
    doc = _latency_doc(7.1, 3.9, floors={16: 6.6, 32: 3.6})
    text = report.render_goals({"latency": doc}, ["latency"])
    assert (
        "took 3.6 s in the same run, 0.868 of the ideal: below the goal of 0.88, so no client reaches it"
    ) in text
    assert "bhtom_async took 1.08x the floor's time" in text
    within_reach = "took 6.6 s in the same run, 0.947 of the ideal, so the goal is within a client's reach"
    assert within_reach in text


def test_a_floor_run_with_failures_is_no_floor() -> None:
    """A floor that lost uploads (refused, reset) did less work: it sets no figure and no note."""
    doc = _latency_doc(7.1, 3.9, floors={32: 3.0})
    doc["runs"][-1]["failed"] = 3
    figures = fig.latency_figures(doc["params"], doc["runs"])
    assert "c32_floor_s" not in figures
    doc["figures"] = figures
    assert "wire_floor" not in report.render_goals({"latency": doc}, ["latency"])


def test_goals_met_when_the_run_is_near_ideal_and_no_cap_note() -> None:
    """At 6.6 s and 3.3 s the latency goals are met and no missed-goal note is written."""
    doc = _latency_doc(6.6, 3.3)
    verdicts = [report.judge(g, doc) for g in report.GOALS if g.scenario == "latency"]
    assert [v.met for v in verdicts] == [True, True, True, True]
    text = report.render_goals({"latency": doc}, ["latency"])
    assert "**missed**" not in text
    assert "Where a goal is missed" not in text


def test_a_missing_figure_is_not_measured_and_an_absent_scenario_not_run() -> None:
    """A goal whose figure is absent reads 'not measured'; a scenario without results reads 'not run'."""
    doc = {"scenario": "scale", "figures": {"files": 10}}
    goal = next(g for g in report.GOALS if g.scenario == "scale")
    assert report.judge(goal, doc).met is None
    assert report.judge(goal, doc).word == "not measured"
    text = report.render_goals({}, ["poller"])
    assert "| poller | rounds where requests != ceil(pending/200) | - | = 0 | not run |" in text


def test_percentile_interpolates_between_ranks() -> None:
    """percentile follows numpy's linear interpolation; lag_summary reports milliseconds."""
    values = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert fig.percentile(values, 50) == 2.0
    assert fig.percentile(values, 99) == pytest.approx(3.96)
    assert fig.lag_summary([0.001, 0.002, 0.030]) == {
        "samples": 3,
        "p50_ms": 2.0,
        "p99_ms": pytest.approx(29.44),
        "max_ms": 30.0,
    }


def test_bandwidth_figures_compare_with_curl_and_track_memory_growth() -> None:
    """Throughput and CPU per GB are ratios to curl's in the same set; RSS growth is the largest
    frames' peak minus the smallest's."""
    gb = 2_000_000_000
    params = {"sets": {"large": {}, "medium": {}, "small": {}}, "sha256_cpu_s_per_gb": 0.55}

    def run(
        label: str, group: str, size: int, work: float, cpu: float, rss: float, **more: Any
    ) -> dict[str, Any]:
        contender = label.split("@")[0]
        return {"label": label, "contender": contender, "group": group, "bytes": size, "work_s": work,
                "cpu_s": cpu, "peak_rss_mb": rss, **more}  # fmt: skip

    lag = {"p99_ms": 3.0, "max_ms": 9.0}
    runs = [
        run("curl@4", "large", gb, 8.0, 1.0, 40.0),
        run("bhtom_async@4", "large", gb, 10.0, 4.0, 52.0, server_cpu_s=6.0, lag_ms=lag),
        run("curl@4", "medium", gb // 4, 2.0, 0.25, 40.0),
        run("bhtom_async@4", "medium", gb // 4, 2.1, 0.5, 51.0),
        run("curl@4", "small", gb // 8, 1.0, 0.1, 40.0),
        run("bhtom_async@4", "small", gb // 8, 1.0, 0.5, 49.5),
    ]
    figures = fig.bandwidth_figures(params, runs)
    assert figures["large_bhtom_mb_s"] == 200.0
    assert figures["large_curl_mb_s"] == 250.0
    assert figures["large_x_curl_throughput"] == 0.8
    assert figures["large_cpu_per_gb_x_curl"] == 4.0
    assert figures["rss_growth_mb"] == 2.5
    assert figures["large_lag_p99_ms"] == 3.0
    assert figures["large_cores_busy"] == 1.0
    doc = {"scenario": "bandwidth", "figures": figures, "machine": {"cpus": 2}}
    verdicts = {g.figure: report.judge(g, doc).met for g in report.GOALS if g.scenario == "bandwidth"}
    assert figures["medium_x_curl_throughput"] == pytest.approx(0.952)
    assert figures["sha256_x_curl_cpu"] == 1.1  # hashing alone against curl's 0.5 CPU-s per GB
    assert verdicts == {
        "large_x_curl_throughput": False,
        "medium_x_curl_throughput": True,
        "large_cpu_per_gb_x_curl": False,
        "large_peak_rss_mb": True,
        "rss_growth_mb": True,
    }
    text = report.render_goals({"bandwidth": doc}, ["bandwidth"])
    assert "bhtom_async moved 200 MB/s and curl 250 MB/s" in text
    assert "reading and hashing a frame alone cost 0.55 CPU-s per GB, 1.1x curl's whole figure" in text
    assert "curl_hashed" not in text  # it did not run: no clause about it


def test_curl_that_hashes_first_is_compared_where_it_ran_whole() -> None:
    """curl_hashed (openssl, then curl) sets a throughput and a CPU ratio for its set and a clause
    in both notes; a run of it with failures sets neither."""
    gb = 2_000_000_000
    params = {"sets": {"large": {}, "medium": {}}, "sha256_cpu_s_per_gb": 0.8}

    def run(label: str, group: str, work: float, cpu: float, **more: Any) -> dict[str, Any]:
        return {"label": label, "contender": label.split("@")[0], "group": group, "bytes": gb,
                "work_s": work, "cpu_s": cpu, "peak_rss_mb": 50.0, **more}  # fmt: skip

    runs = [
        run("curl@4", "large", 8.0, 1.5),
        run("curl_hashed@4", "large", 9.0, 3.2),
        run("bhtom_async@4", "large", 10.0, 4.0),
        run("curl@4", "medium", 8.0, 1.5),
        run("curl_hashed@4", "medium", 9.0, 3.2, failed=1),
        run("bhtom_async@4", "medium", 10.0, 4.0),
    ]
    figures = fig.bandwidth_figures(params, runs)
    assert figures["large_cpu_per_gb_x_curl_hashed"] == 1.25
    assert figures["large_x_curl_hashed_throughput"] == 0.9
    assert figures["large_curl_hashed_c4_mb_s"] == pytest.approx(222.2, abs=0.1)
    assert "medium_cpu_per_gb_x_curl_hashed" not in figures
    text = report.render_goals({"bandwidth": {"figures": figures, "machine": {"cpus": 2}}}, ["bandwidth"])
    assert "with openssl (curl_hashed" in text
    assert "bhtom_async's CPU per GB was 1.25x its." in text
    assert "bhtom_async's throughput was 0.9x its." in text


def test_poller_rounds_are_judged_against_ceil_pending_over_200() -> None:
    """A round that sent 2 requests for 150 pending ids counts as off; delays are yield minus finish."""
    rounds = [
        {"pending": 401, "requests": 3},
        {"pending": 150, "requests": 2},
        {"pending": 20, "requests": 1},
    ]
    yielded = {1: 12.0, 2: 14.0, 3: 20.0}
    finished = {1: 10.0, 2: 13.0, 3: 10.0}
    figures = fig.poller_figures({"ids": 4}, rounds, yielded, finished)
    assert figures["rounds_off"] == 1
    assert figures["total_requests"] == 6
    assert figures["ideal_requests"] == 5
    assert figures["missing"] == 1
    assert figures["delay_p50_s"] == 2.0
    assert figures["delay_max_s"] == 10.0


def test_listing_scale_and_night_figures() -> None:
    """Listing is judged against pages x latency / prefetch; scale per file; night counts per contender."""
    listing = fig.listing_figures(
        {"pages": 50, "page_latency_s": 0.2},
        [
            {"contender": "official", "work_s": 10.4},
            {"contender": "bhtom_async", "work_s": 3.0, "prefetch": 4, "ok": 10_000},
        ],
    )
    assert listing["floor_s"] == 2.5
    assert listing["over_floor"] == 1.2
    assert listing["round_trips"] == 14
    assert listing["round_trip_floor_s"] == 2.8
    assert listing["per_page_work_s"] == 0.008
    assert listing["estimate_s"] == 3.2
    scale = fig.scale_figures(
        {"files": 20_000},
        [
            {"group": "first", "work_s": 100.0, "cpu_s": 60.0, "peak_rss_mb": 50.0, "ok": 20_000},
            {"group": "rerun", "work_s": 6.0, "cpu_s": 5.0, "peak_rss_mb": 48.0, "skipped": 20_000},
        ],
    )
    assert scale["first_ms_per_file"] == 5.0
    assert scale["rerun_ms_per_file"] == 0.3
    night = fig.night_figures(
        {"groups": ["bad_night"]},
        [
            {"group": "bad_night", "label": "official", "contender": "official", "work_s": 8.0,
             "stored": 6, "missing": 18, "duplicates": 0, "peak_rss_mb": 34.0},
            {"group": "bad_night", "label": "bhtom_async@4", "contender": "bhtom_async", "work_s": 4.0,
             "stored": 23, "missing": 1, "duplicates": 1, "peak_rss_mb": 45.0, "failed": 1,
             "errors": ["not stored after 3 attempts; last: 503"]},
        ],
    )  # fmt: skip
    assert night["bad_night_bhtom_async_c4_x_official"] == 2.0
    assert night["bad_night_bhtom_missing"] == 1
    assert night["bad_night_bhtom_duplicates"] == 1
    runs = [{"group": "bad_night", "label": "bhtom_async@4", "contender": "bhtom_async", "stored": 23,
             "duplicates": 1, "failed": 1, "errors": ["not stored after 3 attempts; last: 503"]}]  # fmt: skip
    text = report.render_goals({"night": {"figures": night, "runs": runs}}, ["night"])
    assert "| night | bad night: bhtom_async frames doubled | 1 | = 0 | **missed** |" in text
    assert "bhtom_async@4 stored 23, doubled 1, and reported 1 failed (not stored after 3 attempts" in text


def test_latest_full_result_wins_over_a_newer_quick_one(tmp_path: Path) -> None:
    """The README quotes the newest full run; a quick run only where no full run exists."""
    old_full = _latency_doc(11.0, 11.0, when="2026-01-01T00:00:00+00:00")
    new_full = _latency_doc(12.0, 12.0, when="2026-01-03T00:00:00+00:00")
    newer_quick = _latency_doc(1.0, 1.0, quick=True, when="2026-01-05T00:00:00+00:00")
    quick_only = {**newer_quick, "scenario": "listing"}
    for doc in (old_full, new_full, newer_quick, quick_only):
        report.write_result(tmp_path, doc)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "2026-01-01-latency.json",
        "2026-01-03-latency.json",
        "2026-01-05-latency-quick.json",
        "2026-01-05-listing-quick.json",
    ]
    latest = report.latest_results(report.load_results(tmp_path))
    assert latest["latency"]["finished_at"] == "2026-01-03T00:00:00+00:00"
    assert latest["listing"]["quick"] is True
    assert json.loads((tmp_path / "2026-01-03-latency.json").read_text())["figures"]["c16_s"] == 12.0


def test_a_failed_measurement_is_written_as_null(tmp_path: Path) -> None:
    """NaN figures become null in the result file (JSON has no NaN)."""
    doc = {"scenario": "poller", "date": "2026-01-01", "figures": {"delay_p50_s": float("nan"), "rounds": 3}}
    path = report.write_result(tmp_path, doc)
    assert json.loads(path.read_text())["figures"] == {"delay_p50_s": None, "rounds": 3}


def test_readme_section_is_replaced_between_markers_only() -> None:
    """Regeneration keeps the hand-written text, replaces the marked block, and is idempotent."""
    readme = f"# Title\n\nMethod text.\n\n{report.BEGIN}\nold table\n{report.END}\n\nFooter.\n"
    section = report.render(
        {"latency": _latency_doc(11.5, 11.4)}, ["latency", "poller"], {"latency": "results/latency.png"}
    )
    once = report.regenerate_readme(readme, section)
    assert once.startswith("# Title\n\nMethod text.\n\n")
    assert once.endswith("\n\nFooter.\n")
    assert "old table" not in once
    assert "![latency](results/latency.png)" in once
    assert "| poller | rounds where requests != ceil(pending/200) | - | = 0 | not run |" in once
    assert report.regenerate_readme(once, section) == once
    appended = report.regenerate_readme("# Bare\n", section)
    assert appended.startswith("# Bare\n\n" + report.BEGIN)


def test_run_tables_show_only_the_columns_a_scenario_has() -> None:
    """A run table lists the columns present in the runs, numbers right-aligned."""
    doc = {"runs": [{"group": "rerun", "label": "bhtom_async@8", "work_s": 4.19, "skipped": 20_000}]}
    assert report.render_runs(doc).splitlines() == [
        "| line | contender | work s | skipped |",
        "|---|---|---:|---:|",
        "| rerun | bhtom_async@8 | 4.19 | 20,000 |",
    ]
