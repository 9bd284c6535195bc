"""`parse_light_curve`: the server's `;`-separated light-curve CSV into typed points."""

from __future__ import annotations

from pathlib import Path

import pytest

from bhtom_async.api.lightcurves import LightCurveFormatError, filename_from_disposition, parse_light_curve


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


@pytest.mark.parametrize(
    "text",
    ["<html>Login</html>\n", "MJD;Magnitude;Error;Facility;Filter;Observer\nabc;1;1;F;V;o\n"],
)
def test_non_light_curve_text_is_refused(text: str) -> None:
    """A page that is not the CSV, or a non-numeric MJD, raises LightCurveFormatError naming the line."""
    with pytest.raises(LightCurveFormatError, match="line"):
        parse_light_curve(text, target="T", kind="photometry")


def test_filename_from_content_disposition() -> None:
    """The attachment name is read from Content-Disposition, quoted or not."""
    assert (
        filename_from_disposition('attachment; filename="target_X_photometry.csv"')
        == "target_X_photometry.csv"
    )
    assert filename_from_disposition("attachment; filename=a.csv") == "a.csv"
    assert filename_from_disposition(None) is None
