"""`bhtom results`, `bhtom restart-calibration`, `bhtom calibrate-file`: calibration from the shell."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import click

from ..poll import PollOptions
from ..upload.journal import default_journal_path
from ..upload.journal_backend import open_journal
from ..upload.journal_url import is_postgres_url
from ._core import BhtomCommand, CliState, ExitCode, make_client, pass_state, run, warn
from ._params import poll_timing_options
from .output import print_mapping, print_table, to_jsonable
from .shapes import calibration_json

if TYPE_CHECKING:
    from ..models.calibration import CalibrationResult, FileCalibration, RestartResult
    from ..upload.journal import JournalRow

__all__ = ["calibration_json", "print_results", "register", "results_exit_code"]

#: What an API token looks like (40 hex digits): `get_calib_res.py TOKEN ID...` puts it first.
_TOKEN_SHAPE = re.compile(r"[0-9a-fA-F]{40}")


def print_results(results: Sequence[CalibrationResult], *, title: str | None = None) -> None:
    """A table of calibration results, sorted by MJD (then id)."""
    ordered = sorted(results, key=lambda r: (r.mjd is None, r.mjd or 0.0, r.dataproduct_id or 0))
    rows = [[r.dataproduct_id, r.filename, *_calibration_cells(r)] for r in ordered]
    print_table(["id", "file", "status", "MJD", "filter", "mag", "err", "note"], rows, title=title)


def _calibration_cells(r: CalibrationResult | None) -> list[object]:
    if r is None:
        return [None] * 6
    mag = None if r.magnitude is None else f"{'>' if r.is_limit else ''}{r.magnitude:.3f}"
    err = None if r.error is None else f"{abs(r.error):.3f}"
    mjd = None if r.mjd is None else f"{r.mjd:.5f}"
    return [r.status.name.lower(), mjd, r.filter, mag, err, r.status_message or r.message or ""]


def results_exit_code(results: Sequence[CalibrationResult], *, waited: bool) -> ExitCode:
    """1 if any calibration failed; 4 if, after waiting, some are still not final; else 0."""
    from ..models.calibration import CalibrationStatus

    if any(r.status is CalibrationStatus.ERROR for r in results):
        return ExitCode.SOME_FAILED
    if waited and any(not r.is_done and not r.dry_run for r in results):
        return ExitCode.UNKNOWN_OUTCOME
    return ExitCode.OK


def split_keys(args: Sequence[str]) -> tuple[str | None, list[int], list[str]]:
    """`get_calib_res.py`'s positional form: an optional leading token, then ids and file names.

    The first argument is taken as a token only when it has a token's shape (40 hex digits) and
    something follows it; numbers are data-product ids, anything else a file name.
    """
    token = None
    rest = list(args)
    if len(rest) >= 2 and _TOKEN_SHAPE.fullmatch(rest[0]):
        token, rest = rest[0], rest[1:]
    ids = [int(a) for a in rest if a.isdigit()]
    names = [a for a in rest if not a.isdigit()]
    return token, ids, names


@click.command(cls=BhtomCommand)
@click.argument("keys", nargs=-1, metavar="[ID|FILENAME]...")
@click.option(
    "--journal",
    metavar="FILE|URL",
    help="Every file of this upload journal (a night's --journal, a file or postgresql://... "
    "shared by many hosts), with its local name.",
)
@click.option("--wait", is_flag=True, help="Wait until every calibration is final (or --timeout).")
@poll_timing_options
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save each calibration plot here as <id>.png.",
)
@click.option("--get_plot", "get_plot", is_flag=True, hidden=True)
@pass_state
def results(
    state: CliState,
    keys: tuple[str, ...],
    journal: str | None,
    wait: bool,
    timeout: float,
    poll_interval: float,
    plots_dir: Path | None,
    get_plot: bool,
) -> None:
    """Show calibration results by data-product id or file name, or for every file of a journal.

    With --journal (the file given to `bhtom upload --journal`), every file of that upload is
    listed with its local name, id, upload state and calibration; without it, file names come
    from the default journal where it knows the id. The official get_calib_res.py's form works
    too (`bhtom results TOKEN 1 2 --get_plot`; prefer BHTOM_TOKEN). Exits 1 if a calibration
    failed, 4 if --wait ran out with some still pending.

    \b
    Example:
        bhtom results 1454270 1454271 --wait --plots plots/
        bhtom results --journal night.sqlite3 --wait
    """
    token, ids, names = split_keys(keys)
    if token is not None:
        state = attrs.evolve(state, token=token)
        warn("a token on the command line is visible to other users (ps); prefer BHTOM_TOKEN")
    if not ids and not names and journal is None:
        raise click.UsageError("give data-product ids or file names, or --journal FILE")
    if wait and names:
        raise click.UsageError("--wait takes data-product ids (or --journal), not file names")
    if get_plot and plots_dir is None:
        plots_dir = Path(".")
    if plots_dir is not None:
        plots_dir.mkdir(parents=True, exist_ok=True)
    if journal is not None and not is_postgres_url(journal) and not Path(journal).is_file():
        raise click.BadParameter(f"{journal!r} is not a journal file", param_hint="'--journal'")
    source = journal or str(default_journal_path())
    rows = run(_journal_rows, source) if journal is not None or Path(source).exists() else []
    if journal is not None and not ids and not names:
        ids = list(dict.fromkeys(r.data_product_id for r in rows if r.data_product_id is not None))
    local = {r.data_product_id: Path(r.path).name for r in rows if r.data_product_id is not None}
    found = run(_results, state, ids, names, wait, timeout, poll_interval, plots_dir) if ids or names else []
    found = [_named(r, local) for r in found]
    if journal is not None:
        _show_journal(state, rows, found)
    elif state.json:
        state.emit([calibration_json(r) for r in found])
    else:
        print_results(found)
    code = results_exit_code(found, waited=wait)
    if code:
        raise SystemExit(int(code))


def _named(result: CalibrationResult, local: dict[int, str]) -> CalibrationResult:
    name = local.get(result.dataproduct_id) if result.dataproduct_id is not None else None
    return attrs.evolve(result, filename=name) if name else result


async def _journal_rows(location: str) -> list[JournalRow]:
    """Every row of the journal (read-only: no lock, so uploads may be running), every host's."""
    async with open_journal(location, read_only=True) as journal:
        return await journal.rows()


def _show_journal(state: CliState, rows: list[JournalRow], found: list[CalibrationResult]) -> None:
    by_id = {r.dataproduct_id: r for r in found if r.dataproduct_id is not None}
    ordered = sorted(rows, key=lambda r: (r.path, r.id))
    if state.json:
        items = []
        for row in ordered:
            result = by_id.get(row.data_product_id) if row.data_product_id is not None else None
            calibration = calibration_json(result) if result is not None else None
            items.append(
                {
                    "path": row.path,
                    "file": Path(row.path).name,
                    "data_product_id": row.data_product_id,
                    "upload_state": row.state,
                    "upload_reason": row.reason,
                    "calibration": calibration,
                }
                | ({"host": row.host} if row.host is not None else {})
            )
        state.emit(items)
        return
    table = []
    for row in ordered:
        result = by_id.get(row.data_product_id) if row.data_product_id is not None else None
        table.append([Path(row.path).name, row.data_product_id, row.state, *_calibration_cells(result)])
    columns = ["file", "id", "upload", "calibration", "MJD", "filter", "mag", "err", "note"]
    print_table(columns, table)


async def _results(
    state: CliState,
    ids: list[int],
    names: list[str],
    wait: bool,
    timeout: float,
    interval: float,
    plots_dir: Path | None,
) -> list[CalibrationResult]:
    async with make_client(state) as bh:
        if wait:
            return [
                r
                async for r in bh.calibration.wait(
                    ids, PollOptions(timeout=timeout, interval=interval, plots_dir=plots_dir)
                )
            ]
        found = [r async for r in bh.calibration.results(ids, names, plot=plots_dir is not None)]
    if plots_dir is not None:
        for r in found:
            if r.plot is not None and r.dataproduct_id is not None:
                await _save(plots_dir / f"{r.dataproduct_id}.png", r.plot)
    return found


async def _save(path: Path, data: bytes) -> None:
    import anyio

    await anyio.Path(path).write_bytes(data)


@click.command("restart-calibration", cls=BhtomCommand)
@click.option("--dataproduct", "dataproduct_id", type=int, help="Restart one data product.")
@click.option("--target", "target_name", help="Restart every calibration of this target.")
@click.option("--id-from", type=int, help="First calibration id of a range.")
@click.option("--id-to", type=int, help="Last calibration id of a range.")
@click.option("--mjd-min", type=float, help="With --target: from this MJD.")
@click.option("--mjd-max", type=float, help="With --target: up to this MJD.")
@click.option("--filter", "filter_", help="New filter, e.g. GaiaSP/V.")
@click.option("--old-filter", help="Only calibrations in this filter.")
@click.option("--match-dist", type=float, help="Matching radius, arcsec.")
@click.option("--oname", help="Camera ONAME.")
@click.option("--comment", help="Free text.")
@pass_state
def restart_calibration(
    state: CliState,
    dataproduct_id: int | None,
    target_name: str | None,
    id_from: int | None,
    id_to: int | None,
    mjd_min: float | None,
    mjd_max: float | None,
    filter_: str | None,
    old_filter: str | None,
    match_dist: float | None,
    oname: str | None,
    comment: str | None,
) -> None:
    """Re-run calibrations (BHTOM admins only): one product, one target, or an id range.

    Give exactly one of --dataproduct, --target, or --id-from/--id-to.

    \b
    Example:
        bhtom restart-calibration --target Gaia22bpl --mjd-min 60800 --filter GaiaSP/V
    """
    chosen = [dataproduct_id is not None, target_name is not None, id_from is not None or id_to is not None]
    if sum(chosen) != 1:
        raise click.UsageError("give exactly one of --dataproduct, --target, or --id-from/--id-to")
    common = {
        "filter": filter_,
        "old_filter": old_filter,
        "match_dist": match_dist,
        "oname": oname,
        "comment": comment,
    }
    answer = run(_restart, state, dataproduct_id, target_name, id_from, id_to, mjd_min, mjd_max, common)
    if state.json:
        state.emit({"restarted": True, "cpcs": to_jsonable(answer.cpcs)})
    else:
        click.echo(f"Restart accepted: {answer.cpcs}")


async def _restart(
    state: CliState,
    dataproduct_id: int | None,
    target_name: str | None,
    id_from: int | None,
    id_to: int | None,
    mjd_min: float | None,
    mjd_max: float | None,
    common: dict[str, str | float | None],
) -> RestartResult:
    async with make_client(state) as bh:
        api = bh.calibration
        if dataproduct_id is not None:
            return await api.restart_by_dataproduct(dataproduct_id, **common)  # type: ignore[arg-type]
        if target_name is not None:
            return await api.restart_by_target(
                target_name=target_name,
                mjd_min=mjd_min,
                mjd_max=mjd_max,
                **common,  # type: ignore[arg-type]
            )
        return await api.restart_by_id(id_from=id_from, id_to=id_to, **common)  # type: ignore[arg-type]


@click.command("calibrate-file", cls=BhtomCommand)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--ra", type=float, required=True, help="Target right ascension, degrees.")
@click.option("--dec", type=float, required=True, help="Target declination, degrees.")
@click.option("--match-dist", type=float, help="Matching radius, arcsec.")
@click.option("--survey", help="Reference survey.")
@click.option("--filter", "filter_", help="Filter, e.g. V.")
@click.option(
    "--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), help="Save the plot here."
)
@pass_state
def calibrate_file(
    state: CliState,
    path: Path,
    ra: float,
    dec: float,
    match_dist: float | None,
    survey: str | None,
    filter_: str | None,
    plot_path: Path | None,
) -> None:
    """Calibrate one photometry catalogue without storing it.

    \b
    Example:
        bhtom calibrate-file instrumental.cat --ra 276.12 --dec -12.34 --plot calib.png
    """
    answer = run(_calibrate, state, path, ra, dec, match_dist, survey, filter_, plot_path is not None)
    png = answer.plot_png
    if plot_path is not None and png is not None:
        plot_path.write_bytes(png)
    data = to_jsonable(answer)
    if isinstance(data, dict):
        data.pop("plot", None)
        data["is_limit"] = answer.is_limit
        data["plot_path"] = str(plot_path) if plot_path is not None and png is not None else None
    if state.json:
        state.emit(data)
    else:
        print_mapping({k: v for k, v in data.items() if k != "extra"} if isinstance(data, dict) else {})


async def _calibrate(
    state: CliState,
    path: Path,
    ra: float,
    dec: float,
    match_dist: float | None,
    survey: str | None,
    filter_: str | None,
    plot: bool,
) -> FileCalibration:
    async with make_client(state) as bh:
        return await bh.calibration.calibrate_file(
            path, ra=ra, dec=dec, match_dist=match_dist, survey=survey, filter=filter_, plot=plot
        )


def register(group: click.Group) -> None:
    """Add these commands to the `bhtom` group."""
    for command in (results, restart_calibration, calibrate_file):
        group.add_command(command)
