"""Per-file settings from FITS headers: target and filter from each frame's own cards.

Real nights mix targets and filters. `settings_from_header()` gives `Uploader(settings=...)` a
callback that reads each frame's primary header (a few 2880-byte blocks, no astropy needed) and
returns its target and filter. The uploader runs such a sync callback in a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from ..models.uploads import UploadOptions

__all__ = ["BHTOM_FILTERS", "HeaderValue", "read_header", "settings_from_header"]

HeaderValue = str | int | float | bool
BLOCK = 2880
CARD = 80
#: Header filter names that map directly to ``GaiaSP/<name>``.
BHTOM_FILTERS = frozenset("ugrizUBVRI")


def read_header(path: str | os.PathLike[str], *, max_blocks: int = 36) -> dict[str, HeaderValue]:
    """The primary header's keyword values (blocking: call it from a worker thread).

    Strings lose their quotes and trailing blanks, ``T``/``F`` become bools, numbers become int or
    float; COMMENT, HISTORY and blank cards are left out. Reads at most `max_blocks` blocks.

    Raises:
        ValueError: the file does not start with a FITS header.
    """
    cards: dict[str, HeaderValue] = {}
    with open(path, "rb") as handle:
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


def settings_from_header(
    *,
    target_keyword: str = "OBJECT",
    filter_keyword: str = "FILTER",
    targets: Mapping[str, str] | None = None,
    filters: Mapping[str, str] | None = None,
) -> Callable[[Path, UploadOptions], UploadOptions | None]:
    """A settings callback taking each frame's target and filter from its header.

    Args:
        target_keyword: card holding the object name (``OBJECT``).
        filter_keyword: card holding the filter (``FILTER``).
        targets: header object name → exact BHTOM target name; names not in it are used as is.
        filters: header filter → BHTOM filter (``"GaiaSP/V"``). Without it, ``u g r i z U B V R I``
            map to ``GaiaSP/<name>`` and anything else leaves the job's filter.

    A frame without the cards keeps the job's settings; an unreadable one is left to the upload,
    which reports it.

    Example:
        >>> by_header = settings_from_header(targets={"GAIA22BPL": "Gaia22bpl"},   # doctest: +SKIP
        ...                                  filters={"Johnson V": "GaiaSP/V"})
        >>> summary = await Uploader(bh, "night/", options, settings=by_header).run()   # doctest: +SKIP
    """

    def settings(path: Path, defaults: UploadOptions) -> UploadOptions | None:
        try:
            header = read_header(path)
        except (OSError, ValueError):
            return None
        target = header.get(target_keyword)
        band = header.get(filter_keyword)
        target_name = None
        if isinstance(target, str) and target:
            target_name = (targets or {}).get(target, target)
        filter_name = None
        if isinstance(band, str) and band:
            if filters is not None:
                filter_name = filters.get(band)
            elif band in BHTOM_FILTERS:
                filter_name = f"GaiaSP/{band}"
        if target_name is None and filter_name is None:
            return None
        return defaults.replace(target=target_name or defaults.target, filter=filter_name or defaults.filter)

    return settings
