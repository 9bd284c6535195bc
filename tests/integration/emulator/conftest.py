"""Fixtures for the emulator's own tests: plain httpx over real loopback sockets."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bhtom_async.emulator import Emulator

from ...conftest import CAPTURES_DIR, SAMPLES_DIR

CAPTURES = CAPTURES_DIR
SAMPLES = SAMPLES_DIR
DELAYS = (0.05, 0.05)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class EmulatorClock:
    """The emulator's clock in these tests: the wall clock, or frozen and moved forward by hand."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen: float | None = None

    def __call__(self) -> float:
        frozen = self._frozen
        return time.time() + self._offset if frozen is None else frozen

    def freeze(self) -> None:
        """Stop time where it is; only `advance` moves it on."""
        self._frozen = self()

    def advance(self, seconds: float) -> None:
        """Move frozen time forward (the server sees the jump at its next request)."""
        assert self._frozen is not None, "freeze() first"
        self._frozen += seconds

    def thaw(self) -> None:
        """Back to flowing time, never earlier than the frozen moment (timestamps stay ordered)."""
        if self._frozen is not None:
            self._offset = max(self._offset, self._frozen - time.time())
            self._frozen = None


@pytest.fixture(scope="session")
def emu_clock() -> EmulatorClock:
    """The clock the session emulator reads."""
    return EmulatorClock()


@pytest.fixture(scope="session")
def emu_server(emu_clock: EmulatorClock) -> Iterator[Emulator]:
    """One emulator for the whole module set, reset before each test."""
    with Emulator(seed=0, calibration_delays=DELAYS, clock=emu_clock) as emu:
        yield emu


@pytest.fixture
def frozen(emu: Emulator, emu_clock: EmulatorClock) -> Iterator[EmulatorClock]:
    """The emulator's time stands still for this test; `frozen.advance(s)` replaces sleeping."""
    emu_clock.freeze()
    yield emu_clock
    emu_clock.thaw()


@pytest.fixture
def emu(emu_server: Emulator) -> Iterator[Emulator]:
    """The shared emulator in its seeded state, default settings, no faults."""
    emu_server.reset()
    emu_server.calibration.delays = DELAYS
    emu_server.calibration.registration_delay = 0.0
    emu_server.calibration.ccdphot_delay = 0.0
    emu_server.calibration.spread = 0.0
    yield emu_server
    emu_server.clear_faults()


@pytest.fixture
def client(emu: Emulator) -> Iterator[Callable[..., httpx.Client]]:
    """Factory: ``client("alice")`` -> httpx.Client on the main host with alice's token."""
    opened: list[httpx.Client] = []

    def make(user: str | None = "alice", *, upload: bool = False, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Token {emu.tokens[user]}"} if user else {}
        headers.update(kwargs.pop("headers", {}))
        kwargs.setdefault("timeout", 10.0)
        made = httpx.Client(base_url=emu.upload_url if upload else emu.base_url, headers=headers, **kwargs)
        opened.append(made)
        return made

    yield make
    for made in opened:
        made.close()


def fits_frame(cards: dict[str, Any] | None = None, data: bytes | None = None) -> bytes:
    """A small FITS file: primary header with ``cards`` plus 16-bit data."""
    header = {"SIMPLE": True, "BITPIX": 16, "NAXIS": 2, "NAXIS1": 8, "NAXIS2": 8}
    header.update(
        cards
        if cards is not None
        else {
            "OBJECT": "Gaia22bpl",
            "FILTER": "V",
            "DATE-OBS": "2025-06-01T23:14:05.120",
            "MJD-OBS": 60827.968115,
            "EXPTIME": 60.0,
        }
    )
    lines = []
    for key, value in header.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = f"{'T' if value else 'F':>20}"
        elif isinstance(value, str):
            text = f"'{value:<8}'"
        else:
            text = f"{value:>20}"
        lines.append(f"{key:<8}= {text}".ljust(80))
    lines.append("END".ljust(80))
    raw = "".join(lines).encode("ascii")
    raw += b" " * (-len(raw) % 2880)
    pixels = data if data is not None else b"".join(struct.pack(">h", (i * 37) % 3000) for i in range(64))
    return raw + pixels + b"\0" * (-len(pixels) % 2880)


def capture(name: str) -> dict[str, Any]:
    """One recorded real-server exchange by file stem, e.g. ``"09_getTargetList_page_99"``."""
    path = CAPTURES / f"{name}.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def wait_status(c: httpx.Client, ident: int, wanted: tuple[str, ...] = ("S", "E")) -> str:
    """Poll common/api/data until product ``ident`` reaches one of ``wanted`` (5 s at most)."""
    deadline = time.monotonic() + 5
    while True:
        status: str = c.post("/common/api/data/", json={"id": ident}).json()["data"][0]["status"]
        if status in wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def upload(c: httpx.Client, files: list[tuple[str, bytes]], **fields: Any) -> httpx.Response:
    """POST /upload/ with ``files`` parts and form fields (lists become repeated fields)."""
    data = {
        "target": "Gaia22bpl",
        "observatory": "HarnessObs_HarnessCam",
        "data_product_type": "fits_file",
        "dry_run": "False",
        **fields,
    }
    parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
    return c.post("/upload/", data=data, files=parts)
