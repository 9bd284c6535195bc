"""Command-line durations and clock times: `30m`, `1h30m`, `06:30` (the next one), ISO times."""

from __future__ import annotations

import datetime as dt

import pytest

from bhtom_async.cli._params import next_clock_time, seconds_of


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("2h", 7200.0), ("1h30m", 5400.0), ("1.5h", 5400.0),
     (" 1D ", 86400.0)],
)  # fmt: skip
def test_durations_take_units(text: str, seconds: float) -> None:
    """Plain seconds or s/m/h/d units, summed when several are written together."""
    assert seconds_of(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "5 minutes", "30x", "1h 30m", "h1"])
def test_words_that_are_not_durations_are_refused(text: str) -> None:
    """Anything else is not a duration (the option then says what it expects)."""
    assert seconds_of(text) is None


def test_a_clock_time_is_the_next_one_local() -> None:
    """06:30 at 22:00 is tomorrow morning; 23:00 at 22:00 is tonight; seconds are allowed."""
    now = dt.datetime(2026, 11, 29, 22, 0).astimezone()
    assert next_clock_time("06:30", now) == dt.datetime(2026, 11, 30, 6, 30).astimezone()
    assert next_clock_time("23:00", now) == dt.datetime(2026, 11, 29, 23, 0).astimezone()
    assert next_clock_time("22:00:01", now) == dt.datetime(2026, 11, 29, 22, 0, 1).astimezone()
    assert next_clock_time("22:00", now) == dt.datetime(2026, 11, 30, 22, 0).astimezone()  # not now


def test_iso_times_are_local_unless_zoned() -> None:
    """An ISO time without a zone is local; with one it is that moment."""
    now = dt.datetime(2026, 11, 29, 22, 0).astimezone()
    assert next_clock_time("2026-11-30T06:30", now) == dt.datetime(2026, 11, 30, 6, 30).astimezone()
    zoned = next_clock_time("2026-11-30T05:30Z", now)
    assert zoned == dt.datetime(2026, 11, 30, 5, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("text", ["25:00", "06:60", "6.30", "tomorrow", "06:30:99"])
def test_nonsense_times_are_refused(text: str) -> None:
    """Out-of-range or unreadable times are None (a usage error on the command line)."""
    assert next_clock_time(text, dt.datetime(2026, 11, 29, 22, 0).astimezone()) is None
