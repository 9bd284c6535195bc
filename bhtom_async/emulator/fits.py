"""Primary-header reading for FITS files, from raw 2880-byte blocks.

The emulator only needs a handful of cards (times, filter, exposure, pointing), so it parses
them itself instead of importing astropy: the server stays light and has no numeric stack.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["BLOCK", "FitsSniffer", "HeaderValue", "looks_like_fits", "mjd_from_header", "parse_header"]

BLOCK = 2880
CARD = 80
#: Stop looking for ``END`` after this many header blocks; real headers are far shorter.
MAX_HEADER_BLOCKS = 64
_MJD_EPOCH = dt.datetime(1858, 11, 17, tzinfo=dt.timezone.utc)

HeaderValue = str | int | float | bool | None


def looks_like_fits(first_bytes: bytes) -> bool:
    """True when the first card is ``SIMPLE  =`` (the FITS magic)."""
    return first_bytes[:CARD].startswith(b"SIMPLE  =")


def _parse_value(raw: str) -> HeaderValue:
    text = raw.strip()
    if text.startswith("'"):
        # A string value: '' is an escaped quote; the closing quote ends it.
        out: list[str] = []
        i = 1
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if text[i + 1 : i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                break
            out.append(ch)
            i += 1
        return "".join(out).rstrip()
    value = text.split("/", 1)[0].strip()
    if value == "T":
        return True
    if value == "F":
        return False
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value.replace("D", "E"))
    except ValueError:
        return value


def parse_header(header: bytes) -> dict[str, HeaderValue]:
    """Parse the primary header cards of ``header`` (as many blocks as were read)."""
    cards: dict[str, HeaderValue] = {}
    for start in range(0, len(header) - CARD + 1, CARD):
        card = header[start : start + CARD].decode("ascii", errors="replace")
        key = card[:8].strip()
        if key == "END":
            break
        if not key or card[8:10] != "= " or key in cards:
            continue
        cards[key] = _parse_value(card[10:])
    return cards


def _mjd_from_datetime(moment: dt.datetime) -> float:
    return (moment - _MJD_EPOCH).total_seconds() / 86400.0


def _parse_date_obs(date_obs: str, time_obs: HeaderValue) -> dt.datetime | None:
    text = date_obs.strip()
    if "T" not in text and isinstance(time_obs, str) and time_obs.strip():
        text = f"{text}T{time_obs.strip()}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment


def mjd_from_header(cards: dict[str, HeaderValue]) -> float | None:
    """MJD of the exposure start: ``MJD-OBS``, else ``DATE-OBS`` (+ ``TIME-OBS``), else None."""
    mjd = cards.get("MJD-OBS")
    if isinstance(mjd, (int, float)) and not isinstance(mjd, bool):
        return float(mjd)
    date_obs = cards.get("DATE-OBS")
    if isinstance(date_obs, str):
        moment = _parse_date_obs(date_obs, cards.get("TIME-OBS"))
        if moment is not None:
            return round(_mjd_from_datetime(moment), 6)
    return None


class FitsSniffer:
    """Watches a byte stream go by and keeps what calibration needs, in O(header) memory.

    It records whether the stream starts with the FITS magic, the primary header cards,
    and whether any byte after the header is non-zero (an all-zero frame cannot be calibrated).
    """

    def __init__(self) -> None:
        self._head = bytearray()
        self._header_done = False
        self.is_fits = False
        self.cards: dict[str, HeaderValue] = {}
        self.data_nonzero = False
        self._checked_magic = False

    def feed(self, chunk: bytes | memoryview) -> None:
        """Consume the next piece of the file."""
        view = memoryview(chunk)
        if not self._header_done:
            need = BLOCK * MAX_HEADER_BLOCKS - len(self._head)
            self._head += view[:need]
            rest = view[need:]
            self._scan_header()
            if self._header_done:
                return
            view = rest
            if not len(view):
                return
            self._header_done = True  # header too long: give up on it
        if not self.data_nonzero and view.nbytes and bytes(view).count(0) != view.nbytes:
            self.data_nonzero = True

    def _scan_header(self) -> None:
        if not self._checked_magic and len(self._head) >= CARD:
            self._checked_magic = True
            self.is_fits = looks_like_fits(bytes(self._head[:CARD]))
            if not self.is_fits:
                self._header_done = True
                return
        blocks = len(self._head) // BLOCK
        for index in range(blocks):
            block = bytes(self._head[index * BLOCK : (index + 1) * BLOCK])
            for start in range(0, BLOCK, CARD):
                if block[start : start + 8] == b"END     ":
                    end = (index + 1) * BLOCK
                    self.cards = parse_header(bytes(self._head[:end]))
                    data = self._head[end:]
                    self._head = bytearray()
                    self._header_done = True
                    if data and bytes(data).count(0) != len(data):
                        self.data_nonzero = True
                    return

    def finish(self) -> None:
        """Call at end of stream: settles files shorter than one block."""
        if not self._checked_magic:
            self.is_fits = looks_like_fits(bytes(self._head[:CARD]))
        if self.is_fits and not self.cards and self._head:
            self.cards = parse_header(bytes(self._head))
