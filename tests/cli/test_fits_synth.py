"""Synthetic frames for `bhtom demo` are valid FITS with the headers the server reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from astropy.io import fits

from bhtom_async.cli.fits_synth import night_of_frames, write_frame


@pytest.mark.parametrize("use_astropy", [True, False])
def test_frames_are_valid_fits_with_headers(tmp_path: Path, use_astropy: bool) -> None:
    """Both writers produce a verifiable primary HDU with OBJECT, FILTER, DATE-OBS, MJD-OBS, EXPTIME."""
    spec = night_of_frames("Gaia22bpl", count=3)[1]
    path = write_frame(spec, tmp_path / "f.fits", use_astropy=use_astropy)
    assert path.stat().st_size % 2880 == 0
    with fits.open(path) as hdus:
        hdus.verify("exception")
        header = hdus[0].header
        assert header["OBJECT"] == "Gaia22bpl"
        assert header["FILTER"] == "V"
        assert header["MJD-OBS"] == pytest.approx(spec.mjd)
        assert header["DATE-OBS"].startswith("2025-06-")
        assert header["EXPTIME"] == 30.0
        assert hdus[0].data.shape == (64, 64)
        assert hdus[0].data.max() > 1000  # stars, not just sky


def test_the_target_varies_over_the_night() -> None:
    """The target star's flux changes from frame to frame; times increase."""
    frames = night_of_frames("X", count=8)
    assert len({round(f.target_flux) for f in frames}) > 4
    assert [f.mjd for f in frames] == sorted(f.mjd for f in frames)
