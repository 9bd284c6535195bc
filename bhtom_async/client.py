"""`Client`: owns one connection pool and exposes the endpoint groups (`bh.targets`, ...)."""

from __future__ import annotations

import functools
import logging
import os
import random
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, TextIO, TypeVar

import anyio.to_thread
import attrs

from ._clock import SYSTEM_CLOCK, Clock
from ._config import ClientConfig, Timeouts, log_level_from_env, resolve_config
from ._http import HttpClient, Transport
from ._secret import Secret
from .api._resource import CallOptions, Resource
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
from .models.uploads import UploadReceipt
from .upload.calibrate import CalibratedUpload
from .upload.events import UploadEvent, UploadSummary
from .upload.settings import SettingsSource

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

    Args:
        token: API token (prefer the environment or `bhtom login`).
        base_url, upload_url: main site and upload service.
        timeout: seconds for read, write and pool waits (connect stays 10 s), or a `Timeouts`.
        max_retries: retries after the first attempt (default 3); idempotent calls only, see
            `bhtom_async._retry`.
        max_connections: size of the connection pool (default 10).
        http_client: an `httpx.AsyncClient` to use instead of our own; you close it.
        allow_insecure_http: allow sending the token over plain http to a non-loopback host.
        clock: time source for retries and polling (tests pass `ManualClock`).

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
    ) -> None:
        self._resolve = functools.partial(
            resolve_config,
            token=token,
            base_url=base_url,
            upload_url=upload_url,
            timeout=timeout,
            max_retries=max_retries,
            max_connections=max_connections,
            allow_insecure_http=allow_insecure_http,
            config_path=config_path,
        )
        self._http_client = http_client
        self._clock = clock or SYSTEM_CLOCK
        self._transport: Transport | None = None
        self._options = CallOptions()
        self._resources: dict[type[Resource], Resource] = {}
        self._owner = True
        self._closed = False

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Resolve settings and open the connection pool (`async with` does this for you)."""
        if self._closed:
            raise ClientStateError("this client was closed; create a new Client to reconnect")
        if self._transport is not None:
            return
        config = await anyio.to_thread.run_sync(self._resolve)
        _apply_log_level()
        self._transport = Transport(config, clock=self._clock, http_client=self._http_client)

    async def aclose(self) -> None:
        """Close the connection pool. Clients made by `with_options` share it and leave it open."""
        if self._transport is not None and self._owner and not self._closed:
            await self._transport.aclose()
        self._closed = True

    def with_options(
        self,
        *,
        timeout: float | Timeouts | _Unset = UNSET,
        max_retries: int | _Unset = UNSET,
    ) -> Client:
        """A client sharing this one's connections, with other timeouts or retries.

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
        derived = Client.__new__(Client)
        derived.__dict__.update(self.__dict__)
        derived._options = options
        derived._resources = {}
        derived._owner = False
        return derived

    @property
    def config(self) -> ClientConfig:
        """The resolved settings (the token shows as ``***``)."""
        return self._require_open().config

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
        """Single-request uploads to the upload service (`bh.upload_file` is the short form)."""
        return self._resource(UploadsAPI)

    async def upload_file(
        self,
        path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        target: str,
        observatory: str,
        data_product_type: str = "fits_file",
        filter: str | None = None,
        mjd: float | None = None,
        observers: Sequence[str] = (),
        comment: str | None = None,
        match_dist: float | None = None,
        dry_run: bool = False,
    ) -> UploadReceipt:
        """Upload a file to BHTOM (`POST /upload/` on the upload service); see `UploadsAPI.upload_file`.

        Example:
            >>> receipt = await bh.upload_file("f1.fits", target="Gaia22bpl",   # doctest: +SKIP
            ...                                observatory="HarnessObs_HarnessCam")
        """
        return await self.uploads.upload_file(
            path,
            target=target,
            observatory=observatory,
            data_product_type=data_product_type,
            filter=filter,
            mjd=mjd,
            observers=observers,
            comment=comment,
            match_dist=match_dist,
            dry_run=dry_run,
        )

    async def upload_directory(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        target: str,
        observatory: str,
        data_product_type: str = "fits_file",
        filter: str | None = None,
        mjd: float | None = None,
        observers: Sequence[str] = (),
        comment: str | None = None,
        match_dist: float | None = None,
        dry_run: bool = False,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        concurrency: int = 4,
        max_requests_per_second: float | None = None,
        max_bytes_per_second: float | None = None,
        journal: str | os.PathLike[str] | None = None,
        settings: SettingsSource | None = None,
        min_age: float = 2.0,
        max_attempts: int = 3,
        on_event: Callable[[UploadEvent], None] | None = None,
    ) -> UploadSummary:
        """Upload every file under `paths`, journaled and resumable; see `bhtom_async.upload.Uploader`.

        Returns an `UploadSummary` (per-file outcomes: uploaded with id, skipped with reason,
        failed with the error, unknown). Re-run with the same `journal` to finish an interrupted job.

        Example:
            >>> summary = await bh.upload_directory("night/", target="Gaia22bpl",    # doctest: +SKIP
            ...     observatory="HarnessObs_HarnessCam", journal="night.sqlite3")
            >>> print(summary)
            42 uploaded, 3 skipped
        """
        from .upload.scheduler import Uploader

        uploader = Uploader(
            self,
            paths,
            target=target,
            observatory=observatory,
            data_product_type=data_product_type,
            filter=filter,
            mjd=mjd,
            observers=observers,
            comment=comment,
            match_dist=match_dist,
            dry_run=dry_run,
            include=include,
            exclude=exclude,
            concurrency=concurrency,
            max_requests_per_second=max_requests_per_second,
            max_bytes_per_second=max_bytes_per_second,
            journal=journal,
            settings=settings,
            min_age=min_age,
            max_attempts=max_attempts,
            on_event=on_event,
        )
        return await uploader.run()

    def upload_and_calibrate(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        target: str,
        observatory: str,
        data_product_type: str = "fits_file",
        filter: str | None = None,
        observers: Sequence[str] = (),
        comment: str | None = None,
        match_dist: float | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        concurrency: int = 4,
        journal: str | os.PathLike[str] | None = None,
        settings: SettingsSource | None = None,
        min_age: float = 2.0,
        timeout: float = 600.0,
        interval: float = 3.0,
        on_event: Callable[[UploadEvent], None] | None = None,
    ) -> AbstractAsyncContextManager[CalibratedUpload]:
        """Upload files and yield their calibrations as they finish, while later files still upload.

        Each uploaded id is handed to `bh.calibration.wait` the moment its upload succeeds, so
        the first magnitudes arrive long before the last frame is sent. `timeout` and `interval`
        (seconds) are the poller's. Leaving the block waits for the uploads to finish; the
        upload summary is then in `job.summary`.

        Example:
            >>> async with bh.upload_and_calibrate("night/", target="Gaia22bpl",      # doctest: +SKIP
            ...         observatory="HarnessObs_HarnessCam", journal="night.sqlite3") as job:
            ...     async for result in job:
            ...         print(result.dataproduct_id, result.magnitude)
            >>> print(job.summary)
        """
        from .upload.calibrate import upload_and_calibrate

        return upload_and_calibrate(
            self,
            paths,
            target=target,
            observatory=observatory,
            timeout=timeout,
            interval=interval,
            on_event=on_event,
            data_product_type=data_product_type,
            filter=filter,
            observers=observers,
            comment=comment,
            match_dist=match_dist,
            include=include,
            exclude=exclude,
            concurrency=concurrency,
            journal=journal,
            settings=settings,
            min_age=min_age,
        )

    def __repr__(self) -> str:
        if self._transport is None:
            return f"<Client {'closed' if self._closed else 'not opened'}>"
        config = self._transport.config
        token = "***" if config.token else "none"
        return f"<Client base_url={config.base_url!r} upload_url={config.upload_url!r} token={token}>"

    def _resource(self, kind: type[R]) -> R:
        found = self._resources.get(kind)
        if found is None:
            found = kind(self._require_open(), self._options)
            self._resources[kind] = found
        assert isinstance(found, kind)
        return found

    def _require_open(self) -> Transport:
        if self._closed:
            raise ClientStateError("this client is closed; create a new one with `async with Client()`")
        if self._transport is None:
            raise ClientStateError("open the client first: `async with Client() as bh:`")
        return self._transport


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
    transport = Transport(config, http_client=http_client, rng=random.Random())
    try:
        return await request_token(transport, username, password)
    finally:
        await transport.aclose()


def _apply_log_level() -> None:
    level = log_level_from_env()
    logger = logging.getLogger("bhtom_async")
    if level is None or any(isinstance(h, _StderrHandler) for h in logger.handlers):
        return
    # BHTOM_LOG asks for our request lines on stderr; we touch only our own logger, never root.
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (notebooks and test runners replace it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass
