"""Server-supplied file names, made safe to use as a path."""

from __future__ import annotations

import re

__all__ = ["safe_filename"]

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def safe_filename(name: str | None, fallback: str) -> str:
    """`name` reduced to a plain base name, or `fallback` when nothing usable is left.

    A server-supplied name never chooses a directory: everything up to the last ``/`` or ``\\``
    is dropped, control characters are removed, and ``""``, ``.`` and ``..`` give `fallback`.
    """
    if name:
        base = _UNSAFE.sub("", re.split(r"[/\\]", name)[-1]).strip()
        if base not in ("", ".", ".."):
            return base
    return fallback
