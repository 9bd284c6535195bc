"""Finds upload candidates lazily: walks paths in a worker thread, classifies and fingerprints files.

The walk is a plain generator advanced a small batch at a time through `anyio.to_thread`, so the
event loop never runs `stat`, `scandir` or `open`, and a directory of a million entries never sits in
memory: only the current batch and the directory stack do. Symlinked directories are followed once
(visited directories are remembered by device and inode), so symlink loops end.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import stat as stat_module
import time
from collections.abc import AsyncGenerator, Generator, Iterator, Sequence
from pathlib import Path

import anyio.to_thread
import attrs

__all__ = [
    "BATCH",
    "COMPRESSED_SUFFIXES",
    "Candidate",
    "FITS_MAGIC",
    "FITS_SUFFIXES",
    "Fingerprint",
    "Rejected",
    "discover",
    "sha256_of",
    "walk",
]

FITS_SUFFIXES = (".fits", ".fit", ".fts")
COMPRESSED_SUFFIXES = (".fz", ".gz", ".bz2", ".xz", ".zip")
FITS_MAGIC = b"SIMPLE  ="
#: Entries classified per worker-thread call.
BATCH = 32


@attrs.frozen
class Fingerprint:
    """What identifies a file on disk without reading it: path, size and modification time."""

    path: str
    size: int
    mtime_ns: int


@attrs.frozen
class Candidate:
    """A file worth uploading."""

    path: Path
    fingerprint: Fingerprint

    @property
    def size(self) -> int:
        return self.fingerprint.size


@attrs.frozen
class Rejected:
    """A path that will not be uploaded, and why (one line)."""

    path: Path
    reason: str
    size: int = 0


async def discover(
    paths: Sequence[str | os.PathLike[str]],
    *,
    data_product_type: str = "fits_file",
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    min_age: float = 0.0,
    batch: int = BATCH,
) -> AsyncGenerator[Candidate | Rejected, None]:
    """Yield every candidate and every rejected file under `paths`, walking in a worker thread.

    Args:
        paths: files and directories (directories are walked recursively).
        data_product_type: ``fits_file`` accepts only FITS files (extension and magic card).
        include: glob patterns (matched against the file name and the full path); if given, a file
            must match one of them.
        exclude: glob patterns; a matching file (or directory) is left out silently.
        min_age: seconds since the last modification below which a file counts as still being
            written and is skipped.
        batch: entries classified per worker-thread call.
    """
    walker = walk(
        paths, data_product_type=data_product_type, include=include, exclude=exclude, min_age=min_age
    )
    try:
        while True:
            items = await anyio.to_thread.run_sync(_next_batch, walker, batch)
            if not items:
                return
            for item in items:
                yield item
    finally:
        walker.close()


def _next_batch(walker: Iterator[Candidate | Rejected], size: int) -> list[Candidate | Rejected]:
    items: list[Candidate | Rejected] = []
    for item in walker:
        items.append(item)
        if len(items) >= size:
            break
    return items


def walk(
    paths: Sequence[str | os.PathLike[str]],
    *,
    data_product_type: str = "fits_file",
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    min_age: float = 0.0,
) -> Generator[Candidate | Rejected, None, None]:
    """The blocking walk behind `discover` (run it in a worker thread)."""
    visited: set[tuple[int, int]] = set()
    for given in paths:
        root = Path(given)
        try:
            info = root.stat()
        except FileNotFoundError:
            yield Rejected(root, "does not exist")
            continue
        except OSError as exc:
            yield Rejected(root, f"cannot be read ({exc.strerror or exc})")
            continue
        if stat_module.S_ISDIR(info.st_mode):
            yield from _walk_dir(root, visited, data_product_type, include, exclude, min_age)
        else:
            # A file named explicitly is classified even if a glob would exclude it.
            yield _classify(root, info, data_product_type, min_age)


def _walk_dir(
    root: Path,
    visited: set[tuple[int, int]],
    data_product_type: str,
    include: Sequence[str],
    exclude: Sequence[str],
    min_age: float,
) -> Iterator[Candidate | Rejected]:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = folder.stat()
        except OSError:
            continue
        key = (info.st_dev, info.st_ino)
        if key in visited:
            continue  # a symlink loop or a folder reached twice
        visited.add(key)
        try:
            with os.scandir(folder) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError as exc:
            yield Rejected(folder, f"directory cannot be read ({exc.strerror or exc})")
            continue
        subfolders = []
        for name in names:
            path = folder / name
            if _matches(path, exclude):
                continue
            try:
                entry_info = path.stat()
            except FileNotFoundError:
                if path.is_symlink():
                    yield Rejected(path, "broken symlink")
                else:
                    yield Rejected(path, "vanished before it could be read")
                continue
            except OSError as exc:
                yield Rejected(path, f"cannot be read ({exc.strerror or exc})")
                continue
            if stat_module.S_ISDIR(entry_info.st_mode):
                subfolders.append(path)
                continue
            if include and not _matches(path, include):
                continue
            yield _classify(path, entry_info, data_product_type, min_age)
        # Depth-first, in name order.
        stack.extend(reversed(subfolders))


def _matches(path: Path, patterns: Sequence[str]) -> bool:
    text = str(path)
    return any(fnmatch.fnmatch(path.name, p) or fnmatch.fnmatch(text, p) for p in patterns)


def _classify(
    path: Path, info: os.stat_result, data_product_type: str, min_age: float
) -> Candidate | Rejected:
    if not stat_module.S_ISREG(info.st_mode):
        return Rejected(path, "not a regular file")
    size = info.st_size
    lower = path.name.lower()
    if data_product_type == "fits_file":
        if lower.endswith(COMPRESSED_SUFFIXES):
            return Rejected(
                path,
                "compressed frame (the server does not calibrate compressed files; decompress it first)",
                size,
            )
        if not lower.endswith(FITS_SUFFIXES):
            return Rejected(path, "not a FITS file (extension is not .fits, .fit or .fts)", size)
    if size == 0:
        return Rejected(path, "empty file (0 bytes)", 0)
    age = time.time() - info.st_mtime
    if min_age > 0 and age < min_age:
        return Rejected(path, f"still being written (modified {max(age, 0.0):.1f} s ago)", size)
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(FITS_MAGIC))
            after = os.fstat(handle.fileno())
    except FileNotFoundError:
        return Rejected(path, "vanished before it could be read", size)
    except OSError as exc:
        return Rejected(path, f"unreadable ({exc.strerror or exc})", size)
    if after.st_size != size or after.st_mtime_ns != info.st_mtime_ns:
        return Rejected(path, "still being written (it changed while being checked)", size)
    if data_product_type == "fits_file" and head != FITS_MAGIC:
        return Rejected(path, "not a FITS file (no 'SIMPLE  =' card at the start)", size)
    return Candidate(path, Fingerprint(str(path.absolute()), size, info.st_mtime_ns))


def sha256_of(path: Path) -> str:
    """The file's sha256, read in 1 MiB chunks (blocking: call it in a worker thread).

    Only for the rare file that may be a copy of one already uploaded; uploads hash in the same
    pass that sends them.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
