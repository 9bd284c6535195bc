"""A faithful local BHTOM2 server: main host and upload service on loopback, quirks included.

Example:
    >>> from bhtom_async.emulator import Emulator, FaultRule
    >>> with Emulator(calibration_delays=(0.05, 0.05)) as emu:  # doctest: +SKIP
    ...     print(emu.base_url, emu.tokens["alice"])

It imports nothing from the rest of ``bhtom_async``, so a client bug cannot hide behind a
shared serialiser. See ``docs/emulator.md``.
"""

from .calibration import CalibrationSettings
from .faults import FaultRule, FaultSpecError, parse_fault_spec
from .server import Emulator, serve_forever
from .state import DataProductInfo, StateView

__all__ = [
    "CalibrationSettings",
    "DataProductInfo",
    "Emulator",
    "FaultRule",
    "FaultSpecError",
    "StateView",
    "parse_fault_spec",
    "serve_forever",
]
