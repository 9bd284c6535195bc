"""Models for uploads."""

from __future__ import annotations

__all__: list[str] = []
