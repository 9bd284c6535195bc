"""Client settings and where they come from: arguments > environment > config file > defaults.

This is the only module that reads environment variables or the config file.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from ._keyring import stored_token
from ._secret import Secret
from .errors import ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_UPLOAD_URL",
    "ClientConfig",
    "RetrySettings",
    "Timeouts",
    "config_file_path",
    "is_loopback_url",
    "log_level_from_env",
    "read_config_file",
    "resolve_config",
    "write_config_file",
]

DEFAULT_BASE_URL = "https://bh-tom2.astrolabs.pl"
#: Answers longer than this are refused unread (a misbehaving server cannot exhaust memory).
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: What a token may contain: visible ASCII only (real tokens are 40 hex digits).
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")
DEFAULT_UPLOAD_URL = "https://uploadsvc2.astrolabs.pl"
TOKEN_ENV_VARS = ("BHTOM_TOKEN", "BHTOM_API_TOKEN")


@attrs.frozen
class Timeouts:
    """Timeouts in seconds. `write` and `read` apply per network operation, not to a whole body."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 60.0
    pool: float = 60.0

    @classmethod
    def of(cls, value: float | Timeouts | None, default: Timeouts) -> Timeouts:
        """A single number sets read, write and pool; connect keeps its default (10 s)."""
        if value is None:
            return default
        if isinstance(value, Timeouts):
            return value
        seconds = float(value)
        if not (math.isfinite(seconds) and seconds > 0):
            raise ConfigurationError(f"timeout must be a positive number of seconds, not {value!r}")
        return Timeouts(connect=min(default.connect, seconds), read=seconds, write=seconds, pool=seconds)


#: Uploads wait long for the answer: the upload service reads the whole frame before replying.
UPLOAD_TIMEOUTS = Timeouts(connect=10.0, read=600.0, write=120.0, pool=600.0)


@attrs.frozen
class RetrySettings:
    """How hard to retry. Both an attempt cap and a total-time cap always apply.

    Attributes:
        max_retries: retries after the first attempt (0 disables retrying).
        wait_initial, wait_max: bounds of the exponential backoff with full jitter, seconds.
        max_total: give up once this many seconds have passed since the first attempt.
        retry_after_cap: a server ``Retry-After`` above this (seconds) raises `RateLimitError`
            at once instead of sleeping.
    """

    max_retries: int = 3
    wait_initial: float = 0.5
    wait_max: float = 8.0
    max_total: float = 300.0
    retry_after_cap: float = 120.0


@attrs.frozen
class ClientConfig:
    """Everything a client needs, resolved. The token is a `Secret` and never shows in its repr."""

    base_url: str = DEFAULT_BASE_URL
    upload_url: str = DEFAULT_UPLOAD_URL
    token: Secret | None = None
    timeout: Timeouts = Timeouts()
    upload_timeout: Timeouts = UPLOAD_TIMEOUTS
    retry: RetrySettings = RetrySettings()
    max_connections: int | None = None
    allow_insecure_http: bool = False
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __attrs_post_init__(self) -> None:
        for name in ("base_url", "upload_url"):
            _check_url(name, getattr(self, name))
        if self.max_connections is not None and self.max_connections < 1:
            raise ConfigurationError("max_connections must be at least 1")
        if self.max_response_bytes < 1:
            raise ConfigurationError("max_response_bytes must be at least 1")
        if self.token is not None and not _TOKEN_CHARS.fullmatch(self.token.reveal()):
            # Never show the token: say what is wrong with it instead.
            raise ConfigurationError(
                "the API token has characters no BHTOM token has (spaces, line breaks, control "
                "or non-ASCII characters)",
                hint="copy the token again from your BHTOM account, or run `bhtom login`",
            )
        if self.retry.max_retries < 0:
            raise ConfigurationError("max_retries cannot be negative")
        if self.token is not None and not self.allow_insecure_http:
            for url in (self.base_url, self.upload_url):
                if urlsplit(url).scheme == "http" and not is_loopback_url(url):
                    raise ConfigurationError(
                        f"refusing to send the API token over plain http to {url}",
                        hint="use https, or pass allow_insecure_http=True if you really mean it",
                    )


def resolve_config(
    *,
    token: str | Secret | None = None,
    base_url: str | None = None,
    upload_url: str | None = None,
    timeout: float | Timeouts | None = None,
    max_retries: int | None = None,
    max_connections: int | None = None,
    allow_insecure_http: bool = False,
    max_response_bytes: int | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> ClientConfig:
    """Merge arguments, environment (`BHTOM_TOKEN`/`BHTOM_API_TOKEN`, `BHTOM_BASE_URL`,
    `BHTOM_UPLOAD_URL`), the config file written by `bhtom login`, and the defaults.

    Reads a small file: call it from a worker thread inside async code.
    """
    env = os.environ if environ is None else environ
    stored = read_config_file(config_path or config_file_path(env))
    env_token = next((env[name] for name in TOKEN_ENV_VARS if env.get(name, "").strip()), None)
    # The keyring is read only when nothing before it gave a token.
    chosen_token = token if token is not None else env_token or stored_token(stored)[0]
    secret = (
        chosen_token if isinstance(chosen_token, Secret) else (Secret(chosen_token) if chosen_token else None)
    )
    retry = RetrySettings() if max_retries is None else RetrySettings(max_retries=max_retries)
    return ClientConfig(
        base_url=_pick(base_url, env.get("BHTOM_BASE_URL"), stored.get("base_url"), DEFAULT_BASE_URL),
        upload_url=_pick(
            upload_url, env.get("BHTOM_UPLOAD_URL"), stored.get("upload_url"), DEFAULT_UPLOAD_URL
        ),
        token=secret,
        timeout=Timeouts.of(timeout, Timeouts()),
        upload_timeout=UPLOAD_TIMEOUTS if timeout is None else Timeouts.of(timeout, UPLOAD_TIMEOUTS),
        retry=retry,
        max_connections=max_connections,
        allow_insecure_http=allow_insecure_http,
        max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes,
    )


def config_file_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$BHTOM_CONFIG``, else ``$XDG_CONFIG_HOME/bhtom/config.toml``, else ``~/.config/...``."""
    env = os.environ if environ is None else environ
    if env.get("BHTOM_CONFIG"):
        return Path(env["BHTOM_CONFIG"]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "bhtom" / "config.toml"


def read_config_file(path: Path) -> dict[str, str]:
    """The string settings stored in the config file; empty if there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        return _parse_flat_toml(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"config file {path} is not valid: {exc}", hint="fix it or delete it and run `bhtom login`"
        ) from None


def write_config_file(values: Mapping[str, str], path: Path | None = None) -> Path:
    """Write string settings atomically with mode 0600 (the token lives here and nowhere else)."""
    target = path or config_file_path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = [f"{key} = {json.dumps(str(value))}" for key, value in sorted(values.items())]
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("# written by `bhtom login`; keep this file private\n" + "\n".join(lines) + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def is_loopback_url(url: str) -> bool:
    """True for http(s)://localhost, 127.0.0.0/8 and [::1]."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pick(*values: str | None) -> str:
    return next(v.strip().rstrip("/") for v in values if v and v.strip())


def _check_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{name} {url!r} is not an http(s) URL", hint="for example https://bh-tom2.astrolabs.pl"
        )


_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\".*\")\s*$")


def _parse_flat_toml(text: str) -> dict[str, str]:
    if sys.version_info >= (3, 11):
        import tomllib

        data = tomllib.loads(text)
        return {str(k): str(v) for k, v in data.items() if isinstance(v, (str, int, float))}
    # Python 3.10 has no tomllib; our own file is flat `key = "string"` lines (a TOML subset).
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ValueError(f'line {number} is not `key = "value"`')
        values[match.group(1)] = str(json.loads(match.group(2)))
    return values


def log_level_from_env(environ: Mapping[str, str] | None = None) -> int | None:
    """The level asked for by ``BHTOM_LOG`` (debug, info, warning, error), or None."""
    import logging

    env = os.environ if environ is None else environ
    name = env.get("BHTOM_LOG", "").strip().upper()
    level = logging.getLevelName(name) if name else None
    return level if isinstance(level, int) else None
