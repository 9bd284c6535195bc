"""`bhtom` with this process's wall clock moved by ``BHTOM_SOAK_SKEW`` seconds (soak harness only).

Each soak worker runs through this, so three workers disagree about the time as three hosts
with drifting clocks would; leases are timed by PostgreSQL's clock, so they must not care.
"""

from __future__ import annotations

import os
import time

_SKEW = float(os.environ.get("BHTOM_SOAK_SKEW", "0"))
_real_time = time.time


def _skewed() -> float:
    return _real_time() + _SKEW


time.time = _skewed

if __name__ == "__main__":
    from bhtom_async.cli.main import main

    main()
