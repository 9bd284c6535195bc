"""The converter's tolerance rule: odd values never fail a row; what was replaced is counted."""

from __future__ import annotations

import math

import pytest

from bhtom_async.models import (
    CalibrationRecord,
    CalibrationResult,
    CalibrationStatus,
    DataProduct,
    ReducedDatum,
    Target,
    UploadedFile,
    User,
)
from bhtom_async.models._converter import DecodeReport, structure


def test_null_flag_is_none_and_reported() -> None:
    """A NULL `has_optical` (a nullable column) reads as None and is counted, the rest is kept."""
    report = DecodeReport()
    target = structure({"name": "Gaia22bpl", "has_optical": None, "ra": 276.12}, Target, report)
    assert (target.name, target.has_optical, target.ra) == ("Gaia22bpl", None, 276.12)
    assert (report.rows, report.affected, dict(report.fields)) == (1, 1, {"has_optical": 1})


def test_wrong_type_becomes_none_and_numbers_in_strings_are_read() -> None:
    """A list where a float belongs gives None; "12.5" and "7" are read as numbers."""
    report = DecodeReport()
    target = structure({"name": "X", "dec": [1, 2], "ra": "12.5", "importance": "7"}, Target, report)
    assert (target.dec, target.ra, target.importance) == (None, 12.5, 7.0)
    assert dict(report.fields) == {"dec": 1}


def test_null_where_the_default_is_none_is_silent() -> None:
    """Null in a field whose default is None is ordinary data, not a problem."""
    report = DecodeReport()
    structure({"name": "X", "ra": None, "discovery_date": None}, Target, report)
    assert (report.rows, report.affected) == (1, 0)


def test_number_arrays_keep_their_length_with_nan_for_nulls() -> None:
    """NULL elements of value_list become NaN; a NULL array becomes () and is reported."""
    report = DecodeReport()
    datum = structure({"id": 1, "value_list": [1.5, None, "2"], "error_list": None}, ReducedDatum, report)
    assert datum.value_list[0] == 1.5
    assert math.isnan(datum.value_list[1])
    assert datum.value_list[2] == 2.0
    assert datum.error_list == ()
    assert dict(report.fields) == {"value_list": 1, "error_list": 1}


@pytest.mark.parametrize(
    ("observers", "expected"),
    [
        (["alice", "bob"], ("alice", "bob")),
        ("alice bob", ("alice bob",)),
        ([{"id": 3}, {"username": "bob", "id": 4}], ("3", "bob")),
        ([3, 4], ("3", "4")),
        ([None, "alice"], ("alice",)),
        (None, ()),
        ("", ()),
    ],
)
def test_observers_in_every_shape_the_json_column_holds(observers: object, expected: tuple[str, ...]) -> None:
    """Observers: names, one bare string, objects (username, else id), ids, NULLs."""
    product = structure({"id": 9, "observers": observers}, DataProduct)
    assert product.observers == expected


def test_unreadable_identity_is_none_and_the_raw_row_is_kept() -> None:
    """A data product whose id is not a number keeps its row: id None, `raw` as sent."""
    row = {"id": {"oops": 1}, "target_name": "Gaia22bpl", "new_key": 5}
    product = structure(row, DataProduct)
    assert product.id is None
    assert product.target_name == "Gaia22bpl"
    assert product.extra == {"new_key": 5}
    assert dict(product.raw) == row


def test_raw_is_left_out_of_equality_and_repr() -> None:
    """Two rows equal in their fields compare equal whatever `raw` holds; repr hides it."""
    one = structure({"name": "X", "unknown": None}, Target)
    two = structure({"name": "X", "unknown": None, "ra": None}, Target)
    assert one == two
    assert "raw" not in repr(one)


def test_a_row_that_is_not_an_object_is_kept_empty() -> None:
    """A list item that is not a JSON object still gives a row (all fields empty) and is counted."""
    report = DecodeReport()
    target = structure("junk", Target, report)
    assert target.name is None
    assert target.aliases == ()
    assert report.affected == 1


def test_empty_status_letter_is_unknown_and_kept() -> None:
    """A calibration record with status "" reads as UNKNOWN; the letter survives on the result."""
    report = DecodeReport()
    record = structure({"dataproduct": 5, "status": ""}, CalibrationRecord, report)
    result = CalibrationResult.from_record(record)
    assert record.status is CalibrationStatus.UNKNOWN
    assert (result.status_letter, result.is_done) == ("", False)
    assert dict(report.fields) == {"status": 1}


def test_a_new_status_letter_is_unknown_not_in_progress() -> None:
    """A letter this version does not know is UNKNOWN (and not final), never passed off as P."""
    record = structure({"dataproduct": 5, "status": "R"}, CalibrationRecord)
    assert (record.status, record.status_letter) == (CalibrationStatus.UNKNOWN, "R")


def test_password_hash_is_in_neither_extra_nor_raw() -> None:
    """Keys a model drops never reach `extra` or `raw`."""
    user = structure({"id": 1, "username": "alice", "password": "pbkdf2_sha256$x"}, User)
    assert "password" not in user.extra
    assert "password" not in user.raw


def test_upload_receipt_without_an_id_fails_as_a_whole() -> None:
    """An upload receipt whose id cannot be read raises: a stored file must never pass without id."""
    with pytest.raises(ValueError, match=r"UploadedFile\.id"):
        structure({"file name:": "a.fits", "id": "abc"}, UploadedFile)


def test_report_message_names_fields_and_rows_once() -> None:
    """The report is one sentence with every field and its row count."""
    report = DecodeReport()
    for row in ({"name": "A", "has_optical": None}, {"name": "B", "has_radio": None}, {"name": "C"}):
        structure(row, Target, report)
    message = report.message("POST /targets/getTargetList/")
    assert message is not None
    assert message.startswith("POST /targets/getTargetList/: 2 of 3 rows held values")
    assert "has_optical (1 row), has_radio (1 row)" in message
