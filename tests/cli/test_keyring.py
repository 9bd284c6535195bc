"""`bhtom login` stores the token in the system keyring when there is one, else in the 0600 file;
`whoami` names the store; `logout` removes the token from both.

The keyring is a real backend registered with `keyring.set_keyring`, keyring's own extension
point: one kept in memory (a desktop keyring a headless test cannot reach), and one that refuses
every write (a locked keyring).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import keyring
import keyring.errors
import pytest
from click.testing import Result
from keyring.backend import KeyringBackend
from keyring.backends import fail

from bhtom_async._config import config_file_path, read_config_file, write_config_file
from bhtom_async._keyring import KEYRING_SERVICE

from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

Run = Callable[..., Result]


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps its entries in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("no such entry")


class LockedKeyring(MemoryKeyring):
    """A keyring that refuses to store anything (locked, or no session bus)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the collection is locked")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(fail.Keyring())


def login(run_cli: Run, emu: Emulator, *extra: str) -> Result:
    return run_cli(
        "--base-url", emu.base_url, "--upload-url", emu.upload_url, "login", "-u", "alice",
        "--password-stdin", "--profile", "default", *extra, input=emu.passwords["alice"] + "\n",
    )  # fmt: skip


def test_login_stores_the_token_in_the_keyring_and_whoami_names_it(
    run_cli: Run, emu: Emulator, memory_keyring: MemoryKeyring
) -> None:
    """The token goes to the keyring, not the file; whoami uses it and says it came from the keyring."""
    result = login(run_cli, emu)
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "Logged in as alice; token stored in the system keyring (test keyring MemoryKeyring).\n"
    )
    entry = f"alice@{emu.base_url}"
    assert memory_keyring.entries == {(KEYRING_SERVICE, entry): emu.tokens["alice"]}
    stored = read_config_file(config_file_path())
    assert "token" not in stored
    assert (stored["token_store"], stored["keyring_entry"]) == ("keyring", entry)
    assert emu.tokens["alice"] not in config_file_path().read_text()
    shown = parse_json(run_cli("whoami", "--json").stdout)
    assert (shown["token_source"], shown["token_accepted"]) == ("system keyring", True)


def test_logout_removes_the_token_from_the_keyring_and_the_file(
    run_cli: Run, emu: Emulator, memory_keyring: MemoryKeyring
) -> None:
    """After logout neither store holds a token (a stale file token too); the URLs and username stay."""
    assert login(run_cli, emu).exit_code == 0
    stored = read_config_file(config_file_path())
    write_config_file({**stored, "token": "b" * 40})  # left by an older version
    result = run_cli("logout")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"Logged out: removed the token from the system keyring and {config_file_path()}."
    )
    assert memory_keyring.entries == {}
    assert read_config_file(config_file_path()) == {
        "username": "alice",
        "base_url": emu.base_url,
        "upload_url": emu.upload_url,
    }
    assert run_cli("logout").stdout.strip() == "No stored token to remove."


def test_a_locked_keyring_falls_back_to_the_private_file_and_says_so(run_cli: Run, emu: Emulator) -> None:
    """The keyring refuses the write: the token goes to the 0600 file and login says where and why."""
    keyring.set_keyring(LockedKeyring())
    result = login(run_cli, emu)
    assert result.exit_code == 0, result.output
    path = config_file_path()
    assert f"token stored in {path} (mode 0600)" in result.stdout
    assert "the system keyring refused it (PasswordSetError)" in result.stderr
    assert read_config_file(path)["token"] == emu.tokens["alice"]
    assert path.stat().st_mode & 0o777 == 0o600
    shown = parse_json(run_cli("whoami", "--json", "--no-check").stdout)
    assert shown["token_source"] == "config file"


def test_without_any_keyring_login_says_why_the_file_was_used(run_cli: Run, emu: Emulator) -> None:
    """No keyring backend at all (a headless server): the token is in the file, with a note."""
    result = login(run_cli, emu)
    assert result.exit_code == 0, result.output
    assert "no system keyring backend is available" in result.stderr
    assert read_config_file(config_file_path())["token"] == emu.tokens["alice"]


def test_no_keyring_keeps_the_token_in_the_file(
    run_cli: Run, emu: Emulator, memory_keyring: MemoryKeyring
) -> None:
    """`--no-keyring` writes the file even with a keyring, and drops an entry an earlier login made."""
    assert login(run_cli, emu).exit_code == 0
    result = login(run_cli, emu, "--no-keyring")
    assert result.exit_code == 0, result.output
    assert memory_keyring.entries == {}
    stored = read_config_file(config_file_path())
    assert stored["token"] == emu.tokens["alice"]
    assert "token_store" not in stored
    assert result.stderr == ""


def test_a_keyring_token_without_a_keyring_is_one_clear_error(
    run_cli: Run, emu: Emulator, memory_keyring: MemoryKeyring
) -> None:
    """The file points at the keyring but none can be read here: exit 3 with the install hint."""
    assert login(run_cli, emu).exit_code == 0
    keyring.set_keyring(fail.Keyring())
    result = run_cli("whoami")
    assert result.exit_code == 3
    assert "the API token is in the system keyring" in result.stderr
    assert "bhtom_async[keyring]" in result.stderr
