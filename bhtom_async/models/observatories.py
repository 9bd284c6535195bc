"""Models for observatories, their cameras, and users' favourite cameras (`observatory/...`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs

from ._converter import wire

__all__ = ["Camera", "FavouriteAdded", "FavouriteObservatory", "Observatory"]


@attrs.frozen
class Camera:
    """A camera of an observatory. Its `oname` (``<observatory>_<camera>``) names it in uploads.

    The server's defaults for a new camera: inactive, gain 2, readout noise 2, binning 1,
    saturation 63000, pixel scale 0.8 arcsec/px, pixel size 13.5 µm.
    """

    id: int | None
    camera_name: str | None
    prefix: str | None = None
    active: bool | None = attrs.field(default=False, metadata=wire("active_flg"))
    user: int | None = None
    observatory: int | None = None
    gain: float | None = None
    readout_noise: float | None = None
    binning: int | None = None
    saturation_level: float | None = None
    pixel_scale: float | None = None
    readout_speed: float | None = None
    pixel_size: float | None = None
    example_file: str | None = None
    date_time_keyword: str | None = None
    time_keyword: str | None = None
    exposure_time_keyword: str | None = None
    mode_recognition_keyword: str | None = None
    additional_info: str | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    extra: Mapping[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def oname(self) -> str | None:
        """The ONAME used for uploads and favourites (the server calls it `prefix`)."""
        return self.prefix


@attrs.frozen
class Observatory:
    """An observatory (`getObservatoryList/`). `lon`/`lat` in degrees, `altitude` in metres.

    `calibration_flg` marks calibration-only observatories, to which FITS frames cannot be
    uploaded.
    """

    id: int | None
    name: str | None
    lon: float | None = None
    lat: float | None = None
    altitude: float | None = None
    calibration_flg: bool | None = False
    comment: str | None = None
    approx_lim_mag: float | None = None
    origin: str | None = None
    telescope: str | None = None
    aperture: float | None = None
    focal_length: float | None = None
    seeing: float | None = None
    filters: str | None = None
    authors: str | None = None
    acknowledgements: str | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    cameras: tuple[Camera, ...] = ()
    extra: Mapping[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def onames(self) -> tuple[str, ...]:
        """The ONAMEs of this observatory's cameras."""
        return tuple(camera.prefix for camera in self.cameras if camera.prefix)


@attrs.frozen
class FavouriteObservatory:
    """A camera on some user's favourites list (`getFavouriteObservatory/`).

    The server sends no id and no ONAME: `user` is the numeric user id and `camera` the camera id
    (match it with `Camera.id` from `bh.observatories.list()`). `file_size` is in MB.
    """

    user: int | None
    camera: int | None
    active: bool | None = attrs.field(default=True, metadata=wire("active_flg"))
    comment: str | None = None
    number_of_uploaded_file: int | None = None
    file_size: float | None = None
    last_file_process: dt.datetime | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    extra: Mapping[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class FavouriteAdded:
    """The outcome of `bh.observatories.add_favourite`: added now, or already on the list."""

    created: bool
    message: str

    @property
    def already_present(self) -> bool:
        """True when the camera was already a favourite (the server's "already exists" answer)."""
        return not self.created
