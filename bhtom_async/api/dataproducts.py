"""Data products: list, delete, change observers, download the photometry file."""

from __future__ import annotations

from ._resource import Resource

__all__ = ["DataProductsAPI"]


class DataProductsAPI(Resource):
    """Data products: list, delete, change observers, download the photometry file."""
