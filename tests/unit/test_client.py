"""Client lifecycle, per-call options, login, and the no-redirects rule."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
import respx

import bhtom_async
from bhtom_async import Client, errors

from ..conftest import BASE_URL, FAKE_TOKEN

pytestmark = pytest.mark.anyio


async def test_reading_settings_before_opening_says_how() -> None:
    """`config` of a client not yet open names `async with`, `await bh.open()` and lazy opening."""
    with pytest.raises(errors.ClientStateError, match="not open yet") as caught:
        _ = Client(FAKE_TOKEN).config
    assert "async with Client() as bh:" in str(caught.value.hint)
    assert "await bh.open()" in str(caught.value.hint)


async def test_first_call_opens_the_client_and_aclose_closes_it(make_client: Callable[..., Client]) -> None:
    """Without `async with`, the first request opens the pool; `aclose()` then closes it for good."""
    bh = make_client()
    with respx.mock:
        route = respx.post(BASE_URL + "/common/api/comments/").mock(
            return_value=httpx.Response(200, json={"count": 0, "num_pages": 1, "current_page": 1, "data": []})
        )
        assert await bh.comments.list().to_list() == []
    assert route.call_count == 1
    assert "token=***" in repr(bh)
    await bh.aclose()
    with pytest.raises(errors.ClientStateError, match="closed"):
        await bh.comments.list().to_list()


async def test_closed_client_cannot_be_used_or_reopened(make_client: Callable[..., Client]) -> None:
    """After aclose() the client refuses work and refuses to reopen."""
    client = make_client()
    async with client:
        pass
    with pytest.raises(errors.ClientStateError, match="closed"):
        _ = client.targets
    with pytest.raises(errors.ClientStateError):
        await client.open()


async def test_missing_token_is_a_configuration_error(make_client: Callable[..., Client]) -> None:
    """An authenticated call without any token says to set BHTOM_TOKEN or log in."""
    async with make_client(token=None) as bh:
        with pytest.raises(errors.ConfigurationError, match="BHTOM_TOKEN"):
            await bh._require_open().send(bhtom_async._http.RequestSpec("POST", "/x/"))


async def test_with_options_shares_connections_and_overrides(bh: Client) -> None:
    """with_options keeps the pool, changes timeouts/retries, and closing it leaves the parent open."""
    derived = bh.with_options(timeout=300, max_retries=0)
    assert derived._require_open() is bh._require_open()
    assert derived._options.timeout is not None
    assert derived._options.timeout.read == 300
    assert derived._options.retry is not None
    assert derived._options.retry.max_retries == 0
    await derived.aclose()
    assert bh.config.base_url == BASE_URL


async def test_redirects_are_not_followed(bh: Client) -> None:
    """A 302 to the login page is reported, never followed (the page would answer 200 HTML)."""
    with respx.mock:
        respx.post(BASE_URL + "/common/api/users/").respond(302, headers={"Location": "/accounts/login/"})
        login_page = respx.get(BASE_URL + "/accounts/login/").respond(200, text="<html>login</html>")
        with pytest.raises(errors.PermissionDeniedError):
            await bh._require_open().send(bhtom_async._http.RequestSpec("POST", "/common/api/users/"))
    assert not login_page.called


async def test_user_supplied_http_client_is_left_open(make_client: Callable[..., Client]) -> None:
    """A connection pool passed in by the user is theirs to close."""
    pool = httpx.AsyncClient()
    async with make_client(http_client=pool):
        pass
    assert not pool.is_closed
    await pool.aclose()


async def test_login_posts_credentials_without_auth_or_csrf_headers() -> None:
    """login() sends JSON credentials with no Authorization and no X-CSRFToken header."""
    with respx.mock:
        route = respx.post(BASE_URL + "/api/token-auth/").respond(200, json={"token": "abc123"})
        token = await bhtom_async.login("alice", "pw", base_url=BASE_URL)
    request = route.calls.last.request
    assert token == "abc123"
    assert json.loads(request.content) == {"username": "alice", "password": "pw"}
    assert "authorization" not in request.headers
    assert "x-csrftoken" not in request.headers


async def test_login_with_wrong_password_is_authentication_error() -> None:
    """The server's 400 non_field_errors becomes AuthenticationError with a hint (capture 02)."""
    with respx.mock:
        respx.post(BASE_URL + "/api/token-auth/").respond(
            400, json={"non_field_errors": ["Unable to log in with provided credentials."]}
        )
        with pytest.raises(errors.AuthenticationError, match="Unable to log in") as caught:
            await bhtom_async.login("alice", "nope", base_url=BASE_URL)
    assert caught.value.hint is not None
    assert "password" in caught.value.hint


async def test_connect_failure_is_a_typed_error_with_hint(make_client: Callable[..., Client]) -> None:
    """A refused connection becomes errors.ConnectError naming the host and what to check."""
    with respx.mock:
        respx.post(BASE_URL + "/x/").mock(side_effect=httpx.ConnectError("Connection refused"))
        async with make_client(max_retries=0) as bh:
            with pytest.raises(errors.ConnectError, match="cannot connect") as caught:
                await bh._require_open().send(bhtom_async._http.RequestSpec("POST", "/x/"))
    assert not caught.value.request_sent


async def test_html_where_json_expected_is_a_decode_error(bh: Client) -> None:
    """A 200 HTML page where JSON was expected raises ResponseDecodeError with a short snippet."""
    with respx.mock:
        respx.post(BASE_URL + "/x/").respond(200, text="<html>" + "x" * 10_000)
        response = await bh._require_open().send(bhtom_async._http.RequestSpec("POST", "/x/"))
    with pytest.raises(errors.ResponseDecodeError) as caught:
        response.json()
    assert len(str(caught.value)) < 400


def test_paths_must_end_with_a_slash() -> None:
    """Every BHTOM path ends in '/'; a slashless one is a programming error caught early."""
    with pytest.raises(ValueError, match="'/'"):
        bhtom_async._http.RequestSpec("POST", "/targets/getTargetList")


async def test_bhtom_log_debug_prints_request_lines(
    make_client: Callable[..., Client], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """BHTOM_LOG=debug writes method, path, status, elapsed and attempt to stderr (never headers)."""
    monkeypatch.setenv("BHTOM_LOG", "debug")
    with respx.mock:
        respx.post(BASE_URL + "/x/").respond(200, json={})
        async with make_client() as bh:
            await bh._require_open().send(bhtom_async._http.RequestSpec("POST", "/x/"))
    err = capsys.readouterr().err
    assert "POST /x/ → 200 in" in err
    assert "(attempt 1)" in err
    assert FAKE_TOKEN not in err


def test_plain_with_says_to_use_async_with_or_the_sync_client() -> None:
    """`with Client():` (no async) raises ClientStateError naming `async with` and the sync client."""
    client = Client("t" * 40, base_url="https://bh-tom2.example.test")
    with pytest.raises(errors.ClientStateError, match="async with") as caught, client:
        pass
    assert "bhtom_async.sync.Client" in str(caught.value.hint)
