"""The only module that imports httpx: builds every request, sends it under the retry policy,
logs it, and translates httpx errors and error statuses into `bhtom_async.errors`.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Literal, Protocol, TypeVar
from urllib.parse import urlsplit

import anyio
import attrs
import httpx

from ._clock import SYSTEM_CLOCK, Clock
from ._config import ClientConfig, RetrySettings, Timeouts
from ._retry import PauseGate, call_with_retries, parse_retry_after
from ._status import error_for_status
from ._version import __version__
from .errors import (
    APIError,
    APITimeoutError,
    BhtomError,
    ClientStateError,
    ConfigurationError,
    ConnectError,
    ResponseDecodeError,
    ResponseTooLargeError,
    TransportError,
)

__all__ = [
    "DEFAULT_CAPACITY",
    "Host",
    "HttpClient",
    "HttpResponse",
    "RequestSpec",
    "RequestTimed",
    "StreamingBody",
    "Transport",
]

#: Requests in flight at once when the client's `max_connections` is left to us; callers that
#: need more (the bulk uploader at a high concurrency) ask `Transport.ensure_capacity`.
DEFAULT_CAPACITY = 10

#: The type of a user-supplied connection pool (`Client(http_client=...)`).
HttpClient = httpx.AsyncClient
Host = Literal["main", "upload"]
E = TypeVar("E", bound=BhtomError)
logger = logging.getLogger("bhtom_async")


class StreamingBody(Protocol):
    """A request body sent in chunks; `chunks()` may be called again for a retry."""

    @property
    def content_type(self) -> str: ...

    @property
    def content_length(self) -> int: ...

    def chunks(self) -> AsyncGenerator[bytes, None]: ...


@attrs.frozen
class RequestSpec:
    """What an endpoint asks for. Paths are relative to the host and end in '/'."""

    method: str
    path: str
    host: Host = "main"
    json: object = None
    form: Mapping[str, str] | None = None
    body: StreamingBody | None = None
    idempotent: bool = True
    authenticated: bool = True
    expect: frozenset[int] = frozenset({200, 201})

    def __attrs_post_init__(self) -> None:
        if not self.path.startswith("/") or not self.path.endswith("/"):
            raise ValueError(f"BHTOM paths start and end with '/': {self.path!r}")


@attrs.frozen
class HttpResponse:
    """A complete answer: status, lower-cased headers and the whole body."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    method: str
    path: str

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> object:
        """The body as JSON, whatever Content-Type says (the upload proxy labels JSON as HTML)."""
        try:
            return json.loads(self.content)
        except ValueError:
            raise ResponseDecodeError(
                "expected JSON",
                method=self.method,
                path=self.path,
                status=self.status,
                snippet=self.text[:80],
            ) from None


@attrs.frozen
class RequestTimed:
    """One request attempt, answered or not (for a client's `on_request` observer).

    Attributes:
        method, path: the request (the path without host or query; never the token).
        status: the HTTP status, or None when no answer came (a transport error).
        seconds: from sending to the whole answer read, or to the failure.
        attempt: 1 for the first try, 2 and up for the client's own retries.
    """

    method: str
    path: str
    status: int | None
    seconds: float
    attempt: int


def tls_context(config: ClientConfig) -> ssl.SSLContext:
    """The TLS settings of a client's pool: certificates verified against certifi's CAs.

    Loading the CA bundle takes tens of milliseconds, so a client whose two URLs are plain http
    (the emulator on loopback) gets a context without CAs instead: it never speaks TLS, since
    every request goes to one of those URLs and redirects are not followed, and if it did it
    would refuse every certificate. Blocking: `Session` calls it in a worker thread.
    """
    if any(urlsplit(url).scheme == "https" for url in (config.base_url, config.upload_url)):
        return httpx.create_ssl_context(trust_env=False)
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Transport:
    """One connection pool per client; sends `RequestSpec`s and returns `HttpResponse`s.

    The number of requests in flight is bounded by our own limiter, not httpx's pool, so that it
    can grow when a caller asks for more (`ensure_capacity`) unless the user fixed it with
    ``max_connections``.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        clock: Clock = SYSTEM_CLOCK,
        http_client: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
        on_request: Callable[[RequestTimed], None] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """`tls` is `tls_context(config)`, made here when not given (see there)."""
        self.config = config
        self.clock = clock
        self.on_request = on_request
        self.gate = PauseGate(clock)
        self._rng = rng or random.Random()
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(
            verify=tls or tls_context(config),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            timeout=_httpx_timeout(config.timeout),
            follow_redirects=False,
            trust_env=False,
        )
        self._slots = anyio.CapacityLimiter(config.max_connections or DEFAULT_CAPACITY)
        self._closed = False
        self.server_clock_offset: float | None = None

    @property
    def capacity(self) -> int:
        """Requests that may be in flight at once."""
        return int(self._slots.total_tokens)

    def ensure_capacity(self, wanted: int) -> int:
        """Let at least `wanted` requests be in flight, unless the user fixed the pool size.

        Returns the capacity now in force (smaller than `wanted` only when ``max_connections``
        was set explicitly).
        """
        if self.config.max_connections is None and wanted > self._slots.total_tokens:
            self._slots.total_tokens = wanted
        return self.capacity

    async def send(
        self,
        spec: RequestSpec,
        *,
        timeout: Timeouts | None = None,
        retry: RetrySettings | None = None,
    ) -> HttpResponse:
        """Send under the retry policy; return a response whose status is in `spec.expect`.

        Raises:
            APIError: (a subclass) for an error status once retries are spent.
            TransportError: when no complete answer arrived.
            ConfigurationError: no token for an authenticated call.
        """
        if self._closed:
            raise ClientStateError("this client is closed; open a new one with `async with Client()`")
        attempt_number = 0

        async def attempt() -> HttpResponse:
            nonlocal attempt_number
            attempt_number += 1
            return await self._send_once(spec, timeout, attempt_number)

        return await call_with_retries(
            attempt,
            settings=retry or self.config.retry,
            idempotent=spec.idempotent,
            clock=self.clock,
            gate=self.gate,
            rng=self._rng,
            describe=f"{spec.method} {spec.path}",
        )

    async def aclose(self) -> None:
        """Close the pool (a pool passed in by the user is left open for its owner)."""
        if not self._closed:
            self._closed = True
            if self._owns_client:
                await self._client.aclose()

    async def _send_once(self, spec: RequestSpec, timeout: Timeouts | None, attempt: int) -> HttpResponse:
        body = spec.body.chunks() if spec.body is not None else None
        request = self._build(spec, timeout, body)
        started = self.clock.monotonic()
        failure: BhtomError | None = None
        async with self._slots:
            try:
                raw = await self._client.send(request, follow_redirects=False, stream=True)
            except httpx.HTTPError as exc:
                failure = self._scrub(self._translate(exc, spec))
            finally:
                # httpx drops a streaming body it could not finish sending (a reset mid-upload)
                # without closing it; close it now so its file is released here, not by the GC.
                if body is not None:
                    await body.aclose()
            if failure is None:
                try:
                    content = await self._read_capped(raw, spec)
                except httpx.HTTPError as exc:
                    failure = self._scrub(self._translate(exc, spec))
                finally:
                    await raw.aclose()
        if failure is not None:
            # Raised outside the `except` block: the httpx exception (which holds the request and
            # its Authorization header) must not ride along as __context__.
            logger.debug("%s %s → %s (attempt %d)", spec.method, spec.path, type(failure).__name__, attempt)
            self._observe(spec, None, started, attempt)
            raise failure
        elapsed = self._observe(spec, raw.status_code, started, attempt)
        logger.debug(
            "%s %s → %d in %.3fs (attempt %d)", spec.method, spec.path, raw.status_code, elapsed, attempt
        )
        if self.config.token is not None:
            # An answer that echoes the token (some error pages do) must not carry it into
            # decode errors, models or files: nothing the server says legitimately contains it.
            content = content.replace(self.config.token.reveal().encode(), b"***")
        response = HttpResponse(
            status=raw.status_code,
            headers={k.lower(): v for k, v in raw.headers.items()},
            content=content,
            method=spec.method,
            path=spec.path,
        )
        self._note_server_clock(response.headers.get("date"))
        if response.status not in spec.expect:
            raise self._scrub(self._error(response))
        return response

    def _observe(self, spec: RequestSpec, status: int | None, started: float, attempt: int) -> float:
        """Seconds since `started`, told to the `on_request` observer (if any)."""
        elapsed = self.clock.monotonic() - started
        if self.on_request is not None:
            self.on_request(RequestTimed(spec.method, spec.path, status, elapsed, attempt))
        return elapsed

    async def _read_capped(self, raw: httpx.Response, spec: RequestSpec) -> bytes:
        """The whole body, refusing one larger than `config.max_response_bytes`."""
        limit = self.config.max_response_bytes
        parts: list[bytes] = []
        size = 0
        async for chunk in raw.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise ResponseTooLargeError(
                    method=spec.method, path=spec.path, status=raw.status_code, limit=limit
                )
            parts.append(chunk)
        return b"".join(parts)

    def _note_server_clock(self, date: str | None) -> None:
        """Remember how far the server's clock is from ours, from its ``Date`` header.

        Measured against the real wall clock (not the injectable one): it is compared with the
        real send times in the upload journal.
        """
        if not date:
            return
        try:
            when = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        if when.tzinfo is None:
            return
        self.server_clock_offset = when.timestamp() - time.time()

    def _build(
        self, spec: RequestSpec, timeout: Timeouts | None, body: AsyncGenerator[bytes, None] | None
    ) -> httpx.Request:
        base = self.config.base_url if spec.host == "main" else self.config.upload_url
        url = base + _escape_dot_segments(spec.path)
        upload = spec.host == "upload" or spec.body is not None
        chosen = timeout or (self.config.upload_timeout if upload else self.config.timeout)
        headers = {"Accept": "application/json", "User-Agent": f"bhtom_async/{__version__}"}
        if spec.authenticated:
            if self.config.token is None:
                raise ConfigurationError(
                    "no BHTOM API token is configured",
                    hint="set BHTOM_TOKEN, pass Client(token=...), or run `bhtom login`",
                    cli_hint="set BHTOM_TOKEN, pass --token, or run `bhtom login`",
                )
            headers["Authorization"] = "Token " + self.config.token.reveal()
        content: bytes | AsyncIterator[bytes] | None = None
        if spec.body is not None:
            headers["Content-Type"] = spec.body.content_type
            headers["Content-Length"] = str(spec.body.content_length)
            content = body
        elif spec.form is not None:
            return self._client.build_request(
                spec.method,
                url,
                data=dict(spec.form),
                headers=headers,
                timeout=_httpx_timeout(chosen),
            )
        elif spec.json is not None or spec.method != "GET":
            headers["Content-Type"] = "application/json"
            content = json.dumps({} if spec.json is None else spec.json).encode()
        return self._client.build_request(
            spec.method, url, content=content, headers=headers, timeout=_httpx_timeout(chosen)
        )

    def _error(self, response: HttpResponse) -> APIError:
        return error_for_status(
            status=response.status,
            method=response.method,
            path=response.path,
            headers=response.headers,
            content=response.content,
            retry_after=parse_retry_after(response.headers.get("retry-after"), now_wall=self.clock.time()),
            base_url=self.config.base_url,
        )

    def _translate(self, exc: httpx.HTTPError, spec: RequestSpec) -> TransportError | ConfigurationError:
        where = {"method": spec.method, "path": spec.path}
        host = self.config.base_url if spec.host == "main" else self.config.upload_url
        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return ConfigurationError(f"cannot use URL {host}: {exc}")
        if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            return APITimeoutError(
                f"timed out connecting to {host}",
                request_sent=False,
                hint="check the network and the URL; raise timeout= if the link is slow",
                cli_hint="check the network and the URL; raise --timeout if the link is slow",
                **where,
            )
        if isinstance(exc, httpx.TimeoutException):
            kind = "reading the answer" if isinstance(exc, httpx.ReadTimeout) else "sending the request"
            return APITimeoutError(
                f"timed out {kind} from {host}",
                request_sent=True,
                hint="the server may be busy; raise timeout= or try again later",
                cli_hint="the server may be busy; raise --timeout or try again later",
                **where,
            )
        if isinstance(exc, httpx.ConnectError):
            tls = "certificate" in str(exc).lower() or "ssl" in str(exc).lower()
            return ConnectError(
                f"cannot connect to {host}: {_reason(exc)}",
                request_sent=False,
                hint="TLS verification failed; fix the server certificate or the URL"
                if tls
                else "check the URL, your network, and that the server is up",
                **where,
            )
        return TransportError(
            f"connection to {host} broke: {_reason(exc)}",
            request_sent=True,
            hint="the network or server dropped the connection; try again",
            **where,
        )

    def _scrub(self, error: E) -> E:
        """Mask the token if a server or OS message echoed it back (every text the error holds)."""
        token = self.config.token
        if token is None:
            return error
        secret = token.reveal()
        for name, value in list(vars(error).items()):
            cleaned = _without(value, secret)
            if cleaned != value:
                setattr(error, name, cleaned)
        error.args = tuple(_without(a, secret) for a in error.args)
        return error


def _escape_dot_segments(path: str) -> str:
    """``.`` and ``..`` path segments as ``%2E``: URL parsing would remove them, and on BHTOM
    they are values (a target named ``..``), never directions."""
    return "/".join("%2E" * len(part) if part in (".", "..") else part for part in path.split("/"))


def _without(value: object, secret: str) -> object:
    """`value` with `secret` masked in every string it holds (strings, tuples, mappings)."""
    if isinstance(value, str):
        return value.replace(secret, "***")
    if isinstance(value, tuple):
        return tuple(_without(v, secret) for v in value)
    if isinstance(value, Mapping):
        return {_without(k, secret): _without(v, secret) for k, v in value.items()}
    return value


def _httpx_timeout(t: Timeouts) -> httpx.Timeout:
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "…"
