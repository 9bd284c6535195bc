"""One parser turns every error-body shape the server sends into an actionable message."""

from __future__ import annotations

import pytest

from bhtom_async._error_body import parse_error_body

DJANGO_500 = (
    b'\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n'
    b"<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            b"\"Wrong format: could not convert string to float: 'abc'\"",
            "application/json",
            "Wrong format: could not convert string to float: 'abc'",
        ),
        (b'{"Error": "Something went wrong"}', "application/json", "Something went wrong"),
        (
            b'{"Error ": "Target does not exist in the database "}',
            "application/json",
            "Target does not exist in the database",
        ),
        (b'{"error": "Target not found"}', "application/json", "Target not found"),
        (b'{"detail": "Invalid token."}', "application/json", "Invalid token."),
        (
            b'{"non_field_errors": ["Unable to log in with provided credentials."]}',
            "application/json",
            "Unable to log in with provided credentials.",
        ),
        (
            b'["Source found already at these coordinates (rad 3 arcsec)"]',
            "application/json",
            "Source found already at these coordinates (rad 3 arcsec)",
        ),
        (
            b'{"name": ["target with this Name already exists."]}',
            "application/json",
            "name: target with this Name already exists.",
        ),
        (DJANGO_500, "text/html", "HTML page: Server Error (500)"),
        (b"", "application/json", "empty response body"),
        (b"Internal error", "text/plain", "Internal error"),
    ],
)
def test_every_error_shape_becomes_a_message(body: bytes, content_type: str, message: str) -> None:
    """Bare strings, Error/Error /error/detail keys, non_field_errors, lists, field dicts, HTML, empty."""
    assert parse_error_body(body, content_type).message == message


def test_field_dict_keeps_field_errors() -> None:
    """A DRF field dict is reported per field so callers can show which argument was wrong."""
    parsed = parse_error_body(b'{"classification": ["\\"NotAClass\\" is not a valid choice."]}')
    assert parsed.is_field_dict
    assert parsed.field_errors == {"classification": ('"NotAClass" is not a valid choice.',)}


def test_html_page_is_reduced_to_a_short_snippet() -> None:
    """A huge HTML page never ends up whole in an error message."""
    page = b"<html><body>" + b"<p>noise</p>" * 100_000 + b"</body></html>"
    parsed = parse_error_body(page, "text/html")
    assert parsed.is_html
    assert len(parsed.message) <= 200


def test_long_json_message_is_clipped() -> None:
    """A very long JSON error string is clipped to about 200 characters."""
    assert len(parse_error_body(b'"' + b"x" * 5000 + b'"').message) <= 200
