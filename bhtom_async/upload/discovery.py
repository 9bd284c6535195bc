"""Finds the files to upload lazily: walks paths in a worker thread, names and fingerprints them.

The walk is a plain generator advanced a small batch at a time through `anyio.to_thread`, so the
event loop never runs `stat`, `scandir` or `open`, and a directory of a million entries never sits
in memory: only the current batch and the directory stack do.

What the walk decides, per entry: ignored (not the type being uploaded), skipped (a symlink that
leads outside the folders given, a second path to a file already found: hard links and paths
listed twice are sent once), failed (unreadable folder or file, a name that is not valid UTF-8),
or found. Whether a found file is complete (non-empty, a real FITS file, not still being written)
is decided later, once it has settled (`inspect`).

Names on the wire: the multipart encoding and the server's storage alter some characters (a
double quote becomes ``%22``; storage replaces spaces), and a lost answer can only be reconciled
if we know the exact stored name. So every file is sent under `wire_name(name)`: letters, digits,
``-``, ``_`` and ``.`` are kept and every other character becomes ``_``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat as stat_module
import unicodedata
from collections.abc import AsyncGenerator, Generator, Iterator, Sequence
from pathlib import Path
from typing import Literal

import anyio.to_thread
import attrs

from .frames import FITS_MAGIC, FITS_SUFFIXES, Compression, compression_of, gzip_size, plain_head, plain_name

__all__ = [
    "BATCH",
    "COMPRESSED_SUFFIXES",
    "Candidate",
    "Fingerprint",
    "Found",
    "Rejected",
    "VANISHED",
    "discover",
    "fingerprint_of",
    "inspect",
    "sha256_of",
    "walk",
    "wire_name",
]

#: Compressions the server cannot take and we cannot undo (gzip and fpack are unpacked, see `frames`).
COMPRESSED_SUFFIXES = (".bz2", ".xz", ".zip", ".Z")
#: Entries classified per worker-thread call.
BATCH = 32
#: Why a file that vanished before it was ever sent is ignored (a write-then-rename camera's temporary file).
VANISHED = "vanished before it was ready (renamed or deleted by its writer); nothing sent"
_UNSAFE = re.compile(r"[^\w.\-]")


@attrs.frozen
class Fingerprint:
    """What identifies a file on disk without reading it.

    `path`, `size` and `mtime_ns` find its journal row again; `device` and `inode` tell two paths
    to one file apart from two files.
    """

    path: str
    size: int
    mtime_ns: int
    device: int = 0
    inode: int = 0

    def same_content_as(self, other: Fingerprint) -> bool:
        """Same file, unchanged (size, modification time and identity all equal)."""
        return (self.size, self.mtime_ns, self.device, self.inode) == (
            other.size,
            other.mtime_ns,
            other.device,
            other.inode,
        )


@attrs.frozen
class Found:
    """A file of the type being uploaded, not yet inspected (it may still be being written)."""

    path: Path
    fingerprint: Fingerprint
    wire_name: str
    compression: Compression | None = None

    @property
    def size(self) -> int:
        return self.fingerprint.size


@attrs.frozen
class Candidate:
    """A settled, inspected file, ready to send.

    `send_size` is the length of what goes on the wire (the decompressed length of a gzipped
    frame; that of a tile-compressed one is known only once it is unpacked, so its own size).
    """

    path: Path
    fingerprint: Fingerprint
    wire_name: str
    compression: Compression | None = None
    send_size: int = 0

    @property
    def size(self) -> int:
        return self.fingerprint.size


RejectionKind = Literal["ignored", "skipped", "failed"]


@attrs.frozen
class Rejected:
    """A path that will not be uploaded, why (one line), and whether that is a failure."""

    path: Path
    reason: str
    size: int = 0
    kind: RejectionKind = "failed"


def wire_name(name: str) -> str:
    """The file name to send: one the encoding and the server's storage leave as it is."""
    normal = unicodedata.normalize("NFC", name)
    return _UNSAFE.sub("_", normal) or "_"


def fingerprint_of(path: Path, info: os.stat_result) -> Fingerprint:
    return Fingerprint(str(path.absolute()), info.st_size, info.st_mtime_ns, info.st_dev, info.st_ino)


async def discover(
    paths: Sequence[str | os.PathLike[str]],
    *,
    data_product_type: str = "fits_file",
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    batch: int = BATCH,
    roots: Sequence[str | os.PathLike[str]] | None = None,
    explicit: bool = True,
) -> AsyncGenerator[Found | Rejected, None]:
    """Yield every found and every rejected path under `paths`, walking in a worker thread.

    Args:
        paths: files and directories (directories are walked recursively).
        data_product_type: ``fits_file`` takes files named ``.fits``, ``.fit`` or ``.fts``;
            other types take every file.
        include: glob patterns (matched against the file name and the full path); if given, a file
            must match one of them.
        exclude: glob patterns; a matching file (or directory) is left out silently.
        batch: entries classified per worker-thread call.
        roots: the folders a symlink may lead into (default: the directories in `paths`).
        explicit: `paths` were named by the user, so the globs do not apply to them (a watcher's
            events are not: they pass False).
    """
    walker = walk(
        paths,
        data_product_type=data_product_type,
        include=include,
        exclude=exclude,
        roots=roots,
        explicit=explicit,
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


def _next_batch(walker: Iterator[Found | Rejected], size: int) -> list[Found | Rejected]:
    items: list[Found | Rejected] = []
    for item in walker:
        items.append(item)
        if len(items) >= size:
            break
    return items


class _Walk:
    """Strictly private: the state of one walk (roots, folders and files seen)."""

    def __init__(self, data_product_type: str, include: Sequence[str], exclude: Sequence[str]) -> None:
        self.data_product_type = data_product_type
        self.include = include
        self.exclude = exclude
        self.roots: list[str] = []
        self.folders: set[tuple[int, int]] = set()
        self.files: dict[tuple[int, int], Path] = {}

    def inside_roots(self, path: Path) -> bool:
        real = os.path.realpath(path)
        return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in self.roots)

    def entry(self, path: Path, info: os.stat_result, *, given: bool) -> Found | Rejected | None:
        """Classify one regular file (None: left out silently by the globs)."""
        if not given and self.include and not _matches(path, self.include):
            return None
        try:
            path.name.encode("utf-8")
        except UnicodeEncodeError:
            return Rejected(path, "its name is not valid UTF-8; rename the file to upload it", info.st_size)
        lower = path.name.lower()
        packed = compression_of(path.name) if self.data_product_type == "fits_file" else None
        if self.data_product_type == "fits_file" and packed is None:
            if lower.endswith(COMPRESSED_SUFFIXES) and any(f"{s}." in lower for s in FITS_SUFFIXES):
                return Rejected(
                    path,
                    "compressed in a way the uploader cannot undo; decompress it (or gzip it) first",
                    info.st_size,
                )
            if not lower.endswith(FITS_SUFFIXES):
                return Rejected(
                    path,
                    "not a FITS file name (.fits, .fit, .fts, or .gz/.fz of those)",
                    info.st_size,
                    "ignored",
                )
        identity = (info.st_dev, info.st_ino)
        first = self.files.get(identity)
        if first is not None:
            same = "listed twice" if first == path else f"a second path to {first} (hard link)"
            return Rejected(path, f"{same}; the file is sent once", info.st_size, "skipped")
        self.files[identity] = path
        return Found(path, fingerprint_of(path, info), wire_name(plain_name(path.name)), packed)


def walk(
    paths: Sequence[str | os.PathLike[str]],
    *,
    data_product_type: str = "fits_file",
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    roots: Sequence[str | os.PathLike[str]] | None = None,
    explicit: bool = True,
) -> Generator[Found | Rejected, None, None]:
    """The blocking walk behind `discover` (run it in a worker thread)."""
    state = _Walk(data_product_type, include, exclude)
    state.roots = [os.path.realpath(p) for p in (paths if roots is None else roots) if os.path.isdir(p)]
    for given in paths:
        root = Path(given)
        if not explicit and (
            _matches(root, exclude) or any(_matches(Path(p), exclude) for p in root.parents)
        ):
            continue
        try:
            info = root.stat()
        except FileNotFoundError:
            if explicit:
                yield Rejected(root, "does not exist")
            # else a watcher's path gone before it was read: a temporary file its writer renamed
            # (``f.fits.tmp`` -> ``f.fits``, whose own event follows) or deleted. Nothing to send.
            continue
        except OSError as exc:
            yield Rejected(root, f"cannot be read ({exc.strerror or exc})")
            continue
        if stat_module.S_ISDIR(info.st_mode):
            yield from _walk_dir(root, state)
        elif stat_module.S_ISREG(info.st_mode):
            # A file named explicitly is taken even if a glob would leave it out.
            found = state.entry(root, info, given=explicit)
            if found is not None:
                yield found
        else:
            yield Rejected(root, "not a regular file")


def _walk_dir(root: Path, state: _Walk) -> Iterator[Found | Rejected]:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = folder.stat()
        except OSError as exc:
            yield Rejected(folder, f"folder cannot be read ({exc.strerror or exc})")
            continue
        key = (info.st_dev, info.st_ino)
        if key in state.folders:
            continue  # a symlink loop or a folder reached twice
        state.folders.add(key)
        try:
            with os.scandir(folder) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError as exc:
            yield Rejected(
                folder, f"folder cannot be read ({exc.strerror or exc}); its files were not uploaded"
            )
            continue
        subfolders = []
        for name in names:
            path = folder / name
            if _matches(path, state.exclude):
                continue
            if path.is_symlink() and not state.inside_roots(path):
                target = os.path.realpath(path)
                yield Rejected(
                    path, f"symlink to {target}, outside the folders given; not followed", 0, "skipped"
                )
                continue
            try:
                entry_info = path.stat()
            except FileNotFoundError:
                reason = "broken symlink" if path.is_symlink() else "vanished before it could be read"
                yield Rejected(path, reason)
                continue
            except OSError as exc:
                yield Rejected(path, f"cannot be read ({exc.strerror or exc})")
                continue
            if stat_module.S_ISDIR(entry_info.st_mode):
                subfolders.append(path)
            elif stat_module.S_ISREG(entry_info.st_mode):
                found = state.entry(path, entry_info, given=False)
                if found is not None:
                    yield found
            else:
                yield Rejected(path, "not a regular file", 0, "ignored")
        # Depth-first, in name order.
        stack.extend(reversed(subfolders))


def _matches(path: Path, patterns: Sequence[str]) -> bool:
    text = str(path)
    return any(fnmatch.fnmatch(path.name, p) or fnmatch.fnmatch(text, p) for p in patterns)


def inspect(found: Found | Candidate, data_product_type: str) -> Candidate | Rejected:
    """Check a settled file is complete and of the right kind (blocking: run it in a thread).

    Re-reads the stat, so the fingerprint is the one of the file as it will be sent. For a
    compressed frame the check is on what would be sent (its decompressed start).
    """
    path = found.path
    try:
        info = os.stat(path)
        head = plain_head(path, found.compression) if info.st_size else b""
        send_size = gzip_size(path) if found.compression == "gzip" and info.st_size else info.st_size
    except FileNotFoundError:
        # Renamed or deleted by its writer after it settled: nothing to send, and no failure.
        return Rejected(path, VANISHED, found.size, "ignored")
    except (OSError, EOFError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        return Rejected(path, f"cannot be read ({reason})", found.size)
    if info.st_size == 0:
        return Rejected(path, "empty file (0 bytes)")
    if data_product_type == "fits_file" and head != FITS_MAGIC:
        return Rejected(path, "not a FITS file (no 'SIMPLE  =' card at the start)", info.st_size)
    return Candidate(path, fingerprint_of(path, info), found.wire_name, found.compression, send_size)


def sha256_of(path: Path) -> str:
    """The file's sha256, read in 1 MiB chunks (blocking: call it in a worker thread).

    Only for a file that may be a copy of one already uploaded; uploads hash in the same pass
    that sends them.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
