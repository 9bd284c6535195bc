"""Fault injection, each kind observed on the wire (issue 5, docs/emulator.md)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

import anyio
import httpx
import pytest

from bhtom_async.emulator import Emulator, FaultRule, FaultSpecError, parse_fault_spec

from .conftest import fits_frame, upload

Client = Callable[..., httpx.Client]
LIST = "/targets/getTargetList/"


def _timed(call: Callable[[], httpx.Response]) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = call()
    return time.perf_counter() - start, response


def test_fixed_latency_on_matching_paths_only(client: Client, emu: Emulator) -> None:
    """latency=0.25 on /targets/* delays those answers and nothing else."""
    emu.add_fault(FaultRule("latency", path="/targets/*", seconds=0.25))
    c = client()
    slow, r = _timed(lambda: c.post(LIST, json={}))
    fast, _ = _timed(lambda: c.post("/common/api/comments/", json={}))
    assert r.status_code == 200
    assert slow >= 0.25
    assert fast < 0.2


def test_latency_range_is_uniform_within_bounds(client: Client, emu: Emulator) -> None:
    """latency=LOW..HIGH draws each delay from the seeded RNG within the bounds."""
    emu.add_fault("main:/targets/*:latency=0.05..0.15")
    c = client()
    delays = [_timed(lambda: c.post(LIST, json={}))[0] for _ in range(4)]
    assert all(0.05 <= d < 0.4 for d in delays)
    assert max(delays) - min(delays) > 0.005


def test_throttle_429_with_retry_after(client: Client, emu: Emulator) -> None:
    """throttle answers 429 with a Retry-After header (seconds), times=1 only once."""
    emu.add_fault(FaultRule("throttle", path=LIST, retry_after=3, times=1))
    c = client()
    r = c.post(LIST, json={})
    assert r.status_code == 429
    assert r.headers["retry-after"] == "3"
    assert c.post(LIST, json={}).status_code == 200


@pytest.mark.parametrize(
    ("status", "marker"),
    [
        (500, "<h1>Server Error (500)</h1>"),
        (503, "503 Service Temporarily Unavailable"),
        (502, "<h1>502 Bad Gateway</h1>"),
    ],
)
def test_error_pages_are_html(client: Client, emu: Emulator, status: int, marker: str) -> None:
    """error=STATUS answers that 5xx with an HTML page (Django's for 500, nginx's otherwise)."""
    emu.add_fault(FaultRule("error", host="main", status=status))
    r = client().post(LIST, json={})
    assert r.status_code == status
    assert r.headers["content-type"] == "text/html"
    assert marker in r.text or marker.replace("Temporarily ", "") in r.text


@pytest.mark.anyio
async def test_reset_before_body_is_a_transport_error(emu: Emulator) -> None:
    """reset_before_body drops the connection (RST): httpx raises, nothing is stored."""
    emu.add_fault(FaultRule("reset_before_body", host="upload", path="/upload/", times=1))
    headers = {"Authorization": f"Token {emu.tokens['alice']}"}
    async with httpx.AsyncClient(base_url=emu.upload_url, headers=headers) as c:
        with pytest.raises(httpx.TransportError):
            await c.post(
                "/upload/",
                data={"target": "Gaia22bpl", "observatory": "HarnessObs_HarnessCam"},
                files={"files": ("f.fits", fits_frame())},
            )
        assert [p.id for p in emu.state.dataproducts()] == [1]
        assert emu.state.request_count("POST", "/upload/") == 1
        r = await c.post(
            "/upload/",
            data={"target": "Gaia22bpl", "observatory": "HarnessObs_HarnessCam"},
            files={"files": ("f.fits", fits_frame())},
        )
        assert r.status_code == 201


@pytest.mark.anyio
async def test_reset_after_store_loses_the_answer_but_keeps_the_product(emu: Emulator) -> None:
    """reset_after_store: the client gets a transport error, yet the data product exists."""
    emu.add_fault("upload:/upload/:reset_after_store:times=1")
    frame = fits_frame()
    digest = hashlib.sha256(frame).hexdigest()
    headers = {"Authorization": f"Token {emu.tokens['alice']}"}
    fields = {"target": "Gaia22bpl", "observatory": "HarnessObs_HarnessCam"}
    async with httpx.AsyncClient(base_url=emu.upload_url, headers=headers) as c:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await c.post("/upload/", data=fields, files={"files": ("n.fits", frame)})
        (stored,) = emu.state.dataproducts_by_sha256(digest)
        assert stored.file_name == "n.fits"
        # The server is not idempotent: a blind retry stores the file a second time.
        r = await c.post("/upload/", data=fields, files={"files": ("n.fits", frame)})
        assert r.status_code == 201
        assert len(emu.state.dataproducts_by_sha256(digest)) == 2


def test_slow_response_trips_a_read_timeout(client: Client, emu: Emulator) -> None:
    """slow=SECONDS sends the headers then stalls the body: a short read timeout fires."""
    emu.add_fault(FaultRule("slow", path=LIST, seconds=0.6))
    c = client(timeout=httpx.Timeout(5.0, read=0.2))
    with pytest.raises(httpx.ReadTimeout):
        c.post(LIST, json={})


def test_truncated_json_does_not_parse(client: Client, emu: Emulator) -> None:
    """truncate keeps part of the body (with a matching Content-Length): JSON fails to parse."""
    full = client().post(LIST, json={}).content
    emu.add_fault(FaultRule("truncate", path=LIST, fraction=0.5))
    r = client().post(LIST, json={})
    assert r.status_code == 200
    assert len(r.content) == len(full) // 2
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_bandwidth_cap_on_upload(client: Client, emu: Emulator) -> None:
    """bandwidth=BYTES_PER_S with dir=up throttles the request body read."""
    body = b"SIMPLE  =                    T" + bytes(120_000)
    emu.add_fault(FaultRule("bandwidth", host="upload", rate=400_000, direction="up"))
    elapsed, r = _timed(lambda: upload(client(upload=True), [("big.fits", body)]))
    assert r.status_code == 201
    assert elapsed >= 0.25


def test_bandwidth_cap_on_download(client: Client, emu: Emulator) -> None:
    """bandwidth with dir=down paces the response body."""
    size = len(client().post("/targets/download-photometry/", json={"name": "Gaia22bpl"}).content)
    emu.add_fault(f"main:/targets/download-photometry/:bandwidth={size * 4}:dir=down")
    elapsed, r = _timed(lambda: client().post("/targets/download-photometry/", json={"name": "Gaia22bpl"}))
    assert r.status_code == 200
    assert len(r.content) == size
    assert elapsed >= 0.2


@pytest.mark.anyio
async def test_bandwidth_total_is_shared_between_connections(emu: Emulator) -> None:
    """per=total: concurrent uploads share one budget, so together they take twice as long."""
    body = b"SIMPLE  =                    T" + bytes(60_000)
    headers = {"Authorization": f"Token {emu.tokens['alice']}"}
    fields = {"target": "Gaia22bpl", "observatory": "HarnessObs_HarnessCam"}

    async def send(c: httpx.AsyncClient) -> None:
        r = await c.post("/upload/", data=fields, files={"files": ("b.fits", body)})
        assert r.status_code == 201

    async def both() -> float:
        start = time.perf_counter()
        async with (
            httpx.AsyncClient(base_url=emu.upload_url, headers=headers) as c1,
            httpx.AsyncClient(base_url=emu.upload_url, headers=headers) as c2,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(send, c1)
            tg.start_soon(send, c2)
        return time.perf_counter() - start

    emu.add_fault(FaultRule("bandwidth", host="upload", rate=400_000, direction="up"))
    per_connection = await both()
    emu.clear_faults()
    emu.add_fault(FaultRule("bandwidth", host="upload", rate=400_000, direction="up", per="total"))
    shared = await both()
    # 2 x 60 kB at 400 kB/s: at least 0.15 s each when paced apart, 0.3 s when sharing.
    assert per_connection >= 0.14
    assert shared >= 0.29


def test_times_after_and_host_scoping(client: Client, emu: Emulator) -> None:
    """after=K lets K requests through, times=N limits firings, host scopes the rule."""
    emu.add_fault(FaultRule("error", path=LIST, host="main", after=1, times=2))
    emu.add_fault(FaultRule("error", host="upload"))
    c = client()
    assert [c.post(LIST, json={}).status_code for _ in range(4)] == [200, 500, 500, 200]
    assert c.post("/common/api/comments/", json={}).status_code == 200
    assert [fired for _, fired in emu.faults_fired()] == [2, 0]  # what each rule hit


def test_probability_is_reproducible_under_the_seed(client: Client, emu: Emulator) -> None:
    """p=0.5 fires on a pseudo-random subset that repeats exactly for the same seed."""

    c = client()

    def pattern() -> list[int]:
        emu.clear_faults()
        emu.add_fault(FaultRule("error", path=LIST, probability=0.5))
        return [c.post(LIST, json={}).status_code for _ in range(16)]

    first, second = pattern(), pattern()
    assert first == second
    assert set(first) == {200, 500}


def test_faults_given_at_construction() -> None:
    """Emulator(faults=SPEC) arms the rules from a --faults string."""
    with Emulator(faults="main:/targets/*:throttle=7") as emu:
        r = httpx.post(
            f"{emu.base_url}{LIST}", json={}, headers={"Authorization": f"Token {emu.tokens['alice']}"}
        )
        assert (r.status_code, r.headers["retry-after"]) == (429, "7")


def test_spec_grammar() -> None:
    """The --faults grammar: host, path, kind=arg and options, ';'-separated."""
    rules = parse_fault_spec(
        "upload:reset_after_store:times=2;/targets/*:latency=0.1..0.3:p=0.5;"
        "any:bandwidth=200k:dir=up:per=total;main:/x/:error=503:method=post"
    )
    assert rules == [
        FaultRule("reset_after_store", host="upload", times=2),
        FaultRule("latency", path="/targets/*", seconds=0.1, seconds_max=0.3, probability=0.5),
        FaultRule("bandwidth", rate=200_000, direction="up", per="total"),
        FaultRule("error", host="main", path="/x/", status=503, method="POST"),
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("upload:explode", "unknown kind 'explode'"),
        ("main:/x/", "missing the fault kind"),
        ("latency=soon", "latency must be a number"),
        ("error=404", "error status must be within 500..599"),
        ("reset_before_body:times", "needs KEY=VALUE"),
        ("throttle:colour=red", "unknown option 'colour'"),
        ("bandwidth", "bandwidth needs rate > 0"),
        ("truncate=1.5", "strictly between 0 and 1"),
    ],
)
def test_spec_errors_are_clear(spec: str, message: str) -> None:
    """A bad spec raises FaultSpecError naming the rule and the problem."""
    with pytest.raises(FaultSpecError, match=message) as caught:
        parse_fault_spec(spec)
    assert "fault rule" in str(caught.value)
