"""`--json` serialisation, tables, progress lines and the exit-code rules, without a server."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import attrs
import click
import pytest
from click.testing import CliRunner

from bhtom_async._secret import Secret
from bhtom_async.cli._core import ExitCode, exit_code_for
from bhtom_async.cli.calibration import calibration_json, results_exit_code
from bhtom_async.cli.output import emit_json, print_table, to_jsonable
from bhtom_async.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidInputError,
    ServerError,
    TargetNotFoundError,
    ValidationError,
)
from bhtom_async.models.calibration import CalibrationResult, CalibrationStatus


class Pair(NamedTuple):
    source: str
    alias: str


@attrs.frozen
class Model:
    when: dt.datetime
    day: dt.date
    path: Path
    token: Secret
    blob: bytes
    pairs: tuple[Pair, ...]
    status: CalibrationStatus


def test_to_jsonable_handles_model_fields() -> None:
    """Datetimes become ISO strings, secrets are masked, bytes left out, named tuples become objects."""
    model = Model(
        when=dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone.utc),
        day=dt.date(2026, 11, 24),
        path=Path("/a/b"),
        token=Secret("0123456789abcdef"),
        blob=b"\x89PNG",
        pairs=(Pair("gaia", "G1"),),
        status=CalibrationStatus.SUCCESS,
    )
    data = to_jsonable(model)
    assert data == {
        "when": "2026-11-24T12:00:00+00:00",
        "day": "2026-11-24",
        "path": "/a/b",
        "token": "****…cdef",
        "pairs": [{"source": "gaia", "alias": "G1"}],
        "status": "S",
    }
    json.dumps(data)


def _capture(func: Callable[[], object]) -> str:
    @click.command()
    def command() -> None:
        func()

    return CliRunner().invoke(command, catch_exceptions=False).output


def test_emit_json_prints_one_document() -> None:
    """`emit_json` writes a single parseable document."""
    out = _capture(lambda: emit_json([{"a": dt.date(2026, 1, 2)}]))
    assert json.loads(out) == [{"a": "2026-01-02"}]


def test_table_has_no_control_codes_off_a_terminal() -> None:
    """Tables printed to a pipe are plain text."""
    out = _capture(lambda: print_table(["id", "mag"], [[1, 15.25], [2, None]], title="T"))
    assert "15.25" in out
    assert "\x1b[" not in out


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInputError("bad"), ExitCode.USAGE),
        (ConfigurationError("bad"), ExitCode.FATAL),
        (AuthenticationError("no", status=401, method="GET", path="/x/"), ExitCode.FATAL),
        (TargetNotFoundError("X", method="GET", path="/x/"), ExitCode.FATAL),
        (ValidationError("not in favourites", status=400, method="POST", path="/upload/"), ExitCode.FATAL),
        (ServerError("boom", status=500, method="GET", path="/x/"), ExitCode.SOME_FAILED),
    ],
)
def test_error_exit_codes(error: Exception, code: ExitCode) -> None:
    """Each library error maps to its documented exit code."""
    assert exit_code_for(error) == code  # type: ignore[arg-type]


def test_results_exit_codes() -> None:
    """Calibration errors give 1; still pending after a wait gives 4; otherwise 0."""
    ok = CalibrationResult(1, CalibrationStatus.SUCCESS, magnitude=15.0, error=0.01)
    bad = CalibrationResult(2, CalibrationStatus.ERROR)
    pending = CalibrationResult(3, CalibrationStatus.PENDING)
    assert results_exit_code([ok], waited=True) == ExitCode.OK
    assert results_exit_code([ok, bad], waited=True) == ExitCode.SOME_FAILED
    assert results_exit_code([ok, pending], waited=True) == ExitCode.UNKNOWN_OUTCOME
    assert results_exit_code([ok, pending], waited=False) == ExitCode.OK


def test_calibration_json_shape() -> None:
    """The documented calibration-result keys, with the status as a lower-case name."""
    data = calibration_json(CalibrationResult(5, CalibrationStatus.SUCCESS, magnitude=15.0, error=-0.1))
    assert data["status"] == "success"
    assert data["is_limit"] is True
    assert set(data) == {
        "dataproduct_id",
        "filename",
        "status",
        "magnitude",
        "error",
        "is_limit",
        "filter",
        "mjd",
        "observatory",
        "status_message",
        "message",
        "dry_run",
        "plot_path",
    }
