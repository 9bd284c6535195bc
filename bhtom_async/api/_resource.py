"""Base of every endpoint group: endpoints declare method, path, body and result; this sends."""

from __future__ import annotations

import logging
import random
import ssl
from collections.abc import Callable, Hashable, Mapping
from typing import TypeVar

import anyio
import anyio.to_thread
import attrs
import cattrs

from .._clock import Clock
from .._config import ClientConfig, RetrySettings, Timeouts
from .._http import (
    Host,
    HttpClient,
    HttpResponse,
    RequestSpec,
    RequestTimed,
    StreamingBody,
    Transport,
    tls_context,
)
from .._paginate import DEFAULT_PREFETCH, Envelope, Pager, parse_envelope
from ..errors import APIError, BhtomError, ClientStateError, InvalidInputError, ResponseDecodeError
from ..models._converter import DecodeReport, structure

__all__ = ["CallOptions", "Resource", "Session", "body_of", "target_argument"]

T = TypeVar("T")
logger = logging.getLogger("bhtom_async")


@attrs.frozen
class CallOptions:
    """Per-client overrides set by `Client.with_options` (None: the client's defaults)."""

    timeout: Timeouts | None = None
    retry: RetrySettings | None = None


class Session:
    """Strictly private: a client's connection pool, opened on first use and shared with the
    clients `with_options` derives from it.

    Args:
        resolve: reads the settings (arguments, environment, config file); blocking, so it runs
            in a worker thread when the session opens.
        http_client: a user-supplied `httpx.AsyncClient`, or None for our own pool.
        clock: the time source for retries and polling.
        on_open: called once the settings are known (the client applies ``BHTOM_LOG`` there).
        on_request: told of every request attempt (`RequestTimed`).
    """

    def __init__(
        self,
        resolve: Callable[[], ClientConfig],
        *,
        http_client: HttpClient | None,
        clock: Clock,
        on_open: Callable[[ClientConfig], None] | None = None,
        rng: random.Random | None = None,
        on_request: Callable[[RequestTimed], None] | None = None,
    ) -> None:
        self.clock = clock
        self._on_request = on_request
        self._resolve = resolve
        self._http_client = http_client
        self._on_open = on_open
        self._rng = rng
        self._transport: Transport | None = None
        self._lock = anyio.Lock()
        self.closed = False

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self.closed

    async def transport(self) -> Transport:
        """The open transport, opening it on first use."""
        if self.closed:
            raise ClientStateError("this client was closed; create a new Client to connect again")
        if self._transport is not None:
            return self._transport
        async with self._lock:
            if self._transport is None:
                config, tls = await anyio.to_thread.run_sync(self._settings)
                if self._on_open is not None:
                    self._on_open(config)
                self._transport = Transport(
                    config,
                    clock=self.clock,
                    http_client=self._http_client,
                    rng=self._rng,
                    on_request=self._on_request,
                    tls=tls,
                )
        return self._transport

    def _settings(self) -> tuple[ClientConfig, ssl.SSLContext | None]:
        """The settings and, for our own pool, its TLS context (both blocking: a worker thread)."""
        config = self._resolve()
        return config, None if self._http_client is not None else tls_context(config)

    def opened(self) -> Transport:
        """The transport if it is open; else a `ClientStateError` saying how to open it."""
        if self.closed:
            raise ClientStateError("this client was closed; create a new Client to connect again")
        if self._transport is None:
            raise ClientStateError(
                "the client is not open yet",
                hint="use `async with Client() as bh:` or `await bh.open()`; any call also opens it",
            )
        return self._transport

    async def aclose(self) -> None:
        """Close the pool (once); later calls raise `ClientStateError`."""
        self.closed = True
        if self._transport is not None:
            await self._transport.aclose()


def body_of(**fields: object) -> dict[str, object]:
    """A JSON body of the given fields, leaving out those that are None."""
    return {key: value for key, value in fields.items() if value is not None}


def target_argument(target: str | None, target_name: str | None) -> str | None:
    """The target name from `target` or its older spelling `target_name` (not two different ones).

    Users say `target` everywhere they mean a target by name (as the CLI's ``--target``); the
    server's ``target_name`` stays a wire name inside the endpoint methods. The older keyword is
    still accepted so code written against earlier versions keeps working.
    """
    if target is not None and target_name is not None and target != target_name:
        raise InvalidInputError(
            f"target={target!r} and target_name={target_name!r} name different targets",
            hint="give only `target` (`target_name` is its older name)",
        )
    return target if target is not None else target_name


class Resource:
    """Strictly private base: holds the transport and the call options."""

    def __init__(self, session: Session, options: CallOptions | None = None) -> None:
        self._session = session
        self._options = options or CallOptions()

    @property
    def _clock(self) -> Clock:
        return self._session.clock

    async def _send(self, spec: RequestSpec) -> HttpResponse:
        transport = await self._session.transport()
        return await transport.send(spec, timeout=self._options.timeout, retry=self._options.retry)

    async def _call(
        self,
        method: str,
        path: str,
        result: type[T],
        *,
        body: Mapping[str, object] | None = None,
        idempotent: bool = True,
        host: Host = "main",
    ) -> T:
        """Send a JSON request and convert the JSON answer into `result`."""
        response = await self._send(
            RequestSpec(method, path, json=dict(body or {}), idempotent=idempotent, host=host)
        )
        return self._convert(response.json(), result, response.method, response.path)

    async def _call_raw(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, object] | None = None,
        idempotent: bool = True,
        host: Host = "main",
        stream: StreamingBody | None = None,
    ) -> HttpResponse:
        """Send and return the raw answer (downloads, uploads, odd shapes)."""
        spec = RequestSpec(
            method,
            path,
            json=None if stream else dict(body or {}),
            body=stream,
            idempotent=idempotent,
            host=host,
        )
        return await self._send(spec)

    def _paginate(
        self,
        method: str,
        path: str,
        item: type[T],
        *,
        body: Mapping[str, object] | None = None,
        key: Callable[[T], Hashable] | None = None,
        prefetch: int = DEFAULT_PREFETCH,
        translate: Callable[[APIError], BhtomError | None] | None = None,
    ) -> Pager[T]:
        """An async iterator over every item of a paginated list endpoint.

        `translate` may turn an error answer into a more specific error (an admin refusal the
        server sends as a 404 string, "Target not found" as a 404 object); None keeps it.
        """
        fields = dict(body or {})

        async def fetch(page: int) -> Callable[[], Envelope]:
            try:
                response = await self._send(RequestSpec(method, path, json={**fields, "page": page}))
            except APIError as exc:
                better = translate(exc) if translate is not None else None
                if better is None:
                    raise
                raise better from exc
            return lambda: parse_envelope(response.json(), method=method, path=path, requested=page)

        def convert(raw: object, report: DecodeReport) -> T:
            return self._convert(raw, item, method, path, report=report)

        return Pager(fetch, convert, key=key, prefetch=prefetch, call=f"{method} {path}", kind=item)

    @staticmethod
    def _convert(
        data: object, result: type[T], method: str, path: str, *, report: DecodeReport | None = None
    ) -> T:
        """Convert an answer (or one row of it) into `result`.

        With `report`, what could not be read is counted there for the caller to log once per
        call; without, this one conversion is the call and logs its own warning.
        """
        own = report is None
        report = DecodeReport() if report is None else report
        try:
            value = structure(data, result, report)
        except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
            detail = (
                "; ".join(cattrs.transform_error(exc))
                if isinstance(exc, cattrs.BaseValidationError)
                else str(exc)
            )
            raise ResponseDecodeError(
                f"cannot read the answer as {result.__name__}: {detail[:160]}",
                method=method,
                path=path,
                status=200,
                snippet=repr(data)[:80],
            ) from None
        message = report.message(f"{method} {path}") if own else None
        if message is not None:
            logger.warning("%s", message)
        return value
