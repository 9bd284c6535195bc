"""`bh.comments.list`: filters, the recorded items, and the server's error shapes."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
import respx

from bhtom_async import Client, errors
from bhtom_async.models import Comment

from ...conftest import BASE_URL, capture

pytestmark = pytest.mark.anyio
PATH = BASE_URL + "/common/api/comments/"


def replay(number: str) -> httpx.Response:
    """The recorded JSON answer as an httpx response."""
    recorded = capture(number)
    return httpx.Response(int(recorded["status"]), json=recorded["json"])  # type: ignore[call-overload]


async def test_list_by_target_parses_recorded_comment(bh: Client) -> None:
    """list(target=...) posts {target, page}; the string target_id becomes an int."""
    with respx.mock:
        route = respx.post(PATH).mock(return_value=replay("46"))
        comments = await bh.comments.list(target="HarnessStar1").to_list()
    assert json.loads(route.calls.last.request.content) == {"target": "HarnessStar1", "page": 1}
    assert comments == [
        Comment(
            id=1,
            text="Target created by Alice Observer(alice) on 2026-11-24 13:57:03.203519+00:00",
            user_name="alice",
            user_id=3,
            target_name="HarnessStar1",
            target_id=1,
            submit_date=dt.datetime(2026, 11, 24, 13, 57, 5, 213747, tzinfo=dt.timezone.utc),
        )
    ]


async def test_list_maps_every_filter(bh: Client) -> None:
    """target_id goes out as `targetid`; dates as YYYY-MM-DD (a datetime loses its time)."""
    with respx.mock:
        route = respx.post(PATH).mock(return_value=replay("47"))
        comments = await bh.comments.list(
            target_id=2,
            user="alice",
            text="created",
            created_start=dt.date(2024, 1, 1),
            created_end=dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.timezone.utc),
        ).to_list()
    assert json.loads(route.calls.last.request.content) == {
        "targetid": 2,
        "user": "alice",
        "text": "created",
        "created_start": "2024-01-01",
        "created_end": "2026-12-31",
        "page": 1,
    }
    assert [c.id for c in comments] == [1, 2]


async def test_list_unknown_target_is_target_not_found(bh: Client) -> None:
    """The recorded 404 {"error": "Target not found"} becomes TargetNotFoundError naming the target."""
    with respx.mock:
        respx.post(PATH).mock(return_value=replay("48"))
        with pytest.raises(errors.TargetNotFoundError) as info:
            await bh.comments.list(target="NoSuchTarget").to_list()
    assert info.value.target == "NoSuchTarget"


async def test_list_bad_date_string_is_refused_locally(bh: Client) -> None:
    """A date not in YYYY-MM-DD form (the recorded 400 case) is refused before sending."""
    with respx.mock:
        route = respx.post(PATH)
        with pytest.raises(errors.InvalidInputError, match="YYYY-MM-DD"):
            bh.comments.list(created_start="2024/01/01")
    assert not route.called


async def test_list_server_date_refusal_is_a_validation_error(bh: Client) -> None:
    """Should the server still refuse a date, its recorded 400 surfaces as ValidationError."""
    with respx.mock:
        respx.post(PATH).mock(return_value=replay("49"))
        with pytest.raises(errors.ValidationError, match="Invalid date format"):
            await bh.comments.list(created_start="2024-01-01").to_list()
