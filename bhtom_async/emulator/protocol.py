"""uvicorn's h11 protocol, with the connection's transport exposed to the app.

An ASGI app cannot drop a connection: an exception before ``http.response.start`` becomes a
500. Fault injection needs real transport errors on the client side, so this protocol puts
the asyncio transport into ``scope["extensions"]``, and :func:`reset_connection` aborts it with
``SO_LINGER=0`` (the kernel sends a TCP RST).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["TRANSPORT_KEY", "ExposingH11Protocol", "reset_connection", "wait_disconnect"]

TRANSPORT_KEY = "bhtom_async.emulator.transport"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class ExposingH11Protocol(H11Protocol):
    """H11Protocol whose app sees ``scope["extensions"][TRANSPORT_KEY]``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope.setdefault("extensions", {})[TRANSPORT_KEY] = self.transport
            await inner(scope, receive, send)

        self.app = app


def reset_connection(scope: Scope) -> None:
    """Abort the request's TCP connection with a reset; the client sees a transport error."""
    transport: asyncio.Transport | None = scope.get("extensions", {}).get(TRANSPORT_KEY)
    if transport is None:
        raise RuntimeError("connection reset needs the emulator's ExposingH11Protocol")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # The client may be gone already (killed mid-request): then there is nothing to reset.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def wait_disconnect(receive: Receive, timeout: float = 2.0) -> None:
    """Drain ``receive`` until uvicorn reports the disconnect (so it logs nothing)."""
    with anyio.move_on_after(timeout):
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return
