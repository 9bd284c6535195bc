"""Recalibrate a target's frames (BHTOM admins): restart their calibrations and wait for the new ones.

    python examples/recalibrate.py Gaia22bpl --mjd-min 60800 --mjd-max 60830 --filter GaiaSP/V
    python examples/recalibrate.py Gaia22bpl --dry-run        # only list what would restart

Uses the blocking client (`bhtom_async.sync`): a short admin script needs no event loop.
Prints each data product's magnitude before and after. Exit status 1 when a calibration ends
in an error or does not finish in time; 3 when the account is not an admin.

The token and hosts come from BHTOM_TOKEN / BHTOM_BASE_URL / BHTOM_UPLOAD_URL or `bhtom login`.
"""

from __future__ import annotations

import argparse
import sys

from bhtom_async import PermissionDeniedError, PollOptions
from bhtom_async.sync import Client


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="exact target name")
    parser.add_argument("--mjd-min", type=float)
    parser.add_argument("--mjd-max", type=float)
    parser.add_argument("--filter", help="calibrate to this filter, e.g. GaiaSP/V")
    parser.add_argument("--match-dist", type=float, help="matching radius, arcsec")
    parser.add_argument("--dry-run", action="store_true", help="list the data products only")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait per product")
    parser.add_argument("--poll-interval", type=float, default=10.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    with Client() as bh:
        found = bh.dataproducts.list(target=args.target, mjd_min=args.mjd_min, mjd_max=args.mjd_max)
        # The server's target filter is a substring match: keep the exact target only.
        products = [dp for dp in found if dp.target_name == args.target and dp.id is not None]
        before: dict[int, float | None] = {
            dp.id: dp.calibration_data.magnitude if dp.calibration_data else None
            for dp in products
            if dp.id is not None
        }
        print(f"{args.target}: {len(products)} data products")
        if args.dry_run or not products:
            for dp in products:
                print(f"  {dp.id} {dp.filename} status {dp.status} mag {before.get(dp.id or 0)}")
            return 0
        try:
            bh.calibration.restart_by_target(
                target=args.target,
                mjd_min=args.mjd_min,
                mjd_max=args.mjd_max,
                filter=args.filter,
                match_dist=args.match_dist,
            )
        except PermissionDeniedError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 3
        poll = PollOptions(
            interval=args.poll_interval, max_interval=max(args.poll_interval, 60), timeout=args.timeout
        )
        failed = 0
        with bh.calibration.wait(list(before), poll) as results:
            for result in results:
                old = before.get(result.dataproduct_id or 0)
                new = result.magnitude
                print(f"  {result.dataproduct_id}: {result.status.name} mag {old} -> {new}")
                failed += result.status.name != "SUCCESS"
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
