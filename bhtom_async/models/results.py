"""`ResultSet`: a list of models that also becomes a Table, a DataFrame or a notebook table.

Why a list type and not only functions: lists of results come out of the library in several
places (`await pager.to_list()`, the sync client's ``.to_list()``), and a notebook shows the
last value of a cell through its `_repr_html_`, which a plain list cannot have. `ResultSet` is a
`list` subclass, so code that expects a list keeps working; it adds `to_table()`,
`to_pandas()` and a short HTML table. Wrap any list yourself: ``ResultSet(results).to_table()``.

Calibration results, data products, reduced data and targets have chosen columns with units
(below); any other model gets one column per plain field (numbers, text, flags, dates).
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from .._display import html_table
from ..errors import InvalidInputError
from . import _tables
from ._tables import Column, Schema, field
from .calibration import CalibrationResult
from .dataproducts import DataProduct
from .reduced_data import ReducedDatum
from .targets import Target

if TYPE_CHECKING:
    from astropy.table import Table
    from pandas import DataFrame

__all__ = ["ResultSet"]

_T = TypeVar("_T")

#: The server's `value_unit` names of reduced data, as astropy unit strings.
_UNITS = {"MAG": "mag", "MILLIJANSKY": "mJy", "JANSKY": "Jy"}


def _calibrated(name: str, kind: _tables.Kind = "float", unit: str | None = None) -> Column:
    """A column read from a data product's embedded calibration summary (None without one)."""

    def get(product: DataProduct) -> object:
        summary = product.calibration_data
        return None if summary is None else getattr(summary, name)

    return Column(name, get, kind, unit)


def _datum_unit(rows: Sequence[ReducedDatum]) -> str | None:
    found = {row.value_unit for row in rows}
    return _UNITS.get(found.pop() or "") if len(found) == 1 else None


def _is_limit(row: Any) -> object:
    return bool(row.is_limit)


_SCHEMAS: dict[type, Schema] = {
    CalibrationResult: (
        field("dataproduct_id", "int"),
        field("filename", "str"),
        Column("status", lambda r: r.status.name, "str"),
        field("mjd", "mjd"),
        field("magnitude", "float", "mag"),
        field("error", "float", "mag", "negative for an upper limit"),
        Column("is_limit", _is_limit, "bool", description="upper limit (non-detection)"),
        field("filter", "str"),
        field("observatory", "str"),
        field("status_message", "str"),
        field("message", "str"),
        field("dry_run", "bool"),
    ),
    DataProduct: (
        field("id", "int"),
        field("target_name", "str"),
        field("filename", "str"),
        field("data_product_type", "str"),
        field("status", "str"),
        field("camera", "str"),
        field("user", "str"),
        _calibrated("mjd", "mjd"),
        _calibrated("magnitude", "float", "mag"),
        _calibrated("mag_error", "float", "mag"),
        Column(
            "is_limit",
            lambda p: (
                p.calibration_data is not None
                and p.calibration_data.mag_error is not None
                and p.calibration_data.mag_error < 0
            ),
            "bool",
        ),
        _calibrated("standardised_to", "str"),
        _calibrated("zp", "float", "mag"),
        _calibrated("scatter", "float", "mag"),
        _calibrated("npoints", "int"),
        field("dry_run", "bool"),
        field("created", "datetime"),
    ),
    ReducedDatum: (
        field("id", "int"),
        field("target", "int"),
        field("data_product", "int"),
        field("mjd", "mjd"),
        Column("value", lambda d: d.value, "float", unit_of=_datum_unit),
        Column("error", lambda d: d.error, "float", unit_of=_datum_unit),
        Column("is_limit", _is_limit, "bool", description="upper limit (non-detection)"),
        field("value_unit", "str"),
        field("filter", "str"),
        field("observer", "str"),
        field("facility", "str"),
        field("data_type", "str"),
        Column("active", lambda d: d.active, "bool"),
        field("timestamp", "datetime"),
    ),
    Target: (
        field("name", "str"),
        field("ra", "float", "deg"),
        field("dec", "float", "deg"),
        field("epoch", "float"),
        field("classification", "str"),
        field("type", "str"),
        field("importance", "float"),
        field("priority", "float"),
        field("cadence", "float", "d"),
        # The server's "no photometry yet" placeholders (mag 100, MJD 0) are missing values here.
        Column("mjd_last", lambda t: t.mjd_last if t.has_photometry else None, "mjd"),
        Column("mag_last", lambda t: t.mag_last if t.has_photometry else None, "float", "mag"),
        Column("filter_last", lambda t: t.filter_last if t.has_photometry else None, "str"),
        field("sun_separation", "float", "deg"),
        field("galactic_lng", "float", "deg"),
        field("galactic_lat", "float", "deg"),
        field("constellation", "str"),
        Column("groups", lambda t: ", ".join(g.name for g in t.groups), "str"),
        field("created", "datetime"),
    ),
}

_PLAIN: dict[object, _tables.Kind] = {
    int: "int",
    float: "float",
    str: "str",
    bool: "bool",
    dt.datetime: "datetime",
}


def _schema_for(kind: type) -> Schema:
    """The columns of `kind`: the chosen ones, or one per plain attrs field (str, number, ...)."""
    found = _SCHEMAS.get(kind)
    if found is not None:
        return found
    if not attrs.has(kind):
        return (Column("value", lambda v: v, "str"),)
    hints = typing.get_type_hints(kind)
    columns = []
    for attribute in attrs.fields(kind):
        hint = hints.get(attribute.name)
        options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        if len(options) == 1 and options[0] in _PLAIN:
            columns.append(field(attribute.name, _PLAIN[options[0]]))
    return tuple(columns)


class ResultSet(list[_T], Generic[_T]):
    """A list of models with `to_table()`, `to_pandas()` and a notebook display.

    Args:
        items: the models (all of one type).
        kind: their type, for an empty list (a non-empty one takes its first item's type).

    Example:
        >>> results = ResultSet(await bh.targets.list().to_list())       # doctest: +SKIP
        >>> results.to_pandas().sort_values("importance")                 # doctest: +SKIP
    """

    def __init__(self, items: Iterable[_T] = (), *, kind: type[_T] | None = None) -> None:
        super().__init__(items)
        self._kind = kind

    @property
    def kind(self) -> type | None:
        """The type of the items (None for an empty set made without `kind`)."""
        return self._kind if self._kind is not None else (type(self[0]) if self else None)

    def to_table(self) -> Table:
        """An astropy `Table`, one row per item (needs the ``astro`` extra).

        Magnitudes carry the unit mag, coordinates deg; MJDs are `astropy.time.Time` (scale
        ``utc``, format ``mjd``); ``is_limit`` is a boolean column; missing values are masked.

        Raises:
            MissingDependencyError: astropy is not installed.
            InvalidInputError: the items are not all of one type.
        """
        return _tables.to_table(self._schema(), self)

    def to_pandas(self) -> DataFrame:
        """A pandas `DataFrame` with the `to_table` columns (MJDs as floats, units in
        ``df.attrs["units"]``).

        Raises:
            MissingDependencyError: pandas is not installed.
            InvalidInputError: the items are not all of one type.
        """
        return _tables.to_pandas(self._schema(), self)

    def _repr_html_(self) -> str:
        kind = self.kind
        name = kind.__name__ if kind is not None else "item"
        caption = f"{len(self)} x {name}"
        if kind is None:
            return html_table([], [], caption=caption)
        return _tables.schema_html(self._schema(), self, caption=caption)

    def _schema(self) -> Schema:
        kind = self.kind
        if kind is None:
            return ()
        odd = next((item for item in self if type(item) is not kind), None)
        if odd is not None:
            raise InvalidInputError(
                f"a ResultSet of {kind.__name__} also holds a {type(odd).__name__}",
                hint="make one ResultSet per kind of result",
            )
        return _schema_for(kind)

    def __repr__(self) -> str:
        return f"ResultSet({list.__repr__(self)})"
