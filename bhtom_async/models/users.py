"""Models for user accounts (`common/api/users/`, admin only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import ClassVar

import attrs

__all__ = ["User"]


@attrs.frozen
class User:
    """A BHTOM account.

    The real server also sends each user's password hash; this model drops it on reading, so it
    is never stored, shown or logged.
    """

    __bhtom_drop__: ClassVar[frozenset[str]] = frozenset({"password"})

    id: int | None
    username: str | None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    is_active: bool | None = True
    is_staff: bool | None = False
    is_superuser: bool | None = False
    last_login: dt.datetime | None = None
    date_joined: dt.datetime | None = None
    groups: tuple[int, ...] = ()
    user_permissions: tuple[int, ...] = ()
    extra: Mapping[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def full_name(self) -> str:
        """First and last name, or the username when both are empty."""
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or self.username or ""
