"""Fault injection: latency, bandwidth caps, 429s, HTML 5xx, resets, stalls, truncated JSON.

Rules match requests by host (``main``/``upload``/``any``), path glob and method, and fire
always, on the first N matches (``times``), after K matches (``after``) or with a probability
drawn from a per-rule RNG seeded from the emulator seed, so a run is reproducible.

Spec grammar (``--faults``), rules separated by ``;``::

    RULE   := [HOST ":"] [PATH ":"] KIND ["=" ARG] (":" OPTION "=" VALUE)*
    HOST   := main | upload | any                      (default any)
    PATH   := a glob starting with "/" (fnmatch), or *  (default *)
    KIND   := latency=SECONDS | latency=LOW..HIGH | slow=SECONDS | bandwidth=BYTES_PER_S
            | throttle[=RETRY_AFTER] | error[=STATUS] | truncate[=FRACTION]
            | reset_before_body | reset_after_store
    OPTION := times | after | p | method | dir (up|down|both) | per (conn|total)
            | status | retry_after

Example: ``upload:reset_after_store:times=2;/targets/*:latency=0.1..0.3:p=0.5``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import http
import random
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .protocol import reset_connection, wait_disconnect
from .quirks import HTML_500, json_bytes

__all__ = ["KINDS", "FaultInjector", "FaultMiddleware", "FaultRule", "FaultSpecError", "parse_fault_spec"]

KINDS = (
    "latency",
    "bandwidth",
    "throttle",
    "error",
    "reset_before_body",
    "reset_after_store",
    "slow",
    "truncate",
)
HOSTS = ("main", "upload", "any")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class FaultSpecError(ValueError):
    """A ``--faults`` string (or a :class:`FaultRule`) that does not make sense."""


@dataclass(frozen=True)
class FaultRule:
    """One fault: what it does, which requests it hits and how often.

    Args:
        kind: one of :data:`KINDS`.
        path: fnmatch glob on the request path (``*`` matches everything, slashes included).
        host: ``main``, ``upload`` or ``any``.
        method: HTTP method to match, or None for all.
        times: fire on the first ``times`` matching requests only (None: no limit).
        after: let the first ``after`` matching requests through untouched.
        probability: chance of firing per matching request, from the seeded RNG.
        seconds: latency (or its lower bound) and the ``slow`` stall, in seconds.
        seconds_max: upper bound of a uniform latency, in seconds.
        rate: bandwidth cap in bytes per second.
        direction: bandwidth direction: ``up`` (request body), ``down`` (response) or ``both``.
        per: bandwidth budget ``connection`` (each request alone) or ``total`` (shared).
        status: HTTP status of ``error`` (500-599; 500 is Django's page, others nginx's).
        retry_after: ``Retry-After`` seconds sent with ``throttle``'s 429.
        fraction: share of the body ``truncate`` keeps (0 < fraction < 1).
    """

    kind: str
    path: str = "*"
    host: str = "any"
    method: str | None = None
    times: int | None = None
    after: int = 0
    probability: float = 1.0
    seconds: float = 0.0
    seconds_max: float | None = None
    rate: float = 0.0
    direction: str = "both"
    per: str = "connection"
    status: int = 500
    retry_after: int = 1
    fraction: float = 0.5

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in KINDS:
            problems.append(f"unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.host not in HOSTS:
            problems.append(f"host must be main, upload or any, not {self.host!r}")
        if not (self.path == "*" or self.path.startswith("/")):
            problems.append(f"path glob must start with '/' (or be '*'), not {self.path!r}")
        if self.times is not None and self.times < 0:
            problems.append("times must be >= 0")
        if self.after < 0:
            problems.append("after must be >= 0")
        if not 0.0 <= self.probability <= 1.0:
            problems.append("probability must be within 0..1")
        if self.seconds < 0 or (self.seconds_max is not None and self.seconds_max < self.seconds):
            problems.append("seconds must be >= 0 and seconds_max >= seconds")
        if self.kind == "bandwidth" and self.rate <= 0:
            problems.append("bandwidth needs rate > 0 (bytes per second)")
        if self.direction not in ("up", "down", "both"):
            problems.append("direction must be up, down or both")
        if self.per not in ("connection", "total"):
            problems.append("per must be connection or total")
        if self.kind == "error" and not 500 <= self.status <= 599:
            problems.append("error status must be within 500..599")
        if self.retry_after < 0:
            problems.append("retry_after must be >= 0")
        if self.kind == "truncate" and not 0.0 < self.fraction < 1.0:
            problems.append("truncate fraction must be strictly between 0 and 1")
        if problems:
            raise FaultSpecError("; ".join(problems))

    def matches(self, host: str, method: str, path: str) -> bool:
        """Whether this rule applies to a request (before times/after/probability)."""
        return (
            self.host in ("any", host)
            and (self.method is None or self.method.upper() == method.upper())
            and fnmatch.fnmatchcase(path, self.path)
        )


def _number(text: str, what: str, rule: str) -> float:
    scale = 1.0
    if text[-1:] in ("k", "K"):
        scale, text = 1e3, text[:-1]
    elif text[-1:] == "M":
        scale, text = 1e6, text[:-1]
    try:
        return float(text) * scale
    except ValueError:
        raise FaultSpecError(f"fault rule {rule!r}: {what} must be a number, not {text!r}") from None


def _parse_rule(text: str) -> FaultRule:
    tokens = [t.strip() for t in text.split(":")]
    kwargs: dict[str, Any] = {}
    index = 0
    if tokens[index] in HOSTS:
        kwargs["host"] = tokens[index]
        index += 1
    if index < len(tokens) and (tokens[index].startswith("/") or tokens[index] == "*"):
        kwargs["path"] = tokens[index]
        index += 1
    if index >= len(tokens) or not tokens[index]:
        raise FaultSpecError(f"fault rule {text!r}: missing the fault kind (one of {', '.join(KINDS)})")
    kind, _, arg = tokens[index].partition("=")
    kwargs["kind"] = kind
    if kind not in KINDS:
        raise FaultSpecError(
            f"fault rule {text!r}: unknown kind {kind!r}; expected one of {', '.join(KINDS)}"
        )
    if arg:
        if kind == "latency" and ".." in arg:
            low, _, high = arg.partition("..")
            kwargs["seconds"] = _number(low, "latency", text)
            kwargs["seconds_max"] = _number(high, "latency", text)
        elif kind in ("latency", "slow"):
            kwargs["seconds"] = _number(arg, kind, text)
        elif kind == "bandwidth":
            kwargs["rate"] = _number(arg, "bandwidth", text)
        elif kind == "throttle":
            kwargs["retry_after"] = int(_number(arg, "retry_after", text))
        elif kind == "error":
            kwargs["status"] = int(_number(arg, "status", text))
        elif kind == "truncate":
            kwargs["fraction"] = _number(arg, "fraction", text)
        else:
            raise FaultSpecError(f"fault rule {text!r}: {kind} takes no argument")
    for option in tokens[index + 1 :]:
        key, sep, value = option.partition("=")
        if not sep:
            raise FaultSpecError(f"fault rule {text!r}: option {option!r} needs KEY=VALUE")
        if key == "times":
            kwargs["times"] = int(_number(value, "times", text))
        elif key == "after":
            kwargs["after"] = int(_number(value, "after", text))
        elif key in ("p", "probability"):
            kwargs["probability"] = _number(value, "p", text)
        elif key == "method":
            kwargs["method"] = value.upper()
        elif key == "dir":
            kwargs["direction"] = value
        elif key == "per":
            kwargs["per"] = {"conn": "connection"}.get(value, value)
        elif key in ("status", "retry_after"):
            kwargs[key] = int(_number(value, key, text))
        else:
            raise FaultSpecError(
                f"fault rule {text!r}: unknown option {key!r} (expected "
                "times, after, p, method, dir, per, status, retry_after)"
            )
    try:
        return FaultRule(**kwargs)
    except FaultSpecError as exc:
        raise FaultSpecError(f"fault rule {text!r}: {exc}") from None


def parse_fault_spec(spec: str) -> list[FaultRule]:
    """Rules from a ``--faults`` string; :class:`FaultSpecError` names the bad rule."""
    return [_parse_rule(part) for part in spec.split(";") if part.strip()]


class _Pacer:
    """Spaces out bytes to ``rate`` per second (asyncio, one event loop)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.next_free = 0.0

    async def consume(self, size: int) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.next_free = max(now, self.next_free) + size / self.rate
        delay = self.next_free - now
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass
class _Armed:
    rule: FaultRule
    rng: random.Random
    matched: int = 0
    fired: int = 0
    shared: _Pacer | None = None


@dataclass
class _Firing:
    """The rules that fire for one request."""

    rules: list[FaultRule] = field(default_factory=list)
    latency: float = 0.0
    up: list[_Pacer] = field(default_factory=list)
    down: list[_Pacer] = field(default_factory=list)

    def first(self, kind: str) -> FaultRule | None:
        return next((r for r in self.rules if r.kind == kind), None)


class FaultInjector:
    """The active rules and their counters; safe to change from another thread."""

    def __init__(self, rules: Sequence[FaultRule] = (), seed: int = 0) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        for rule in rules:
            self.add(rule)

    def add(self, rule: FaultRule) -> None:
        """Arm one more rule."""
        with self._lock:
            index = len(self._armed)
            rng = random.Random(f"{self.seed}/{index}/{rule!r}")
            shared = _Pacer(rule.rate) if rule.kind == "bandwidth" and rule.per == "total" else None
            self._armed = [*self._armed, _Armed(rule, rng, shared=shared)]

    def clear(self) -> None:
        """Disarm every rule."""
        with self._lock:
            self._armed = []

    @property
    def rules(self) -> list[FaultRule]:
        """The armed rules, in order."""
        return [armed.rule for armed in self._armed]

    def fired(self) -> list[tuple[FaultRule, int]]:
        """Each armed rule with how many requests it has hit so far."""
        with self._lock:
            return [(armed.rule, armed.fired) for armed in self._armed]

    def select(self, host: str, method: str, path: str) -> _Firing:
        """Decide which rules fire for this request (advances counters and RNGs)."""
        firing = _Firing()
        with self._lock:
            for armed in self._armed:
                rule = armed.rule
                if not rule.matches(host, method, path):
                    continue
                armed.matched += 1
                if armed.matched <= rule.after:
                    continue
                if rule.times is not None and armed.fired >= rule.times:
                    continue
                if rule.probability < 1.0 and armed.rng.random() >= rule.probability:
                    continue
                armed.fired += 1
                firing.rules.append(rule)
                if rule.kind == "latency":
                    high = rule.seconds_max if rule.seconds_max is not None else rule.seconds
                    firing.latency += armed.rng.uniform(rule.seconds, high)
                elif rule.kind == "bandwidth":
                    pacer = armed.shared or _Pacer(rule.rate)
                    if rule.direction in ("up", "both"):
                        firing.up.append(pacer)
                    if rule.direction in ("down", "both"):
                        firing.down.append(pacer)
        return firing


def _error_page(status: int) -> bytes:
    if status == 500:
        return HTML_500.encode()
    phrase = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else ""
    title = f"{status} {phrase}".strip()
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}"
        f"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    all_headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class FaultMiddleware:
    """ASGI middleware applying the injector's rules to one host's app."""

    def __init__(self, app: ASGIApp, host: str, injector: FaultInjector) -> None:
        self.app = app
        self.host = host
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        firing = self.injector.select(self.host, scope["method"], scope["path"])
        if not firing.rules:
            await self.app(scope, receive, send)
            return
        if firing.latency > 0:
            await asyncio.sleep(firing.latency)
        if firing.first("reset_before_body"):
            reset_connection(scope)
            await wait_disconnect(receive)
            return
        throttle = firing.first("throttle")
        if throttle is not None:
            body = json_bytes(
                {"detail": f"Request was throttled. Expected available in {throttle.retry_after} seconds."}
            )
            await _respond(
                send,
                429,
                body,
                [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(throttle.retry_after).encode()),
                ],
            )
            return
        error = firing.first("error")
        if error is not None:
            await _respond(send, error.status, _error_page(error.status), [(b"content-type", b"text/html")])
            return
        await self._run_wrapped(scope, receive, send, firing)

    async def _run_wrapped(self, scope: Scope, receive: Receive, send: Send, firing: _Firing) -> None:
        dropped = False
        reset_after = firing.first("reset_after_store") is not None
        slow = firing.first("slow")
        truncate = firing.first("truncate")
        held: list[Message] = []

        async def paced_receive() -> Message:
            message = await receive()
            size = len(message.get("body", b""))
            for pacer in firing.up:
                await pacer.consume(size)
            return message

        async def faulty_send(message: Message) -> None:
            nonlocal dropped
            if dropped:
                return
            if message["type"] == "http.response.start":
                if reset_after:
                    dropped = True
                    reset_connection(scope)
                    return
                if truncate is not None:
                    held.append(message)
                    return
                await send(message)
                if slow is not None:
                    await asyncio.sleep(slow.seconds)
                return
            if truncate is not None:
                held.append(message)
                if not message.get("more_body", False):
                    await self._send_truncated(send, held, truncate.fraction)
                return
            await self._send_paced(send, message, firing.down)

        await self.app(scope, paced_receive if firing.up else receive, faulty_send)
        if dropped:
            await wait_disconnect(receive)

    @staticmethod
    async def _send_truncated(send: Send, held: list[Message], fraction: float) -> None:
        start, parts = held[0], held[1:]
        body = b"".join(bytes(part.get("body", b"")) for part in parts)
        cut = body[: max(0, min(len(body) - 1, int(len(body) * fraction)))]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(cut)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": cut, "more_body": False})

    @staticmethod
    async def _send_paced(send: Send, message: Message, pacers: list[_Pacer]) -> None:
        body = bytes(message.get("body", b""))
        if not pacers or not body:
            await send(message)
            return
        step = max(512, int(min(p.rate for p in pacers) / 20))
        more = message.get("more_body", False)
        for offset in range(0, len(body), step):
            piece = body[offset : offset + step]
            for pacer in pacers:
                await pacer.consume(len(piece))
            last = offset + step >= len(body)
            await send({"type": "http.response.body", "body": piece, "more_body": more or not last})
