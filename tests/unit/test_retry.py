"""The retry policy: what retries, how long it waits, Retry-After, caps and the shared pause."""

from __future__ import annotations

import email.utils
from collections.abc import Callable

import anyio
import httpx
import pytest
import respx

from bhtom_async import Client, errors
from bhtom_async._config import RetrySettings
from bhtom_async._http import RequestSpec
from bhtom_async._retry import parse_retry_after
from bhtom_async.testing import ManualClock

from ..conftest import BASE_URL

pytestmark = pytest.mark.anyio
URL = BASE_URL + "/targets/getTargetList/"
READ = RequestSpec("POST", "/targets/getTargetList/", json={})
WRITE = RequestSpec("POST", "/targets/getTargetList/", json={}, idempotent=False)


def ok() -> httpx.Response:
    return httpx.Response(200, json={"count": 0, "num_pages": 1, "current_page": 1, "data": []})


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
async def test_idempotent_call_retries_retryable_statuses(bh: Client, status: int) -> None:
    """Reads retry on 408, 429, 502, 503 and 504, then succeed."""
    with respx.mock:
        route = respx.post(URL).mock(side_effect=[httpx.Response(status), ok()])
        response = await bh._require_open().send(READ)
    assert response.status == 200
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, errors.ValidationError),
        (401, errors.AuthenticationError),
        (404, errors.NotFoundError),
        (500, errors.ServerError),
    ],
)
async def test_non_retryable_statuses_fail_at_once(
    bh: Client, status: int, error: type[errors.APIError]
) -> None:
    """400, 401, 404 and a plain 500 are not retried; each raises its own error class."""
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(status, json={"detail": "no"}))
        with pytest.raises(errors.APIError) as caught:
            await bh._require_open().send(READ)
    assert type(caught.value) is error
    assert caught.value.status == status
    assert route.call_count == 1


async def test_retries_stop_after_max_retries(bh: Client, clock: ManualClock) -> None:
    """Three retries by default: four attempts, then the last error passes through."""
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(503))
        with pytest.raises(errors.ServerError) as caught:
            await bh._require_open().send(READ)
    assert caught.value.status == 503
    assert route.call_count == 4
    assert len(clock.sleeps) == 3


async def test_backoff_is_exponential_with_full_jitter_between_half_and_eight_seconds(
    make_client: Callable[..., Client], clock: ManualClock
) -> None:
    """Waits stay within 0.5 s and the doubling ceiling, capped at 8 s."""
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(503))
        async with make_client(max_retries=6) as bh:
            with pytest.raises(errors.ServerError):
                await bh._require_open().send(READ)
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert len(clock.sleeps) == 6
    for wait, ceiling in zip(clock.sleeps, ceilings, strict=True):
        assert 0.5 <= wait <= ceiling


async def test_connect_error_is_retried_even_for_non_idempotent_calls(bh: Client) -> None:
    """Nothing reached the server, so an upload or create may be re-sent."""
    with respx.mock:
        route = respx.post(URL).mock(side_effect=[httpx.ConnectError("refused"), ok()])
        response = await bh._require_open().send(WRITE)
    assert response.status == 200
    assert route.call_count == 2


async def test_read_timeout_is_not_retried_for_non_idempotent_calls(bh: Client) -> None:
    """After the body may have reached the server, a mutating call is not re-sent."""
    with respx.mock:
        route = respx.post(URL).mock(side_effect=[httpx.ReadTimeout("slow"), ok()])
        with pytest.raises(errors.APITimeoutError) as caught:
            await bh._require_open().send(WRITE)
    assert caught.value.request_sent
    assert route.call_count == 1


async def test_5xx_is_not_retried_for_non_idempotent_calls(bh: Client) -> None:
    """A 503 on a mutating call surfaces: the server may have acted before failing."""
    with respx.mock:
        route = respx.post(URL).mock(side_effect=[httpx.Response(503), ok()])
        with pytest.raises(errors.ServerError):
            await bh._require_open().send(WRITE)
    assert route.call_count == 1


async def test_read_timeout_and_dropped_connection_are_retried_for_reads(bh: Client) -> None:
    """Idempotent calls retry after timeouts and broken connections."""
    with respx.mock:
        route = respx.post(URL).mock(
            side_effect=[httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("peer closed"), ok()]
        )
        response = await bh._require_open().send(READ)
    assert response.status == 200
    assert route.call_count == 3


async def test_retry_after_seconds_overrides_backoff(bh: Client, clock: ManualClock) -> None:
    """A 429 with Retry-After: 7 waits exactly 7 s before the next attempt."""
    with respx.mock:
        respx.post(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), ok()])
        await bh._require_open().send(READ)
    assert clock.sleeps == [7.0]


async def test_retry_after_http_date_is_honoured(bh: Client, clock: ManualClock) -> None:
    """Retry-After as an HTTP date waits until that moment."""
    when = email.utils.formatdate(clock.time() + 20, usegmt=True)
    with respx.mock:
        respx.post(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": when}), ok()])
        await bh._require_open().send(READ)
    assert len(clock.sleeps) == 1
    assert 19.0 <= clock.sleeps[0] <= 20.0


async def test_retry_after_above_cap_raises_instead_of_sleeping(bh: Client, clock: ManualClock) -> None:
    """Retry-After over 120 s raises RateLimitError carrying the value, without sleeping."""
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
        with pytest.raises(errors.RateLimitError) as caught:
            await bh._require_open().send(READ)
    assert caught.value.retry_after == 3600.0
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_429_pauses_every_request_of_the_client(bh: Client, clock: ManualClock) -> None:
    """One request's 429 holds the client's other requests until the Retry-After moment."""
    other = BASE_URL + "/common/api/comments/"
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "30"}))
        respx.post(other).mock(return_value=ok())
        with pytest.raises(errors.RateLimitError):
            await bh._require_open().send(READ, retry=RetrySettings(max_retries=0))
        started = clock.monotonic()
        await bh._require_open().send(RequestSpec("POST", "/common/api/comments/", json={}))
    assert clock.sleeps == [30.0]
    assert clock.monotonic() - started == pytest.approx(30.0)


async def test_total_time_cap_ends_retries(make_client: Callable[..., Client], clock: ManualClock) -> None:
    """Retries stop once max_total seconds have passed, whatever the attempt count."""
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "100"}))
        async with make_client(max_retries=50) as bh:
            with pytest.raises(errors.RateLimitError):
                await bh._require_open().send(READ)
    assert route.call_count == 4  # 0, 100, 200, 300 s: the 300 s cap ends it
    assert sum(clock.sleeps) == pytest.approx(300.0)


def test_parse_retry_after_forms() -> None:
    """Delta-seconds, HTTP dates, garbage and absence."""
    assert parse_retry_after("5", now_wall=0) == 5.0
    assert parse_retry_after("  2.5 ", now_wall=0) == 2.5
    assert parse_retry_after(email.utils.formatdate(1_000_060, usegmt=True), now_wall=1_000_000) == 60.0
    assert parse_retry_after("soon", now_wall=0) is None
    assert parse_retry_after(None, now_wall=0) is None


async def test_a_later_shorter_retry_after_does_not_shorten_a_pause(bh: Client, clock: ManualClock) -> None:
    """A 429 saying 5 s, answered while a 30 s pause is in force, leaves the 30 s pause standing."""
    refused_first = anyio.Event()
    second_arrived = anyio.Event()
    transport = bh._require_open()
    once = RetrySettings(max_retries=0)

    async def late_short_refusal(request: httpx.Request) -> httpx.Response:
        second_arrived.set()
        await refused_first.wait()
        clock.advance(10)  # answered 10 s into the 30 s pause
        return httpx.Response(429, headers={"Retry-After": "5"})

    async def second_request() -> None:
        with pytest.raises(errors.RateLimitError):
            await transport.send(RequestSpec("POST", "/common/api/comments/", json={}), retry=once)

    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "30"}))
        respx.post(BASE_URL + "/common/api/comments/").mock(side_effect=late_short_refusal)
        respx.post(BASE_URL + "/common/api/users/").mock(return_value=ok())
        async with anyio.create_task_group() as tg:
            tg.start_soon(second_request)
            await second_arrived.wait()  # in flight before any pause began
            with pytest.raises(errors.RateLimitError):
                await transport.send(READ, retry=once)
            refused_first.set()
        await transport.send(RequestSpec("POST", "/common/api/users/", json={}))
    assert clock.monotonic() == pytest.approx(30.0)  # held until the first pause's end, not 10 + 5
    assert clock.sleeps == [pytest.approx(20.0)]
