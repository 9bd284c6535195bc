"""`POST /api/token-auth/`: username and password → API token."""

from __future__ import annotations

from .._http import RequestSpec, Transport
from ..errors import AuthenticationError, ResponseDecodeError, ValidationError

__all__ = ["request_token"]

PATH = "/api/token-auth/"


async def request_token(transport: Transport, username: str, password: str) -> str:
    """Exchange credentials for the account's token (the server returns the same one each time).

    Sent without any ``Authorization`` header: a stale one makes the server answer 401 even for
    correct credentials (docs/server-behaviour.md, "Token"). No ``X-CSRFToken`` either; the
    server ignores it.
    """
    spec = RequestSpec("POST", PATH, json={"username": username, "password": password}, authenticated=False)
    try:
        response = await transport.send(spec)
    except ValidationError as exc:
        raise AuthenticationError(
            exc.message,
            status=exc.status,
            method=exc.method,
            path=exc.path,
            hint="check the username and password (both are case-sensitive)",
        ) from None
    payload = response.json()
    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        raise ResponseDecodeError(
            "no token in the answer", method="POST", path=PATH, status=response.status, snippet=""
        )
    return token
