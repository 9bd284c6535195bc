"""Serving a `Night` over HTTP inside the caller's event loop (uvicorn on a socket bound here).

`serve_night` binds first, so the address (and a free port when 0 was asked) is known and said
before anything is served. Loopback is the default; any other address needs ``public=True``,
and then a random key is made and every URL needs it. uvicorn's own signal handling is left
off: the caller (the CLI) owns SIGINT and SIGTERM.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
from collections.abc import AsyncIterator, Generator

import anyio
import attrs
import uvicorn

from ..errors import InvalidInputError
from ..night import Night
from .app import night_app

__all__ = ["NightServer", "parse_address", "serve_night"]


@attrs.frozen
class NightServer:
    """A night being served: `url` opens the page (with its key, when there is one)."""

    host: str
    port: int
    key: str | None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?key={self.key}" if self.key else "")


def parse_address(text: str) -> tuple[str, int]:
    """``127.0.0.1:8787``, ``[::1]:8787`` or ``:8787`` (loopback) into host and port."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidInputError(f"--serve needs HOST:PORT, not {text!r}", hint="e.g. --serve 127.0.0.1:8787")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the CLI handles SIGINT/SIGTERM; uvicorn must not take them over


@contextlib.asynccontextmanager
async def serve_night(
    night: Night, host: str, port: int, *, public: bool = False
) -> AsyncIterator[NightServer]:
    """Serve `night` while the block runs; leaving it ends the page's event streams and stops.

    Raises:
        InvalidInputError: `host` is not loopback and `public` is not set, or the address
            cannot be bound (in use, not this machine's).
    """
    if not _is_loopback(host) and not public:
        raise InvalidInputError(
            f"{host} is reachable from other machines",
            hint="serve on 127.0.0.1, or add --serve-public (a random key is then needed in the URL)",
        )
    key = None if _is_loopback(host) else secrets.token_urlsafe(18)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening before the URL is announced: a client that connects at once waits in the
        # backlog until uvicorn accepts, instead of being refused while the server starts.
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise InvalidInputError(
            f"cannot serve the night page on {host}:{port}: {exc.strerror}",
            hint="pick another port (--serve 127.0.0.1:0 takes a free one)",
        ) from None
    closing = anyio.Event()
    app = night_app(night, key=key, closing=closing)
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, access_log=False
    )
    server = _Server(config)
    bound_host, bound_port = sock.getsockname()[:2]
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            yield NightServer(str(bound_host), int(bound_port), key)
            closing.set()
            await anyio.sleep(0.05)  # lets open streams send their goodbye
            server.should_exit = True
    finally:
        sock.close()
