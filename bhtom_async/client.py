"""`Client`: owns one connection pool and exposes the endpoint groups (`bh.targets`, ...).

The client imports nothing above the endpoint layer: the bulk uploader (`bhtom_async.upload`)
and the calibration poller take a client (or its resources) as an argument.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, NoReturn, TypeVar

import anyio.to_thread
import attrs

from ._clock import SYSTEM_CLOCK, Clock
from ._config import ClientConfig, Timeouts, resolve_config
from ._http import HttpClient, RequestTimed, Transport, tls_context
from ._logging import apply_log_level_from_env
from ._secret import Secret
from .api._resource import CallOptions, Resource, Session
from .api.auth import request_token
from .api.calibration import CalibrationAPI
from .api.comments import CommentsAPI
from .api.dataproducts import DataProductsAPI
from .api.observatories import ObservatoriesAPI
from .api.reduced_data import ReducedDataAPI
from .api.targets import TargetsAPI
from .api.uploads import UploadsAPI
from .api.users import UsersAPI
from .errors import ClientStateError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["UNSET", "Client", "login"]

R = TypeVar("R", bound=Resource)


class _Unset:
    """Sentinel for "keep the client's setting" where None already means something."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


class Client:
    """An asyncio BHTOM2 client. Use it as ``async with Client() as bh:``.

    Settings come from the arguments, then the environment (``BHTOM_TOKEN`` or ``BHTOM_API_TOKEN``,
    ``BHTOM_BASE_URL``, ``BHTOM_UPLOAD_URL``), then the file `bhtom login` writes
    (``~/.config/bhtom/config.toml``), then the defaults (https://bh-tom2.astrolabs.pl and
    https://uploadsvc2.astrolabs.pl).

    The client also opens itself on its first call, so ``bh = Client()`` then
    ``await bh.targets.photometry(...)`` works in a notebook; close it with ``await bh.aclose()``.
    Applications should prefer ``async with``, which always closes the pool. For blocking calls
    (plain scripts, or a notebook without ``await``) use `bhtom_async.sync.Client`.

    Args:
        token: API token (prefer the environment or `bhtom login`).
        base_url, upload_url: main site and upload service.
        timeout: seconds for read, write and pool waits (connect stays 10 s), or a `Timeouts`.
        max_retries: retries after the first attempt (default 3); idempotent calls only, see
            `bhtom_async._retry`.
        max_connections: requests in flight at once. Left unset, it starts at 10 and grows when
            the bulk uploader needs more; set, it is fixed (the uploader then warns if its
            concurrency cannot be met).
        max_response_bytes: answers longer than this are refused unread (default 64 MiB).
        http_client: an `httpx.AsyncClient` to use instead of our own; you close it.
        allow_insecure_http: allow sending the token over plain http to a non-loopback host.
        clock: time source for retries and polling (tests pass `ManualClock`).
        config_path: the config file to read instead of the default one.
        on_request: called with a `RequestTimed` (method, path, status, seconds, attempt) after
            every request attempt, e.g. a night page's `Night.feed`; keep it quick.

    Example:
        >>> async with Client() as bh:                       # doctest: +SKIP
        ...     async for target in bh.targets.list(name="Gaia22bpl"):
        ...         print(target.name, target.ra, target.dec)
    """

    def __init__(
        self,
        token: str | Secret | None = None,
        *,
        base_url: str | None = None,
        upload_url: str | None = None,
        timeout: float | Timeouts | None = None,
        max_retries: int | None = None,
        max_connections: int | None = None,
        http_client: HttpClient | None = None,
        allow_insecure_http: bool = False,
        clock: Clock | None = None,
        config_path: Path | None = None,
        max_response_bytes: int | None = None,
        on_request: Callable[[RequestTimed], None] | None = None,
        _shared: tuple[Session, CallOptions] | None = None,
    ) -> None:
        # `_shared` is how `with_options` builds its copy through this same constructor.
        if _shared is not None:
            self._session, self._options = _shared
            self._owner = False
        else:
            resolve = functools.partial(
                resolve_config,
                token=token,
                base_url=base_url,
                upload_url=upload_url,
                timeout=timeout,
                max_retries=max_retries,
                max_connections=max_connections,
                allow_insecure_http=allow_insecure_http,
                config_path=config_path,
                max_response_bytes=max_response_bytes,
            )
            self._session = Session(
                resolve,
                http_client=http_client,
                clock=clock or SYSTEM_CLOCK,
                on_open=lambda _config: apply_log_level_from_env(),
                on_request=on_request,
            )
            self._options = CallOptions()
            self._owner = True
        self._resources: dict[type[Resource], Resource] = {}

    def __enter__(self) -> NoReturn:
        # Only to answer `with Client():` with what to write instead of a bare TypeError.
        raise ClientStateError(
            "this Client is asynchronous, so it opens with `async with`, not `with`",
            hint="write `async with Client() as bh:`, or use `bhtom_async.sync.Client` for plain "
            "`with` and blocking calls (scripts, notebooks)",
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None  # never reached: __enter__ raises

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Resolve settings and open the connection pool (`async with`, or any call, does this)."""
        await self._session.transport()

    async def aclose(self) -> None:
        """Close the connection pool. Clients made by `with_options` share it and leave it open."""
        if self._owner:
            await self._session.aclose()

    def with_options(
        self,
        *,
        timeout: float | Timeouts | _Unset = UNSET,
        max_retries: int | _Unset = UNSET,
        retry_after_cap: float | _Unset = UNSET,
    ) -> Client:
        """A client sharing this one's connections, with other timeouts or retries.

        `retry_after_cap` (seconds): a 429 whose ``Retry-After`` is longer raises `RateLimitError`
        at once instead of being slept; 0 hands every such 429 to the caller (the bulk uploader
        does so, to count each 429 pause against its budget).

        Example:
            >>> await bh.with_options(timeout=300, max_retries=0).targets.list().to_list()  # doctest: +SKIP
        """
        transport = self._require_open()
        options = self._options
        if not isinstance(timeout, _Unset):
            options = CallOptions(Timeouts.of(timeout, transport.config.timeout), options.retry)
        if not isinstance(max_retries, _Unset):
            base = options.retry or transport.config.retry
            options = CallOptions(options.timeout, attrs.evolve(base, max_retries=max_retries))
        if not isinstance(retry_after_cap, _Unset):
            base = options.retry or transport.config.retry
            options = CallOptions(options.timeout, attrs.evolve(base, retry_after_cap=retry_after_cap))
        return Client(_shared=(self._session, options))

    @property
    def config(self) -> ClientConfig:
        """The resolved settings (the token shows as ``***``); the client must be open."""
        return self._require_open().config

    @property
    def server_clock_offset(self) -> float | None:
        """Seconds the server's clock is ahead of ours (from the ``Date`` of its latest answer).

        None until the server has answered. The bulk uploader uses it to compare the server's
        creation times with the moment it started sending.
        """
        return self._require_open().server_clock_offset

    def ensure_connections(self, wanted: int) -> int:
        """Allow at least `wanted` requests in flight; returns the number now allowed.

        It stays lower only when `max_connections` was fixed by the user. The client must be open.
        """
        return self._require_open().ensure_capacity(wanted)

    @property
    def clock(self) -> Clock:
        """The time source this client's retries, pauses and polls use."""
        return self._session.clock

    @property
    def targets(self) -> TargetsAPI:
        """Targets: `list`, `create`, `update`, `delete`, `photometry`, `radio`, `plots`, groups."""
        return self._resource(TargetsAPI)

    @property
    def observatories(self) -> ObservatoriesAPI:
        """Observatories, cameras and favourites."""
        return self._resource(ObservatoriesAPI)

    @property
    def calibration(self) -> CalibrationAPI:
        """Calibration results, waiting for them, restarts, single-file calibration."""
        return self._resource(CalibrationAPI)

    @property
    def dataproducts(self) -> DataProductsAPI:
        """Uploaded data products."""
        return self._resource(DataProductsAPI)

    @property
    def reduced_data(self) -> ReducedDataAPI:
        """Reduced datums (the points of a light curve)."""
        return self._resource(ReducedDataAPI)

    @property
    def comments(self) -> CommentsAPI:
        """Comments on targets."""
        return self._resource(CommentsAPI)

    @property
    def users(self) -> UsersAPI:
        """User accounts (admin only)."""
        return self._resource(UsersAPI)

    @property
    def uploads(self) -> UploadsAPI:
        """Single-request uploads to the upload service (`bhtom_async.upload` sends whole nights)."""
        return self._resource(UploadsAPI)

    def __repr__(self) -> str:
        if not self._session.is_open:
            return f"<Client {'closed' if self._session.closed else 'not opened'}>"
        config = self._session.opened().config
        token = "***" if config.token else "none"
        return f"<Client base_url={config.base_url!r} upload_url={config.upload_url!r} token={token}>"

    def _resource(self, kind: type[R]) -> R:
        found = self._resources.get(kind)
        if found is None:
            if self._session.closed:
                self._session.opened()  # raises: a closed client says so at once
            found = kind(self._session, self._options)
            self._resources[kind] = found
        assert isinstance(found, kind)
        return found

    def _require_open(self) -> Transport:
        return self._session.opened()


async def login(
    username: str,
    password: str,
    *,
    base_url: str | None = None,
    http_client: HttpClient | None = None,
    timeout: float | Timeouts | None = None,
) -> str:
    """Get the API token of a BHTOM account (`POST /api/token-auth/`).

    The server returns the same token every time. Store it with `bhtom login` (which writes a
    0600 config file) or in ``BHTOM_TOKEN``.

    Raises:
        AuthenticationError: the username or password was refused.

    Example:
        >>> token = await bhtom_async.login("alice", getpass.getpass())  # doctest: +SKIP
    """
    resolve = functools.partial(resolve_config, base_url=base_url, timeout=timeout, token=None)
    config = await anyio.to_thread.run_sync(resolve)
    # No token is sent to the login endpoint, so the token slot stays empty.
    config = ClientConfig(
        base_url=config.base_url,
        upload_url=config.upload_url,
        timeout=config.timeout,
        retry=config.retry,
        allow_insecure_http=config.allow_insecure_http,
    )
    tls = None if http_client is not None else await anyio.to_thread.run_sync(tls_context, config)
    transport = Transport(config, http_client=http_client, rng=random.Random(), tls=tls)
    try:
        return await request_token(transport, username, password)
    finally:
        await transport.aclose()
