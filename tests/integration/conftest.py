"""Integration fixtures: one emulator per test session on loopback, reset before every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from bhtom_async import Client
from bhtom_async.testing import Clock

from .helpers import DiscardServer

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator


@pytest.fixture(scope="session")
def discard_server() -> Iterator[DiscardServer]:
    """One loopback server that reads and drops upload bodies (the big-file tests)."""
    with DiscardServer() as server:
        yield server


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Emulator]:
    """The emulator, started once (in its own thread) for the whole session."""
    from bhtom_async.emulator import Emulator

    with Emulator(seed=0, calibration_delays=(0.05, 0.05)) as emu:
        yield emu


@pytest.fixture
def emulator(emulator_server: Emulator) -> Emulator:
    """The session emulator, back in its seeded state with no faults."""
    emulator_server.clear_faults()
    emulator_server.reset()
    return emulator_server


@pytest.fixture
def emulator_client(emulator: Emulator) -> Callable[..., Client]:
    """Factory: `emulator_client("alice")`, `emulator_client("admin", clock=ManualClock())`."""

    def make(user: str = "alice", *, clock: Clock | None = None, **options: object) -> Client:
        return Client(
            emulator.tokens[user],
            base_url=emulator.base_url,
            upload_url=emulator.upload_url,
            clock=clock,
            **options,  # type: ignore[arg-type]
        )

    return make


@pytest.fixture
async def alice(emulator_client: Callable[..., Client]) -> AsyncIterator[Client]:
    """An open client for the seeded normal user `alice` (camera HarnessObs_HarnessCam favourited)."""
    async with emulator_client("alice") as client:
        yield client


@pytest.fixture
async def admin(emulator_client: Callable[..., Client]) -> AsyncIterator[Client]:
    """An open client for the seeded staff/superuser `admin`."""
    async with emulator_client("admin") as client:
        yield client
