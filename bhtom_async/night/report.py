"""A night as one static HTML file (summary, inline SVG light curve, per-file table), or the
light curve alone as a PNG (matplotlib, from the ``astro`` extra).

The HTML holds no script and refers to nothing outside itself, so it opens from a mail attachment
with no server and no network.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Sequence

from .model import Frame, Night, Point

__all__ = ["light_curve_png", "light_curve_svg", "report_html"]

_COLORS = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
_PROBLEMS = {"failed", "unknown", "calib_failed", "not_ready", "not_attempted"}

_STYLE = """
body{font:14px system-ui,sans-serif;margin:1em 2em;color:#222}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;font-size:13px}
tr.problem td{background:#fbe9e9}
svg text{font:11px system-ui,sans-serif}
.summary td:first-child{font-weight:bold}
"""


def light_curve_svg(points: Sequence[Point], *, width: int = 860, height: int = 340) -> str:
    """Magnitude against MJD per filter: brighter up, error bars, limits as open triangles,
    the newest point ringed."""
    left, right, top, bottom = 60, 130, 15, 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="light-curve" width="{width}" height="{height}">']
    if not points:
        out.append(f'<text x="{width / 2 - 60}" y="{height / 2}">no calibrated frame</text></svg>')
        return "".join(out)
    xs = [p.mjd for p in points]
    lows = [p.magnitude - (0 if p.limit else p.error) for p in points]
    highs = [p.magnitude + (0 if p.limit else p.error) for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(lows), max(highs)
    if x1 == x0:
        x0, x1 = x0 - 0.01, x1 + 0.01
    if y1 == y0:
        y0, y1 = y0 - 0.1, y1 + 0.1
    pad_x, pad_y = (x1 - x0) * 0.05, (y1 - y0) * 0.08
    x0, x1, y0, y1 = x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y

    def px(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * (width - left - right)

    def py(v: float) -> float:  # smaller magnitude (brighter) is higher up
        return top + (v - y0) / (y1 - y0) * (height - top - bottom)

    base = height - bottom
    out.append(
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#888"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#888"/>'
    )
    for i in range(5):
        xv, yv = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        out.append(f'<text x="{px(xv) - 25:.1f}" y="{height - bottom + 15}">{xv:.3f}</text>')
        out.append(f'<text x="5" y="{py(yv) + 4:.1f}">{yv:.2f}</text>')
    out.append(
        f'<text x="{(width - right) / 2}" y="{height - 5}">MJD</text>'
        f'<text x="{left + 5}" y="{top + 8}">mag (brighter up)</text>'
    )
    filters = sorted({p.filter for p in points})
    newest = points[-1]
    for p in points:
        color = _COLORS[filters.index(p.filter) % len(_COLORS)]
        x, y = px(p.mjd), py(p.magnitude)
        label = html.escape(p.filter, quote=True)
        if p.limit:
            out.append(
                f'<polygon class="pt limit" data-filter="{label}" fill="none" stroke="{color}" '
                f'points="{x - 4:.1f},{y - 3:.1f} {x + 4:.1f},{y - 3:.1f} {x:.1f},{y + 5:.1f}"/>'
            )
        else:
            out.append(
                f'<line x1="{x:.1f}" y1="{py(p.magnitude - p.error):.1f}" x2="{x:.1f}" '
                f'y2="{py(p.magnitude + p.error):.1f}" stroke="{color}"/>'
                f'<circle class="pt" data-filter="{label}" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>'
            )
        if p is newest:
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="none" stroke="#000" stroke-width="1.5"/>'
            )
    for i, name in enumerate(filters):
        color = _COLORS[i % len(_COLORS)]
        n = sum(1 for p in points if p.filter == name)
        out.append(
            f'<circle cx="{width - right + 15}" cy="{top + 10 + i * 16}" r="4" fill="{color}"/>'
            f'<text x="{width - right + 25}" y="{top + 14 + i * 16}">{html.escape(name)} ({n})</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _cell(value: object) -> str:
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def _row(frame: Frame) -> str:
    magnitude = ""
    if frame.magnitude is not None:
        limit = ">" if frame.is_limit else ""
        magnitude = f"{limit}{frame.magnitude:.3f}"
    error = "" if frame.error is None else f"{abs(frame.error):.3f}"
    css = ' class="problem"' if frame.state in _PROBLEMS else ""
    cells = (frame.name, frame.data_product_id, frame.state.replace("_", " "), magnitude, error)
    return f"<tr{css}>" + "".join(map(_cell, (*cells, frame.filter, frame.reason))) + "</tr>"


def report_html(night: Night, *, generated: dt.datetime | None = None) -> str:
    """The night as one self-contained HTML document (no script, nothing fetched)."""
    counts = night.counts()
    moment = (generated or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    lag = night.lag()
    summary: list[tuple[str, object]] = [
        ("frames", counts["seen_total"]),
        ("uploaded", counts["uploaded_total"]),
        ("already uploaded", counts["already_uploaded"]),
        ("calibrated", counts["calibrated"]),
        ("calibration failed", counts["calib_failed"]),
        ("upload failed", counts["failed"]),
        ("unknown", counts["unknown"]),
        ("waiting for calibration", counts["uploaded"]),
        ("light-curve points", len(night.points)),
    ]
    if lag["median"] is not None:
        summary.append(("calibration lag (median)", f"{lag['median']:.1f} s"))
    title = html.escape(f"BHTOM night: {night.title}" if night.title else "BHTOM night")
    rows = "".join(_row(f) for f in night.problems_first())
    table = "".join(f"<tr>{_cell(k)}{_cell(v)}</tr>" for k, v in summary)
    head = "".join(f"<th>{h}</th>" for h in ("file", "id", "state", "magnitude", "error", "filter", "reason"))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1><p>Report made {moment}.</p>"
        f'<table class="summary">{table}</table><h2>Light curve</h2>{light_curve_svg(night.points)}'
        f'<h2>Files (problems first)</h2><table id="files"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></body></html>"
    )


def light_curve_png(night: Night) -> bytes:
    """The light curve alone as a PNG (needs matplotlib: the ``astro`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.subplots()
    for name in sorted({p.filter for p in night.points}):
        mine = [p for p in night.points if p.filter == name]
        solid = [p for p in mine if not p.limit]
        limits = [p for p in mine if p.limit]
        bars = axes.errorbar(
            [p.mjd for p in solid],
            [p.magnitude for p in solid],
            yerr=[p.error for p in solid],
            fmt="o",
            ms=4,
            label=name,
        )
        if limits:
            color = bars[0].get_color()
            axes.plot([p.mjd for p in limits], [p.magnitude for p in limits], "v", mfc="none", color=color)
    if night.points:
        newest = night.points[-1]
        axes.plot([newest.mjd], [newest.magnitude], "o", ms=12, mfc="none", color="black")
        axes.legend()
    axes.invert_yaxis()
    axes.set_xlabel("MJD")
    axes.set_ylabel("magnitude")
    axes.set_title(night.title or "light curve")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
