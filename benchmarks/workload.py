"""What the contenders upload, and the simulated networks they upload it over.

Files are written once per scenario and shared by every contender. Frames are valid FITS files
(the emulator checks the ``SIMPLE`` card and reads ``MJD-OBS``); each has its own header, so
each has its own SHA-256 and the emulator can tell which were stored twice.
"""

from __future__ import annotations

import random
from pathlib import Path

from bhtom_async.emulator import FaultRule

__all__ = [
    "MB",
    "ONAME",
    "TARGET",
    "bad_night",
    "latency",
    "link_cap",
    "write_catalogues",
    "write_frames",
]

TARGET = "Gaia22bpl"
ONAME = "HarnessObs_HarnessCam"
#: Rates and sizes are decimal: 1 MB = 10^6 bytes, as the emulator's ``M`` suffix.
MB = 1_000_000
_BLOCK = 2880
_TILE = 1 << 20


def _header(index: int, data_bytes: int) -> bytes:
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                    8",
        "NAXIS   =                    1",
        f"NAXIS1  = {data_bytes:20d}",
        f"OBJECT  = '{TARGET}'",
        "FILTER  = 'V'",
        f"MJD-OBS = {60827.9 + index * 1e-4:20.6f}",
        "DATE-OBS= '2025-06-01T23:14:05'",
        "EXPTIME =                 60.0",
        f"FRAMENO = {index:20d}",
        "END",
    ]
    header = "".join(card.ljust(80) for card in cards).encode()
    return header + b" " * (-len(header) % _BLOCK)


def write_frames(folder: Path, count: int, size: int, *, seed: int = 7, prefix: str = "frame") -> list[Path]:
    """`count` distinct FITS frames of about `size` bytes each (whole 2880-byte blocks).

    The data is one seeded random megabyte repeated: writing 2 GB then costs only the disk
    write, and nothing on the wire compresses anyway.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data_bytes = max(1, size // _BLOCK) * _BLOCK
    tile = random.Random(seed).randbytes(_TILE)
    paths = []
    for index in range(count):
        path = folder / f"{prefix}_{index:05d}.fits"
        with path.open("wb") as handle:
            handle.write(_header(index, data_bytes))
            remaining = data_bytes
            while remaining:
                piece = tile[: min(remaining, _TILE)]
                handle.write(piece)
                remaining -= len(piece)
        paths.append(path)
    return paths


def write_catalogues(folder: Path, count: int, size: int) -> list[Path]:
    """`count` SExtractor-style photometry catalogues of about `size` bytes each."""
    folder.mkdir(parents=True, exist_ok=True)
    row = "{:10d} {:11.7f} {:11.7f} {:10.3f} {:10.3f} {:9.4f} {:8.4f}\n"
    paths = []
    for index in range(count):
        lines = [f"#   1 NUMBER  catalogue {index}\n"]
        number = 0
        while sum(map(len, lines)) < size:
            number += 1
            lines.append(row.format(number, 276.12 + number * 1e-5, -12.34, 10.0, 50.0, -12.0, 0.01))
        path = folder / f"cat_{index:05d}.cat"
        path.write_text("".join(lines))
        paths.append(path)
    return paths


def latency(seconds: float) -> list[FaultRule]:
    """Every upload request waits `seconds` before it is handled (server time plus round trip)."""
    return [FaultRule("latency", path="/upload/", host="upload", seconds=seconds)]


def link_cap(rate: float, *, per: str = "total") -> list[FaultRule]:
    """Upload bandwidth capped at `rate` bytes/s, shared by all connections or per connection.

    ``per="total"`` is a real link: every connection shares it, so opening more connections
    cannot beat it. ``per="connection"`` caps each connection alone (a per-flow limit).
    """
    return [FaultRule("bandwidth", path="/upload/", host="upload", rate=rate, direction="up", per=per)]


def bad_night() -> list[FaultRule]:
    """The fault mix of a bad night: 10 % 503 pages, 15 % connections reset after the store."""
    return [
        FaultRule("error", path="/upload/", host="upload", status=503, probability=0.10),
        FaultRule("reset_after_store", path="/upload/", host="upload", probability=0.15),
    ]
