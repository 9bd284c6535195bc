"""Records rendered the way the real views render them (key order included).

Two families: Django ``serialize()`` ``fields`` (no id, ms datetimes) and DRF serializer dicts
(ids, µs datetimes, FileFields as ``/data/<name>``); see docs/server-behaviour.md, "Pagination".
Capture numbers name the recorded answers in ``tests/data/captures/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import calibration as calib
from .quirks import clean_float, django_dt, drf_dt
from .records import (
    Calibration,
    Camera,
    Comment,
    DataProduct,
    Datum,
    Download,
    Favourite,
    Group,
    Observatory,
    Target,
    User,
)
from .state import State

__all__ = [
    "calibration_data",
    "calibration_fields",
    "camera_item",
    "comment_item",
    "dataproduct_item",
    "datum_item",
    "download_item",
    "favourite_fields",
    "group_item",
    "group_pairs",
    "observatory_item",
    "target_fields",
    "target_summary",
    "user_item",
]

_NULL_ORBIT = (
    "parallax",
    "pm_ra",
    "pm_dec",
)
_ORBITAL = (
    "epoch_of_elements",
    "mean_anomaly",
    "arg_of_perihelion",
    "eccentricity",
    "lng_asc_node",
    "inclination",
    "mean_daily_motion",
    "semimajor_axis",
    "epoch_of_perihelion",
    "ephemeris_period",
    "ephemeris_period_err",
    "ephemeris_epoch",
    "ephemeris_epoch_err",
    "perihdist",
)


def group_pairs(groups: Iterable[Group]) -> dict[int, list[list[Any]]]:
    """Each target id's ``[name, id]`` group pairs, from one scan of the groups."""
    pairs: dict[int, list[list[Any]]] = {}
    for group in groups:
        for target_id in group.target_ids:
            pairs.setdefault(target_id, []).append([group.name, group.id])
    return pairs


def target_fields(target: Target, groups: Mapping[int, list[list[Any]]]) -> dict[str, Any]:
    """getTargetList item: Django ``fields`` + ``aliases`` and ``groups`` pairs (see `group_pairs`)."""
    item: dict[str, Any] = {
        "name": target.name,
        "type": target.type,
        "has_optical": target.has_optical,
        "has_infrared": target.has_infrared,
        "has_radio": target.has_radio,
        "has_xray": target.has_xray,
        "has_gamma": target.has_gamma,
        "has_polarimetry": target.has_polarimetry,
        "created": django_dt(target.created),
        "modified": django_dt(target.modified),
        "ra": clean_float(target.ra),
        "dec": clean_float(target.dec),
        "epoch": clean_float(target.epoch),
    }
    item.update(dict.fromkeys(_NULL_ORBIT))
    item["galactic_lng"] = clean_float(target.galactic_lng)
    item["galactic_lat"] = clean_float(target.galactic_lat)
    item["distance"] = None
    item["distance_err"] = None
    item["scheme"] = ""
    item.update(dict.fromkeys(_ORBITAL))
    item.update(
        {
            "classification": target.classification,
            "discovery_date": django_dt(target.discovery_date),
            "mjd_last": clean_float(target.mjd_last),
            "mag_last": clean_float(target.mag_last),
            "importance": clean_float(target.importance),
            "cadence": clean_float(target.cadence),
            "priority": clean_float(target.priority),
            "sun_separation": clean_float(target.sun_separation),
            "creation_date": None,
            "constellation": target.constellation,
            "dont_update_me": None,
            "phot_class": None,
            "photometry_plot": target.photometry_plot,
            "photometry_plot_obs": "",
            "photometry_plot_highenergy": "",
            "photometry_icon_plot": "",
            "spectroscopy_plot": "",
            "data_plot": None,
            "filter_last": target.filter_last,
            "cadence_priority": clean_float(target.cadence_priority),
            "description": target.description,
            "aliases": [list(pair) for pair in target.aliases],
            "groups": [list(pair) for pair in groups.get(target.id, ())],
        }
    )
    return item


def target_summary(target: Target) -> dict[str, Any]:
    """TargetsSerializers output (createTarget, targets-from-group): no id."""
    return {
        "name": target.name,
        "ra": target.ra,
        "dec": target.dec,
        "epoch": target.epoch,
        "description": target.description,
        "classification": target.classification,
        "discovery_date": drf_dt(target.discovery_date),
        "importance": target.importance,
        "cadence": target.cadence,
        "has_optical": target.has_optical,
        "has_infrared": target.has_infrared,
        "has_radio": target.has_radio,
        "has_xray": target.has_xray,
        "has_gamma": target.has_gamma,
        "has_polarimetry": target.has_polarimetry,
    }


def camera_item(camera: Camera) -> dict[str, Any]:
    """``cameras[]`` item of the observatory list."""
    return {
        "id": camera.id,
        "user": camera.user_id,
        "observatory": camera.observatory_id,
        "camera_name": camera.camera_name,
        "active_flg": camera.active_flg,
        "prefix": camera.prefix,
        "gain": camera.gain,
        "example_file": camera.example_file,
        "readout_noise": camera.readout_noise,
        "binning": camera.binning,
        "saturation_level": camera.saturation_level,
        "pixel_scale": camera.pixel_scale,
        "readout_speed": camera.readout_speed,
        "pixel_size": camera.pixel_size,
        "date_time_keyword": camera.date_time_keyword,
        "time_keyword": camera.time_keyword,
        "exposure_time_keyword": camera.exposure_time_keyword,
        "mode_recognition_keyword": camera.mode_recognition_keyword,
        "additional_info": camera.additional_info,
        "created": drf_dt(camera.created),
        "modified": drf_dt(camera.modified),
    }


def observatory_item(obs: Observatory, state: State) -> dict[str, Any]:
    """ObservatorySerializers item with nested cameras."""
    return {
        "id": obs.id,
        "name": obs.name,
        "lon": obs.lon,
        "lat": obs.lat,
        "altitude": obs.altitude,
        "calibration_flg": obs.calibration_flg,
        "comment": obs.comment,
        "approx_lim_mag": obs.approx_lim_mag,
        "origin": obs.origin,
        "telescope": obs.telescope,
        "aperture": obs.aperture,
        "focal_length": obs.focal_length,
        "seeing": obs.seeing,
        "filters": obs.filters,
        "created": drf_dt(obs.created),
        "modified": drf_dt(obs.modified),
        "authors": obs.authors,
        "acknowledgements": obs.acknowledgements,
        "cameras": [camera_item(c) for c in state.cameras() if c.observatory_id == obs.id],
    }


def favourite_fields(fav: Favourite) -> dict[str, Any]:
    """getFavouriteObservatory item: Django ``fields``, camera as id."""
    return {
        "user": fav.user_id,
        "camera": fav.camera_id,
        "active_flg": fav.active_flg,
        "comment": fav.comment,
        "created": django_dt(fav.created),
        "modified": django_dt(fav.modified),
        "number_of_uploaded_file": fav.number_of_uploaded_file,
        "file_size": fav.file_size,
        "last_file_process": django_dt(fav.last_file_process),
    }


def _cal_times(cal: Calibration, now: float) -> tuple[float, float]:
    """(created, modified) of a calibration row at ``now``."""
    if cal.fixed_times:
        return cal.registered_at, cal.registered_at
    status = calib.status_at(cal, now)
    modified = {"C": cal.registered_at, "P": cal.c_until}.get(status, cal.p_until)
    return cal.registered_at, max(cal.registered_at, modified)


def calibration_fields(cal: Calibration, now: float) -> dict[str, Any]:
    """``Calibration_data`` Django ``fields``: ``dataproduct`` is the only id."""
    status = calib.status_at(cal, now)
    final = status in ("S", "E")
    ok = status == "S"
    created, modified = _cal_times(cal, now)
    started = None if cal.fixed_times or status == "C" else cal.c_until
    return {
        "dataproduct": cal.dataproduct_id,
        "use_catalog": cal.use_catalog if ok else None,
        "status": status,
        "status_message": cal.status_message
        if final or cal.fixed_times
        else ("Waiting for processing" if status == "C" else "In progress"),
        "mjd": cal.mjd,
        "exp_time": cal.exp_time,
        "mag": cal.mag if ok else None,
        "mag_error": cal.mag_error if ok else None,
        "ra": cal.ra,
        "dec": cal.dec,
        "zeropoint": cal.zeropoint if ok else None,
        "outlier_fraction": cal.outlier_fraction if ok else None,
        "scatter": cal.scatter if ok else None,
        "npoints": cal.npoints if ok else None,
        "processing_time": cal.processing_time if final else None,
        "created": django_dt(created),
        "modified": django_dt(modified),
        "start_processing": django_dt(started),
        "best_filter": cal.best_filter,
        "survey": cal.survey,
        "match_distans": cal.match_distans,
        "no_plot": cal.no_plot,
        "calibration_plot": cal.calibration_plot if ok else None,
        "number_tries": cal.number_tries,
        "calibration_log": cal.calibration_log,
    }


def _or_blank(value: Any) -> Any:
    """The serializer's ``x or ""``: 0.0 and None both become ""."""
    return value or ""


def calibration_data(cal: Calibration | None, now: float) -> dict[str, Any]:
    """The ``calibration_data`` dict of a data-product item (capture 38)."""
    if cal is None or now < cal.registered_at:
        keys = (
            "id",
            "time_photometry",
            "mjd",
            "calib_survey_filter",
            "standardised_to",
            "magnitude",
            "zp",
            "scatter",
            "number of datapoints used for calibration",
            "outlier fraction",
            "matching radius[arcsec]",
        )
        return dict.fromkeys(keys, "")
    fields = calibration_fields(cal, now)
    ok = fields["status"] == "S"
    catalog = next(
        (
            f"{name}/{filters}"
            for name, (ident, filters) in calib.CATALOGS.items()
            if ident == fields["use_catalog"]
        ),
        None,
    )
    return {
        "id": _or_blank(cal.id),
        "time_photometry": _or_blank(drf_dt(_cal_times(cal, now)[1])),
        "mjd": _or_blank(cal.mjd),
        "calib_survey_filter": _or_blank(catalog),
        "standardised_to": _or_blank(f"{cal.survey}/{cal.best_filter}" if ok else None),
        "magnitude": _or_blank(fields["mag"]),
        "mag_error": _or_blank(fields["mag_error"]),
        "zp": _or_blank(fields["zeropoint"]),
        "scatter": _or_blank(fields["scatter"]),
        "number of datapoints used for calibration": _or_blank(fields["npoints"]),
        "outlier fraction": _or_blank(fields["outlier_fraction"]),
        "matching radius[arcsec]": _or_blank(cal.match_distans),
    }


def dataproduct_item(product: DataProduct, state: State, now: float) -> dict[str, Any]:
    """``common/api/data`` item (capture 38)."""
    user: User | None = state.get("user", product.user_id)
    if user is None:
        raise LookupError("data product without a user")
    target: Target | None = state.get("target", product.target_id)
    camera: Camera | None = state.get("camera", product.camera_id or 0)
    obs: Observatory | None = state.get("observatory", camera.observatory_id) if camera else None
    cal = state.calibration_of(product.id)
    ccdphot: dict[str, Any] = {}
    if cal is not None and product.data_product_type == "fits_file" and now >= cal.ccdphot_at:
        created, modified = _cal_times(cal, now)
        ccdphot = calib.ccdphot_fields(cal, product, now, django_dt(created), django_dt(modified))
    return {
        "id": product.id,
        "user_name": user.full_name,
        "target_name": target.name if target else None,
        "target": product.target_id,
        "user": user.username,
        "camera": camera.prefix if camera else None,
        "observatory_name": obs.name if obs else None,
        "observatory": obs.id if obs else None,
        "calibration_data": calibration_data(cal, now),
        "ccdphot_result": ccdphot,
        "product_id": product.product_id,
        "observers": _json_column(product.observers),
        "data": f"/data/{product.data}",
        "status": state.product_status(product, now),
        "photometry_data": product.photometry_data,
        "fits_data": product.fits_data,
        "fits_webp": None,
        "extra_data": product.extra_data,
        "created": drf_dt(product.created),
        "modified": drf_dt(product.modified),
        "data_product_type": product.data_product_type,
        "featured": product.featured,
        "thumbnail": None,
        "dryRun": product.dry_run,
        "comment": product.comment,
        "observation_record": None,
        "group": list(product.groups),
    }


def datum_item(datum: Datum) -> dict[str, Any]:
    """``ReducedDatum.__all__`` (capture 41)."""
    return {
        "id": datum.id,
        "data_type": datum.data_type,
        "source_name": datum.source_name,
        "source_location": datum.source_location,
        "mjd": datum.mjd,
        "timestamp": drf_dt(datum.timestamp),
        "observer": datum.observer,
        "observers": _json_column(datum.observers),
        "facility": datum.facility,
        "value": datum.value,
        "value_list": _array(datum.value_list),
        "value_unit": datum.value_unit,
        "error": datum.error,
        "error_list": _array(datum.error_list),
        "filter": datum.filter,
        "wavelengths": _array(datum.wavelengths),
        "extra_data": datum.extra_data,
        "active_flg": datum.active_flg,
        "target": datum.target_id,
        "data_product": datum.data_product_id,
    }


def _json_column(value: Any) -> Any:
    """A JSONField as stored: a list is copied, anything else (a string, None) is sent as is."""
    return list(value) if isinstance(value, list) else value


def _array(value: list[Any] | None) -> list[Any] | None:
    """A nullable ``ArrayField(FloatField())``: NULL stays null, NULL elements stay null."""
    return None if value is None else list(value)


def comment_item(comment: Comment, state: State) -> dict[str, Any]:
    """Comment item; ``target_id`` is a string. A dangling target raises (-> 500)."""
    target: Target | None = state.get("target", comment.target_id)
    if target is None:
        raise LookupError("Target matching query does not exist.")
    return {
        "id": comment.id,
        "user_name": comment.user_name,
        "comment": comment.comment,
        "submit_date": drf_dt(comment.submit_date),
        "user_id": comment.user_id,
        "target_name": target.name,
        "target_id": str(comment.target_id),
    }


def download_item(row: Download, state: State) -> dict[str, Any]:
    """DownloadedTargetSerializer item."""
    user: User | None = state.get("user", row.user_id)
    target: Target | None = state.get("target", row.target_id)
    return {
        "id": row.id,
        "user": user.username if user else None,
        "user_name": user.full_name if user else None,
        "target": target.id if target else None,
        "target_name": target.name if target else None,
        "created": drf_dt(row.created),
        "modified": drf_dt(row.created),
        "download_type": row.download_type,
        "ip_address": row.ip_address,
    }


def group_item(group: Group) -> dict[str, Any]:
    """TargetsGroupsSerializer item."""
    return {"id": group.id, "name": group.name, "created": drf_dt(group.created)}


def user_item(user: User) -> dict[str, Any]:
    """``User.__all__``, password hash included: the real server leaks it."""
    return {
        "id": user.id,
        "password": user.password_hash,
        "last_login": drf_dt(user.last_login),
        "is_superuser": user.is_superuser,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_staff": user.is_staff,
        "is_active": user.is_active,
        "date_joined": drf_dt(user.date_joined),
        "groups": [],
        "user_permissions": [],
    }
