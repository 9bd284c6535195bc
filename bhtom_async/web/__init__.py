"""The night page and ``/metrics`` (needs the ``web`` extra: ``pip install 'bhtom_async[web]'``).

`serve_night(night, host, port)` serves a `bhtom_async.night.Night` while a block runs;
`night_app(night)` is the bare Starlette app, to mount in another web app; `report_html(night)`
is the static report. See docs/night-page.md.
"""

from .app import night_app as night_app
from .metrics import NightCollector as NightCollector
from .metrics import night_registry as night_registry
from .serve import NightServer as NightServer
from .serve import serve_night as serve_night

__all__ = ["NightCollector", "NightServer", "night_app", "night_registry", "serve_night"]
