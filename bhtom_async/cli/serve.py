"""`bhtom serve` and `bhtom report`, and the night page of `bhtom upload --serve`.

The page reads a `Night`; `NightReport` feeds it the same events the progress display gets, so the
uploader never knows a page exists. `serve` and `report` build the night from an upload journal
(any `UploadJournal`'s rows) and the server's calibration results for its ids.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import click

from ..errors import BhtomError, InvalidInputError, ServerError, TransportError
from ..night import Night, light_curve_png, report_html
from ..upload.journal_sqlite import SqliteJournal
from ._core import CliState, fail, make_client, pass_state, run, warn
from .progress import JobReport

if TYPE_CHECKING:
    from ..client import Client
    from ..models.calibration import CalibrationResult
    from ..upload.events import UploadEvent
    from ..upload.journal import JournalRow, UploadJournal
    from ..web import NightServer

__all__ = ["NightReport", "night_page", "register"]

#: Seconds between re-reads of the journal and the server in `bhtom serve`.
REFRESH = 5.0


class NightReport(JobReport):
    """The job's report, which also feeds every event and result to `night`."""

    def __init__(self, night: Night, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.night = night

    def __call__(self, event: UploadEvent) -> None:
        super().__call__(event)
        self.night.feed(event)

    def calibrated(self, result: CalibrationResult) -> None:
        super().calibrated(result)
        self.night.feed(result)


def _need_web() -> None:
    missing = [
        m for m in ("starlette", "uvicorn", "prometheus_client") if importlib.util.find_spec(m) is None
    ]
    if missing:
        fail(
            f"the night page needs {', '.join(missing)}",
            hint="pip install 'bhtom_async[web]'",
        )


def night_page(night: Night, address: str, public: bool) -> AbstractAsyncContextManager[NightServer]:
    """Serve `night` at `address` (``HOST:PORT``), saying its URL on stderr."""
    _need_web()
    from ..web.serve import parse_address

    try:
        host, port = parse_address(address)
    except InvalidInputError as exc:
        raise click.UsageError(exc.headline) from None
    return _announced(night, host, port, public)


@asynccontextmanager
async def _announced(night: Night, host: str, port: int, public: bool) -> AsyncIterator[NightServer]:
    from ..web.serve import serve_night

    async with serve_night(night, host, port, public=public) as server:
        click.echo(f"night page: {server.url}", err=True)
        yield server


async def _journal_rows(path: Path) -> list[JournalRow]:
    """Every row, read-only (no lock: the upload writing the journal may be running)."""
    journal: UploadJournal = SqliteJournal(path, read_only=True)
    await journal.open()
    try:
        return await journal.rows()
    finally:
        await journal.aclose()


async def refresh(night: Night, path: Path, bh: Client | None) -> None:
    """Fold the journal's rows, then the final results of its ids still waiting."""
    night.merge_rows(await _journal_rows(path))
    waiting = [
        f.data_product_id
        for f in night.frames.values()
        if f.state in ("uploaded", "already_uploaded") and f.data_product_id is not None
    ]
    if bh is None or not waiting:
        return
    try:
        async for result in bh.calibration.results(waiting):
            if result.is_done:
                night.feed(result)
    except (TransportError, ServerError) as exc:
        night.note_server(
            f"the BHTOM server cannot be reached ({exc.headline}); retrying every {REFRESH:g} s"
        )
    else:
        night.note_server(None)


@asynccontextmanager
async def _client(state: CliState, results: bool, night: Night) -> AsyncIterator[Client | None]:
    if not results:
        yield None
        return
    async with make_client(state, on_request=night.feed) as bh:
        yield bh


def _journal_option(func: Callable[..., object]) -> Callable[..., object]:
    return click.option(
        "--journal",
        type=click.Path(path_type=Path, dir_okay=False),
        required=True,
        help="The night's upload journal (the file given to `bhtom upload --journal`).",
    )(func)


def _check_journal(path: Path) -> None:
    if not path.is_file():
        raise click.UsageError(f"no journal at {path}: give the file `bhtom upload --journal` wrote")


@click.command("serve")
@_journal_option
@click.option(
    "--address",
    default="127.0.0.1:8787",
    show_default=True,
    help="HOST:PORT to serve on (port 0: any free one).",
)
@click.option(
    "--public", is_flag=True, help="Allow an address other machines reach; the URL then needs a random key."
)
@click.option(
    "--no-results", is_flag=True, help="Show the uploads only; do not ask the server for calibrations."
)
@pass_state
def serve(state: CliState, journal: Path, address: str, public: bool, no_results: bool) -> None:
    """Serve the live night page for a journal another process (or several hosts) writes.

    The page shows every file of the journal and, from the server, the calibrations of its
    uploaded ids, refreshed every few seconds; /api/night gives the night as JSON and /metrics
    in the Prometheus format. Stop it with Ctrl-C.

    \b
    Example:
        bhtom serve --journal night.sqlite3
    """
    _check_journal(journal)
    night = Night(journal.name)
    page = night_page(night, address, public)

    async def main() -> None:
        async with _client(state, not no_results, night) as bh:
            await refresh(night, journal, bh)  # the page opens on the night as it stands
            async with page:
                while True:
                    await anyio.sleep(REFRESH)
                    await refresh(night, journal, bh)

    try:
        run(main)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BhtomError as exc:
        fail(exc.headline, exc.hint)


@click.command("report")
@_journal_option
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The file to write.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["html", "png"]),
    default="html",
    show_default=True,
    help="html: the whole night; png: the light curve alone.",
)
@click.option(
    "--no-results", is_flag=True, help="Report the uploads only; do not ask the server for calibrations."
)
@click.option("--title", help="The report's title (default: the journal's file name).")
@pass_state
def report(
    state: CliState, journal: Path, out: Path, format_: str, no_results: bool, title: str | None
) -> None:
    """Write a night's report: one HTML file that opens anywhere, with no server and no network.

    The summary, the light curve (an inline SVG: magnitude against MJD per filter), and every
    file with its id, state, magnitude, error, filter and reason, failures first. With
    --format png, the light curve alone (needs matplotlib: the astro extra).

    \b
    Example:
        bhtom report --journal night.sqlite3 -o night.html
        bhtom report --journal night.sqlite3 -o light-curve.png --format png
    """
    _check_journal(journal)
    night = Night(title or journal.name)

    async def main() -> None:
        async with _client(state, not no_results, night) as bh:
            await refresh(night, journal, bh)

    try:
        run(main)
    except BhtomError as exc:
        fail(exc.headline, exc.hint)
    if night.server_note is not None:
        warn(f"{night.server_note.split(';')[0]}: the report shows the uploads only")
    if format_ == "png":
        if importlib.util.find_spec("matplotlib") is None:
            fail("--format png needs matplotlib", hint="pip install 'bhtom_async[astro]'")
        data = light_curve_png(night)
        out.write_bytes(data)
    else:
        out.write_text(report_html(night, generated=dt.datetime.now(dt.timezone.utc)), encoding="utf-8")
    counts = night.counts()
    click.echo(
        f"wrote {out}: {counts['seen_total']} files, {counts['calibrated']} calibrated, "
        f"{len(night.points)} light-curve points",
        err=True,
    )


def register(group: click.Group) -> None:
    """Add `bhtom serve` and `bhtom report` to the `bhtom` group."""
    group.add_command(serve)
    group.add_command(report)
