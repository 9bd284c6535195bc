"""`bhtom upload`: a night of frames through the library's bulk uploader, with honest progress.

The uploader (journal, retries, concurrency, settling) is the library's; this module turns the
command line (its own flags and the official scripts' ones) into `UploadOptions`, `JobOptions`
and a watch (`watching.NightWatch`). `upload_job` runs the job; `upload_summary` says how it
ended (a table, lines or JSON, and the exit code).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, ExitStack, nullcontext
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

import attrs
import click

from .._private import create_private
from ..errors import InvalidInputError
from ..models.uploads import DATA_PRODUCT_TYPES, UploadOptions
from ..night import Night, RequestTimed
from ..poll import PollOptions, PollRound
from ..upload.headers import settings_from_header
from ..upload.options import JobOptions
from ..upload.watch import WatchOptions
from . import output
from ._core import (
    BhtomCommand,
    CliState,
    make_client,
    pass_state,
    run,
    warn,
)
from ._params import SECONDS, BoolWord, ClockTime, JournalPath, Seconds, poll_timing_options
from .plan import Plan
from .profiles import profile_journal
from .progress import JobReport
from .signals import DEFAULT_GRACE
from .upload_job import JobResult, ReportFactory, UploadRequest, run_job
from .upload_summary import finish
from .watching import NightWatch

if TYPE_CHECKING:
    pass

__all__ = ["register", "upload"]

#: The target a job with --target-from-header is planned under; never sent.
FROM_HEADER = "(from header)"

# ---- the command --------------------------------------------------------------------------------

_UPLOAD_HELP = """Upload files and folders (walked recursively), several at once, never the same file twice.

A file still being written is held back until it has been still for --settle seconds, then
sent in the same run. Ctrl-C or SIGTERM starts no new uploads, gives those in flight --grace
seconds, prints the summary and exits 130 / 143; run the same command again to carry on.

With --watch (the way to run a night) the folders are watched: every frame already there is
sent, then each new one once it has settled, while --wait shows the calibrations as they come.
The watch ends at --until, after --idle-exit without a new frame, or on SIGTERM/Ctrl-C; it
then exits as a one-shot run would (0 when every frame found is uploaded). It checks the
server for each file the journal does not know (--check-server), so no journal mix-up stores
a frame twice.

\b
Exit codes (also in docs/cli.md):
  0    every file found is uploaded, or was already (or checked, with --dry-run)
  1    some files failed (or, with --wait, a calibration ended in error)
  2    usage error: a bad option or value (nan, a negative time...), a missing path
  3    stopped: bad token, unknown target, camera not in favourites, journal unusable
  4    some outcomes unknown (re-run with the same --journal); with --wait, calibrations
       still pending at --timeout
  5    incomplete: files not ready (still being written) or not attempted
  6    nothing to upload was found (0 with --allow-empty)
  130  interrupted by Ctrl-C (SIGINT)
  143  terminated (SIGTERM, e.g. by cron's `timeout`)
Every non-zero exit ends with one line saying why.

\b
The official upload_files_script.py's flags work too (--directory, --filename, --target_name,
--observatory_name, --filter_name, --dry_run True, --observer, --match_dist,
--data_product_type...): see docs/migrating.md.

\b
Example:
    bhtom upload night/ --target Gaia22bpl --observatory MyObs_MyCam --filter GaiaSP/V \\
        --journal night.sqlite3 --wait
    bhtom upload night/ --target Gaia22bpl --observatory MyObs_MyCam --log-file night.log -q
    bhtom upload /data/tonight --watch --until 06:30 --wait --target Gaia22bpl \\
        --observatory MyObs_MyCam --journal ~/bhtom/night.sqlite3 --log-file night.log
    bhtom upload mixed-night/ --target-from-header --filter-from-header --observatory MyObs_MyCam
"""


@click.command(
    cls=BhtomCommand, help=_UPLOAD_HELP, short_help="Upload files and folders (never the same file twice)."
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--target", help="Exact BHTOM target name (or --target-from-header).")
@click.option(
    "--target-from-header",
    is_flag=True,
    help="Each frame's target from its OBJECT card; frames without one are skipped, not guessed.",
)
@click.option("--observatory", help="Camera ONAME (must be in your favourites).")
@click.option("--filter", "filter_", help="Filter, e.g. GaiaSP/V (default: the server's GaiaSP/any).")
@click.option(
    "--filter-from-header",
    is_flag=True,
    help="Each frame's filter from its FILTER card (Johnson V, rp, ... mapped to BHTOM filters); "
    "frames with an unknown filter are skipped.",
)
@click.option(
    "--type",
    "data_product_type",
    type=click.Choice(DATA_PRODUCT_TYPES),
    help="What the files are (default fits_file).",
)
@click.option("--mjd", type=float, help="Observation MJD (required for --type photometry).")
@click.option("--observers", help="Comma-separated BHTOM usernames.")
@click.option("--comment", help="Free text stored with each file.")
@click.option("--match-dist", type=float, help="Matching radius, arcsec.")
@click.option("--dry-run", is_flag=True, help="Let the server check the files without storing them.")
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=4, show_default=True, help="Parallel uploads."
)
@click.option("--include", multiple=True, metavar="GLOB", help="Only files matching (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out files matching (repeatable).")
@click.option(
    "--journal",
    type=JournalPath(),
    metavar="FILE|URL",
    envvar="BHTOM_JOURNAL",
    help="SQLite file, or postgresql://... shared by many hosts (docs/many-hosts.md): uploaded "
    "files are skipped on re-runs [default: BHTOM_JOURNAL, else the library's own file].",
)
@click.option(
    "--journal-wait", type=SECONDS, default=0.0, help="Wait this long for a job holding the journal."
)
@click.option(
    "--settle",
    type=SECONDS,
    help="Hold back a file modified less than this many seconds ago until it is still [default: 2].",
)
@click.option("--min-age", type=SECONDS, hidden=True)
@click.option(
    "--max-settle-wait",
    type=SECONDS,
    default=300.0,
    show_default=True,
    help="Give up on a file still changing after this long (then it is 'not ready').",
)
@click.option(
    "--file-timeout",
    type=Seconds(positive=True),
    default=900.0,
    show_default=True,
    help="Deadline per file, look-ups included (then 'unknown').",
)
@click.option("--max-attempts", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option("--max-requests-per-second", type=Seconds(positive=True), help="Limit upload requests.")
@click.option("--max-bytes-per-second", type=Seconds(positive=True), help="Limit bytes sent.")
@click.option("--rate-limit-budget", type=SECONDS, default=900.0, show_default=True, help="Total 429 pause.")
@click.option(
    "--marker/--no-marker",
    default=True,
    show_default=True,
    help="Tag each upload's comment [bhtom_async:<id>] so a lost answer is matched exactly "
    "(without it a colleague's same-named frame stored meanwhile cannot be told from ours).",
)
@click.option("--wait", is_flag=True, help="Show each frame's calibration as it completes.")
@poll_timing_options
@click.option("-q", "--quiet", is_flag=True, help="Print only errors, warnings and the summary.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append timestamped lines for every event and the summary here.",
)
@click.option("--json-lines", is_flag=True, help="Stream one JSON object per event (same as -o jsonl).")
@click.option("--allow-empty", is_flag=True, help="Exit 0 when nothing to upload is found.")
@click.option(
    "--grace",
    type=SECONDS,
    default=DEFAULT_GRACE,
    show_default=True,
    help="On Ctrl-C/SIGTERM, seconds the uploads in flight get to finish.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Keep watching the folders: each new frame is uploaded once it has settled, until "
    "--until, --idle-exit or Ctrl-C/SIGTERM.",
)
@click.option(
    "--until",
    type=ClockTime(),
    help="--watch: stop at this local time (06:30, the next one) or ISO time (2026-11-30T06:30).",
)
@click.option(
    "--idle-exit",
    type=Seconds(positive=True),
    help="--watch: stop once no new frame has appeared for this long (30m, 1h, 900).",
)
@click.option(
    "--force-polling",
    is_flag=True,
    help="--watch: scan the folders instead of waiting for change notifications (network disks).",
)
@click.option(
    "--scan-interval",
    type=Seconds(positive=True),
    default=2.0,
    show_default=True,
    help="--watch: seconds between scans when polling.",
)
@click.option(
    "--status-every",
    type=Seconds(positive=True),
    default=60.0,
    show_default=True,
    help="--watch: a status line this often (off a terminal, in the log, as JSON lines).",
)
@click.option(
    "--check-server/--no-check-server",
    default=None,
    help="Before first sending a file the journal does not know, look for it on the server "
    "(one listing per target and camera) [default: on with --watch].",
)
@click.option(
    "--serve",
    "serve_at",
    metavar="HOST:PORT",
    help="Serve the live night page (and /metrics, /api/night) here while the job runs, e.g. "
    "127.0.0.1:8787 (needs the web extra).",
)
@click.option(
    "--serve-public",
    is_flag=True,
    help="--serve: allow an address other machines reach; the page's URL then carries a random key.",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Send again the files whose outcome was unknown because several stored products could be "
    "each (the server cannot tell them apart; check the listed ids first).",
)
# The official scripts' flags (upload_files_script.py, send_fits_to_bhtom.py): hidden aliases.
@click.option(
    "--directory",
    "--dir",
    "-d",
    "legacy_dirs",
    multiple=True,
    hidden=True,
    type=click.Path(exists=True, path_type=Path),
)
@click.option(
    "--filename", "legacy_files", multiple=True, hidden=True, type=click.Path(exists=True, path_type=Path)
)
@click.option("--target_name", "--object", "legacy_target", hidden=True)
@click.option("--observatory_name", "-oname", "legacy_observatory", hidden=True)
@click.option("--filter_name", "-f", "legacy_filter", hidden=True)
@click.option("--data_product_type", "legacy_type", hidden=True, type=click.Choice(DATA_PRODUCT_TYPES))
@click.option("--dry_run", "legacy_dry_run", hidden=True, type=BoolWord())
@click.option("--dryrun", "legacy_dryrun", hidden=True, is_flag=True)
@click.option("--observer", "legacy_observer", hidden=True, multiple=True)
@click.option("--match_dist", "legacy_match_dist", hidden=True, type=float)
@click.option("-t", "legacy_token", hidden=True)
@pass_state
def upload(
    state: CliState,
    paths: tuple[Path, ...],
    target: str | None,
    target_from_header: bool,
    observatory: str | None,
    filter_: str | None,
    filter_from_header: bool,
    data_product_type: str | None,
    mjd: float | None,
    observers: str | None,
    comment: str | None,
    match_dist: float | None,
    dry_run: bool,
    concurrency: int,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    journal: str | None,
    journal_wait: float,
    settle: float | None,
    min_age: float | None,
    max_settle_wait: float,
    file_timeout: float,
    max_attempts: int,
    max_requests_per_second: float | None,
    max_bytes_per_second: float | None,
    rate_limit_budget: float,
    marker: bool,
    wait: bool,
    timeout: float,
    poll_interval: float,
    quiet: bool,
    log_file: Path | None,
    json_lines: bool,
    allow_empty: bool,
    grace: float,
    watch: bool,
    until: float | None,
    idle_exit: float | None,
    force_polling: bool,
    scan_interval: float,
    status_every: float,
    check_server: bool | None,
    serve_at: str | None,
    serve_public: bool,
    resend_unknown: bool,
    legacy_dirs: tuple[Path, ...],
    legacy_files: tuple[Path, ...],
    legacy_target: str | None,
    legacy_observatory: str | None,
    legacy_filter: str | None,
    legacy_type: str | None,
    legacy_dry_run: bool | None,
    legacy_dryrun: bool,
    legacy_observer: tuple[str, ...],
    legacy_match_dist: float | None,
    legacy_token: str | None,
) -> None:
    if legacy_token:
        state = attrs.evolve(state, token=legacy_token)
        warn("-t puts the token in the process list and your shell history; prefer BHTOM_TOKEN")
    everything = (*paths, *legacy_dirs, *legacy_files)
    if not everything:
        raise click.UsageError("give the files or folders to upload (PATHS, or --directory / --filename)")
    chosen_target = _one("the target (--target)", target, legacy_target)
    camera = _one("the camera (--observatory)", observatory, legacy_observatory)
    if chosen_target is not None and target_from_header:
        raise click.UsageError("give either --target or --target-from-header, not both")
    if chosen_target is None and not target_from_header:
        raise click.UsageError(
            "missing --target: give either --target (the exact BHTOM target name) or "
            "--target-from-header (each frame's OBJECT card)"
        )
    if camera is None:
        raise click.UsageError("missing --observatory: the camera's ONAME (see `bhtom observatories list`)")
    names = [o.strip() for o in (observers or "").split(",") if o.strip()] + list(legacy_observer)
    settle_time = _one("--settle", settle, min_age)
    chosen_filter = _one("--filter", filter_, legacy_filter)
    if chosen_filter is not None and filter_from_header:
        raise click.UsageError("give either --filter or --filter-from-header, not both")
    settings = None
    if target_from_header or filter_from_header:
        settings = settings_from_header(target=target_from_header, filter=filter_from_header)
    try:
        options = UploadOptions(
            # With --target-from-header each frame gets its own target or is skipped, so this
            # stand-in is never sent.
            target=chosen_target or FROM_HEADER,
            observatory=camera,
            data_product_type=_one("--type", data_product_type, legacy_type) or "fits_file",
            filter=chosen_filter,
            mjd=mjd,
            observers=names,
            comment=comment,
            match_dist=_one("--match-dist", match_dist, legacy_match_dist),
            dry_run=bool(dry_run or legacy_dryrun or legacy_dry_run),
        )
        job = JobOptions(
            concurrency=concurrency,
            journal=journal if journal is not None else profile_journal(state.profile),
            journal_wait=journal_wait,
            include=include,
            exclude=exclude,
            settle_time=2.0 if settle_time is None else settle_time,
            max_settle_wait=max_settle_wait,
            file_timeout=file_timeout,
            max_attempts=max_attempts,
            max_requests_per_second=max_requests_per_second,
            max_bytes_per_second=max_bytes_per_second,
            rate_limit_budget=rate_limit_budget,
            marker=marker,
            check_server=check_server,
            resend_unknown=resend_unknown,
        )
        night = _night_watch(everything, watch, until, idle_exit, force_polling, scan_interval)
        poll = PollOptions(timeout=timeout, interval=poll_interval) if wait else None
    except InvalidInputError as exc:
        raise click.UsageError(exc.headline) from None
    if json_lines:
        state = attrs.evolve(state, output="jsonl")
    if serve_public and serve_at is None:
        raise click.UsageError("--serve-public: only with --serve HOST:PORT")
    request = UploadRequest(everything, options, job, settings, night)
    screen = _screen(state, quiet=quiet)
    page = None
    if serve_at is not None:
        from .serve import NightReport, night_page

        tonight = Night(", ".join(p.name or str(p) for p in everything))
        page = night_page(tonight, serve_at, serve_public)
    with ExitStack() as stack:
        log = _open_log(log_file, stack)

        def make_report(plan: Plan, waiting: bool) -> JobReport:
            kind: Callable[..., JobReport] = JobReport if page is None else partial(NightReport, tonight)
            return kind(
                plan,
                screen=screen,
                json_lines=state.output == "jsonl",
                log=log,
                wait=waiting,
                watching=night.describe() if night is not None else None,
                status_every=status_every if night is not None else None,
            )

        observe = None if page is None else tonight.feed
        result, report = run(_upload, state, request, make_report, poll, grace, page, observe, observe)
        code = finish(state, result, report, allow_empty=allow_empty, screen=screen)
    if code:
        raise SystemExit(code)


_T = TypeVar("_T")


def _one(what: str, *values: _T | None) -> _T | None:
    """The value given for `what` under any of its names; two different ones are a usage error."""
    given = {v for v in values if v is not None}
    if len(given) > 1:
        shown = " and ".join(sorted(repr(v) for v in given))
        raise click.UsageError(f"{what} was given twice with different values ({shown})")
    return next(iter(given), None)


def _night_watch(
    paths: tuple[Path, ...],
    watch: bool,
    until: float | None,
    idle_exit: float | None,
    force_polling: bool,
    scan_interval: float,
) -> NightWatch | None:
    """The watch `--watch` asks for; its options without `--watch` are a usage error."""
    if not watch:
        asked = {"--until": until, "--idle-exit": idle_exit, "--force-polling": force_polling}
        given = [name for name, value in asked.items() if value]
        if given:
            raise click.UsageError(f"{' and '.join(given)}: only with --watch")
        return None
    if not any(p.is_dir() for p in paths):
        raise click.UsageError("--watch needs a folder to watch (the files a camera writes appear there)")
    if until is not None and until <= time.time():
        raise click.UsageError("--until is already past; give a later time")
    options = WatchOptions(
        until=until, idle_exit=idle_exit, force_polling=force_polling, poll_interval=scan_interval
    )
    return NightWatch(paths, options)


def _open_log(path: Path | None, stack: ExitStack) -> IO[str] | None:
    if path is None:
        return None
    try:
        create_private(path)  # the log names every target and folder of the night
        return stack.enter_context(path.open("a", encoding="utf-8", buffering=1))
    except OSError as exc:
        raise click.UsageError(f"cannot write the log file {path}: {exc.strerror}") from None


def _screen(state: CliState, *, quiet: bool) -> str:
    if state.json:
        return "off"
    if quiet:
        return "quiet"
    return "live" if output.is_terminal() else "lines"


async def _upload(
    state: CliState,
    request: UploadRequest,
    make_report: ReportFactory,
    poll: PollOptions | None,
    grace: float,
    page: AbstractAsyncContextManager[object] | None = None,
    on_request: Callable[[RequestTimed], None] | None = None,
    on_round: Callable[[PollRound], None] | None = None,
) -> tuple[JobResult, JobReport]:
    async with make_client(state, on_request=on_request) as bh, page or nullcontext():
        return await run_job(bh, request, make_report, poll=poll, grace=grace, on_round=on_round)


def register(group: click.Group) -> None:
    """Add `bhtom upload` to the `bhtom` group."""
    group.add_command(upload)
