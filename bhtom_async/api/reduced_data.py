"""Reduced datums (photometry points): list, delete, deactivate."""

from __future__ import annotations

from ._resource import Resource

__all__ = ["ReducedDataAPI"]


class ReducedDataAPI(Resource):
    """Reduced datums (photometry points): list, delete, deactivate."""
