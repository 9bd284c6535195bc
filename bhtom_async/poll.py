"""Upload ids → calibration results: batched polling with backoff, bisection and deadlines.

Use it through `bh.calibration.wait(...)`; `CalibrationPoller` is the engine behind it. One
request per round for up to 200 ids (the server's page size), never one per id. The server fails
a whole batch with a 400 when one id in it is broken (``CCDPhotJob matching query does not
exist.``, several records for one product, ...), so a failing batch is split in halves until the
culprit is isolated; such ids are then polled apart from the rest. Records carry no ``id``: they
are matched by their ``dataproduct`` field.

The engine is defined in `bhtom_async.api.calibration`: `bh.calibration.wait` is a method of the
endpoint group, and the layering (style guide §2) lets ``api`` import nothing above it. This
module is its public home.
"""

from __future__ import annotations

from .api.calibration import PAGE_SIZE
from .api.calibration_poller import BACKOFF_FACTOR, MAX_FAILED_ROUNDS, CalibrationPoller, IdSource

__all__ = ["BACKOFF_FACTOR", "MAX_FAILED_ROUNDS", "PAGE_SIZE", "CalibrationPoller", "IdSource"]
