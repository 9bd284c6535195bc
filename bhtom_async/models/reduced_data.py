"""Models for reduced_data."""

from __future__ import annotations

__all__: list[str] = []
