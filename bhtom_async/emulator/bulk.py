"""Bulk seeding for load tests: many targets or many calibrating frames in one call, no HTTP.

A benchmark of a 50-page target list or of a poller following 5,000 calibrations needs that
much state before it starts; sending it through the API would cost minutes and measure the
wrong thing. These helpers write the rows the API would have written, under the state lock.
"""

from __future__ import annotations

import hashlib
import math

from . import calibration as calib
from .records import DataProduct, Target
from .state import State

__all__ = ["add_dataproducts", "add_targets"]


def add_targets(state: State, count: int, *, prefix: str, now: float) -> list[str]:
    """Create `count` sidereal targets named ``<prefix>00001``…, spread over the sky.

    Raises:
        ValueError: `count` is negative, or a name is taken.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, not {count}")
    width = max(5, len(str(count)))
    names = [f"{prefix}{index:0{width}d}" for index in range(1, count + 1)]
    with state.lock:
        taken = {t.name for t in state.targets()}
        clash = next((name for name in names if name in taken), None)
        if clash is not None:
            raise ValueError(f"a target named {clash!r} already exists; choose another prefix")
        for index, name in enumerate(names):
            # A golden-angle spiral: distinct positions, never within 3 arcsec of each other.
            dec = math.degrees(math.asin(-1 + 2 * (index + 0.5) / max(1, count)))
            ra = (index * 137.50776405) % 360.0
            created = now + index * 1e-6  # keeps the list's (created, id) order stable
            target = Target(state.next_id("target"), name, round(ra, 6), round(dec, 6), created, created)
            state.put("target", target)
    return names


def add_dataproducts(
    state: State, count: int, *, username: str, target: str, observatory: str, now: float
) -> list[int]:
    """Store `count` FITS frames as if `username` had just uploaded them; returns their ids.

    Each frame gets a header with ``MJD-OBS``, ``EXPTIME`` and ``FILTER`` and a distinct
    content hash, but no bytes on disk, and starts its calibration timeline now (so
    ``calibration_delays`` and ``calibration_spread`` apply), ending in S.

    Raises:
        ValueError: `count` is negative, or the user, target or camera ONAME is unknown.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, not {count}")
    with state.lock:
        user = state.user_by_name(username)
        found = state.target_by_name(target)
        camera = state.camera_by_prefix(observatory)
        if user is None or found is None or camera is None:
            missing = [
                f"{kind} {name!r}"
                for kind, name, value in (
                    ("user", username, user),
                    ("target", target, found),
                    ("camera ONAME", observatory, camera),
                )
                if value is None
            ]
            raise ValueError("unknown " + " and ".join(missing))
        ids = []
        for index in range(count):
            ident = state.next_id("dataproduct")
            stored = f"{state.next_id('file_prefix')}_bulk_{ident}.fits"
            relative = f"targets/{found.name}/{stored}"
            product = DataProduct(
                ident,
                found.id,
                user.id,
                "fits_file",
                relative,
                f"bulk_{ident}.fits",
                hashlib.sha256(f"bulk/{ident}".encode()).hexdigest(),
                2880 * 2,
                now,
                now,
                camera_id=camera.id,
                product_id=stored.removesuffix(".fits"),
                fits_data=relative,
                observers=[user.username],
                upload_filter="GaiaSP/V",
                cards={
                    "OBJECT": found.name,
                    "MJD-OBS": 60000.0 + index * 1e-4,
                    "EXPTIME": 60.0,
                    "FILTER": "V",
                },
            )
            state.put("dataproduct", product)
            state.track(calib.plan(state.next_id("calibration"), product, found, now, state.settings))
            ids.append(ident)
    return ids
