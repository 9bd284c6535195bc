"""Exports: light curves and result lists as astropy Tables and pandas DataFrames."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from astropy.time import Time

from bhtom_async import (
    CalibrationResult,
    CalibrationStatus,
    Comment,
    DataProduct,
    DataProductCalibration,
    InvalidInputError,
    LightCurve,
    LightCurvePoint,
    MissingDependencyError,
    ReducedDatum,
    ResultSet,
    Target,
    TargetGroupRef,
)


def curve(kind: str = "photometry") -> LightCurve:
    points = (
        LightCurvePoint(60100.25, 15.21, 0.03, "ROAD", "V(GaiaSP)", "alice"),
        LightCurvePoint(60101.5, 17.9, -1.0, "ROAD", "V(GaiaSP)", "alice"),
        LightCurvePoint(60102.75, 14.8, 0.05, "ZTF", "ZTF(zg)", "bob"),
    )
    return LightCurve(target="Gaia22bpl", kind=kind, points=points, columns=(), raw="")


def test_light_curve_table_columns_units_and_time() -> None:
    """MJD is a utc/mjd Time, mag and error carry the unit, is_limit is a boolean column."""
    table = curve().to_table()
    assert table.colnames == ["mjd", "mag", "error", "is_limit", "filter", "facility", "observer"]
    assert isinstance(table["mjd"], Time)
    assert (table["mjd"].scale, table["mjd"].format) == ("utc", "mjd")
    assert list(table["mjd"].mjd) == [60100.25, 60101.5, 60102.75]
    assert str(table["mag"].unit) == "mag"
    assert str(table["error"].unit) == "mag"
    assert table["is_limit"].dtype == bool
    assert list(table["is_limit"]) == [False, True, False]
    assert list(table["filter"]) == ["V(GaiaSP)", "V(GaiaSP)", "ZTF(zg)"]
    assert table.meta == {"target": "Gaia22bpl", "kind": "photometry", "unit": "mag"}


def test_radio_light_curve_is_flux_in_mjy() -> None:
    """A radio curve's value column is `flux` in mJy."""
    table = curve("radio").to_table()
    assert "flux" in table.colnames
    assert "mag" not in table.colnames
    assert str(table["flux"].unit) == "mJy"


def test_empty_light_curve_keeps_its_columns() -> None:
    """A curve with no points is an empty table with the same columns (not an error)."""
    empty = LightCurve(target="X", kind="photometry", points=(), columns=(), raw="")
    table = empty.to_table()
    assert len(table) == 0
    assert table.colnames == ["mjd", "mag", "error", "is_limit", "filter", "facility", "observer"]
    assert list(empty.to_pandas().columns) == table.colnames


def test_light_curve_pandas_has_float_mjd_and_bool_limits() -> None:
    """The DataFrame has MJD as floats, a bool is_limit column and units in attrs."""
    frame = curve().to_pandas()
    assert list(frame.columns) == ["mjd", "mag", "error", "is_limit", "filter", "facility", "observer"]
    assert str(frame["mjd"].dtype) == "float64"
    assert str(frame["is_limit"].dtype) == "bool"
    assert frame["is_limit"].tolist() == [False, True, False]
    assert frame.loc[~frame["is_limit"], "mag"].tolist() == [15.21, 14.8]
    assert frame.attrs["units"] == {"mag": "mag", "error": "mag"}
    assert frame.attrs["target"] == "Gaia22bpl"


def test_ecsv_round_trip_keeps_time_units_and_limits(tmp_path: Path) -> None:
    """What `bhtom photometry --format ecsv` writes reads back with Time, units and is_limit."""
    path = tmp_path / "curve.ecsv"
    curve().to_table().write(path, format="ascii.ecsv")
    back = Table.read(path, format="ascii.ecsv")
    assert isinstance(back["mjd"], Time)
    assert back["mjd"].scale == "utc"
    assert str(back["mag"].unit) == "mag"
    assert list(back["is_limit"]) == [False, True, False]
    assert back.meta["target"] == "Gaia22bpl"


def results() -> ResultSet[CalibrationResult]:
    return ResultSet(
        [
            CalibrationResult(7, CalibrationStatus.SUCCESS, "a.fits", 15.1, 0.02, "GaiaSP/V", 60827.9),
            CalibrationResult(8, CalibrationStatus.SUCCESS, "b.fits", 18.0, -1.0, "GaiaSP/V", 60827.91),
            CalibrationResult(9, CalibrationStatus.PENDING, "c.fits", message="still pending"),
        ]
    )


def test_calibration_results_table_masks_what_is_missing() -> None:
    """A pending result's magnitude and MJD are masked, not 0; status is the name."""
    table = results().to_table()
    assert table.colnames[:8] == [
        "dataproduct_id",
        "filename",
        "status",
        "mjd",
        "magnitude",
        "error",
        "is_limit",
        "filter",
    ]
    assert list(table["status"]) == ["SUCCESS", "SUCCESS", "PENDING"]
    assert list(table["magnitude"].mask) == [False, False, True]
    assert list(table["mjd"].mask) == [False, False, True]
    assert table["mjd"].scale == "utc"
    assert str(table["magnitude"].unit) == "mag"
    assert list(table["is_limit"]) == [False, True, False]


def test_calibration_results_pandas_has_nan_for_missing() -> None:
    """The DataFrame has NaN where the table is masked, and nullable integer ids."""
    frame = results().to_pandas()
    assert np.isnan(frame["magnitude"].iloc[2])
    assert frame["dataproduct_id"].tolist() == [7, 8, 9]
    assert str(frame["dataproduct_id"].dtype) == "Int64"
    assert frame["is_limit"].tolist() == [False, True, False]


def test_data_products_read_their_calibration_summary() -> None:
    """A data product's magnitude and MJD come from its calibration summary; none is masked."""
    calibrated = DataProduct(
        5,
        target_name="Gaia22bpl",
        data="data/5_f.fits",
        calibration_data=DataProductCalibration(mjd=60827.9, magnitude=15.2, mag_error=0.03),
        created=dt.datetime(2025, 6, 1, 23, 0, tzinfo=dt.timezone.utc),
    )
    bare = DataProduct(6, target_name="Gaia22bpl")
    table = ResultSet([calibrated, bare]).to_table()
    assert table["filename"][0] == "5_f.fits"
    assert bool(table["filename"].mask[1])
    assert table["magnitude"][0] == 15.2
    assert bool(table["magnitude"].mask[1])
    assert table["mjd"][0].mjd == 60827.9
    assert str(table["created"][0].isot).startswith("2025-06-01T23:00:00")
    frame = ResultSet([calibrated, bare]).to_pandas()
    assert str(frame["created"].dtype).startswith("datetime64")
    assert frame["created"].iloc[0] == dt.datetime(2025, 6, 1, 23, 0, tzinfo=dt.timezone.utc)


def test_reduced_data_unit_follows_the_rows() -> None:
    """Values in one unit get it (MAG → mag); mixed units leave the column without one."""
    mags = [ReducedDatum(1, mjd=1.0, value=15.0, value_unit="MAG"), ReducedDatum(2, value_unit="MAG")]
    assert str(ResultSet(mags).to_table()["value"].unit) == "mag"
    mixed = [*mags, ReducedDatum(3, value=2.0, value_unit="MILLIJANSKY")]
    assert ResultSet(mixed).to_table()["value"].unit is None


def test_target_placeholders_are_missing_values() -> None:
    """The server's "no photometry" mag 100 / MJD 0 are masked; coordinates are in degrees."""
    seen = Target("A", ra=10.0, dec=-5.0, mag_last=15.0, mjd_last=60000.0, groups=(TargetGroupRef("g", 1),))
    unseen = Target("B", ra=11.0, dec=-6.0, mag_last=100.0, mjd_last=0.0)
    table = ResultSet([seen, unseen]).to_table()
    assert str(table["ra"].unit) == "deg"
    assert list(table["mag_last"].mask) == [False, True]
    assert list(table["mjd_last"].mask) == [False, True]
    assert list(table["groups"]) == ["g", ""]


def test_other_models_get_their_plain_fields() -> None:
    """A model without chosen columns gets one column per plain field (text, numbers, dates)."""
    table = ResultSet([Comment(1, text="hi", user_name="alice", target_id=3)]).to_table()
    assert table.colnames == ["id", "text", "user_name", "user_id", "target_name", "target_id", "submit_date"]
    assert table["text"][0] == "hi"


def test_an_empty_result_set_needs_its_kind() -> None:
    """An empty set made with `kind` has that kind's columns; without, an empty table."""
    assert ResultSet([], kind=CalibrationResult).to_table().colnames[:2] == ["dataproduct_id", "filename"]
    assert ResultSet([]).to_table().colnames == []


def test_mixed_kinds_are_refused() -> None:
    """A set holding two kinds of model cannot become one table."""
    mixed = ResultSet([Comment(1), Target("A")])
    with pytest.raises(InvalidInputError, match="one ResultSet per kind"):
        mixed.to_table()


def test_result_set_is_still_a_list() -> None:
    """Code that expects a list keeps working: equality, indexing, len."""
    found = results()
    assert found == list(found)
    assert len(found) == 3
    assert found[0].dataproduct_id == 7


def test_missing_astropy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without astropy, to_table raises a ModuleNotFoundError naming `bhtom_async[astro]`."""
    monkeypatch.setitem(sys.modules, "astropy.table", None)
    with pytest.raises(ModuleNotFoundError) as caught:
        curve().to_table()
    assert isinstance(caught.value, MissingDependencyError)
    assert "pip install 'bhtom_async[astro]'" in str(caught.value)
    assert caught.value.name == "astropy"


def test_missing_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pandas, to_pandas says which extra to install."""
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"DataFrame export needs pandas.*bhtom_async\[astro\]"):
        results().to_pandas()


BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"astropy", "numpy", "pandas", "matplotlib"}:
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
import bhtom_async, bhtom_async.sync, bhtom_async.upload.headers
from bhtom_async import LightCurve, MissingDependencyError
curve = LightCurve(target="X", kind="photometry", points=(), columns=(), raw="")
try:
    curve.plot()
except MissingDependencyError as exc:
    print("plot:", exc.module)
print(curve._repr_html_()[:7])
"""


def test_the_core_imports_without_the_astro_stack() -> None:
    """With astropy, numpy, pandas and matplotlib unimportable, the package still imports."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["plot:", "matplotlib", "<table>"]
