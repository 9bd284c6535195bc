"""Profiles: a real account and an emulator side by side; an emulator login never clobbers the default."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from click.testing import Result

from bhtom_async._config import config_file_path, read_config_file, write_config_file
from bhtom_async.cli.profiles import profile_path

from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

Run = Callable[..., Result]
REAL = {"base_url": "https://bh-tom2.astrolabs.pl", "upload_url": "https://uploadsvc2.astrolabs.pl",
        "token": "a" * 40, "username": "me"}  # fmt: skip


def _login(run_cli: Run, emu: Emulator, *extra: str) -> Result:
    return run_cli(
        "--base-url", emu.base_url, "--upload-url", emu.upload_url, "login", "-u", "alice",
        "--password-stdin", *extra, input=emu.passwords["alice"] + "\n",
    )  # fmt: skip


def test_login_with_a_profile_leaves_the_default_alone(run_cli: Run, emu: Emulator) -> None:
    """`bhtom login --profile emulator` writes profiles/emulator.toml; config.toml is untouched."""
    write_config_file(REAL)
    result = _login(run_cli, emu, "--profile", "emulator")
    assert result.exit_code == 0, result.output
    assert read_config_file(config_file_path()) == REAL
    stored = read_config_file(profile_path("emulator"))
    assert (stored["token"], stored["base_url"]) == (emu.tokens["alice"], emu.base_url)


def test_a_loopback_login_never_replaces_a_real_default(run_cli: Run, emu: Emulator) -> None:
    """Without --profile, logging in to the emulator saves profile 'emulator' and says so."""
    write_config_file(REAL)
    result = _login(run_cli, emu)
    assert result.exit_code == 0, result.output
    assert read_config_file(config_file_path()) == REAL
    assert read_config_file(profile_path("emulator"))["base_url"] == emu.base_url
    assert "saved as profile 'emulator'" in result.stderr
    assert "--profile default" in result.stderr


def test_asking_for_the_default_replaces_it(run_cli: Run, emu: Emulator) -> None:
    """`--profile default` is the explicit request to point the default at the emulator."""
    write_config_file(REAL)
    assert _login(run_cli, emu, "--profile", "default").exit_code == 0
    assert read_config_file(config_file_path())["base_url"] == emu.base_url


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_a_profile_is_used_over_the_environment(
    run_cli: Run, emu: Emulator, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """--profile / BHTOM_PROFILE: the profile's server and token win over BHTOM_* variables."""
    assert _login(run_cli, emu, "--profile", "emulator").exit_code == 0
    monkeypatch.setenv("BHTOM_BASE_URL", "https://bh-tom2.example.invalid")
    monkeypatch.setenv("BHTOM_TOKEN", "b" * 40)
    if how == "environment":
        monkeypatch.setenv("BHTOM_PROFILE", "emulator")
        args: tuple[str, ...] = ("targets", "list", "--json")
    else:
        args = ("targets", "list", "--json", "--profile", "emulator")
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    assert "Gaia22bpl" in {t["name"] for t in parse_json(result.stdout)}


def test_whoami_names_the_profile_and_where_the_token_came_from(run_cli: Run, emu: Emulator) -> None:
    """`whoami --no-check --profile emulator`: profile, its URL, token source, every profile known."""
    write_config_file(REAL)
    assert _login(run_cli, emu, "--profile", "emulator").exit_code == 0
    shown = parse_json(run_cli("whoami", "--no-check", "--profile", "emulator", "--json").stdout)
    assert (shown["profile"], shown["base_url"], shown["token_source"]) == (
        "emulator",
        emu.base_url,
        "profile emulator",
    )
    assert shown["profiles"] == ["default", "emulator"]
    default = parse_json(run_cli("whoami", "--no-check", "--json").stdout)
    assert (default["profile"], default["base_url"]) == ("default", REAL["base_url"])


def test_an_unknown_profile_is_an_error_naming_the_fix(run_cli: Run) -> None:
    """`--profile nope`: exit 3, with the profiles that exist and `bhtom login --profile nope`."""
    result = run_cli("targets", "list", "--profile", "nope")
    assert result.exit_code == 3
    error, hint = result.stderr.strip().splitlines()
    assert error == "error: there is no profile named 'nope' (profiles: none yet)."
    assert hint == "hint: create it with `bhtom login --profile nope`"
