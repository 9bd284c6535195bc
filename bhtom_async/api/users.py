"""User accounts (admin only)."""

from __future__ import annotations

from ._resource import Resource

__all__ = ["UsersAPI"]


class UsersAPI(Resource):
    """User accounts (admin only)."""
