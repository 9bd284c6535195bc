"""Click parameter types the commands share: seconds, the official scripts' True/False words, pairs."""

from __future__ import annotations

import math
import re

import click

__all__ = ["SECONDS", "BoolWord", "NumberPair", "Seconds"]


class Seconds(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.2
    """A finite number of seconds of at least `minimum` (``nan``, ``inf`` and negatives are refused).

    With `positive`, zero is refused too.
    """

    name = "seconds"

    def __init__(self, *, positive: bool = False) -> None:
        self.positive = positive

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a number of seconds", param, ctx)
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
