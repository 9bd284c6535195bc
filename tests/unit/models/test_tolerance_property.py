"""Property: the converter reads any corruption of any model's row without raising or dropping it."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bhtom_async import models
from bhtom_async.models._converter import DecodeReport, structure

#: Every model the converter reads from the server (those that keep unknown keys in `extra`).
MODELS = sorted(
    (
        cls
        for name in models.__all__
        if attrs.has(cls := getattr(models, name)) and "extra" in attrs.fields_dict(cls)
    ),
    key=lambda cls: cls.__name__,
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["", "12.5", "NaN", "3", "2025-06-01T12:34:56.789Z", "S", "true"]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def corrupted_rows(draw: st.DrawFn, cls: type[Any]) -> dict[str, object]:
    """A plausible row with some keys dropped, some replaced by junk, and some extra keys."""
    row: dict[str, object] = {}
    for field in attrs.fields(cls):
        key = field.metadata.get("wire", field.name)
        if field.name in ("extra", "raw") or field.metadata.get("local"):
            continue
        if field.metadata.get("required"):
            row[key] = 1 if field.type in (int, "int") else "kept.fits"
            continue
        if draw(st.booleans()):
            continue  # a missing key
        row[key] = draw(JSON_VALUES)
    row.update(draw(st.dictionaries(st.text(min_size=1, max_size=6), JSON_VALUES, max_size=2)))
    return row


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_row_converts_and_is_counted(cls: type[Any], data: st.DataObject) -> None:
    """Null, wrong types, strings for numbers, missing and extra keys: no raise, one row out."""
    rows = data.draw(st.lists(corrupted_rows(cls), min_size=1, max_size=4))
    report = DecodeReport()
    converted = [structure(row, cls, report) for row in rows]
    assert [type(item) for item in converted] == [cls] * len(rows)
    assert report.rows == len(rows)
    for item, row in zip(converted, rows, strict=True):
        assert dict(item.raw) == {k: v for k, v in row.items() if k not in getattr(cls, "__bhtom_drop__", ())}


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_every_field_can_hold_its_fallback(cls: type[Any]) -> None:
    """Each field the converter may empty is typed to allow it (Optional, a tuple or a mapping)."""
    attrs.resolve_types(cls)
    rigid = [
        f.name
        for f in attrs.fields(cls)
        if f.name not in ("extra", "raw")
        and not f.metadata.get("required")
        and not f.metadata.get("local")
        and "None" not in str(f.type)
        and not str(f.type).startswith(("tuple[", "dict[", "collections.abc.Mapping", "typing.Mapping"))
        and f.type is not models.CalibrationStatus
    ]
    assert rigid == []


def test_the_models_list_is_complete() -> None:
    """The property covers every server model (a new model joins it automatically)."""
    names = {cls.__name__ for cls in MODELS}
    assert {"Target", "DataProduct", "ReducedDatum", "Comment", "FavouriteObservatory"} <= names
    assert {"CalibrationRecord", "Observatory", "Camera", "User", "TargetGroup"} <= names
