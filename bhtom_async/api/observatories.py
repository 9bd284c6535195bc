"""Observatories, their cameras, and favourite cameras (`observatory/...`)."""

from __future__ import annotations

import datetime as dt

from .._paginate import Pager
from ..errors import APIError, InvalidInputError, NotFoundError, PermissionDeniedError, ServerError
from ..models.observatories import FavouriteAdded, FavouriteObservatory, Observatory
from ._resource import Resource, body_of

__all__ = ["ObservatoriesAPI"]

_ALREADY = "already exists in yours favourite list"


class ObservatoriesAPI(Resource):
    """Observatories, their cameras, and favourite cameras.

    An upload names a camera by its ONAME (``<observatory>_<camera>``, `Camera.prefix`), and the
    camera must be active and on the uploader's favourites list.
    """

    def list(
        self,
        *,
        name: str | None = None,
        lon: float | None = None,
        lat: float | None = None,
        created_start: dt.datetime | str | None = None,
        created_end: dt.datetime | str | None = None,
    ) -> Pager[Observatory]:
        """Registered observatories with their cameras, oldest first (`POST observatory/getObservatoryList/`).

        Args:
            name: exact observatory name.
            lon, lat: exact longitude / latitude in degrees.
            created_start, created_end: creation-time range (datetimes or ISO 8601 strings).

        The docs' ``active_flg`` filter is not offered: the server ignores it. The server puts
        every row on every page; the pager asks for page 1 only when it already holds them all.

        Example:
            >>> async for obs in bh.observatories.list():  # doctest: +SKIP
            ...     print(obs.name, obs.onames)
        """
        body = body_of(
            name=name, lon=lon, lat=lat, created_start=_iso(created_start), created_end=_iso(created_end)
        )
        return self._paginate(
            "POST", "/observatory/getObservatoryList/", Observatory, body=body, key=lambda o: o.id
        )

    async def create(
        self,
        name: str,
        *,
        lon: float,
        lat: float,
        camera_name: str,
        calibration_flg: bool = False,
        altitude: float | None = None,
        approx_lim_mag: float | None = None,
        filters: str | None = None,
        comment: str | None = None,
        authors: str | None = None,
        acknowledgements: str | None = None,
        example_file: str | None = None,
        gain: float | None = None,
        readout_noise: float | None = None,
        binning: int | None = None,
        saturation_level: float | None = None,
        pixel_scale: float | None = None,
        readout_speed: float | None = None,
        pixel_size: float | None = None,
    ) -> None:
        """Register an observatory with one camera (`POST observatory/createObservatory/`).

        Warning: the real server crashes (500) on every valid request (it reads the serializer's
        data before saving), so this raises `ServerError` there; register observatories through
        the BHTOM web UI. The call is kept for servers where it works.

        Args:
            name: observatory name; the camera's ONAME becomes ``<name>_<camera_name>``.
            lon, lat: degrees. altitude: metres.
            camera_name: the camera (required by the server).
            calibration_flg: calibration-only observatory (always sent: the server refuses null).
            gain, readout_noise, binning, saturation_level, pixel_scale, readout_speed, pixel_size:
                camera settings (gain e-/ADU, readout noise e-, saturation ADU, pixel scale
                arcsec/px, pixel size µm).

        Raises:
            ValidationError: a refused value, or the name is taken.
            ServerError: the server's crash on valid input (see the hint).

        Example:
            >>> await bh.observatories.create("MyObs", lon=21.0, lat=52.2, camera_name="C1")  # doctest: +SKIP
        """
        if not name.strip() or not camera_name.strip():
            raise InvalidInputError("name and camera_name must not be empty", hint="e.g. name='ROAD'")
        body = body_of(
            name=name,
            lon=lon,
            lat=lat,
            camera_name=camera_name,
            calibration_flg=calibration_flg,
            altitude=altitude,
            approx_lim_mag=approx_lim_mag,
            filters=filters,
            comment=comment,
            authors=authors,
            acknowledgements=acknowledgements,
            example_file=example_file,
            gain=gain,
            readout_noise=readout_noise,
            binning=binning,
            saturation_level=saturation_level,
            pixel_scale=pixel_scale,
            readout_speed=readout_speed,
            pixel_size=pixel_size,
        )
        try:
            await self._call_raw("POST", "/observatory/createObservatory/", body=body, idempotent=False)
        except ServerError as exc:
            raise ServerError(
                exc.message,
                status=exc.status,
                method=exc.method,
                path=exc.path,
                hint="creating observatories through the API is broken on the BHTOM server (it "
                "crashes on valid requests); create it in the BHTOM web UI instead",
            ) from exc

    async def update(
        self,
        name: str,
        *,
        lon: float | None = None,
        lat: float | None = None,
        altitude: float | None = None,
        calibration_flg: bool | None = None,
        approx_lim_mag: float | None = None,
        filters: str | None = None,
        comment: str | None = None,
        authors: str | None = None,
        acknowledgements: str | None = None,
    ) -> None:
        """Change fields of your observatory `name` (`PATCH observatory/updateObservatory/`).

        The docs say POST; the server takes PATCH only. Camera settings cannot be changed here
        (the server refuses them). lon/lat in degrees, altitude in metres.

        Raises:
            InvalidInputError: nothing to change.
            ValidationError: a refused value.
            ServerError: no such observatory, or it is not yours (the server crashes on both).

        Example:
            >>> await bh.observatories.update("MyObs", approx_lim_mag=19.5)  # doctest: +SKIP
        """
        fields = body_of(
            lon=lon,
            lat=lat,
            altitude=altitude,
            calibration_flg=calibration_flg,
            approx_lim_mag=approx_lim_mag,
            filters=filters,
            comment=comment,
            authors=authors,
            acknowledgements=acknowledgements,
        )
        if not fields:
            raise InvalidInputError("nothing to update", hint="pass at least one field, e.g. comment='...'")
        try:
            await self._call_raw(
                "PATCH", "/observatory/updateObservatory/", body={"name": name, **fields}, idempotent=False
            )
        except ServerError as exc:
            raise ServerError(
                exc.message,
                status=exc.status,
                method=exc.method,
                path=exc.path,
                hint=f"the server crashes when no observatory is named {name!r} or it is not yours; "
                "check with bh.observatories.list(name=...)",
            ) from exc

    def favourites(
        self,
        *,
        user: int | None = None,
        active: bool | None = None,
        camera: str | None = None,
        created_start: dt.datetime | str | None = None,
        created_end: dt.datetime | str | None = None,
    ) -> Pager[FavouriteObservatory]:
        """Favourite cameras (`POST observatory/getFavouriteObservatory/`).

        The server returns **every user's** favourites unless `user` is given.

        Args:
            user: numeric user id (the docs say username; the server needs the id).
            active: only active (True) or inactive (False) entries.
            camera: exact camera name (not the ONAME).
            created_start, created_end: datetimes or ISO 8601 strings.

        Raises:
            InvalidInputError: `user` is not a number.

        Example:
            >>> mine = await bh.observatories.favourites(user=5).to_list()  # doctest: +SKIP
        """
        if user is not None and not (isinstance(user, int) and not isinstance(user, bool)):
            raise InvalidInputError(
                f"user={user!r} is not a numeric user id",
                hint="the server filters by user id; find ids with bh.users.list(username=...) (admin)",
            )
        body = body_of(
            user=user,
            active_flg=active,
            camera=camera,
            created_start=_iso(created_start),
            created_end=_iso(created_end),
        )
        return self._paginate(
            "POST",
            "/observatory/getFavouriteObservatory/",
            FavouriteObservatory,
            body=body,
            key=lambda f: (f.user, f.camera),
        )

    async def add_favourite(
        self,
        *,
        oname: str | None = None,
        observatory: str | None = None,
        camera: str | None = None,
        comment: str | None = None,
    ) -> FavouriteAdded:
        """Put a camera on your favourites list, by `oname` or by `observatory` and `camera`.

        `POST observatory/addFavouriteObservatory/`. A camera already on the list is a success
        (`FavouriteAdded.already_present`). `comment` is sent as documented but the server
        ignores it.

        Raises:
            InvalidInputError: neither `oname` nor both `observatory` and `camera`.
            NotFoundError: no such observatory or camera, or the camera is not active.

        Example:
            >>> result = await bh.observatories.add_favourite(oname="ROAD_QHY600M")  # doctest: +SKIP
            >>> result.already_present  # doctest: +SKIP
        """
        if not oname and not (observatory and camera):
            raise InvalidInputError(
                "give oname, or both observatory and camera",
                hint="e.g. add_favourite(oname='ROAD_QHY600M'); ONAMEs are in bh.observatories.list()",
            )
        body = body_of(oname=oname, observatory=observatory, camera=camera, comment=comment)
        try:
            await self._call_raw("POST", "/observatory/addFavouriteObservatory/", body=body, idempotent=False)
        except NotFoundError as exc:
            # The server refuses a duplicate with a 404; for the caller the camera is a favourite.
            if _ALREADY in exc.message:
                return FavouriteAdded(created=False, message=exc.message)
            raise
        return FavouriteAdded(created=True, message="added")

    async def remove_favourite(self, *, observatory: str, camera: str) -> None:
        """Remove a camera from **your own** favourites (admin only on the server).

        `DELETE observatory/deleteFavouriteObservatory/`. The server lets only admins call it,
        and then removes only the calling admin's own entry.

        Args:
            observatory: observatory name. camera: camera name (not the ONAME).

        Raises:
            PermissionDeniedError: the account is not an admin.
            ServerError: no such observatory, camera or favourite (the server crashes).

        Example:
            >>> await bh.observatories.remove_favourite(observatory="ROAD", camera="QHY")  # doctest: +SKIP
        """
        if not observatory or not camera:
            raise InvalidInputError("give both observatory and camera", hint="names, not the ONAME")
        path = "/observatory/deleteFavouriteObservatory/"
        try:
            await self._call_raw(
                "DELETE", path, body={"observatory": observatory, "camera": camera}, idempotent=False
            )
        except APIError as exc:
            if exc.status == 404 and "admin" in exc.message.lower():
                raise PermissionDeniedError(
                    "removing favourites through the API is for BHTOM admins only",
                    status=exc.status,
                    method=exc.method,
                    path=exc.path,
                    hint="remove it in the BHTOM web UI, or use an admin token",
                ) from exc
            if isinstance(exc, ServerError):
                raise ServerError(
                    exc.message,
                    status=exc.status,
                    method=exc.method,
                    path=exc.path,
                    hint=f"the server crashes when {observatory!r}/{camera!r} is not on your list; "
                    "check the names with bh.observatories.list(name=...)",
                ) from exc
            raise


def _iso(value: dt.datetime | dt.date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()
