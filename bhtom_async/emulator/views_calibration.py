"""``/calibration/...`` views.

See docs/server-behaviour.md, "Calibration results" and "Calibration restarts (admin)".
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from . import calibration as calib
from .quirks import drf_json, login_redirect, num_pages, page_envelope, page_number
from .records import Calibration, DataProduct
from .shapes import calibration_fields
from .viewkit import Handler, body
from .wire import Ctx, FieldIdError, django_int

__all__ = ["ROUTES"]

PAGE = 200


class _BatchError(Exception):
    """Any exception inside the lookup loop: the whole request answers 400."""


def _lookup_id(ctx: Ctx, raw: Any) -> Calibration | None:
    if raw is None:
        return None
    if isinstance(raw, (list, dict)):
        raise _BatchError(f"Field 'id' expected a number but got {raw!r}.")
    try:
        ident = django_int(raw)
    except FieldIdError as exc:
        raise _BatchError(str(exc)) from exc
    cal = ctx.state.calibration_of(ident)
    if cal is None or ctx.now < cal.registered_at:
        return None
    return cal


def _lookup_name(ctx: Ctx, raw: Any) -> Calibration | None:
    needle = str(raw)
    found: list[Calibration] = []
    for product in ctx.state.dataproducts():
        if product.dry_run or needle not in product.data:
            continue
        cal = ctx.state.calibration_of(product.id)
        if cal is not None and ctx.now >= cal.registered_at:
            found.append(cal)
    if len(found) > 1:
        raise _BatchError(f"get() returned more than one Calibration_data -- it returned {len(found)}!")
    return found[0] if found else None


def _record(ctx: Ctx, cal: Calibration, get_plot: bool, by_name: bool) -> dict[str, Any]:
    state = ctx.state
    product: DataProduct | None = state.get("dataproduct", cal.dataproduct_id)
    assert product is not None
    me = ctx.me
    if product.user_id != me.id and not me.is_superuser:
        return {"calib-res": "It's not your data", "plot": None}
    is_fits = product.data_product_type == "fits_file"
    if is_fits and ctx.now < cal.ccdphot_at:
        raise _BatchError("CCDPhotJob matching query does not exist.")
    item = calibration_fields(cal, ctx.now)
    host = ctx.request.headers.get("host", "127.0.0.1")
    if by_name:
        item["file_download_link"] = f"http://{host}/data/{product.data}"
    else:
        item["file_download_link"] = f"https://{host}/dataproducts/download/photometry/{product.id}/"
    plot = None
    if get_plot and item["calibration_plot"]:
        plot = calib.plot_data_uri(cal, product.sha256)
    item["plot"] = plot
    if is_fits:
        created, modified = item["created"], item["modified"]
        item["ccdphot_results"] = calib.ccdphot_fields(cal, product, ctx.now, created, modified)
    return item


def _truthy(value: Any) -> bool:
    return bool(value) and value not in ("False", "false", "0")


async def get_calibration_res(ctx: Ctx) -> Response:
    """POST /calibration/get-calibration-res/: ids first, then names; batch errors."""
    data = body(ctx)
    calibid, filename = data.get("calibid"), data.get("filename")
    if not calibid and not filename:
        return drf_json({"Error": "'calibid' or 'filename' fields are required."}, 400)
    get_plot = _truthy(data.get("getPlot", False))
    items: list[dict[str, Any]] = []
    try:
        for raw in _iterate(calibid):
            cal = _lookup_id(ctx, raw)
            items.append(
                _record(ctx, cal, get_plot, False) if cal else {"Error": f"File with id {raw} does not exist"}
            )
        for raw in _iterate(filename):
            cal = _lookup_name(ctx, raw)
            items.append(
                _record(ctx, cal, get_plot, True)
                if cal
                else {"Error": f"File with name {raw} does not exist"}
            )
    except _BatchError as exc:
        return drf_json({"Error": f"Something went wrong: {exc}"}, 400)
    number = page_number(data.get("page", 1), num_pages(len(items), PAGE))
    return drf_json(page_envelope(items, number, PAGE))


def _iterate(value: Any) -> list[Any]:
    """``for x in value`` as Python does it: strings per character, scalars fail."""
    if value is None or value == "":
        return []
    if isinstance(value, (str, list)):
        return list(value)
    if isinstance(value, dict):
        return list(value.keys())
    raise _BatchError(f"'{type(value).__name__}' object is not iterable")


def _restart(ctx: Ctx, scope: str) -> Response:
    if not ctx.me.is_staff:
        return login_redirect(ctx.path)
    data = body(ctx)
    state = ctx.state
    chosen: list[Calibration] = []
    for cal in state.calibrations():
        product: DataProduct | None = state.get("dataproduct", cal.dataproduct_id)
        if product is None or product.dry_run:
            continue
        if scope == "dataproduct" and str(cal.dataproduct_id) != str(data.get("data_product_id")):
            continue
        if scope == "target":
            target = state.get("target", product.target_id)
            name_ok = data.get("target_name") in (None, "") or (
                target is not None and target.name == data.get("target_name")
            )
            id_ok = data.get("target_id") in (None, "") or str(product.target_id) == str(
                data.get("target_id")
            )
            if not (name_ok and id_ok):
                continue
        if scope == "id":
            low, high = data.get("id_from"), data.get("id_to")
            if (low not in (None, "") and cal.id < int(low)) or (
                high not in (None, "") and cal.id > int(high)
            ):
                continue
        chosen.append(cal)
    delay_c, delay_p = state.settings.delays
    with state.lock:
        for cal in chosen:
            for datum in state.datums():
                if datum.data_product_id == cal.dataproduct_id:
                    state.remove("datum", datum.id)
            cal.number_tries += 1
            cal.fixed_times = False
            cal.materialized = False
            cal.c_until, cal.p_until = ctx.now + delay_c, ctx.now + delay_c + delay_p
            state.track(cal)
    # The CPCS answer is not public: this is the emulator's stand-in.
    return drf_json(
        {"Success": {"status": "restarted", "count": len(chosen), "calibration_ids": [c.id for c in chosen]}}
    )


async def restart_by_id(ctx: Ctx) -> Response:
    """POST /calibration/restart-calib-by-id/: staff only, else 302."""
    return _restart(ctx, "id")


async def restart_by_target(ctx: Ctx) -> Response:
    """POST /calibration/restart-calib-by-target/."""
    return _restart(ctx, "target")


async def restart_by_dataproduct(ctx: Ctx) -> Response:
    """POST /calibration/restart-calib-by-dataproduct/."""
    return _restart(ctx, "dataproduct")


async def get_catalogs(ctx: Ctx) -> Response:
    """GET /calibration/get-catalogs/?page=N (not in the API documentation)."""
    items = [{"filters": f"{name}/{filters}"} for name, (_, filters) in calib.CATALOGS.items()]
    number = page_number(ctx.request.query_params.get("page", 1), num_pages(len(items), PAGE))
    return drf_json(page_envelope(items, number, PAGE), allow="GET, HEAD, OPTIONS")


ROUTES: dict[str, dict[str, Handler]] = {
    "/calibration/get-calibration-res/": {"POST": get_calibration_res},
    "/calibration/restart-calib-by-id/": {"POST": restart_by_id},
    "/calibration/restart-calib-by-target/": {"POST": restart_by_target},
    "/calibration/restart-calib-by-dataproduct/": {"POST": restart_by_dataproduct},
    "/calibration/get-catalogs/": {"GET": get_catalogs},
}
