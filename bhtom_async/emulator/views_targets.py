"""``/targets/...`` API views (docs/server-behaviour.md, "Targets" and "Downloads")."""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Any

from starlette.responses import Response

from .quirks import ServerError, drf_json, page_envelope, page_number
from .records import Comment, DataProduct, Download, Group, Target
from .seed import target_created_comment
from .shapes import download_item, group_item, group_pairs, target_fields, target_summary
from .target_rules import separation, validate_target, within_3_arcsec
from .viewkit import Handler, body, csv_attachment, is_absent
from .wire import Ctx, FieldIdError, django_int, parse_bool_word, parse_iso

__all__ = ["ROUTES"]

PAGE = 200
_RANGES = {
    "ra": ("raMin", "raMax"),
    "dec": ("decMin", "decMax"),
    "importance": ("importanceMin", "importanceMax"),
    "mag_last": ("lastMagMin", "lastMagMax"),
    "sun_separation": ("sunSeparationMin", "sunSeparationMax"),
    "galactic_lat": ("galacticLatMin", "galacticLatMax"),
    "galactic_lng": ("galacticLonMin", "galacticLonMax"),
}
_BOOL_FILTERS = {
    "hasOptical": "has_optical",
    "hasInfrared": "has_infrared",
    "hasRadio": "has_radio",
    "hasXray": "has_xray",
    "hasGamma": "has_gamma",
    "hasPolarimetry": "has_polarimetry",
}


def _to_float(value: Any) -> float:
    if isinstance(value, (list, dict)):
        raise ServerError("float() of a non-scalar")  # TypeError outside the try: 500
    return float(value)


def _cone_center(data: dict[str, Any], targets: list[Target]) -> tuple[float, float, float] | None:
    """Cone from ``coneSearchRaDecRadius`` / ``coneSearchTarget``; malformed -> None."""
    raw = data.get("coneSearchRaDecRadius")
    if raw:
        try:
            ra, dec, radius = (float(part) for part in str(raw).split(","))
            return ra, dec, radius
        except ValueError:
            pass
    raw = data.get("coneSearchTarget")
    if raw:
        try:
            name, radius_text = str(raw).rsplit(",", 1)
            radius = float(radius_text)
        except ValueError:
            return None
        name = name.strip()
        for target in targets:
            if name in target.name or any(name in alias for _, alias in target.aliases):
                return target.ra, target.dec, radius
    return None


def _filter_targets(ctx: Ctx, data: dict[str, Any]) -> list[Target]:
    # By (created, id): targets() is in id order and the sort is stable.
    targets = sorted(ctx.state.targets(), key=attrgetter("created"))
    picked = targets
    for key, attr in (
        ("name", "name"),
        ("type", "type"),
        ("description", "description"),
        ("classification", "classification"),
    ):
        if data.get(key) is not None:
            picked = [t for t in picked if getattr(t, attr) == data[key]]
    for attr, (low_key, high_key) in _RANGES.items():
        for key, is_low in ((low_key, True), (high_key, False)):
            if data.get(key) is None:
                continue
            bound = _to_float(data[key])
            picked = [
                t
                for t in picked
                if getattr(t, attr) is not None
                and (getattr(t, attr) >= bound if is_low else getattr(t, attr) <= bound)
            ]
    if data.get("priority") is not None:
        wanted = _to_float(data["priority"])
        picked = [t for t in picked if t.priority == wanted]
    for key, attr in _BOOL_FILTERS.items():
        if data.get(key) is not None:
            flag = parse_bool_word(data[key])
            picked = [t for t in picked if getattr(t, attr) == flag]
    if data.get("targetGroup") is not None:
        members = {i for g in ctx.state.groups() if g.name == data["targetGroup"] for i in g.target_ids}
        picked = [t for t in picked if t.id in members]
    cone = _cone_center(data, targets)
    if cone is not None:
        ra, dec, radius = cone
        picked = [t for t in picked if separation(ra, dec, t.ra, t.dec) <= radius]
    return picked


async def get_target_list(ctx: Ctx) -> Response:
    """POST /targets/getTargetList/."""
    data = body(ctx)
    try:
        picked = _filter_targets(ctx, data)
    except ValueError as exc:
        return drf_json(f"Wrong format: {exc}", 400)
    number = page_number(data.get("page", 1), max(1, -(-len(picked) // PAGE)))
    envelope = page_envelope(picked, number, PAGE)
    # Only the page being served is serialised: a 50-page list costs one page per request.
    groups = group_pairs(ctx.state.groups())
    envelope["data"] = [target_fields(t, groups) for t in envelope["data"]]
    return drf_json(envelope)


async def create_target(ctx: Ctx) -> Response:
    """POST /targets/createTarget/: 404 on validation, 500 when ra/dec are missing."""
    data = body(ctx)
    state = ctx.state
    validated, errors = validate_target(data, state.targets(), None)
    if errors:
        return drf_json(errors, 404)
    if "ra" not in validated or "dec" not in validated:
        raise ServerError("KeyError: 'ra'")
    if validated["ra"] is None or validated["dec"] is None:
        raise ServerError("coords_to_degrees(None)")
    if within_3_arcsec(validated["ra"], validated["dec"], state.targets()):
        return drf_json(["Source found already at these coordinates (rad 3 arcsec)"], 400)
    with state.lock:
        target = Target(state.next_id("target"), created=ctx.now, modified=ctx.now, **validated)
        state.put("target", target)
        me = ctx.me
        text = target_created_comment(me.full_name, me.username, target.created)
        state.put(
            "comment", Comment(state.next_id("comment"), me.id, me.username, text, ctx.now + 0.001, target.id)
        )
    return drf_json(target_summary(target), 201)


async def update_target(ctx: Ctx) -> Response:
    """PATCH /targets/updateTarget/<name>/: any target, 201 on success."""
    data = body(ctx)
    state = ctx.state
    target = state.target_by_name(ctx.params["name"])
    if target is None:
        raise ServerError("Target.DoesNotExist")
    validated, errors = validate_target(data, state.targets(), target)
    if errors:
        return drf_json(errors, 404, allow="PATCH, OPTIONS")
    with state.lock:
        for key, value in validated.items():
            setattr(target, key, value)
        target.modified = ctx.now
        state.put("target", target)
    return drf_json({"Status": "updated"}, 201, allow="PATCH, OPTIONS")


def delete_target_cascade(ctx: Ctx, target: Target) -> None:
    """Remove a target and what hangs on it (comments stay: a generic FK)."""
    state = ctx.state
    with state.lock:
        for product in state.dataproducts():
            if product.target_id == target.id:
                remove_product(ctx, product)
        for datum in state.datums():
            if datum.target_id == target.id:
                state.remove("datum", datum.id)
        for row in state.downloads():
            if row.target_id == target.id:
                state.remove("download", row.id)
        for group in state.groups():
            if target.id in group.target_ids:
                group.target_ids.remove(target.id)
                state.put("group", group)
        state.remove("target", target.id)


def remove_product(ctx: Ctx, product: DataProduct) -> None:
    """Delete a data product with its calibration row and reduced datums."""
    state = ctx.state
    with state.lock:
        cal = state.calibration_of(product.id)
        if cal is not None:
            state.remove("calibration", cal.id)
        for datum in state.datums():
            if datum.data_product_id == product.id:
                state.remove("datum", datum.id)
        state.remove("dataproduct", product.id)


async def delete_target(ctx: Ctx) -> Response:
    """DELETE /targets/deleteTarget/: anyone, any target; unknown name is a 500."""
    data = body(ctx)
    name = data.get("name")
    target = ctx.state.target_by_name(str(name)) if name else None
    if target is None:
        raise ServerError("Target.DoesNotExist")
    delete_target_cascade(ctx, target)
    return drf_json({"status": "deleted"}, allow="DELETE, OPTIONS")


def _plot(ctx: Ctx, target: Target) -> dict[str, Any] | str:
    points = [
        d for d in ctx.state.datums() if d.target_id == target.id and d.value_unit == "MAG" and d.active_flg
    ]
    if not points:
        return "None"
    traces = []
    for band in sorted({d.filter for d in points}):
        rows = sorted((d for d in points if d.filter == band), key=lambda d: d.mjd)
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": band,
                "x": [d.mjd for d in rows],
                "y": [d.value for d in rows],
                "error_y": {"type": "data", "array": [max(d.error or 0.0, 0.0) for d in rows]},
            }
        )
    layout = {
        "title": {"text": target.name},
        "xaxis": {"title": {"text": "MJD"}},
        "yaxis": {"title": {"text": "Magnitude"}, "autorange": "reversed"},
    }
    return {"data": traces, "layout": layout}


async def get_plots(ctx: Ctx) -> Response:
    """POST /targets/get-plots/: all-or-nothing, ``"Error "`` keys with a space."""
    data = body(ctx)
    if "targetNames" not in data:
        raise ServerError("KeyError: 'targetNames'")
    plots: dict[str, Any] = {}
    try:
        for name in data["targetNames"]:
            target = ctx.state.target_by_name(name) if isinstance(name, str) else None
            if target is None:
                return drf_json({"Error ": "Target does not exist in the database "}, 400)
            plots[name] = _plot(ctx, target)
    except TypeError as exc:
        return drf_json({"Error ": f"Something went wrong {exc}"}, 400)
    return drf_json({"Plots": plots})


def _clean_cache(ctx: Ctx) -> Response:
    if not ctx.me.is_superuser:
        return drf_json("ERROR", 500)
    return drf_json("OK")


async def clean_target_list_cache(ctx: Ctx) -> Response:
    """POST /targets/cleanTargetListCache/: non-superuser gets 500 "ERROR"."""
    return _clean_cache(ctx)


async def clean_target_detail_cache(ctx: Ctx) -> Response:
    """POST /targets/cleanTargetDetailCache/."""
    return _clean_cache(ctx)


_DOWNLOADS = {
    "P": (
        ("MJD", "Magnitude", "Error", "Facility", "Filter", "Observer"),
        ("MAG",),
        "photometry",
        "Something went wrong",
    ),
    "R": (
        ("MJD", "mJy", "Error", "Facility", "Filter", "Observer"),
        ("MILLIJANSKY",),
        "radio",
        "Something went wrong",
    ),
    "H": (
        ("MJD", "COUNTS", "COUNTS_Error", "FLUX", "FLUX_Error", "Facility", "Band", "Observer"),
        ("COUNTS", "FLUX"),
        "highenergy",
        "Something went wrong, bad request in API ",
    ),
}


def _download(ctx: Ctx, kind: str) -> Response:
    data = body(ctx)
    header, units, suffix, bad_request = _DOWNLOADS[kind]
    name = data.get("name")
    if name is None or isinstance(name, (list, dict, bool)) or str(name).strip() == "":
        return drf_json({"Error": bad_request}, 400)
    target = ctx.state.target_by_name(str(name).strip())
    if target is None:
        raise ServerError("Target.DoesNotExist")  # get() outside the try: HTML 500
    state = ctx.state
    with state.lock:
        state.put(
            "download",
            Download(state.next_id("download"), ctx.me.id, target.id, ctx.now, kind, ctx.client_ip),
        )
    points = sorted(
        (d for d in state.datums() if d.target_id == target.id and d.active_flg and d.value_unit in units),
        key=lambda d: (math.isnan(d.mjd), d.mjd),  # pandas sorts NaN last
    )
    rows: list[list[Any]]
    if kind == "H":
        rows = []
        for d in points:
            counts = (d.value, d.error) if d.value_unit == "COUNTS" else (None, None)
            flux = (d.value, d.error) if d.value_unit == "FLUX" else (None, None)
            rows.append([d.mjd, *counts, *flux, d.facility, d.filter, d.observer])
    else:
        rows = [
            [
                float(d.mjd),
                float(d.value),
                None if d.error is None else float(d.error),
                d.facility,
                d.filter,
                d.observer,
            ]
            for d in points
        ]
    return csv_attachment(header, rows, f"target_{target.name}_{suffix}.csv")


async def download_photometry(ctx: Ctx) -> Response:
    """POST /targets/download-photometry/."""
    return _download(ctx, "P")


async def download_radio(ctx: Ctx) -> Response:
    """POST /targets/download-radio/."""
    return _download(ctx, "R")


async def download_high_energy(ctx: Ctx) -> Response:
    """POST /targets/download-high-energy/ (not in the API documentation)."""
    return _download(ctx, "H")


def _icontains(haystack: str | None, needle: Any) -> bool:
    return haystack is not None and str(needle).lower() in haystack.lower()


async def downloaded_target_list(ctx: Ctx) -> Response:
    """POST /targets/get-downloaded-target-list/: superuser only, else 404 string."""
    if not ctx.me.is_superuser:
        return drf_json("You have no permissions, Admin Only", 404)
    data = body(ctx)
    state = ctx.state
    rows = sorted(state.downloads(), key=lambda r: (-r.created, -r.id))
    try:
        low = None if is_absent(data.get("created_from")) else parse_iso(data["created_from"])
        high = None if is_absent(data.get("created_to")) else parse_iso(data["created_to"])
    except (TypeError, ValueError) as exc:
        raise ServerError(str(exc)) from exc
    rows = [r for r in rows if (low is None or r.created >= low) and (high is None or r.created <= high)]
    items = [download_item(r, state) for r in rows]
    if not is_absent(data.get("target")):
        items = [i for i in items if _icontains(i["target_name"], data["target"])]
    if not is_absent(data.get("user")):
        items = [i for i in items if _icontains(i["user"], data["user"])]
    if not is_absent(data.get("download_type")):
        items = [i for i in items if i["download_type"] == data["download_type"]]
    number = page_number(data.get("page", 1), max(1, -(-len(items) // PAGE)))
    return drf_json(page_envelope(items, number, PAGE))


async def target_groups(ctx: Ctx) -> Response:
    """POST /targets/target-groups/: every user's groups, newest first."""
    data = body(ctx)
    groups = sorted(ctx.state.groups(), key=lambda g: (-g.created, -g.id))
    items = [group_item(g) for g in groups]
    number = page_number(data.get("page", 1), max(1, -(-len(items) // PAGE)))
    return drf_json(page_envelope(items, number, PAGE))


async def targets_from_group(ctx: Ctx) -> Response:
    """POST /targets/targets-from-group/: envelope plus a ``group`` echo."""
    data = body(ctx)
    ident, name = data.get("id"), data.get("name")
    if is_absent(ident) and is_absent(name):
        return drf_json({"detail": "Please provide either 'id' or 'name' of the target group."}, 400)
    if not is_absent(ident) and not is_absent(name):
        return drf_json(
            {"detail": "Please provide only one parameter: either 'id' or 'name', not both."}, 400
        )
    groups = ctx.state.groups()
    try:
        if not is_absent(ident):
            wanted = django_int(ident)
            matches: list[Group] = [g for g in groups if g.id == wanted]
        else:
            matches = [g for g in groups if g.name == name]
            if len(matches) > 1:
                raise ValueError(f"get() returned more than one TargetList -- it returned {len(matches)}!")
    except (FieldIdError, ValueError) as exc:
        return drf_json({"detail": f"Oops, something went wrong: {exc}"}, 400)
    if not matches:
        return drf_json({"detail": "Target group not found."}, 404)
    members = [t for i in matches[0].target_ids if (t := ctx.state.get("target", i)) is not None]
    items = [target_summary(t) for t in members]
    number = page_number(data.get("page", 1), max(1, -(-len(items) // PAGE)))
    envelope = page_envelope(items, number, PAGE)
    envelope = {
        "count": envelope["count"],
        "num_pages": envelope["num_pages"],
        "current_page": envelope["current_page"],
        "group": ident if not is_absent(ident) else name,
        "data": envelope["data"],
    }
    return drf_json(envelope)


ROUTES: dict[str, dict[str, Handler]] = {
    "/targets/getTargetList/": {"POST": get_target_list},
    "/targets/createTarget/": {"POST": create_target},
    "/targets/deleteTarget/": {"DELETE": delete_target},
    "/targets/get-plots/": {"POST": get_plots},
    "/targets/cleanTargetListCache/": {"POST": clean_target_list_cache},
    "/targets/cleanTargetDetailCache/": {"POST": clean_target_detail_cache},
    "/targets/get-downloaded-target-list/": {"POST": downloaded_target_list},
    "/targets/download-photometry/": {"POST": download_photometry},
    "/targets/download-radio/": {"POST": download_radio},
    "/targets/download-high-energy/": {"POST": download_high_energy},
    "/targets/target-groups/": {"POST": target_groups},
    "/targets/targets-from-group/": {"POST": targets_from_group},
}
#: Routes with a path parameter: (regex, methods).
PATTERN_ROUTES: list[tuple[str, dict[str, Handler]]] = [
    (r"/targets/updateTarget/(?P<name>[^/]+)/", {"PATCH": update_target}),
]
