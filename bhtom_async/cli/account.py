"""`bhtom login`, `bhtom whoami`, `bhtom config show`: the token and where settings come from."""

from __future__ import annotations

import os
import sys

import click

from .._config import TOKEN_ENV_VARS, read_config_file, resolve_config, write_config_file
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
@pass_state
def login(state: CliState, username: str, password_stdin: bool) -> None:
    """Get your API token and store it in the private (0600) config file, or in a profile.

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
    values.update(token=token, username=username, base_url=settings.base_url, upload_url=settings.upload_url)
    written = write_config_file(values, path)
    if state.json:
        state.emit(
            {
                "username": username,
                "profile": name,
                "config_file": str(written),
                "base_url": settings.base_url,
                "upload_url": settings.upload_url,
            }
        )
    else:
        where = "" if name == DEFAULT else f" (profile {name})"
        click.echo(f"Logged in as {username}; token stored in {written}{where} (mode 0600).")
        if state.base_url is not None and state.upload_url is None:
            click.echo(f"Uploads go to {settings.upload_url}; change it with --upload-url.", err=True)
    if note:
        click.echo(f"note: {note}", err=True)


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


def register(group: click.Group) -> None:
    """Add these commands to the `bhtom` group."""
    for command in (login, whoami, config):
        group.add_command(command)
