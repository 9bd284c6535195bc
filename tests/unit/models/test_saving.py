"""Saving downloads: a server-supplied file name never chooses the directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bhtom_async.models import LightCurve, PhotometryFile

pytestmark = pytest.mark.anyio


async def test_light_curve_save_into_a_directory_uses_a_base_name(tmp_path: Path) -> None:
    """A curve whose file name climbs out (`../x.csv`) is written inside the directory given."""
    inner = tmp_path / "out"
    inner.mkdir()
    curve = LightCurve(
        target="..", kind="photometry", points=(), columns=(), raw="MJD\n", filename="../x.csv"
    )
    saved = await curve.save(inner)
    assert saved == inner / "x.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


async def test_light_curve_without_a_usable_name_falls_back(tmp_path: Path) -> None:
    """A target named `..` with no server name saves as `target_.._photometry.csv` in the directory."""
    curve = LightCurve(target="..", kind="photometry", points=(), columns=(), raw="MJD\n", filename="..")
    saved = await curve.save(tmp_path)
    assert saved == tmp_path / "target_.._photometry.csv"


async def test_photometry_file_save_into_a_directory_uses_a_base_name(tmp_path: Path) -> None:
    """A photometry file named `a/../../b.dat` lands as `b.dat` in the directory given."""
    found = PhotometryFile.parse(b"# 1 NUMBER\n1\n", filename="a/../../b.dat")
    saved = await found.save(tmp_path)
    assert saved == tmp_path / "b.dat"
