"""``BHTOM_LOG``: our request lines on stderr, on our own logger only (never the root logger)."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from ._config import log_level_from_env

__all__ = ["LOGGER_NAME", "apply_log_level_from_env"]

LOGGER_NAME = "bhtom_async"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (notebooks and test runners replace it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def apply_log_level_from_env() -> None:
    """Install one stderr handler at the level ``BHTOM_LOG`` asks for (once per process)."""
    level = log_level_from_env()
    logger = logging.getLogger(LOGGER_NAME)
    if level is None or any(isinstance(h, _StderrHandler) for h in logger.handlers):
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
