"""Reading requests the way DRF does: ``request.data``, token auth, Django-style coercions."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from .calibration import CalibrationSettings
from .records import User
from .state import State

__all__ = [
    "BadRequest",
    "Ctx",
    "FieldIdError",
    "authenticate",
    "django_int",
    "parse_body",
    "parse_bool_word",
    "parse_iso",
]


class BadRequest(Exception):
    """A body DRF cannot parse: 400 with this detail."""


class FieldIdError(ValueError):
    """Django's message for a non-numeric id lookup."""

    def __init__(self, value: Any) -> None:
        super().__init__(f"Field 'id' expected a number but got {value!r}.")


@dataclass
class Ctx:
    """Everything a view needs for one request."""

    request: Request
    state: State
    settings: CalibrationSettings
    user: User | None
    data: Any
    now: float
    host_name: str
    client_ip: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.request.url.path

    @property
    def me(self) -> User:
        """The authenticated user (views behind IsAuthenticated only)."""
        assert self.user is not None
        return self.user


def content_type(request: Request) -> str:
    """Media type of the request body, lower-case, without parameters."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def parse_body(request: Request) -> Any:
    """DRF's ``request.data``: JSON as sent; form and multipart collapse to last values."""
    media = content_type(request)
    if media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        try:
            data: dict[str, Any] = {}
            for key, value in form.multi_items():
                data[key] = value.filename if isinstance(value, UploadFile) else value
            return data
        finally:
            await form.close()
    body = await request.body()
    if not body:
        return {}
    if media == "application/json" or media.endswith("+json") or not media:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"JSON parse error - {exc}") from exc
    raise BadRequest(f'Unsupported media type "{media}" in request.')


def authenticate(state: State, header: str | None) -> tuple[User | None, str | None]:
    """TokenAuthentication: (user, None), (None, None) when absent, or (None, 401 detail)."""
    if not header:
        return None, None
    parts = header.split()
    if not parts or parts[0].lower() != "token":
        return None, None
    if len(parts) == 1:
        return None, "Invalid token header. No credentials provided."
    if len(parts) > 2:
        return None, "Invalid token header. Token string should not contain spaces."
    user = state.user_by_token(parts[1])
    if user is None:
        return None, "Invalid token."
    if not user.is_active:
        return None, "User inactive or deleted."
    return user, None


def django_int(value: Any) -> int:
    """An integer-field lookup value, or :class:`FieldIdError` like Django raises."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise FieldIdError(value)


_TRUE = {"true", "1", "yes", "y", "t", "on"}
_FALSE = {"false", "0", "no", "n", "f", "off"}


def parse_bool_word(value: Any) -> bool:
    """A boolean from JSON or a form word; ValueError on anything else."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"Invalid boolean value: {value}")


def parse_iso(value: Any) -> float:
    """ISO date or datetime as epoch seconds (naive means UTC); ValueError otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"expected string or bytes-like object, got {type(value).__name__!r}")
    text = value.strip().replace("Z", "+00:00")
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def wall_clock() -> float:
    """Seconds since the epoch (the emulator's only clock)."""
    return time.time()
