"""Replays the 50 recorded real-server exchanges against the emulator.

Each test sends the recorded request and checks the status, the headers that matter and the
body: exact for errors, HTML and CSV; for JSON the same keys in the same order and the same
value types everywhere, and for the harness rows the recorded values themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bhtom_async.emulator import Emulator

from .conftest import CAPTURES, capture

NAMES = sorted(p.stem for p in CAPTURES.glob("[0-9][0-9]_*.json")) or ["00_missing"]
#: Captures whose request needs an earlier step of the recording session first.
SETUP = {
    "27_addFavouriteObservatory_duplicate": "26_addFavouriteObservatory_by_oname",
    "31_getFavouriteObservatory": "26_addFavouriteObservatory_by_oname",
    "32_getFavouriteObservatory_filter_user": "26_addFavouriteObservatory_by_oname",
}
#: HarnessStar2 is seeded, so capture 11 creates a new name at new coordinates instead.
RENAMED = {"11_createTarget_new": {"name": "HarnessStar9", "ra": 55.5, "dec": 10.25}}
#: Headers that differ per request.
VOLATILE = {"Correlation-ID"}
#: Row keys stamped with the wall clock when an earlier replayed step created the row.
LIVE_KEYS = ("created", "modified")


def _send(emu: Emulator, name: str) -> httpx.Response:
    req = capture(name)["request"]
    headers: dict[str, str] = {}
    if name == "05_getTargetList_bad_token":
        headers["Authorization"] = "Token " + "0" * 40
    elif req["auth"] == "user":
        headers["Authorization"] = f"Token {emu.tokens['alice']}"
    elif req["auth"] == "admin":
        headers["Authorization"] = f"Token {emu.tokens['admin']}"
    body = req["body"]
    if name in RENAMED:
        body = {**body, **RENAMED[name]}
    with httpx.Client(base_url=emu.base_url, timeout=10) as http:
        if req["content_type"] == "application/x-www-form-urlencoded":
            headers["Content-Type"] = req["content_type"]
            return http.request(req["method"], req["path"], content=body, headers=headers)
        if body is None:
            return http.request(req["method"], req["path"], headers=headers)
        return http.request(req["method"], req["path"], json=body, headers=headers)


def _kind(value: Any) -> str:
    return type(value).__name__


def assert_same_shape(expected: Any, actual: Any, where: str = "$") -> None:
    """Same keys (in order) and value types; null on either side matches (nullable fields)."""
    if expected is None or actual is None:
        return
    assert _kind(actual) == _kind(expected), f"{where}: {actual!r} vs recorded {expected!r}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys differ"
        for key, value in expected.items():
            assert_same_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list) and expected:
        for index, item in enumerate(actual):
            assert_same_shape(_model_for(expected, item), item, f"{where}[{index}]")


def _model_for(recorded: list[Any], item: Any) -> Any:
    """The recorded list item with the same leading key (lists may mix records and errors)."""
    if isinstance(item, dict) and item:
        first = next(iter(item))
        for candidate in recorded:
            if isinstance(candidate, dict) and first in candidate:
                return candidate
    return recorded[0]


def _normalise(value: Any, port_of: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v, port_of) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, port_of) for v in value]
    if isinstance(value, str):
        return re.sub(r"127\.0\.0\.1:\d+", "HOST", value)
    return value


def _identity(item: dict[str, Any]) -> Any:
    for key in ("id", "dataproduct", "name"):
        if key in item:
            return (key, item[key])
    if "user" in item and "camera" in item:
        return ("favourite", item["user"], item["camera"])
    return None


def _same_row(served: dict[str, Any] | None, recorded: dict[str, Any]) -> bool:
    if served == recorded:
        return True
    if served is None or recorded.get("user") != 2:  # only rows the replay itself created
        return False
    strip = lambda row: {k: v for k, v in row.items() if k not in LIVE_KEYS}  # noqa: E731
    return strip(served) == strip(recorded)


@pytest.mark.parametrize("name", NAMES)
def test_capture_replay(emu: Emulator, name: str) -> None:
    """Every captured request gets the captured status, headers and body shape."""
    recorded = capture(name)
    if name in SETUP:
        assert _send(emu, SETUP[name]).status_code < 400
    response = _send(emu, name)
    assert response.status_code == recorded["status"], response.text[:300]
    for header, value in recorded["response_headers"].items():
        assert header in response.headers, f"missing header {header}"
        if header not in VOLATILE:
            assert response.headers[header] == value, header
    if recorded["json"] is None:
        assert response.text == recorded["text"]
        return
    body = response.json()
    expected = recorded["json"]
    if name in RENAMED:
        expected = {**expected, **RENAMED[name]}
    if isinstance(expected, dict) and "token" in expected:
        expected = {"token": emu.tokens["alice"]}  # tokens are the emulator's own
    if recorded["status"] >= 400 or not isinstance(expected, (dict, list)):
        assert body == expected
        return
    assert_same_shape(expected, body)
    norm = _normalise(body, str)
    if isinstance(expected, dict) and isinstance(expected.get("data"), list):
        by_identity = {_identity(item): item for item in norm["data"] if isinstance(item, dict)}
        for item in _normalise(expected["data"], str):
            found = by_identity.get(_identity(item)) if "Error" not in item else None
            assert _same_row(found, item) or item in norm["data"], f"row {item} not served"
    elif name not in RENAMED:
        assert norm == _normalise(expected, str)


def test_captures_are_present() -> None:
    """The recorded exchanges are where the tests expect them (otherwise nothing is compared)."""
    assert len(NAMES) == 50, f"expected 50 captures in {CAPTURES}"
