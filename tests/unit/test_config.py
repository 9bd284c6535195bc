"""Configuration precedence (arguments > environment > config file > defaults) and safety rules."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bhtom_async import Timeouts, errors
from bhtom_async._config import (
    DEFAULT_BASE_URL,
    DEFAULT_UPLOAD_URL,
    ClientConfig,
    config_file_path,
    read_config_file,
    resolve_config,
    write_config_file,
)
from bhtom_async._secret import Secret


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    write_config_file(
        {"token": "file-token", "base_url": "https://file.example", "upload_url": "https://up.file.example"},
        path,
    )
    return path


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    """With no arguments, environment or file, the public BHTOM hosts are used and no token."""
    config = resolve_config(environ={}, config_path=tmp_path / "none.toml")
    assert (config.base_url, config.upload_url, config.token) == (DEFAULT_BASE_URL, DEFAULT_UPLOAD_URL, None)


def test_config_file_beats_defaults(stored: Path) -> None:
    """The file written by `bhtom login` supplies token and hosts."""
    config = resolve_config(environ={}, config_path=stored)
    assert config.token == Secret("file-token")
    assert config.base_url == "https://file.example"
    assert config.upload_url == "https://up.file.example"


def test_environment_beats_config_file(stored: Path) -> None:
    """BHTOM_TOKEN, BHTOM_BASE_URL and BHTOM_UPLOAD_URL override the file."""
    env = {
        "BHTOM_TOKEN": "env-token",
        "BHTOM_BASE_URL": "https://env.example",
        "BHTOM_UPLOAD_URL": "https://up.env.example",
    }
    config = resolve_config(environ=env, config_path=stored)
    assert config.token == Secret("env-token")
    assert (config.base_url, config.upload_url) == ("https://env.example", "https://up.env.example")


def test_bhtom_api_token_is_accepted(tmp_path: Path) -> None:
    """BHTOM_API_TOKEN works too (BHTOM_TOKEN wins when both are set)."""
    only_api = resolve_config(environ={"BHTOM_API_TOKEN": "api"}, config_path=tmp_path / "x")
    both = resolve_config(
        environ={"BHTOM_API_TOKEN": "api", "BHTOM_TOKEN": "main"}, config_path=tmp_path / "x"
    )
    assert only_api.token == Secret("api")
    assert both.token == Secret("main")


def test_arguments_beat_environment(stored: Path) -> None:
    """Explicit arguments win over everything."""
    config = resolve_config(
        token="arg-token",
        base_url="https://arg.example/",
        upload_url="https://up.arg.example",
        environ={"BHTOM_TOKEN": "env-token", "BHTOM_BASE_URL": "https://env.example"},
        config_path=stored,
    )
    assert config.token == Secret("arg-token")
    assert config.base_url == "https://arg.example"  # trailing slash trimmed
    assert config.upload_url == "https://up.arg.example"


def test_config_file_is_private(stored: Path) -> None:
    """The token file is written with mode 0600."""
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert read_config_file(stored)["token"] == "file-token"


def test_config_path_follows_xdg_and_override(tmp_path: Path) -> None:
    """BHTOM_CONFIG overrides; otherwise $XDG_CONFIG_HOME/bhtom/config.toml."""
    assert config_file_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "bhtom" / "config.toml"
    assert config_file_path({"BHTOM_CONFIG": str(tmp_path / "c.toml")}) == tmp_path / "c.toml"


def test_broken_config_file_says_how_to_fix(tmp_path: Path) -> None:
    """A config file that is not TOML raises ConfigurationError naming the file."""
    path = tmp_path / "bad.toml"
    path.write_text("token = [unclosed\n")
    with pytest.raises(errors.ConfigurationError, match=r"bad\.toml"):
        resolve_config(environ={}, config_path=path)


def test_token_over_plain_http_to_remote_host_is_refused() -> None:
    """No token goes over plain http except to loopback, unless the user opts in."""
    with pytest.raises(errors.ConfigurationError, match="plain http"):
        ClientConfig(base_url="http://bh-tom2.astrolabs.pl", token=Secret("t"))
    ClientConfig(base_url="http://127.0.0.1:8000", upload_url="http://localhost:9", token=Secret("t"))
    ClientConfig(base_url="http://example.org", token=Secret("t"), allow_insecure_http=True)


def test_malformed_url_is_refused() -> None:
    """A base URL without scheme or host is a ConfigurationError with an example."""
    with pytest.raises(errors.ConfigurationError, match="not an http"):
        ClientConfig(base_url="bh-tom2.astrolabs.pl")


def test_single_number_timeout_sets_read_write_pool() -> None:
    """timeout=30 sets read, write and pool; connect stays at its 10 s default."""
    config = resolve_config(timeout=30, environ={}, config_path=Path("/nonexistent"))
    assert config.timeout == Timeouts(connect=10.0, read=30.0, write=30.0, pool=30.0)
    with pytest.raises(errors.ConfigurationError):
        Timeouts.of(0, Timeouts())
