"""Light curves of many targets at once: download concurrently, save ECSV tables and plots.

    python examples/light_curves.py Gaia22bpl Gaia21abc HarnessStar1 --out curves/ --plot
    python examples/light_curves.py --group "My campaign" --out curves/

Each target gets ``<name>.ecsv`` (astropy Table: MJD as Time, magnitudes with units, an
``is_limit`` column) and, with --plot, ``<name>.png``; one line per target is printed. A name
that does not exist is reported and the others still download (exit status 1 then).

The token and hosts come from BHTOM_TOKEN / BHTOM_BASE_URL / BHTOM_UPLOAD_URL or `bhtom login`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio
import anyio.to_thread

from bhtom_async import Client, LightCurve, TargetNotFoundError


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="exact target names")
    parser.add_argument("--group", help="also every target of this target group")
    parser.add_argument("--out", type=Path, default=Path("curves"), help="folder for the files")
    parser.add_argument("--plot", action="store_true", help="also save a PNG plot per target")
    parser.add_argument("--concurrency", type=int, default=4, help="downloads at once")
    args = parser.parse_args(argv)
    if not args.targets and not args.group:
        parser.error("give target names or --group")
    return args


def save(curve: LightCurve, out: Path, plot: bool) -> None:
    """Blocking file writes (run in a worker thread)."""
    name = curve.target.replace("/", "_")
    curve.to_table().write(out / f"{name}.ecsv", format="ascii.ecsv", overwrite=True)
    if plot and curve.points:
        curve.plot(save=out / f"{name}.png")


async def download_all(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    limiter = anyio.CapacityLimiter(args.concurrency)
    missing: list[str] = []
    async with Client() as bh:
        names = list(args.targets)
        if args.group:
            names += [t.name async for t in bh.targets.in_group(name=args.group) if t.name]

        async def one(name: str) -> None:
            async with limiter:
                try:
                    curve = await bh.targets.photometry(name)
                except TargetNotFoundError as exc:
                    missing.append(name)
                    print(f"{name}: {exc.headline}")
                    return
            await anyio.to_thread.run_sync(save, curve, args.out, args.plot)
            last = max((p.mjd for p in curve.points), default=None)
            when = f", last MJD {last:.3f}" if last is not None else ""
            print(f"{name}: {len(curve)} points, filters {', '.join(curve.filters) or '-'}{when}")

        async with anyio.create_task_group() as group:
            for name in dict.fromkeys(names):  # each target once, in the order given
                group.start_soon(one, name)
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    return anyio.run(download_all, parse(argv))


if __name__ == "__main__":
    sys.exit(main())
