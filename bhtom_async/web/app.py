"""The night page's web app: the page, its Server-Sent Events, ``/api/night`` and ``/metrics``.

It reads a `Night` and nothing else: the uploader feeds the night, the app shows it. The page
is one self-contained HTML document (`page.PAGE`); it receives the whole night once, then only
what changed (`Night.changes_since`), at most a few times a second, so a night of thousands of
frames stays light. A heartbeat every few seconds lets the page tell a quiet night from a lost
connection.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from ..night import Night
from .metrics import metrics_text, night_registry
from .page import page_html

__all__ = ["HEARTBEAT", "night_app"]

#: Seconds between events when nothing changes (the page's sign that the connection lives).
HEARTBEAT = 2.0
#: Seconds the stream gathers changes before sending them as one delta.
COALESCE = 0.25


def night_app(night: Night, *, key: str | None = None, closing: anyio.Event | None = None) -> Starlette:
    """A Starlette app showing `night`.

    Args:
        night: what to show.
        key: when set, every path needs ``?key=<key>`` (a server reachable beyond this host).
        closing: set when the app is about to stop; open event streams then say goodbye and end.
    """

    registry = night_registry(night)

    def allowed(request: Request) -> bool:
        given = request.query_params.get("key", "")
        return key is None or secrets.compare_digest(given.encode(), key.encode())

    def refuse() -> Response:
        return PlainTextResponse("a key is needed: open the URL the server printed (…/?key=…)", 403)

    async def page(request: Request) -> Response:
        if not allowed(request):
            return refuse()
        return HTMLResponse(page_html(night.title), headers={"Cache-Control": "no-store"})

    async def api_night(request: Request) -> Response:
        if not allowed(request):
            return refuse()
        return JSONResponse(night.to_json())

    async def metrics(request: Request) -> Response:
        if not allowed(request):
            return refuse()
        body, content_type = metrics_text(registry)
        return Response(body, media_type=content_type)

    async def events(request: Request) -> Response:
        if not allowed(request):
            return refuse()
        return StreamingResponse(
            _stream(night, closing),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    routes = [
        Route("/", page),
        Route("/events", events),
        Route("/api/night", api_night),
        Route("/metrics", metrics),
    ]
    return Starlette(routes=routes)


def _sse(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _stream(night: Night, closing: anyio.Event | None) -> AsyncIterator[str]:
    """The whole night once, then deltas as the night changes, a heartbeat when it does not."""
    version, points = night.version, len(night.points)
    yield _sse("full", night.to_json())
    while closing is None or not closing.is_set():
        with anyio.move_on_after(HEARTBEAT):
            await _change_or_close(night, version, closing)
            await anyio.sleep(COALESCE)
        if night.version == version:
            yield _sse("beat", night.header())
            continue
        delta = night.changes_since(version, points)
        version, points = night.version, len(night.points)
        yield _sse("delta", delta)
    yield _sse("bye", night.header())


async def _change_or_close(night: Night, version: int, closing: anyio.Event | None) -> None:
    """Return once the night changed past `version`, or the app is closing."""
    async with anyio.create_task_group() as tg:

        async def change() -> None:
            await night.changed(version)
            tg.cancel_scope.cancel()

        async def close() -> None:
            if closing is not None:
                await closing.wait()
                tg.cancel_scope.cancel()

        tg.start_soon(change)
        tg.start_soon(close)
