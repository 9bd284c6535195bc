"""`bh.users.list`: filters, the bare-list answer, no password hashes, admin refusal."""

from __future__ import annotations

import datetime as dt
import json

import attrs
import httpx
import pytest
import respx

from bhtom_async import Client, errors
from bhtom_async.models import User

from ...conftest import BASE_URL

pytestmark = pytest.mark.anyio
PATH = BASE_URL + "/common/api/users/"
HASH = "pbkdf2_sha256$600000$salt$c2VjcmV0aGFzaA=="
RAW_USER = {
    "id": 3,
    "password": HASH,
    "last_login": None,
    "is_superuser": False,
    "username": "alice",
    "first_name": "Alice",
    "last_name": "Observer",
    "email": "alice@example.test",
    "is_staff": False,
    "is_active": True,
    "date_joined": "2026-11-24T13:57:01.000000Z",
    "groups": [1],
    "user_permissions": [],
}


async def test_list_sends_filters_and_reads_the_bare_list(bh: Client) -> None:
    """list() posts id/username/created and reads the server's unpaginated bare list as Users."""
    with respx.mock:
        route = respx.post(PATH).mock(return_value=httpx.Response(200, json=[RAW_USER]))
        users = await bh.users.list(id=3, username="alice", created=dt.date(2026, 1, 1)).to_list()
    assert json.loads(route.calls.last.request.content) == {
        "id": 3,
        "username": "alice",
        "created": "2026-01-01",
        "page": 1,
    }
    assert route.call_count == 1
    (user,) = users
    assert isinstance(user, User)
    assert (user.id, user.username, user.email, user.full_name, user.groups) == (
        3,
        "alice",
        "alice@example.test",
        "Alice Observer",
        (1,),
    )
    assert user.date_joined == dt.datetime(2026, 11, 24, 13, 57, 1, tzinfo=dt.timezone.utc)


async def test_password_hash_is_never_kept_or_shown(bh: Client) -> None:
    """The password hash the server sends is in no field, not in `extra`, and not in repr()."""
    with respx.mock:
        respx.post(PATH).mock(return_value=httpx.Response(200, json=[{**RAW_USER, "new_key": 1}]))
        (user,) = await bh.users.list().to_list()
    assert "password" not in user.extra
    assert user.extra == {"new_key": 1}
    assert HASH not in repr(user)
    assert HASH not in repr(attrs.asdict(user))


async def test_non_staff_redirect_is_permission_denied(bh: Client) -> None:
    """The server's 302 to the login page for non-staff becomes PermissionDeniedError."""
    with respx.mock:
        respx.post(PATH).mock(
            return_value=httpx.Response(302, headers={"Location": "/accounts/login/?next=/common/api/users/"})
        )
        with pytest.raises(errors.PermissionDeniedError):
            await bh.users.list().to_list()


async def test_bad_created_date_is_refused_locally(bh: Client) -> None:
    """`created` must be a date or YYYY-MM-DD."""
    with pytest.raises(errors.InvalidInputError):
        bh.users.list(created="01.01.2026")
