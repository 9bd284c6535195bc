"""CLI fixtures: a click runner that keeps stdout and stderr apart, and an emulator to talk to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

from bhtom_async.cli.main import cli

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator


@pytest.fixture(autouse=True)
def _no_profile_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's BHTOM_PROFILE never picks the profile a CLI test runs with."""
    monkeypatch.delenv("BHTOM_PROFILE", raising=False)


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Factory: `run_cli("whoami", "--json", input=...)` runs `bhtom` in-process (never a terminal)."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False)

    return invoke


def parse_json(text: str) -> Any:
    """The single JSON document a `--json` command printed."""
    return json.loads(text)


@pytest.fixture(scope="session")
def cli_emulator_server() -> Iterator[Emulator]:
    """One emulator for the CLI tests (its own thread, loopback), fast calibration."""
    from bhtom_async.emulator import Emulator

    with Emulator(seed=0, calibration_delays=(0.05, 0.05)) as emu:
        yield emu


@pytest.fixture
def emu(cli_emulator_server: Emulator) -> Emulator:
    """The CLI emulator back in its seeded state, with no faults."""
    cli_emulator_server.clear_faults()
    cli_emulator_server.reset()
    return cli_emulator_server


@pytest.fixture
def as_user(emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], None]:
    """`as_user("alice")`: point `bhtom` at the emulator with that user's token (via the environment)."""
    # The uploader's default journal lives under XDG_STATE_HOME: keep it per test.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    def use(user: str) -> None:
        monkeypatch.setenv("BHTOM_TOKEN", emu.tokens[user])
        monkeypatch.setenv("BHTOM_BASE_URL", emu.base_url)
        monkeypatch.setenv("BHTOM_UPLOAD_URL", emu.upload_url)

    return use


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """`bhtom upload`'s client backs off on a ManualClock, so retries cost no wall time."""
    import time

    from bhtom_async import Client
    from bhtom_async.cli import upload as cli_upload
    from bhtom_async.testing import ManualClock

    real = cli_upload.make_client

    def with_manual_clock(*args: Any, **options: Any) -> Client:
        return real(*args, clock=ManualClock(wall_start=time.time()), **options)

    monkeypatch.setattr(cli_upload, "make_client", with_manual_clock)


@pytest.fixture
def bhtom(emu: Emulator, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Factory: `bhtom("upload", ...)` starts the CLI in a subprocess as alice against the emulator
    (its own config and state folders; killed at the end if still running)."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("BHTOM_")}
    env = {
        **keep,
        "BHTOM_TOKEN": emu.tokens["alice"],
        "BHTOM_BASE_URL": emu.base_url,
        "BHTOM_UPLOAD_URL": emu.upload_url,
        "BHTOM_CONFIG": str(tmp_path / "config.toml"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "PYTHONUNBUFFERED": "1",
    }
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "bhtom_async.cli", *args]
        pipe = subprocess.PIPE
        process = subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()
