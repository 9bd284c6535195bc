"""``python -m bhtom_async.emulator``: run the local BHTOM2 emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from .faults import FaultSpecError, parse_fault_spec
from .server import serve_forever


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bhtom_async.emulator", description="Local BHTOM2 server emulator (loopback only)."
    )
    parser.add_argument("--port", type=int, default=8765, help="main host port (0: any free)")
    parser.add_argument("--upload-port", type=int, default=8766, help="upload service port (0: any free)")
    parser.add_argument(
        "--state", dest="state_file", default=None, help="SQLite file that keeps state across restarts"
    )
    parser.add_argument(
        "--faults",
        default=None,
        help="fault spec, e.g. 'upload:reset_after_store:times=2;/targets/*:latency=0.2'",
    )
    parser.add_argument("--seed", type=int, default=0, help="token and fault seed")
    parser.add_argument(
        "--calibration-delays", default="5,10", help="seconds in C and in P, comma-separated (default 5,10)"
    )
    parser.add_argument(
        "--seed-dirty",
        action="store_true",
        help="also seed rows like the real database holds (NULL flags and arrays, odd observers, "
        "an empty status letter, NaN photometry, names with ; . .. and non-ASCII)",
    )
    return parser


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.faults:
            parse_fault_spec(args.faults)
        low, high = (float(part) for part in args.calibration_delays.split(","))
    except (FaultSpecError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    try:
        serve_forever(
            port=args.port,
            upload_port=args.upload_port,
            state_file=args.state_file,
            faults=args.faults,
            seed=args.seed,
            calibration_delays=(low, high),
            announce=lambda text: print(text, flush=True),
            seed_dirty=args.seed_dirty,
        )
    except OSError as exc:
        print(f"error: cannot serve on 127.0.0.1:{args.port}/{args.upload_port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
