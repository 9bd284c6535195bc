"""Data products: list, delete, change observers, download the photometry file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from .._paginate import Pager
from ..errors import InvalidInputError, NotFoundError, ServerError
from ..models.dataproducts import DataProduct, PhotometryFile
from ._resource import Resource, body_of, target_argument
from .lightcurves import filename_from_disposition

__all__ = ["DataProductsAPI"]


class DataProductsAPI(Resource):
    """Data products: list, delete, change observers, download the photometry file."""

    def list(
        self,
        *,
        id: int | None = None,
        data_product_type: str | None = None,
        status: str | None = None,
        fits_data: str | None = None,
        photometry_data: str | None = None,
        oname: str | None = None,
        created_start: dt.date | dt.datetime | str | None = None,
        created_end: dt.date | dt.datetime | str | None = None,
        mjd: float | None = None,
        target: str | None = None,
        target_id: int | None = None,
        magerr_min: float | None = None,
        magerr_max: float | None = None,
        mjd_min: float | None = None,
        mjd_max: float | None = None,
        target_name: str | None = None,
    ) -> Pager[DataProduct]:
        """Every user's data products, newest first (500 per page, 1000 for admins).

        Filters as the server applies them: `target` is a case-insensitive *substring* of the
        target's name (`target_name` is its older spelling, still accepted);
        `photometry_data` matches the uploaded file's path (``data``), not the photometry field;
        `fits_data` is a substring; `oname` the camera's exact ONAME; `mjd`, `mjd_min/max`,
        `magerr_min/max` test the calibration record. The documented ``mag_min``, ``mag_max``
        and ``filter`` are not offered: the server crashes (500) on each of them.

        Example:
            >>> async for dp in bh.dataproducts.list(target="Gaia22bpl"):   # doctest: +SKIP
            ...     print(dp.id, dp.status, dp.filename)
        """
        body = body_of(
            id=id,
            data_product_type=data_product_type,
            status=status,
            fits_data=fits_data,
            photometry_data=photometry_data,
            oname=oname,
            created_start=_date(created_start),
            created_end=_date(created_end),
            mjd=mjd,
            target_name=target_argument(target, target_name),
            target_id=target_id,
            magerr_min=magerr_min,
            magerr_max=magerr_max,
            mjd_min=mjd_min,
            mjd_max=mjd_max,
        )
        return self._paginate("POST", "/common/api/data/", DataProduct, body=body, key=lambda dp: dp.id)

    async def delete(self, id: int) -> None:
        """Delete a data product with its points and calibration (admin only).

        Raises:
            PermissionDeniedError: the account is not an admin.
            NotFoundError: no data product has this id (the server answers 500).
        """
        path = "/common/api/deleteDataProduct/"
        try:
            await self._call_raw("DELETE", path, body={"id": _int_id(id)}, idempotent=False)
        except ServerError as exc:
            if "does not exist" in exc.message:
                raise NotFoundError(
                    f"no data product with id {id}", status=exc.status, method="DELETE", path=path
                ) from None
            raise

    async def change_observers(self, id: int, observers: Sequence[str]) -> DataProduct:
        """Replace a data product's observers with these BHTOM usernames; returns the product.

        The server stores user ids, so the returned `observers` are ids (as strings).

        Raises:
            ValidationError: an unknown username (the message lists them).
            NotFoundError: no data product has this id.
        """
        names = [observers] if isinstance(observers, str) else list(observers)
        if not names:
            raise InvalidInputError("give at least one observer username")
        return await self._call(
            "POST",
            "/common/api/changeObservers/",
            DataProduct,
            body={"id": _int_id(id), "observers": names},
            idempotent=False,
        )

    async def photometry_file(self, id: int) -> PhotometryFile:
        """Download a data product's photometry file (the per-frame SExtractor catalogue).

        The rows are parsed; `content` keeps the original bytes (`await f.save(path)`). The
        server's file name is reduced to a safe base name (``<id>.dat`` when it gives none).

        Raises:
            NotFoundError: no such product, or it has no photometry file.
        """
        response = await self._call_raw(
            "POST", "/common/api/downloadPhotometryFile/", body={"id": _int_id(id)}
        )
        filename = filename_from_disposition(response.headers.get("content-disposition"))
        return PhotometryFile.parse(
            response.content,
            filename=filename or f"{id}.dat",
            content_type=response.headers.get("content-type"),
        )


def _int_id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"data-product ids are integers, got {value!r}")
    return value


def _date(value: dt.date | dt.datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()
