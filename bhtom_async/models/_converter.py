"""The one cattrs converter: server JSON → attrs models.

It is tolerant where the real server is loose (§1 of the behaviour notes): ids and numbers sent as
strings, ``""`` for null (the data-product view's ``x or ""``), millisecond and microsecond ISO
datetimes with ``Z``, missing optional keys. Unknown keys are kept in each model's `extra`
mapping instead of being dropped; keys a model lists in ``__bhtom_drop__`` (password hashes) are
never kept anywhere.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

__all__ = ["converter", "parse_datetime", "structure", "wire"]

T = TypeVar("T")
EXTRA = "extra"
converter = cattrs.Converter(forbid_extra_keys=False)


def wire(key: str) -> dict[str, str]:
    """Field metadata naming the JSON key when it is not a Python name (``"file name:"``)."""
    return {"wire": key}


def structure(data: object, cls: type[T]) -> T:
    """Convert server JSON into `cls`. Raises `cattrs` errors for shapes that cannot fit."""
    return converter.structure(data, cls)


def parse_datetime(value: object) -> dt.datetime:
    """ISO 8601 as the server writes it (``…123Z``, ``…123456Z``, ``YYYY-MM-DD``), timezone-aware."""
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a datetime: {value!r}")
    text = value.strip().replace(" ", "T", 1) if len(value.strip()) > 10 else value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _int(value: object, _: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise ValueError(f"expected an integer, got {value!r}")


def _float(value: object, _: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise ValueError(f"expected a number, got {value!r}")


def _str(value: object, _: object) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected a string, got {value!r}")


def _bool(value: object, _: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, int):
        return bool(value)
    raise ValueError(f"expected a boolean, got {value!r}")


converter.register_structure_hook(int, _int)
converter.register_structure_hook(float, _float)
converter.register_structure_hook(str, _str)
converter.register_structure_hook(bool, _bool)
converter.register_structure_hook(dt.datetime, lambda v, _: parse_datetime(v))
converter.register_structure_hook_func(lambda t: t is object, lambda v, _: v)


def _is_optional(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) in (Union, _UnionType) and len(args) == 2 and type(None) in args


def _optional_hook(tp: Any) -> Callable[[object, object], object]:
    inner = next(arg for arg in get_args(tp) if arg is not type(None))
    inner_hook = converter.get_structure_hook(inner)
    empty_is_none = inner is not str

    def hook(value: object, _: object) -> object:
        if value is None or (empty_is_none and value == ""):
            return None
        return inner_hook(value, inner)

    return hook


_UnionType = type(int | None)
converter.register_structure_hook_factory(_is_optional, _optional_hook)


def _enum_hook(tp: type[enum.Enum]) -> Callable[[object, object], enum.Enum]:
    def hook(value: object, _: object) -> enum.Enum:
        try:
            return tp(value)
        except ValueError:
            missing = getattr(tp, "_missing_", None)
            if missing is not None:
                result = missing(value)
                if isinstance(result, tp):
                    return result
            raise

    return hook


converter.register_structure_hook_factory(
    lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_hook
)


def _has_extra(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls) and EXTRA in attrs.fields_dict(cls)


def _extra_keeping_hook(cls: type[Any]) -> Callable[[object, object], Any]:
    fields = attrs.fields(cls)
    renames = {f.name: f.metadata["wire"] for f in fields if "wire" in f.metadata}
    overrides: dict[str, Any] = {name: override(rename=key) for name, key in renames.items()}
    base = make_dict_structure_fn(
        cls, converter, _cattrs_forbid_extra_keys=False, **overrides, extra=override(omit=True)
    )
    known = {renames.get(f.name, f.name) for f in fields if f.name != EXTRA}
    dropped: frozenset[str] = getattr(cls, "__bhtom_drop__", frozenset())

    def hook(value: object, _: object) -> Any:
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a JSON object for {cls.__name__}, got {type(value).__name__}")
        clean = {k: v for k, v in value.items() if k not in dropped}
        instance = base(clean, cls)
        extra = {k: v for k, v in clean.items() if k not in known}
        return attrs.evolve(instance, extra=extra) if extra else instance

    return hook


converter.register_structure_hook_factory(_has_extra, _extra_keeping_hook)
