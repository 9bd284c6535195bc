"""Per-file settings from FITS headers: each frame's own target, filter and MJD.

Real nights mix targets and filters. `settings_from_header()` gives `Uploader(settings=...)` a
callback that reads each frame's header and returns that frame's `UploadOptions`; the uploader
runs such a sync callback in a worker thread. What the header cannot tell is never guessed: a
frame whose header lacks a value you asked for (or is unreadable) is left out with a
`SkipFile` saying why, and shows in the summary as skipped with that reason.

Headers are read with astropy when it is installed (long ``CONTINUE`` strings, ``HIERARCH``
cards, the image extension of a multi-extension or tile-compressed ``.fz`` frame) and with a
small reader of our own otherwise (the primary header of a plain or ``.gz`` frame, a few
2880-byte blocks).

Filter names in headers vary by site (``V``, ``Johnson V``, ``Bessell-R``, ``rp``, ``g'``,
``SDSS-i``, ``Clear``); `bhtom_filter` maps the common spellings to BHTOM's filters
(``GaiaSP/V``, ``2MASS/J``, ``GaiaDR3/G``, ...). Anything else needs a `filters` entry.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

from ..errors import MissingDependencyError
from ..models.uploads import UploadOptions
from .settings import SkipFile

__all__ = [
    "BHTOM_FILTERS",
    "FILTER_ALIASES",
    "HeaderValue",
    "bhtom_filter",
    "mjd_from_header",
    "read_header",
    "settings_from_header",
]

HeaderValue = str | int | float | bool
BLOCK = 2880
CARD = 80
#: Header filter names that map directly to ``GaiaSP/<name>``.
BHTOM_FILTERS = frozenset("ugrizUBVRI")
_MJD_EPOCH = dt.datetime(1858, 11, 17)

#: Header spellings (after dropping system words such as "Johnson" or "SDSS") → BHTOM filter.
#: Case matters where it means something (``r`` is Sloan r', ``R`` is Cousins R).
FILTER_ALIASES: Mapping[str, str] = types.MappingProxyType(
    {
        **{band: f"GaiaSP/{band}" for band in "UBVRIugriz"},
        "Rc": "GaiaSP/R",
        "RC": "GaiaSP/R",
        "Ic": "GaiaSP/I",
        "IC": "GaiaSP/I",
        **{f"{band}'": f"GaiaSP/{band}" for band in "ugriz"},
        **{f"{band}p": f"GaiaSP/{band}" for band in "ugriz"},  # LCO's up, gp, rp, ip
        "zs": "GaiaSP/z",
        "J": "2MASS/J",
        "H": "2MASS/H",
        "K": "2MASS/K",
        "Ks": "2MASS/K",
        "KS": "2MASS/K",
        "G": "GaiaDR3/G",
        "BP": "GaiaDR3/GBP",
        "GBP": "GaiaDR3/GBP",
        "RP": "GaiaDR3/GRP",
        "GRP": "GaiaDR3/GRP",
        # Unfiltered or luminance frames: let the calibration pick the best-matching band.
        **dict.fromkeys(
            ["clear", "none", "open", "empty", "unfiltered", "l", "lum", "luminance", "c", "cv", "cr", "w"],
            "GaiaSP/any",
        ),
    }
)
_SYSTEM_WORDS = re.compile(
    r"(?<![a-z])(johnson|bessell?|cousins|sdss|sloan|ps1|pan-?starrs|2mass|gaia|filter)(?![a-z])",
    re.IGNORECASE,
)
_CLEAR = frozenset(k for k, v in FILTER_ALIASES.items() if v == "GaiaSP/any")


def bhtom_filter(name: str, filters: Mapping[str, str] | None = None) -> str | None:
    """The BHTOM filter for a header's filter name, or None when it is not known.

    `filters` (header name → BHTOM filter) is consulted first, exactly; then `FILTER_ALIASES`,
    after dropping system words and separators (``"Johnson V"``, ``"Bessell-R"``, ``"SDSS i'"``).

    Example:
        >>> bhtom_filter("Bessell-R"), bhtom_filter("rp"), bhtom_filter("Halpha")
        ('GaiaSP/R', 'GaiaSP/r', None)
    """
    text = name.strip()
    if filters is not None and text in filters:
        return filters[text]
    if text in FILTER_ALIASES:
        return FILTER_ALIASES[text]
    core = re.sub(r"[\s_\-/()]+", "", _SYSTEM_WORDS.sub("", text))
    if core in FILTER_ALIASES:
        return FILTER_ALIASES[core]
    return FILTER_ALIASES[core.lower()] if core.lower() in _CLEAR else None


def read_header(
    path: str | os.PathLike[str], *, max_blocks: int = 36, use_astropy: bool | None = None
) -> dict[str, HeaderValue]:
    """The frame's header keyword values (blocking: call it from a worker thread).

    With astropy (used when installed, unless `use_astropy` is False) the primary header is
    merged with the first extension's when the primary holds no image (multi-extension and
    tile-compressed ``.fz`` frames); without it, the primary header of a plain or gzipped file
    is read, at most `max_blocks` blocks. Strings lose their quotes and trailing blanks, ``T``
    and ``F`` become bools, numbers int or float; COMMENT, HISTORY and blank cards are left out.

    Raises:
        ValueError: the file does not start with a FITS header.
        MissingDependencyError: a ``.fz`` frame without astropy.
        OSError: the file cannot be read.
    """
    name = os.fspath(path).lower()
    if use_astropy is None:
        use_astropy = _has_astropy()
    if use_astropy:
        return _astropy_header(path)
    if name.endswith(".fz"):
        raise MissingDependencyError("reading a tile-compressed (.fz) header", "astropy")
    if name.endswith(".gz"):
        # Decompressed as a stream: only the header's first blocks are ever inflated.
        with gzip.open(path, "rb") as packed:
            return _parse_blocks(path, packed, max_blocks)
    with open(path, "rb") as handle:
        return _parse_blocks(path, handle, max_blocks)


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _parse_blocks(path: str | os.PathLike[str], handle: _Readable, max_blocks: int) -> dict[str, HeaderValue]:
    cards: dict[str, HeaderValue] = {}
    for index in range(max_blocks):
        block = handle.read(BLOCK)
        if index == 0 and not block.startswith(b"SIMPLE  ="):
            raise ValueError(f"{path} is not a FITS file")
        if len(block) < BLOCK:
            return cards
        for start in range(0, BLOCK, CARD):
            card = block[start : start + CARD].decode("ascii", errors="replace")
            keyword = card[:8].strip()
            if keyword == "END":
                return cards
            if card[8:10] == "= " and keyword:
                cards[keyword] = _value(card[10:])
    return cards


def _has_astropy() -> bool:
    try:
        import astropy.io.fits  # noqa: F401
    except ImportError:
        return False
    return True


def _astropy_header(path: str | os.PathLike[str]) -> dict[str, HeaderValue]:
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
            primary = hdus[0].header
            found = dict(_astropy_cards(primary))
            if not primary.get("NAXIS") and len(hdus) > 1:
                for key, value in _astropy_cards(hdus[1].header):
                    found.setdefault(key, value)
    except OSError as exc:
        if "SIMPLE" in str(exc) or "Empty or corrupt" in str(exc) or "No SIMPLE" in str(exc):
            raise ValueError(f"{path} is not a FITS file") from None
        raise
    return found


def _astropy_cards(header: object) -> Iterator[tuple[str, HeaderValue]]:
    for key, value in header.items():  # type: ignore[attr-defined]
        if not key or key in ("COMMENT", "HISTORY"):
            continue
        if isinstance(value, str):
            yield key, value.rstrip()
        elif isinstance(value, (bool, int, float)):
            yield key, value


def _value(text: str) -> HeaderValue:
    text = text.strip()
    if text.startswith("'"):
        out, i = [], 1
        while i < len(text):
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                break
            out.append(text[i])
            i += 1
        return "".join(out).rstrip()
    raw = text.split("/", 1)[0].strip()
    if raw in ("T", "F"):
        return raw == "T"
    for kind in (int, float):
        try:
            return kind(raw.replace("D", "E") if kind is float else raw)
        except ValueError:
            continue
    return raw


def mjd_from_header(header: Mapping[str, HeaderValue], *, mid_exposure: bool = False) -> float | None:
    """The observation's MJD (UTC) from ``MJD-OBS``, else ``DATE-OBS`` (with ``TIME-OBS`` or
    ``UT`` for a date alone), else ``JD``; None when none is usable.

    These cards conventionally give the start of the exposure; `mid_exposure` adds half of
    ``EXPTIME`` (or ``EXPOSURE``), and gives None when neither is there.
    """
    start = _start_mjd(header)
    if start is None or not mid_exposure:
        return start
    exposure = header.get("EXPTIME", header.get("EXPOSURE"))
    if not isinstance(exposure, (int, float)) or isinstance(exposure, bool) or exposure < 0:
        return None
    return start + exposure / 2 / 86400


def _start_mjd(header: Mapping[str, HeaderValue]) -> float | None:
    mjd = header.get("MJD-OBS")
    if isinstance(mjd, (int, float)) and not isinstance(mjd, bool) and mjd > 0:
        return float(mjd)
    date = header.get("DATE-OBS")
    if isinstance(date, str) and date.strip():
        moment = _instant(date.strip(), header.get("TIME-OBS", header.get("UT")))
        if moment is not None:
            return (moment - _MJD_EPOCH).total_seconds() / 86400
    jd = header.get("JD")
    if isinstance(jd, (int, float)) and not isinstance(jd, bool) and jd > 2400000.5:
        return float(jd) - 2400000.5
    return None


def _instant(date: str, time_card: HeaderValue | None) -> dt.datetime | None:
    text = date.rstrip("Z")
    if "T" not in text and isinstance(time_card, str) and time_card.strip():
        text = f"{text}T{time_card.strip()}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def settings_from_header(
    *,
    target: bool = True,
    filter: bool = True,
    mjd: bool = False,
    mid_exposure: bool = False,
    targets: Mapping[str, str] | None = None,
    filters: Mapping[str, str] | None = None,
    target_keyword: str = "OBJECT",
    filter_keyword: str = "FILTER",
) -> Callable[[Path, UploadOptions], UploadOptions | SkipFile]:
    """A settings callback taking each frame's target, filter and MJD from its header.

    Args:
        target: take the target from `target_keyword` (``OBJECT``).
        filter: take the filter from `filter_keyword` (``FILTER``), through `bhtom_filter`.
        mjd: take the MJD from ``MJD-OBS``/``DATE-OBS``/``JD`` (see `mjd_from_header`).
        mid_exposure: with `mjd`, the middle of the exposure (adds ``EXPTIME``/2).
        targets: header object name → exact BHTOM target name; other names are used as is.
        filters: header filter name → BHTOM filter (``{"Halpha": "GaiaSP/any"}``), consulted
            before the built-in `FILTER_ALIASES`.

    Whatever is asked must be in the header: a frame without it, with a filter name that maps
    to no BHTOM filter, or whose header cannot be read is skipped with the reason (never sent
    with the job's value instead). What is not asked keeps the job's options.

    Example:
        >>> by_header = settings_from_header(targets={"GAIA22BPL": "Gaia22bpl"},   # doctest: +SKIP
        ...                                  filters={"Halpha": "GaiaSP/any"})
        >>> summary = await Uploader(bh, "night/", options, settings=by_header).run()   # doctest: +SKIP
    """

    def settings(path: Path, defaults: UploadOptions) -> UploadOptions | SkipFile:
        try:
            header = read_header(path)
        except MissingDependencyError as exc:
            return SkipFile(f"{exc.headline} {exc.hint}")
        except ValueError:
            return SkipFile("not a FITS file, so no header to read the settings from")
        except OSError as exc:
            return SkipFile(f"header unreadable: {exc.strerror or exc}")
        changes: dict[str, object] = {}
        if target:
            name = header.get(target_keyword)
            if not isinstance(name, str) or not name.strip():
                return SkipFile(f"no {target_keyword} card in the header to name the target")
            changes["target"] = (targets or {}).get(name.strip(), name.strip())
        if filter:
            band = header.get(filter_keyword)
            if not isinstance(band, str) or not band.strip():
                return SkipFile(f"no {filter_keyword} card in the header")
            found = bhtom_filter(band, filters)
            if found is None:
                return SkipFile(
                    f"filter {band!r} from the header is not a known BHTOM filter; "
                    f"map it with filters={{{band!r}: 'GaiaSP/...'}}"
                )
            changes["filter"] = found
        if mjd:
            value = mjd_from_header(header, mid_exposure=mid_exposure)
            if value is None:
                need = "MJD-OBS, DATE-OBS or JD" + (" and EXPTIME" if mid_exposure else "")
                return SkipFile(f"no usable {need} card in the header for the MJD")
            changes["mjd"] = round(value, 6)
        return defaults.replace(**changes)

    return settings
