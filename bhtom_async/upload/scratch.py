"""The job's scratch folder: plain copies of tile-compressed frames, removed when the job ends.

An fpack (``.fz``) frame is sent as the plain FITS file it holds, so it is unpacked to a
temporary copy first (and hashed through one when it may be a copy of an uploaded frame). The
copies live in one private folder per job, made on first use. Each unpacked copy is deleted once
its attempt is over, and the folder, with anything left in it, when the job ends.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import anyio
import anyio.to_thread

from . import frames
from .discovery import Candidate

__all__ = ["Scratch"]


class Scratch:
    """Strictly private: the job's folder for unpacked frames and the copy of each file in it."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._unpacked: dict[str, Path] = {}  # a tile-compressed frame's temporary plain copy

    def folder(self) -> Path:
        """The folder, made on first use."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="bhtom-unpack-"))
        return self._folder

    async def unpack(self, candidate: Candidate) -> Path:
        """Unpack an fpack frame to a plain copy here (raises OSError or ValueError if it cannot)."""
        plain = await anyio.to_thread.run_sync(frames.unpack_fpack, candidate.path, self.folder())
        self._unpacked[candidate.fingerprint.path] = plain
        return plain

    async def forget(self, candidate: Candidate) -> None:
        """Delete the file's plain copy, if it has one, once its attempt is over."""
        plain = self._unpacked.pop(candidate.fingerprint.path, None)
        if plain is not None:
            await anyio.to_thread.run_sync(plain.unlink, True)

    async def remove(self) -> None:
        """Delete the folder and anything left in it."""
        if self._folder is not None:
            await anyio.to_thread.run_sync(shutil.rmtree, self._folder, True)
