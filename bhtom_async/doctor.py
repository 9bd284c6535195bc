"""`bhtom doctor`'s checks: is everything ready for tonight's uploads?

Each check gives one `Check`: ok, warn or fail, what was found, and the fix. The server checks
go through the client's endpoint calls (nothing here speaks HTTP): the token on the main host,
the upload service's access check, the target list, the observatory list and one dry-run upload
of a tiny blank frame (the server stores nothing for a dry run). The local checks read the
journal, the watch folder and the environment.

Example:
    >>> async with Client() as bh:                                     # doctest: +SKIP
    ...     checks = await diagnose(bh, DoctorOptions(target="Gaia22bpl"))
    ...     print(all(check.status != "fail" for check in checks))
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import anyio.to_thread
import attrs

from ._clock import SYSTEM_CLOCK, Clock
from .errors import (
    AuthenticationError,
    BhtomError,
    CameraNotFavouriteError,
    JournalError,
    MissingDependencyError,
    TargetNotFoundError,
    TransportError,
)
from .models.uploads import UploadOptions
from .upload.journal import default_journal_path
from .upload.journal_backend import open_journal
from .upload.journal_sqlite import SqliteJournal
from .upload.journal_url import is_postgres_url, masked, split_options
from .upload.reconcile import TOLERANCE, UNSYNCED_TOLERANCE

if TYPE_CHECKING:
    from .client import Client

__all__ = [
    "Check",
    "DoctorOptions",
    "Status",
    "check_journal",
    "check_proxies",
    "check_watch_folder",
    "diagnose",
    "journal_room",
]

Status = Literal["ok", "warn", "fail"]
T = TypeVar("T")

#: Free space below this on the journal's disk fails: a night's journal is ~1 KB a frame plus
#: SQLite's write-ahead log, and a full disk stops the job (what was journaled stays).
JOURNAL_MIN_FREE = 16 * 1024 * 1024
#: Below this it warns: enough for a night, not for many more.
JOURNAL_LOW_FREE = 256 * 1024 * 1024
#: Where Linux says how many inotify watches one user may hold (one per watched folder).
MAX_USER_WATCHES = Path("/proc/sys/fs/inotify/max_user_watches")
#: Proxy variables other tools honour (either case).
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
#: The name the token check asks the target list for when no target is given.
_PROBE_NAME = "bhtom-doctor-check"


@attrs.frozen
class Check:
    """One line of the report.

    Attributes:
        name: what was checked (``token``, ``main host``, ``camera`` ...).
        status: ``ok``, ``warn`` (works, but look at it) or ``fail`` (tonight's uploads would fail).
        message: what was found.
        fix: what to do about it (None when nothing needs doing).
    """

    name: str
    status: Status
    message: str
    fix: str | None = None


@attrs.frozen
class DoctorOptions:
    """What to check besides the account and the hosts.

    Attributes:
        target: the exact target name tonight's frames go to.
        observatory: the camera's ONAME (``<observatory>_<camera>``).
        journal: the journal path (default: the uploader's default journal) or a
            ``postgresql://`` URL.
        watch_folder: the folder a watch would read.
        environ: the environment to look for proxy variables in (default: ``os.environ``).
    """

    target: str | None = None
    observatory: str | None = None
    journal: str | None = None
    watch_folder: Path | None = None
    environ: Mapping[str, str] | None = None


async def diagnose(client: Client, options: DoctorOptions, *, clock: Clock = SYSTEM_CLOCK) -> list[Check]:
    """Run every check, in the order a night needs them; never raises for what it finds.

    Args:
        client: an open or openable client with the settings tonight's upload would use.
        options: the target, camera, journal and watch folder to check.
        clock: measures the round trips.
    """
    checks: list[Check] = []
    await client.open()
    if client.config.token is None:
        checks.append(Check("token", "fail", "no API token is set", "run `bhtom login` or set BHTOM_TOKEN"))
        main_ok = False
    else:
        main_ok = await _check_main(client, options, clock, checks)
        await _check_upload_host(client, clock, checks)
    answered = [c.name for c in checks if c.name.endswith("host") and c.status == "ok"]
    checks.append(_check_clock(client.server_clock_offset, answered=bool(answered)))
    target_exists: bool | None = None
    if not main_ok:
        unchecked = [
            name for name, asked in (("target", options.target), ("camera", options.observatory)) if asked
        ]
        checks.extend(
            Check(name, "warn", "not checked: the main host did not accept the token") for name in unchecked
        )
    if options.target is not None and main_ok:
        target_check, target_exists = await _check_target(client, options.target)
        checks.append(target_check)
    if options.observatory is not None and main_ok:
        camera = await _check_camera(client, options.observatory)
        checks.append(camera)
        if camera.status == "ok":
            checks.append(await _check_favourite(client, options, target_exists))
    checks.append(await anyio.to_thread.run_sync(check_proxies, options.environ, len(answered) == 2))
    checks.append(await check_journal(options.journal))
    if options.watch_folder is not None:
        checks.append(await anyio.to_thread.run_sync(check_watch_folder, options.watch_folder))
    return checks


# ---- the server ----------------------------------------------------------------------------


async def _timed(clock: Clock, call: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    start = clock.monotonic()
    result = await call()
    return result, clock.monotonic() - start


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def _check_main(client: Client, options: DoctorOptions, clock: Clock, checks: list[Check]) -> bool:
    """The main host answers, and accepts the token (an active account)."""
    url = client.config.base_url
    name = options.target or _PROBE_NAME
    try:
        _, took = await _timed(clock, lambda: client.targets.list(name=name).first_page())
    except AuthenticationError as exc:
        checks.append(Check("main host", "ok", f"{url} answered"))
        checks.append(Check("token", "fail", exc.message, exc.hint))
        return False
    except TransportError as exc:
        checks.append(Check("main host", "fail", f"{url} does not answer: {exc.headline}", exc.hint))
        return False
    except BhtomError as exc:
        checks.append(Check("main host", "fail", f"{url} answered with an error: {exc.headline}", exc.hint))
        return False
    checks.append(Check("main host", "ok", f"{url} answered in {_ms(took)}"))
    checks.append(Check("token", "ok", "accepted: the account is active"))
    return True


async def _check_upload_host(client: Client, clock: Clock, checks: list[Check]) -> None:
    """The upload service answers and accepts the token (the account may upload)."""
    url = client.config.upload_url
    try:
        status, took = await _timed(clock, client.uploads.check_access)
    except AuthenticationError as exc:
        checks.append(Check("upload host", "ok", f"{url} answered"))
        checks.append(Check("upload access", "fail", f"the upload service refuses: {exc.message}", exc.hint))
        return
    except TransportError as exc:
        checks.append(Check("upload host", "fail", f"{url} does not answer: {exc.headline}", exc.hint))
        return
    except BhtomError as exc:
        checks.append(Check("upload host", "fail", f"{url} answered with an error: {exc.headline}", exc.hint))
        return
    checks.append(Check("upload host", "ok", f"{url} answered in {_ms(took)}"))
    if status == 405:
        checks.append(Check("upload access", "ok", "the upload service accepts the token"))
    else:
        checks.append(
            Check(
                "upload access",
                "warn",
                f"the upload service answered {status} to the access check, so it was not confirmed",
                "a dry run confirms it: `bhtom upload FRAME --target T --observatory ONAME --dry-run`",
            )
        )


def _check_clock(offset: float | None, *, answered: bool) -> Check:
    """Our clock against the server's ``Date`` header, and what the uploader does with the gap."""
    if not answered:
        return Check("clock", "warn", "not checked: the server did not answer")
    if offset is None:
        return Check(
            "clock",
            "warn",
            "the server sends no Date header, so its clock is unknown: a lost answer is matched "
            f"within {UNSYNCED_TOLERANCE:.0f} s instead of {TOLERANCE:.0f} s",
            "nothing to do here; a colleague's same-named frame within that window makes the outcome unknown",
        )
    ahead = "ahead of" if offset > 0 else "behind"
    gap = f"the server's clock is {abs(offset):.1f} s {ahead} ours"
    if abs(offset) <= TOLERANCE:
        return Check("clock", "ok", f"{gap} (within the {TOLERANCE:.0f} s the uploader allows)")
    return Check(
        "clock",
        "warn",
        f"{gap}: uploads still match lost answers (they shift by the offset read from each "
        f"answer's Date header), but a clock stepped by more than {TOLERANCE:.0f} s mid-night "
        "can leave a lost upload unknown, and frame times written on this PC are off",
        "synchronise this PC's clock (e.g. `timedatectl set-ntp true`, or chrony/ntpd)",
    )


async def _check_target(client: Client, name: str) -> tuple[Check, bool]:
    """The exact target name exists; a case-insensitive near miss is named."""
    try:
        found = await client.targets.list(name=name).to_list()
    except BhtomError as exc:
        return Check("target", "fail", f"cannot list targets: {exc.headline}", exc.hint), False
    if any(t.name == name for t in found):
        return Check("target", "ok", f"{name!r} exists"), True
    try:
        near = await client.targets.near_miss(name)
    except BhtomError:
        near = None
    if near is not None:
        return (
            Check(
                "target",
                "fail",
                f"no target {name!r}; did you mean {near!r}? (names are exact)",
                f"use --target {near}",
            ),
            False,
        )
    return (
        Check(
            "target",
            "fail",
            f"no target named {name!r}",
            f"check the name on the web site, or create it: `bhtom targets create {name} --ra RA --dec DEC`",
        ),
        False,
    )


async def _check_camera(client: Client, oname: str) -> Check:
    """The camera (ONAME) is registered and active."""
    try:
        observatories = await client.observatories.list().to_list()
    except BhtomError as exc:
        return Check("camera", "fail", f"cannot list observatories: {exc.headline}", exc.hint)
    cameras = [camera for obs in observatories for camera in obs.cameras if camera.prefix]
    exact = next((c for c in cameras if c.prefix == oname), None)
    if exact is None:
        near = next((c.prefix for c in cameras if (c.prefix or "").casefold() == oname.casefold()), None)
        guess = f"; did you mean {near!r}?" if near else ""
        fix = f"use --observatory {near}" if near else "list cameras with `bhtom observatories list`"
        return Check("camera", "fail", f"no camera with ONAME {oname!r}{guess}", fix)
    if not exact.active:
        return Check(
            "camera",
            "fail",
            f"camera {oname} is inactive: uploads to it are refused",
            "ask the observatory's owner or the BHTOM team to activate it",
        )
    return Check("camera", "ok", f"{oname} exists and is active")


async def _check_favourite(client: Client, options: DoctorOptions, target_exists: bool | None) -> Check:
    """The camera is in the account's favourites: one dry-run upload of a blank frame says so."""
    oname = options.observatory or ""
    if not target_exists:
        why = "give --target too" if options.target is None else "the target is missing"
        return Check(
            "favourites",
            "warn",
            f"not checked ({why}): the check is a dry-run upload to the target",
            f"if it is not there yet: `bhtom observatories add-favourite {oname}`",
        )
    upload = UploadOptions(target=options.target or "", observatory=oname, dry_run=True)
    folder = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="bhtom-doctor-")))
    try:
        frame = folder / "bhtom-doctor-dry-run.fits"
        await anyio.to_thread.run_sync(frame.write_bytes, _blank_frame())
        await client.uploads.upload_file(frame, upload)
    except CameraNotFavouriteError:
        return Check(
            "favourites",
            "fail",
            f"{oname} is not in your favourites: uploads to it are refused",
            f"bhtom observatories add-favourite {oname}",
        )
    except TargetNotFoundError as exc:
        return Check("favourites", "warn", f"not checked: {exc.headline}")
    except BhtomError as exc:
        return Check("favourites", "fail", f"a dry-run upload was refused: {exc.headline}", exc.hint)
    finally:
        await anyio.to_thread.run_sync(shutil.rmtree, folder, True)
    return Check("favourites", "ok", f"{oname} is in your favourites (a dry-run upload was accepted)")


def _blank_frame() -> bytes:
    """The smallest plain FITS frame: one 8x8 16-bit image, for the dry run (nothing is stored)."""
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                   16",
        "NAXIS   =                    2",
        "NAXIS1  =                    8",
        "NAXIS2  =                    8",
        "OBJECT  = 'bhtom doctor'",
        "COMMENT bhtom doctor's dry-run upload; the server stores nothing",
        "END",
    ]
    header = "".join(card.ljust(80) for card in cards).ljust(2880).encode("ascii")
    return header + bytes(2880)


# ---- this machine --------------------------------------------------------------------------


def check_proxies(environ: Mapping[str, str] | None = None, hosts_answered: bool = True) -> Check:
    """Proxy variables: bhtom ignores them, so the token goes nowhere but the configured hosts.

    The client is built with the environment's proxy settings off (``trust_env=False``), so a
    proxy variable never routes the token through a third party. The check names any that is
    set, since other tools on this PC do use it, and warns when the hosts did not answer (a
    network that only reaches out through that proxy).
    """
    env = os.environ if environ is None else environ
    found = [
        f"{name}={_without_password(env[name])}"
        for variable in PROXY_VARIABLES
        for name in (variable, variable.lower())
        if env.get(name, "").strip()
    ]
    if not found:
        return Check("proxy", "ok", "no proxy variable is set")
    shown = ", ".join(found)
    if hosts_answered:
        return Check(
            "proxy",
            "ok",
            f"{shown} is set; bhtom ignores proxy variables, so the token goes only to the hosts above",
        )
    return Check(
        "proxy",
        "warn",
        f"{shown} is set, but bhtom connects directly (it never sends the token through a proxy)",
        "if this network reaches the internet only through that proxy, upload from a PC with a direct route",
    )


def _without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.password is None:
        return url.strip()
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


async def check_journal(journal: str | None) -> Check:
    """The journal opens for writing, no other job holds it, and its disk has room for a night.

    A ``postgresql://`` journal is connected to (one try, unless the URL sets ``reconnect``) and
    its schema created or checked, read-only: no worker is registered. An existing SQLite
    journal is opened and closed again (taking its lock for a moment, as a job would); a missing
    one is not created: its folder must be writable.
    """
    where = journal or str(default_journal_path())
    if is_postgres_url(where):
        return await _check_shared_journal(where)
    path, exists = await anyio.to_thread.run_sync(_locate, where)
    if exists:
        try:
            async with SqliteJournal(path):
                pass
        except JournalError as exc:
            return Check("journal", "fail", exc.headline, exc.hint)
    else:
        problem = await anyio.to_thread.run_sync(_cannot_create, path)
        if problem is not None:
            return Check("journal", "fail", problem, "give --journal a path in a folder you can write")
    free, shared = await anyio.to_thread.run_sync(_free_and_shared, path)
    room = journal_room(free)
    state = "opens for writing" if exists else "will be created"
    if room == "fail":
        return Check(
            "journal",
            "fail",
            f"{path} {state}, but its disk has only {free // 1024**2} MiB free",
            "free some space (a night's journal needs about 1 KB a frame, plus its write-ahead log)",
        )
    if room == "warn":
        return Check(
            "journal",
            "warn",
            f"{path} {state}; its disk has {free // 1024**2} MiB free (enough for a night)",
            "free some space before it runs out",
        )
    if shared:
        return Check(
            "journal",
            "warn",
            f"{path} {state}, but other accounts can read it (it names every target and folder)",
            f"chmod 600 {path}",
        )
    return Check("journal", "ok", f"{path} {state}, no other job holds it, {free // 1024**2} MiB free")


async def _check_shared_journal(url: str) -> Check:
    """A PostgreSQL journal answers and its schema is ready (or was just created)."""
    _, ours = split_options(url)
    tried = url if "reconnect" in ours else url + ("&" if "?" in url else "?") + "reconnect=0"
    try:
        async with open_journal(tried, read_only=True):
            pass
    except (JournalError, MissingDependencyError) as exc:
        return Check("journal", "fail", exc.headline, exc.hint)
    return Check("journal", "ok", f"{masked(url)} answers and its schema is ready (shared by many hosts)")


def journal_room(free_bytes: int) -> Status:
    """Whether a disk with this many free bytes holds a night's journal."""
    if free_bytes < JOURNAL_MIN_FREE:
        return "fail"
    return "warn" if free_bytes < JOURNAL_LOW_FREE else "ok"


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def _cannot_create(path: Path) -> str | None:
    folder = _nearest_existing(path.parent)
    if not folder.is_dir():
        return f"{path} cannot be created: {folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{path} cannot be created: {folder} is not writable"
    return None


def _locate(where: str) -> tuple[Path, bool]:
    path = Path(where).expanduser()
    return path, path.exists()


def _free_and_shared(path: Path) -> tuple[int, bool]:
    """Free bytes on the journal's disk, and whether other accounts can read the journal."""
    free = shutil.disk_usage(_nearest_existing(path)).free
    shared = sys.platform != "win32" and path.exists() and bool(path.stat().st_mode & 0o077)
    return free, shared


def check_watch_folder(folder: Path, *, max_watches_file: Path = MAX_USER_WATCHES) -> Check:
    """The folder is readable, and inotify allows a watch on it and every folder under it.

    Args:
        folder: the folder a watch reads.
        max_watches_file: where the system's per-user inotify limit is read (Linux).
    """
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        return Check("watch folder", "fail", f"{folder} {what}", "give the folder the camera writes to")
    if not os.access(folder, os.R_OK | os.X_OK):
        return Check("watch folder", "fail", f"{folder} is not readable", f"chmod u+rx {folder}")
    folders, files = 0, 0
    for _root, dirs, names in os.walk(folder):
        folders += 1
        files += len(names)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
    counted = f"{folder} is readable ({files} files in {folders} folders)"
    if importlib.util.find_spec("watchfiles") is None:
        return Check(
            "watch folder",
            "warn",
            f"{counted}; watchfiles is not installed, so the watch polls the folder",
            "pip install 'bhtom_async[watch]' for change notifications",
        )
    try:
        limit = int(max_watches_file.read_text().strip())
    except (OSError, ValueError):
        return Check("watch folder", "ok", f"{counted}; no inotify limit to compare (not Linux)")
    if folders > limit:
        return Check(
            "watch folder",
            "warn",
            f"{counted}, but inotify allows this account {limit} watches and the watch needs one "
            "a folder: change notifications would fail",
            f"raise it (`sudo sysctl fs.inotify.max_user_watches={folders * 2}`) "
            "or watch with --force-polling",
        )
    return Check(
        "watch folder",
        "ok",
        f"{counted}; inotify allows {limit} watches (shared with this account's other programs), "
        f"{folders} needed",
    )
