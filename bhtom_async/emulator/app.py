"""The two ASGI apps (main host and upload service) with the real paths and wire format.

Dispatch follows Django + DRF: URL resolution (APPEND_SLASH's 301, the HTML 404), then for
API views authentication, permission, method (405), body parsing and the view, where any
uncaught exception becomes Django's HTML 500 (docs/server-behaviour.md, "Cross-cutting").
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from . import upload, views_calibration, views_common, views_observatory, views_targets
from .calibration import CalibrationSettings
from .faults import ASGIApp, FaultInjector, FaultMiddleware, Message, Receive, Scope, Send
from .quirks import (
    ServerError,
    django_404,
    drf_json,
    html_500,
    login_redirect,
    method_not_allowed,
    permanent_redirect,
    raw_response,
    unauthorized,
)
from .state import State
from .viewkit import Handler
from .wire import BadRequest, Ctx, authenticate, parse_body

__all__ = ["EmulatorApp", "Route", "Router", "build_app"]

log = logging.getLogger("bhtom_async.emulator")
_CORRELATION = re.compile(r"^[0-9a-fA-F]{32}$|^[0-9a-fA-F-]{36}$")

_LOGIN_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Login | BHTOM</title></head><body>\n"
    '<form method="post" action="/accounts/login/"><input name="username">'
    '<input name="password" type="password"><button>Login</button></form>\n</body></html>\n'
)


@dataclass(frozen=True)
class Route:
    """One URL: its handlers per method, and how DRF treats it."""

    methods: dict[str, Handler]
    auth: bool = True
    raw_body: bool = False
    html: bool = False

    @property
    def allow(self) -> str:
        names = list(self.methods)
        if "GET" in names:
            names.insert(names.index("GET") + 1, "HEAD")
        return ", ".join([*names, "OPTIONS"])


class Router:
    """Exact paths first, then regex patterns in order (like Django's urlpatterns)."""

    def __init__(self) -> None:
        self.exact: dict[str, Route] = {}
        self.patterns: list[tuple[re.Pattern[str], Route]] = []

    def add(self, path: str, route: Route) -> None:
        self.exact[path] = route

    def add_pattern(self, pattern: str, route: Route) -> None:
        self.patterns.append((re.compile(f"^{pattern}$"), route))

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        route = self.exact.get(path)
        if route is not None:
            return route, {}
        for regex, candidate in self.patterns:
            found = regex.match(path)
            if found:
                return candidate, found.groupdict()
        return None


async def _login_redirect(ctx: Ctx) -> Response:
    """A session-login Django view reached with a token only: 302 to the login page."""
    return login_redirect(ctx.path)


def _html_route() -> Route:
    handlers: dict[str, Handler] = {
        m: _login_redirect for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
    }
    return Route(handlers, auth=False, html=True)


def _main_router() -> Router:
    router = Router()
    router.add("/api/token-auth/", Route({"POST": token_auth}, auth=False))
    for table in (
        views_targets.ROUTES,
        views_observatory.ROUTES,
        views_common.ROUTES,
        views_calibration.ROUTES,
    ):
        for path, methods in table.items():
            router.add(path, Route(methods))
    router.add(
        "/dataproducts/upload/", Route(upload.MAIN_ROUTES["/dataproducts/upload/"], auth=False, raw_body=True)
    )
    for pattern, methods in views_targets.PATTERN_ROUTES:
        router.add_pattern(pattern, Route(methods))
    # Django HTML views that answer token-only clients with the login redirect.
    for pattern in (r"/targets/", r"/targets/[^/]+/?", r"/dataproducts/download/[^/]+/\d+/?", r"/data/.+"):
        router.add_pattern(pattern, _html_route())
    router.add("/accounts/login/", Route({"GET": _login_page, "POST": _login_page}, auth=False, html=True))
    return router


def _upload_router() -> Router:
    router = Router()
    for path, methods in upload.UPLOAD_ROUTES.items():
        router.add(path, Route(methods, raw_body=True))
    return router


async def _login_page(ctx: Ctx) -> Response:
    return raw_response(200, _LOGIN_PAGE, "text/html; charset=utf-8")


async def token_auth(ctx: Ctx) -> Response:
    """POST /api/token-auth/: DRF's obtain_auth_token, AllowAllUsersModelBackend."""
    data = ctx.data if isinstance(ctx.data, dict) else {}
    errors: dict[str, list[str]] = {}
    for key in ("username", "password"):
        value = data.get(key)
        if value is None:
            errors[key] = ["This field is required."]
        elif str(value) == "":
            errors[key] = ["This field may not be blank."]
    if errors:
        return drf_json(errors, 400)
    user = ctx.state.user_by_name(str(data["username"]))
    if user is None or not user.password or user.password != str(data["password"]):
        return drf_json({"non_field_errors": ["Unable to log in with provided credentials."]}, 400)
    return drf_json({"token": user.token})


class EmulatorApp:
    """One host's ASGI app: dispatch, Correlation-ID, request counting, inspection."""

    def __init__(
        self,
        host: str,
        router: Router,
        state: State,
        settings: CalibrationSettings,
        clock: Callable[[], float],
    ) -> None:
        self.host = host
        self.router = router
        self.state = state
        self.settings = settings
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if scope["path"] == "/_emulator/state":
            body = drf_json(self.state.snapshot(self.clock()), allow="GET, HEAD, OPTIONS")
            await body(scope, receive, send)
            return
        if scope["path"] in ("/_emulator/rows", "/_emulator/seed-dirty"):
            await (await self._admin(request))(scope, receive, send)
            return
        response = await self._dispatch(request)
        incoming = request.headers.get("correlation-id", "")
        response.headers["Correlation-ID"] = incoming if _CORRELATION.match(incoming) else uuid.uuid4().hex
        await response(scope, receive, send)

    async def _admin(self, request: Request) -> Response:
        """The state API's writes: ``POST /_emulator/rows`` and ``POST /_emulator/seed-dirty``."""
        if request.method != "POST":
            return drf_json({"detail": f'Method "{request.method}" not allowed.'}, 405, allow="POST, OPTIONS")
        if request.url.path == "/_emulator/seed-dirty":
            self.state.seed_dirty()
            return drf_json({"seeded": "dirty"})
        try:
            payload = json.loads(await request.body())
            kind, fields = payload["kind"], payload.get("fields", {})
            if not isinstance(kind, str) or not isinstance(fields, dict):
                raise TypeError("'kind' is a table name and 'fields' an object")
            record = self.state.put_row(kind, fields, self.clock())
        except (ValueError, TypeError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return drf_json({"error": f"cannot store the row: {message}"}, 400)
        return drf_json({"kind": kind, "id": record.id})

    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        found = self.router.match(path)
        if found is None:
            if not path.endswith("/") and self.router.match(path + "/") is not None:
                query = request.url.query
                return permanent_redirect(path + "/" + (f"?{query}" if query else ""))
            return django_404()
        route, params = found
        now = self.clock()
        self.state.advance(now)
        client = request.client.host if request.client else "127.0.0.1"
        ctx = Ctx(request, self.state, self.settings, None, None, now, self.host, client, params)
        if route.html:
            handler = route.methods.get(request.method, _login_redirect)
            return await handler(ctx)
        return await self._drf_view(ctx, route)

    async def _drf_view(self, ctx: Ctx, route: Route) -> Response:
        request = ctx.request
        user, problem = authenticate(self.state, request.headers.get("authorization"))
        if problem is not None:
            return unauthorized(problem, allow=route.allow)
        if route.auth and user is None:
            return unauthorized("Authentication credentials were not provided.", allow=route.allow)
        ctx.user = user
        method = "GET" if request.method == "HEAD" else request.method
        if method == "OPTIONS":
            return drf_json(
                {
                    "name": "Api",
                    "description": "",
                    "renders": ["application/json"],
                    "parses": [
                        "application/json",
                        "application/x-www-form-urlencoded",
                        "multipart/form-data",
                    ],
                },
                allow=route.allow,
            )
        handler = route.methods.get(method)
        if handler is None:
            return method_not_allowed(request.method, route.allow)
        try:
            if not route.raw_body:
                ctx.data = await parse_body(request)
        except BadRequest as exc:
            status = 415 if str(exc).startswith("Unsupported") else 400
            return drf_json({"detail": str(exc)}, status, allow=route.allow)
        try:
            response = await handler(ctx)
        except ClientDisconnect:
            # The client went away mid-body; nobody will read this answer.
            return raw_response(400, b"", "text/plain")
        except ServerError:
            return html_500()
        except Exception:
            log.exception("emulator view %s %s failed", request.method, ctx.path)
            return html_500()
        # DRF puts the view's Allow on everything it returns; the 302 and the HTML 500 come
        # from Django middleware / handlers outside the view and carry none.
        if response.status_code != 302 and response.headers.get("content-type") != "text/html":
            response.headers["allow"] = route.allow
        return response


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class CountingMiddleware:
    """Counts every request per ``"METHOD /path"`` before any fault can touch it."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_emulator/"):
            with self.state.lock:
                self.state.request_counts[f"{scope['method']} {scope['path']}"] += 1
        await self.app(scope, receive, send)


class DateMiddleware:
    """Sends the ``Date`` header from the emulator's clock, as a real server reports its own time
    (an emulator whose clock runs behind therefore looks like a server whose clock does)."""

    def __init__(self, app: ASGIApp, clock: Callable[[], float]) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", email.utils.formatdate(self.clock(), usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, dated)


def build_app(
    host: str,
    state: State,
    settings: CalibrationSettings,
    injector: FaultInjector,
    clock: Callable[[], float],
    date_skew: float = 0.0,
) -> Any:
    """The full ASGI stack of one host: counting -> faults -> dispatch.

    `date_skew` moves the ``Date`` header off the clock that stamps ``created`` (a proxy in front).
    """
    router = _main_router() if host == "main" else _upload_router()
    app = EmulatorApp(host, router, state, settings, clock)
    dated = DateMiddleware(FaultMiddleware(app, host, injector), lambda: clock() + date_skew)
    return CountingMiddleware(dated, state)
