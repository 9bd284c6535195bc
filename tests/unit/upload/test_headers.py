"""`upload.headers`: per-file target and filter from each frame's FITS header."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bhtom_async import MissingDependencyError, SkipFile, UploadOptions
from bhtom_async.upload.headers import (
    HeaderValue,
    bhtom_filter,
    mjd_from_header,
    read_header,
    settings_from_header,
)

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


def test_unknown_filter_is_reported_not_guessed(tmp_path: Path) -> None:
    """A filter name with no BHTOM filter skips the frame, saying how to map it."""
    path = frame(tmp_path, filt="Halpha")
    defaults = UploadOptions(target="Placeholder", observatory="Obs_Cam", filter="GaiaSP/any")
    choice = settings_from_header()(path, defaults)
    assert isinstance(choice, SkipFile)
    assert "'Halpha'" in choice.reason
    assert "filters={'Halpha'" in choice.reason
    mapped = settings_from_header(filters={"Halpha": "GaiaSP/any"})(path, defaults)
    assert mapped == defaults.replace(target="Gaia22bpl", filter="GaiaSP/any")


def test_only_what_is_asked_is_taken_from_the_header(tmp_path: Path) -> None:
    """With filter=False the job's filter stays even for an unknown header filter."""
    path = frame(tmp_path, filt="Halpha")
    defaults = UploadOptions(target="Placeholder", observatory="Obs_Cam", filter="GaiaSP/V")
    assert settings_from_header(filter=False)(path, defaults) == defaults.replace(target="Gaia22bpl")


def without(path: Path, keyword: str) -> Path:
    """Blank out one card of a frame's header (the rest stays valid)."""
    data = bytearray(path.read_bytes())
    start = data.index(keyword.ljust(8).encode() + b"=")
    data[start : start + 80] = b" " * 80
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("use_astropy", [True, False])
@pytest.mark.parametrize(
    ("keyword", "asked", "reason"),
    [
        ("OBJECT", {}, "no OBJECT card"),
        ("FILTER", {}, "no FILTER card"),
        ("MJD-OBS", {"mjd": True, "filter": False}, None),  # DATE-OBS is still there
        ("EXPTIME", {"mjd": True, "mid_exposure": True}, "EXPTIME"),
    ],
)
def test_a_missing_card_that_was_asked_for_skips_the_frame(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    keyword: str,
    asked: dict[str, bool],
    reason: str | None,
    use_astropy: bool,
) -> None:
    """A frame lacking an asked card is skipped with the reason, with or without astropy."""
    if not use_astropy:
        monkeypatch.setitem(sys.modules, "astropy.io.fits", None)
    path = without(frame(tmp_path), keyword)
    defaults = UploadOptions(target="Placeholder", observatory="Obs_Cam")
    choice = settings_from_header(**asked)(path, defaults)  # type: ignore[arg-type]
    if reason is None:
        assert isinstance(choice, UploadOptions)
        assert choice.mjd == pytest.approx(60827.968113, abs=1e-6)  # 2025-06-01T23:14:05 as MJD
    else:
        assert isinstance(choice, SkipFile)
        assert reason in choice.reason


def test_mjd_from_mjd_obs_and_mid_exposure(tmp_path: Path) -> None:
    """MJD-OBS is taken as is; mid_exposure adds half of EXPTIME (60 s)."""
    path = frame(tmp_path)
    defaults = UploadOptions(target="Placeholder", observatory="Obs_Cam")
    start = settings_from_header(mjd=True)(path, defaults)
    middle = settings_from_header(mjd=True, mid_exposure=True)(path, defaults)
    assert isinstance(start, UploadOptions)
    assert isinstance(middle, UploadOptions)
    assert start.mjd == pytest.approx(60827.9)
    assert middle.mjd == pytest.approx(60827.9 + 30 / 86400, abs=1e-6)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ({"MJD-OBS": 60000.5}, 60000.5),
        ({"DATE-OBS": "2025-06-01T00:00:00"}, 60827.0),
        ({"DATE-OBS": "2025-06-01T12:00:00Z"}, 60827.5),
        ({"DATE-OBS": "2025-06-01", "TIME-OBS": "06:00:00"}, 60827.25),
        ({"DATE-OBS": "2025-06-01", "UT": "18:00:00"}, 60827.75),
        ({"JD": 2460827.5}, 60827.0),
        ({"DATE-OBS": "01/06/25"}, None),
        ({"MJD-OBS": 0.0}, None),
        ({}, None),
    ],
)
def test_mjd_from_header_reads_the_usual_cards(
    header: dict[str, HeaderValue], expected: float | None
) -> None:
    """MJD-OBS, then DATE-OBS (with TIME-OBS or UT), then JD; unusable values give None."""
    found = mjd_from_header(header)
    assert found == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("V", "GaiaSP/V"),
        ("Johnson V", "GaiaSP/V"),
        ("Bessell-R", "GaiaSP/R"),
        ("V_Bessell", "GaiaSP/V"),
        ("Rc", "GaiaSP/R"),
        ("r", "GaiaSP/r"),
        ("rp", "GaiaSP/r"),
        ("SDSS i'", "GaiaSP/i"),
        ("zs", "GaiaSP/z"),
        ("Ks", "2MASS/K"),
        ("RP", "GaiaDR3/GRP"),
        ("Clear", "GaiaSP/any"),
        ("L", "GaiaSP/any"),
        ("Halpha", None),
        ("OIII", None),
    ],
)
def test_bhtom_filter_maps_common_spellings(name: str, expected: str | None) -> None:
    """Header filter names of common sites map to BHTOM filters; case tells r from R."""
    assert bhtom_filter(name) == expected


def test_unreadable_frames_are_reported(tmp_path: Path) -> None:
    """A file that is not FITS is skipped with a reason instead of being guessed."""
    path = tmp_path / "x.fits"
    path.write_bytes(b"hello" * 1000)
    choice = settings_from_header()(path, UploadOptions(target="T", observatory="O_C"))
    assert isinstance(choice, SkipFile)
    assert "not a FITS file" in choice.reason


def compressed(tmp_path: Path) -> tuple[Path, Path]:
    """The same small image as a gzipped frame and a tile-compressed (.fz) frame."""
    import numpy as np
    from astropy.io import fits

    image = np.arange(64 * 64, dtype=np.int16).reshape(64, 64)
    header = fits.Header([("OBJECT", "Gaia22bpl"), ("FILTER", "Johnson V"), ("MJD-OBS", 60827.9)])
    gz = tmp_path / "a.fits.gz"
    fits.PrimaryHDU(image, header=header).writeto(gz)
    fz = tmp_path / "a.fits.fz"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(image, header=header)]).writeto(fz)
    return gz, fz


def test_compressed_frames_headers_with_astropy(tmp_path: Path) -> None:
    """With astropy, .fits.gz and tile-compressed .fits.fz headers are read (the image's cards)."""
    defaults = UploadOptions(target="T", observatory="O_C")
    for path in compressed(tmp_path):
        choice = settings_from_header(mjd=True)(path, defaults)
        assert choice == defaults.replace(target="Gaia22bpl", filter="GaiaSP/V", mjd=60827.9), path


def test_compressed_frames_without_astropy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without astropy a .gz header is still read; a .fz frame is skipped with the install hint."""
    gz, fz = compressed(tmp_path)
    monkeypatch.setitem(sys.modules, "astropy.io.fits", None)
    assert read_header(gz)["OBJECT"] == "Gaia22bpl"
    choice = settings_from_header()(fz, UploadOptions(target="T", observatory="O_C"))
    assert isinstance(choice, SkipFile)
    assert "pip install 'bhtom_async[astro]'" in choice.reason
    with pytest.raises(MissingDependencyError):
        read_header(fz)


@pytest.mark.parametrize("use_astropy", [True, False])
def test_both_readers_agree_on_a_plain_frame(tmp_path: Path, use_astropy: bool) -> None:
    """The astropy reader and our own give the same values for a plain frame."""
    path = frame(tmp_path, extra=["OBSERVER= 'O''Brien '           / who"])
    header = read_header(path, use_astropy=use_astropy)
    assert (header["OBJECT"], header["FILTER"], header["OBSERVER"], header["EXPTIME"]) == (
        "Gaia22bpl",
        "V",
        "O'Brien",
        60.0,
    )
    assert header["MJD-OBS"] == pytest.approx(60827.9)
