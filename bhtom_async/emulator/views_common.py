"""``/common/api/...`` views: comments, data products, reduced datums, users.

See docs/server-behaviour.md, "Comments and users", "Data products", "Reduced data" and "Downloads".
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from typing import Any

import anyio
from starlette.responses import Response

from .quirks import (
    ServerError,
    drf_json,
    login_redirect,
    num_pages,
    page_envelope,
    page_number,
    strict_page,
)
from .records import DataProduct, Datum
from .shapes import calibration_fields, comment_item, dataproduct_item, datum_item, user_item
from .viewkit import Handler, body, file_attachment, is_absent
from .views_targets import remove_product
from .wire import Ctx, FieldIdError, django_int, parse_iso

__all__ = ["ROUTES"]

PAGE = 200


def _day(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise ServerError("strptime() argument 1 must be str")
    return dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc).date()


def _day_start(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


async def comments(ctx: Ctx) -> Response:
    """POST /common/api/comments/: a dangling comment makes the page a 500."""
    data = body(ctx)
    state = ctx.state
    rows = sorted(state.comments(), key=lambda c: (c.submit_date, c.id))
    if not is_absent(data.get("target")):
        target = state.target_by_name(str(data["target"]))
        if target is None:
            return drf_json({"error": "Target not found"}, 404)
        rows = [c for c in rows if c.target_id == target.id]
    if not is_absent(data.get("targetid")):
        rows = [c for c in rows if str(c.target_id) == str(data["targetid"])]
    if not is_absent(data.get("user")):
        rows = [c for c in rows if c.user_name == data["user"]]
    if not is_absent(data.get("text")):
        rows = [c for c in rows if str(data["text"]).lower() in c.comment.lower()]
    try:
        if not is_absent(data.get("created_start")):
            low = _day_start(_day(data["created_start"]))
            rows = [c for c in rows if c.submit_date >= low]
        if not is_absent(data.get("created_end")):
            high = _day_start(_day(data["created_end"])) + 86400.0
            rows = [c for c in rows if c.submit_date < high]
    except ValueError:
        return drf_json({"error": "Invalid date format. Use YYYY-MM-DD."}, 400)
    try:
        items = [comment_item(c, state) for c in rows]
    except LookupError as exc:
        raise ServerError(str(exc)) from exc
    number = page_number(data.get("page", 1), num_pages(len(items), PAGE))
    return drf_json(page_envelope(items, number, PAGE))


_FIELD_TYPO = ("mag_min", "mag_max", "filter")


def _product_filters(ctx: Ctx, data: dict[str, Any]) -> list[DataProduct]:
    state, now = ctx.state, ctx.now
    rows = [p for p in state.dataproducts() if not p.dry_run]
    rows.sort(key=lambda p: (-p.created, -p.id))
    for key in _FIELD_TYPO:
        if not is_absent(data.get(key)):
            raise ServerError(f"FieldError for {key}")  # lookup typo / missing field
    try:
        if not is_absent(data.get("id")):
            wanted = django_int(data["id"])
            rows = [p for p in rows if p.id == wanted]
        if not is_absent(data.get("target_id")):
            wanted_target = django_int(data["target_id"])
            rows = [p for p in rows if p.target_id == wanted_target]
        low = None if is_absent(data.get("created_start")) else parse_iso(data["created_start"])
        high = None if is_absent(data.get("created_end")) else parse_iso(data["created_end"])
    except (FieldIdError, TypeError, ValueError) as exc:
        raise ServerError(str(exc)) from exc
    rows = [p for p in rows if (low is None or p.created >= low) and (high is None or p.created <= high)]
    for key in ("data_product_type", "status"):
        if not is_absent(data.get(key)):
            rows = [
                p
                for p in rows
                if (p.data_product_type if key == "data_product_type" else state.product_status(p, now))
                == data[key]
            ]
    if not is_absent(data.get("fits_data")):
        rows = [p for p in rows if p.fits_data and str(data["fits_data"]) in p.fits_data]
    if not is_absent(data.get("photometry_data")):
        rows = [p for p in rows if str(data["photometry_data"]) in p.data]
    if not is_absent(data.get("oname")):
        cams = {c.id for c in state.cameras() if c.prefix == data["oname"]}
        rows = [p for p in rows if p.camera_id in cams]
    if not is_absent(data.get("target_name")):
        needle = str(data["target_name"]).lower()
        names = {t.id for t in state.targets() if needle in t.name.lower()}
        rows = [p for p in rows if p.target_id in names]
    return _calibration_filters(ctx, data, rows)


def _calibration_filters(ctx: Ctx, data: dict[str, Any], rows: list[DataProduct]) -> list[DataProduct]:
    checks = {
        "mjd": ("mjd", "eq"),
        "magerr_min": ("mag_error", "ge"),
        "magerr_max": ("mag_error", "le"),
        "mjd_min": ("mjd", "ge"),
        "mjd_max": ("mjd", "le"),
    }
    for key, (field, op) in checks.items():
        if is_absent(data.get(key)):
            continue
        try:
            bound = float(data[key])
        except (TypeError, ValueError) as exc:
            raise ServerError(str(exc)) from exc
        kept = []
        for product in rows:
            cal = ctx.state.calibration_of(product.id)
            if cal is None or ctx.now < cal.registered_at:
                continue
            value = calibration_fields(cal, ctx.now)[field]
            if value is None:
                continue
            if (
                (op == "eq" and value == bound)
                or (op == "ge" and value >= bound)
                or (op == "le" and value <= bound)
            ):
                kept.append(product)
        rows = kept
    return rows


async def data_products(ctx: Ctx) -> Response:
    """POST /common/api/data/: every user's products, 500 per page (1000 for staff)."""
    data = body(ctx)
    rows = _product_filters(ctx, data)
    size = 1000 if ctx.me.is_staff else 500
    number = page_number(data.get("page", 1), num_pages(len(rows), size))
    page_rows = rows[(number - 1) * size : number * size]
    try:
        items = [dataproduct_item(p, ctx.state, ctx.now) for p in page_rows]
    except LookupError as exc:
        raise ServerError(str(exc)) from exc
    envelope = page_envelope(rows, number, size)
    envelope["data"] = items
    return drf_json(envelope)


async def delete_data_product(ctx: Ctx) -> Response:
    """DELETE /common/api/deleteDataProduct/: staff only, else 302 to login."""
    allow = "DELETE, OPTIONS"
    if not ctx.me.is_staff:
        return login_redirect(ctx.path)
    data = body(ctx)
    if is_absent(data.get("id")):
        return drf_json({"Error": "Missing required parameter 'id'."}, 400, allow=allow)
    try:
        product = ctx.state.get("dataproduct", django_int(data["id"]))
        if product is None or product.dry_run:
            raise LookupError("DataProduct matching query does not exist.")
    except (FieldIdError, LookupError) as exc:
        return drf_json({"Error": f"An error occurred: {exc}"}, 500, allow=allow)
    remove_product(ctx, product)
    if product.disk_path:
        await anyio.Path(product.disk_path).unlink(missing_ok=True)
    return drf_json({"Success": "DataProduct deleted successfully."}, allow=allow)


async def reduced_datums(ctx: Ctx) -> Response:
    """POST /common/api/reducedDatum/: a bad page is a 400, unlike every other list."""
    data = body(ctx)
    target_id, target_name = data.get("target_id"), data.get("target_name")
    if bool(target_id) == bool(target_name):
        return drf_json({"error": "Provide either 'target_id' or 'target_name', but not both."}, 400)
    state = ctx.state
    if target_name:
        target = state.target_by_name(str(target_name))
        if target is None:
            return drf_json({"error": "Target does not exist."}, 404)
        wanted = target.id
    else:
        try:
            wanted = django_int(target_id)
        except FieldIdError as exc:
            raise ServerError(str(exc)) from exc
    rows = [d for d in state.datums() if d.target_id == wanted]
    size = 1000 if ctx.me.is_staff else 500
    number = strict_page(data.get("page", 1), num_pages(len(rows), size))
    if number is None:
        return drf_json({"error": "Invalid page number."}, 400)
    return drf_json(page_envelope([datum_item(d) for d in rows], number, size))


def _match_datum(ctx: Ctx, data: dict[str, Any]) -> Datum | None:
    mjd, mag, magerr = float(data["mjd"]), float(data["mag"]), float(data["magerr"])
    rows = ctx.state.datums()
    if not is_absent(data.get("target_name")):
        target = ctx.state.target_by_name(str(data["target_name"]))
        if target is None:
            raise LookupError("Target matching query does not exist.")
        rows = [d for d in rows if d.target_id == target.id]
    elif not is_absent(data.get("target_id")):
        wanted = django_int(data["target_id"])
        rows = [d for d in rows if d.target_id == wanted]
    return next(
        (
            d
            for d in rows
            if abs(d.mjd - mjd) <= 1e-6
            and abs(d.value - mag) <= 1e-3
            and d.error is not None
            and abs(d.error - magerr) <= 1e-3
            and d.filter == data["filter"]
            and d.observer == data["observer"]
        ),
        None,
    )


_REQUIRED = ("mjd", "mag", "magerr", "filter", "observer")


async def delete_reduced_datum(ctx: Ctx) -> Response:
    """DELETE /common/api/deleteReducedDatum/: staff; fields read from the body."""
    allow = "DELETE, OPTIONS"
    if not ctx.me.is_staff:
        return login_redirect(ctx.path)
    data = body(ctx)
    if any(not data.get(key) for key in _REQUIRED):
        return drf_json({"Error": "Missing required parameters."}, 400, allow=allow)
    try:
        datum = _match_datum(ctx, data)
    except (TypeError, ValueError, LookupError) as exc:
        return drf_json({"Error": f"An error occurred: {exc}"}, 500, allow=allow)
    if datum is None:
        return drf_json({"Error": "Reduced datum not found."}, 404, allow=allow)
    ctx.state.remove("datum", datum.id)
    if data.get("delete_associated_data_product") and datum.data_product_id is not None:
        product = ctx.state.get("dataproduct", datum.data_product_id)
        if product is not None:
            remove_product(ctx, product)
    return drf_json({"Success": "Reduced datum deleted successfully."}, allow=allow)


async def deactivate_reduced_datum(ctx: Ctx) -> Response:
    """POST /common/api/deactivateReducedDatum/: no match is a 500."""
    if not ctx.me.is_staff:
        return login_redirect(ctx.path)
    data = body(ctx)
    if any(not data.get(key) for key in _REQUIRED):
        return drf_json({"Error": "Missing required parameters."}, 400)
    try:
        datum = _match_datum(ctx, data)
        if datum is None:
            raise AttributeError("'NoneType' object has no attribute 'active_flg'")
    except (TypeError, ValueError, LookupError, AttributeError) as exc:
        return drf_json({"Error": f"An error occurred: {exc}"}, 500)
    datum.active_flg = False
    ctx.state.put("datum", datum)
    return drf_json({"Success": "Reduced datum deactivated successfully."})


async def users(ctx: Ctx) -> Response:
    """POST /common/api/users/: staff; bare list with password hashes (a real leak)."""
    if not ctx.me.is_staff:
        return login_redirect(ctx.path)
    data = body(ctx)
    rows = ctx.state.users()
    try:
        if not is_absent(data.get("id")):
            wanted = django_int(data["id"])
            rows = [u for u in rows if u.id == wanted]
        if not is_absent(data.get("username")):
            rows = [u for u in rows if u.username == data["username"]]
        if not is_absent(data.get("created")):
            day = dt.datetime.strptime(str(data["created"]), "%Y-%m-%d")
            low = day.replace(tzinfo=dt.timezone.utc).timestamp()
            rows = [u for u in rows if u.date_joined >= low]
    except (FieldIdError, ValueError) as exc:
        return drf_json({"error": f"An unexpected error occurred: {exc}"}, 500)
    return drf_json([user_item(u) for u in rows])


def _usernames(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(raw, list):
        return [str(part).strip() for part in raw]
    raise TypeError(f"'{type(raw).__name__}' object is not iterable")


async def change_observers(ctx: Ctx) -> Response:
    """POST /common/api/changeObservers/: no owner check; stores user ids."""
    data = body(ctx)
    if is_absent(data.get("id")) or is_absent(data.get("observers")):
        return drf_json({"error": "Missing required fields: 'id' and/or 'observers'"}, 400)
    state = ctx.state
    try:
        names = _usernames(data["observers"])
        unknown = [n for n in names if state.user_by_name(n) is None]
        if unknown:
            return drf_json({"error": f"The following usernames do not exist: {', '.join(unknown)}"}, 400)
        product = state.get("dataproduct", django_int(data["id"]))
    except (FieldIdError, TypeError) as exc:
        return drf_json({"error": f"An unexpected error occurred: {exc}"}, 500)
    if product is None or product.dry_run:
        return drf_json({"error": "DataProduct not found"}, 404)
    ids: list[Any] = []
    for name in names:
        user = state.user_by_name(name)
        if user is not None:
            ids.append(user.id)
    with state.lock:
        product.observers = ids
        product.modified = ctx.now
        state.put("dataproduct", product)
    return drf_json(dataproduct_item(product, state, ctx.now))


async def download_photometry_file(ctx: Ctx) -> Response:
    """POST /common/api/downloadPhotometryFile/: any product; bare-string errors."""
    data = body(ctx)
    if is_absent(data.get("id")):
        return drf_json("ID not provided", 400)
    try:
        product = ctx.state.get("dataproduct", django_int(data["id"]))
    except FieldIdError as exc:
        return drf_json(f"Unexpected error: {exc}", 500)
    if product is None or product.dry_run:
        return drf_json("DataProduct not found", 404)
    if not product.photometry_data:
        return drf_json("File not found", 404)
    path = anyio.Path(ctx.state.files_dir / product.photometry_data.lstrip("/"))
    if not await path.is_file():
        return drf_json("File not found", 404)
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return file_attachment(await path.read_bytes(), path.name, media)


ROUTES: dict[str, dict[str, Handler]] = {
    "/common/api/comments/": {"POST": comments},
    "/common/api/data/": {"POST": data_products},
    "/common/api/deleteDataProduct/": {"DELETE": delete_data_product},
    "/common/api/reducedDatum/": {"POST": reduced_datums},
    "/common/api/deleteReducedDatum/": {"DELETE": delete_reduced_datum},
    "/common/api/deactivateReducedDatum/": {"POST": deactivate_reduced_datum},
    "/common/api/users/": {"POST": users},
    "/common/api/changeObservers/": {"POST": change_observers},
    "/common/api/downloadPhotometryFile/": {"POST": download_photometry_file},
}
