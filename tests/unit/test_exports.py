"""The public API: `__all__` is sorted, complete and importable; `py.typed` ships."""

from __future__ import annotations

from pathlib import Path

import bhtom_async


def test_all_is_sorted_and_importable() -> None:
    """Every name in bhtom_async.__all__ exists, and the list is sorted."""
    assert list(bhtom_async.__all__) == sorted(bhtom_async.__all__)
    for name in bhtom_async.__all__:
        assert hasattr(bhtom_async, name), name


def test_every_error_and_model_is_exported() -> None:
    """All error classes and models are reachable from the top-level package."""
    assert set(bhtom_async.errors.__all__) <= set(bhtom_async.__all__)
    assert set(bhtom_async.models.__all__) <= set(bhtom_async.__all__)


def test_py_typed_is_shipped() -> None:
    """The package declares its types (PEP 561)."""
    assert (Path(bhtom_async.__file__).parent / "py.typed").exists()
