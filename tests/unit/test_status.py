"""Statuses map to the right error class with a hint saying what to do."""

from __future__ import annotations

import pytest

from bhtom_async import errors
from bhtom_async._status import error_for_status


def make(status: int, content: bytes = b"", **headers: str) -> errors.APIError:
    return error_for_status(
        status=status,
        method="POST",
        path="/x/",
        headers={k.replace("_", "-"): v for k, v in headers.items()},
        content=content,
    )


def test_redirect_to_login_is_permission_denied() -> None:
    """The server's 302 to /accounts/login/ (its form of 403) means admin rights are needed."""
    error = make(302, location="/accounts/login/?next=/common/api/users/")
    assert isinstance(error, errors.PermissionDeniedError)
    assert "admin" in str(error)


def test_other_redirect_hints_at_trailing_slash() -> None:
    """A 301 (slashless path) is an APIError that points at the trailing slash."""
    error = make(301, location="/targets/getTargetList/")
    assert type(error) is errors.APIError
    assert error.hint is not None
    assert "'/'" in error.hint


def test_401_hints_at_token() -> None:
    """A refused token says to check BHTOM_TOKEN or run `bhtom login`."""
    error = make(401, b'{"detail":"Invalid token."}', content_type="application/json")
    assert isinstance(error, errors.AuthenticationError)
    assert "bhtom login" in str(error)


def test_401_inactive_user_hints_at_approval() -> None:
    """An inactive (unapproved) account gets a different hint than a bad token."""
    error = make(401, b'{"detail":"User inactive or deleted."}')
    assert error.hint is not None
    assert "approval" in error.hint


def test_404_field_dict_is_validation_error() -> None:
    """The server answers validation failures with 404 and a field dict (capture 12)."""
    error = make(404, b'{"name": ["target with this Name already exists."]}')
    assert isinstance(error, errors.ValidationError)
    assert error.field_errors["name"] == ("target with this Name already exists.",)


def test_404_bare_string_is_not_found() -> None:
    """A bare-string 404 ("Camera with this name does not exist…") is NotFoundError (capture 29)."""
    error = make(404, b'"Camera with this name does not exist for this observatory"')
    assert type(error) is errors.NotFoundError
    assert error.message == "Camera with this name does not exist for this observatory"


def test_404_html_is_unknown_path() -> None:
    """Django's HTML 404 means the path is unknown: check base_url."""
    error = make(404, b"<h1>Not Found</h1>", content_type="text/html")
    assert isinstance(error, errors.NotFoundError)
    assert error.hint is not None
    assert "base_url" in error.hint


def test_400_is_validation_error() -> None:
    """400 bodies become ValidationError with the server's message."""
    error = make(400, b"{\"Error\":\"'calibid' or 'filename' fields are required.\"}")
    assert isinstance(error, errors.ValidationError)
    assert "calibid" in error.message


def test_429_is_rate_limit_with_retry_after() -> None:
    """429 carries the parsed Retry-After."""
    error = error_for_status(status=429, method="POST", path="/x/", headers={}, content=b"", retry_after=7.0)
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 7.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_server_error(status: int) -> None:
    """Every 5xx is a ServerError with a hint."""
    error = make(status, b"<h1>Server Error (500)</h1>", content_type="text/html")
    assert isinstance(error, errors.ServerError)
    assert error.hint


def test_error_str_is_one_sentence_with_call_and_hint() -> None:
    """str(error) names the method, path, status, message and hint on one line."""
    text = str(make(401, b'{"detail":"Invalid token."}'))
    assert text.startswith("POST /x/ → 401: Invalid token.")
    assert "\n" not in text


@pytest.mark.parametrize(
    "body",
    [
        b'{"non_field_errors":["Target \'Nope22\' does not exist."]}',
        b'{"target":["Target \'Nope22\' does not exist in the bhtom."]}',
    ],
)
def test_missing_target_refusal_is_target_not_found(body: bytes) -> None:
    """Both forms of the upload service's unknown-target answer become TargetNotFoundError."""
    error = make(400, body, content_type="application/json")
    assert isinstance(error, errors.TargetNotFoundError)
    assert error.target == "Nope22"
    assert error.status == 400


def test_camera_not_favourite_is_its_own_error() -> None:
    """'camera doesn't exist on your list' becomes CameraNotFavouriteError with both hints."""
    body = b'{"non_field_errors":["Observatory with camera doesn\'t exist on your list"]}'
    error = make(400, body, content_type="application/json")
    assert isinstance(error, errors.CameraNotFavouriteError)
    named = error.for_camera("My Obs_Cam")
    assert named.oname == "My Obs_Cam"
    assert "add_favourite(oname='My Obs_Cam')" in (named.hint or "")
    assert "bhtom observatories add-favourite 'My Obs_Cam'" in (named.cli_hint or "")


def test_unknown_observers_are_listed() -> None:
    """'The following usernames do not exist: bob, carol' becomes ObserverUnknownError."""
    body = b'{"error":"The following usernames do not exist: bob, carol"}'
    error = make(400, body, content_type="application/json")
    assert isinstance(error, errors.ObserverUnknownError)
    assert error.usernames == ("bob", "carol")


def test_other_refusals_stay_plain_validation_errors() -> None:
    """A refusal that names nothing callers branch on is a plain ValidationError."""
    error = make(400, b'{"non_field_errors":["Coordinates beyond range"]}', content_type="application/json")
    assert type(error) is errors.ValidationError


def test_headline_and_hints_are_separate_data() -> None:
    """`headline` is the sentence without advice; `hint` and `cli_hint` carry the advice apart."""
    error = make(401, b'{"detail":"Invalid token."}', content_type="application/json")
    assert error.headline == "POST /x/ → 401: Invalid token."
    assert "Hint" not in error.headline
    assert "Client(token=...)" in str(error.hint)
    assert "--token" in str(error.cli_hint)
    assert str(error) == f"{error.headline[:-1]}. Hint: {error.hint}"
