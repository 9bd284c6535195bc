"""Comments on targets (`common/api/comments/`)."""

from __future__ import annotations

import datetime as dt
import re

from .._paginate import Pager
from ..errors import APIError, BhtomError, InvalidInputError, TargetNotFoundError
from ..models.comments import Comment
from ._resource import Resource, body_of

__all__ = ["CommentsAPI", "day"]

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CommentsAPI(Resource):
    """Comments on targets."""

    def list(
        self,
        *,
        target: str | None = None,
        target_id: int | None = None,
        user: str | None = None,
        text: str | None = None,
        created_start: dt.date | str | None = None,
        created_end: dt.date | str | None = None,
    ) -> Pager[Comment]:
        """Comments, oldest first (`POST common/api/comments/`).

        Args:
            target: exact target name. target_id: the target's numeric id.
            user: exact username of the author. text: substring of the comment (any case).
            created_start, created_end: dates (a `date`, or ``"YYYY-MM-DD"``, the only string form
                the server reads).

        Raises:
            InvalidInputError: a date in another format.
            TargetNotFoundError: no target has this exact name.

        Example:
            >>> async for c in bh.comments.list(target="Gaia22bpl"):  # doctest: +SKIP
            ...     print(c.submit_date, c.user_name, c.text)
        """
        body = body_of(
            target=target,
            targetid=target_id,
            user=user,
            text=text,
            created_start=day(created_start, "created_start"),
            created_end=day(created_end, "created_end"),
        )

        def translate(error: APIError) -> BhtomError | None:
            if target is not None and error.status == 404 and "target not found" in error.message.lower():
                return TargetNotFoundError(target, method=error.method, path=error.path)
            return None

        return self._paginate(
            "POST", "/common/api/comments/", Comment, body=body, translate=translate, key=lambda c: c.id
        )


def day(value: dt.date | str | None, argument: str) -> str | None:
    """A date as the server's ``YYYY-MM-DD`` string (datetimes lose their time of day)."""
    if value is None:
        return None
    if isinstance(value, dt.date):  # datetime is a date too
        return value.strftime("%Y-%m-%d")
    text = value.strip()
    if not _DAY.match(text):
        raise InvalidInputError(f"{argument}={value!r} is not a YYYY-MM-DD date", hint="e.g. '2024-01-31'")
    return text
