"""`bhtom results`, `bhtom restart-calibration`, `bhtom calibrate-file`: calibration from the shell."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..poll import PollOptions
from ._core import CliState, ExitCode, make_client, pass_state, run
from .output import emit_json, print_mapping, print_table, to_jsonable

if TYPE_CHECKING:
    from ..models.calibration import CalibrationResult, FileCalibration, RestartResult

__all__ = ["calibration_json", "print_results", "register", "results_exit_code"]


def calibration_json(result: CalibrationResult) -> dict[str, object]:
    """The stable ``--json`` shape of one calibration result (documented in docs/cli.md)."""
    return {
        "dataproduct_id": result.dataproduct_id,
        "filename": result.filename,
        "status": result.status.name.lower(),
        "magnitude": result.magnitude,
        "error": result.error,
        "is_limit": result.is_limit,
        "filter": result.filter,
        "mjd": result.mjd,
        "observatory": result.observatory,
        "status_message": result.status_message,
        "message": result.message,
        "dry_run": result.dry_run,
        "plot_path": str(result.plot_path) if result.plot_path else None,
    }


def print_results(results: Sequence[CalibrationResult], *, title: str | None = None) -> None:
    """A table of calibration results, sorted by MJD (then id)."""
    ordered = sorted(results, key=lambda r: (r.mjd is None, r.mjd or 0.0, r.dataproduct_id or 0))
    rows = []
    for r in ordered:
        mag = None if r.magnitude is None else f"{'>' if r.is_limit else ''}{r.magnitude:.3f}"
        err = None if r.error is None else f"{abs(r.error):.3f}"
        note = r.status_message or r.message or ""
        mjd = None if r.mjd is None else f"{r.mjd:.5f}"
        rows.append([r.dataproduct_id, r.filename, r.status.name.lower(), mjd, r.filter, mag, err, note])
    print_table(["id", "file", "status", "MJD", "filter", "mag", "err", "note"], rows, title=title)


def results_exit_code(results: Sequence[CalibrationResult], *, waited: bool) -> ExitCode:
    """1 if any calibration failed; 4 if, after waiting, some are still not final; else 0."""
    from ..models.calibration import CalibrationStatus

    if any(r.status is CalibrationStatus.ERROR for r in results):
        return ExitCode.SOME_FAILED
    if waited and any(not r.is_done and not r.dry_run for r in results):
        return ExitCode.UNKNOWN_OUTCOME
    return ExitCode.OK


@click.command()
@click.argument("ids", nargs=-1, required=True, type=int)
@click.option("--wait", is_flag=True, help="Wait until every calibration is final (or --timeout).")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait per id.")
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.05),
    default=3.0,
    show_default=True,
    help="Seconds between the first polls (backs off to 30).",
)
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save each calibration plot here as <id>.png.",
)
@pass_state
def results(
    state: CliState,
    ids: tuple[int, ...],
    wait: bool,
    timeout: float,
    poll_interval: float,
    plots_dir: Path | None,
) -> None:
    """Show the calibration results of uploaded data products (ids from `bhtom upload`).

    Exits 1 if any calibration failed, 4 if `--wait` ran out with some still pending.

    \b
    Example:
        bhtom results 1454270 1454271 --wait --plots plots/
    """
    if plots_dir is not None:
        plots_dir.mkdir(parents=True, exist_ok=True)
    found = run(_results, state, ids, wait, timeout, poll_interval, plots_dir)
    if state.json:
        emit_json([calibration_json(r) for r in found])
    else:
        print_results(found)
    code = results_exit_code(found, waited=wait)
    if code:
        raise SystemExit(int(code))


async def _results(
    state: CliState,
    ids: tuple[int, ...],
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
        found = [r async for r in bh.calibration.results(ids, plot=plots_dir is not None)]
    if plots_dir is not None:
        for r in found:
            if r.plot is not None and r.dataproduct_id is not None:
                await _save(plots_dir / f"{r.dataproduct_id}.png", r.plot)
    return found


async def _save(path: Path, data: bytes) -> None:
    import anyio

    await anyio.Path(path).write_bytes(data)


@click.command("restart-calibration")
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
        emit_json({"restarted": True, "cpcs": to_jsonable(answer.cpcs)})
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


@click.command("calibrate-file")
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
        emit_json(data)
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
