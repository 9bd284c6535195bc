"""Strictly private: `LightCurve.plot` (matplotlib, the ``astro`` extra, imported when called).

The figure is built with `matplotlib.figure.Figure`, not `pyplot`: no global figure list grows
(no "more than 20 figures" warnings in a loop over targets), no GUI backend is needed (saving
goes through Agg), and the figure has a `_repr_png_`, so Jupyter shows it when a cell returns
it even if pyplot's inline backend was never started.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ._tables import require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["LIMIT_MARKER", "plot_light_curve"]

#: Markers for successive filters (the down arrow is kept for limits).
MARKERS = ("o", "s", "D", "^", "P", "X", "*", "h", "<", ">")
#: The marker of an upper limit: a downward arrow, whichever way the axis runs.
LIMIT_MARKER = "$\\downarrow$"


class _PointLike(Protocol):
    @property
    def mjd(self) -> float: ...
    @property
    def value(self) -> float: ...
    @property
    def error(self) -> float: ...
    @property
    def filter(self) -> str: ...
    @property
    def is_limit(self) -> bool: ...


class _CurveLike(Protocol):
    @property
    def target(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def points(self) -> Sequence[_PointLike]: ...
    @property
    def filters(self) -> tuple[str, ...]: ...


@functools.cache
def _shown_figure_class() -> type[Figure]:
    from matplotlib.figure import Figure

    class LightCurveFigure(Figure):
        """A matplotlib `Figure` that shows itself as a PNG in notebooks."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    return LightCurveFigure


def plot_light_curve(
    curve: _CurveLike,
    *,
    ax: Axes | None = None,
    save: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Plot `curve`: one colour and marker per filter, error bars, limits as downward arrows."""
    require("matplotlib", "plotting a light curve")
    from matplotlib.figure import Figure

    if ax is None:
        figure: Figure = _shown_figure_class()(figsize=(8, 4.5), layout="constrained")
        axes = figure.add_subplot()
    else:
        axes = ax
        parent = ax.get_figure()
        assert isinstance(parent, Figure)
        figure = parent
    colours = [f"C{i % 10}" for i in range(len(curve.filters))]
    for index, band in enumerate(curve.filters):
        colour, marker = colours[index], MARKERS[index % len(MARKERS)]
        label = band or "(no filter)"
        found = [p for p in curve.points if p.filter == band and not p.is_limit]
        limits = [p for p in curve.points if p.filter == band and p.is_limit]
        if found:
            axes.errorbar(
                [p.mjd for p in found],
                [p.value for p in found],
                yerr=[abs(p.error) for p in found],
                fmt=marker,
                color=colour,
                markersize=5,
                capsize=2,
                label=label,
            )
        if limits:
            axes.plot(
                [p.mjd for p in limits],
                [p.value for p in limits],
                linestyle="none",
                marker=LIMIT_MARKER,
                markersize=12,
                color=colour,
                label=f"{label} (limit)" if found else f"{label} (limits)",
            )
    if curve.unit == "mag" and not axes.yaxis_inverted():
        axes.invert_yaxis()  # brighter is up
    axes.ticklabel_format(axis="x", useOffset=False)
    axes.set_xlabel("MJD")
    axes.set_ylabel("magnitude [mag]" if curve.unit == "mag" else f"flux [{curve.unit}]")
    axes.set_title(title if title is not None else f"{curve.target} ({curve.kind})")
    if curve.points:
        axes.legend(loc="best", fontsize="small")
    if save is not None:
        figure.savefig(os.fspath(save), format="png", dpi=100)
    return figure
