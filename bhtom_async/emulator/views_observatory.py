"""``/observatory/...`` API views (docs/server-behaviour.md, "Observatories and favourites")."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .quirks import ServerError, drf_json, page_envelope, page_number
from .records import Camera, Favourite, Observatory
from .shapes import favourite_fields, observatory_item
from .viewkit import Handler, body, is_absent
from .wire import Ctx, FieldIdError, django_int, parse_bool_word, parse_iso

__all__ = ["ROUTES"]

PAGE = 200
_OBS_FIELDS = (
    "name",
    "lon",
    "lat",
    "calibration_flg",
    "comment",
    "altitude",
    "approx_lim_mag",
    "filters",
    "authors",
    "acknowledgements",
)
_UPDATABLE = (
    "name",
    "lon",
    "lat",
    "altitude",
    "calibration_flg",
    "comment",
    "approx_lim_mag",
    "origin",
    "telescope",
    "aperture",
    "focal_length",
    "seeing",
    "filters",
    "authors",
    "acknowledgements",
)
_FLOAT_FIELDS = {"lon", "lat", "altitude", "approx_lim_mag", "aperture", "focal_length", "seeing"}
_NOT_NULL = {"name", "lon", "lat", "calibration_flg"}
_CAMERA_FLOATS = ("gain", "readout_noise", "saturation_level", "pixel_scale", "readout_speed", "pixel_size")


def _created_range(data: dict[str, Any], rows: list[Any]) -> list[Any]:
    if not is_absent(data.get("created_start")):
        low = parse_iso(data["created_start"])
        rows = [r for r in rows if r.created >= low]
    if not is_absent(data.get("created_end")):
        high = parse_iso(data["created_end"])
        rows = [r for r in rows if r.created <= high]
    return rows


async def get_observatory_list(ctx: Ctx) -> Response:
    """POST /observatory/getObservatoryList/: ``data`` holds every row, not the page."""
    data = body(ctx)
    rows = sorted(ctx.state.observatories(), key=lambda o: (o.created, o.id))
    try:
        if data.get("name") is not None:
            rows = [o for o in rows if o.name == data["name"]]
        for key in ("lon", "lat"):
            if data.get(key) is not None:
                wanted = float(data[key])
                rows = [o for o in rows if getattr(o, key) == wanted]
        rows = _created_range(data, rows)
    except (TypeError, ValueError) as exc:
        raise ServerError(str(exc)) from exc
    items = [observatory_item(o, ctx.state) for o in rows]
    number = page_number(data.get("page", 1), max(1, -(-len(items) // PAGE)))
    return drf_json(page_envelope(items, number, PAGE, all_rows=True))


def _validate_obs(
    values: dict[str, Any], ctx: Ctx, instance: Observatory | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in values.items():
        if value is None:
            if key in _NOT_NULL:
                errors[key] = ["This field may not be null."]
            else:
                clean[key] = None
            continue
        if key in _FLOAT_FIELDS:
            try:
                clean[key] = float(value)
            except (TypeError, ValueError):
                errors[key] = ["A valid number is required."]
        elif key == "calibration_flg":
            try:
                clean[key] = parse_bool_word(value)
            except ValueError:
                errors[key] = ["Must be a valid boolean."]
        elif key == "name":
            text = str(value).strip()
            if not text:
                errors[key] = ["This field may not be blank."]
            elif any(
                o.name == text and (instance is None or o.id != instance.id)
                for o in ctx.state.observatories()
            ):
                errors[key] = ["observatory with this Observatory name already exists."]
            else:
                clean[key] = text
        else:
            clean[key] = str(value)
    return clean, errors


async def create_observatory(ctx: Ctx) -> Response:
    """POST /observatory/createObservatory/: 404 on bad input, 500 on good input."""
    data = body(ctx)
    if data.get("camera_name") is None:
        return drf_json("camera name can not be None", 404)
    _, errors = _validate_obs({key: data.get(key) for key in _OBS_FIELDS}, ctx, None)
    for key in _CAMERA_FLOATS:
        if data.get(key) is not None:
            try:
                float(data[key])
            except (TypeError, ValueError):
                errors[key] = ["A valid number is required."]
    if errors:
        return drf_json(errors, 404)
    # serializer.create(serializer.data) renders the cameras method field against a dict and
    # raises TypeError inside transaction.atomic: nothing is stored (capture 23).
    raise ServerError("TypeError in ObservatorySerializers.get_cameras")


async def update_observatory(ctx: Ctx) -> Response:
    """PATCH /observatory/updateObservatory/: owner only; 201 on success."""
    data = body(ctx)
    allow = "PATCH, OPTIONS"
    name = data.get("name")
    obs = ctx.state.observatory_by_name(str(name)) if name else None
    if obs is None:
        raise ServerError("Observatory.DoesNotExist")
    if obs.user_id != ctx.me.id:
        raise ServerError("AssertionError: call .is_valid() before accessing .errors")
    unknown = sorted(set(data) - set(_UPDATABLE))
    if unknown:
        return drf_json({"non_field_errors": [f"Unknown field(s): {', '.join(unknown)}"]}, 404, allow=allow)
    clean, errors = _validate_obs({k: v for k, v in data.items() if k != "name"}, ctx, obs)
    if errors:
        return drf_json(errors, 404, allow=allow)
    with ctx.state.lock:
        for key, value in clean.items():
            setattr(obs, key, value)
        obs.modified = ctx.now
        ctx.state.put("observatory", obs)
    return drf_json({"Status": "updated"}, 201, allow=allow)


def _oops(exc: Exception) -> Response:
    return drf_json(f"Oops, somthing went wrong: {exc}", 400)


async def get_favourites(ctx: Ctx) -> Response:
    """POST /observatory/getFavouriteObservatory/: every user's rows, all in ``data``."""
    data = body(ctx)
    rows = sorted(ctx.state.favourites(), key=lambda f: (f.created, f.id))
    try:
        if not is_absent(data.get("user")):
            wanted = django_int(data["user"])
            rows = [f for f in rows if f.user_id == wanted]
        if data.get("active_flg") is not None:
            try:
                flag = parse_bool_word(data["active_flg"])
            except ValueError as exc:
                raise ValueError(f"['“{data['active_flg']}” value must be either True or False.']") from exc
            rows = [f for f in rows if f.active_flg == flag]
        if not is_absent(data.get("camera")):
            ids = {c.id for c in ctx.state.cameras() if c.camera_name == data["camera"]}
            rows = [f for f in rows if f.camera_id in ids]
        rows = _created_range(data, rows)
    except (FieldIdError, TypeError, ValueError) as exc:
        return _oops(exc)
    items = [favourite_fields(f) for f in rows]
    number = page_number(data.get("page", 1), max(1, -(-len(items) // PAGE)))
    return drf_json(page_envelope(items, number, PAGE, all_rows=True))


def _find_camera(ctx: Ctx, data: dict[str, Any]) -> Camera | str:
    oname, obs_name, cam_name = data.get("oname"), data.get("observatory"), data.get("camera")
    if not is_absent(oname):
        camera = ctx.state.camera_by_prefix(str(oname))
        return camera or "Camera with this name does not exist for this observatory"
    if is_absent(obs_name) or is_absent(cam_name):
        return "Either (Observatory and Camera) or ONAME is required"
    obs = ctx.state.observatory_by_name(str(obs_name))
    if obs is None:
        return "Observatory with this name does not exist"
    camera = next(
        (c for c in ctx.state.cameras() if c.observatory_id == obs.id and c.camera_name == cam_name), None
    )
    return camera or "Camera with this name does not exist for this observatory"


async def add_favourite(ctx: Ctx) -> Response:
    """POST /observatory/addFavouriteObservatory/: errors are 404 bare strings."""
    data = body(ctx)
    found = _find_camera(ctx, data)
    if isinstance(found, str):
        return drf_json(found, 404)
    if not found.active_flg:
        return drf_json("Observatory is not active", 404)
    state, me = ctx.state, ctx.me
    with state.lock:
        if state.owner_favourite(me.id, found.id) is not None:
            return drf_json("This observatory already exists in yours favourite list", 404)
        if any(f.user_id == me.id and f.camera_id == found.id for f in state.favourites()):
            return drf_json(
                "Error in creating user observatory/camera: duplicate key value violates unique "
                'constraint "bhtom_observatory_observatorymatrix_user_id_camera_id_uniq"\n'
                f"DETAIL:  Key (user_id, camera_id)=({me.id}, {found.id}) already exists.\n",
                400,
            )
        state.put("favourite", Favourite(state.next_id("favourite"), me.id, found.id, ctx.now, ctx.now))
    return drf_json({"Status": "Created"}, 201)


async def delete_favourite(ctx: Ctx) -> Response:
    """DELETE /observatory/deleteFavouriteObservatory/: staff, own row only."""
    allow = "DELETE, OPTIONS"
    if not ctx.me.is_staff:
        return drf_json("Only admin have access", 404, allow=allow)
    data = body(ctx)
    state = ctx.state
    obs = state.observatory_by_name(str(data.get("observatory")))
    camera = next(
        (
            c
            for c in state.cameras()
            if obs is not None and c.observatory_id == obs.id and c.camera_name == data.get("camera")
        ),
        None,
    )
    row = (
        None
        if camera is None
        else next(
            (f for f in state.favourites() if f.user_id == ctx.me.id and f.camera_id == camera.id), None
        )
    )
    if row is None:
        raise ServerError("DoesNotExist")
    state.remove("favourite", row.id)
    return drf_json({"Status": "deleted"}, allow=allow)


ROUTES: dict[str, dict[str, Handler]] = {
    "/observatory/getObservatoryList/": {"POST": get_observatory_list},
    "/observatory/createObservatory/": {"POST": create_observatory},
    "/observatory/updateObservatory/": {"PATCH": update_observatory},
    "/observatory/getFavouriteObservatory/": {"POST": get_favourites},
    "/observatory/addFavouriteObservatory/": {"POST": add_favourite},
    "/observatory/deleteFavouriteObservatory/": {"DELETE": delete_favourite},
}
