"""Calibration: results, waiting for results, restarts, calibrating a single file."""

from __future__ import annotations

from ._resource import Resource

__all__ = ["CalibrationAPI"]


class CalibrationAPI(Resource):
    """Calibration: results, waiting for results, restarts, calibrating a single file."""
