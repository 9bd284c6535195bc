"""The night page with 5,000 frames: `python -m benchmarks.night_page` (seconds; not a test).

Measures, in one run, what a browser receives: the whole night once (the ``full`` event) against
the ``delta`` of one calibrated frame, and the server's time to build each. The claim is the
ratio: a change costs a page a small fraction of the night, so 5,000 frames stay responsive.
The browser's side (5,000 points drawn, a delta applied in place) is shown by
tests/integration/test_night_page_browser.py.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bhtom_async.models.calibration import CalibrationResult, CalibrationStatus
from bhtom_async.night import Night
from bhtom_async.upload.events import FileFinished, UploadOutcome


def _night(frames: int) -> Night:
    night = Night("bench")
    for n in range(frames):
        night.feed(FileFinished(UploadOutcome(Path(f"/night/f{n:05d}.fits"), "uploaded", n + 1, size=10)))
        result = CalibrationResult(
            n + 1,
            CalibrationStatus.SUCCESS,
            magnitude=15.0,
            error=0.02,
            filter="GaiaSP/V",
            mjd=60800 + n / 1e4,
        )
        night.feed(result)
    return night


def _best(func: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.night_page", description=__doc__)
    parser.add_argument("--frames", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    night = _night(args.frames)
    full = json.dumps(night.to_json(), separators=(",", ":"))
    version, points = night.version, len(night.points)
    night.feed(FileFinished(UploadOutcome(Path("/night/new.fits"), "uploaded", 10**6, size=10)))
    night.feed(
        CalibrationResult(
            10**6, CalibrationStatus.SUCCESS, magnitude=15.1, error=0.02, filter="GaiaSP/V", mjd=60801.0
        )
    )
    delta = json.dumps(night.changes_since(version, points), separators=(",", ":"))
    full_time = _best(lambda: json.dumps(night.to_json()), args.repeat)
    delta_time = _best(lambda: json.dumps(night.changes_since(version, points)), args.repeat)
    print(f"{args.frames} frames: full event {len(full):,} bytes in {full_time * 1000:.1f} ms; "
          f"delta of one calibrated frame {len(delta):,} bytes in {delta_time * 1000:.1f} ms")  # fmt: skip
    print(f"delta/full: {len(delta) / len(full):.4f} of the bytes, {delta_time / full_time:.3f} of the time")


if __name__ == "__main__":
    main()
