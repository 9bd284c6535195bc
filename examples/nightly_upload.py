"""Nightly upload: send last night's frames, print each calibration as it arrives, keep a record.

Run it from cron after the night (or again after a crash: the journal skips what is already
stored, so no frame is sent twice):

    python examples/nightly_upload.py /data/2025-06-01 --observatory MyObs_MyCam \\
        --target-from-header --filter-from-header --out results/2025-06-01.ecsv

The token and hosts come from BHTOM_TOKEN / BHTOM_BASE_URL / BHTOM_UPLOAD_URL or `bhtom login`.
To try it offline, run `bhtom emulator` in another terminal and export what it prints.

Exit status: 0 when every frame was stored or skipped and every calibration finished, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio

from bhtom_async import (
    CalibrationResult,
    Client,
    JobOptions,
    PollOptions,
    ResultSet,
    UploadOptions,
    upload_and_calibrate,
)
from bhtom_async.upload.headers import settings_from_header


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("night", type=Path, help="folder of the night's FITS frames")
    parser.add_argument("--observatory", required=True, help="camera ONAME (in your favourites)")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--target", help="exact BHTOM target name of every frame")
    who.add_argument("--target-from-header", action="store_true", help="each frame's OBJECT card")
    band = parser.add_mutually_exclusive_group()
    band.add_argument("--filter", help="BHTOM filter of every frame, e.g. GaiaSP/V")
    band.add_argument("--filter-from-header", action="store_true", help="each frame's FILTER card")
    parser.add_argument("--journal", help="SQLite journal (default: the library's per-user one)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait per frame")
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument("--min-age", type=float, default=60.0, help="skip files younger than this (s)")
    parser.add_argument("--out", type=Path, help="write the calibrations here as an ECSV table")
    return parser.parse_args(argv)


async def nightly(args: argparse.Namespace) -> int:
    from_header = args.target_from_header or args.filter_from_header
    settings = (
        settings_from_header(target=args.target_from_header, filter=args.filter_from_header)
        if from_header
        else None
    )
    # With --target-from-header each frame gets its own target (or is skipped), never this one.
    options = UploadOptions(
        target=args.target or "(from header)", observatory=args.observatory, filter=args.filter
    )
    job = JobOptions(journal=args.journal, concurrency=args.concurrency, settle_time=args.min_age)
    poll = PollOptions(
        interval=args.poll_interval, max_interval=max(args.poll_interval, 60), timeout=args.timeout
    )
    results: list[CalibrationResult] = []
    async with (
        Client() as bh,
        upload_and_calibrate(bh, args.night, options, job, poll, settings=settings) as run,
    ):
        async for result in run:
            results.append(result)
            shown = (
                "" if result.magnitude is None else f"{result.magnitude:.3f} ± {abs(result.error or 0):.3f}"
            )
            limit = " (limit)" if result.is_limit else ""
            print(f"{result.filename}: {result.status.name} {result.filter or ''} {shown}{limit}")
    summary = run.summary
    print(f"upload: {summary}")
    for outcome in summary.outcomes if summary is not None else ():
        if outcome.status in ("failed", "unknown", "skipped") and outcome.reason:
            print(f"  {outcome.path.name}: {outcome.status}: {outcome.reason}")
    if args.out is not None and results:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        ResultSet(results).to_table().write(args.out, format="ascii.ecsv", overwrite=True)
        print(f"wrote {len(results)} calibrations to {args.out}")
    finished = all(r.status.name == "SUCCESS" for r in results)
    return 0 if summary is not None and summary.ok and finished else 1


def main(argv: list[str] | None = None) -> int:
    return anyio.run(nightly, parse(argv))


if __name__ == "__main__":
    sys.exit(main())
