"""`bhtom observatories ...`: observatories, cameras and your favourite cameras."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..client import Client
from ._core import BhtomGroup, CliState, apply_update, make_client, pass_state, run
from ._params import BoolWord
from .output import print_table

if TYPE_CHECKING:
    from ..models.observatories import FavouriteAdded, FavouriteObservatory, Observatory

__all__ = ["register"]


@click.group(cls=BhtomGroup)
def observatories() -> None:
    """Observatories and cameras; uploads need the camera (ONAME) in your favourites.

    \b
    Example:
        bhtom observatories list
        bhtom observatories add-favourite ROAD_QHY600M
    """


@observatories.command("list")
@click.option("--name", help="Exact observatory name.")
@pass_state
def observatories_list(state: CliState, name: str | None) -> None:
    """List observatories with their cameras' ONAMEs (what `bhtom upload --observatory` takes).

    \b
    Example:
        bhtom observatories list --name ROAD
    """
    found = run(_list, state, name)
    if state.json:
        state.emit(found)
    else:
        rows = [[o.id, o.name, o.lon, o.lat, o.calibration_flg, ", ".join(o.onames)] for o in found]
        print_table(["id", "name", "lon", "lat", "calibration", "cameras (ONAME)"], rows)


async def _list(state: CliState, name: str | None) -> list[Observatory]:
    async with make_client(state) as bh:
        return await bh.observatories.list(name=name).to_list()


@observatories.command("create")
@click.argument("name", required=False)
@click.option("--name", "name_option", hidden=True)  # create_observatory.py's form
@click.option("--lon", type=float, required=True, help="Longitude, degrees.")
@click.option("--lat", type=float, required=True, help="Latitude, degrees.")
@click.option("--camera", "--camera_name", "camera_name", required=True, help="Name of its first camera.")
@click.option("--altitude", type=float, help="Metres.")
@click.option(
    "--calibration", "--calibration_flg", "calibration_flg", is_flag=True, help="Only for calibration."
)
@click.option("--filters", help="e.g. 'V,R,I'.")
@click.option("--comment")
@click.option("--example-file", "--example_file", "example_file", help="An example frame's name.")
@pass_state
def observatories_create(
    state: CliState,
    name: str | None,
    name_option: str | None,
    lon: float,
    lat: float,
    camera_name: str,
    altitude: float | None,
    calibration_flg: bool,
    filters: str | None,
    comment: str | None,
    example_file: str | None,
) -> None:
    """Register an observatory with one camera.

    The official create_observatory.py's flags work too (--name, --camera_name,
    --calibration_flg, --example_file, --token).

    \b
    Example:
        bhtom observatories create MyObs --lon 21.0 --lat 52.2 --camera MyCam --altitude 110
    """
    name = _name(name, name_option)
    fields = {"altitude": altitude, "filters": filters, "comment": comment, "example_file": example_file}
    run(_create, state, name, lon, lat, camera_name, calibration_flg, fields)
    if state.json:
        state.emit({"created": name, "oname": f"{name}_{camera_name}"})
    else:
        click.echo(f"Created observatory {name}; its camera's ONAME is {name}_{camera_name}.")


async def _create(
    state: CliState,
    name: str,
    lon: float,
    lat: float,
    camera_name: str,
    calibration_flg: bool,
    fields: dict[str, object],
) -> None:
    async with make_client(state) as bh:
        await bh.observatories.create(
            name,
            lon=lon,
            lat=lat,
            camera_name=camera_name,
            calibration_flg=calibration_flg,
            **fields,  # type: ignore[arg-type]
        )


@observatories.command("update")
@click.argument("name", required=False)
@click.option("--name", "name_option", hidden=True)  # update_observatory.py's form
@click.option("--lon", type=float)
@click.option("--lat", type=float)
@click.option("--altitude", type=float)
@click.option("--approx-lim-mag", type=float)
@click.option("--filters")
@click.option("--comment")
@click.option("--calibration/--no-calibration", "--calibration_flg", "calibration_flg", default=None)
@pass_state
def observatories_update(
    state: CliState, /, name: str | None, name_option: str | None, **changes: object
) -> None:
    """Change fields of your observatory (only the ones given).

    The official update_observatory.py's flags work too (--name, --calibration_flg, --token).

    \b
    Example:
        bhtom observatories update MyObs --altitude 115 --comment "new dome"
    """
    apply_update(state, _name(name, name_option), changes, _update, example_option="--altitude")


async def _update(bh: Client, name: str, changes: dict[str, object]) -> None:
    await bh.observatories.update(name, **changes)  # type: ignore[arg-type]


@observatories.command("favourites")
@click.option("--user", type=int, help="Numeric user id (the server lists everyone's otherwise).")
@click.option("--camera", help="Only this camera.")
@click.option("--active/--inactive", "active", default=None, help="Only active (or inactive) ones.")
@click.option("--active_flg", "active_word", type=BoolWord(), hidden=True)  # get_favourite_observatory.py
@click.option("--since", "--created_start", "created_start", help="Added on or after (ISO 8601).")
@click.option("--until", "--created_end", "created_end", help="Added up to (ISO 8601).")
@pass_state
def observatories_favourites(
    state: CliState,
    user: int | None,
    camera: str | None,
    active: bool | None,
    active_word: bool | None,
    created_start: str | None,
    created_end: str | None,
) -> None:
    """List favourite cameras.

    The official get_favourite_observatory.py's flags work too (--active_flg, --created_start,
    --created_end, --token).

    \b
    Example:
        bhtom observatories favourites --user 5
    """
    active = active if active is not None else active_word
    filters = {"camera": camera, "active": active, "created_start": created_start, "created_end": created_end}
    found = run(_favourites, state, user, filters)
    if state.json:
        state.emit(found)
    else:
        rows = [[f.user, f.camera, f.active, f.number_of_uploaded_file, f.created] for f in found]
        print_table(["user", "camera", "active", "files", "created"], rows)


async def _favourites(
    state: CliState, user: int | None, filters: dict[str, object]
) -> list[FavouriteObservatory]:
    async with make_client(state) as bh:
        return await bh.observatories.favourites(user=user, **filters).to_list()  # type: ignore[arg-type]


@observatories.command("add-favourite")
@click.argument("oname")
@pass_state
def observatories_add_favourite(state: CliState, oname: str) -> None:
    """Put a camera (by ONAME) on your favourites list; already there counts as success.

    \b
    Example:
        bhtom observatories add-favourite ROAD_QHY600M
    """
    added = run(_add, state, oname)
    if state.json:
        state.emit({"oname": oname, "created": added.created, "already_present": added.already_present})
    elif added.already_present:
        click.echo(f"{oname} was already in your favourites.")
    else:
        click.echo(f"Added {oname} to your favourites.")


async def _add(state: CliState, oname: str) -> FavouriteAdded:
    async with make_client(state) as bh:
        return await bh.observatories.add_favourite(oname=oname)


@observatories.command("remove-favourite")
@click.argument("observatory", required=False)
@click.argument("camera", required=False)
@click.option("--observatory", "observatory_option", hidden=True)  # delete_favourite_observatory.py
@click.option("--camera", "camera_option", hidden=True)
@pass_state
def observatories_remove_favourite(
    state: CliState,
    observatory: str | None,
    camera: str | None,
    observatory_option: str | None,
    camera_option: str | None,
) -> None:
    """Remove a camera from your favourites (the server allows this for admins only).

    \b
    Example:
        bhtom observatories remove-favourite ROAD QHY600M
    """
    observatory = _name(observatory, observatory_option, what="OBSERVATORY")
    camera = _name(camera, camera_option, what="CAMERA")
    run(_remove, state, observatory, camera)
    if state.json:
        state.emit({"removed": {"observatory": observatory, "camera": camera}})
    else:
        click.echo(f"Removed {observatory}_{camera} from your favourites.")


async def _remove(state: CliState, observatory: str, camera: str) -> None:
    async with make_client(state) as bh:
        await bh.observatories.remove_favourite(observatory=observatory, camera=camera)


def _name(positional: str | None, option: str | None, *, what: str = "NAME") -> str:
    """A name given as an argument or, in the official scripts' form, as an option."""
    if positional and option and positional != option:
        raise click.UsageError(f"two values for {what}: {positional!r} and {option!r}")
    chosen = positional or option
    if not chosen:
        raise click.UsageError(f"missing {what}")
    return chosen


def register(group: click.Group) -> None:
    """Add `bhtom observatories` to the `bhtom` group."""
    group.add_command(observatories)
