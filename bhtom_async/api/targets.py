"""Targets: list, create, update, delete, light curves, plots, groups, caches."""

from __future__ import annotations

from ._resource import Resource

__all__ = ["TargetsAPI"]


class TargetsAPI(Resource):
    """Targets: list, create, update, delete, light curves, plots, groups, caches."""
