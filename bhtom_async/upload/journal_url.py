"""Journal locations: a SQLite file path or a PostgreSQL URL, and how to show one safely.

A journal given as ``postgresql://user:password@host/db?sslmode=verify-full`` may carry a
password. It is shown everywhere (reprs, messages, ``--json``) as `masked`: the password becomes
``***``. Our own options ride in the URL's query (``lease``: seconds a claim lasts without a
heartbeat; ``reconnect``: seconds a call keeps trying to reach the database) and are taken out
before the rest goes to libpq unchanged.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

__all__ = ["OUR_OPTIONS", "is_postgres_url", "masked", "split_options"]

#: Query parameters that are ours, not libpq's (removed before connecting).
OUR_OPTIONS = ("lease", "reconnect")
_SCHEMES = ("postgresql://", "postgres://")
_SECRET_PARAMS = {"password", "sslpassword"}


def is_postgres_url(location: str) -> bool:
    """Whether `location` names a PostgreSQL journal (else it is a SQLite file)."""
    return location.strip().lower().startswith(_SCHEMES)


def masked(location: str | None) -> str | None:
    """`location` with any password replaced by ``***`` (a file path is returned as it is)."""
    if location is None or not is_postgres_url(location):
        return location
    parts = urlsplit(location.strip())
    netloc = parts.netloc
    if "@" in netloc:
        user_info, host = netloc.rsplit("@", 1)
        if ":" in user_info:
            user_info = user_info.split(":", 1)[0] + ":***"
        netloc = f"{user_info}@{host}"
    query = [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*/:"), parts.fragment))


def split_options(url: str) -> tuple[str, dict[str, str]]:
    """The URL for libpq (our options removed) and our options by name."""
    parts = urlsplit(url.strip())
    theirs, ours = [], {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in OUR_OPTIONS:
            ours[name] = value
        else:
            theirs.append((name, value))
    query = urlencode(theirs, quote_via=quote, safe="/")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)), ours
