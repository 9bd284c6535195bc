"""Shared fixtures: isolation from the user's environment, the anyio backend, factories."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

# Compiled bytecode goes under the temp directory (never into the checkout), even where the
# machine sets PYTHONDONTWRITEBYTECODE: otherwise each test worker and each `bhtom` subprocess
# compiles the package, its dependencies' uncompiled modules and the tests from source again.
_PYCACHE = str(Path(tempfile.gettempdir()) / "bhtom-async-test-pycache")
sys.pycache_prefix = _PYCACHE
sys.dont_write_bytecode = False
os.environ["PYTHONPYCACHEPREFIX"] = _PYCACHE
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import pytest  # noqa: E402

from bhtom_async import Client  # noqa: E402
from bhtom_async.testing import ManualClock  # noqa: E402

#: A recognisable fake token: tests grep for it to prove it never leaks.
FAKE_TOKEN = "f00dfacef00dfacef00dfacef00dfacef00dface"
BASE_URL = "https://bh-tom2.example.test"
UPLOAD_URL = "https://uploadsvc2.example.test"

#: Recorded facts the tests read; provenance in `tests/data/README.md`.
DATA_DIR = Path(__file__).resolve().parent / "data"
CAPTURES_DIR = DATA_DIR / "captures"
SAMPLES_DIR = DATA_DIR / "samples"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's token, config file or proxy settings."""
    for name in (
        "BHTOM_TOKEN",
        "BHTOM_API_TOKEN",
        "BHTOM_BASE_URL",
        "BHTOM_UPLOAD_URL",
        "BHTOM_LOG",
        "BHTOM_CONFIG",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.setenv("NO_PROXY", "*")
    # No test touches the developer's system keyring: `bhtom login` sees none (in this process and
    # in the `bhtom` subprocesses); the keyring tests register their own backend.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return
    keyring.set_keyring(fail.Keyring())


@pytest.fixture(autouse=True)
def _restored_library_logger() -> Iterator[None]:
    """A test that turns on BHTOM_LOG leaves no stderr handler or level behind for the next one.

    `Client` installs its stderr handler on the `bhtom_async` logger once per process and never
    removes it, so without this a later test's stderr would carry debug lines.
    """
    logger = logging.getLogger("bhtom_async")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    for handler in logger.handlers:
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture
def clock() -> ManualClock:
    """A clock whose sleeps return at once (and are recorded in `clock.sleeps`)."""
    return ManualClock()


@pytest.fixture
def make_client(clock: ManualClock) -> Callable[..., Client]:
    """Factory for a client pointed at the respx test hosts, with a fake token and fake clock."""

    def make(**overrides: object) -> Client:
        options: dict[str, object] = {
            "token": FAKE_TOKEN,
            "base_url": BASE_URL,
            "upload_url": UPLOAD_URL,
            "clock": clock,
        }
        options.update(overrides)
        return Client(**options)  # type: ignore[arg-type]

    return make


@pytest.fixture
async def bh(make_client: Callable[..., Client]) -> AsyncIterator[Client]:
    """An open client against the respx hosts (use inside `respx.mock`)."""
    async with make_client() as client:
        yield client


@pytest.fixture
def samples_dir() -> Path:
    """The sample files in BHTOM's formats (`tests/data/samples`)."""
    return SAMPLES_DIR


def capture(number: str) -> dict[str, Any]:
    """One recorded real-server exchange by its two-digit number (`tests/data/captures`)."""
    (path,) = CAPTURES_DIR.glob(f"{number}_*.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def make_fits_tree(tmp_path: Path) -> Callable[..., list[Path]]:
    """Write `n` small valid FITS frames (distinct content) under a folder; returns their paths."""

    def make(n: int = 3, *, folder: str = "night", size_blocks: int = 2, mjd0: float = 60827.9) -> list[Path]:
        root = tmp_path / folder
        root.mkdir(parents=True, exist_ok=True)
        paths = []
        for i in range(n):
            path = root / f"frame_{i:04d}.fits"
            path.write_bytes(fits_bytes(i, size_blocks=size_blocks, mjd=mjd0 + i * 0.01))
            paths.append(path)
        return paths

    return make


def fits_bytes(seed: int, *, size_blocks: int = 2, mjd: float = 60827.9, filt: str = "V") -> bytes:
    """A minimal valid FITS file: one header block plus `size_blocks - 1` data blocks."""
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                    8",
        "NAXIS   =                    1",
        f"NAXIS1  = {2880 * (size_blocks - 1):20d}",
        "OBJECT  = 'Gaia22bpl'",
        f"FILTER  = '{filt}'",
        f"MJD-OBS = {mjd:20.6f}",
        "DATE-OBS= '2025-06-01T23:14:05'",
        "EXPTIME =                 60.0",
        f"SEED    = {seed:20d}",
        "END",
    ]
    header = "".join(card.ljust(80) for card in cards).encode("ascii")
    header += b" " * (-len(header) % 2880)
    data = bytes((seed * 31 + i) % 251 for i in range(2880 * (size_blocks - 1)))
    return header + data


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One real PostgreSQL 16 (the `pgserver` wheel) per test process, on a unix socket only.

    It fails loudly rather than skipping: the shared-journal tests need a database. Its folder
    is a fresh one under the system temp dir (as root, pgserver runs PostgreSQL as its own
    user, which must reach the folder; pytest's temp folders are private to root).
    """
    import shutil
    import tempfile
    import warnings

    folder = tempfile.mkdtemp(prefix="bhtom-pg-")
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime folder; without XDG_RUNTIME_DIR it warns.
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(folder, cleanup_mode="stop")
    # A throwaway server: no fsync (commits and CREATE DATABASE are cheap), stopped at once.
    for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
        server.psql(f"ALTER SYSTEM SET {setting};")
    server.psql("SELECT pg_reload_conf();")
    try:
        yield server
    finally:
        from pgserver._commands import pg_ctl

        pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=server.pgdata, user=server.system_user)
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: Any) -> str:
    """A URL to a fresh, empty database of its own (tests never share one)."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    socket_dir = postgres_server.get_uri().split("host=", 1)[1]
    with psycopg.connect(f"postgresql://postgres@/postgres?host={socket_dir}", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@/{name}?host={socket_dir}"
