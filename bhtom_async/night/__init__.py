"""One observing night as data: `Night` folds the uploader's and the poller's events.

A web page, a metrics endpoint, a report or a notebook widget reads a `Night`; none of them
reaches into the uploader. See docs/night-page.md.
"""

from .model import FRAME_STATES as FRAME_STATES
from .model import Frame as Frame
from .model import FrameState as FrameState
from .model import Night as Night
from .model import NightEvent as NightEvent
from .model import Point as Point
from .model import PollRound as PollRound
from .model import RequestTimed as RequestTimed
from .report import light_curve_png as light_curve_png
from .report import light_curve_svg as light_curve_svg
from .report import report_html as report_html

__all__ = [
    "FRAME_STATES",
    "Frame",
    "FrameState",
    "Night",
    "NightEvent",
    "Point",
    "PollRound",
    "RequestTimed",
    "light_curve_png",
    "light_curve_svg",
    "report_html",
]
