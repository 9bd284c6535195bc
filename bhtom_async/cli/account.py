"""`bhtom login`, `logout`, `whoami`, `config show`: the token, its store, and where settings come from."""

from __future__ import annotations

import os
import sys

import click

from .._config import (
    DEFAULT_BASE_URL,
    TOKEN_ENV_VARS,
    read_config_file,
    resolve_config,
    write_config_file,
)
from .._keyring import (
    ENTRY_KEY,
    STORE_KEY,
    KeyringUnavailable,
    delete_token,
    entry_name,
    save_token,
)
from ..client import login as library_login
from ._core import BhtomCommand, BhtomGroup, CliState, make_client, pass_state, run
from .output import print_mapping
from .profiles import DEFAULT, connection, list_profiles, login_destination, profile_path, selected_profile

__all__ = ["register"]


@click.command(cls=BhtomCommand)
@click.option("-u", "--username", prompt=True, help="Your BHTOM username.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin instead of prompting.",
)
@click.option(
    "--no-keyring",
    is_flag=True,
    help="Keep the token in the private config file even where a system keyring is available.",
)
@pass_state
def login(state: CliState, username: str, password_stdin: bool, no_keyring: bool) -> None:
    """Get your API token and store it in the system keyring, else in the private (0600) config file.

    The keyring is used when the `keyring` extra is installed and the desktop has one (GNOME
    Keyring, KWallet, macOS Keychain, Windows Credential Locker); the config file then says
    where the token is. Without one the token goes into the config file, and login says why.

    `--profile NAME` keeps this login apart from the default one (select it later with
    `--profile NAME` or BHTOM_PROFILE). A login to a local emulator never replaces a default
    profile that points at a real server: it is saved as profile 'emulator' unless you pass
    `--profile default`.

    \b
    Example:
        bhtom login -u alice
        bhtom login --profile emulator --base-url http://127.0.0.1:8765 \\
            --upload-url http://127.0.0.1:8766 -u alice
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True)
    # Where to log in: --base-url, else BHTOM_BASE_URL, else the profile's stored one, else BHTOM2.
    environ = {key: value for key, value in os.environ.items() if key not in TOKEN_ENV_VARS}
    asked = selected_profile(state.profile)
    settings = resolve_config(
        base_url=state.base_url,
        upload_url=state.upload_url,
        environ=environ,
        config_path=profile_path(asked),
    )
    name, note = login_destination(state.profile, settings.base_url)
    path = profile_path(name)
    token: str = run(_login, username, password, settings.base_url)
    values = dict(read_config_file(path))
    values.update(username=username, base_url=settings.base_url, upload_url=settings.upload_url)
    keyring_name, why_not = _to_keyring(values, entry_name(username, settings.base_url), token, no_keyring)
    if keyring_name is None:
        values["token"] = token
    written = write_config_file(values, path)
    store = f"the system keyring ({keyring_name})" if keyring_name else f"{written} (mode 0600)"
    if state.json:
        state.emit(
            {
                "username": username,
                "profile": name,
                "config_file": str(written),
                "token_store": "system keyring" if keyring_name else "config file",
                "base_url": settings.base_url,
                "upload_url": settings.upload_url,
            }
        )
    else:
        where = "" if name == DEFAULT else f" (profile {name})"
        click.echo(f"Logged in as {username}; token stored in {store}{where}.")
        if state.base_url is not None and state.upload_url is None:
            click.echo(f"Uploads go to {settings.upload_url}; change it with --upload-url.", err=True)
    if why_not:
        click.echo(f"note: {why_not}, so the token is in the config file {written}", err=True)
    if note:
        click.echo(f"note: {note}", err=True)


def _to_keyring(
    values: dict[str, str], entry: str, token: str, no_keyring: bool
) -> tuple[str | None, str | None]:
    """Store the token in the keyring and point `values` at it; (keyring name, None) on success,
    else (None, why not) with `values` cleared of any keyring pointer. An older entry is removed."""
    old = values.pop(ENTRY_KEY, None)
    values.pop(STORE_KEY, None)
    values.pop("token", None)
    if old and old != entry:
        delete_token(old)
    if no_keyring:
        delete_token(entry)
        return None, None
    try:
        name = save_token(entry, token)
    except KeyringUnavailable as exc:
        return None, str(exc)
    values.update({STORE_KEY: "keyring", ENTRY_KEY: entry})
    return name, None


async def _login(username: str, password: str, base_url: str) -> str:
    return await library_login(username, password, base_url=base_url)


def _settings(state: CliState) -> dict[str, object]:
    chosen = connection(
        profile=state.profile, base_url=state.base_url, upload_url=state.upload_url, token=state.token
    )
    config = resolve_config(
        token=chosen.token,
        base_url=chosen.base_url,
        upload_url=chosen.upload_url,
        config_path=chosen.config_path,
    )
    return {
        "username": read_config_file(chosen.config_path).get("username"),
        "profile": chosen.profile,
        "base_url": config.base_url,
        "upload_url": config.upload_url,
        "token": config.token.masked() if config.token else None,
        "token_source": chosen.token_source,
        "config_file": str(chosen.config_path),
        "config_file_exists": chosen.config_path.exists(),
        "profiles": list_profiles(),
    }


@click.command(cls=BhtomCommand)
@click.option(
    "--check/--no-check",
    default=True,
    help="Ask the server whether the token works (one small request; default: check).",
)
@pass_state
def whoami(state: CliState, check: bool) -> None:
    """Show which account, server and token `bhtom` would use, and whether the server accepts it.

    \b
    Example:
        bhtom whoami
        bhtom whoami --no-check      # offline: settings only
    """
    settings = _settings(state)
    if check and settings["token"] is not None:
        # A bad or revoked token raises AuthenticationError here: exit 3 with a hint.
        run(_check_token, state)
        settings["token_accepted"] = True
    if state.json:
        state.emit(settings)
        return
    print_mapping(settings)
    if settings["token"] is None:
        click.echo("No token set: run `bhtom login` or set BHTOM_TOKEN.", err=True)


async def _check_token(state: CliState) -> None:
    """One cheap authenticated call; BHTOM has no "who am I" endpoint."""
    async with make_client(state) as bh:
        await bh.targets.list(name="bhtom-whoami-check").first_page()


@click.group(cls=BhtomGroup)
def config() -> None:
    """Inspect the settings `bhtom` uses.

    \b
    Example:
        bhtom config show
    """


@config.command("show")
@pass_state
def config_show(state: CliState) -> None:
    """Print the resolved settings (token masked) and the config file's path.

    \b
    Example:
        bhtom config show --json   # or: bhtom --json config show
    """
    settings = _settings(state)
    if state.json:
        state.emit(settings)
    else:
        print_mapping(settings)


@click.command(cls=BhtomCommand)
@pass_state
def logout(state: CliState) -> None:
    """Remove the stored token from the system keyring and from the config file (of the profile).

    The username and server URLs stay, so `bhtom login` asks only for the password again.

    \b
    Example:
        bhtom logout
        bhtom logout --profile emulator
    """
    name = selected_profile(state.profile)
    path = profile_path(name)
    values = dict(read_config_file(path))
    user, server = values.get("username"), values.get("base_url", DEFAULT_BASE_URL)
    entry = values.get(ENTRY_KEY) or (entry_name(user, server) if user else None)
    removed = ["the system keyring"] if entry and delete_token(entry) else []
    if "token" in values:
        removed.append(str(path))
    if any(key in values for key in ("token", STORE_KEY, ENTRY_KEY)):
        for key in ("token", STORE_KEY, ENTRY_KEY):
            values.pop(key, None)
        write_config_file(values, path)
    if state.json:
        state.emit({"profile": name, "removed_from": removed})
    elif removed:
        click.echo(f"Logged out: removed the token from {' and '.join(removed)}.")
    else:
        click.echo("No stored token to remove.")
    still = [variable for variable in TOKEN_ENV_VARS if os.environ.get(variable, "").strip()]
    if still:
        click.echo(f"note: {still[0]} is still set in this environment; unset it too.", err=True)


def register(group: click.Group) -> None:
    """Add these commands to the `bhtom` group."""
    for command in (login, logout, whoami, config):
        group.add_command(command)
