"""Observatories and cameras: list, create, update, favourites."""

from __future__ import annotations

from ._resource import Resource

__all__ = ["ObservatoriesAPI"]


class ObservatoriesAPI(Resource):
    """Observatories and cameras: list, create, update, favourites."""
