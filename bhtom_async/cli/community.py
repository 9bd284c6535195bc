"""`bhtom comments list` and `bhtom users list`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._core import BhtomGroup, CliState, make_client, pass_state, run
from .output import print_table

if TYPE_CHECKING:
    from ..models.comments import Comment
    from ..models.users import User

__all__ = ["register"]


@click.group(cls=BhtomGroup)
def comments() -> None:
    """Comments on targets.

    \b
    Example:
        bhtom comments list --target Gaia22bpl
    """


@comments.command("list")
@click.option("--target", help="Exact target name.")
@click.option("--user", help="Username.")
@click.option("--text", help="Text contained in the comment.")
@click.option("--since", "created_start", help="From this date (YYYY-MM-DD).")
@click.option("--until", "created_end", help="Up to this date (YYYY-MM-DD).")
@pass_state
def comments_list(
    state: CliState,
    target: str | None,
    user: str | None,
    text: str | None,
    created_start: str | None,
    created_end: str | None,
) -> None:
    """List comments, optionally filtered.

    \b
    Example:
        bhtom --json comments list --target Gaia22bpl --since 2026-01-01
    """
    filters = {
        "target": target,
        "user": user,
        "text": text,
        "created_start": created_start,
        "created_end": created_end,
    }
    found = run(_comments, state, filters)
    if state.json:
        state.emit(found)
    else:
        rows = [[c.id, c.target_name, c.user_name, c.submit_date, c.text] for c in found]
        print_table(["id", "target", "user", "date", "comment"], rows)


async def _comments(state: CliState, filters: dict[str, object]) -> list[Comment]:
    async with make_client(state) as bh:
        return await bh.comments.list(**filters).to_list()  # type: ignore[arg-type]


@click.group(cls=BhtomGroup)
def users() -> None:
    """User accounts (BHTOM admins only).

    \b
    Example:
        bhtom users list --username alice
    """


@users.command("list")
@click.option("--id", "id_", type=int, help="Exact user id.")
@click.option("--username", help="Exact username.")
@click.option("--since", "created", help="Joined on or after this date (YYYY-MM-DD).")
@pass_state
def users_list(state: CliState, id_: int | None, username: str | None, created: str | None) -> None:
    """List user accounts (needs a staff account).

    \b
    Example:
        bhtom users list --since 2026-01-01
    """
    found = run(_users, state, id_, username, created)
    if state.json:
        state.emit(found)
    else:
        rows = [[u.id, u.username, u.first_name, u.last_name, u.is_staff, u.date_joined] for u in found]
        print_table(["id", "username", "first name", "last name", "staff", "joined"], rows)


async def _users(state: CliState, id_: int | None, username: str | None, created: str | None) -> list[User]:
    async with make_client(state) as bh:
        return await bh.users.list(id=id_, username=username, created=created).to_list()


def register(group: click.Group) -> None:
    """Add `bhtom comments` and `bhtom users` to the `bhtom` group."""
    group.add_command(comments)
    group.add_command(users)
