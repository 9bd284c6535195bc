"""`bhtom targets ...` and `bhtom photometry`: targets, groups, plots and light curves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import attrs
import click

from ..client import Client
from ..models._files import safe_filename
from ._core import (
    BhtomCommand,
    BhtomGroup,
    CliState,
    ExitCode,
    apply_update,
    fail,
    make_client,
    pass_state,
    run,
    warn,
)
from .output import print_table, to_jsonable

if TYPE_CHECKING:
    from ..models.targets import LightCurve, Target, TargetGroup, TargetPlot

__all__ = ["light_curve_json", "register"]


@click.group(cls=BhtomGroup)
def targets() -> None:
    """Targets: list, create, update, delete, groups, plots.

    \b
    Example:
        bhtom targets list --name Gaia22bpl
    """


def _target_rows(found: list[Target]) -> list[list[object]]:
    return [[t.name, t.ra, t.dec, t.classification, t.mag_last, t.filter_last, t.importance] for t in found]


_TARGET_COLUMNS = ["name", "ra", "dec", "class", "last mag", "last filter", "importance"]


@targets.command("list")
@click.option("--name", help="Exact target name.")
@click.option("--type", "type_", help="SIDEREAL or NON_SIDEREAL.")
@click.option("--classification", help="e.g. 'Be-star'.")
@click.option("--group", "target_group", help="Target group name.")
@click.option("--ra-min", type=float)
@click.option("--ra-max", type=float)
@click.option("--dec-min", type=float)
@click.option("--dec-max", type=float)
@click.option("--limit", type=int, help="Stop after this many.")
@pass_state
def targets_list(
    state: CliState,
    name: str | None,
    type_: str | None,
    classification: str | None,
    target_group: str | None,
    ra_min: float | None,
    ra_max: float | None,
    dec_min: float | None,
    dec_max: float | None,
    limit: int | None,
) -> None:
    """List targets (all pages), optionally filtered.

    \b
    Example:
        bhtom targets list --dec-min -20 --dec-max 0 --limit 50
    """
    filters = {
        "name": name,
        "type": type_,
        "classification": classification,
        "target_group": target_group,
        "ra_min": ra_min,
        "ra_max": ra_max,
        "dec_min": dec_min,
        "dec_max": dec_max,
    }
    found = run(_list_targets, state, filters, limit)
    if state.json:
        state.emit(found)
    else:
        print_table(_TARGET_COLUMNS, _target_rows(found))


async def _list_targets(state: CliState, filters: dict[str, object], limit: int | None) -> list[Target]:
    found: list[Target] = []
    async with make_client(state) as bh:
        async for target in bh.targets.list(**filters):  # type: ignore[arg-type]
            found.append(target)
            if limit is not None and len(found) >= limit:
                break
    return found


@targets.command("create")
@click.argument("name", required=False)
@click.option("--name", "name_option", hidden=True)  # create_target.py's form
@click.option("--ra", type=float, required=True, help="Right ascension, degrees.")
@click.option("--dec", type=float, required=True, help="Declination, degrees.")
@click.option("--epoch", type=float, help="Epoch, e.g. 2000.")
@click.option("--classification", help="e.g. 'Be-star'.")
@click.option("--description", help="Free text.")
@click.option("--importance", type=float, help="0-10.")
@click.option("--cadence", type=float, help="Days between observations.")
@click.option("--discovery-date", "--discovery_date", help="ISO 8601, e.g. 2023-09-28T10:00:00Z.")
@pass_state
def targets_create(
    state: CliState,
    name: str | None,
    name_option: str | None,
    ra: float,
    dec: float,
    epoch: float | None,
    classification: str | None,
    description: str | None,
    importance: float | None,
    cadence: float | None,
    discovery_date: str | None,
) -> None:
    """Create a sidereal target.

    The official create_target.py's flags work too (--name, --discovery_date, --token).

    \b
    Example:
        bhtom targets create MyStar --ra 83.82 --dec -5.39 --epoch 2000 --importance 5
    """
    name = _single_name(name, name_option)
    extra = {
        "epoch": epoch,
        "classification": classification,
        "description": description,
        "importance": importance,
        "cadence": cadence,
        "discovery_date": discovery_date,
    }
    created = run(_create, state, name, ra, dec, extra)
    if state.json:
        state.emit(created)
    else:
        click.echo(f"Created target {created.name} (ra {created.ra}, dec {created.dec}).")


async def _create(state: CliState, name: str, ra: float, dec: float, extra: dict[str, object]) -> Target:
    async with make_client(state) as bh:
        return await bh.targets.create(name=name, ra=ra, dec=dec, **extra)  # type: ignore[arg-type]


@targets.command("update")
@click.argument("name")
@click.option("--new-name", help="Rename the target.")
@click.option("--ra", type=float, help="Right ascension, degrees.")
@click.option("--dec", type=float, help="Declination, degrees.")
@click.option("--epoch", help="Epoch, e.g. 2000 or J2023.")
@click.option("--classification")
@click.option("--description")
@click.option("--importance", type=float)
@click.option("--cadence", type=float)
@click.option("--discovery-date", "--discovery_date", help="ISO 8601.")
@pass_state
def targets_update(state: CliState, /, name: str, **changes: object) -> None:
    """Change a target's fields (only the ones given).

    \b
    Example:
        bhtom targets update MyStar --importance 8 --description "outburst 2026-11"
    """
    apply_update(state, name, changes, _update, example_option="--importance")


async def _update(bh: Client, name: str, changes: dict[str, object]) -> None:
    await bh.targets.update(name=name, **changes)  # type: ignore[arg-type]


def _single_name(positional: str | None, option: str | None) -> str:
    """The target name, given as NAME or as --name (create_target.py), not both differently."""
    if positional and option and positional != option:
        raise click.UsageError(f"two names given: {positional!r} and --name {option!r}")
    chosen = positional or option
    if not chosen:
        raise click.UsageError("missing the target NAME")
    return chosen


@targets.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def targets_delete(state: CliState, name: str, yes: bool) -> None:
    """Delete a target and everything attached to it.

    \b
    Example:
        bhtom targets delete MyStar --yes
    """
    if not yes:
        click.confirm(f"Delete target {name} and all its data?", abort=True)
    run(_delete, state, name)
    if state.json:
        state.emit({"deleted": name})
    else:
        click.echo(f"Deleted target {name}.")


async def _delete(state: CliState, name: str) -> None:
    async with make_client(state) as bh:
        await bh.targets.delete(name)


@targets.command("groups")
@pass_state
def targets_groups(state: CliState) -> None:
    """List target groups.

    \b
    Example:
        bhtom targets groups
    """
    found = run(_groups, state)
    if state.json:
        state.emit(found)
    else:
        print_table(["id", "name", "created"], [[g.id, g.name, g.created] for g in found])


async def _groups(state: CliState) -> list[TargetGroup]:
    async with make_client(state) as bh:
        return await bh.targets.groups().to_list()


@targets.command("in-group")
@click.argument("group", required=False)
@click.option("--id", "group_id", type=int, help="Group id instead of its name.")
@pass_state
def targets_in_group(state: CliState, group: str | None, group_id: int | None) -> None:
    """List the targets in a group (by name, or --id).

    \b
    Example:
        bhtom targets in-group "Gaia alerts"
    """
    if (group is None) == (group_id is None):
        raise click.UsageError("give a group name or --id, not both")
    found = run(_in_group, state, group, group_id)
    if state.json:
        state.emit(found)
    else:
        print_table(_TARGET_COLUMNS, _target_rows(found))


async def _in_group(state: CliState, group: str | None, group_id: int | None) -> list[Target]:
    async with make_client(state) as bh:
        return await bh.targets.in_group(id=group_id, name=group).to_list()


@targets.command("plots")
@click.argument("names", nargs=-1, required=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for <name>.plotly.json files.",
)
@pass_state
def targets_plots(state: CliState, names: tuple[str, ...], out_dir: Path) -> None:
    """Save the targets' light-curve plots as plotly JSON (open with plotly.io.from_json).

    \b
    Example:
        bhtom targets plots Gaia22bpl Gaia21abc --out plots/
    """
    found: tuple[TargetPlot, ...] = run(_plots, state, names)
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[dict[str, object]] = []
    for plot in found:
        path = None
        if plot.figure is not None:
            path = out_dir / _file_name(f"{plot.name}.plotly.json", "plot.plotly.json")
            path.write_text(json.dumps(to_jsonable(plot.figure)), encoding="utf-8")
        saved.append({"name": plot.name, "path": str(path) if path else None})
    if state.json:
        state.emit(saved)
    else:
        for item in saved:
            click.echo(f"{item['name']}: {item['path'] or 'no plot'}")


async def _plots(state: CliState, names: tuple[str, ...]) -> tuple[TargetPlot, ...]:
    async with make_client(state) as bh:
        return await bh.targets.plots(names)


def light_curve_json(curve: LightCurve) -> dict[str, object]:
    """The stable ``--json`` shape of a light curve (documented in docs/cli.md)."""
    return {
        "target": curve.target,
        "kind": curve.kind,
        "unit": curve.unit,
        "points": [
            {
                "mjd": p.mjd,
                "value": p.value,
                "error": p.error,
                "is_limit": p.is_limit,
                "filter": p.filter,
                "facility": p.facility,
                "observer": p.observer,
            }
            for p in curve.points
        ],
    }


@click.command(cls=BhtomCommand)
@click.argument("names", nargs=-1, required=True)
@click.option("--radio", is_flag=True, help="The radio light curve (mJy) instead of photometry.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save one file per target here instead of printing.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["csv", "json", "ecsv"]),
    default="csv",
    show_default=True,
    help="File format with --out (csv is the server's file unchanged; ecsv needs astropy).",
)
@click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True)
@pass_state
def photometry(
    state: CliState, names: tuple[str, ...], radio: bool, out_dir: Path | None, format_: str, concurrency: int
) -> None:
    """Download the light curves of many targets at once.

    `-o csv` prints the server's CSV file unchanged (what download_photometry.py printed);
    `bhtom photometry TOKEN NAME` (that script's form) works too, but prefer BHTOM_TOKEN.

    \b
    Example:
        bhtom photometry Gaia22bpl Gaia21abc --out curves/ --format ecsv
        bhtom photometry Gaia22bpl -o csv > Gaia22bpl.csv
        bhtom --json photometry Gaia22bpl
    """
    token, names = _token_first(names)
    if token is not None:
        state = attrs.evolve(state, token=token)
        warn("a token on the command line is visible to other users (ps); prefer BHTOM_TOKEN")
    if format_ == "ecsv" and out_dir is not None:
        try:
            import astropy.table  # noqa: F401
        except ImportError:
            fail(
                "--format ecsv needs astropy, which is not installed",
                "install it with `pip install 'bhtom_async[astro]'`, or use --format csv or json",
                code=ExitCode.USAGE,
            )
    curves = run(_photometry, state, names, radio, concurrency)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        saved = [str(_save_curve(curve, out_dir, format_)) for curve in curves]
        if state.json:
            state.emit(
                [
                    {"target": c.target, "path": p, "points": len(c)}
                    for c, p in zip(curves, saved, strict=True)
                ]
            )
        else:
            for curve, path in zip(curves, saved, strict=True):
                click.echo(f"{curve.target}: {len(curve)} points → {path}")
        return
    if state.output == "csv":
        for curve in curves:
            click.echo(curve.raw, nl=not curve.raw.endswith("\n"))
        return
    if state.json:
        state.emit([light_curve_json(c) for c in curves])
        return
    for curve in curves:
        rows = [
            [p.mjd, f"{'>' if p.is_limit else ''}{p.value}", abs(p.error), p.filter, p.observer]
            for p in curve.points
        ]
        print_table(
            ["MJD", curve.unit, "error", "filter", "observer"], rows, title=f"{curve.target} ({curve.kind})"
        )


async def _photometry(
    state: CliState, names: tuple[str, ...], radio: bool, concurrency: int
) -> list[LightCurve]:
    results: dict[int, LightCurve] = {}
    limiter = anyio.CapacityLimiter(concurrency)
    async with make_client(state) as bh:

        async def fetch(index: int, name: str) -> None:
            async with limiter:
                results[index] = await (bh.targets.radio(name) if radio else bh.targets.photometry(name))

        async with anyio.create_task_group() as group:
            for index, name in enumerate(names):
                group.start_soon(fetch, index, name)
    return [results[i] for i in range(len(names))]


def _save_curve(curve: LightCurve, out_dir: Path, format_: str) -> Path:
    path = out_dir / _file_name(f"{curve.target}_{curve.kind}.{format_}", f"light_curve.{format_}")
    if format_ == "csv":
        path.write_text(curve.raw, encoding="utf-8", newline="")
    elif format_ == "json":
        path.write_text(json.dumps(light_curve_json(curve), indent=2), encoding="utf-8")
    else:
        # The library's table (Time MJDs, units, is_limit), so the CLI and notebooks agree.
        curve.to_table().write(path, format="ascii.ecsv", overwrite=True)
    return path


#: What an API token looks like (40 hex digits); the official download scripts put it first.
_TOKEN_SHAPE = re.compile(r"[0-9a-fA-F]{40}")


def _token_first(names: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """`download_photometry.py TOKEN NAME`: a leading token-shaped argument before a name."""
    if len(names) >= 2 and _TOKEN_SHAPE.fullmatch(names[0]):
        return names[0], names[1:]
    return None, names


def register(group: click.Group) -> None:
    """Add `bhtom targets` and `bhtom photometry` to the `bhtom` group."""
    group.add_command(targets)
    group.add_command(photometry)


def _file_name(name: str, fallback: str) -> str:
    """A file name built from a target name: separators become ``_``, dot names the fallback."""
    return safe_filename(name.replace("/", "_").replace("\\", "_"), fallback)
