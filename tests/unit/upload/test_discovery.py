"""`upload.discovery`: which paths are candidates, why the others are not, and that the walk ends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from blockbuster import blockbuster_ctx

from bhtom_async.upload.discovery import Candidate, Rejected, discover, walk

from ...conftest import fits_bytes

pytestmark = pytest.mark.anyio


def reasons(items: list[Candidate | Rejected]) -> dict[str, str]:
    return {item.path.name: item.reason for item in items if isinstance(item, Rejected)}


def names(items: list[Candidate | Rejected]) -> list[str]:
    return [item.path.name for item in items if isinstance(item, Candidate)]


@pytest.fixture
def night(tmp_path: Path) -> Path:
    root = tmp_path / "night"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.fits").write_bytes(fits_bytes(1))
    (root / "sub" / "b.fit").write_bytes(fits_bytes(2))
    (root / "sub" / "deeper" / "c.FTS").write_bytes(fits_bytes(3))
    (root / "log.txt").write_text("observing log")
    (root / "d.fits.fz").write_bytes(b"compressed")
    (root / "e.fits.gz").write_bytes(b"compressed")
    (root / "empty.fits").write_bytes(b"")
    (root / "fake.fits").write_bytes(b"not a fits header at all" * 10)
    return root


def test_walk_finds_fits_in_subdirectories_in_name_order(night: Path) -> None:
    """Every FITS frame under the folder is found, depth first in name order."""
    assert names(list(walk([night]))) == ["a.fits", "b.fit", "c.FTS"]


def test_each_non_candidate_gets_its_reason(night: Path) -> None:
    """Logs, compressed frames, empty files and fake FITS are skipped, each with a clear reason."""
    found = reasons(list(walk([night])))
    assert "not a FITS file (extension" in found["log.txt"]
    assert "compressed" in found["d.fits.fz"]
    assert "compressed" in found["e.fits.gz"]
    assert found["empty.fits"] == "empty file (0 bytes)"
    assert "no 'SIMPLE  =' card" in found["fake.fits"]


def test_other_data_product_types_accept_any_non_empty_file(night: Path) -> None:
    """For photometry_csv the extension and magic are not checked."""
    found = names(list(walk([night], data_product_type="photometry_csv")))
    assert {"log.txt", "fake.fits", "a.fits"} <= set(found)


def test_missing_path_is_reported(tmp_path: Path) -> None:
    """A path that does not exist is one rejected item, not an exception."""
    (item,) = list(walk([tmp_path / "nope"]))
    assert isinstance(item, Rejected)
    assert item.reason == "does not exist"


def test_still_growing_file_is_skipped(night: Path) -> None:
    """A file modified less than `min_age` seconds ago counts as still being written."""
    old = night / "sub" / "b.fit"
    os.utime(old, (1_000_000_000, 1_000_000_000))
    items = list(walk([night], min_age=60))
    assert names(items) == ["b.fit"]
    assert reasons(items)["a.fits"].startswith("still being written")


def test_symlink_loop_terminates(night: Path) -> None:
    """A symlink pointing back up the tree is not followed twice, so the walk ends."""
    (night / "sub" / "loop").symlink_to(night, target_is_directory=True)
    (night / "broken.fits").symlink_to(night / "missing.fits")
    items = list(walk([night]))
    assert names(items) == ["a.fits", "b.fit", "c.FTS"]
    assert reasons(items)["broken.fits"] == "broken symlink"


def test_include_and_exclude_globs(night: Path) -> None:
    """Include keeps only matching files; exclude drops files and whole folders."""
    assert names(list(walk([night], include=["*.fits"]))) == ["a.fits"]
    assert names(list(walk([night], exclude=["deeper"]))) == ["a.fits", "b.fit"]


def test_fingerprint_is_absolute_path_size_and_mtime(night: Path) -> None:
    """The stat fingerprint lets a re-run recognise a file without reading it."""
    (candidate,) = [i for i in walk([night / "a.fits"]) if isinstance(i, Candidate)]
    info = (night / "a.fits").stat()
    assert candidate.fingerprint.path == str((night / "a.fits").absolute())
    assert (candidate.fingerprint.size, candidate.fingerprint.mtime_ns) == (info.st_size, info.st_mtime_ns)


def test_unreadable_file_is_skipped(night: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file we may not read is skipped with the reason (denial simulated: CI runs as root)."""
    from bhtom_async.upload import discovery

    locked = night / "a.fits"
    real_open = open

    def guarded(path: object, *args: Any, **kwargs: Any) -> Any:
        if Path(str(path)) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(discovery, "open", guarded, raising=False)
    found = reasons(list(walk([night])))
    assert found["a.fits"] == "unreadable (Permission denied)"
    assert "b.fit" not in found


async def test_discover_walks_off_the_event_loop_in_batches(tmp_path: Path) -> None:
    """discover() yields every item while no blocking call runs on the event loop."""
    for i in range(70):
        (tmp_path / f"f{i:03d}.fits").write_bytes(fits_bytes(i))
    with blockbuster_ctx():
        items = [item async for item in discover([tmp_path], batch=8)]
    assert len(names(items)) == 70


async def test_discover_is_lazy(tmp_path: Path) -> None:
    """Stopping early leaves the rest of a large folder unvisited (bounded work and memory)."""
    for i in range(50):
        (tmp_path / f"d{i:02d}").mkdir()
        (tmp_path / f"d{i:02d}" / "x.fits").write_bytes(fits_bytes(i))
    seen = []
    async for item in discover([tmp_path], batch=4):
        seen.append(item)
        if len(seen) == 3:
            break
    assert len(seen) == 3
