"""`upload.headers`: per-file target and filter from each frame's FITS header."""

from __future__ import annotations

from pathlib import Path

import pytest

from bhtom_async import UploadOptions
from bhtom_async.upload.headers import read_header, settings_from_header

from ...conftest import fits_bytes


def frame(tmp_path: Path, *, filt: str = "V", extra: list[str] | None = None) -> Path:
    path = tmp_path / "f.fits"
    data = bytearray(fits_bytes(1, filt=filt))
    if extra:
        # Replace the END card with extra cards and a new END (all fit in the first block).
        end = data.index(b"END" + b" " * 77)
        cards = "".join(c.ljust(80) for c in [*extra, "END"]).encode()
        data[end : end + len(cards)] = cards
    path.write_bytes(bytes(data))
    return path


def test_read_header_types_values(tmp_path: Path) -> None:
    """Strings, bools, ints and floats come back typed; quotes and comments are stripped."""
    path = frame(tmp_path, extra=["OBSERVER= 'O''Brien '           / who", "FLAG    =                    T"])
    header = read_header(path)
    assert header["OBJECT"] == "Gaia22bpl"
    assert header["FILTER"] == "V"
    assert header["NAXIS"] == 1
    assert header["EXPTIME"] == pytest.approx(60.0)
    assert header["OBSERVER"] == "O'Brien"
    assert header["FLAG"] is True


def test_read_header_refuses_non_fits(tmp_path: Path) -> None:
    """A file without the SIMPLE card is not read as a header."""
    path = tmp_path / "x.fits"
    path.write_bytes(b"hello" * 1000)
    with pytest.raises(ValueError, match="not a FITS file"):
        read_header(path)


def test_settings_from_header_maps_target_and_filter(tmp_path: Path) -> None:
    """OBJECT and FILTER become the file's target and GaiaSP filter; mappings translate names."""
    path = frame(tmp_path)
    defaults = UploadOptions(target="Placeholder", observatory="Obs_Cam", comment="night 1")
    assert settings_from_header()(path, defaults) == defaults.replace(target="Gaia22bpl", filter="GaiaSP/V")
    mapped = settings_from_header(targets={"Gaia22bpl": "Gaia22bpl_alias"}, filters={"V": "GaiaSP/any"})
    assert mapped(path, defaults) == defaults.replace(target="Gaia22bpl_alias", filter="GaiaSP/any")


def test_unknown_filter_keeps_the_job_filter(tmp_path: Path) -> None:
    """A filter name BHTOM does not know leaves the job's filter."""
    path = frame(tmp_path, filt="Halpha")
    defaults = UploadOptions(target="Placeholder", observatory="Obs_Cam", filter="GaiaSP/any")
    settings = settings_from_header()(path, defaults)
    assert settings is not None
    assert settings.target == "Gaia22bpl"
    assert settings.filter == "GaiaSP/any"
