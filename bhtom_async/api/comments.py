"""Target comments."""

from __future__ import annotations

from ._resource import Resource

__all__ = ["CommentsAPI"]


class CommentsAPI(Resource):
    """Target comments."""
