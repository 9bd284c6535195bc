"""PNG plots of scenario 1 (wall time against concurrency) and scenario 2 (throughput and memory)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["plot_bandwidth", "plot_latency"]

Doc = Mapping[str, Any]
COLOURS = {
    "bhtom_async": "#1f77b4",
    "bhtom_async_unhashed": "#aec7e8",
    "curl": "#2ca02c",
    "official": "#d62728",
    "naive_async": "#9467bd",
    "ideal": "#7f7f7f",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_latency(doc: Doc, path: Path) -> Path:
    """Scenario 1: work time against concurrency (log-log), the ideal line, official and naive."""
    plt = _pyplot()
    params, runs = doc["params"], doc["runs"]
    files, latency = params["files"], params["latency_s"]
    ours = sorted((r for r in runs if r["contender"] == "bhtom_async"), key=lambda r: r["concurrency"])
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    levels = [1, 2, 4, 8, 16, 32, 64, files]
    ax.plot(
        levels,
        [files * latency / c for c in levels],
        "--",
        color=COLOURS["ideal"],
        label="ideal: n x latency / c",
    )
    ax.plot(
        [r["concurrency"] for r in ours],
        [r["work_s"] for r in ours],
        "o-",
        color=COLOURS["bhtom_async"],
        label="bhtom_async Uploader",
    )
    for run in ours:
        ax.annotate(
            f"{run['work_s']:.1f} s",
            (run["concurrency"], run["work_s"]),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=8,
        )
    for contender, x, marker in (("official", 1, "s"), ("naive_async", files, "^")):
        run = next((r for r in runs if r["contender"] == contender), None)
        if run is not None:
            ax.plot([x], [run["work_s"]], marker, color=COLOURS[contender], markersize=8, label=contender)
            ax.annotate(
                f"{run['work_s']:.1f} s",
                (x, run["work_s"]),
                textcoords="offset points",
                xytext=(6, -12),
                fontsize=8,
            )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(levels)
    ax.set_xticklabels([str(c) for c in levels])
    ax.set_xlabel("concurrency (uploads in flight; naive_async sends all files at once)")
    ax.set_ylabel("wall time of the job, s")
    ax.set_title(
        f"Latency-bound: {files} files of ~{params['file_bytes'] // 1000} kB, {latency} s per upload"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_bandwidth(doc: Doc, path: Path) -> Path:
    """Scenario 2: throughput and peak RSS per contender, one bar group per frame size."""
    plt = _pyplot()
    from matplotlib import ticker

    params, runs = doc["params"], doc["runs"]
    sets = list(params["sets"])
    labels = list(dict.fromkeys(r["label"] for r in runs))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4), dpi=110)
    width = 0.8 / max(1, len(labels))
    for index, label in enumerate(labels):
        xs, rates, rss = [], [], []
        for position, name in enumerate(sets):
            run = next((r for r in runs if r["group"] == name and r["label"] == label), None)
            if run is None:
                continue
            xs.append(position + (index - (len(labels) - 1) / 2) * width)
            rates.append(run["bytes"] / run["work_s"] / 1e6)
            rss.append(run["peak_rss_mb"])
        colour = COLOURS.get(label.split("@")[0])
        left.bar(xs, rates, width, label=label, color=colour)
        right.bar(xs, rss, width, label=label, color=colour)
        for x, rate, mem in zip(xs, rates, rss, strict=True):
            left.annotate(f"{rate:.0f}", (x, rate), ha="center", va="bottom", fontsize=7)
            right.annotate(f"{mem:.0f}", (x, mem), ha="center", va="bottom", fontsize=7)
    ticks = [f"{params['sets'][n]['files']} x {params['sets'][n]['file_bytes'] / 1e6:g} MB" for n in sets]
    for axis in (left, right):
        axis.set_xticks(range(len(sets)))
        axis.set_xticklabels(ticks)
        axis.grid(True, axis="y", alpha=0.3)
    left.set_ylabel("throughput, MB/s (higher is better)")
    left.set_title("Upload throughput on loopback, no cap")
    right.set_yscale("log")
    right.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    right.yaxis.set_minor_formatter(ticker.NullFormatter())
    top = max(r["peak_rss_mb"] for r in runs)
    right.set_yticks([t for t in (10, 20, 30, 50, 64, 100, 200, 500, 1000, 2000, 5000) if t <= top * 1.5])
    right.set_ylim(10, top * 1.6)
    right.axhline(64, color="black", linestyle=":", linewidth=1)
    right.text(
        0.01, 64, " 64 MB goal", transform=right.get_yaxis_transform(), fontsize=7, va="bottom", ha="left"
    )
    right.set_ylabel("client peak RSS, MB (log; lower is better)")
    right.set_title("Client memory")
    top_rate = max(r["bytes"] / r["work_s"] / 1e6 for r in runs)
    left.set_ylim(0, top_rate * 1.3)  # room for the legend above the bars
    left.legend(fontsize=7, loc="upper center", ncol=len(labels))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
