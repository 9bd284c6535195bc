"""TargetsSerializers validation (createTarget / updateTarget; docs/server-behaviour.md, "Targets")."""

from __future__ import annotations

import math
import re
from typing import Any

from .records import Target
from .wire import parse_iso

__all__ = ["CLASSIFICATIONS", "FIELDS", "validate_target", "within_3_arcsec"]

FIELDS = (
    "name",
    "ra",
    "dec",
    "epoch",
    "description",
    "classification",
    "discovery_date",
    "importance",
    "cadence",
    "has_optical",
    "has_infrared",
    "has_radio",
    "has_xray",
    "has_gamma",
    "has_polarimetry",
)
CLASSIFICATIONS = (
    "Unknown",
    "Be-star outburst",
    "AGN",
    "BL Lac",
    "CV",
    "CEPH",
    "EB",
    "Galaxy",
    "LPV",
    "LBV",
    "M-dwarf flare",
    "Microlensing Event",
    "Nova",
    "Peculiar Supernova",
    "QSO",
    "RCrB",
    "RR Lyrae Variable",
    "SSO",
    "Star",
    "SN",
    "Supernova imposter",
    "Symbiotic star",
    "TDE",
    "Variable star-other",
    "XRB",
    "YSO",
)
_FLOATS = ("ra", "dec", "epoch", "importance", "cadence")
_NULLABLE = {"ra", "dec", "epoch", "description", "classification", "discovery_date"}
_BOOLS = ("has_optical", "has_infrared", "has_radio", "has_xray", "has_gamma", "has_polarimetry")
_TRUE = {"t", "y", "yes", "true", "on", "1", True}
_FALSE = {"f", "n", "no", "false", "off", "0", False}
_FORBIDDEN = set("()/\\:")
_WEBBY = re.compile(r"(https?|ftp)://|www\.|[?&=]|%[0-9A-Fa-f]{2}", re.IGNORECASE)
_DATETIME_ERROR = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


def _name_errors(value: Any, targets: list[Target], instance: Target | None) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ["Not a valid string."]
    text = str(value).strip()
    if not text:
        return ["This field may not be blank."]
    if len(text) > 100:
        return ["Ensure this field has no more than 100 characters."]
    # URL-like names are checked first: a URL always holds ':' and '/' as well.
    if _WEBBY.search(text):
        return ["Target name cannot contain web addresses or query strings."]
    if any(ch in _FORBIDDEN for ch in text):
        return ["Target name cannot contain any of: ( ) / \\ :"]
    if any(t.name == text and (instance is None or t.id != instance.id) for t in targets):
        return ["target with this Name already exists."]
    return []


def _bool(value: Any) -> bool | None:
    key = value.strip().lower() if isinstance(value, str) else value
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    return None


def _field(key: str, value: Any, targets: list[Target], instance: Target | None) -> tuple[Any, list[str]]:
    if value is None:
        return None, ([] if key in _NULLABLE else ["This field may not be null."])
    if key == "name":
        errors = _name_errors(value, targets, instance)
        return (str(value).strip() if not errors else None), errors
    if key in _FLOATS:
        try:
            if isinstance(value, (list, dict)):
                raise TypeError
            return float(value), []
        except (TypeError, ValueError):
            return None, ["A valid number is required."]
    if key in _BOOLS:
        parsed = _bool(value)
        return parsed, ([] if parsed is not None else ["Must be a valid boolean."])
    if key == "classification":
        if value in CLASSIFICATIONS:
            return value, []
        return None, [f'"{value}" is not a valid choice.']
    if key == "discovery_date":
        try:
            return parse_iso(value), []
        except (TypeError, ValueError):
            return None, [_DATETIME_ERROR]
    return (None if value is None else str(value)), []


def validate_target(
    data: dict[str, Any], targets: list[Target], instance: Target | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(validated data, errors) like ``is_valid()``: field errors first, then ``validate()``."""
    validated: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key in FIELDS:
        if key not in data:
            if key == "name" and instance is None:
                errors[key] = ["This field is required."]
            continue
        value, problems = _field(key, data[key], targets, instance)
        if problems:
            errors[key] = problems
        else:
            validated[key] = value
    if errors:
        return validated, errors
    unknown = sorted(set(data) - set(FIELDS))
    if instance is None:
        validated.setdefault("epoch", 2000.0)
        validated.setdefault("classification", "Unknown")
        validated.setdefault("importance", 9.98)
        validated.setdefault("cadence", 1.0)
    if unknown:
        return validated, {"non_field_errors": [f"Unknown field(s): {', '.join(unknown)}"]}
    ra = validated.get("ra", 0) if "ra" in validated else 0
    dec = validated.get("dec", 0) if "dec" in validated else 0
    if ra is not None and dec is not None and (ra < 0 or ra > 360 or dec < -90 or dec > 90):
        return validated, {"non_field_errors": ["Coordinates beyond range"]}
    return validated, {}


def within_3_arcsec(ra: float, dec: float, targets: list[Target]) -> bool:
    """True when an existing target lies within 3 arcsec (the create() check)."""
    return any(_separation(ra, dec, t.ra, t.dec) <= 3.0 / 3600.0 for t in targets)


def _separation(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Angular separation in degrees (haversine)."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    hav = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(hav))))


separation = _separation
