"""Models for comments on targets (`common/api/comments/`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs

from ._converter import wire

__all__ = ["Comment"]


@attrs.frozen
class Comment:
    """A comment on a target. The server also writes one when a target is created."""

    id: int | None
    text: str | None = attrs.field(default="", metadata=wire("comment"))
    user_name: str | None = None
    user_id: int | None = None
    target_name: str | None = None
    target_id: int | None = None
    submit_date: dt.datetime | None = None
    extra: Mapping[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)
