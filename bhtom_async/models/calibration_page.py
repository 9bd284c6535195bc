"""One item of a calibration-results page, tied to the id or file name that was asked for.

The results endpoint answers each asked key with a record (``Calibration_data`` fields; no id of
its own but ``dataproduct``), ``{"Error": "File with id N does not exist"}`` (no record yet),
or ``{"calib-res": "It's not your data"}``. `bh.calibration.results` turns these into
`CalibrationResult`s; the poller keeps polling the missing ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import attrs

from .calibration import CalibrationRecord, CalibrationResult

__all__ = ["ResultItem", "parse_result_item"]

_MISSING = re.compile(r"File with (id|name) (.+?) does not exist", re.IGNORECASE)


@attrs.frozen
class ResultItem:
    """What the server said about one asked key.

    `result` is set for a calibration record; otherwise `missing` (no record yet) or `refused`
    (someone else's data) explains why not; `unreadable` holds an item of no known shape.
    """

    key: int | str
    result: CalibrationResult | None = None
    missing: str | None = None
    refused: str | None = None
    unreadable: object = None


def parse_result_item(
    raw: object,
    key: int | str,
    *,
    filename: str | None,
    read_record: Callable[[object], CalibrationRecord],
) -> ResultItem:
    """Classify one page item; `read_record` converts a record (and raises if it cannot)."""
    if isinstance(raw, Mapping) and "dataproduct" in raw:
        record = read_record(raw)
        result = CalibrationResult.from_record(record, filename=filename)
        if record.dataproduct is None:
            # The record's id is unreadable: its position in the answer says which id it is.
            return ResultItem(key, attrs.evolve(result, dataproduct_id=key if isinstance(key, int) else None))
        return ResultItem(record.dataproduct, result)
    if isinstance(raw, Mapping):
        error = raw.get("Error") or raw.get("error")
        if isinstance(error, str):
            found = _MISSING.search(error)
            if found and found.group(1).lower() == "id" and found.group(2).strip().isdigit():
                key = int(found.group(2))
            return ResultItem(key, missing=error)
        refusal = raw.get("calib-res")
        if isinstance(refusal, str):
            return ResultItem(key, refused=refusal)
    return ResultItem(key, unreadable=raw)
