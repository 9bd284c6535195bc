"""`bh.reduced_data`: list (exactly one target key), delete and deactivate bodies and refusals."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from bhtom_async import Client, errors

from ...conftest import BASE_URL, capture

pytestmark = pytest.mark.anyio
POINT = {"mjd": 60000.1, "mag": 15.2, "magerr": 0.02, "filter": "GaiaSP/V", "observer": "alice"}


async def test_list_by_name_parses_recorded_points(bh: Client) -> None:
    """`target` goes in the body as target_name; the recorded items become ReducedDatum points."""
    recorded = capture("41")
    with respx.mock:
        route = respx.post(BASE_URL + "/common/api/reducedDatum/").mock(
            return_value=httpx.Response(200, json=recorded["json"])
        )
        points = await bh.reduced_data.list(target="HarnessStar1").to_list()
    assert json.loads(route.calls.last.request.content) == {"target_name": "HarnessStar1", "page": 1}
    assert [(p.id, p.mjd, p.value, p.error, p.filter, p.active) for p in points] == [
        (1, 60000.1, 15.2, 0.02, "GaiaSP/V", True),
        (2, 60001.2, 15.35, 0.03, "GaiaSP/V", True),
        (3, 60002.3, 15.1, 0.02, "GaiaSP/V", True),
    ]
    assert points[0].observers == ("alice",)
    assert points[0].data_product == 1


async def test_list_needs_exactly_one_target_key(bh: Client) -> None:
    """Both or neither of target/target_id is refused before sending."""
    with pytest.raises(errors.InvalidInputError):
        bh.reduced_data.list(target="A", target_id=1)
    with pytest.raises(errors.InvalidInputError):
        bh.reduced_data.list()


async def test_list_unknown_target_is_not_found(bh: Client) -> None:
    """The recorded 404 {"error": "Target does not exist."} becomes NotFoundError."""
    recorded = capture("44")
    with respx.mock:
        respx.post(BASE_URL + "/common/api/reducedDatum/").mock(
            return_value=httpx.Response(404, json=recorded["json"])
        )
        with pytest.raises(errors.NotFoundError):
            await bh.reduced_data.list(target="NoSuchTarget").to_list()


async def test_delete_sends_body_with_delete_method(bh: Client) -> None:
    """delete() sends the match fields in a DELETE body (not query parameters)."""
    with respx.mock:
        route = respx.delete(BASE_URL + "/common/api/deleteReducedDatum/").mock(
            return_value=httpx.Response(200, json={"Success": "Reduced datum deleted successfully."})
        )
        await bh.reduced_data.delete(**POINT, target="HarnessStar1", delete_associated_data_product=True)  # type: ignore[arg-type]
    request = route.calls.last.request
    assert request.url.query == b""
    assert json.loads(request.content) == {
        **POINT,
        "target_name": "HarnessStar1",
        "delete_associated_data_product": True,
    }


async def test_delete_no_match_is_not_found(bh: Client) -> None:
    """404 "Reduced datum not found." becomes NotFoundError."""
    with respx.mock:
        respx.delete(BASE_URL + "/common/api/deleteReducedDatum/").mock(
            return_value=httpx.Response(404, json={"Error": "Reduced datum not found."})
        )
        with pytest.raises(errors.NotFoundError):
            await bh.reduced_data.delete(**POINT)  # type: ignore[arg-type]


async def test_delete_zero_value_refused_before_sending(bh: Client) -> None:
    """A zero mag (which the server reads as missing) is refused before sending."""
    with pytest.raises(errors.InvalidInputError, match="mag"):
        await bh.reduced_data.delete(**{**POINT, "mag": 0.0})  # type: ignore[arg-type]


async def test_deactivate_posts_body(bh: Client) -> None:
    """deactivate() POSTs the match fields."""
    with respx.mock:
        route = respx.post(BASE_URL + "/common/api/deactivateReducedDatum/").mock(
            return_value=httpx.Response(200, json={"Success": "Reduced datum deactivated successfully."})
        )
        await bh.reduced_data.deactivate(**POINT, target_id=1)  # type: ignore[arg-type]
    assert json.loads(route.calls.last.request.content) == {**POINT, "target_id": 1}


async def test_deactivate_no_match_500_is_not_found(bh: Client) -> None:
    """The server's 500 'NoneType' ... 'active_flg' (no match) becomes NotFoundError."""
    err = {"Error": "An error occurred: 'NoneType' object has no attribute 'active_flg'"}
    with respx.mock:
        respx.post(BASE_URL + "/common/api/deactivateReducedDatum/").mock(
            return_value=httpx.Response(500, json=err)
        )
        with pytest.raises(errors.NotFoundError):
            await bh.reduced_data.deactivate(**POINT)  # type: ignore[arg-type]


async def test_deactivate_non_admin_is_permission_denied(bh: Client) -> None:
    """A 302 to the login page becomes PermissionDeniedError."""
    with respx.mock:
        respx.post(BASE_URL + "/common/api/deactivateReducedDatum/").mock(
            return_value=httpx.Response(302, headers={"location": "/accounts/login/?next=/x/"})
        )
        with pytest.raises(errors.PermissionDeniedError):
            await bh.reduced_data.deactivate(**POINT)  # type: ignore[arg-type]
