"""Rows like the real database holds them: the values its columns allow that tidy seeds never show.

`Emulator(seed_dirty=True)` (``--seed-dirty``) adds these rows after the seeded world, and
`Emulator.seed_dirty()` adds them later; `POST /_emulator/rows` inserts any single row. Every
value here is one the real server's columns can hold, rendered by the same shapes as every row:

* targets with NULL ``has_*`` flags, and names with ``;``, ``.``, ``..`` and non-ASCII letters;
* reduced datums with NULL arrays and NULL array elements, and observers stored as objects
  (``[{"id": 3}]``), a bare string (``"alice bob"``) or NULL;
* light-curve points whose magnitude, error or MJD is NaN (the CSV shows empty cells);
* data products whose observers are objects or a bare string;
* a calibration record whose status letter is ``""`` (the column allows it);
* a comment whose author was deleted, and a favourite never modified.
"""

from __future__ import annotations

import math
from typing import Any

from .records import Calibration, Comment, DataProduct, Datum, Favourite, Target
from .seed import BASE

__all__ = ["DIRTY_TARGETS", "dirty_rows"]

#: Names of the dirty targets, in id order (tests address them by these names).
DIRTY_TARGETS = ("Null;Flags", ".", "..", "Łódź☄2024", "NaN;Phot")
_T0 = BASE + 100.0


def dirty_rows(next_id: dict[str, int]) -> list[tuple[str, Any]]:
    """The dirty rows as ``(kind, record)`` pairs; `next_id` gives each table's first free id."""
    ids = dict(next_id)

    def take(kind: str) -> int:
        ids[kind] += 1
        return ids[kind] - 1

    rows: list[tuple[str, Any]] = []
    targets: dict[str, Target] = {}
    for offset, name in enumerate(DIRTY_TARGETS):
        target = Target(take("target"), name, 10.0 + offset, -10.0 - offset, _T0 + offset, _T0 + offset)
        targets[name] = target
        rows.append(("target", target))
    flags = targets["Null;Flags"]
    flags.has_optical = None
    flags.has_radio = None
    flags.has_polarimetry = None
    targets["."].has_infrared = None

    def datum(target: Target, mjd: float, value: float, error: float, **extra: Any) -> Datum:
        ident = take("datum")
        return Datum(
            ident,
            target.id,
            mjd,
            value,
            error,
            "V(GaiaSP)",
            "ROAD_QHY600M",
            "ROAD",
            "alice",
            _T0 + ident,
            **extra,
        )

    arrays = targets["Null;Flags"]
    rows += [
        ("datum", datum(arrays, 60100.1, 15.1, 0.02, observers=[{"id": 3}], value_list=None)),
        ("datum", datum(arrays, 60100.2, 15.2, 0.02, observers="alice bob", error_list=[0.1, None])),
        ("datum", datum(arrays, 60100.3, 15.3, 0.02, observers=None, wavelengths=[None, 500.0])),
        ("datum", datum(arrays, 60100.4, 15.4, 0.02, observers=["alice"])),
    ]
    nan = targets["NaN;Phot"]
    rows += [
        ("datum", datum(nan, 60200.1, 16.1, 0.03)),
        ("datum", datum(nan, 60200.2, math.nan, 0.03)),
        ("datum", datum(nan, 60200.3, 16.3, math.nan)),
        ("datum", datum(nan, math.nan, 16.4, 0.03)),
    ]
    rows += [("datum", datum(targets["Łódź☄2024"], 60300.5, 14.0, 0.01))]
    for observers in ([{"id": 3}, {"username": "bob", "id": 4}], "alice bob"):
        ident = take("dataproduct")
        rows.append(
            (
                "dataproduct",
                DataProduct(
                    ident,
                    flags.id,
                    3,
                    "photometry_csv",
                    f"targets/dirty/{ident}_dirty.csv",
                    "dirty.csv",
                    "0" * 64,
                    0,
                    _T0 + 50 + ident,
                    _T0 + 50 + ident,
                    camera_id=1,
                    observers=observers,
                ),
            )
        )
    odd = rows[-1][1]
    rows.append(
        (
            "calibration",
            Calibration(
                take("calibration"),
                odd.id,
                odd.created,
                odd.created,
                odd.created,
                odd.created,
                "",
                status_message="",
                mjd=60100.5,
                best_filter="V",
                materialized=True,
                fixed_times=True,
            ),
        )
    )
    rows.append(("comment", Comment(take("comment"), None, "", "Author since deleted", _T0 + 70, flags.id)))
    rows.append(("favourite", Favourite(take("favourite"), 4, 2, _T0 + 80, None)))
    return rows
