"""Helpers shared by test modules (fixtures live in the conftest files)."""

from __future__ import annotations

import email.parser
import email.policy

import httpx

__all__ = ["form_of"]


def form_of(request: httpx.Request) -> tuple[list[tuple[str, str]], list[tuple[str, str, bytes]]]:
    """(fields in order, files as (part name, file name, bytes)) of a multipart request."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, str, bytes]] = []
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        if filename:
            files.append((name, filename, payload))
        else:
            fields.append((name, payload.decode()))
    return fields, files
