"""_A blocking client for scripts and notebooks: ``bhtom_async.sync.Client``.

Example:
    >>> from bhtom_async.sync import Client
    >>> with Client() as bh:                                          # doctest: +SKIP
    ...     curve = bh.targets.photometry("Gaia22bpl")
    ...     for target in bh.targets.list(name="Gaia"):
    ...         print(target.name)

Same resources, same method names, same arguments and the same errors as the async `Client`;
calls return plain values, lists (`ResultSet`) and iterators instead of coroutines and async
iterators.

How it runs
-----------
_A sync client owns an async `bhtom_async.Client` that lives on an event loop in a background
thread (anyio's blocking portal, `anyio.from_thread.start_blocking_portal`). Each call is sent
to that loop and the calling thread waits for its answer. The caller's own event loop, if any
(Jupyter and IPython run one), is never touched and `asyncio.run()` is never called, so the same
code works in a plain script and in a notebook cell. Interrupting a call (Ctrl-C, a notebook's
stop button) cancels it on the loop. The loop thread stops on `close()`, at the end of a
``with`` block, when the client is garbage-collected, or at interpreter exit (a
`weakref.finalize`), whichever comes first. Several threads may share one client; their calls
run concurrently on its loop.

One generic wrapper
-------------------
Nothing here re-implements a call. `_Bridge.run` makes any method of an async object blocking
by what it returns:

- a coroutine: awaited on the loop; its value is returned;
- an async generator (``calibration.results``) or other async iterable: a plain iterator whose
  each step is one ``__anext__`` on the loop, closed on the loop when the iterator is closed;
- a `Pager`: a `SyncPager` (iterate it, or `to_list()`, `first_page()`, `pages()`);
- an async context manager (``calibration.wait``, ``Uploader.events``): a `SyncStream`, a
  plain context manager whose body gets a plain iterator (entered and left in one task on the
  loop, as anyio's `BlockingPortal.wrap_async_context_manager` does), also iterable directly
  where the async object is, and with `to_list()`.

Typing
------
Python's type system cannot say "every method of class X, made blocking", and a ``__getattr__``
proxy would type every call as `Any`. So each sync resource names its methods, one line each,
with a generic descriptor: ``photometry = _sync(TargetsAPI.photometry)``. `_sync` is overloaded on
the async method's return type and uses `ParamSpec` with `Concatenate` to keep its parameters
(names, kinds, defaults) unchanged, mapping ``Coroutine[.., _R]`` to ``_R``, ``Pager[_T]`` to
``SyncPager[_T]``, ``AsyncIterator[_T]`` to ``Iterator[_T]`` and an async context manager of
``AsyncIterator[_T]`` to ``SyncStream[_T]``. Those lines hold no logic and cannot drift in their
arguments; a test checks each sync resource lists exactly the async one's public methods, and
``tests/typing/api.py`` has ``mypy --strict`` check callers.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import threading
import weakref
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterator,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from anyio.from_thread import BlockingPortal, start_blocking_portal

from . import client as _client
from ._clock import Clock
from ._config import ClientConfig, Timeouts
from ._paginate import Page, Pager
from ._secret import Secret
from .api.calibration import CalibrationAPI as _Calibration
from .api.comments import CommentsAPI as _Comments
from .api.dataproducts import DataProductsAPI as _DataProducts
from .api.observatories import ObservatoriesAPI as _Observatories
from .api.reduced_data import ReducedDataAPI as _ReducedData
from .api.targets import TargetsAPI as _Targets
from .api.uploads import UploadsAPI as _Uploads
from .api.users import UsersAPI as _Users
from .errors import ClientStateError
from .models.calibration import CalibrationResult
from .models.results import ResultSet
from .models.uploads import UploadOptions
from .poll import PollOptions
from .upload.calibrate import CalibratedUpload as _CalibratedUpload
from .upload.calibrate import upload_and_calibrate as _upload_and_calibrate
from .upload.events import UploadEvent, UploadSummary
from .upload.options import JobOptions
from .upload.scheduler import Uploader as _Uploader
from .upload.settings import SettingsSource

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "CalibratedUpload",
    "CalibrationAPI",
    "Client",
    "CommentsAPI",
    "DataProductsAPI",
    "ObservatoriesAPI",
    "ReducedDataAPI",
    "SyncPager",
    "SyncStream",
    "TargetsAPI",
    "Uploader",
    "UploadsAPI",
    "UsersAPI",
    "login",
    "upload_and_calibrate",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_T = TypeVar("_T")
_A = TypeVar("_A")
_S = TypeVar("_S")
_StrPath = str | os.PathLike[str]

_END = object()


async def _next(iterator: AsyncIterator[_T]) -> _T | object:
    """One step of an async iterator; `_END` when it is exhausted (never StopAsyncIteration)."""
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return _END


class _Bridge:
    """Strictly private: the event loop thread of one sync client, and the one way onto it."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self.portal: BlockingPortal = self._stack.enter_context(start_blocking_portal("asyncio"))
        self.closed = False
        self._loop_thread = self.portal.call(threading.get_ident)

    def call(self, function: Callable[..., Any], *args: object, **kwargs: object) -> Any:
        """Run `function` on the loop (awaiting what it returns) and wait for its result."""
        if self.closed:
            raise ClientStateError("this client was closed; create a new Client to connect again")
        future = self.portal.start_task_soon(functools.partial(function, *args, **kwargs))
        try:
            return future.result()
        except BaseException:
            # Interrupted while waiting (Ctrl-C in a notebook): cancel the call on the loop too.
            future.cancel()
            raise

    def run(self, function: Callable[..., Any], *args: object, **kwargs: object) -> object:
        """The generic wrapper: call an async object's method and make its result blocking."""
        if inspect.isasyncgenfunction(function):
            return self.iterate(function(*args, **kwargs))
        return self.to_sync(self.call(function, *args, **kwargs))

    def to_sync(self, value: object) -> object:
        """_A blocking view of what an async call returned (see the module docstring)."""
        if isinstance(value, Pager):
            return SyncPager(self, value)
        if isinstance(value, AbstractAsyncContextManager) or hasattr(value, "__aenter__"):
            return SyncStream(self, value)
        if isinstance(value, AsyncIterable):
            return self.iterate(value)
        return value

    def iterate(self, source: AsyncIterable[_T]) -> Iterator[_T]:
        """_A plain iterator over `source`: each item is one step on the loop."""
        iterator: AsyncIterator[_T] = self.call(aiter, source)
        try:
            while True:
                item = self.call(_next, iterator)
                if item is _END:
                    return
                yield cast(_T, item)
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None and not self.closed and threading.get_ident() != self._loop_thread:
                self.call(close)

    def stop(self) -> None:
        """Stop the loop and join its thread (once)."""
        if self.closed:
            return
        self.closed = True
        if threading.get_ident() == self._loop_thread:
            # Collected on the loop's own thread: it cannot join itself, so another thread does.
            threading.Thread(target=self._stack.close, name="bhtom-sync-stop").start()
        else:
            self._stack.close()


class _Method(Generic[_P, _R]):
    """Strictly private: a blocking method made from an async one (see "Typing" above)."""

    def __init__(self, function: Callable[..., object]) -> None:
        self._name = function.__name__
        self.__doc__ = function.__doc__
        self.__wrapped__ = function

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> _Method[_P, _R]: ...
    @overload
    def __get__(self, instance: _Wrapper[Any], owner: type[Any]) -> Callable[_P, _R]: ...
    def __get__(self, instance: _Wrapper[Any] | None, owner: type[Any]) -> _Method[_P, _R] | Callable[_P, _R]:
        if instance is None:
            return self
        bound = getattr(instance._target, self._name)
        bridge = instance._bridge

        @functools.wraps(bound)
        def blocking(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            return cast(_R, bridge.run(bound, *args, **kwargs))

        return blocking


@overload
def _sync(function: Callable[Concatenate[_S, _P], Pager[_T]]) -> _Method[_P, SyncPager[_T]]: ...
@overload
def _sync(
    function: Callable[Concatenate[_S, _P], AbstractAsyncContextManager[AsyncIterator[_T]]],
) -> _Method[_P, SyncStream[_T]]: ...
@overload
def _sync(function: Callable[Concatenate[_S, _P], AsyncIterator[_T]]) -> _Method[_P, Iterator[_T]]: ...
@overload
def _sync(function: Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]]) -> _Method[_P, _R]: ...
def _sync(function: Callable[..., object]) -> _Method[Any, Any]:
    """Declare a sync method as the blocking form of the async `function` (same name)."""
    return _Method(function)


class _Wrapper(Generic[_A]):
    """Strictly private: a blocking view of one async object (a resource, an uploader)."""

    def __init__(self, bridge: _Bridge, target: _A) -> None:
        self._bridge = bridge
        self._target = target

    def __repr__(self) -> str:
        return f"<sync {self._target.__class__.__name__}>"


class SyncPager(Generic[_T]):
    """Every item of a list endpoint, fetched as you iterate: ``for item in bh.targets.list()``.

    Also `to_list()` (a `ResultSet`), `first_page()` and `pages()`, as on the async `Pager`.
    """

    def __init__(self, bridge: _Bridge, pager: Pager[_T]) -> None:
        self._bridge = bridge
        self._pager = pager

    def __iter__(self) -> Iterator[_T]:
        return self._bridge.iterate(self._pager)

    def to_list(self) -> ResultSet[_T]:
        """Every item of every page, as a `ResultSet` (a list with `to_table`/`to_pandas`)."""
        found: ResultSet[_T] = self._bridge.call(self._pager.to_list)
        return found

    def first_page(self) -> Page[_T]:
        """Only page 1 (one request)."""
        page: Page[_T] = self._bridge.call(self._pager.first_page)
        return page

    def pages(self) -> Iterator[Page[_T]]:
        """Each page in order."""
        return self._bridge.iterate(self._pager.pages())


class SyncStream(AbstractContextManager["Iterator[_T]"], Generic[_T]):
    """Items that arrive over time (calibrations, upload events), blocking.

    ``with bh.calibration.wait(ids) as results: for r in results: ...``; where the async object
    is iterable without a block (a plain list of ids), ``for r in bh.calibration.wait(ids)``
    works too; `to_list()` waits for everything and returns a `ResultSet`.
    """

    def __init__(self, bridge: _Bridge, source: object) -> None:
        self._bridge = bridge
        self._source = source
        self._manager: AbstractContextManager[object] | None = None
        self._iterator: Iterator[_T] | None = None

    def __iter__(self) -> Iterator[_T]:
        if not isinstance(self._source, AsyncIterable):
            raise TypeError("use it as `with ... as items: for item in items: ...`")
        return self._bridge.iterate(cast(AsyncIterable[_T], self._source))

    def __enter__(self) -> Iterator[_T]:
        manager = self._bridge.portal.wrap_async_context_manager(
            cast(AbstractAsyncContextManager[object], self._source)
        )
        entered = manager.__enter__()
        self._manager = manager
        iterator = self._bridge.to_sync(entered)
        self._iterator = cast(Iterator[_T], iterator)
        return self._iterator

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        iterator, self._iterator = self._iterator, None
        manager, self._manager = self._manager, None
        if isinstance(iterator, Iterator) and hasattr(iterator, "close"):
            iterator.close()  # its async side is closed on the loop before the block is left
        return None if manager is None else manager.__exit__(exc_type, exc, tb)

    def to_list(self) -> ResultSet[_T]:
        """Wait for every item; return them as a `ResultSet`."""
        with self as items:
            return ResultSet(items)


class TargetsAPI(_Wrapper[_Targets]):
    """Targets, blocking: each method as in `bhtom_async.api.targets.TargetsAPI`."""

    list = _sync(_Targets.list)
    create = _sync(_Targets.create)
    update = _sync(_Targets.update)
    delete = _sync(_Targets.delete)
    photometry = _sync(_Targets.photometry)
    radio = _sync(_Targets.radio)
    plots = _sync(_Targets.plots)
    clean_list_cache = _sync(_Targets.clean_list_cache)
    clean_details_cache = _sync(_Targets.clean_details_cache)
    downloads = _sync(_Targets.downloads)
    groups = _sync(_Targets.groups)
    in_group = _sync(_Targets.in_group)
    near_miss = _sync(_Targets.near_miss)


class ObservatoriesAPI(_Wrapper[_Observatories]):
    """Observatories, cameras and favourites, blocking (`bhtom_async.api.observatories`)."""

    list = _sync(_Observatories.list)
    create = _sync(_Observatories.create)
    update = _sync(_Observatories.update)
    favourites = _sync(_Observatories.favourites)
    add_favourite = _sync(_Observatories.add_favourite)
    remove_favourite = _sync(_Observatories.remove_favourite)


class CalibrationAPI(_Wrapper[_Calibration]):
    """Calibration, blocking: `wait` gives a `SyncStream`, `results` a plain iterator."""

    results = _sync(_Calibration.results)
    fetch_page = _sync(_Calibration.fetch_page)
    wait = _sync(_Calibration.wait)
    restart_by_id = _sync(_Calibration.restart_by_id)
    restart_by_target = _sync(_Calibration.restart_by_target)
    restart_by_dataproduct = _sync(_Calibration.restart_by_dataproduct)
    calibrate_file = _sync(_Calibration.calibrate_file)


class DataProductsAPI(_Wrapper[_DataProducts]):
    """Data products, blocking (`bhtom_async.api.dataproducts`)."""

    list = _sync(_DataProducts.list)
    delete = _sync(_DataProducts.delete)
    change_observers = _sync(_DataProducts.change_observers)
    photometry_file = _sync(_DataProducts.photometry_file)


class ReducedDataAPI(_Wrapper[_ReducedData]):
    """Reduced datums, blocking (`bhtom_async.api.reduced_data`)."""

    list = _sync(_ReducedData.list)
    delete = _sync(_ReducedData.delete)
    deactivate = _sync(_ReducedData.deactivate)


class CommentsAPI(_Wrapper[_Comments]):
    """Comments on targets, blocking (`bhtom_async.api.comments`)."""

    list = _sync(_Comments.list)


class UsersAPI(_Wrapper[_Users]):
    """User accounts (admin only), blocking (`bhtom_async.api.users`)."""

    list = _sync(_Users.list)


class UploadsAPI(_Wrapper[_Uploads]):
    """Single-request uploads, blocking (`bhtom_async.api.uploads`); `Uploader` sends nights."""

    upload_file = _sync(_Uploads.upload_file)
    prepare = _sync(_Uploads.prepare)
    prepare_parts = _sync(_Uploads.prepare_parts)
    send = _sync(_Uploads.send)
    check_access = _sync(_Uploads.check_access)


#: Resource name on the client → its sync class (one entry per `Client` property).
_RESOURCES: dict[str, type[_Wrapper[Any]]] = {
    "targets": TargetsAPI,
    "observatories": ObservatoriesAPI,
    "calibration": CalibrationAPI,
    "dataproducts": DataProductsAPI,
    "reduced_data": ReducedDataAPI,
    "comments": CommentsAPI,
    "users": UsersAPI,
    "uploads": UploadsAPI,
}


def _shutdown(bridge: _Bridge, client: _client.Client | None) -> None:
    """Close the pool (when this sync client owns it) and stop the loop thread."""
    if bridge.closed:
        return
    try:
        if client is not None and threading.get_ident() != bridge._loop_thread:
            bridge.call(client.aclose)
    finally:
        bridge.stop()


class Client:
    """_A blocking BHTOM2 client: ``with Client() as bh: bh.targets.photometry("Gaia22bpl")``.

    Takes the async `bhtom_async.Client`'s arguments (token, base_url, upload_url, timeout,
    max_retries, max_connections, allow_insecure_http, clock, config_path) and reads settings
    the same way. It has no `http_client` argument: an `httpx.AsyncClient` belongs to one event
    loop, and this client's loop is its own.

    Works in plain scripts and inside a running event loop (Jupyter). Close it with `close()` or
    a ``with`` block; otherwise it is closed when collected or at interpreter exit.

    Example:
        >>> bh = Client()                                                   # doctest: +SKIP
        >>> bh.targets.list(name="Gaia22").to_list().to_pandas()           # doctest: +SKIP
        >>> bh.close()                                                      # doctest: +SKIP
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
        allow_insecure_http: bool = False,
        clock: Clock | None = None,
        config_path: Path | None = None,
    ) -> None:
        self._finalizer: weakref.finalize[[_Bridge, _client.Client | None], Client] | None
        bridge = _Bridge()
        try:
            # Built on the loop: the client's locks belong to the loop that will use them.
            client: _client.Client = bridge.call(
                functools.partial(
                    _client.Client,
                    token,
                    base_url=base_url,
                    upload_url=upload_url,
                    timeout=timeout,
                    max_retries=max_retries,
                    max_connections=max_connections,
                    allow_insecure_http=allow_insecure_http,
                    clock=clock,
                    config_path=config_path,
                )
            )
        except BaseException:
            bridge.stop()
            raise
        self._setup(bridge, client)
        self._finalizer = weakref.finalize(self, _shutdown, bridge, client)

    @classmethod
    def _derived(cls, bridge: _Bridge, client: _client.Client) -> Client:
        derived = cls.__new__(cls)
        derived._setup(bridge, client)
        derived._finalizer = None
        return derived

    def _setup(self, bridge: _Bridge, client: _client.Client) -> None:
        self._bridge = bridge
        self._async = client
        self._resources: dict[str, _Wrapper[Any]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:
        """Resolve settings and open the connection pool (any call also does this)."""
        self._bridge.call(self._async.open)

    def close(self) -> None:
        """Close the connection pool and stop the loop thread. Later calls raise `ClientStateError`.

        _A client made by `with_options` shares both with its parent and leaves them open.
        """
        if self._finalizer is not None:
            self._finalizer()

    @property
    def closed(self) -> bool:
        """True once `close()` ran (or the owning client was closed)."""
        return self._bridge.closed

    def with_options(
        self,
        *,
        timeout: float | Timeouts | _client._Unset = _client.UNSET,
        max_retries: int | _client._Unset = _client.UNSET,
    ) -> Client:
        """_A client sharing this one's connections and loop, with other timeouts or retries."""
        self.open()
        derived: _client.Client = self._bridge.call(
            functools.partial(self._async.with_options, timeout=timeout, max_retries=max_retries)
        )
        return Client._derived(self._bridge, derived)

    @property
    def config(self) -> ClientConfig:
        """The resolved settings (the token shows as ``***``); opens the client if needed."""
        self.open()
        return self._async.config

    @property
    def clock(self) -> Clock:
        """The time source this client's retries, pauses and polls use."""
        return self._async.clock

    @property
    def server_clock_offset(self) -> float | None:
        """Seconds the server's clock is ahead of ours (None until it has answered)."""
        self.open()
        return self._async.server_clock_offset

    def ensure_connections(self, wanted: int) -> int:
        """Allow at least `wanted` requests in flight; returns the number now allowed."""
        self.open()
        return self._async.ensure_connections(wanted)

    @property
    def async_client(self) -> _client.Client:
        """The async client underneath (its calls must run on this client's loop)."""
        return self._async

    @property
    def targets(self) -> TargetsAPI:
        """Targets: `list`, `create`, `update`, `delete`, `photometry`, `radio`, `plots`, groups."""
        return self._resource("targets", TargetsAPI)

    @property
    def observatories(self) -> ObservatoriesAPI:
        """Observatories, cameras and favourites."""
        return self._resource("observatories", ObservatoriesAPI)

    @property
    def calibration(self) -> CalibrationAPI:
        """Calibration results, waiting for them, restarts, single-file calibration."""
        return self._resource("calibration", CalibrationAPI)

    @property
    def dataproducts(self) -> DataProductsAPI:
        """Uploaded data products."""
        return self._resource("dataproducts", DataProductsAPI)

    @property
    def reduced_data(self) -> ReducedDataAPI:
        """Reduced datums (the points of a light curve)."""
        return self._resource("reduced_data", ReducedDataAPI)

    @property
    def comments(self) -> CommentsAPI:
        """Comments on targets."""
        return self._resource("comments", CommentsAPI)

    @property
    def users(self) -> UsersAPI:
        """User accounts (admin only)."""
        return self._resource("users", UsersAPI)

    @property
    def uploads(self) -> UploadsAPI:
        """Single-request uploads (`Uploader` sends whole nights)."""
        return self._resource("uploads", UploadsAPI)

    def __repr__(self) -> str:
        return f"<sync {self._async!r}>" if not self.closed else "<sync Client closed>"

    def _resource(self, name: str, kind: type[_A]) -> _A:
        found = self._resources.get(name)
        if found is None:
            if self.closed:
                raise ClientStateError("this client was closed; create a new Client to connect again")
            found = _RESOURCES[name](self._bridge, getattr(self._async, name))
            self._resources[name] = found
        assert isinstance(found, kind)
        return found


class Uploader(_Wrapper[_Uploader]):
    """The bulk uploader, blocking: ``summary = Uploader(bh, "night/", options, job).run()``.

    Arguments as for `bhtom_async.Uploader`, with a sync `Client`. `on_event` is called on the
    client's loop thread (keep it quick); a sync `settings` callback runs in a worker thread.
    """

    def __init__(
        self,
        client: Client,
        paths: _StrPath | Sequence[_StrPath],
        options: UploadOptions,
        job: JobOptions | None = None,
        *,
        settings: SettingsSource | None = None,
        on_event: Callable[[UploadEvent], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        uploader = client._bridge.call(
            functools.partial(
                _Uploader,
                client._async,
                paths,
                options,
                job,
                settings=settings,
                on_event=on_event,
                clock=clock,
            )
        )
        super().__init__(client._bridge, uploader)

    run = _sync(_Uploader.run)
    events = _sync(_Uploader.events)


class CalibratedUpload:
    """Calibration results of a running bulk upload, blocking: ``for result in job``.

    `summary` is the upload's `UploadSummary` once every file has been handled (None before).
    """

    def __init__(self, bridge: _Bridge, job: _CalibratedUpload) -> None:
        self._bridge = bridge
        self._job = job

    def __iter__(self) -> Iterator[CalibrationResult]:
        return self._bridge.iterate(self._job)

    @property
    def summary(self) -> UploadSummary | None:
        """The upload summary, once the uploads have finished."""
        return self._job.summary


@contextlib.contextmanager
def upload_and_calibrate(
    client: Client,
    paths: _StrPath | Sequence[_StrPath],
    options: UploadOptions,
    job: JobOptions | None = None,
    poll: PollOptions | None = None,
    *,
    settings: SettingsSource | None = None,
    on_event: Callable[[UploadEvent], None] | None = None,
) -> Iterator[CalibratedUpload]:
    """Upload files and get their calibrations as they finish, blocking (see the async version).

    Example:
        >>> with upload_and_calibrate(bh, "night/", options) as job:          # doctest: +SKIP
        ...     for result in job:
        ...         print(result.filename, result.magnitude)
        >>> print(job.summary)                                                 # doctest: +SKIP
    """
    bridge = client._bridge
    manager = _upload_and_calibrate(
        client._async, paths, options, job, poll, settings=settings, on_event=on_event
    )
    with bridge.portal.wrap_async_context_manager(manager) as running:
        calibrated = CalibratedUpload(bridge, running)
        try:
            yield calibrated
        finally:
            # Leaving early: stop reading results on the loop before the pipeline is closed.
            results = getattr(running, "_results", None)
            if results is not None and hasattr(results, "aclose") and not bridge.closed:
                bridge.call(results.aclose)


def login(
    username: str,
    password: str,
    *,
    base_url: str | None = None,
    timeout: float | Timeouts | None = None,
) -> str:
    """Get the API token of a BHTOM account, blocking (see `bhtom_async.login`).

    Raises:
        AuthenticationError: the username or password was refused.
    """
    with start_blocking_portal("asyncio") as portal:
        token: str = portal.call(
            functools.partial(_client.login, username, password, base_url=base_url, timeout=timeout)
        )
    return token
