"""The token in the system keyring (the optional ``keyring`` extra), where `bhtom login` puts it.

The config file then says where the token is (``token_store = "keyring"`` and the entry's name)
instead of holding it. Without a usable keyring (the package missing, no backend, a locked or
headless desktop) `bhtom login` falls back to the private 0600 config file and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import ConfigurationError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "ENTRY_KEY",
    "KEYRING_SERVICE",
    "STORE_KEY",
    "KeyringUnavailable",
    "delete_token",
    "entry_name",
    "load_token",
    "save_token",
    "stored_token",
]

#: The keyring service name every entry is filed under.
KEYRING_SERVICE = "bhtom_async"
#: Config-file keys that point at the keyring.
STORE_KEY, ENTRY_KEY = "token_store", "keyring_entry"


class KeyringUnavailable(Exception):
    """No usable system keyring; the message says why (never holds the token)."""


def entry_name(username: str, base_url: str) -> str:
    """The keyring entry of one account on one server, e.g. ``alice@https://bh-tom2.astrolabs.pl``."""
    return f"{username}@{base_url}"


def _backend() -> KeyringBackend:
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        raise KeyringUnavailable("the keyring package is not installed") from None
    backend = keyring.get_keyring()
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        raise KeyringUnavailable("no system keyring backend is available")
    return backend


def save_token(entry: str, token: str) -> str:
    """Store the token; returns the keyring's name (e.g. ``SecretService Keyring``).

    Raises:
        KeyringUnavailable: no usable keyring, or it refused the write (locked, headless).
    """
    backend = _backend()
    import keyring.errors

    try:
        backend.set_password(KEYRING_SERVICE, entry, token)
    except (keyring.errors.KeyringError, OSError, RuntimeError) as exc:
        raise KeyringUnavailable(f"the system keyring refused it ({type(exc).__name__})") from None
    return str(backend.name)


def load_token(entry: str) -> str | None:
    """The token stored under `entry`, or None when there is none.

    Raises:
        ConfigurationError: the config file says the token is in the keyring, but no keyring
            can be read here.
    """
    try:
        backend = _backend()
        import keyring.errors

        found = backend.get_password(KEYRING_SERVICE, entry)
    except KeyringUnavailable as exc:
        raise ConfigurationError(
            f"the API token is in the system keyring, but {exc}",
            hint="install it with `pip install 'bhtom_async[keyring]'`, or run `bhtom login` again",
        ) from None
    except (keyring.errors.KeyringError, OSError, RuntimeError) as exc:
        raise ConfigurationError(
            f"the system keyring could not be read ({type(exc).__name__})",
            hint="unlock the keyring, or run `bhtom login --no-keyring` to keep the token in a file",
        ) from None
    return found if isinstance(found, str) and found else None


def delete_token(entry: str) -> bool:
    """Remove the token stored under `entry`; False when there was none or no keyring is usable."""
    try:
        backend = _backend()
    except KeyringUnavailable:
        return False
    import keyring.errors

    try:
        if backend.get_password(KEYRING_SERVICE, entry) is None:
            return False
        backend.delete_password(KEYRING_SERVICE, entry)
    except (keyring.errors.KeyringError, OSError, RuntimeError):
        return False
    return True


def stored_token(stored: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The token a config file's settings lead to, and its store (``config file``/``system keyring``)."""
    if stored.get("token"):
        return stored["token"], "config file"
    if stored.get(STORE_KEY) == "keyring" and stored.get(ENTRY_KEY):
        found = load_token(stored[ENTRY_KEY])
        return (found, "system keyring") if found else (None, None)
    return None, None
