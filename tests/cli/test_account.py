"""`bhtom login`, `whoami`, `config show`, global options and error handling."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from bhtom_async._config import config_file_path, read_config_file, write_config_file

from .conftest import parse_json

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def test_help_lists_commands_and_exit_codes(run_cli: Callable[..., Result]) -> None:
    """`bhtom --help` shows the demo first-step, the commands and the exit codes."""
    result = run_cli("--help")
    assert result.exit_code == 0
    assert "bhtom demo" in result.output
    assert "Exit codes" in result.output
    for name in ("login", "whoami", "config"):
        assert name in result.output


def test_every_command_help_has_an_example(run_cli: Callable[..., Result]) -> None:
    """Each command's help text carries an `Example:` section."""
    from bhtom_async.cli.main import cli

    def walk(group: object, prefix: list[str]) -> list[list[str]]:
        import click

        found: list[list[str]] = []
        assert isinstance(group, click.Group)
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found.extend(walk(command, [*prefix, name]))
            else:
                found.append([*prefix, name])
        return found

    for path in walk(cli, []):
        result = run_cli(*path, "--help")
        assert result.exit_code == 0, path
        assert "Example" in result.output, path


def test_whoami_without_token_says_what_to_do(run_cli: Callable[..., Result]) -> None:
    """With no token anywhere, whoami still works and says to run `bhtom login`."""
    result = run_cli("whoami")
    assert result.exit_code == 0
    assert "bhtom login" in result.stderr
    assert "https://bh-tom2.astrolabs.pl" in result.stdout


def test_whoami_masks_the_token_from_the_environment(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token shows only as its last four characters, and its source is named."""
    monkeypatch.setenv("BHTOM_TOKEN", TOKEN)
    result = run_cli("--json", "whoami", "--no-check")
    assert result.exit_code == 0
    assert TOKEN not in result.output
    data = parse_json(result.stdout)
    assert data["token"] == "****…4567"
    assert data["token_source"] == "BHTOM_TOKEN"


def test_config_show_reads_the_config_file(run_cli: Callable[..., Result]) -> None:
    """Settings written by `bhtom login` are shown by `config show`, token masked."""
    write_config_file({"token": TOKEN, "base_url": "http://127.0.0.1:9"})
    result = run_cli("config", "show")
    assert result.exit_code == 0
    assert "http://127.0.0.1:9" in result.stdout
    assert "config file" in result.stdout
    assert TOKEN not in result.output


def test_bad_config_file_exits_3(run_cli: Callable[..., Result]) -> None:
    """A broken config file is a fatal configuration error (exit 3) with a hint, no traceback."""
    path = config_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("token = [unclosed\n")
    result = run_cli("whoami")
    assert result.exit_code == 3
    assert "is not valid" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.output


def test_verbose_shows_the_traceback(run_cli: Callable[..., Result]) -> None:
    """With `-v`, the same error also prints its traceback."""
    path = config_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("token = [unclosed\n")
    result = run_cli("-v", "whoami")
    assert result.exit_code == 3
    assert "Traceback" in result.stderr


def test_bad_base_url_exits_3(run_cli: Callable[..., Result]) -> None:
    """A malformed --base-url is a configuration error (exit 3)."""
    result = run_cli("--base-url", "ftp://nowhere", "config", "show")
    assert result.exit_code == 3
    assert "not an http(s) URL" in result.stderr


def test_unknown_option_is_a_usage_error(run_cli: Callable[..., Result]) -> None:
    """Click's usage errors exit 2."""
    result = run_cli("whoami", "--no-such-option")
    assert result.exit_code == 2


def test_config_file_written_by_login_is_private(tmp_path: Path) -> None:
    """The library writes the config file 0600 (what `bhtom login` relies on)."""
    path = write_config_file({"token": TOKEN}, tmp_path / "c.toml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_config_file(path)["token"] == TOKEN


def test_ctrl_c_exits_130_with_a_hint(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C ends with exit 130 and a hint on resuming, not a traceback."""

    def interrupted(**kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("bhtom_async.cli.account.resolve_config", interrupted)
    result = run_cli("whoami")
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert "Traceback" not in result.output


def test_missing_token_exits_3_with_shell_hint(run_cli: Callable[..., Result]) -> None:
    """With no token anywhere, a server command exits 3 and the hint names shell options."""
    result = run_cli("--base-url", "http://127.0.0.1:9", "targets", "list")
    assert result.exit_code == 3
    assert "no BHTOM API token" in result.stderr
    assert "--token" in result.stderr
    assert "bhtom login" in result.stderr


def test_whoami_checks_the_token_with_the_server(
    run_cli: Callable[..., Result], as_user: Callable[[str], None]
) -> None:
    """A working token is confirmed by the server (one request), and reported as accepted."""
    as_user("alice")
    result = run_cli("--json", "whoami")
    assert result.exit_code == 0
    assert parse_json(result.stdout)["token_accepted"] is True


def test_whoami_with_a_refused_token_exits_3(
    run_cli: Callable[..., Result], as_user: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token the server refuses makes whoami fail with exit 3 and the `bhtom login` hint."""
    as_user("alice")
    monkeypatch.setenv("BHTOM_TOKEN", "0" * 40)
    result = run_cli("whoami")
    assert result.exit_code == 3
    assert "Invalid token" in result.stderr
    assert "bhtom login" in result.stderr
