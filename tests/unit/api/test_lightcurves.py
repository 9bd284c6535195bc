"""`parse_light_curve`: the server's `;`-separated light-curve CSV into typed points."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bhtom_async.api.lightcurves import (
    NO_MJD,
    LightCurveFormatError,
    filename_from_disposition,
    parse_light_curve,
)
from bhtom_async.models._converter import DecodeReport
from bhtom_async.models._files import safe_filename


def test_sample_file_parses_quoted_fields_limits_and_empty_observer(samples_dir: Path) -> None:
    """Quoted fields with `;` and doubled quotes, an empty observer and a negative error all read right."""
    text = (samples_dir / "light_curve_download.csv").read_text()
    curve = parse_light_curve(text, target="Gaia22bpl", kind="photometry")
    assert len(curve.points) == 4
    assert curve.points[1].observer == ""
    assert curve.points[1].filter == "ZTF(zg)"
    assert [p.is_limit for p in curve.points] == [False, False, True, False]
    last = curve.points[3]
    assert (last.facility, last.filter, last.observer) == (
        "Obs; with semicolon",
        "G(GAIA_ALERTS)",
        'a "quoted" observer',
    )
    assert curve.filters == ("V(GaiaSP)", "ZTF(zg)", "G(GAIA_ALERTS)")


def test_raw_text_is_kept_unchanged(samples_dir: Path) -> None:
    """The original text is kept byte for byte so it can be saved."""
    text = (samples_dir / "light_curve_download.csv").read_text()
    assert parse_light_curve(text, target="T", kind="photometry").raw == text


def test_header_only_means_empty() -> None:
    """A header with no rows is an empty curve with its columns."""
    curve = parse_light_curve("MJD;Magnitude;Error;Facility;Filter;Observer\n", target="T", kind="photometry")
    assert curve.points == ()
    assert curve.columns == ("MJD", "Magnitude", "Error", "Facility", "Filter", "Observer")


def test_empty_body_means_empty() -> None:
    """An empty body is an empty curve, not an error."""
    assert parse_light_curve("", target="T", kind="radio").points == ()


def test_radio_curve_reads_mjy_values() -> None:
    """Radio files have an mJy column; values are read as floats and the unit is mJy."""
    curve = parse_light_curve(
        "MJD;mJy;Error;Facility;Filter;Observer\n60001.5;1.25;0.1;RT32;5GHz;bob\n", target="T", kind="radio"
    )
    assert (curve.points[0].value, curve.unit, curve.columns[1]) == (1.25, "mJy", "mJy")


def test_crlf_line_ends_are_accepted() -> None:
    """Windows line ends do not leak into the last column."""
    curve = parse_light_curve(
        "MJD;Magnitude;Error;Facility;Filter;Observer\r\n1.0;2.0;0.1;F;V;me\r\n",
        target="T",
        kind="photometry",
    )
    assert curve.points[0].observer == "me"


def test_non_light_curve_text_is_refused() -> None:
    """A page that is not the CSV raises LightCurveFormatError naming the line."""
    with pytest.raises(LightCurveFormatError, match="line"):
        parse_light_curve("<html>Login</html>\n", target="T", kind="photometry")


def test_empty_and_non_numeric_cells_are_nan_and_the_row_is_kept() -> None:
    """pandas writes NaN as an empty cell: such a value or error is NaN, and counted once per row."""
    text = "MJD;Magnitude;Error;Facility;Filter;Observer\n60000.5;;0.1;F;V;o\n60001.5;15.2;x;F;V;o\n"
    report = DecodeReport()
    curve = parse_light_curve(text, target="T", kind="photometry", report=report)
    assert [p.mjd for p in curve.points] == [60000.5, 60001.5]
    assert math.isnan(curve.points[0].value)
    assert curve.points[0].error == 0.1
    assert curve.points[1].value == 15.2
    assert math.isnan(curve.points[1].error)
    assert (report.rows, report.affected, dict(report.fields)) == (2, 2, {"Magnitude": 1, "Error": 1})


def test_a_row_without_a_readable_mjd_is_left_out_and_counted() -> None:
    """A row whose MJD is empty or not a number is not a point; the raw text still holds it."""
    text = "MJD;Magnitude;Error;Facility;Filter;Observer\nabc;1;1;F;V;o\n60001.5;15.2;0.1;F;V;o\n"
    report = DecodeReport()
    curve = parse_light_curve(text, target="T", kind="photometry", report=report)
    assert [p.mjd for p in curve.points] == [60001.5]
    assert "abc;1;1" in curve.raw
    assert dict(report.fields) == {NO_MJD: 1}


def test_filename_from_content_disposition() -> None:
    """The attachment name is read from Content-Disposition, quoted or not."""
    assert (
        filename_from_disposition('attachment; filename="target_X_photometry.csv"')
        == "target_X_photometry.csv"
    )
    assert filename_from_disposition("attachment; filename=a.csv") == "a.csv"
    assert filename_from_disposition(None) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="target_X;semi_photometry.csv"', "target_X;semi_photometry.csv"),
        (
            "attachment; filename*=utf-8''target_%C5%81%C3%B3d%C5%BA_photometry.csv",
            "target_Łódź_photometry.csv",
        ),
        ('attachment; filename="target_.._photometry.csv"', "target_.._photometry.csv"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ("attachment; filename*=UTF-8''%2E%2E%2Fx.csv", "x.csv"),
        ('attachment; filename=".."', None),
        ("attachment", None),
    ],
)
def test_content_disposition_is_read_by_a_real_parser(header: str, expected: str | None) -> None:
    """A quoted `;`, RFC 5987 `filename*=` and path parts: the name is decoded and made a base name."""
    assert filename_from_disposition(header) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", "a.csv"),
        ("../a.csv", "a.csv"),
        ("..\\a.csv", "a.csv"),
        ("..", "fb"),
        ("x/", "fb"),
        (None, "fb"),
    ],
)
def test_safe_filename_never_leaves_the_directory(name: str | None, expected: str) -> None:
    """Directories and dot names are stripped; nothing usable gives the fallback."""
    assert safe_filename(name, "fb") == expected
