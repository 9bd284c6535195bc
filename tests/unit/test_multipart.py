"""`MultipartBody`: exact bytes and length, the digest of each pass, files that change mid-stream."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bhtom_async._multipart import FilePart, MultipartBody
from bhtom_async.errors import InvalidInputError

pytestmark = pytest.mark.anyio


def _body(path: Path, size: int) -> MultipartBody:
    return MultipartBody([("target", "T")], [FilePart("files", path, size)], chunk_size=1000, boundary="b")


async def _drain(body: MultipartBody) -> bytes:
    return b"".join([chunk async for chunk in body.chunks()])


@pytest.mark.parametrize("size", [0, 999, 1000, 1001, 3000])
async def test_body_holds_the_file_and_its_digest(tmp_path: Path, size: int) -> None:
    """Any size against the chunk size: the bytes, Content-Length and sha256 of exactly the file."""
    data = bytes(range(256)) * (size // 256 + 1)
    path = tmp_path / "f.fits"
    path.write_bytes(data[:size])
    body = _body(path, size)
    sent = await _drain(body)
    assert data[:size] in sent
    assert len(sent) == body.content_length
    assert body.sha256 == {"f.fits": hashlib.sha256(data[:size]).hexdigest()}


@pytest.mark.parametrize(("declared", "actual", "word"), [(2500, 2501, "grew"), (2500, 2499, "shrank")])
async def test_a_file_that_changed_size_cuts_the_body(
    tmp_path: Path, declared: int, actual: int, word: str
) -> None:
    """A file longer or shorter than when the request was built is never sent as if complete."""
    path = tmp_path / "f.fits"
    path.write_bytes(b"x" * actual)
    with pytest.raises(InvalidInputError, match=word):
        await _drain(_body(path, declared))
