"""Models for reduced datums (`common/api/reducedDatum/`): the points of light curves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs

__all__ = ["ReducedDatum"]


@attrs.frozen
class ReducedDatum:
    """One measurement (inactive ones included: see `active`).

    `value` is in `value_unit` (``MAG``, ``MILLIJANSKY``, ...); a negative `error` marks an
    upper limit.
    """

    id: int | None
    target: int | None = None
    data_product: int | None = None
    data_type: str | None = None
    source_name: str | None = None
    source_location: str | None = None
    mjd: float | None = None
    timestamp: dt.datetime | None = None
    observer: str | None = None
    observers: tuple[str, ...] = ()
    facility: str | None = None
    value: float | None = None
    value_list: tuple[float, ...] = ()
    value_unit: str | None = None
    error: float | None = None
    error_list: tuple[float, ...] = ()
    filter: str | None = None
    wavelengths: tuple[float, ...] = ()
    active_flg: bool | None = True
    extra: dict[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def active(self) -> bool:
        """False once deactivated (`bh.reduced_data.deactivate`); an unreadable flag counts as active."""
        return self.active_flg is not False

    @property
    def is_limit(self) -> bool:
        """A negative error marks an upper limit."""
        return self.error is not None and self.error < 0
