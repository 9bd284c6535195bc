"""Strictly private: models into astropy Tables, pandas DataFrames and notebook HTML.

A table's shape is a `Schema`: named columns, each reading one value from a row object, with a
kind (how the value is stored) and an optional unit. The schemas live beside their models
(`LightCurve` in ``targets.py``, result lists in ``results.py``); this module only knows how to
build each output from a schema, so every export has the same conventions:

- ``mjd`` columns are `astropy.time.Time` (scale ``utc``, format ``mjd``) in a Table and plain
  floats in a DataFrame; other datetimes are `Time` (``isot``) and UTC ``datetime64``.
- a missing value (None) is masked in a Table and NaN/<NA> in a DataFrame; never a fake 0.
- units are astropy units in a Table, and ``df.attrs["units"]`` in a DataFrame.

astropy, numpy and pandas are optional (the ``astro`` extra): they are imported inside the
functions that need them, so the core imports without them, and a missing one raises
`MissingDependencyError` (a `ModuleNotFoundError`) naming the extra.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .._display import html_table
from ..errors import MissingDependencyError

if TYPE_CHECKING:
    from astropy.table import Table
    from pandas import DataFrame

__all__ = ["Column", "Schema", "require", "schema_html", "to_pandas", "to_table"]

Kind = Literal["float", "int", "str", "bool", "mjd", "datetime"]


@attrs.frozen
class Column:
    """One column: its name, how to read it from a row, how to store it, and its unit.

    `unit_of` picks the unit from all the rows when it depends on them (reduced data carry
    their unit per row); it wins over `unit` when it returns one.
    """

    name: str
    get: Callable[[Any], object]
    kind: Kind = "float"
    unit: str | None = None
    description: str = ""
    unit_of: Callable[[Sequence[Any]], str | None] | None = None

    def unit_for(self, rows: Sequence[Any]) -> str | None:
        if self.unit_of is not None:
            return self.unit_of(rows) or self.unit
        return self.unit


def field(name: str, kind: Kind = "float", unit: str | None = None, description: str = "") -> Column:
    """A column read from the attribute of the same name."""
    return Column(name, lambda row: getattr(row, name), kind, unit, description)


Schema = tuple[Column, ...]


def require(module: str, feature: str) -> ModuleType:
    """Import an optional module, or raise `MissingDependencyError` naming the ``astro`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(feature, module.split(".")[0]) from None


def to_table(schema: Schema, rows: Iterable[object], *, meta: Mapping[str, object] | None = None) -> Table:
    """An astropy `Table` with one column per schema column (see the module docstring)."""
    table_module = require("astropy.table", "a Table export")
    items = list(rows)
    table = table_module.Table(meta=dict(meta or {}))
    for column in schema:
        values = [column.get(item) for item in items]
        table[column.name] = _astropy_column(column, values, column.unit_for(items))
    return table


def to_pandas(
    schema: Schema, rows: Iterable[object], *, meta: Mapping[str, object] | None = None
) -> DataFrame:
    """A pandas `DataFrame` with one column per schema column; units in ``df.attrs["units"]``."""
    pd = require("pandas", "a DataFrame export")
    items = list(rows)
    data: dict[str, object] = {}
    units: dict[str, str] = {}
    for column in schema:
        values = [column.get(item) for item in items]
        data[column.name] = _pandas_series(pd, column.kind, values)
        unit = column.unit_for(items)
        if unit is not None:
            units[column.name] = unit
    frame = pd.DataFrame(data, columns=[c.name for c in schema])
    frame.attrs.update(dict(meta or {}))
    frame.attrs["units"] = units
    return frame


def schema_html(schema: Schema, rows: Sequence[object], *, caption: str) -> str:
    """A short HTML table of `rows` (head and tail when long) for a notebook."""
    header = [f"{c.name} [{c.unit}]" if c.unit else c.name for c in schema]
    body = [[_display_value(c, c.get(row)) for c in schema] for row in rows]
    return html_table(header, body, caption=caption)


def _display_value(column: Column, value: object) -> object:
    if column.kind == "mjd" and isinstance(value, float):
        return f"{value:.5f}"
    return value


def _astropy_column(column: Column, values: list[object], unit: str | None) -> Any:
    np = require("numpy", "a Table export")
    table_module = require("astropy.table", "a Table export")
    missing = [value is None for value in values]
    masked = any(missing)
    kind = column.kind
    if kind in ("mjd", "datetime"):
        time_module = require("astropy.time", "a Table export")
        if kind == "mjd":
            numbers = np.array([np.nan if v is None else v for v in values], dtype=float)
            data = np.ma.masked_array(numbers, mask=missing) if masked else numbers
            return time_module.Time(data, format="mjd", scale="utc", precision=6)
        instants = [_utc_naive(v) for v in values]
        if not instants:
            return time_module.Time(np.array([], dtype=float), format="mjd", scale="utc")
        filler = next((v for v in instants if v is not None), dt.datetime(2000, 1, 1))
        moment = time_module.Time([filler if v is None else v for v in instants], scale="utc")
        moment.format = "isot"
        if masked:
            moment[np.array(missing)] = np.ma.masked
        return moment
    fill: object
    dtype: object
    if kind == "float":
        fill, dtype = np.nan, float
    elif kind == "int":
        fill, dtype = 0, np.int64
    elif kind == "bool":
        fill, dtype = False, bool
    else:
        fill, dtype = "", str
        values = [v if v is None else str(v) for v in values]
    filled = [fill if v is None else v for v in values]
    array = np.array(filled, dtype=dtype) if filled else np.array([], dtype=dtype)
    kwargs: dict[str, object] = {"name": column.name, "unit": unit, "description": column.description or None}
    if masked:
        return table_module.MaskedColumn(array, mask=missing, **kwargs)
    return table_module.Column(array, **kwargs)


def _pandas_series(pd: Any, kind: Kind, values: list[object]) -> Any:
    if kind in ("float", "mjd"):
        return pd.Series([float("nan") if v is None else v for v in values], dtype="float64")
    if kind == "int":
        return pd.Series(values, dtype="Int64")
    if kind == "bool":
        return pd.Series(values, dtype="boolean" if None in values else "bool")
    if kind == "datetime":
        return pd.to_datetime(pd.Series([_utc_naive(v) for v in values], dtype="object"), utc=True)
    return pd.Series([v if v is None else str(v) for v in values], dtype="string")


def _utc_naive(value: object) -> dt.datetime | None:
    """A datetime in UTC without tzinfo (what astropy and pandas read unambiguously)."""
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value
