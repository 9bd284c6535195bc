"""The emulator's tables: one plain dataclass per Django model it imitates.

Fields hold JSON-compatible values only (timestamps are float seconds since the epoch, UTC),
so a record round-trips through ``dataclasses.asdict`` and SQLite unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KINDS",
    "Calibration",
    "Camera",
    "Comment",
    "DataProduct",
    "Datum",
    "Download",
    "Favourite",
    "Group",
    "Observatory",
    "Target",
    "User",
]


@dataclass
class User:
    id: int
    username: str
    password: str
    password_hash: str
    first_name: str
    last_name: str
    email: str
    is_staff: bool
    is_superuser: bool
    is_active: bool
    date_joined: float
    token: str
    last_login: float | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Target:
    id: int
    name: str
    ra: float
    dec: float
    created: float
    modified: float
    epoch: float = 2000.0
    description: str | None = None
    classification: str = "Unknown"
    discovery_date: float | None = None
    importance: float = 9.98
    cadence: float = 1.0
    priority: float = 0.0
    # Nullable columns on the real server (BooleanField(null=True)).
    has_optical: bool | None = False
    has_infrared: bool | None = False
    has_radio: bool | None = False
    has_xray: bool | None = False
    has_gamma: bool | None = False
    has_polarimetry: bool | None = False
    type: str = "SIDEREAL"
    galactic_lng: float | None = None
    galactic_lat: float | None = None
    sun_separation: float | None = None
    mjd_last: float = 0.0
    mag_last: float = 100.0
    filter_last: str = ""
    cadence_priority: float = 0.0
    constellation: str | None = None
    photometry_plot: str = ""
    aliases: list[list[str]] = field(default_factory=list)


@dataclass
class Group:
    id: int
    name: str
    created: float
    target_ids: list[int] = field(default_factory=list)


@dataclass
class Observatory:
    id: int
    name: str
    lon: float
    lat: float
    created: float
    modified: float
    user_id: int
    altitude: float = 0.0
    calibration_flg: bool = False
    comment: str | None = None
    approx_lim_mag: float = 18.0
    origin: str | None = None
    telescope: str | None = None
    aperture: float = 0.0
    focal_length: float = 0.0
    seeing: float = 0.0
    filters: str = ""
    authors: str | None = None
    acknowledgements: str | None = None


@dataclass
class Camera:
    id: int
    user_id: int
    observatory_id: int
    camera_name: str
    prefix: str
    created: float
    modified: float
    active_flg: bool = False
    gain: float = 2.0
    example_file: str | None = None
    readout_noise: float = 2.0
    binning: int = 1
    saturation_level: float = 63000.0
    pixel_scale: float = 0.8
    readout_speed: float = 9999.0
    pixel_size: float = 13.5
    date_time_keyword: str = "DATE-OBS"
    time_keyword: str = "TIME-OBS"
    exposure_time_keyword: str = "EXPTIME"
    mode_recognition_keyword: str = ""
    additional_info: str = ""


@dataclass
class Favourite:
    id: int
    user_id: int
    camera_id: int
    created: float
    modified: float | None
    active_flg: bool = True
    comment: str | None = None
    number_of_uploaded_file: int = 0
    file_size: float = 0.0
    last_file_process: float | None = None


@dataclass
class DataProduct:
    id: int
    target_id: int
    user_id: int
    data_product_type: str
    data: str
    file_name: str
    sha256: str
    size: int
    created: float
    modified: float
    camera_id: int | None = None
    observatory_text: str | None = None
    product_id: str = ""
    photometry_data: str | None = None
    fits_data: str | None = None
    #: A JSON column: usernames, user ids, objects or a bare string, as the real rows hold.
    observers: Any = field(default_factory=list)
    comment: str | None = None
    dry_run: bool = False
    upload_filter: str = "GaiaSP/any"
    upload_mjd: float | None = None
    match_dist: float | None = None
    priority: str | None = None
    no_plot: bool = False
    groups: list[int] = field(default_factory=list)
    extra_data: str = ""
    featured: bool = False
    cards: dict[str, Any] = field(default_factory=dict)
    data_nonzero: bool = True
    disk_path: str = ""


@dataclass
class Calibration:
    id: int
    dataproduct_id: int
    registered_at: float
    ccdphot_at: float
    c_until: float
    p_until: float
    outcome: str
    status_message: str | None = None
    mjd: float | None = None
    exp_time: float | None = None
    mag: float | None = None
    mag_error: float | None = None
    ra: float | None = None
    dec: float | None = None
    zeropoint: float | None = None
    outlier_fraction: float | None = None
    scatter: float | None = None
    npoints: int | None = None
    processing_time: float | None = None
    best_filter: str = ""
    survey: str = "GaiaSP"
    use_catalog: int | None = None
    match_distans: float = 0.5
    no_plot: bool = False
    calibration_plot: str | None = None
    number_tries: int = 1
    calibration_log: str | None = None
    job_id: str = ""
    materialized: bool = False
    #: Seeded records carry fixed timestamps; simulated ones derive them from the timeline.
    fixed_times: bool = False
    start_processing: float | None = None


@dataclass
class Datum:
    id: int
    target_id: int
    mjd: float
    value: float
    error: float | None
    filter: str
    source_name: str
    facility: str
    observer: str
    timestamp: float
    data_product_id: int | None = None
    data_type: str = "photometry"
    source_location: str = ""
    #: A nullable JSON column: a list of names, objects, a bare string or None.
    observers: Any = field(default_factory=list)
    value_unit: str = "MAG"
    extra_data: Any = None
    active_flg: bool = True
    #: Nullable float arrays whose elements may be NULL too.
    value_list: list[Any] | None = field(default_factory=list)
    error_list: list[Any] | None = field(default_factory=list)
    wavelengths: list[Any] | None = field(default_factory=list)


@dataclass
class Comment:
    id: int
    user_id: int | None
    user_name: str
    comment: str
    submit_date: float
    target_id: int


@dataclass
class Download:
    id: int
    user_id: int
    target_id: int
    created: float
    download_type: str
    ip_address: str


#: Table name -> record class, in dependency order (used by persistence and reset).
KINDS: dict[str, type[Any]] = {
    "user": User,
    "target": Target,
    "group": Group,
    "observatory": Observatory,
    "camera": Camera,
    "favourite": Favourite,
    "dataproduct": DataProduct,
    "calibration": Calibration,
    "datum": Datum,
    "comment": Comment,
    "download": Download,
}
