"""Uploading one request's worth of files to the upload service."""

from __future__ import annotations

from ._resource import Resource

__all__ = ["UploadsAPI"]


class UploadsAPI(Resource):
    """Uploading one request's worth of files to the upload service."""
