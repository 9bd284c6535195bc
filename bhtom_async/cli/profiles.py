"""Profiles: named sets of server URLs and token, so a real account and a local emulator coexist.

The default profile is the config file `bhtom login` has always written (``config.toml``);
every other profile is a file of the same format beside it, ``profiles/<NAME>.toml``. A profile
is chosen with ``--profile NAME`` or ``BHTOM_PROFILE``; its values beat the ``BHTOM_*``
environment variables (choosing a profile is deliberate), and ``--base-url``, ``--upload-url``
and ``--token`` beat the profile.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import attrs

from .._config import config_file_path, is_loopback_url, read_config_file
from .._keyring import stored_token
from ..errors import ConfigurationError

__all__ = [
    "DEFAULT",
    "Connection",
    "connection",
    "list_profiles",
    "profile_journal",
    "login_destination",
    "profile_path",
    "selected_profile",
]

#: The name of the profile kept in the config file itself.
DEFAULT = "default"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@attrs.frozen
class Connection:
    """Where a command connects and with what: the explicit values handed to `Client`.

    `token_source` says where the token came from (for `bhtom whoami`), `profile` which profile
    was used (``default`` for the config file).
    """

    base_url: str | None
    upload_url: str | None
    token: str | None
    config_path: Path
    profile: str
    token_source: str | None


def profile_path(name: str, environ: Mapping[str, str] | None = None) -> Path:
    """The file that holds profile `name` (the config file itself for ``default``)."""
    base = config_file_path(environ)
    if name == DEFAULT:
        return base
    if not _NAME.fullmatch(name):
        raise ConfigurationError(
            f"{name!r} is not a profile name",
            hint="use letters, digits, '.', '_' and '-', e.g. --profile emulator",
        )
    return base.parent / "profiles" / f"{name}.toml"


def list_profiles(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every profile that has a file, ``default`` first when it exists."""
    base = config_file_path(environ)
    found = [DEFAULT] if base.exists() else []
    folder = base.parent / "profiles"
    if folder.is_dir():
        found += sorted(path.stem for path in folder.glob("*.toml"))
    return found


def selected_profile(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The profile chosen by ``--profile`` (first) or ``BHTOM_PROFILE``, else ``default``."""
    env = os.environ if environ is None else environ
    chosen = flag or env.get("BHTOM_PROFILE", "").strip()
    return chosen or DEFAULT


def connection(
    *,
    profile: str | None,
    base_url: str | None,
    upload_url: str | None,
    token: str | None,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """Resolve the profile and the flags into the values a `Client` gets.

    For the default profile nothing is read here: the library's own order applies (flags,
    then environment, then the config file). A named profile must exist.

    Raises:
        ConfigurationError: the profile has no file, or its name is not valid.
    """
    env = os.environ if environ is None else environ
    name = selected_profile(profile, env)
    path = profile_path(name, env)
    if name == DEFAULT:
        return Connection(base_url, upload_url, token, path, name, _default_source(token, env, path))
    if not path.exists():
        known = ", ".join(list_profiles(env)) or "none yet"
        raise ConfigurationError(
            f"there is no profile named {name!r} (profiles: {known})",
            hint=f"create it with `bhtom login --profile {name}`",
        )
    stored = read_config_file(path)
    kept, store = (None, None) if token else stored_token(stored)
    chosen_token = token or kept
    where = f"profile {name}" if store == "config file" else f"profile {name} ({store})"
    source = "--token" if token else (where if kept else _env_source(env))
    return Connection(
        base_url or stored.get("base_url"),
        upload_url or stored.get("upload_url"),
        chosen_token,
        path,
        name,
        source,
    )


def _env_source(env: Mapping[str, str]) -> str | None:
    from .._config import TOKEN_ENV_VARS

    return next((name for name in TOKEN_ENV_VARS if env.get(name, "").strip()), None)


def _default_source(token: str | None, env: Mapping[str, str], path: Path) -> str | None:
    if token:
        return "--token"
    found = _env_source(env)
    if found:
        return found
    return stored_token(read_config_file(path))[1]


def login_destination(
    flag: str | None, base_url: str, environ: Mapping[str, str] | None = None
) -> tuple[str, str | None]:
    """Which profile `bhtom login` writes, and a note when it is not the one the user might expect.

    A login to a loopback emulator never overwrites a default profile that points at a real
    server: without ``--profile`` it goes to the ``emulator`` profile instead (and says so).
    ``--profile default`` asks for the default explicitly.
    """
    env = os.environ if environ is None else environ
    chosen = selected_profile(flag, env)
    if flag or env.get("BHTOM_PROFILE", "").strip() or not is_loopback_url(base_url):
        return chosen, None
    stored = read_config_file(profile_path(DEFAULT, env))
    current = stored.get("base_url")
    if current and not is_loopback_url(current):
        return "emulator", (
            f"{base_url} is a local emulator, so this login is saved as profile 'emulator' and "
            f"your default profile ({current}) is unchanged; use it with --profile emulator "
            "(or log in with --profile default to replace the default)"
        )
    return chosen, None


def profile_journal(flag: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The ``journal`` the chosen profile (or the config file) names, if any.

    A site whose hosts share a PostgreSQL journal can put ``journal = "postgresql://..."`` there
    instead of passing ``--journal`` or setting ``BHTOM_JOURNAL`` (which both win over it).
    """
    env = os.environ if environ is None else environ
    path = profile_path(selected_profile(flag, env), env)
    return read_config_file(path).get("journal") or None
