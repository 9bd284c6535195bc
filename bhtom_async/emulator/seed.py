"""The seeded world: users, observatories, targets, a light curve, one calibrated product.

Identifiers and timestamps are fixed, so every emulator starts from the same state; only the
tokens depend on the seed. The harness rows match the recorded answers in ``tests/data/captures/``
(ids, values); capture numbers below name those files.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field

from .records import (
    Calibration,
    Camera,
    Comment,
    DataProduct,
    Datum,
    Favourite,
    Group,
    Observatory,
    Target,
    User,
)

__all__ = ["PASSWORDS", "SEEDED_CSV", "Seeded", "build", "make_token", "target_created_comment"]

#: Plain passwords of the seeded accounts (token-auth accepts them).
PASSWORDS = {
    "admin": "admin-pass-123",
    "alice": "alice-pass-123",
    "bob": "bob-pass-123",
    "carol": "carol-pass-123",
}
#: Content of the seeded ``photometry_csv`` product (capture 50).
SEEDED_CSV = b"MJD,Magnitude,Error\n60000.1,15.20,0.02\n60001.2,15.35,0.03\n60002.3,15.10,0.02\n"
#: Capture-era base time: 2026-11-24T13:57:03.203519Z.
BASE = dt.datetime(2026, 11, 24, 13, 57, 3, 203519, tzinfo=dt.timezone.utc).timestamp()


def _ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def make_token(seed: int, username: str) -> str:
    """The 40-hex API token of ``username`` under ``seed``."""
    return hashlib.sha1(f"bhtom-emulator/{seed}/{username}".encode()).hexdigest()  # noqa: S324


def _password_hash(username: str, password: str) -> str:
    """A genuine Django ``pbkdf2_sha256`` hash (few iterations: it is only leaked by the users list)."""
    salt = hashlib.sha256(f"salt/{username}".encode()).hexdigest()[:22]
    iterations = 1000
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def target_created_comment(full_name: str, username: str, created: float) -> str:
    """The comment the server adds to a new target (capture 46)."""
    moment = dt.datetime.fromtimestamp(created, tz=dt.timezone.utc)
    return f"Target created by {full_name}({username}) on {moment}"


@dataclass
class Seeded:
    """Everything the emulator starts with."""

    users: list[User] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    observatories: list[Observatory] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)
    favourites: list[Favourite] = field(default_factory=list)
    dataproducts: list[DataProduct] = field(default_factory=list)
    calibrations: list[Calibration] = field(default_factory=list)
    datums: list[Datum] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)


def _users(seed: int) -> list[User]:
    joined = _ts("2024-01-10T09:00:00.000000")
    specs = [
        # id, username, first, last, staff, superuser, active
        (2, "admin", "Admin", "Istrator", True, True, True),
        (3, "alice", "Alice", "Observer", False, False, True),
        (4, "bob", "Bob", "Second", False, False, True),
        (5, "carol", "Carol", "Pending", False, False, False),
    ]
    users = [
        User(
            1,
            "AnonymousUser",
            "",
            "!" + hashlib.sha256(b"anon").hexdigest()[:40],
            "",
            "",
            "",
            False,
            False,
            True,
            joined - 86400.0,
            "",
        ),
    ]
    for ident, name, first, last, staff, superuser, active in specs:
        password = PASSWORDS[name]
        users.append(
            User(
                ident,
                name,
                password,
                _password_hash(name, password),
                first,
                last,
                f"{name}@example.org",
                staff,
                superuser,
                active,
                joined + ident * 3600.0,
                make_token(seed, name),
            )
        )
    return users


def _observatories() -> tuple[list[Observatory], list[Camera], list[Favourite]]:
    obs = [
        Observatory(
            1,
            "HarnessObs",
            21.0,
            52.2,
            BASE + 2.962331,
            BASE + 2.962352,
            3,
            altitude=100.0,
            comment="local harness",
            filters="V,R",
        ),
        Observatory(
            2,
            "ROAD",
            -70.7,
            -30.2,
            _ts("2023-05-01T10:00:00.123456"),
            _ts("2023-05-01T10:00:00.123456"),
            2,
            altitude=1700.0,
            filters="V,R",
            comment="Remote Observatory Atacama Desert",
            telescope="ODK 17",
            aperture=0.43,
        ),
        Observatory(
            3,
            "CalibObs",
            19.0,
            50.0,
            _ts("2023-06-01T08:00:00.000001"),
            _ts("2023-06-01T08:00:00.000001"),
            2,
            altitude=250.0,
            calibration_flg=True,
            comment="calibration only",
            filters="B,V",
        ),
    ]
    cams = [
        Camera(
            1,
            3,
            1,
            "HarnessCam",
            "HarnessObs_HarnessCam",
            BASE + 2.965956,
            BASE + 2.970204,
            active_flg=True,
            readout_noise=5.0,
            saturation_level=60000.0,
            readout_speed=1.0,
        ),
        Camera(
            2,
            2,
            2,
            "QHY600M",
            "ROAD_QHY600M",
            _ts("2023-05-01T10:05:00.654321"),
            _ts("2023-05-01T10:05:00.654321"),
            active_flg=True,
        ),
        Camera(
            3,
            2,
            2,
            "OldCCD",
            "ROAD_OldCCD",
            _ts("2023-05-01T10:06:00.000002"),
            _ts("2023-05-01T10:06:00.000002"),
            active_flg=False,
        ),
        Camera(
            4,
            2,
            3,
            "CalibCam",
            "CalibObs_CalibCam",
            _ts("2023-06-01T08:01:00.000003"),
            _ts("2023-06-01T08:01:00.000003"),
            active_flg=True,
        ),
    ]
    favs = [
        Favourite(1, 3, 1, BASE + 2.979481, BASE + 2.979481),
        Favourite(2, 3, 4, BASE + 2.980000, BASE + 2.980000),
        Favourite(3, 4, 1, BASE + 2.981000, BASE + 2.981000),
    ]
    return obs, cams, favs


def _galactic(ra: float, dec: float) -> tuple[float, float]:
    """J2000 equatorial to galactic coordinates, degrees."""
    ra_gp, dec_gp, l_ncp = math.radians(192.85948), math.radians(27.12825), math.radians(122.93192)
    r, d = math.radians(ra), math.radians(dec)
    sin_b = math.sin(d) * math.sin(dec_gp) + math.cos(d) * math.cos(dec_gp) * math.cos(r - ra_gp)
    b = math.asin(sin_b)
    y = math.cos(d) * math.sin(r - ra_gp)
    x = math.sin(d) * math.cos(dec_gp) - math.cos(d) * math.sin(dec_gp) * math.cos(r - ra_gp)
    lon = (l_ncp - math.atan2(y, x)) % (2 * math.pi)
    return round(math.degrees(lon), 6), round(math.degrees(b), 6)


def _jitter(key: str) -> float:
    """Deterministic noise in [-1, 1)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 2**31 - 1.0


def _microlensing_mag(mjd: float, baseline: float) -> float:
    t0, t_e, u0 = 59700.0, 45.0, 0.08
    u = math.hypot(u0, (mjd - t0) / t_e)
    amplification = (u * u + 2) / (u * math.sqrt(u * u + 4))
    return baseline - 2.5 * math.log10(amplification)


def _light_curve(first_id: int, target_id: int) -> list[Datum]:
    series = [
        # source_name, facility, filter, observer, baseline, error, mjds
        ("GAIA_ALERTS", "Gaia", "G(GAIA_ALERTS)", "", 17.1, 0.02, [59610.4 + 15.3 * i for i in range(14)]),
        ("ZTF", "ZTF", "g(ZTF)", "", 17.6, 0.03, [59655.21 + 6.1 * i for i in range(9)]),
        ("ZTF", "ZTF", "r(ZTF)", "", 17.0, 0.025, [59656.18 + 6.4 * i for i in range(9)]),
        (
            "ROAD_QHY600M",
            "ROAD",
            "V(GaiaSP)",
            "admin",
            17.3,
            0.015,
            [59690.05, 59695.11, 59699.98, 59703.02, 59710.2],
        ),
    ]
    datums: list[Datum] = []
    ident = first_id
    stamp = _ts("2022-06-01T00:00:00.000000")
    for source, facility, band, observer, baseline, error, mjds in series:
        for mjd in mjds:
            value = _microlensing_mag(mjd, baseline) + 0.01 * _jitter(f"{band}{mjd}")
            observers = [observer] if observer else []
            datums.append(
                Datum(
                    ident,
                    target_id,
                    round(mjd, 5),
                    round(value, 3),
                    error,
                    band,
                    source,
                    facility,
                    observer,
                    stamp + ident,
                    observers=observers,
                )
            )
            ident += 1
    # A non-detection: negative error marks a limit.
    datums.append(
        Datum(
            ident,
            target_id,
            59760.31,
            18.9,
            -1.0,
            "V(GaiaSP)",
            "ROAD_QHY600M",
            "ROAD",
            "admin",
            stamp + ident,
            observers=["admin"],
        )
    )
    ident += 1
    for mjd, flux, err in ((59702.5, 0.45, 0.05), (59731.7, 0.31, 0.04)):
        datums.append(
            Datum(
                ident,
                target_id,
                mjd,
                flux,
                err,
                "15.5GHz(AMI-LA)",
                "AMI-LA",
                "AMI-LA",
                "",
                stamp + ident,
                value_unit="MILLIJANSKY",
            )
        )
        ident += 1
    return datums


def build(seed: int) -> Seeded:
    """The seeded state under ``seed`` (only tokens depend on it)."""
    world = Seeded(users=_users(seed))
    world.observatories, world.cameras, world.favourites = _observatories()
    gal_l, gal_b = _galactic(276.12, -12.34)
    world.targets = [
        Target(
            1, "HarnessStar1", 83.633, 22.0145, BASE, BASE, description="local harness target", importance=5.0
        ),
        Target(
            2,
            "HarnessStar2",
            10.5,
            -20.25,
            BASE + 3.728417,
            BASE + 3.728417,
            classification="Nova",
            importance=3.0,
            cadence=2.0,
            has_optical=True,
        ),
        Target(
            3,
            "Gaia22bpl",
            276.12,
            -12.34,
            _ts("2022-03-30T10:00:00.123456"),
            _ts("2022-03-30T10:00:00.123456"),
            classification="Microlensing Event",
            discovery_date=_ts("2022-03-29T00:00:00.000000"),
            has_optical=True,
            has_radio=True,
            galactic_lng=gal_l,
            galactic_lat=gal_b,
            sun_separation=75.3,
            photometry_plot="/photometry/Gaia22bpl.json",
            constellation="Scutum",
            aliases=[["GAIA_ALERTS", "Gaia22bpl"]],
        ),
    ]
    world.groups = [Group(1, "Microlensing", _ts("2023-01-05T12:00:00.123456"), [3])]
    world.dataproducts = [
        DataProduct(
            1,
            1,
            3,
            "photometry_csv",
            "targets/harness_phot_1.csv",
            "harness_phot_1.csv",
            hashlib.sha256(SEEDED_CSV).hexdigest(),
            len(SEEDED_CSV),
            BASE + 2.982789,
            BASE + 2.982798,
            camera_id=1,
            product_id="harness_phot_1",
            photometry_data="/targets/harness_phot_1.csv",
            observers=["alice"],
            upload_filter="GaiaSP/V",
        ),
    ]
    world.calibrations = [
        Calibration(
            1,
            1,
            BASE + 2.988636,
            BASE + 2.988636,
            BASE + 2.988636,
            BASE + 2.988636,
            "S",
            status_message=None,
            mjd=60000.1,
            exp_time=60.0,
            mag=15.2,
            mag_error=0.02,
            ra=83.633,
            dec=22.0145,
            zeropoint=25.1,
            outlier_fraction=0.1,
            scatter=0.05,
            npoints=120,
            best_filter="V",
            survey="GaiaSP",
            no_plot=True,
            number_tries=0,
            materialized=True,
            fixed_times=True,
        ),
    ]
    points = (
        (60000.1, 15.2, 0.02, 0.984332),
        (60001.2, 15.35, 0.03, 0.986584),
        (60002.3, 15.1, 0.02, 0.987727),
    )
    world.datums = [
        Datum(
            i + 1,
            1,
            mjd,
            mag,
            err,
            "GaiaSP/V",
            "HarnessObs_HarnessCam",
            "HarnessObs",
            "alice",
            BASE + 2.0 + stamp,
            data_product_id=1,
            observers=["alice"],
        )
        for i, (mjd, mag, err, stamp) in enumerate(points)
    ]
    world.datums += _light_curve(len(world.datums) + 1, 3)
    gaia = world.targets[2]
    latest = max(
        (d for d in world.datums if d.target_id == 3 and d.value_unit == "MAG" and (d.error or 0) > 0),
        key=lambda d: d.mjd,
    )
    gaia.mag_last, gaia.mjd_last, gaia.filter_last = latest.value, latest.mjd, latest.filter
    alice, admin = world.users[2], world.users[1]
    world.comments = [
        Comment(1, 3, "alice", target_created_comment(alice.full_name, "alice", BASE), BASE + 2.010228, 1),
        Comment(
            2,
            3,
            "alice",
            target_created_comment(alice.full_name, "alice", BASE + 3.728417),
            BASE + 5.736853,
            2,
        ),
        Comment(
            3,
            2,
            "admin",
            target_created_comment(admin.full_name, "admin", gaia.created),
            gaia.created + 2.0,
            3,
        ),
        Comment(4, 3, "alice", "Brightening fast, please observe!", _ts("2022-04-20T21:03:11.5"), 3),
    ]
    return world
