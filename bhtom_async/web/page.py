"""The live night page: one HTML document with its CSS and JavaScript inline (nothing is fetched
from anywhere but the server that sent it).

The script (``night.js``) opens ``events`` (Server-Sent Events, with the page's own ``?key=``
when there is one), builds the tables from the first ``full`` event, then applies each ``delta``
to the rows it names. The light curve is an SVG drawn from the points: magnitude against MJD,
brighter up, error bars, upper limits as open triangles, the newest point ringed.
"""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files

__all__ = ["page_html"]


@cache
def _part(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def page_html(title: str) -> str:
    """The page, titled after the night."""
    name = html.escape(f"BHTOM night: {title}" if title else "BHTOM night")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{name}</title><style>{_part('night.css')}</style></head><body>"
        + _part("night.html").replace("__TITLE__", name)
        + f"<script>{_part('night.js')}</script></body></html>"
    )
