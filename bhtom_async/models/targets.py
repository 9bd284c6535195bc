"""Models for targets (`targets/...`): targets, groups, downloads log, plots and light curves."""

from __future__ import annotations

import datetime as dt
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import anyio
import attrs

from . import _tables
from ._converter import converter
from ._files import safe_filename
from ._plot import plot_light_curve

if TYPE_CHECKING:
    from astropy.table import Table
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from pandas import DataFrame

__all__ = [
    "DOWNLOAD_TYPES",
    "LightCurve",
    "LightCurvePoint",
    "TARGET_CLASSIFICATIONS",
    "Target",
    "TargetAlias",
    "TargetDownload",
    "TargetGroup",
    "TargetGroupRef",
    "TargetPlot",
]

#: Classifications the server knew when this client was written (key → label). Offered for
#: completion and validation in your own code; the client does not refuse other values, because
#: the server may add new ones.
TARGET_CLASSIFICATIONS: Mapping[str, str] = types.MappingProxyType(
    {
        "Unknown": "Unknown",
        "Be-star outburst": "Be-star outburst",
        "AGN": "Active Galactic Nucleus(AGN)",
        "BL Lac": "BL Lac",
        "CV": "Cataclysmic Variable(CV)",
        "CEPH": "Cepheid Variable(CEPH)",
        "EB": "Eclipsing Binary(EB)",
        "Galaxy": "Galaxy",
        "LPV": "Long Period Variable(LPV)",
        "LBV": "Luminous Blue Variable(LBV)",
        "M-dwarf flare": "M-dwarf flare",
        "Microlensing Event": "Microlensing Event",
        "Nova": "Nova",
        "Peculiar Supernova": "Peculiar Supernova",
        "QSO": "Quasar(QSO)",
        "RCrB": "R CrB Variable",
        "RR Lyrae Variable": "RR Lyrae Variable",
        "SSO": "Solar System Object(SSO)",
        "Star": "Star",
        "SN": "Supernova(SN)",
        "Supernova imposter": "Supernova imposter",
        "Symbiotic star": "Symbiotic star",
        "TDE": "Tidal Disruption Event(TDE)",
        "Variable star-other": "Variable star-other",
        "XRB": "X-Ray Binary(XRB)",
        "YSO": "Young Stellar Object(YSO)",
    }
)

#: `download_type` letters of the downloaded-target log: photometry, radio, high energy.
DOWNLOAD_TYPES: Mapping[str, str] = types.MappingProxyType(
    {"P": "photometry", "R": "radio", "H": "high energy"}
)


class TargetAlias(NamedTuple):
    """One alias of a target: the survey or catalogue (`source`) and the name it uses there."""

    source: str
    alias: str


class TargetGroupRef(NamedTuple):
    """A group a target belongs to, as the target list reports it (``[name, id]``)."""

    name: str
    id: int


def _pair(value: object, what: str) -> tuple[object, object]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return value[0], value[1]
    raise ValueError(f"expected a [{what}] pair, got {value!r}")


def _alias(value: object, _: object) -> TargetAlias:
    source, alias = _pair(value, "source, alias")
    return TargetAlias(str(source), str(alias))


def _group_ref(value: object, _: object) -> TargetGroupRef:
    name, group_id = _pair(value, "name, id")
    return TargetGroupRef(str(name), converter.structure(group_id, int))


# The server sends these as JSON pairs; explicit hooks read them (and say so when they are not).
converter.register_structure_hook(TargetAlias, _alias)
converter.register_structure_hook(TargetGroupRef, _group_ref)


@attrs.frozen
class Target:
    """A target as `getTargetList/`, `createTarget/` or `targets-from-group/` report it.

    The server sends no id: the exact `name` is the key. Coordinates are in degrees (J2000 unless
    `epoch` says otherwise). The server uses ``mag_last=100`` and ``mjd_last=0`` for "no
    photometry yet". Keys not listed here (orbital elements, plot paths, new keys) are in `extra`.
    """

    name: str | None
    ra: float | None = None
    dec: float | None = None
    epoch: float | None = None
    type: str | None = None
    classification: str | None = None
    description: str | None = None
    discovery_date: dt.datetime | None = None
    importance: float | None = None
    cadence: float | None = None
    priority: float | None = None
    cadence_priority: float | None = None
    mjd_last: float | None = None
    mag_last: float | None = None
    filter_last: str | None = None
    sun_separation: float | None = None
    galactic_lng: float | None = None
    galactic_lat: float | None = None
    parallax: float | None = None
    pm_ra: float | None = None
    pm_dec: float | None = None
    distance: float | None = None
    distance_err: float | None = None
    constellation: str | None = None
    phot_class: str | None = None
    has_optical: bool | None = False
    has_infrared: bool | None = False
    has_radio: bool | None = False
    has_xray: bool | None = False
    has_gamma: bool | None = False
    has_polarimetry: bool | None = False
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    creation_date: dt.datetime | None = None
    aliases: tuple[TargetAlias, ...] = ()
    groups: tuple[TargetGroupRef, ...] = ()
    extra: Mapping[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def has_photometry(self) -> bool:
        """False while the server still shows its "no data" placeholders (mag 100, MJD 0)."""
        return self.mag_last is not None and self.mag_last < 100 and bool(self.mjd_last)


@attrs.frozen
class TargetGroup:
    """A target group (`target-groups/`). The server lists every user's groups."""

    id: int | None
    name: str | None
    created: dt.datetime | None = None
    extra: Mapping[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class TargetDownload:
    """One row of the admin-only log of light-curve downloads (`get-downloaded-target-list/`).

    `user` is the username, `target` the target's numeric id, `download_type` one of
    `DOWNLOAD_TYPES` (``P``, ``R``, ``H``).
    """

    id: int | None
    user: str | None = None
    user_name: str | None = None
    target: int | None = None
    target_name: str | None = None
    download_type: str | None = None
    ip_address: str | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    extra: Mapping[str, object] = attrs.field(factory=dict, repr=False)
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class TargetPlot:
    """The light-curve plot of one target (`get-plots/`): a plotly figure, or None if it has none.

    `figure` is the plotly JSON (``data``, ``layout``); pass it to ``plotly.io.from_json`` or
    ``plotly.graph_objects.Figure(figure)``.
    """

    name: str
    figure: Mapping[str, object] | None = attrs.field(default=None, repr=False)


@attrs.frozen
class LightCurvePoint:
    """One row of a downloaded light curve.

    `value` is a magnitude for photometry and a flux in mJy for radio (see `LightCurve.unit`);
    `mjd` is the Modified Julian Date. A negative `error` marks an upper limit (`is_limit`).
    """

    mjd: float
    value: float
    error: float
    facility: str = ""
    filter: str = ""
    observer: str = ""

    @property
    def is_limit(self) -> bool:
        """True when the point is a non-detection (the server writes a negative error)."""
        return self.error < 0


@attrs.frozen
class LightCurve:
    """A target's light curve as `download-photometry/` or `download-radio/` serve it.

    `raw` is the server's CSV text exactly as received, so `save` writes the original file.
    `kind` is ``"photometry"`` (magnitudes) or ``"radio"`` (mJy); `unit` says which.
    """

    target: str
    kind: str
    points: tuple[LightCurvePoint, ...]
    columns: tuple[str, ...]
    raw: str = attrs.field(repr=False)
    filename: str | None = None

    @property
    def unit(self) -> str:
        """``"mag"`` for photometry, ``"mJy"`` for radio."""
        return "mJy" if self.kind == "radio" else "mag"

    @property
    def filters(self) -> tuple[str, ...]:
        """The distinct filters in order of first appearance."""
        return tuple(dict.fromkeys(point.filter for point in self.points))

    @property
    def detections(self) -> tuple[LightCurvePoint, ...]:
        """The points that are not upper limits."""
        return tuple(point for point in self.points if not point.is_limit)

    def __len__(self) -> int:
        return len(self.points)

    def to_table(self) -> Table:
        """The points as an astropy `Table` (needs the ``astro`` extra).

        Columns: ``mjd`` (`astropy.time.Time`, scale ``utc``, format ``mjd``), ``mag`` (unit
        mag) or, for radio, ``flux`` (mJy), ``error`` (same unit, negative for a limit, as the
        server sends it), ``is_limit`` (bool), ``filter``, ``facility``, ``observer``.
        ``table.meta`` holds ``target``, ``kind`` and ``unit``. Write it with
        ``table.write("curve.ecsv", format="ascii.ecsv")`` (what `bhtom photometry --format ecsv`
        does).

        Raises:
            MissingDependencyError: astropy is not installed.
        """
        return _tables.to_table(self._schema(), self.points, meta=self._meta())

    def to_pandas(self) -> DataFrame:
        """The points as a pandas `DataFrame` (needs pandas): the `to_table` columns, ``mjd`` as a
        float; ``df.attrs`` holds ``target``, ``kind``, ``unit`` and the column ``units``.

        Raises:
            MissingDependencyError: pandas is not installed.
        """
        return _tables.to_pandas(self._schema(), self.points, meta=self._meta())

    def plot(
        self,
        *,
        ax: Axes | None = None,
        save: str | os.PathLike[str] | None = None,
        title: str | None = None,
    ) -> Figure:
        """Plot the light curve with matplotlib and return the figure (needs the ``astro`` extra).

        One colour and marker per filter, error bars, upper limits as downward arrows; for
        magnitudes the axis is inverted (brighter is up). `ax` draws into existing axes;
        `save` also writes a PNG there.

        Example:
            >>> curve.plot(save="Gaia22bpl.png")                         # doctest: +SKIP

        Raises:
            MissingDependencyError: matplotlib is not installed.
        """
        return plot_light_curve(self, ax=ax, save=save, title=title)

    def _repr_html_(self) -> str:
        first_last = ""
        if self.points:
            mjds = [p.mjd for p in self.points]
            first_last = f", MJD {min(mjds):.3f} to {max(mjds):.3f}"
        filters = ", ".join(f or "(none)" for f in self.filters) or "none"
        caption = f"{self.target} ({self.kind}): {len(self.points)} points{first_last}; filters: {filters}"
        return _tables.schema_html(self._schema(), self.points, caption=caption)

    def _schema(self) -> _tables.Schema:
        value = "mag" if self.unit == "mag" else "flux"
        return (
            _tables.field("mjd", "mjd", description="Modified Julian Date (UTC)"),
            _tables.Column(value, lambda p: p.value, "float", self.unit),
            _tables.field("error", "float", self.unit, "negative for an upper limit"),
            _tables.field("is_limit", "bool", description="upper limit (non-detection)"),
            _tables.field("filter", "str"),
            _tables.field("facility", "str"),
            _tables.field("observer", "str"),
        )

    def _meta(self) -> dict[str, object]:
        return {"target": self.target, "kind": self.kind, "unit": self.unit}

    async def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the original CSV to `path` (a directory gets the server's file name inside it).

        The name used inside a directory is always a plain base name: a server-supplied name
        cannot choose another directory.
        """
        destination = Path(path)
        if await anyio.Path(destination).is_dir():
            fallback = safe_filename(
                f"target_{self.target}_{self.kind}.csv".replace("/", "_"), "light_curve.csv"
            )
            destination = destination / safe_filename(self.filename, fallback)
        await anyio.Path(destination).write_text(self.raw, encoding="utf-8", newline="")
        return destination
