"""Click parameter types the commands share: durations, clock times, True/False words, pairs."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

__all__ = [
    "SECONDS",
    "BoolWord",
    "ClockTime",
    "JournalPath",
    "NumberPair",
    "Seconds",
    "next_clock_time",
    "poll_timing_options",
    "seconds_of",
]

_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)[smhd]")


def seconds_of(text: str) -> float | None:
    """``90`` -> 90.0, ``30m`` -> 1800.0, ``1h30m`` -> 5400.0; None when `text` is neither."""
    word = text.strip().lower()
    try:
        return float(word)
    except ValueError:
        pass
    parts = _DURATION.findall(word)
    if not parts or "".join(parts) != word:
        return None
    return sum(float(part[:-1]) * _UNIT_SECONDS[part[-1]] for part in parts)


class Seconds(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.2
    """A duration: plain seconds or with units (``90``, ``30m``, ``1h30m``); finite, not negative.

    With `positive`, zero is refused too.
    """

    name = "seconds"

    def __init__(self, *, positive: bool = False) -> None:
        self.positive = positive

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            parsed = seconds_of(str(value))
            if parsed is None:
                self.fail(f"{value!r} is not a duration (90, 90s, 30m, 2h, 1h30m)", param, ctx)
            number = parsed
        ok = math.isfinite(number) and (number > 0 if self.positive else number >= 0)
        if not ok:
            least = "a positive" if self.positive else "a finite, non-negative"
            self.fail(f"must be {least} number of seconds, not {value}", param, ctx)
        return number


#: Zero or more seconds.
SECONDS = Seconds()

_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


class BoolWord(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.2
    """``True``/``False`` (any case; also yes/no, 1/0): the official scripts' ``--dry_run True``."""

    name = "true|false"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        self.fail(f"{value!r} is not True or False", param, ctx)


class JournalPath(click.Path):
    """An upload journal: a file (an empty path is refused: it would keep no record, or use another
    file), or a ``postgresql://`` URL of a journal shared by many hosts, passed on as it is."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str | bytes | os.PathLike[str]:
        if isinstance(value, str) and not value.strip():
            self.fail(
                "the journal path is empty; give a file, or leave --journal out for the default journal",
                param,
                ctx,
            )
        if isinstance(value, str) and value.startswith(("postgresql://", "postgres://")):
            return value
        return super().convert(value, param, ctx)  # type: ignore[arg-type]


class NumberPair(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.2
    """Two numbers written as one word, ``A,B`` (e.g. ``--calibration-delays 5,10``)."""

    name = "A,B"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[float, float]:
        if isinstance(value, tuple):
            return (float(value[0]), float(value[1]))
        parts = [part for part in re.split(r"[,\s]+", str(value).strip()) if part]
        try:
            low, high = (float(part) for part in parts)
        except ValueError:
            self.fail(f"{value!r} is not two numbers written as A,B (for example 5,10)", param, ctx)
        if not all(math.isfinite(x) and x >= 0 for x in (low, high)):
            self.fail(f"{value!r}: both numbers must be finite and non-negative", param, ctx)
        return (low, high)


def next_clock_time(text: str, now: dt.datetime) -> dt.datetime | None:
    """When ``06:30`` (local) next comes after `now`, or the moment an ISO time names.

    A bare clock time already past today means tomorrow; an ISO time without a zone is local.
    None when `text` is neither.
    """
    word = text.strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", word)
    if match:
        hour, minute, second = (int(g or 0) for g in match.groups())
        if hour > 23 or minute > 59 or second > 59:
            return None
        # Naive local wall times, zoned afterwards: right across a daylight-saving change too.
        today = now.astimezone().replace(tzinfo=None, hour=hour, minute=minute, second=second, microsecond=0)
        for day in (today, today + dt.timedelta(days=1)):
            if day.astimezone() > now:
                return day.astimezone()
        return None
    try:
        # Python 3.10's fromisoformat does not read a trailing Z.
        zoned = word[:-1] + "+00:00" if word.endswith(("Z", "z")) else word
        moment = dt.datetime.fromisoformat(zoned)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.astimezone()


class ClockTime(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.2
    """A moment as seconds since the epoch: ``06:30`` (the next one, local time) or an ISO time."""

    name = "HH:MM|ISO"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        moment = next_clock_time(str(value), dt.datetime.now().astimezone())
        if moment is None:
            self.fail(
                f"{value!r} is not a time: give a local clock time (06:30) or an ISO time "
                "(2026-11-30T06:30, 2026-11-30T05:30Z)",
                param,
                ctx,
            )
        return moment.timestamp()


_F = TypeVar("_F", bound=Callable[..., object])


def poll_timing_options(command: _F) -> _F:
    """``--timeout`` and ``--poll-interval``: how a command's ``--wait`` polls for calibrations."""
    command = click.option(
        "--poll-interval",
        type=Seconds(positive=True),
        default=3.0,
        show_default=True,
        help="With --wait: seconds between the first polls (backs off to 30).",
    )(command)
    return click.option(
        "--timeout",
        type=Seconds(positive=True),
        default=600.0,
        show_default=True,
        help="With --wait: seconds to wait per id.",
    )(command)
