"""`bhtom dataproducts ...` and `bhtom reduced-data ...`: uploaded products and light-curve points."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._core import BhtomGroup, CliState, make_client, pass_state, run
from .output import print_table, to_jsonable

if TYPE_CHECKING:
    from ..models.dataproducts import DataProduct
    from ..models.reduced_data import ReducedDatum

__all__ = ["register"]


@click.group(cls=BhtomGroup)
def dataproducts() -> None:
    """Uploaded data products: list, delete, change observers, download photometry.

    \b
    Example:
        bhtom dataproducts list --target Gaia22bpl
    """


@dataproducts.command("list")
@click.option("--id", "id_", type=int, help="One data product.")
@click.option("--target", "target_name", help="Target name (case-insensitive substring).")
@click.option("--type", "data_product_type", help="fits_file, photometry, photometry_csv, spectroscopy.")
@click.option("--status", help="Calibration status letter: C, P, S, E.")
@click.option("--oname", help="Camera ONAME (exact).")
@click.option("--mjd-min", type=float)
@click.option("--mjd-max", type=float)
@click.option("--limit", type=int, default=None, help="Stop after this many.")
@pass_state
def dataproducts_list(
    state: CliState,
    id_: int | None,
    target_name: str | None,
    data_product_type: str | None,
    status: str | None,
    oname: str | None,
    mjd_min: float | None,
    mjd_max: float | None,
    limit: int | None,
) -> None:
    """List data products, newest first.

    \b
    Example:
        bhtom --json dataproducts list --target Gaia22bpl --status S
    """
    filters = {
        "id": id_,
        "target_name": target_name,
        "data_product_type": data_product_type,
        "status": status,
        "oname": oname,
        "mjd_min": mjd_min,
        "mjd_max": mjd_max,
    }
    found = run(_list_products, state, filters, limit)
    if state.json:
        state.emit(found)
        return
    rows = []
    for dp in found:
        cal = dp.calibration_data
        mag = cal.magnitude if cal else None
        rows.append([dp.id, dp.target_name, dp.data_product_type, dp.status, dp.camera, mag, dp.created])
    print_table(["id", "target", "type", "status", "camera", "mag", "created"], rows)


async def _list_products(state: CliState, filters: dict[str, object], limit: int | None) -> list[DataProduct]:
    found: list[DataProduct] = []
    async with make_client(state) as bh:
        async for dp in bh.dataproducts.list(**filters):  # type: ignore[arg-type]
            found.append(dp)
            if limit is not None and len(found) >= limit:
                break
    return found


@dataproducts.command("delete")
@click.argument("ids", nargs=-1, required=True, type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def dataproducts_delete(state: CliState, ids: tuple[int, ...], yes: bool) -> None:
    """Delete data products with their points and calibration (admins only).

    \b
    Example:
        bhtom dataproducts delete 1454270 --yes
    """
    if not yes:
        click.confirm(f"Delete {len(ids)} data product(s) and their points?", abort=True)
    run(_delete_products, state, ids)
    if state.json:
        state.emit({"deleted": list(ids)})
    else:
        click.echo(f"Deleted {len(ids)} data product(s).")


async def _delete_products(state: CliState, ids: tuple[int, ...]) -> None:
    async with make_client(state) as bh:
        for id_ in ids:
            await bh.dataproducts.delete(id_)


@dataproducts.command("change-observers")
@click.argument("id_", metavar="ID", type=int)
@click.argument("observers", nargs=-1, required=True)
@pass_state
def dataproducts_change_observers(state: CliState, id_: int, observers: tuple[str, ...]) -> None:
    """Replace a data product's observers with these BHTOM usernames (case-sensitive).

    \b
    Example:
        bhtom dataproducts change-observers 1454270 alice bob
    """
    product = run(_change_observers, state, id_, observers)
    if state.json:
        state.emit(product)
    else:
        click.echo(f"Data product {product.id} observers: {', '.join(observers)}")


async def _change_observers(state: CliState, id_: int, observers: tuple[str, ...]) -> DataProduct:
    async with make_client(state) as bh:
        return await bh.dataproducts.change_observers(id_, observers)


@dataproducts.command("download")
@click.argument("ids", nargs=-1, required=True, type=int)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for the files.",
)
@pass_state
def dataproducts_download(state: CliState, ids: tuple[int, ...], out_dir: Path) -> None:
    """Download the photometry file (per-frame catalogue) of data products.

    \b
    Example:
        bhtom dataproducts download 1454270 --out catalogues/
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = run(_download, state, ids, out_dir)
    if state.json:
        state.emit([{"id": id_, "path": str(path)} for id_, path in saved])
    else:
        for id_, path in saved:
            click.echo(f"{id_}: {path}")


async def _download(state: CliState, ids: tuple[int, ...], out_dir: Path) -> list[tuple[int, Path]]:
    saved = []
    async with make_client(state) as bh:
        for id_ in ids:
            found = await bh.dataproducts.photometry_file(id_)
            saved.append((id_, await found.save(out_dir)))  # save() keeps the name a plain base name
    return saved


@click.group("reduced-data", cls=BhtomGroup)
def reduced_data() -> None:
    """Points of light curves (reduced datums): list, delete, deactivate.

    \b
    Example:
        bhtom reduced-data list --target Gaia22bpl
    """


def _target_options(func: click.decorators.FC) -> click.decorators.FC:
    func = click.option("--target-id", type=int, help="Target id (instead of --target).")(func)
    return click.option("--target", "target_name", help="Exact target name.")(func)


@reduced_data.command("list")
@_target_options
@pass_state
def reduced_data_list(state: CliState, target_name: str | None, target_id: int | None) -> None:
    """Every point of one target, inactive ones included.

    \b
    Example:
        bhtom reduced-data list --target Gaia22bpl
    """
    found = run(_list_datums, state, target_name, target_id)
    if state.json:
        state.emit(found)
        return
    rows = [[d.id, d.mjd, d.value, d.error, d.filter, d.observer, d.facility, d.active_flg] for d in found]
    print_table(["id", "MJD", "value", "error", "filter", "observer", "facility", "active"], rows)


async def _list_datums(state: CliState, target_name: str | None, target_id: int | None) -> list[ReducedDatum]:
    async with make_client(state) as bh:
        return await bh.reduced_data.list(target_name=target_name, target_id=target_id).to_list()


def _match_options(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        (
            click.option("--mjd", type=float, required=True, help="MJD of the point."),
            click.option("--mag", type=float, required=True, help="Magnitude."),
            click.option("--magerr", type=float, required=True, help="Magnitude error."),
            click.option("--filter", "filter_", required=True, help="Filter, e.g. GaiaSP/V."),
            click.option("--observer", required=True, help="Observer username."),
        )
    ):
        func = option(func)
    return _target_options(func)


@reduced_data.command("delete")
@_match_options
@click.option("--with-dataproduct", is_flag=True, help="Also delete the data product it came from.")
@pass_state
def reduced_data_delete(
    state: CliState,
    target_name: str | None,
    target_id: int | None,
    mjd: float,
    mag: float,
    magerr: float,
    filter_: str,
    observer: str,
    with_dataproduct: bool,
) -> None:
    """Delete the first matching point (admins only).

    \b
    Example:
        bhtom reduced-data delete --target Gaia22bpl --mjd 60827.91 --mag 15.2 \\
            --magerr 0.02 --filter GaiaSP/V --observer alice
    """
    match = {"mjd": mjd, "mag": mag, "magerr": magerr, "filter": filter_, "observer": observer}
    run(_change_datum, state, "delete", target_name, target_id, match, with_dataproduct)
    _report(state, "deleted", match)


@reduced_data.command("deactivate")
@_match_options
@pass_state
def reduced_data_deactivate(
    state: CliState,
    target_name: str | None,
    target_id: int | None,
    mjd: float,
    mag: float,
    magerr: float,
    filter_: str,
    observer: str,
) -> None:
    """Mark the first matching point inactive (admins only).

    \b
    Example:
        bhtom reduced-data deactivate --target Gaia22bpl --mjd 60827.91 --mag 15.2 \\
            --magerr 0.02 --filter GaiaSP/V --observer alice
    """
    match = {"mjd": mjd, "mag": mag, "magerr": magerr, "filter": filter_, "observer": observer}
    run(_change_datum, state, "deactivate", target_name, target_id, match, False)
    _report(state, "deactivated", match)


def _report(state: CliState, action: str, match: dict[str, object]) -> None:
    if state.json:
        state.emit({action: True, **to_jsonable(match)})
    else:
        click.echo(f"Point at MJD {match['mjd']} {action}.")


async def _change_datum(
    state: CliState,
    action: str,
    target_name: str | None,
    target_id: int | None,
    match: dict[str, object],
    with_dataproduct: bool,
) -> None:
    async with make_client(state) as bh:
        if action == "delete":
            await bh.reduced_data.delete(
                target_name=target_name,
                target_id=target_id,
                delete_associated_data_product=with_dataproduct,
                **match,  # type: ignore[arg-type]
            )
        else:
            await bh.reduced_data.deactivate(
                target_name=target_name,
                target_id=target_id,
                **match,  # type: ignore[arg-type]
            )


def register(group: click.Group) -> None:
    """Add these command groups to the `bhtom` group."""
    group.add_command(dataproducts)
    group.add_command(reduced_data)
