"""Targets: list, create, update, delete, light curves, plots, groups, caches."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Iterable, Mapping
from typing import TypeVar
from urllib.parse import quote

import anyio

from .._paginate import Pager
from ..errors import (
    APIError,
    BhtomError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ResponseDecodeError,
    ServerError,
    TargetNotFoundError,
)
from ..models._converter import DecodeReport
from ..models.targets import DOWNLOAD_TYPES, LightCurve, Target, TargetDownload, TargetGroup, TargetPlot
from ._resource import Resource, body_of
from .lightcurves import LightCurveFormatError, filename_from_disposition, parse_light_curve

__all__ = ["TargetsAPI"]

T = TypeVar("T")

LIST = "/targets/getTargetList/"
ADMIN_HINT = "use the token of a BHTOM admin (superuser) account, or ask the BHTOM team"
_FORBIDDEN_NAME_CHARS = "()/\\:"
logger = logging.getLogger("bhtom_async")


class TargetsAPI(Resource):
    """Targets: list, create, update, delete, light curves, plots, groups, caches.

    Target names are exact and case-sensitive everywhere; aliases never match.
    """

    def list(
        self,
        *,
        name: str | None = None,
        type: str | None = None,
        ra_min: float | None = None,
        ra_max: float | None = None,
        dec_min: float | None = None,
        dec_max: float | None = None,
        importance_min: float | None = None,
        importance_max: float | None = None,
        last_mag_min: float | None = None,
        last_mag_max: float | None = None,
        sun_separation_min: float | None = None,
        sun_separation_max: float | None = None,
        galactic_lat_min: float | None = None,
        galactic_lat_max: float | None = None,
        galactic_lon_min: float | None = None,
        galactic_lon_max: float | None = None,
        priority: float | None = None,
        description: str | None = None,
        classification: str | None = None,
        target_group: str | None = None,
        cone_search_target: tuple[str, float] | str | None = None,
        cone_search: tuple[float, float, float] | str | None = None,
        has_optical: bool | None = None,
        has_infrared: bool | None = None,
        has_radio: bool | None = None,
        has_xray: bool | None = None,
        has_gamma: bool | None = None,
        has_polarimetry: bool | None = None,
    ) -> Pager[Target]:
        """Every target matching all the given filters (`POST targets/getTargetList/`).

        Args:
            name: exact target name (aliases do not match).
            type: ``"SIDEREAL"`` or ``"NON_SIDEREAL"``.
            ra_min, ra_max, dec_min, dec_max: coordinate range in degrees.
            importance_min, importance_max, priority: the target's importance / exact priority.
            last_mag_min, last_mag_max: range of the latest magnitude.
            sun_separation_min, sun_separation_max: Sun separation range in degrees.
            galactic_lat_min, galactic_lat_max, galactic_lon_min, galactic_lon_max: degrees.
            description, classification: exact match (see `TARGET_CLASSIFICATIONS`).
            target_group: exact group name.
            cone_search_target: ``(name, radius)``, radius in **degrees**; the server takes the
                first target whose name or alias contains `name`. ``"name,radius"`` also works.
            cone_search: ``(ra, dec, radius)``, all in **degrees**; ``"ra,dec,radius"`` also works.
            has_optical ... has_polarimetry: data-kind flags (the server reads them; the docs
                do not list them).

        The server silently ignores a malformed cone search and returns the unfiltered list, so
        cone arguments are checked here first.

        Raises:
            InvalidInputError: a malformed cone search.
            ValidationError: the server refused a filter value.

        Example:
            >>> async for target in bh.targets.list(cone_search=(276.1, -12.3, 0.5)):  # doctest: +SKIP
            ...     print(target.name, target.mag_last)
        """
        body = body_of(
            name=name,
            type=type,
            raMin=ra_min,
            raMax=ra_max,
            decMin=dec_min,
            decMax=dec_max,
            importanceMin=importance_min,
            importanceMax=importance_max,
            lastMagMin=last_mag_min,
            lastMagMax=last_mag_max,
            sunSeparationMin=sun_separation_min,
            sunSeparationMax=sun_separation_max,
            galacticLatMin=galactic_lat_min,
            galacticLatMax=galactic_lat_max,
            galacticLonMin=galactic_lon_min,
            galacticLonMax=galactic_lon_max,
            priority=priority,
            description=description,
            classification=classification,
            targetGroup=target_group,
            coneSearchTarget=_cone_target(cone_search_target),
            coneSearchRaDecRadius=_cone(cone_search),
            hasOptical=has_optical,
            hasInfrared=has_infrared,
            hasRadio=has_radio,
            hasXray=has_xray,
            hasGamma=has_gamma,
            hasPolarimetry=has_polarimetry,
        )
        # Items carry no id; the name is unique on the server.
        return self._paginate("POST", LIST, Target, body=body, key=lambda t: t.name)

    async def create(
        self,
        name: str,
        ra: float,
        dec: float,
        *,
        epoch: float | None = None,
        classification: str | None = None,
        discovery_date: dt.datetime | str | None = None,
        importance: float | None = None,
        cadence: float | None = None,
        description: str | None = None,
        has_optical: bool | None = None,
        has_infrared: bool | None = None,
        has_radio: bool | None = None,
        has_xray: bool | None = None,
        has_gamma: bool | None = None,
        has_polarimetry: bool | None = None,
        type: str | None = None,
    ) -> Target:
        """Create a sidereal target (`POST targets/createTarget/`) and return it as stored.

        Args:
            name: unique name; may not contain ``( ) / \\ :`` or look like a URL.
            ra, dec: coordinates in degrees (0..360, -90..90).
            epoch: e.g. 2000.0 (the server's default).
            classification: one of `TARGET_CLASSIFICATIONS` (server default ``"Unknown"``).
            discovery_date: a datetime or ISO 8601 string.
            importance, cadence: server defaults 9.98 and 1.0 (cadence in days).
            type: accepted for compatibility with the docs, never sent: the server refuses the
                field and makes every target ``SIDEREAL``.

        Raises:
            InvalidInputError: coordinates out of range, a forbidden name, or a non-sidereal type.
            ValidationError: the name is taken, another target lies within 3 arcsec, or a value
                was refused.

        Example:
            >>> await bh.targets.create("Gaia26abc", 123.45, -45.67, classification="Nova")  # doctest: +SKIP
        """
        _check_name(name, new=True)
        _check_coordinates(ra, dec)
        if type is not None and type.upper() != "SIDEREAL":
            raise InvalidInputError(
                f"type={type!r} is not supported",
                hint="the server creates sidereal targets only; leave `type` out",
            )
        body = body_of(
            name=name,
            ra=ra,
            dec=dec,
            epoch=epoch,
            classification=classification,
            discovery_date=_iso(discovery_date),
            importance=importance,
            cadence=cadence,
            description=description,
            **_flags(has_optical, has_infrared, has_radio, has_xray, has_gamma, has_polarimetry),
        )
        return await self._call("POST", "/targets/createTarget/", Target, body=body, idempotent=False)

    async def update(
        self,
        name: str,
        *,
        new_name: str | None = None,
        ra: float | None = None,
        dec: float | None = None,
        epoch: float | str | None = None,
        classification: str | None = None,
        discovery_date: dt.datetime | str | None = None,
        importance: float | None = None,
        cadence: float | None = None,
        description: str | None = None,
        has_optical: bool | None = None,
        has_infrared: bool | None = None,
        has_radio: bool | None = None,
        has_xray: bool | None = None,
        has_gamma: bool | None = None,
        has_polarimetry: bool | None = None,
    ) -> None:
        """Change fields of the target `name` (`PATCH targets/updateTarget/<name>/`).

        Only the arguments given are sent. `new_name` renames the target. `epoch` must be a
        number; the docs' ``"J2023"`` form is read as 2023.0 (the server refuses the string).
        Coordinates are in degrees.

        Names are sent in the URL: ``.`` and ``..`` are escaped so they reach their targets. A
        name containing ``/`` cannot be routed by the server at all, so it is refused here.

        Raises:
            InvalidInputError: nothing to change, an unreadable epoch, out-of-range coordinates,
                or a name containing ``/``.
            TargetNotFoundError: no target has this exact name (the server answers with a 500
                page; the client checks the name before saying so, and suggests a name that
                differs only in case).
            ValidationError: the server refused a value.

        Example:
            >>> await bh.targets.update("Gaia26abc", importance=8, classification="SN")  # doctest: +SKIP
        """
        _check_name(name)
        if "/" in name:
            raise InvalidInputError(
                f"the server cannot address target {name!r} by name: its update route takes the name "
                "in the URL, where '/' always separates path segments",
                hint="change this target on the BHTOM web site, or ask the BHTOM team to rename it; "
                "calls that send the name in the body (list, photometry, delete) still work",
            )
        if new_name is not None:
            _check_name(new_name, new=True)
        if ra is not None or dec is not None:
            _check_coordinates(ra, dec)
        body = body_of(
            name=new_name,
            ra=ra,
            dec=dec,
            epoch=_epoch(epoch),
            classification=classification,
            discovery_date=_iso(discovery_date),
            importance=importance,
            cadence=cadence,
            description=description,
            **_flags(has_optical, has_infrared, has_radio, has_xray, has_gamma, has_polarimetry),
        )
        if not body:
            raise InvalidInputError("nothing to update", hint="pass at least one field, e.g. importance=5")
        path = f"/targets/updateTarget/{quote(name, safe='')}/"
        try:
            await self._call_raw("PATCH", path, body=body, idempotent=False)
        except ServerError as exc:
            await self._raise_if_missing(name, exc)
            raise

    async def delete(self, name: str) -> None:
        """Delete the target `name` and everything attached to it (`DELETE targets/deleteTarget/`).

        The server lets any user delete any target; there is no undo.

        Raises:
            TargetNotFoundError: no target has this exact name (checked after the server's 500).

        Example:
            >>> await bh.targets.delete("Gaia26abc")  # doctest: +SKIP
        """
        _check_name(name)
        try:
            await self._call_raw("DELETE", "/targets/deleteTarget/", body={"name": name}, idempotent=False)
        except ServerError as exc:
            await self._raise_if_missing(name, exc)
            raise

    async def photometry(self, name: str) -> LightCurve:
        """The target's optical light curve in magnitudes (`POST targets/download-photometry/`).

        Points come from every source (surveys and all users), sorted by MJD; a negative error
        marks an upper limit (`LightCurvePoint.is_limit`). `LightCurve.save(path)` writes the
        original CSV.

        Raises:
            TargetNotFoundError: no target has this exact name.
            ResponseDecodeError: the answer is not the light-curve CSV.

        Example:
            >>> curve = await bh.targets.photometry("Gaia22bpl")  # doctest: +SKIP
            >>> [(p.mjd, p.value) for p in curve.detections]  # doctest: +SKIP
        """
        return await self._light_curve(name, "photometry", "/targets/download-photometry/")

    async def radio(self, name: str) -> LightCurve:
        """The target's radio light curve in mJy (`POST targets/download-radio/`).

        Raises:
            TargetNotFoundError: no target has this exact name.
            ResponseDecodeError: the answer is not the light-curve CSV.

        Example:
            >>> curve = await bh.targets.radio("Gaia22bpl")  # doctest: +SKIP
        """
        return await self._light_curve(name, "radio", "/targets/download-radio/")

    async def plots(self, names: str | Iterable[str]) -> tuple[TargetPlot, ...]:
        """Plotly light-curve figures of the named targets (`POST targets/get-plots/`).

        A single name may be passed as a string (the server would read a bare string letter by
        letter, so the client wraps it). A target without a plot has ``figure=None``.

        Raises:
            InvalidInputError: no names.
            TargetNotFoundError / NotFoundError: a name does not exist (the server fails the
                whole request and does not say which).

        Example:
            >>> (plot,) = await bh.targets.plots("Gaia22bpl")  # doctest: +SKIP
        """
        wanted = [names] if isinstance(names, str) else list(names)
        if not wanted:
            raise InvalidInputError("no target names given", hint="pass one name or a list of names")
        path = "/targets/get-plots/"
        try:
            response = await self._call_raw("POST", path, body={"targetNames": wanted})
        except APIError as exc:
            if exc.status == 400 and "does not exist" in exc.message:
                if len(wanted) == 1:
                    raise TargetNotFoundError(wanted[0], method="POST", path=path, status=400) from exc
                raise NotFoundError(
                    "one of the targets does not exist",
                    status=400,
                    method="POST",
                    path=path,
                    hint="names are exact; check each with bh.targets.list(name=...)",
                ) from exc
            raise
        payload = response.json()
        plots = payload.get("Plots") if isinstance(payload, dict) else None
        if not isinstance(plots, dict):
            raise ResponseDecodeError(
                "expected {'Plots': {...}}", method="POST", path=path, status=200, snippet=repr(payload)[:80]
            )
        order = [*wanted, *(k for k in plots if k not in wanted)]
        return tuple(TargetPlot(name=n, figure=_figure(plots[n])) for n in order if n in plots)

    async def clean_list_cache(self) -> None:
        """Clear the server's target-list cache (admin only; `POST targets/cleanTargetListCache/`).

        Raises:
            PermissionDeniedError: the account is not a superuser (the server answers 500
                ``"ERROR"``, which it also sends on a real failure).

        Example:
            >>> await bh.targets.clean_list_cache()  # doctest: +SKIP
        """
        await self._clean_cache("/targets/cleanTargetListCache/")

    async def clean_details_cache(self) -> None:
        """Clear the server's target-detail cache (admin only; `POST targets/cleanTargetDetailCache/`).

        The docs name the path ``cleanTargetDetailsCache``; the server's route has no "s".

        Raises:
            PermissionDeniedError: the account is not a superuser.

        Example:
            >>> await bh.targets.clean_details_cache()  # doctest: +SKIP
        """
        await self._clean_cache("/targets/cleanTargetDetailCache/")

    def downloads(
        self,
        *,
        target: str | None = None,
        user: str | None = None,
        created_from: dt.datetime | str | None = None,
        created_to: dt.datetime | str | None = None,
        download_type: str | None = None,
    ) -> Pager[TargetDownload]:
        """The log of light-curve downloads, newest first (admin only).

        `POST targets/get-downloaded-target-list/` (the docs' curl uses
        ``getDownloadedTargetList/``, which does not exist on the server).

        Args:
            target, user: substring of the target name / username (case-insensitive).
            created_from, created_to: datetimes or ISO 8601 strings.
            download_type: ``"P"`` photometry, ``"R"`` radio or ``"H"`` high energy.

        Raises:
            InvalidInputError: an unknown `download_type`.
            PermissionDeniedError: the account is not a superuser.

        Example:
            >>> async for row in bh.targets.downloads(target="Gaia22bpl"):  # doctest: +SKIP
            ...     print(row.created, row.user, row.download_type)
        """
        if download_type is not None and download_type not in DOWNLOAD_TYPES:
            raise InvalidInputError(
                f"download_type={download_type!r} is not one of {sorted(DOWNLOAD_TYPES)}",
                hint="use 'P' (photometry), 'R' (radio) or 'H' (high energy)",
            )
        body = body_of(
            target=target,
            user=user,
            created_from=_iso(created_from),
            created_to=_iso(created_to),
            download_type=download_type,
        )
        return self._paginate(
            "POST",
            "/targets/get-downloaded-target-list/",
            TargetDownload,
            body=body,
            translate=_admin_only_404,
            key=lambda row: row.id,
        )

    def groups(self) -> Pager[TargetGroup]:
        """Every target group, newest first (`POST targets/target-groups/`; all users' groups).

        Example:
            >>> names = [g.name async for g in bh.targets.groups()]  # doctest: +SKIP
        """
        return self._paginate("POST", "/targets/target-groups/", TargetGroup, key=lambda g: g.id)

    def in_group(self, *, id: int | None = None, name: str | None = None) -> Pager[Target]:
        """The targets of one group, chosen by `id` or by `name` (exactly one).

        `POST targets/targets-from-group/`. The targets carry the basic fields only (no
        aliases, groups or last magnitude).

        Raises:
            InvalidInputError: neither or both of `id` and `name`.
            NotFoundError: no such group.

        Example:
            >>> members = await bh.targets.in_group(name="Microlensing").to_list()  # doctest: +SKIP
        """
        if (id is None) == (name is None):
            raise InvalidInputError(
                "give exactly one of id and name",
                hint="e.g. bh.targets.in_group(name='Microlensing'); list groups with bh.targets.groups()",
            )
        body = body_of(id=id, name=name)
        return self._paginate("POST", "/targets/targets-from-group/", Target, body=body, key=lambda t: t.name)

    async def _light_curve(self, name: str, kind: str, path: str) -> LightCurve:
        _check_name(name)
        try:
            response = await self._call_raw("POST", path, body={"name": name})
        except ServerError as exc:
            await self._raise_if_missing(name, exc)
            raise
        filename = filename_from_disposition(response.headers.get("content-disposition"))
        report = DecodeReport()
        try:
            curve = parse_light_curve(response.text, target=name, kind=kind, filename=filename, report=report)
        except LightCurveFormatError as exc:
            raise ResponseDecodeError(
                str(exc), method="POST", path=path, status=response.status, snippet=response.text[:80]
            ) from None
        message = report.message(f"POST {path}")
        if message is not None:
            logger.warning("%s", message)
        return curve

    async def _clean_cache(self, path: str) -> None:
        try:
            await self._call_raw("POST", path, idempotent=False)
        except ServerError as exc:
            if exc.message.strip().upper() == "ERROR":
                raise PermissionDeniedError(
                    "cleaning the cache is for BHTOM superusers only (the server answered 'ERROR', "
                    "its reply both to non-superusers and to a real failure)",
                    status=exc.status,
                    method=exc.method,
                    path=exc.path,
                    hint=ADMIN_HINT,
                ) from exc
            raise

    async def _raise_if_missing(self, name: str, error: ServerError) -> None:
        """After a 500 on a call naming a target: raise TargetNotFoundError if it does not exist."""
        if error.status != 500:
            return
        try:
            page = await self.list(name=name).first_page()
        except BhtomError:
            return  # cannot tell; the original error is the honest answer
        if any(target.name == name or target.name is None for target in page.items):
            return  # it exists (or a row's name is unreadable: cannot tell), so the 500 stands
        suggestion = await self._same_but_case(name)
        raise TargetNotFoundError(
            name, method=error.method, path=error.path, status=error.status, suggestion=suggestion
        ) from error

    async def near_miss(self, name: str) -> str | None:
        """An existing target whose name differs from `name` only in case, or None.

        Names are exact on the server, so ``gaia22BPL`` finds nothing; this asks for the usual
        spellings (see `_same_but_case`) and returns the first that exists.

        Example:
            >>> await bh.targets.near_miss("gaia22BPL")   # doctest: +SKIP
            'Gaia22bpl'
        """
        return await self._same_but_case(name)

    async def _same_but_case(self, name: str) -> str | None:
        """An existing target whose name differs from `name` only in case, if a likely one exists.

        The server's name filter is exact, so the usual spellings are asked for (``Gaia22bpl``,
        ``ZTF21abc``, all upper, all lower, title case), concurrently; the first that exists wins.
        """
        lead = len(name) - len(name.lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        spellings = [name.capitalize(), name[:lead].upper() + name[lead:], name.upper(), name.lower()]
        candidates = list(dict.fromkeys(s for s in [*spellings, name.title()] if s != name))
        found: dict[str, bool] = {}

        async def exists(candidate: str) -> None:
            try:
                page = await self.list(name=candidate).first_page()
            except BhtomError:
                return
            found[candidate] = any(t.name == candidate for t in page.items)

        async with anyio.create_task_group() as group:
            for candidate in candidates:
                group.start_soon(exists, candidate)
        return next((c for c in candidates if found.get(c)), None)


def _admin_only_404(error: APIError) -> BhtomError | None:
    if error.status == 404 and "admin" in error.message.lower():
        return PermissionDeniedError(
            "this list is for BHTOM superusers only",
            status=error.status,
            method=error.method,
            path=error.path,
            hint=ADMIN_HINT,
        )
    return None


def _check_name(name: str, *, new: bool = False) -> None:
    if not name or not name.strip():
        raise InvalidInputError("the target name is empty", hint="names are exact, e.g. 'Gaia22bpl'")
    if not new:
        return  # targets named before the server's character rule must stay reachable
    bad = sorted({c for c in name if c in _FORBIDDEN_NAME_CHARS})
    if bad:
        raise InvalidInputError(
            f"target name {name!r} contains {' '.join(bad)}",
            hint="BHTOM target names cannot contain ( ) / \\ :",
        )


def _check_coordinates(ra: float | None, dec: float | None) -> None:
    if ra is not None and not (math.isfinite(ra) and 0 <= ra <= 360):
        raise InvalidInputError(f"ra={ra!r} is outside 0..360", hint="ra and dec are decimal degrees")
    if dec is not None and not (math.isfinite(dec) and -90 <= dec <= 90):
        raise InvalidInputError(f"dec={dec!r} is outside -90..90", hint="ra and dec are decimal degrees")


def _flags(*values: bool | None) -> dict[str, object]:
    names = ("has_optical", "has_infrared", "has_radio", "has_xray", "has_gamma", "has_polarimetry")
    return {key: value for key, value in zip(names, values, strict=True) if value is not None}


def _iso(value: dt.datetime | dt.date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _epoch(value: float | str | None) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    text = value.strip()
    try:
        return float(text[1:] if text[:1] in ("J", "j") else text)
    except ValueError:
        raise InvalidInputError(
            f"epoch={value!r} is not a number", hint="the server takes a float, e.g. epoch=2000.0"
        ) from None


def _numbers(text: str, count: int, what: str) -> list[float]:
    parts = [part.strip() for part in text.split(",")]
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise InvalidInputError(f"cone search {text!r} is not {what}", hint="all values are in degrees")
    return values


def _cone(value: tuple[float, float, float] | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        ra, dec, radius = _numbers(value, 3, "'ra,dec,radius'")
    else:
        ra, dec, radius = _numbers(",".join(str(v) for v in value), 3, "(ra, dec, radius)")
    _check_coordinates(ra, dec)
    if radius <= 0:
        raise InvalidInputError(f"cone radius {radius} must be positive", hint="the radius is in degrees")
    return f"{ra!r},{dec!r},{radius!r}"


def _cone_target(value: tuple[str, float] | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        name, _, radius_text = value.rpartition(",")
    else:
        name, radius_text = value[0], str(value[1])
    (radius,) = _numbers(radius_text, 1, "'name,radius'")
    if not name.strip() or radius <= 0:
        raise InvalidInputError(
            f"cone search {value!r} needs a name and a positive radius", hint="the radius is in degrees"
        )
    return f"{name.strip()},{radius!r}"


def _figure(value: object) -> Mapping[str, object] | None:
    if isinstance(value, str):
        if value.strip() in ("", "None", "null"):
            return None
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None
