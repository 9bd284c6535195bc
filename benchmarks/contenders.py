"""The contenders, each run alone in a fresh process: ``python -m benchmarks.contenders JOB_JSON``.

The job (a JSON object) names the contender and what to do; the process prints one JSON line:
what the contender believes it did, ``work_s`` (seconds around the work itself, interpreter
start-up excluded), ``cpu_s`` (CPU seconds of this process and the processes it ran, during the
work) and ``peak_rss_mb`` (this process's own high-water mark).

Contenders:

* ``official``: the documentation's ``upload_files_script.py`` way: one file at a time, no
  timeout, no retry (httpx's sync client in place of requests); for lists, one page at a time.
* ``curl``: ``curl -F`` processes, `concurrency` at a time (1: a shell loop over the folder).
* ``curl_hashed``: the same, each file first hashed by ``openssl dgst -sha256`` (the SHA-256 of
  the OpenSSL library Python's hashlib uses): a curl pipeline that also knows what it sent.
* ``naive_async`` / ``naive_retry``: every file at once with ``asyncio.gather``, each read whole
  into memory; ``naive_retry`` sends a failed file once more.
* ``bhtom_async``: this library. Every call into it is in the functions under "bhtom_async
  calls" below, one per job kind, so an API change is a one-line change there.
* ``wire_floor``: the least any client can do, for the latency-bound scenario: `concurrency`
  kept-alive connections, each writing a whole request built in one piece (small files only) and
  reading the answer by its ``Content-Length``; no HTTP library, no journal, no hashing. What it
  takes beyond the ideal is the server's and the machine's, not a client's.
* ``bhtom_async_unhashed``: measurement only, never a way to run the library: the same upload
  with the body's SHA-256 replaced by a no-op in this process, to show what hashing every byte
  costs beside curl (which hashes nothing).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio

from .figures import lag_summary

Job = dict[str, Any]
Result = dict[str, Any]
FIELDS = {"dry_run": "False", "filter": "GaiaSP/V"}
MAX_ERRORS = 20


# ---------------------------------------------------------------------------------------------
# bhtom_async calls: one small function per job kind. When the library's API moves, change it
# here only.
# ---------------------------------------------------------------------------------------------


async def bhtom_upload(job: Job) -> Result:
    """bhtom_async's bulk uploader over the job's folder, as the README shows it."""
    from bhtom_async import Client, JobOptions, Uploader, UploadOptions

    options = UploadOptions(
        target=job["target"],
        observatory=job["oname"],
        data_product_type=job["data_product_type"],
        mjd=job.get("mjd"),
        filter=FIELDS["filter"],
    )
    settings = JobOptions(concurrency=job["concurrency"], journal=job["journal"], settle_time=0.0)
    async with Client(job["token"], base_url=job["base_url"], upload_url=job["upload_url"]) as bh:
        summary = await Uploader(bh, job["folder"], options, settings).run()
        pool_size = bh._require_open().capacity
    counts = summary.counts
    errors = [o.reason or o.status for o in summary.outcomes if o.status in ("failed", "unknown")]
    return {
        "ok": counts["uploaded"],
        "skipped": counts["skipped"],
        "failed": counts["failed"] + counts["unknown"] + counts["not_ready"] + counts["not_attempted"],
        "errors": errors[:MAX_ERRORS],
        "pool_size": pool_size,
    }


class _NoHash:
    """Strictly private, measurement only: a digest that does no work."""

    def update(self, data: object) -> None:
        pass

    def hexdigest(self) -> str:
        return "0" * 64


async def bhtom_upload_unhashed(job: Job) -> Result:
    """`bhtom_upload` with the multipart body's SHA-256 made a no-op (this process only)."""
    import types

    import bhtom_async._multipart as multipart

    multipart.hashlib = types.SimpleNamespace(sha256=_NoHash)  # type: ignore[attr-defined,assignment]
    return await bhtom_upload(job)


async def bhtom_wait(
    job: Job, clock: Any, on_request: Callable[[Any], Awaitable[None]]
) -> AsyncIterator[int]:
    """`bh.calibration.wait` over the job's ids; yields each id as its result is final.

    `on_request` sees every HTTP request (an httpx event hook), so rounds can be counted.
    """
    import httpx

    from bhtom_async import Client, PollOptions

    async with (
        httpx.AsyncClient(event_hooks={"request": [on_request]}) as http,
        Client(
            job["token"],
            base_url=job["base_url"],
            upload_url=job["upload_url"],
            http_client=http,
            clock=clock,
        ) as bh,
    ):
        async for result in bh.calibration.wait(job["ids"], PollOptions(timeout=job["timeout"])):
            if result.dataproduct_id is not None:
                yield result.dataproduct_id


async def bhtom_list(job: Job) -> Result:
    """Every target through `bh.targets.list()` (pages prefetched concurrently)."""
    from bhtom_async import Client
    from bhtom_async._paginate import DEFAULT_PREFETCH

    async with Client(job["token"], base_url=job["base_url"], upload_url=job["upload_url"]) as bh:
        targets = await bh.targets.list().to_list()
    return {"ok": len(targets), "prefetch": DEFAULT_PREFETCH}


# ---------------------------------------------------------------------------------------------
# The other contenders: what users' scripts do.
# ---------------------------------------------------------------------------------------------


def _paths(job: Job) -> list[Path]:
    return sorted(Path(job["folder"]).glob(job["pattern"]))


def _form(job: Job) -> dict[str, str]:
    form = {
        **FIELDS,
        "target": job["target"],
        "observatory": job["oname"],
        "data_product_type": job["data_product_type"],
    }
    if job.get("mjd") is not None:
        form["mjd"] = str(job["mjd"])
    return form


def official_upload(job: Job) -> Result:
    """One file at a time, no timeout, no retry; the official script crashes on a reset."""
    import httpx

    ok = 0
    errors: list[int | str] = []
    paths = _paths(job)
    with httpx.Client(timeout=None) as client:
        for path in paths:
            try:
                with path.open("rb") as handle:
                    response = client.post(
                        job["upload_url"] + "/upload/",
                        headers={"Authorization": "Token " + job["token"]},
                        data=_form(job),
                        files={"files": (path.name, handle)},
                    )
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                if job.get("crash_on_error"):
                    break
                continue
            if response.status_code == 201:
                ok += 1
            else:
                errors.append(response.status_code)
    return {"ok": ok, "failed": len(paths) - ok, "errors": errors[:MAX_ERRORS]}


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def curl_upload(job: Job) -> Result:
    """``curl -F`` processes, at most `concurrency` at a time.

    curl's memory is read from each process's own VmHWM while it runs (every 50 ms and when a
    process ends): its rusage would report the high-water mark of the Python process it was
    spawned from.
    """
    paths = _paths(job)
    form = [arg for key, value in _form(job).items() for arg in ("-F", f"{key}={value}")]
    running: dict[int, tuple[subprocess.Popen[bytes], Any]] = {}
    codes: list[str] = []
    peak_kb = 0
    pending = list(reversed(paths))
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    while pending or running:
        while pending and len(running) < job["concurrency"]:
            path = pending.pop()
            out = tempfile.TemporaryFile()  # noqa: SIM115 (closed when its curl is reaped)
            command = [*_hash_first(path)] if job["contender"] == "curl_hashed" else []
            command += ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}"]
            command += ["-H", "Authorization: Token " + job["token"], "-F", f"files=@{path}", *form]
            process = subprocess.Popen([*command, job["upload_url"] + "/upload/"], stdout=out)
            running[process.pid] = (process, out)
        for pid in running:
            peak_kb = max(peak_kb, _vm_hwm_kb(pid))
        pid, status, _ = os.wait4(-1, os.WNOHANG)
        if pid == 0:
            signal.sigtimedwait({signal.SIGCHLD}, 0.05)  # wakes at once when a curl ends
            continue
        if pid not in running:
            continue
        process, out = running.pop(pid)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        codes.append(out.read().decode().strip() or f"exit {process.returncode}")
        out.close()
    ok = sum(1 for code in codes if code == "201")
    return {
        "ok": ok,
        "failed": len(codes) - ok,
        "errors": [c for c in codes if c != "201"][:MAX_ERRORS],
        "curl_peak_rss_mb": round(peak_kb / 1024, 1),
    }


def _hash_first(path: Path) -> list[str]:
    """A command prefix: hash `path` with openssl, then (only if that worked) exec the rest."""
    return ["sh", "-c", 'openssl dgst -sha256 "$0" > /dev/null && exec "$@"', str(path)]


async def naive_upload(job: Job, retries: int = 0) -> Result:
    """Every file at once, read whole into memory, gathered; a failure is simply sent again."""
    import httpx

    async def once(client: httpx.AsyncClient, path: Path) -> int | str:
        try:
            response = await client.post(
                job["upload_url"] + "/upload/",
                headers={"Authorization": "Token " + job["token"]},
                data=_form(job),
                files={"files": (path.name, path.read_bytes())},
            )
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return response.status_code

    async def one(client: httpx.AsyncClient, path: Path) -> int | str:
        result = await once(client, path)
        for _ in range(retries):
            if result == 201:
                break
            result = await once(client, path)
        return result

    paths = _paths(job)
    async with httpx.AsyncClient(timeout=None, limits=httpx.Limits(max_connections=None)) as client:
        results = await asyncio.gather(*(one(client, p) for p in paths))
    errors = [r for r in results if r != 201]
    return {"ok": len(results) - len(errors), "failed": len(errors), "errors": errors[:MAX_ERRORS]}


async def wire_floor_upload(job: Job) -> Result:
    """`concurrency` kept-alive connections, each sending one whole prebuilt request at a time."""
    target = urlsplit(job["upload_url"])
    host, port = target.hostname or "127.0.0.1", target.port or 80
    pending = list(reversed(_paths(job)))
    codes: list[int | str] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while pending:
                path = pending.pop()
                writer.write(_raw_request(job, f"{host}:{port}", path))
                await writer.drain()
                status, length, closing = await _raw_answer_head(reader)
                await reader.readexactly(length)
                codes.append(status)
                if closing:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            codes.append(type(exc).__name__)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(job["concurrency"])))
    errors = [code for code in codes if code != 201]
    return {"ok": len(codes) - len(errors), "failed": len(errors), "errors": errors[:MAX_ERRORS]}


def _raw_request(job: Job, host: str, path: Path) -> bytes:
    boundary = "wire-floor-7d1c2f"
    fields = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in _form(job).items()
    )
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = fields + head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = (
        f"POST /upload/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {job['token']}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return request + body


async def _raw_answer_head(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server closes the connection after this answer."""
    status = int((await reader.readline()).split()[1])
    length, closing = None, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "connection" and value.strip().lower() == "close":
            closing = True
    if length is None:
        raise ValueError("an answer without Content-Length")
    return status, length, closing


def official_list(job: Job) -> Result:
    """getTargetList one page at a time, as a loop over the documented endpoint does."""
    import httpx

    rows = 0
    headers = {"Authorization": "Token " + job["token"]}
    with httpx.Client(timeout=None, headers=headers) as client:
        page, pages = 1, 1
        while page <= pages:
            answer = client.post(job["base_url"] + "/targets/getTargetList/", json={"page": page}).json()
            pages = answer["num_pages"]
            rows += len(answer["data"])
            page += 1
    return {"ok": rows, "prefetch": 1}


# ---------------------------------------------------------------------------------------------
# Measuring helpers that run inside the contender's process.
# ---------------------------------------------------------------------------------------------


class ScaledClock:
    """A `bhtom_async` clock running `scale` times real time, in step with the emulator's.

    ``time()`` equals the emulator's ``now()`` (same origin and scale); sleeps are shortened.
    Each `sleep` is counted: the poller sleeps exactly once between two rounds.
    """

    def __init__(self, scale: float, origin: float) -> None:
        self.scale = scale
        self.origin = origin
        self._mono0 = time.monotonic()
        self.on_sleep: Callable[[], None] = lambda: None

    def monotonic(self) -> float:
        return self._mono0 + (time.monotonic() - self._mono0) * self.scale

    def time(self) -> float:
        return self.origin + (time.time() - self.origin) * self.scale

    async def sleep(self, seconds: float) -> None:
        self.on_sleep()
        await anyio.sleep(max(0.0, seconds) / self.scale)


class Heartbeat:
    """Measures event-loop lag: how late a 5 ms sleep wakes up, over and over."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self.at: list[float] = []

    async def run(self) -> None:
        origin = time.perf_counter()
        while True:
            start = time.perf_counter()
            await anyio.sleep(self.interval)
            now = time.perf_counter()
            self.lags.append(max(0.0, now - start - self.interval))
            self.at.append(now - origin)


async def with_heartbeat(work: Callable[[], Awaitable[Result]]) -> Result:
    """Run `work` with a `Heartbeat` beside it on the same event loop; adds ``lag_ms``."""
    beat = Heartbeat()
    async with anyio.create_task_group() as group:
        group.start_soon(beat.run)
        result = await work()
        group.cancel_scope.cancel()
    return {**result, "lag_ms": lag_summary(beat.lags, beat.at)}


async def control_heartbeat() -> Result:
    """An idle event loop's lag, until SIGTERM: the machine's own scheduling noise.

    The parent runs it beside a measured contender, so a late beat here is the machine's (CPUs
    busy with the emulator, the upload and whatever else runs), not the contender's.
    """
    stop = anyio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    beat = Heartbeat()
    async with anyio.create_task_group() as group:
        group.start_soon(beat.run)
        await stop.wait()
        group.cancel_scope.cancel()
    return {"ok": 0, "lag_ms": lag_summary(beat.lags, beat.at)}


async def poll(job: Job) -> Result:
    """Follow the job's ids to their final calibration; record each yield and each round."""
    clock = ScaledClock(job["time_scale"], job["time_origin"])
    yielded: dict[int, float] = {}
    rounds: list[dict[str, int]] = []
    current = {"pending": len(job["ids"]), "requests": 0}

    async def on_request(request: Any) -> None:
        if request.url.path.endswith("/get-calibration-res/"):
            current["requests"] += 1

    def on_sleep() -> None:
        nonlocal current
        rounds.append(current)
        current = {"pending": len(job["ids"]) - len(yielded), "requests": 0}

    clock.on_sleep = on_sleep
    async for ident in bhtom_wait(job, clock, on_request):
        yielded[ident] = clock.time()
    if current["requests"]:
        rounds.append(current)
    return {
        "ok": len(yielded),
        "failed": len(job["ids"]) - len(yielded),
        "yielded_at": yielded,
        "rounds": rounds,
    }


def run(job: Job) -> Result:
    """Dispatch the job to its contender."""
    name, kind = job["contender"], job.get("kind", "upload")
    if kind == "control":
        return asyncio.run(control_heartbeat())
    if kind == "poll":
        return asyncio.run(poll(job))
    if kind == "list":
        return official_list(job) if name == "official" else asyncio.run(bhtom_list(job))
    if name == "official":
        return official_upload(job)
    if name in ("curl", "curl_hashed"):
        return curl_upload(job)
    if name in ("naive_async", "naive_retry"):
        return asyncio.run(naive_upload(job, retries=1 if name == "naive_retry" else 0))
    if name == "bhtom_async":
        if job.get("heartbeat"):
            return asyncio.run(with_heartbeat(lambda: bhtom_upload(job)))
        return asyncio.run(bhtom_upload(job))
    if name == "wire_floor":
        return asyncio.run(wire_floor_upload(job))
    if name == "bhtom_async_unhashed":
        return asyncio.run(bhtom_upload_unhashed(job))
    raise SystemExit(f"unknown contender {name!r}")


def _own_peak_rss_mb() -> float:
    """This process's RSS high-water mark (VmHWM). getrusage would include the forking parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _preload(job: Job) -> None:
    """Import what the contender needs before the clock starts: start-up is not the work."""
    if job["contender"] != "curl":
        # httpx imports its transport (httpcore, h11, certifi) when the first client is made, and
        # anyio its event-loop backend on first use: about 0.2 s here (httpcore also imports trio
        # when it is installed), which is start-up, not the contender's work.
        import anyio._backends._asyncio  # noqa: F401
        import certifi  # noqa: F401
        import h11  # noqa: F401
        import httpcore  # noqa: F401
        import httpx  # noqa: F401
    if job["contender"].startswith("bhtom_async"):
        import bhtom_async.upload  # noqa: F401


def main(argv: Sequence[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    job: Job = json.loads(args[0])
    _preload(job)
    cpu0, started = _cpu(), time.perf_counter()
    result = run(job)
    result["work_s"] = round(time.perf_counter() - started, 4)
    result["cpu_s"] = round(_cpu() - cpu0, 3)
    result["peak_rss_mb"] = _own_peak_rss_mb()
    if "curl_peak_rss_mb" in result:
        # curl's memory is its processes': `concurrency` of them at once, each at most this much.
        result["driver_peak_rss_mb"] = result["peak_rss_mb"]
        result["peak_rss_mb"] = round(
            result["curl_peak_rss_mb"] * min(job["concurrency"], result["ok"] or 1), 1
        )
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
