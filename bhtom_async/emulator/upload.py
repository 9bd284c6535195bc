"""The upload service (``/upload/``, ``/calibFile/``) and the main host's proxy.

The upload service's source is not public; its preconditions and answers follow what clients
recorded (docs/server-behaviour.md, "Uploads"). Messages for cases no client recorded are the
emulator's own wording, kept in ``non_field_errors`` like the recorded ones.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from python_multipart.exceptions import FormParserError
from starlette.responses import Response

from . import calibration as calib
from .multipart_stream import ReceivedFile, ReceivedForm, UnsupportedMedia, receive_multipart
from .quirks import drf_json, json_bytes, raw_response
from .records import Camera, DataProduct, Target, User
from .viewkit import Handler
from .wire import Ctx, parse_bool_word

__all__ = ["MAIN_ROUTES", "UPLOAD_ROUTES"]

TYPES = ("fits_file", "photometry", "photometry_csv", "spectroscopy")
MESSAGES = {
    "fits_file": "Received plain FITS file.",
    "photometry": "Received photometry file.",
    "photometry_csv": "Received photometry CSV file.",
    "spectroscopy": "Received spectroscopy file.",
}
_FILE_PART = re.compile(r"files|file_\d+")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


class _Refused(Exception):
    def __init__(self, payload: Any, status: int = 400) -> None:
        super().__init__(str(payload))
        self.payload = payload
        self.status = status


def _nfe(message: str) -> _Refused:
    return _Refused({"non_field_errors": [message]})


def _incoming(ctx: Ctx) -> Path:
    return ctx.state.files_dir / ".incoming"


async def _receive(ctx: Ctx, accept: Any = None) -> ReceivedForm | Response:
    try:
        if accept is None:
            return await receive_multipart(ctx.request, _incoming(ctx))
        return await receive_multipart(ctx.request, _incoming(ctx), accept)
    except UnsupportedMedia as exc:
        return drf_json({"detail": f'Unsupported media type "{exc}" in request.'}, 415)
    except FormParserError as exc:
        return drf_json({"detail": f"Multipart form parse error - {exc}"}, 400)


def _observers(values: list[str], user: User) -> list[str]:
    names: list[str] = []
    for raw in values:
        text = raw.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                names += [str(p).strip() for p in parsed if str(p).strip()]
                continue
        names += [part.strip() for part in text.split(",") if part.strip()]
    return names or [user.username]


def _flag(form: dict[str, list[str]], name: str, default: bool) -> bool:
    values = form.get(name)
    if not values or values[-1] == "":
        return default
    try:
        return parse_bool_word(values[-1])
    except ValueError as exc:
        raise _Refused({name: ["Must be a valid boolean."]}) from exc


def _number(form: dict[str, list[str]], name: str) -> float | None:
    values = form.get(name)
    if not values or values[-1].strip() == "":
        return None
    try:
        return float(values[-1])
    except ValueError as exc:
        raise _Refused({name: ["A valid number is required."]}) from exc


def _camera_for(ctx: Ctx, user: User, kind: str, oname: str) -> Camera | None:
    if kind not in ("fits_file", "photometry"):
        return ctx.state.camera_by_prefix(oname) if oname else None
    camera = ctx.state.camera_by_prefix(oname) if oname else None
    if camera is None or not camera.active_flg or ctx.state.owner_favourite(user.id, camera.id) is None:
        raise _nfe("Observatory with camera doesn't exist on your list")
    obs = ctx.state.get("observatory", camera.observatory_id)
    if kind == "fits_file" and obs is not None and obs.calibration_flg:
        raise _nfe(
            f"Observatory {obs.name} is for calibration only: fits_file uploads are not accepted for it."
        )
    return camera


def _check(ctx: Ctx, user: User, form: dict[str, list[str]], files: list[ReceivedFile]) -> dict[str, Any]:
    """Validate an upload; returns the parsed options or raises :class:`_Refused`."""
    target_name = (form.get("target") or [""])[-1].strip()
    if not target_name:
        raise _Refused({"target": ["This field is required."]})
    target = ctx.state.target_by_name(target_name)
    if target is None:
        raise _nfe(f"Target '{target_name}' does not exist.")
    kind = (form.get("data_product_type") or ["fits_file"])[-1] or "fits_file"
    if kind not in TYPES:
        raise _Refused({"data_product_type": [f'"{kind}" is not a valid choice.']})
    if not files:
        raise _nfe("No files were uploaded (send them as 'files' or 'file_0'...'file_N').")
    oname = (form.get("observatory") or [""])[-1].strip()
    camera = _camera_for(ctx, user, kind, oname)
    mjd = _number(form, "mjd")
    if kind == "photometry":
        if mjd is None:
            raise _nfe("mjd is required for photometry (SExtractor) files.")
        if len(files) != 1:
            raise _nfe("Photometry upload needs exactly one file.")
    observers = _observers(form.get("observers", []) + form.get("observer", []), user)
    unknown = [name for name in observers if ctx.state.user_by_name(name) is None]
    if unknown:
        raise _nfe(f"Observer(s) do not exist: {', '.join(unknown)}")
    if kind == "fits_file":
        for received in files:
            if not received.is_fits:
                raise _nfe(
                    f"File '{received.filename}' is not a FITS file (no 'SIMPLE  =' card at the start)."
                )
    group = [int(g) for g in form.get("group", []) if g.strip().isdigit()]
    return {
        "target": target,
        "kind": kind,
        "camera": camera,
        "oname": oname,
        "mjd": mjd,
        "observers": observers,
        "dry_run": _flag(form, "dry_run", False),
        "no_plot": _flag(form, "no_plot", False),
        "match_dist": _number(form, "match_dist"),
        "filter": (form.get("filter") or ["GaiaSP/any"])[-1] or "GaiaSP/any",
        "comment": (form.get("comment") or [""])[-1] or None,
        "group": group,
        "priority": (form.get("priority") or [""])[-1] or None,
    }


def _store(ctx: Ctx, user: User, opts: dict[str, Any], received: ReceivedFile) -> dict[str, str]:
    state, now = ctx.state, ctx.now
    target: Target = opts["target"]
    camera: Camera | None = opts["camera"]
    with state.lock:
        ident = state.next_id("dataproduct")
        stored = f"{state.next_id('file_prefix')}_{_UNSAFE.sub('_', received.filename)}"
        relative = f"targets/{target.name}/{stored}"
        disk = state.files_dir / relative
        if opts["dry_run"]:
            received.path.unlink(missing_ok=True)
            disk_path = ""
        else:
            disk.parent.mkdir(parents=True, exist_ok=True)
            os.replace(received.path, disk)
            disk_path = str(disk)
        kind = opts["kind"]
        product = DataProduct(
            ident,
            target.id,
            user.id,
            kind,
            relative,
            received.filename,
            received.sha256,
            received.size,
            now,
            now,
            camera_id=camera.id if camera else None,
            observatory_text=None if camera else (opts["oname"] or None),
            product_id=Path(stored).stem,
            photometry_data=f"/{relative}" if kind in ("photometry", "photometry_csv") else None,
            fits_data=relative if kind == "fits_file" else None,
            observers=list(opts["observers"]),
            comment=opts["comment"],
            dry_run=opts["dry_run"],
            upload_filter=opts["filter"],
            upload_mjd=opts["mjd"],
            match_dist=opts["match_dist"],
            priority=opts["priority"],
            no_plot=opts["no_plot"],
            groups=opts["group"],
            cards=received.cards,
            data_nonzero=received.data_nonzero,
            disk_path=disk_path,
        )
        state.put("dataproduct", product)
        if not product.dry_run:
            state.track(calib.plan(state.next_id("calibration"), product, target, now, state.settings))
            fav = state.owner_favourite(user.id, camera.id) if camera else None
            if fav is not None:
                fav.number_of_uploaded_file += 1
                fav.file_size = round(fav.file_size + received.size / 1e6, 3)
                fav.last_file_process = now
                state.put("favourite", fav)
    return {"file name:": stored, "id": str(ident), "message": MESSAGES[kind]}


def process_upload(
    ctx: Ctx, user: User | None, form: dict[str, list[str]], files: list[ReceivedFile]
) -> tuple[int, Any]:
    """Shared core of ``/upload/`` and the proxy: (status, JSON payload)."""
    if user is None:
        return 401, {"detail": "Authentication credentials were not provided."}
    try:
        opts = _check(ctx, user, form, files)
    except _Refused as refused:
        return refused.status, refused.payload
    return 201, {"Success": [_store(ctx, user, opts, received) for received in files]}


def _as_lists(form: ReceivedForm) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in form.fields:
        out.setdefault(key, []).append(value)
    return out


async def upload(ctx: Ctx) -> Response:
    """POST {upload}/upload/: multipart, ``files`` or ``file_0..N`` parts."""
    received = await _receive(ctx)
    if isinstance(received, Response):
        return received
    try:
        files = [f for f in received.files if _FILE_PART.fullmatch(f.field)]
        status, payload = process_upload(ctx, ctx.user, _as_lists(received), files)
    finally:
        received.cleanup()
    return drf_json(payload, status)


async def proxy_upload(ctx: Ctx) -> Response:
    """POST /dataproducts/upload/ on the main host: only ``files`` parts survive."""
    received = await _receive(ctx, lambda name: name == "files")
    if isinstance(received, Response):
        return received
    try:
        # request.POST is forwarded as a plain dict: a repeated field keeps its last value.
        collapsed = {key: [values[-1]] for key, values in _as_lists(received).items()}
        for index, part in enumerate(received.files):
            part.field = f"file_{index}"
        status, payload = process_upload(ctx, ctx.user, collapsed, received.files)
    finally:
        received.cleanup()
    return raw_response(status, json_bytes(payload), "text/html; charset=utf-8")


async def calib_file(ctx: Ctx) -> Response:
    """POST {upload}/calibFile/ (unverified): calibrate one catalogue, answer at once."""
    received = await _receive(ctx)
    if isinstance(received, Response):
        return received
    try:
        form = _as_lists(received)
        part = next((f for f in received.files if f.field == "photometry_file"), None)
        if part is None:
            return drf_json({"photometry_file": ["No file was submitted."]}, 400)
        try:
            ra, dec = _number(form, "ra"), _number(form, "dec")
            match_dist = _number(form, "match_dist") or 0.5
            no_plot = _flag(form, "no_plot", False)
        except _Refused as refused:
            return drf_json(refused.payload, refused.status)
        survey = (form.get("survey") or ["GaiaSP"])[-1] or "GaiaSP"
        band = (form.get("filter") or ["any"])[-1] or "any"
        survey, band = calib.parse_filter(f"{survey}/{band}", {})
        rows = calib.catalogue_rows(str(part.path))
        fake = DataProduct(
            0,
            0,
            0,
            "photometry",
            "",
            part.filename,
            part.sha256,
            part.size,
            ctx.now,
            ctx.now,
            upload_filter=f"{survey}/{band}",
            upload_mjd=None,
            no_plot=no_plot,
            disk_path=str(part.path),
        )
        target = Target(0, "calibFile", ra or 0.0, dec or 0.0, ctx.now, ctx.now)
        cal = calib.plan(0, fake, target, ctx.now, calib.CalibrationSettings(delays=(0, 0)))
        result = {
            "status": cal.outcome,
            "status_message": cal.status_message,
            "ra": ra,
            "dec": dec,
            "mag": cal.mag,
            "mag_error": cal.mag_error,
            "zeropoint": cal.zeropoint,
            "scatter": cal.scatter,
            "npoints": rows or None,
            "outlier_fraction": cal.outlier_fraction,
            "best_filter": band,
            "survey": survey,
            "match_distans": match_dist,
            "image_format": (form.get("image_format") or ["png"])[-1],
            "calibration_plot": None
            if no_plot or cal.outcome != "S"
            else calib.plot_data_uri(cal, part.sha256),
        }
        return drf_json(result)
    finally:
        received.cleanup()


UPLOAD_ROUTES: dict[str, dict[str, Handler]] = {
    "/upload/": {"POST": upload},
    "/calibFile/": {"POST": calib_file},
}
MAIN_ROUTES: dict[str, dict[str, Handler]] = {
    "/dataproducts/upload/": {"POST": proxy_upload},
}
