"""`bhtom upload`: a night of frames through the library's bulk uploader, with live progress.

The uploader (journal, retries, concurrency) is the library's; this module only turns its events
into the progress display and its summary into a table, JSON and an exit code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import click

from ..errors import BhtomError
from ..models.uploads import DATA_PRODUCT_TYPES, UploadOptions
from ..poll import PollOptions
from ..upload.headers import settings_from_header
from ..upload.options import JobOptions
from ..upload.scheduler import Uploader
from ..upload.settings import SettingsSource
from ._core import CliState, ExitCode, error_lines, fail, make_client, pass_state, run
from .output import ProgressDisplay, emit_json, human_bytes, print_table

if TYPE_CHECKING:
    from ..client import Client
    from ..models.calibration import CalibrationResult
    from ..upload.events import UploadEvent, UploadOutcome, UploadSummary

__all__ = ["UploadRequest", "outcome_json", "register", "summary_exit_code", "upload_with_progress"]


@attrs.frozen
class UploadRequest:
    """What `bhtom upload` (and `bhtom demo`) asks the bulk uploader to do."""

    paths: tuple[Path, ...]
    options: UploadOptions
    job: JobOptions = attrs.field(factory=JobOptions)
    settings: SettingsSource | None = None


#: The job-wide target while each frame's comes from its header (never sent to the server).
_FROM_HEADER = "(from header)"


def outcome_json(outcome: UploadOutcome) -> dict[str, object]:
    """The stable ``--json`` shape of one file's outcome (documented in docs/cli.md)."""
    return {
        "path": str(outcome.path),
        "status": outcome.status,
        "data_product_id": outcome.data_product_id,
        "reason": outcome.reason,
        "size": outcome.size,
        "attempts": outcome.attempts,
    }


def summary_json(summary: UploadSummary) -> dict[str, object]:
    """The stable ``--json`` shape of a whole upload job."""
    return {
        "counts": summary.counts,
        "ids": list(summary.ids),
        "bytes_sent": summary.bytes_sent,
        "elapsed": round(summary.elapsed, 3),
        "stopped": summary.stopped.headline if summary.stopped is not None else None,
        "stopped_hint": _cli_hint(summary.stopped),
        "cancelled": summary.cancelled,
        "files": [outcome_json(o) for o in summary.outcomes],
    }


def summary_exit_code(summary: UploadSummary) -> ExitCode:
    """3 if the job was stopped by a fatal error, 4 if some outcomes are unknown, 1 if some failed."""
    from ._core import exit_code_for

    if summary.stopped is not None:
        code = exit_code_for(summary.stopped)
        return code if code != ExitCode.SOME_FAILED else ExitCode.FATAL
    counts = summary.counts
    if counts["unknown"]:
        return ExitCode.UNKNOWN_OUTCOME
    if counts["failed"] or summary.cancelled:
        return ExitCode.SOME_FAILED
    return ExitCode.OK


def _cli_hint(error: BhtomError | None) -> str | None:
    return None if error is None else error.cli_hint or error.hint


class _EventSink:
    """Feeds uploader events into a `ProgressDisplay`."""

    def __init__(self, display: ProgressDisplay) -> None:
        self.display = display

    def __call__(self, event: UploadEvent) -> None:
        from ..upload.events import BytesSent, FileFinished, FileSkipped

        if isinstance(event, BytesSent):
            self.display.advance_bytes(event.sent)
        elif isinstance(event, (FileFinished, FileSkipped)):
            outcome = event.outcome
            if outcome.data_product_id is not None:
                detail = f"id {outcome.data_product_id}"
            else:
                detail = outcome.reason or ""
            self.display.file_finished(
                outcome.path.name, status=outcome.status, size=outcome.size, detail=detail
            )


async def _totals(request: UploadRequest) -> tuple[int, int]:
    from ..upload.discovery import Found, discover

    files = size = 0
    async for item in discover(
        request.paths,
        data_product_type=request.options.data_product_type,
        include=request.job.include,
        exclude=request.job.exclude,
    ):
        if isinstance(item, Found):
            files += 1
            size += item.size
    return files, size


async def upload_with_progress(bh: Client, request: UploadRequest, *, show: bool = True) -> UploadSummary:
    """Run the library's bulk uploader for `request`, showing progress unless `show` is False."""
    files, size = await _totals(request)
    with ProgressDisplay(total_files=files, total_bytes=size, enabled=show) as display:
        uploader = Uploader(
            bh,
            list(request.paths),
            request.options,
            request.job,
            settings=request.settings,
            on_event=_EventSink(display),
        )
        return await uploader.run()


async def wait_with_names(
    bh: Client, summary: UploadSummary, *, timeout: float, interval: float = 3.0, show: bool = True
) -> list[CalibrationResult]:
    """Wait for the uploaded files' calibrations, showing each as it ends; results carry file names."""
    names = {o.data_product_id: o.path.name for o in summary.outcomes if o.data_product_id is not None}
    found = []
    with ProgressDisplay(total_files=len(names), enabled=show, label="calibrating", by_files=True) as display:
        async for result in bh.calibration.wait(summary.ids, PollOptions(timeout=timeout, interval=interval)):
            if result.filename is None and result.dataproduct_id in names:
                result = attrs.evolve(result, filename=names[result.dataproduct_id])
            found.append(result)
            display.file_finished(
                result.filename or str(result.dataproduct_id),
                status=_calibration_status(result),
                detail=_calibration_detail(result),
            )
    return found


def _calibration_status(result: CalibrationResult) -> str:
    name = result.status.name.lower()
    return {"success": "calibrated", "error": "failed"}.get(name, "unknown" if name == "pending" else name)


def _calibration_detail(result: CalibrationResult) -> str:
    if result.magnitude is not None:
        limit = ">" if result.is_limit else ""
        return f"{result.filter or ''} {limit}{result.magnitude:.3f} ± {abs(result.error or 0.0):.3f}".strip()
    return result.status_message or result.message or ""


def print_summary(summary: UploadSummary) -> None:
    """The final summary table (counts, bytes, time) and any failures, one line each."""
    counts = summary.counts
    rate = summary.bytes_sent / summary.elapsed if summary.elapsed > 0 else 0.0
    print_table(
        ["uploaded", "skipped", "failed", "unknown", "dry run", "sent", "time", "rate"],
        [
            [
                counts["uploaded"],
                counts["skipped"],
                counts["failed"],
                counts["unknown"],
                counts["dry_run"],
                human_bytes(summary.bytes_sent),
                f"{summary.elapsed:.1f} s",
                f"{human_bytes(rate)}/s",
            ]
        ],
        title="Upload summary",
    )
    trouble = [o for o in summary.outcomes if o.status in ("failed", "unknown")]
    if trouble and summary.stopped is None:
        rows = [[o.path.name, o.status, o.reason or ""] for o in trouble]
        print_table(["file", "status", "reason"], rows)
    if counts["unknown"]:
        click.echo("Re-run with the same --journal to find out what happened to the unknown files.", err=True)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--target", help="Exact BHTOM target name (or --target-from-header).")
@click.option(
    "--target-from-header",
    is_flag=True,
    help="Each frame's target from its OBJECT card; frames without one are skipped, not guessed.",
)
@click.option("--observatory", required=True, help="Camera ONAME (must be in your favourites).")
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
    default="fits_file",
    show_default=True,
    help="What the files are.",
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
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite journal: files already uploaded are skipped on re-runs.",
)
@click.option(
    "--min-age",
    type=float,
    default=2.0,
    show_default=True,
    help="Skip files modified less than this many seconds ago (still being written).",
)
@click.option("--wait", is_flag=True, help="Then wait for calibration and print the results.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="With --wait: seconds per id.")
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.05),
    default=3.0,
    show_default=True,
    help="With --wait: seconds between the first polls (backs off to 30).",
)
@pass_state
def upload(
    state: CliState,
    paths: tuple[Path, ...],
    target: str | None,
    target_from_header: bool,
    observatory: str,
    filter_: str | None,
    filter_from_header: bool,
    data_product_type: str,
    mjd: float | None,
    observers: str | None,
    comment: str | None,
    match_dist: float | None,
    dry_run: bool,
    concurrency: int,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    journal: Path | None,
    min_age: float,
    wait: bool,
    timeout: float,
    poll_interval: float,
) -> None:
    """Upload files and folders (walked recursively), several at once, never the same file twice.

    Exit codes: 0 all uploaded or skipped, 1 some failed, 2 usage error, 3 fatal (bad token,
    unknown target, camera not in favourites), 4 some outcomes unknown.

    \b
    Example:
        bhtom upload night/ --target Gaia22bpl --observatory MyObs_MyCam --filter GaiaSP/V \\
            --journal night.journal --wait
        bhtom upload mixed-night/ --target-from-header --filter-from-header --observatory MyObs_MyCam
    """
    if (target is None) == (not target_from_header):
        fail(
            "give either --target or --target-from-header",
            "frames from several targets: --target-from-header",
        )
    if filter_ is not None and filter_from_header:
        fail("give either --filter or --filter-from-header, not both")
    settings = None
    if target_from_header or filter_from_header:
        settings = settings_from_header(target=target_from_header, filter=filter_from_header)
    options = UploadOptions(
        # With --target-from-header every frame gets its own target or is skipped, so this
        # stand-in is never sent.
        target=target or _FROM_HEADER,
        observatory=observatory,
        data_product_type=data_product_type,
        filter=filter_,
        mjd=mjd,
        observers=(o for o in (observers or "").split(",")),
        comment=comment,
        match_dist=match_dist,
        dry_run=dry_run,
    )
    job = JobOptions(
        concurrency=concurrency, include=include, exclude=exclude, journal=journal, settle_time=min_age
    )
    request = UploadRequest(paths, options, job, settings)
    summary, results = run(_upload, state, request, wait, timeout, poll_interval)
    code = summary_exit_code(summary)
    if state.json:
        from .calibration import calibration_json

        data = summary_json(summary)
        if wait:
            data["results"] = [calibration_json(r) for r in results]
        emit_json(data)
    else:
        print_summary(summary)
        if summary.stopped is not None:
            message, hint = error_lines(summary.stopped)
            click.secho(f"error: {message}", fg="red", err=True)
            if hint:
                click.echo(f"hint: {hint}", err=True)
        if wait and results:
            from .calibration import print_results

            print_results(results, title="Calibration")
    if wait and code == ExitCode.OK:
        from .calibration import results_exit_code

        code = results_exit_code(results, waited=True)
    if code:
        raise SystemExit(int(code))


async def _upload(
    state: CliState, request: UploadRequest, wait: bool, timeout: float, interval: float
) -> tuple[UploadSummary, Sequence[CalibrationResult]]:
    async with make_client(state) as bh:
        summary = await upload_with_progress(bh, request, show=not state.json)
        results: list[CalibrationResult] = []
        if wait and summary.ids:
            results = await wait_with_names(
                bh, summary, timeout=timeout, interval=interval, show=not state.json
            )
    return summary, results


def register(group: click.Group) -> None:
    """Add `bhtom upload` to the `bhtom` group."""
    group.add_command(upload)
