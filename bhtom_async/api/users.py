"""User accounts (`common/api/users/`, admin only)."""

from __future__ import annotations

import datetime as dt

from .._paginate import Pager
from ..models.users import User
from ._resource import Resource, body_of
from .comments import day

__all__ = ["UsersAPI"]


class UsersAPI(Resource):
    """User accounts (admin only)."""

    def list(
        self,
        *,
        id: int | None = None,
        username: str | None = None,
        created: dt.date | str | None = None,
    ) -> Pager[User]:
        """User accounts (`POST common/api/users/`; admin/staff only).

        The server sends one unpaginated list and includes password hashes; `User` drops them.

        Args:
            id: exact user id. username: exact username.
            created: only users who joined on or after this date (`date` or ``"YYYY-MM-DD"``).

        Raises:
            InvalidInputError: a date in another format.
            PermissionDeniedError: the account is not staff (the server redirects to its login
                page; the docs say 403).

        Example:
            >>> async for user in bh.users.list(username="jdoe"):  # doctest: +SKIP
            ...     print(user.id, user.email)
        """
        body = body_of(id=id, username=username, created=day(created, "created"))
        return self._paginate("POST", "/common/api/users/", User, body=body, key=lambda u: u.id)
