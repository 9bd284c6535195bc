"""What goes on the wire for a FITS frame: the server calibrates only plain single-HDU FITS.

- A plain frame (``.fits``, ``.fit``, ``.fts``) is sent as it is.
- A gzipped frame (``.fits.gz``) is decompressed as it is sent, a chunk at a time with the
  standard library's `gzip` (memory stays bounded whatever the frame size). Its length comes from
  the gzip trailer; a file whose trailer does not match (several gzip members) fails with a hint.
- A tile-compressed frame (``.fits.fz``, fpack) is decompressed with astropy, a block of rows at a
  time, into a temporary plain FITS file that is removed once it has been sent (disk use bounded
  by the image; memory by a block). Without astropy such a frame fails with the install hint.

The journal records the compressed file (its fingerprint), so a re-run skips it; its content
hash is that of the plain FITS that was sent. Every function here blocks: call it in a thread.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Literal

from ..errors import MissingDependencyError

__all__ = [
    "FITS_MAGIC",
    "FITS_SUFFIXES",
    "Compression",
    "compression_of",
    "content_sha256",
    "gzip_size",
    "open_plain",
    "plain_head",
    "plain_name",
    "unpack_fpack",
]

FITS_SUFFIXES = (".fits", ".fit", ".fts")
FITS_MAGIC = b"SIMPLE  ="
Compression = Literal["gzip", "fpack"]
_SUFFIXES: dict[str, Compression] = {".gz": "gzip", ".fz": "fpack"}
#: Header cards of an image extension that a plain primary image must not carry.
_EXTENSION_ONLY = frozenset({"SIMPLE", "XTENSION", "PCOUNT", "GCOUNT", "CHECKSUM", "DATASUM", "EXTNAME"})
#: Image rows decompressed at a time from a tile-compressed frame.
ROWS_PER_BLOCK = 64


def compression_of(name: str) -> Compression | None:
    """``gzip`` for ``x.fits.gz``, ``fpack`` for ``x.fits.fz`` (any FITS suffix), else None."""
    lower = name.lower()
    for suffix, kind in _SUFFIXES.items():
        if lower.endswith(suffix) and lower[: -len(suffix)].endswith(FITS_SUFFIXES):
            return kind
    return None


def plain_name(name: str) -> str:
    """The frame's name without its compression suffix (``x.fits.fz`` -> ``x.fits``)."""
    return name[:-3] if compression_of(name) is not None else name


def gzip_size(path: Path) -> int:
    """The decompressed length, from the gzip trailer (exact for one member under 4 GiB)."""
    with open(path, "rb") as handle:
        handle.seek(-4, os.SEEK_END)
        (size,) = struct.unpack("<I", handle.read(4))
    return int(size)


def open_plain(path: Path) -> BinaryIO:
    """A gzipped frame opened for reading its decompressed bytes."""
    return gzip.open(path, "rb")  # type: ignore[return-value]  # GzipFile is a binary file object


def plain_head(path: Path, kind: Compression | None) -> bytes:
    """The first bytes of what would be sent (the decompressed stream for gzip)."""
    opener = open_plain if kind == "gzip" else _open_raw
    with opener(path) as handle:
        return handle.read(len(FITS_MAGIC))


def _open_raw(path: Path) -> BinaryIO:
    return open(path, "rb")


def unpack_fpack(path: Path, folder: Path) -> Path:
    """Decompress a tile-compressed frame into a plain single-HDU FITS file in `folder`.

    Raises:
        MissingDependencyError: astropy is not installed.
        ValueError: the file holds no compressed image.
    """
    try:
        from astropy.io import fits
    except ImportError:
        raise MissingDependencyError("sending a tile-compressed (.fz) frame", "astropy") from None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / plain_name(path.name)
    target.unlink(missing_ok=True)  # a streaming HDU would append to an existing file
    with fits.open(path, do_not_scale_image_data=True) as hdus:
        image = next((hdu for hdu in hdus if isinstance(hdu, fits.CompImageHDU)), None)
        if image is None:
            raise ValueError(f"{path.name} holds no tile-compressed image")
        header = fits.Header()
        header["SIMPLE"] = True
        for card in image.header.cards:
            if card.keyword not in (
                "SIMPLE",
                "XTENSION",
                "PCOUNT",
                "GCOUNT",
                "CHECKSUM",
                "DATASUM",
                "EXTNAME",
            ):
                header.append(card)
        stream = fits.StreamingHDU(target, header)
        rows = int(image.header.get("NAXIS2", 1)) if image.header.get("NAXIS", 0) >= 2 else 1
        try:
            for start in range(0, rows, ROWS_PER_BLOCK):
                stream.write(image.section[start : min(start + ROWS_PER_BLOCK, rows)])
        finally:
            stream.close()
    return target


def content_sha256(path: Path, kind: Compression | None, scratch: Path) -> str:
    """The sha256 of what would be sent for this frame (decompressed, for compressed frames)."""
    digest = hashlib.sha256()
    if kind == "fpack":
        plain = unpack_fpack(path, scratch)
        try:
            _hash_into(digest, plain, _open_raw)
        finally:
            plain.unlink(missing_ok=True)
    else:
        _hash_into(digest, path, open_plain if kind == "gzip" else _open_raw)
    return digest.hexdigest()


def _hash_into(digest: hashlib._Hash, path: Path, opener: Callable[[Path], BinaryIO]) -> None:
    with opener(path) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
