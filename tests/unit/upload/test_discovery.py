"""`upload.discovery`: which paths are candidates, why the others are not, and that the walk ends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from blockbuster import blockbuster_ctx

from bhtom_async.upload.discovery import Candidate, Found, Rejected, discover, inspect, walk

from ...conftest import fits_bytes

pytestmark = pytest.mark.anyio


def reasons(items: list[Found | Rejected]) -> dict[str, str]:
    return {item.path.name: item.reason for item in items if isinstance(item, Rejected)}


def kinds(items: list[Found | Rejected]) -> dict[str, str]:
    return {item.path.name: item.kind for item in items if isinstance(item, Rejected)}


def names(items: list[Found | Rejected]) -> list[str]:
    return [item.path.name for item in items if isinstance(item, Found)]


def inspected(items: list[Found | Rejected]) -> dict[str, Candidate | Rejected]:
    return {item.path.name: inspect(item, "fits_file") for item in items if isinstance(item, Found)}


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
    """Every FITS-named file under the folder is found, depth first in name order."""
    expected = ["a.fits", "d.fits.fz", "e.fits.gz", "empty.fits", "fake.fits", "b.fit", "c.FTS"]
    assert names(list(walk([night]))) == expected


def test_each_non_candidate_gets_its_reason_and_kind(night: Path) -> None:
    """Logs are ignored; empty, fake and broken compressed frames fail once inspected."""
    items = list(walk([night]))
    assert (kinds(items)["log.txt"], reasons(items)["log.txt"]) == (
        "ignored",
        "not a FITS file name (.fits, .fit, .fts, or .gz/.fz of those)",
    )
    checked = inspected(items)
    assert "no 'SIMPLE  =' card" in str(getattr(checked["d.fits.fz"], "reason", ""))
    assert "cannot be read (Not a gzipped file" in str(getattr(checked["e.fits.gz"], "reason", ""))
    assert isinstance(checked["a.fits"], Candidate)
    assert checked["empty.fits"] == Rejected(night / "empty.fits", "empty file (0 bytes)")
    assert "no 'SIMPLE  =' card" in str(getattr(checked["fake.fits"], "reason", ""))


def test_other_data_product_types_accept_any_non_empty_file(night: Path) -> None:
    """For photometry_csv the extension and magic are not checked."""
    found = names(list(walk([night], data_product_type="photometry_csv")))
    assert {"log.txt", "fake.fits", "a.fits"} <= set(found)


def test_missing_path_is_reported(tmp_path: Path) -> None:
    """A path that does not exist is one rejected item, not an exception."""
    (item,) = list(walk([tmp_path / "nope"]))
    assert isinstance(item, Rejected)
    assert item.reason == "does not exist"


def test_symlink_loop_terminates(night: Path) -> None:
    """A symlink pointing back up the tree is not followed twice, so the walk ends."""
    (night / "sub" / "loop").symlink_to(night, target_is_directory=True)
    (night / "broken.fits").symlink_to(night / "missing.fits")
    items = list(walk([night]))
    assert names(items) == ["a.fits", "d.fits.fz", "e.fits.gz", "empty.fits", "fake.fits", "b.fit", "c.FTS"]
    assert reasons(items)["broken.fits"] == "broken symlink"


def test_include_and_exclude_globs(night: Path) -> None:
    """Include keeps only matching files; exclude drops files and whole folders."""
    assert names(list(walk([night], include=["*.fits"]))) == ["a.fits", "empty.fits", "fake.fits"]
    assert names(list(walk([night], exclude=["deeper", "empty.fits", "fake.*", "*.?z"]))) == [
        "a.fits",
        "b.fit",
    ]


def test_fingerprint_is_absolute_path_size_and_mtime(night: Path) -> None:
    """The stat fingerprint lets a re-run recognise a file without reading it."""
    (candidate,) = [i for i in walk([night / "a.fits"]) if isinstance(i, Found)]
    info = (night / "a.fits").stat()
    assert candidate.fingerprint.path == str((night / "a.fits").absolute())
    assert (candidate.fingerprint.size, candidate.fingerprint.mtime_ns) == (info.st_size, info.st_mtime_ns)
    assert (candidate.fingerprint.device, candidate.fingerprint.inode) == (info.st_dev, info.st_ino)


def test_unreadable_file_fails_with_its_reason(night: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file we may not read fails with the reason (denial simulated: CI runs as root)."""
    from bhtom_async.upload import frames

    locked = night / "a.fits"
    real_open = open

    def guarded(path: object, *args: Any, **kwargs: Any) -> Any:
        if Path(str(path)) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(frames, "open", guarded, raising=False)
    checked = inspected(list(walk([night])))
    assert checked["a.fits"] == Rejected(locked, "cannot be read (Permission denied)", locked.stat().st_size)
    assert isinstance(checked["b.fit"], Candidate)


async def test_discover_walks_off_the_event_loop_in_batches(tmp_path: Path) -> None:
    """discover() yields every item while no blocking call runs on the event loop."""
    for i in range(70):
        (tmp_path / f"f{i:03d}.fits").write_bytes(fits_bytes(i))
    with blockbuster_ctx():
        items = [item async for item in discover([tmp_path], batch=8)]
    assert len(names(items)) == 70


def test_an_unreadable_folder_is_a_failure_not_a_silence(
    night: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder that cannot be listed is one failed item naming it (denial simulated: CI runs as root)."""
    from bhtom_async.upload import discovery

    real_scandir = os.scandir

    def guarded(path: Any) -> Any:
        if Path(path) == night / "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(discovery.os, "scandir", guarded)
    items = list(walk([night]))
    assert (kinds(items)["sub"], reasons(items)["sub"]) == (
        "failed",
        "folder cannot be read (Permission denied); its files were not uploaded",
    )
    assert "b.fit" not in names(items)


def test_a_symlink_leading_outside_the_folder_is_not_followed(tmp_path: Path) -> None:
    """A link to `..` or to another folder is reported and not followed; a link inside is fine."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.fits").write_bytes(fits_bytes(9))
    night = tmp_path / "night"
    night.mkdir()
    (night / "a.fits").write_bytes(fits_bytes(1))
    (night / "up").symlink_to(tmp_path, target_is_directory=True)
    (night / "other.fits").symlink_to(outside / "secret.fits")
    (night / "same.fits").symlink_to(night / "a.fits")
    items = list(walk([night]))
    assert names(items) == ["a.fits"]
    assert kinds(items) == {"other.fits": "skipped", "same.fits": "skipped", "up": "skipped"}
    assert "outside the folders given; not followed" in reasons(items)["up"]
    assert "a second path to" in reasons(items)["same.fits"]


def test_hard_links_and_repeated_paths_are_found_once(tmp_path: Path) -> None:
    """Two names for one file (a hard link) and a file listed twice are each found once."""
    night = tmp_path / "night"
    night.mkdir()
    (night / "a.fits").write_bytes(fits_bytes(1))
    os.link(night / "a.fits", night / "b.fits")
    items = list(walk([night, night / "a.fits"]))
    assert names(items) == ["a.fits"]
    assert (
        reasons(items)["b.fits"] == f"a second path to {night / 'a.fits'} (hard link); the file is sent once"
    )
    assert reasons(items)["a.fits"] == "listed twice; the file is sent once"


def test_a_name_that_is_not_utf8_fails_alone(tmp_path: Path) -> None:
    """A file whose name is not valid UTF-8 fails with the reason; the files beside it are found."""
    night = tmp_path / "night"
    night.mkdir()
    (night / "good.fits").write_bytes(fits_bytes(1))
    bad = os.fsencode(str(night)) + b"/bad\xff.fits"
    with open(bad, "wb") as handle:
        handle.write(fits_bytes(2))
    items = list(walk([night]))
    assert names(items) == ["good.fits"]
    (rejected,) = [i for i in items if isinstance(i, Rejected)]
    assert (rejected.kind, rejected.reason) == (
        "failed",
        "its name is not valid UTF-8; rename the file to upload it",
    )


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
