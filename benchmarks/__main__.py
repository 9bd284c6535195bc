"""Benchmarks against the local emulator: `nox -s bench` or `python -m benchmarks`.

    python -m benchmarks                       # all eight scenarios, full size (~8 min on 2 cores)
    python -m benchmarks --quick               # every scenario, small (under 2 min)
    python -m benchmarks --scenario latency    # one scenario (repeat the option for more)

Each scenario writes ``benchmarks/results/<date>-<scenario>[-quick].json`` (machine, Python and
package versions, command, parameters, every run and figure). Then ``benchmarks/README.md``'s
generated section is rebuilt from the latest results, and the plots of scenarios 1 and 2 are
redrawn. Timing claims are ratios measured in one run, never absolute promises.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import machine, report
from .scenarios import FULL, QUICK, SCENARIOS, Context, timed

HERE = Path(__file__).resolve().parent
PLOTS = {"latency": "latency.png", "bandwidth": "bandwidth.png"}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: every scenario in under 2 minutes")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=list(SCENARIOS),
        help="run only this scenario (repeatable); default: all, in order",
    )
    parser.add_argument("--results", type=Path, default=HERE / "results", help="where result files go")
    parser.add_argument("--readme", type=Path, default=HERE / "README.md", help="README to regenerate")
    parser.add_argument("--no-readme", action="store_true", help="write results only")
    return parser.parse_args(argv)


def regenerate(results_dir: Path, readme: Path) -> None:
    """Rebuild the README section and the plots from the latest result of each scenario."""
    latest = report.latest_results(report.load_results(results_dir))
    images = {}
    for name, file_name in PLOTS.items():
        if name in latest:
            from . import plots

            draw = plots.plot_latency if name == "latency" else plots.plot_bandwidth
            draw(latest[name], results_dir / file_name)
            images[name] = f"results/{file_name}"
    section = report.render(latest, SCENARIOS, images)
    readme.write_text(report.regenerate_readme(readme.read_text(), section))


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    names = args.scenario or list(SCENARIOS)
    command = "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
    environment = machine.describe()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bhtom-bench-") as scratch:
        ctx = Context(sizes=QUICK if args.quick else FULL, scratch=Path(scratch))
        for name in names:
            print(f"{SCENARIOS[name][0]}", flush=True)
            load_before = _load()
            outcome: dict[str, Any] = timed(ctx, name)
            now = dt.datetime.now(dt.timezone.utc)
            doc = {
                "scenario": name,
                "title": outcome["title"],
                "date": now.date().isoformat(),
                "finished_at": now.isoformat(timespec="seconds"),
                "quick": args.quick,
                "duration_s": outcome["duration_s"],
                "command": command.strip(),
                # The machine is shared: its 1-minute load average before and after the scenario.
                "load_average": [load_before, _load()],
                **environment,
                "params": outcome["params"],
                "figures": outcome["figures"],
                "runs": outcome["runs"],
                "details": outcome.get("details", {}),
            }
            path = report.write_result(args.results, doc)
            for goal in (g for g in report.GOALS if g.scenario == name):
                verdict = report.judge(goal, doc)
                print(
                    f"    goal {goal.label}: {verdict.measured} ({goal.text}) -> {verdict.word}", flush=True
                )
            print(f"  {outcome['duration_s']} s, written to {path}", flush=True)
    if not args.no_readme:
        regenerate(args.results, args.readme)
        print(f"README regenerated: {args.readme}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
