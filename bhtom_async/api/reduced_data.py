"""Reduced datums (the points of light curves): list, delete, deactivate."""

from __future__ import annotations

from .._paginate import Pager
from ..errors import InvalidInputError, NotFoundError, ServerError
from ..models.reduced_data import ReducedDatum
from ._resource import Resource, body_of, target_argument

__all__ = ["ReducedDataAPI"]


class ReducedDataAPI(Resource):
    """Reduced datums (the points of light curves): list, delete, deactivate."""

    def list(
        self,
        *,
        target: str | None = None,
        target_id: int | None = None,
        target_name: str | None = None,
    ) -> Pager[ReducedDatum]:
        """Every point of one target, inactive ones included (500 per page, 1000 for admins).

        `target` is the exact name (`target_name` is its older spelling, still accepted).

        Raises:
            InvalidInputError: not exactly one of `target` and `target_id`.
            NotFoundError: no target has this name (an unknown `target_id` is just empty).
        """
        name = target_argument(target, target_name)
        _one_target(name, target_id)
        body = body_of(target_name=name, target_id=target_id)
        return self._paginate(
            "POST", "/common/api/reducedDatum/", ReducedDatum, body=body, key=lambda d: d.id
        )

    async def delete(
        self,
        *,
        mjd: float,
        mag: float,
        magerr: float,
        filter: str,
        observer: str,
        target: str | None = None,
        target_id: int | None = None,
        delete_associated_data_product: bool = False,
        target_name: str | None = None,
    ) -> None:
        """Delete the first matching point (admin only).

        A point matches on mjd (±1e-6), mag and magerr (±1e-3), filter and observer, within the
        target named `target` (or `target_id`; `target_name` is the older spelling of `target`).

        The fields go in the JSON body (the docs say query parameters; the server reads the body).

        Raises:
            InvalidInputError: a required value is 0 or empty (the server treats it as missing).
            NotFoundError: no point matches.
            PermissionDeniedError: the account is not an admin.
        """
        body = _match(mjd, mag, magerr, filter, observer, target_argument(target, target_name), target_id)
        if delete_associated_data_product:
            body["delete_associated_data_product"] = True
        await self._call_raw("DELETE", "/common/api/deleteReducedDatum/", body=body, idempotent=False)

    async def deactivate(
        self,
        *,
        mjd: float,
        mag: float,
        magerr: float,
        filter: str,
        observer: str,
        target: str | None = None,
        target_id: int | None = None,
        target_name: str | None = None,
    ) -> None:
        """Mark the first matching point inactive (admin only); same matching as `delete`.

        Raises:
            NotFoundError: no point matches (the server answers 500).
            PermissionDeniedError: the account is not an admin.
        """
        path = "/common/api/deactivateReducedDatum/"
        body = _match(mjd, mag, magerr, filter, observer, target_argument(target, target_name), target_id)
        try:
            await self._call_raw("POST", path, body=body, idempotent=False)
        except ServerError as exc:
            if "NoneType" in exc.message or "not found" in exc.message.lower():
                raise NotFoundError(
                    "no reduced datum matches", status=exc.status, method="POST", path=path
                ) from None
            raise


def _one_target(target: str | None, target_id: int | None) -> None:
    if (target is None) == (target_id is None):
        raise InvalidInputError("give either target or target_id, not both")


def _match(
    mjd: float,
    mag: float,
    magerr: float,
    filter: str,
    observer: str,
    target: str | None,
    target_id: int | None,
) -> dict[str, object]:
    for name, value in (
        ("mjd", mjd),
        ("mag", mag),
        ("magerr", magerr),
        ("filter", filter),
        ("observer", observer),
    ):
        if not value:
            raise InvalidInputError(
                f"{name} must be given and non-zero",
                hint="the server treats 0 and empty values as missing, so such a point cannot be matched",
            )
    if target is not None and target_id is not None:
        raise InvalidInputError("give either target or target_id, not both")
    return body_of(
        mjd=mjd,
        mag=mag,
        magerr=magerr,
        filter=filter,
        observer=observer,
        target_name=target,
        target_id=target_id,
    )
