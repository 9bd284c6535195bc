"""Synthetic FITS frames for `bhtom demo`: a star field whose central star varies over the night.

Uses numpy + astropy (the ``astro`` extra) when they are installed; otherwise writes the FITS
bytes itself (2880-byte blocks, 16-bit big-endian pixels), so the demo needs no numeric stack.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import struct
from pathlib import Path

import attrs

__all__ = ["FrameSpec", "night_of_frames", "write_frame"]

BLOCK = 2880
_MJD_EPOCH = dt.datetime(1858, 11, 17, tzinfo=dt.timezone.utc)
#: The target star's brightness at the reference flux (delta-mag 0).
BASE_MAG = 15.0
REFERENCE_FLUX = 20000.0


@attrs.frozen
class FrameSpec:
    """One synthetic exposure: when, what, and how bright the target star is."""

    target: str
    mjd: float
    filter: str = "V"
    exptime: float = 30.0
    target_flux: float = REFERENCE_FLUX
    seed: int = 0
    size: int = 64

    @property
    def magnitude(self) -> float:
        """The target's true magnitude in this frame (15.0 at the reference flux)."""
        return round(BASE_MAG - 2.5 * math.log10(self.target_flux / REFERENCE_FLUX), 4)

    @property
    def date_obs(self) -> str:
        """ISO UTC start time (``DATE-OBS``)."""
        moment = _MJD_EPOCH + dt.timedelta(days=self.mjd)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def night_of_frames(
    target: str, *, count: int = 12, mjd0: float = 60827.90, step_days: float = 0.01, filter: str = "V"
) -> list[FrameSpec]:
    """A night of frames: the target brightens and fades (amplitude ~0.3 mag) over `count` frames."""
    frames = []
    for index in range(count):
        phase = 2 * math.pi * index / max(count, 1)
        delta_mag = 0.3 * math.sin(phase)
        frames.append(
            FrameSpec(
                target=target,
                mjd=round(mjd0 + index * step_days, 6),
                filter=filter,
                target_flux=REFERENCE_FLUX * 10 ** (-0.4 * delta_mag),
                seed=index,
            )
        )
    return frames


def _stars(spec: FrameSpec) -> list[tuple[float, float, float]]:
    """(x, y, flux) of each star: the target in the centre, then a fixed field of 8 others."""
    field = random.Random(1234)  # the same comparison stars in every frame
    low, high = 4.0, spec.size - 4.0
    others = [(field.uniform(low, high), field.uniform(low, high), field.uniform(3e3, 3e4)) for _ in range(8)]
    return [(spec.size / 2, spec.size / 2, spec.target_flux), *others]


def _pixels(spec: FrameSpec) -> list[list[int]]:
    noise = random.Random(spec.seed)
    sigma = 1.5
    image = [[100.0 + noise.gauss(0, 3) for _ in range(spec.size)] for _ in range(spec.size)]
    for x0, y0, flux in _stars(spec):
        peak = flux / (2 * math.pi * sigma**2)
        for y in range(max(0, int(y0) - 6), min(spec.size, int(y0) + 7)):
            for x in range(max(0, int(x0) - 6), min(spec.size, int(x0) + 7)):
                image[y][x] += peak * math.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
    return [[max(-32768, min(32767, round(value))) for value in row] for row in image]


def _cards(spec: FrameSpec) -> list[tuple[str, object, str]]:
    return [
        ("OBJECT", spec.target, "target name"),
        ("FILTER", spec.filter, "filter"),
        ("DATE-OBS", spec.date_obs, "UTC start of exposure"),
        ("MJD-OBS", spec.mjd, "MJD start of exposure"),
        ("EXPTIME", spec.exptime, "exposure time [s]"),
        ("TELESCOP", "HarnessObs", "synthetic frame from `bhtom demo`"),
        ("INSTRUME", "HarnessCam", ""),
        ("GAIN", 1.0, "e-/ADU"),
        ("SIMMAG", spec.magnitude, "simulated true target mag"),
    ]


def write_frame(spec: FrameSpec, path: Path, *, use_astropy: bool | None = None) -> Path:
    """Write one valid FITS frame (primary HDU, 16-bit image) and return its path."""
    if use_astropy is None:
        use_astropy = _astropy_available()
    pixels = _pixels(spec)
    if use_astropy:
        import numpy as np
        from astropy.io import fits

        hdu = fits.PrimaryHDU(np.asarray(pixels, dtype=np.int16))
        for key, value, comment in _cards(spec):
            hdu.header[key] = (value, comment)
        hdu.writeto(path, overwrite=True)
    else:
        path.write_bytes(_fits_bytes(spec, pixels))
    return path


def _astropy_available() -> bool:
    try:
        import astropy.io.fits  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def _card(key: str, value: object, comment: str = "") -> str:
    if isinstance(value, bool):
        text = f"{'T' if value else 'F':>20}"
    elif isinstance(value, int):
        text = f"{value:>20d}"
    elif isinstance(value, float):
        text = f"{value!r:>20}"
    elif value is None:
        text = " " * 20
    else:
        text = ("'" + str(value).replace("'", "''").ljust(8) + "'").ljust(20)
    card = f"{key:<8}= {text}" + (f" / {comment}" if comment else "")
    return card[:80].ljust(80)


def _fits_bytes(spec: FrameSpec, pixels: list[list[int]]) -> bytes:
    cards = [
        _card("SIMPLE", True, "conforms to FITS standard"),
        _card("BITPIX", 16, "array data type"),
        _card("NAXIS", 2, "number of array dimensions"),
        _card("NAXIS1", spec.size),
        _card("NAXIS2", spec.size),
        *(_card(key, value, comment) for key, value, comment in _cards(spec)),
        "END".ljust(80),
    ]
    header = "".join(cards).encode("ascii")
    header += b" " * (-len(header) % BLOCK)
    flat = [value for row in pixels for value in row]
    data = struct.pack(f">{len(flat)}h", *flat)
    data += b"\0" * (-len(data) % BLOCK)
    return header + data
