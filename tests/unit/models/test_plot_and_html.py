"""`LightCurve.plot` (matplotlib, Agg) and the notebook HTML of curves, result sets and summaries."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from bhtom_async import (
    BhtomError,
    CalibrationResult,
    CalibrationStatus,
    LightCurve,
    LightCurvePoint,
    ResultSet,
    UploadSummary,
)
from bhtom_async._display import html_table, summary_html
from bhtom_async.models._plot import LIMIT_MARKER
from bhtom_async.upload import UploadOutcome

matplotlib.use("Agg")


def curve(kind: str = "photometry") -> LightCurve:
    points = (
        LightCurvePoint(60100.0, 15.2, 0.03, "ROAD", "V(GaiaSP)", "alice"),
        LightCurvePoint(60101.0, 15.4, 0.04, "ROAD", "V(GaiaSP)", "alice"),
        LightCurvePoint(60102.0, 18.0, -1.0, "ROAD", "V(GaiaSP)", "alice"),
        LightCurvePoint(60100.5, 14.8, 0.05, "ZTF", "ZTF(zg)", "bob"),
        LightCurvePoint(60103.0, 19.0, -1.0, "ZTF", "ZTF(zr)", "bob"),
    )
    return LightCurve(target="Gaia22bpl", kind=kind, points=points, columns=(), raw="")


def test_plot_inverts_the_magnitude_axis_and_returns_the_figure() -> None:
    """Brighter is up for magnitudes; the figure is returned, with one axes."""
    figure = curve().plot()
    (axes,) = figure.axes
    assert axes.yaxis_inverted()
    assert axes.get_xlabel() == "MJD"
    assert axes.get_title() == "Gaia22bpl (photometry)"


def test_radio_flux_axis_is_not_inverted() -> None:
    """A flux axis runs upward as usual."""
    (axes,) = curve("radio").plot().axes
    assert not axes.yaxis_inverted()
    assert "mJy" in axes.get_ylabel()


def test_one_series_per_filter_with_its_own_colour_and_marker() -> None:
    """Each filter's detections are one error-bar series; colours and markers all differ."""
    (axes,) = curve().plot().axes
    series = axes.containers
    assert [c.get_label() for c in series] == ["V(GaiaSP)", "ZTF(zg)"]
    lines = [c.lines[0] for c in series]
    assert len({line.get_color() for line in lines}) == 2
    assert len({line.get_marker() for line in lines}) == 2
    assert [list(line.get_xdata()) for line in lines] == [[60100.0, 60101.0], [60100.5]]
    # error bars are drawn with the absolute error
    segments = series[0].lines[2][0].get_segments()
    assert [round(abs(s[1][1] - s[0][1]) / 2, 6) for s in segments] == [0.03, 0.04]


def test_limits_are_downward_arrows_in_the_filters_colour() -> None:
    """Upper limits are not error bars but down-arrow markers, coloured like their filter."""
    (axes,) = curve().plot().axes
    limits = [line for line in axes.lines if line.get_marker() == LIMIT_MARKER]
    assert [list(line.get_xdata()) for line in limits] == [[60102.0], [60103.0]]
    detections = {c.get_label(): c.lines[0].get_color() for c in axes.containers}
    assert limits[0].get_color() == detections["V(GaiaSP)"]
    # a filter with only limits still gets its own colour
    assert limits[1].get_color() not in detections.values()


def test_plot_saves_a_png(tmp_path: Path) -> None:
    """`save=` writes a PNG file."""
    path = tmp_path / "curve.png"
    curve().plot(save=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_draws_into_given_axes() -> None:
    """`ax=` draws into an existing axes and returns its figure."""
    from matplotlib.figure import Figure

    figure = Figure()
    axes = figure.add_subplot()
    assert curve().plot(ax=axes, title="mine") is figure
    assert axes.get_title() == "mine"


def test_light_curve_html_is_a_small_captioned_table() -> None:
    """A curve shows as a table headed by target, count, MJD range and filters."""
    text = curve()._repr_html_()
    assert text.startswith("<table><caption>Gaia22bpl (photometry): 5 points, MJD 60100.000 to 60103.000;")
    assert "<th>mag [mag]</th>" in text
    assert text.count("<tr>") == 6  # header + 5 rows


def test_html_escapes_and_cuts_long_tables() -> None:
    """Cell text is escaped; past the limit only the head and tail are shown."""
    rows = [[f"<b>{i}</b>"] for i in range(50)]
    text = html_table(["x"], rows, max_rows=10)
    assert "&lt;b&gt;0&lt;/b&gt;" in text
    assert "<b>0</b>" not in text
    assert "… 40 more rows …" in text
    assert "&lt;b&gt;49&lt;/b&gt;" in text
    assert "&lt;b&gt;25&lt;/b&gt;" not in text


def test_result_set_html_names_the_kind() -> None:
    """A result set shows its size and kind, then one row per result."""
    found = ResultSet([CalibrationResult(1, CalibrationStatus.SUCCESS, "a.fits", 15.0, 0.1)])
    text = found._repr_html_()
    assert "<caption>1 x CalibrationResult</caption>" in text
    assert "<td>SUCCESS</td>" in text


def test_upload_summary_html_shows_counts_and_trouble() -> None:
    """The summary HTML has the counts, the stop reason with its hint, and the failed files."""
    summary = UploadSummary(
        outcomes=(
            UploadOutcome(Path("night/a.fits"), "uploaded", data_product_id=1),
            UploadOutcome(Path("night/b.fits"), "failed", reason="not a FITS <file>"),
        ),
        stopped=None,
        bytes_sent=2_000_000,
        elapsed=2.0,
    )
    text = summary_html(summary)
    assert "<caption>Upload summary</caption>" in text
    assert "<th>uploaded</th><th>skipped</th><th>failed</th>" in text
    assert "<td>1</td><td>0</td><td>1</td>" in text
    assert "<td>b.fits</td><td>failed</td><td>not a FITS &lt;file&gt;</td>" in text
    assert "a.fits" not in text

    class Refused(BhtomError):
        hint = "add the camera to your favourites"

    stopped = summary_html(UploadSummary(outcomes=(), stopped=Refused("camera refused")))
    assert "<b>Stopped:</b> camera refused. Hint: add the camera to your favourites" in stopped


@pytest.mark.parametrize("status", ["failed", "unknown"])
def test_summary_html_lists_failed_and_unknown(status: str) -> None:
    """Both failed and unknown outcomes are listed as trouble."""
    summary = UploadSummary(outcomes=(UploadOutcome(Path("x.fits"), status, reason="why"),))  # type: ignore[arg-type]
    assert f"<td>x.fits</td><td>{status}</td><td>why</td>" in summary_html(summary)


def test_the_figure_shows_as_png_in_a_notebook() -> None:
    """A returned figure renders itself as PNG (Jupyter needs no pyplot backend for it)."""
    figure = curve().plot()
    assert figure._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[attr-defined]
