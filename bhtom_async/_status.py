"""HTTP status + error body → the right `errors.APIError`, with a hint saying what to do."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypedDict

from ._error_body import ErrorBody, parse_error_body
from .errors import (
    APIError,
    AuthenticationError,
    CameraNotFavouriteError,
    NotFoundError,
    ObserverUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TargetNotFoundError,
    ValidationError,
)

__all__ = ["error_for_status"]


class _Where(TypedDict):
    status: int
    method: str
    path: str


AUTH_HINT = "check BHTOM_TOKEN (or Client(token=...)), or run `bhtom login` to store a fresh token"
AUTH_CLI_HINT = "check BHTOM_TOKEN (or --token), or run `bhtom login` to store a fresh token"

# The refusals callers branch on, recognised once here. Texts as the upload service and the
# common API send them: "Target 'X' does not exist." (legacy: "... does not exist in the bhtom."),
# "Observatory with camera doesn't exist on your list", "The following usernames do not exist: a, b".
_TARGET_MISSING = re.compile(r"Target '(?P<name>.*?)' does(?: not|n't) exist", re.IGNORECASE)
_CAMERA_NOT_FAVOURITE = re.compile(
    r"doesn't exist on your list|does not exist on your list|not (?:in|on) your (?:favourite|list)",
    re.IGNORECASE,
)
_OBSERVERS_UNKNOWN = re.compile(
    r"(?:usernames?|observers?(?:\(s\))?)\s+(?:do|does)\s+not\s+exist:?\s*(?P<names>.*)", re.IGNORECASE
)


def error_for_status(
    *,
    status: int,
    method: str,
    path: str,
    headers: Mapping[str, str],
    content: bytes,
    retry_after: float | None = None,
    base_url: str = "",
) -> APIError:
    """Build the error for a non-2xx answer. `headers` keys are lower-case."""
    body = parse_error_body(content, headers.get("content-type", ""))
    common = _Where(status=status, method=method, path=path)
    if status in (301, 302, 303, 307, 308):
        location = headers.get("location", "")
        if "/accounts/login" in location:
            # The real server turns every 403 into a redirect to its login page.
            return PermissionDeniedError(
                "this call is for BHTOM admins (staff) only; the server redirected to its login page",
                hint="use the token of an admin account, or ask the BHTOM team to do this",
                **common,
            )
        return APIError(
            f"unexpected redirect to {location or 'nowhere'}",
            hint="BHTOM paths end in '/'; check base_url and the path",
            **common,
        )
    if status == 401:
        inactive = "inactive" in body.message.lower()
        return AuthenticationError(
            body.message,
            hint="new BHTOM accounts wait for approval; contact the BHTOM team" if inactive else AUTH_HINT,
            cli_hint=None if inactive else AUTH_CLI_HINT,
            **common,
        )
    if status == 403:
        return PermissionDeniedError(body.message, hint="this account may not do this", **common)
    if status == 404:
        if body.is_html:
            return NotFoundError(
                "no such path on this server",
                hint=f"check base_url ({base_url or 'not set'}) and that it is a BHTOM server",
                **common,
            )
        if body.is_field_dict:
            # The server answers many validation failures with 404 (docs/server-behaviour.md).
            return _refusal(body, common)
        return NotFoundError(body.message, **common)
    if status in (400, 422):
        return _refusal(body, common)
    if status == 405:
        return APIError(body.message, hint="wrong HTTP method for this path", **common)
    if status == 413:
        return APIError("request body too large", hint="the server refused the file size", **common)
    if status == 429:
        return RateLimitError(
            body.message or "too many requests",
            retry_after=retry_after,
            hint="the server asked for a pause; lower the concurrency or rate",
            **common,
        )
    if status >= 500:
        if status in (502, 503, 504):
            hint = "the server or its proxy is unavailable; try again later"
        elif body.is_html:
            hint = (
                "the server crashed on this request; it does so for unknown names and some "
                "filters too, so check the arguments, then try again later"
            )
        else:
            hint = None
        return ServerError(body.message, hint=hint, **common)
    return APIError(body.message, **common)


def _refusal(body: ErrorBody, common: _Where) -> ValidationError | TargetNotFoundError:
    """A refusal of the request's content, as the most specific error its text allows."""
    text = body.message
    missing = _TARGET_MISSING.search(text)
    if missing is not None:
        return TargetNotFoundError(missing.group("name"), **common)
    if _CAMERA_NOT_FAVOURITE.search(text):
        return CameraNotFavouriteError(text, field_errors=body.field_errors, **common)
    unknown = _OBSERVERS_UNKNOWN.search(text)
    if unknown is not None:
        names = [n.strip(" .'\"") for n in unknown.group("names").split(",")]
        return ObserverUnknownError(
            text, usernames=[n for n in names if n], field_errors=body.field_errors, **common
        )
    return ValidationError(text, field_errors=body.field_errors, **common)
