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


@pytest.mark.parametrize(("size", "writes"), [(0, 1), (999, 1), (1000, 1), (1001, 2), (3000, 3)])
async def test_framing_rides_with_the_file_bytes(tmp_path: Path, size: int, writes: int) -> None:
    """One write per chunk of file bytes: the fields and head go with the first, the closing
    boundary with the last (a small file is one write)."""
    path = tmp_path / "f.fits"
    path.write_bytes(b"y" * size)
    chunks = [chunk async for chunk in _body(path, size).chunks()]
    assert len(chunks) == writes
    assert chunks[0].startswith(b"--b\r\n")
    assert chunks[-1].endswith(b"--b--\r\n")


async def test_two_files_keep_their_framing_between_them(tmp_path: Path) -> None:
    """With two parts, a part's closing CRLF ends its last chunk and the next head starts the next."""
    first, second = tmp_path / "a.fits", tmp_path / "b.fits"
    first.write_bytes(b"a" * 1500)
    second.write_bytes(b"b" * 10)
    parts = [FilePart("files", first, 1500), FilePart("files", second, 10)]
    body = MultipartBody([("target", "T")], parts, chunk_size=1000, boundary="b")
    chunks = [chunk async for chunk in body.chunks()]
    assert len(chunks) == 3
    assert chunks[1].endswith(b"a\r\n")
    assert chunks[2].startswith(b"--b\r\n")
    assert b'filename="b.fits"' in chunks[2]
    assert b"".join(chunks).count(b"--b\r\n") == 3
    assert len(b"".join(chunks)) == body.content_length


async def test_a_read_of_several_chunks_goes_out_as_chunk_sized_writes(tmp_path: Path) -> None:
    """Reads of 3000 bytes, writes of 1000: a 4500-byte file is five writes, in order, hashed whole."""
    data = bytes(range(256)) * 18
    path = tmp_path / "f.fits"
    path.write_bytes(data[:4500])
    body = MultipartBody(
        [("target", "T")], [FilePart("files", path, 4500)], chunk_size=1000, read_size=3000, boundary="b"
    )
    chunks = [chunk async for chunk in body.chunks()]
    assert [len(c) for c in chunks[1:-1]] == [1000, 1000, 1000]
    assert data[:4500] in b"".join(chunks)
    assert len(b"".join(chunks)) == body.content_length
    assert body.sha256 == {"f.fits": hashlib.sha256(data[:4500]).hexdigest()}
