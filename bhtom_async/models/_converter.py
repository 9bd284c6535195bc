"""The one cattrs converter: server JSON → attrs models, tolerant of what the real database holds.

The real server's rows are looser than its documentation: nullable flags, SQL NULL arrays and
NULL array elements, JSON columns holding objects or a bare string where a list of names is
expected, ``""`` for null (the data-product view's ``x or ""``), numbers sent as strings, and
millisecond or microsecond ISO datetimes with ``Z``. The rule is one, for every model:

* A value that cannot be read as its field's type never fails the call: the field becomes None
  (an empty tuple for sequences, an empty dict for mappings) and the row is kept.
* Numbers sent as strings are read; NULL (or unreadable) elements of number arrays become NaN.
* In a list of names, an object gives its ``username`` (else its ``name``, else its ``id`` as
  text) and a bare string is one name, not a list of letters.
* An enum value this version does not know becomes the enum's ``UNKNOWN`` member.
* Null is silent in a field whose default is None; anywhere else (identity fields, flags with a
  default, sequences) it is recorded like any other value that had to be replaced.
* Every model keeps the keys it does not know in `extra` and the row exactly as received in
  `raw` (left out of ``==`` and ``repr``), minus keys listed in ``__bhtom_drop__`` (password
  hashes), which are never kept anywhere.

What had to be replaced is recorded in a `DecodeReport`, so a caller can say once per call which
fields of how many rows it could not read (never one line per row). A field marked
`required()` is the exception: an object whose required field cannot be read fails as a whole
(an upload receipt without a readable id must not pass for a stored file).
"""

from __future__ import annotations

import collections
import contextvars
import datetime as dt
import enum
import functools
import math
import types
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs

__all__ = [
    "DecodeReport",
    "converter",
    "local",
    "parse_datetime",
    "required",
    "structure",
    "wire",
]

T = TypeVar("T")
EXTRA = "extra"
RAW = "raw"
converter = cattrs.Converter(forbid_extra_keys=False)


def wire(key: str) -> dict[str, object]:
    """Field metadata naming the JSON key when it is not a Python name (``"file name:"``)."""
    return {"wire": key}


def required(key: str | None = None) -> dict[str, object]:
    """Field metadata: the object fails as a whole when this field cannot be read."""
    return {"required": True, **({"wire": key} if key is not None else {})}


def local() -> dict[str, object]:
    """Field metadata: set by this client, never read from the server (a same-named key goes to `extra`)."""
    return {"local": True}


@attrs.define
class DecodeReport:
    """What one call could not read as typed: rows seen, rows affected, and rows per field.

    `fields` maps a field path (``has_optical``, ``calibration_data.magnitude``) to the number
    of rows in which that field's value had to be replaced.
    """

    rows: int = 0
    affected: int = 0
    fields: collections.Counter[str] = attrs.field(factory=collections.Counter)

    def add_row(self, problems: set[str]) -> None:
        """Count one converted row and the fields that had to be replaced in it."""
        self.rows += 1
        if problems:
            self.affected += 1
            self.fields.update(problems)

    def merge(self, other: DecodeReport) -> None:
        """Add another report's counts to this one (pages of one call)."""
        self.rows += other.rows
        self.affected += other.affected
        self.fields.update(other.fields)

    def __bool__(self) -> bool:
        return self.affected > 0

    def message(self, call: str) -> str | None:
        """One sentence for the log, or None when every value was read as typed."""
        if not self:
            return None
        names = ", ".join(
            f"{name} ({count} row{'s' if count != 1 else ''})" for name, count in sorted(self.fields.items())
        )
        return (
            f"{call}: {self.affected} of {self.rows} row{'s' if self.rows != 1 else ''} held values "
            f"this version does not read as typed: {names}. They were replaced (None, empty, NaN, "
            "or names read from objects); each row's `raw` keeps what the server sent"
        )


class _Collector:
    """Strictly private: the problems of the row being converted.

    Each problem is a field path built inside out: a hook that replaces a value appends an empty
    path, and every model hook it sits in appends its field's name on the way back out. No
    per-field bookkeeping is paid for the values that read cleanly (a 50-page target list has
    half a million of them).
    """

    def __init__(self) -> None:
        self.notes: list[list[str]] = []

    def problems(self) -> set[str]:
        return {".".join(reversed(path)) or "(the row itself)" for path in self.notes}


_current: contextvars.ContextVar[_Collector | None] = contextvars.ContextVar("bhtom_decode", default=None)


def _note() -> None:
    collector = _current.get()
    if collector is not None:
        collector.notes.append([])


def structure(data: object, cls: type[T], report: DecodeReport | None = None) -> T:
    """Convert one server row (or answer) into `cls`, counting what had to be replaced in `report`.

    A row that is not even a JSON object still gives an instance (every field at its fallback,
    `raw` empty) when `cls` keeps raw rows, so no row is ever dropped.

    Raises:
        ValueError: a `required()` field could not be read, or `cls` is not a model and the
            value does not fit it.
    """
    collector = _Collector()
    token = _current.set(collector)
    try:
        try:
            result: T = converter.structure(data, cls)
        except _NotAnObject:
            result = _empty(cls)
            collector.notes.append(["(the row itself: not a JSON object)"])
    finally:
        _current.reset(token)
    if report is not None:
        report.add_row(collector.problems())
    return result


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


# -- scalars ------------------------------------------------------------------------------------


def _int(value: object, _: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            value = float(text)  # "3.0"; anything else raises ValueError here
    if isinstance(value, float) and value.is_integer():
        return int(value)
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


_TRUE = ("true", "1", "t", "yes", "y")
_FALSE = ("false", "0", "f", "no", "n")


def _bool(value: object, _: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int):
        return bool(value)
    raise ValueError(f"expected a boolean, got {value!r}")


def _object(value: object, _: object) -> object:
    return value


converter.register_structure_hook(int, _int)
converter.register_structure_hook(float, _float)
converter.register_structure_hook(str, _str)
converter.register_structure_hook(bool, _bool)
converter.register_structure_hook(dt.datetime, lambda v, _: parse_datetime(v))
converter.register_structure_hook_func(lambda t: t is object, _object)

_UnionType = type(int | None)


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


converter.register_structure_hook_factory(_is_optional, _optional_hook)


# -- sequences and mappings -------------------------------------------------------------------


def _is_tuple_of(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _name_of(item: object) -> str:
    """One entry of a list of names: a string as is, an object by its username, name or id."""
    if isinstance(item, Mapping):
        for key in ("username", "name", "id"):
            found = item.get(key)
            if isinstance(found, (str, int)) and not isinstance(found, bool) and str(found).strip():
                return str(found)
        raise ValueError(f"no username in {item!r}")
    if isinstance(item, bool) or not isinstance(item, (str, int, float)):
        raise ValueError(f"expected a name, got {item!r}")
    return str(item)


def _tuple_hook(tp: Any) -> Callable[[object, object], tuple[Any, ...]]:
    element = get_args(tp)[0]
    if element is str:
        # A list of names (observers): objects give their username, a bare string is one name.
        def names(value: object, _: object) -> tuple[Any, ...]:
            if isinstance(value, str):
                if not value.strip():
                    return ()
                _note()
                return (value,)
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"expected a list of names, got {value!r}")
            if any(item is None or isinstance(item, Mapping) for item in value):
                _note()  # an interpretation (or a NULL dropped), so it is reported
            return tuple(_name_of(item) for item in value if item is not None)

        return names
    if element is float:
        # Number arrays (ArrayField): NULL or unreadable elements become NaN, the rest is kept.
        def numbers(value: object, _: object) -> tuple[Any, ...]:
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"expected a list of numbers, got {value!r}")
            out = []
            for item in value:
                try:
                    out.append(_float(item, float))
                except ValueError:
                    _note()
                    out.append(math.nan)
            return tuple(out)

        return numbers
    element_hook = converter.get_structure_hook(element)

    def items(value: object, _: object) -> tuple[Any, ...]:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"expected a list, got {value!r}")
        return tuple(element_hook(item, element) for item in value)

    return items


converter.register_structure_hook_factory(_is_tuple_of, _tuple_hook)


def _is_mapping(tp: Any) -> bool:
    return get_origin(tp) in (dict, Mapping, collections.abc.Mapping) and get_args(tp)[:1] == (str,)


def _mapping_hook(value: object, _: object) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a JSON object, got {value!r}")
    return {str(k): v for k, v in value.items()}


converter.register_structure_hook_func(_is_mapping, _mapping_hook)


# -- enums --------------------------------------------------------------------------------------


def _enum_hook(tp: type[enum.Enum]) -> Callable[[object, object], enum.Enum]:
    unknown = tp.__members__.get("UNKNOWN")

    def hook(value: object, _: object) -> enum.Enum:
        try:
            return tp(value)
        except ValueError:
            if unknown is None:
                raise
            _note()
            return unknown

    return hook


converter.register_structure_hook_factory(
    lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_hook
)


# -- models -------------------------------------------------------------------------------------


class _NotAnObject(ValueError):
    """Strictly private: a model was given something other than a JSON object."""


def _is_model(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls) and EXTRA in attrs.fields_dict(cls)


def _fallback(field: attrs.Attribute[Any]) -> object:
    """What a field holds when its value cannot be read: None, (), {}, or the enum's UNKNOWN."""
    tp = field.type
    if _is_tuple_of(tp):
        return ()
    if _is_mapping(tp):
        return {}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp.__members__.get("UNKNOWN")
    return None


def _null_is_normal(field: attrs.Attribute[Any]) -> bool:
    # The default says what absence looks like: null is only silent where the default is None.
    return field.default is None


def _empty(cls: type[T]) -> T:
    """An instance of a model with every field at its fallback (a row that was not an object)."""
    model: Any = cls
    if not _is_model(model) or any(f.metadata.get("required") for f in attrs.fields(model)):
        raise ValueError(f"expected a JSON object for {getattr(cls, '__name__', cls)}")
    attrs.resolve_types(model)
    kwargs = {f.name: _fallback(f) for f in attrs.fields(model) if f.init and f.name != RAW}
    instance: T = model(**kwargs)
    return instance


def _model_hook(cls: type[Any]) -> Callable[[object, object], Any]:
    attrs.resolve_types(cls)
    fields = [
        f for f in attrs.fields(cls) if f.init and f.name not in (EXTRA, RAW) and not f.metadata.get("local")
    ]
    plan = [
        _Step(
            name=f.name,
            key=f.metadata.get("wire", f.name),
            type=f.type,
            hook=converter.get_structure_hook(f.type) if f.type else None,
            has_default=f.default is not attrs.NOTHING,
            null_is_normal=_null_is_normal(f),
            required=bool(f.metadata.get("required")),
            fallback=functools.partial(_fallback, f),
        )
        for f in fields
    ]
    known = {step.key for step in plan}
    dropped: frozenset[str] = getattr(cls, "__bhtom_drop__", frozenset())
    keeps_raw = RAW in attrs.fields_dict(cls)

    def hook(value: object, _: object) -> Any:
        if not isinstance(value, Mapping):
            raise _NotAnObject(f"expected a JSON object for {cls.__name__}, got {type(value).__name__}")
        clean = {k: v for k, v in value.items() if k not in dropped} if dropped else value
        collector = _current.get()
        notes = collector.notes if collector is not None else []
        kwargs: dict[str, object] = {}
        for step in plan:
            if step.key not in clean:
                if not step.has_default:
                    # A missing identity (a target's name): the row is kept, the field is empty.
                    if step.required:
                        raise ValueError(f"{cls.__name__}.{step.name} is missing")
                    notes.append([step.name])
                    kwargs[step.name] = step.fallback()
                continue
            raw = clean[step.key]
            if raw is None and not step.null_is_normal:
                if step.required:
                    raise ValueError(f"{cls.__name__}.{step.name} is null")
                notes.append([step.name])
                kwargs[step.name] = step.fallback()
                continue
            if step.hook is None:
                kwargs[step.name] = raw
                continue
            mark = len(notes)
            try:
                kwargs[step.name] = step.hook(raw, step.type)
            except Exception as exc:
                # The rule of this converter: an unreadable value never fails the call. It is
                # counted (and reported once per call by the caller), and the row keeps it in `raw`.
                if step.required:
                    raise ValueError(f"cannot read {cls.__name__}.{step.name}: {exc}") from None
                notes.append([])
                kwargs[step.name] = step.fallback()
            if len(notes) > mark:
                for path in notes[mark:]:
                    path.append(step.name)
        extra = {k: v for k, v in clean.items() if k not in known}
        if extra:
            kwargs[EXTRA] = extra
        if keeps_raw:
            kwargs[RAW] = types.MappingProxyType(dict(clean))
        return cls(**kwargs)

    return hook


@attrs.frozen
class _Step:
    """Strictly private: how a model hook reads one field, worked out once per model."""

    name: str
    key: str
    type: Any
    hook: Callable[[object, Any], object] | None
    has_default: bool
    null_is_normal: bool
    required: bool
    fallback: Callable[[], object]


converter.register_structure_hook_factory(_is_model, _model_hook)
