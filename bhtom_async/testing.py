"""For testing code that uses bhtom_async: a clock to inject, so retries and polls need no waiting.

`Client(clock=ManualClock())` makes every retry wait, 429 pause, upload re-send and poll round
advance the clock at once instead of sleeping; `clock.sleeps` lists the waits chosen. For HTTP,
run the local emulator (`bhtom_async.emulator.Emulator`, extra ``emulator``).
"""

from ._clock import Clock as Clock
from ._clock import ManualClock as ManualClock

__all__ = ["Clock", "ManualClock"]
