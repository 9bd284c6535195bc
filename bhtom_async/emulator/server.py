"""Serving the emulator: uvicorn in a background thread with its own event loop.

Both hosts run in one loop on two pre-bound loopback sockets, so ports are known before the
thread starts and the caller's event loop never runs server code.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio.to_thread
import uvicorn

from . import bulk
from .app import build_app
from .calibration import CalibrationSettings
from .faults import FaultInjector, FaultRule, parse_fault_spec
from .protocol import ExposingH11Protocol
from .seed import PASSWORDS
from .state import State, StateView
from .store import SqliteStore
from .wire import wall_clock

__all__ = ["Emulator", "serve_forever"]

HOST = "127.0.0.1"
log = logging.getLogger("bhtom_async.emulator")


def _bind(port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it Nagle + delayed ACK add 40 ms to every response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class Emulator:
    """A local BHTOM2 server (main host + upload service) on loopback.

    Use it as ``with Emulator() as emu:`` or ``async with Emulator() as emu:``; the servers
    run in a background thread either way. Ports default to free ones (0).

    Args:
        seed: makes tokens and fault randomness reproducible.
        calibration_delays: seconds a new data product spends in C, then in P.
        faults: :class:`FaultRule` objects, or a ``--faults`` spec string.
        state_file: SQLite file to keep state across restarts (None: memory only).
        port: main host port (0: any free port).
        upload_port: upload service port (0: any free port).
        registration_delay: seconds before a new product's calibration row exists.
        ccdphot_delay: seconds a new ``fits_file`` has a calibration row but no CCDPhotJob
            (get-calibration-res then fails the whole batch with 400); 0 turns it off.
        calibration_spread: up to this many extra seconds in P, a fixed share per product,
            so products finish at scattered times; 0 turns it off.
        time_scale: how many emulator seconds pass per real second (a compressed clock for
            long simulations); fault latencies and bandwidth stay in real seconds.
        access_log: let uvicorn log each request.
        clock: seconds since the epoch for the calibration timeline and timestamps (default: the
            wall clock); tests pass one they can move forward instead of sleeping.
        seed_dirty: also seed rows like the real database holds (NULL flags and arrays,
            observers as objects or strings, an empty status letter, NaN photometry, names
            with ``;``, ``.``, ``..`` and non-ASCII letters); `reset` keeps them.
        date_skew: seconds the ``Date`` header runs ahead of the clock that stamps products'
            ``created`` (a proxy or a second host in front of the server); 0: one clock.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        calibration_delays: tuple[float, float] = (1.0, 2.0),
        faults: Sequence[FaultRule] | str = (),
        state_file: str | Path | None = None,
        port: int = 0,
        upload_port: int = 0,
        registration_delay: float = 0.0,
        ccdphot_delay: float = 0.0,
        calibration_spread: float = 0.0,
        time_scale: float = 1.0,
        access_log: bool = False,
        clock: Callable[[], float] = wall_clock,
        seed_dirty: bool = False,
        date_skew: float = 0.0,
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, not {time_scale}")
        if calibration_spread < 0:
            raise ValueError(f"calibration_spread must be >= 0 seconds, not {calibration_spread}")
        self.seed = seed
        self._base_clock = clock
        self.date_skew = float(date_skew)
        self.dirty = seed_dirty
        delays = (float(calibration_delays[0]), float(calibration_delays[1]))
        self.settings = CalibrationSettings(delays, registration_delay, ccdphot_delay, calibration_spread)
        self.time_scale = float(time_scale)
        self.time_origin = clock()
        self._clock: Callable[[], float] = clock if time_scale == 1.0 else self._scaled_now
        rules = parse_fault_spec(faults) if isinstance(faults, str) else list(faults)
        self.injector = FaultInjector(rules, seed)
        self.state_file = Path(state_file) if state_file is not None else None
        self._ports = (port, upload_port)
        self._access_log = access_log
        self._thread: threading.Thread | None = None
        self._servers: list[uvicorn.Server] = []
        self._sockets: list[socket.socket] = []
        self._store: SqliteStore | None = None
        self._tmp: str | None = None
        self._state: State | None = None
        self._failure: BaseException | None = None
        self.base_url = ""
        self.upload_url = ""

    # -- public surface ------------------------------------------------------------------
    @property
    def state(self) -> StateView:
        """Read-only accessors: stored data products, request counts, snapshot."""
        return StateView(self._require_state(), self._clock)

    @property
    def tokens(self) -> dict[str, str]:
        """API tokens of the seeded active users (plus carol, who is inactive)."""
        return {u.username: u.token for u in self._require_state().users() if u.token}

    @property
    def passwords(self) -> dict[str, str]:
        """Plain passwords of the seeded users (token-auth accepts them)."""
        return dict(PASSWORDS)

    @property
    def calibration(self) -> CalibrationSettings:
        """Live calibration settings; changes apply to uploads made afterwards."""
        return self.settings

    def now(self) -> float:
        """The emulator's clock: seconds since the epoch, running `time_scale` times real time.

        Calibration timelines and every timestamp the server writes use it; with a scale `k`,
        ``now() == time_origin + (clock() - time_origin) * k`` (`clock` being the wall clock
        unless one was given).
        """
        return self._clock()

    def _scaled_now(self) -> float:
        return self.time_origin + (self._base_clock() - self.time_origin) * self.time_scale

    def add_targets(self, count: int, *, prefix: str = "BulkTarget") -> list[str]:
        """Create `count` targets named ``<prefix>00001``… at once (load tests); returns the names."""
        return bulk.add_targets(self._require_state(), count, prefix=prefix, now=self.now())

    def add_dataproducts(
        self,
        count: int,
        *,
        user: str = "alice",
        target: str = "Gaia22bpl",
        observatory: str = "HarnessObs_HarnessCam",
    ) -> list[int]:
        """Store `count` FITS frames as if just uploaded (no HTTP, no bytes); returns their ids.

        Their calibrations start now and end in S, following `calibration` (delays and spread).
        """
        state = self._require_state()
        return bulk.add_dataproducts(
            state, count, username=user, target=target, observatory=observatory, now=self.now()
        )

    def add_fault(self, rule: FaultRule | str) -> None:
        """Arm a rule (or every rule of a spec string) while running."""
        for item in parse_fault_spec(rule) if isinstance(rule, str) else [rule]:
            self.injector.add(item)

    def faults_fired(self) -> list[tuple[FaultRule, int]]:
        """Each armed fault rule with how many requests it has hit (cleared with the rules)."""
        return self.injector.fired()

    def clear_faults(self) -> None:
        """Disarm every fault rule."""
        self.injector.clear()

    def reset(self) -> None:
        """Back to the seeded state: data, request counts and faults."""
        self.injector.clear()
        self._require_state().reset()

    def seed_dirty(self) -> None:
        """Add the dirty rows now (what ``seed_dirty=True`` seeds; see docs/emulator.md)."""
        self._require_state().seed_dirty()

    def put_row(self, kind: str, **fields: object) -> int:
        """Insert a row of `kind` (``target``, ``datum``, ...) as given, or change row ``id=``.

        Nothing is validated, as for a write straight to the database; returns the row's id.
        Example: ``emu.put_row("target", name="Odd", ra=1.0, dec=2.0, has_optical=None)``.
        """
        record = self._require_state().put_row(kind, dict(fields), wall_clock())
        ident: int = record.id
        return ident

    def _require_state(self) -> State:
        if self._state is None:
            raise RuntimeError("the emulator is not running; use 'with Emulator() as emu:'")
        return self._state

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Bind the ports, load or seed state and serve in a background thread."""
        if self._thread is not None:
            raise RuntimeError("this emulator is already running")
        if self.state_file is not None:
            self._store = SqliteStore(self.state_file)
            files_dir = self.state_file.with_name(self.state_file.name + ".files")
        else:
            self._tmp = tempfile.mkdtemp(prefix="bhtom-emulator-")
            files_dir = Path(self._tmp) / "data"
        self._state = State(
            seed=self.seed, files_dir=files_dir, store=self._store, settings=self.settings, dirty=self.dirty
        )
        try:
            self._sockets = [_bind(self._ports[0]), _bind(self._ports[1])]
        except OSError:
            self._cleanup()
            raise
        main_port = self._sockets[0].getsockname()[1]
        upload_port = self._sockets[1].getsockname()[1]
        self.base_url = f"http://{HOST}:{main_port}"
        self.upload_url = f"http://{HOST}:{upload_port}"
        self._servers = [self._server("main"), self._server("upload")]
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="bhtom-emulator", daemon=True)
        self._thread.start()
        ready.wait(10.0)
        if self._failure is not None or not all(s.started for s in self._servers):
            self.stop()
            raise RuntimeError(f"emulator failed to start: {self._failure!r}")

    def _server(self, host: str) -> uvicorn.Server:
        assert self._state is not None
        app = build_app(host, self._state, self.settings, self.injector, self._clock, self.date_skew)
        config = uvicorn.Config(
            app,
            http=ExposingH11Protocol,
            lifespan="off",
            log_config=None,
            access_log=self._access_log,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=5,
            server_header=False,
            date_header=False,  # DateMiddleware sends the emulator's own time
        )
        return uvicorn.Server(config)

    def _run(self, ready: threading.Event) -> None:
        async def main() -> None:
            tasks = [
                asyncio.create_task(server.serve(sockets=[sock]))
                for server, sock in zip(self._servers, self._sockets, strict=True)
            ]
            # uvicorn exposes readiness only as a flag, so poll it briefly (at most 10 s).
            for _ in range(2000):
                if all(s.started for s in self._servers) or any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.005)
            ready.set()
            await asyncio.gather(*tasks)

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by start()
            self._failure = exc
        finally:
            ready.set()

    def stop(self) -> None:
        """Stop serving, close the state file and remove temporary files."""
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(10.0)
        self._thread = None
        self._servers = []
        self._cleanup()

    def _cleanup(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        elif self._state is not None:
            shutil.rmtree(self._state.files_dir / ".incoming", ignore_errors=True)
        self._state = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Emulator:
        await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)

    def describe(self) -> str:
        """Human summary: URLs, users, passwords and tokens."""
        lines = [
            f"BHTOM emulator main host:      {self.base_url}",
            f"BHTOM emulator upload service: {self.upload_url}",
            "",
            "Seeded users (username / password / token):",
        ]
        state = self._require_state()
        for user in state.users():
            if not user.token:
                continue
            flags = (
                "staff, superuser"
                if user.is_superuser
                else "inactive: token-auth works, API calls answer 401"
                if not user.is_active
                else "normal"
            )
            lines.append(f"  {user.username:<6} {user.password:<15} {user.token}  ({flags})")
        lines += [
            "",
            "ONAMEs: HarnessObs_HarnessCam (alice's favourite), ROAD_QHY600M, "
            "ROAD_OldCCD (inactive), CalibObs_CalibCam (calibration only)",
            "Targets: " + ", ".join(t.name for t in state.targets()),
            f"Inspection: {self.base_url}/_emulator/state",
        ]
        if self.injector.rules:
            lines.append("Faults: " + "; ".join(repr(r) for r in self.injector.rules))
        return "\n".join(lines)


def serve_forever(
    *,
    port: int = 8765,
    upload_port: int = 8766,
    state_file: str | Path | None = None,
    faults: str | None = None,
    seed: int = 0,
    calibration_delays: tuple[float, float] = (5.0, 10.0),
    announce: Any = print,
    seed_dirty: bool = False,
) -> None:
    """Run the emulator in the foreground until Ctrl-C (what ``bhtom emulator`` calls).

    Args:
        port: main host port.
        upload_port: upload service port.
        state_file: SQLite file to keep state across restarts.
        faults: a fault spec string (see :mod:`bhtom_async.emulator.faults`).
        seed: token and fault seed.
        calibration_delays: seconds in C, then in P, for each new data product.
        announce: where the start-up summary goes (``print`` by default).
        seed_dirty: also seed rows like the real database holds (see `Emulator`).
    """
    emulator = Emulator(
        seed=seed,
        faults=faults or (),
        state_file=state_file,
        port=port,
        upload_port=upload_port,
        calibration_delays=calibration_delays,
        seed_dirty=seed_dirty,
    )
    emulator.start()
    try:
        announce(emulator.describe())
        announce("\nServing until Ctrl-C.")
        while emulator._thread is not None and emulator._thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
