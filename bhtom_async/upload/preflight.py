"""Cheap checks on the main host before the first upload: the token, the target, the camera.

A refusal every file of a job would get (a bad token, an unknown target, an unknown camera)
should cost a cheap look-up and one message, not a folder of failed uploads. Two small
look-ups run at once while the folder is walked (each under the client's retry policy), and
their answer decides how uploads start:

- ``passed``: the token works, the target exists (exact name), the camera's ONAME is registered.
  `concurrency` uploads start at once. A refusal these checks cannot see (a camera that exists
  but is not in the caller's favourites, an unknown observer) stops the job after its first
  answer, with at most `concurrency` upload requests spent.
- ``refused``: the job stops with the typed error the upload would have met, before any upload.
- ``unsure``: a check could not tell (a 5xx, a lost connection, an answer that does not say);
  uploads start one at a time until the first has been answered, as before these checks.

Only what the defaults name is checked, and only when per-file settings cannot override it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Literal

import anyio
import attrs

from ..errors import AuthenticationError, BhtomError, CameraNotFavouriteError, TargetNotFoundError
from ..models.uploads import UploadOptions

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["Checked", "check_before_uploads"]

TARGETS = "/targets/getTargetList/"
OBSERVATORIES = "/observatory/getObservatoryList/"
#: Upload types whose `observatory` is a camera ONAME (free text for the others).
_CAMERA_TYPES = frozenset({"fits_file", "photometry"})


@attrs.frozen
class Checked:
    """The checks' answer: how uploads start, and the refusal when there is one."""

    kind: Literal["passed", "refused", "unsure"]
    refusal: BhtomError | None = None
    reason: str | None = None


async def check_before_uploads(client: Client, options: UploadOptions, *, per_file: bool) -> Checked:
    """Check the token, `options.target` and `options.observatory` with two requests at once.

    With `per_file` (a settings source may change the target or camera of any file) only the
    token is checked: a refusal must hold for every file of the job.
    """
    results: list[Checked] = []
    camera = options.observatory if options.data_product_type in _CAMERA_TYPES else ""

    async def collect(check: Awaitable[Checked]) -> None:
        results.append(await check)

    async with anyio.create_task_group() as group:
        group.start_soon(collect, _target_exists(client, options.target, decide=not per_file))
        if camera and not per_file:
            group.start_soon(collect, _camera_registered(client, camera))
    for kind in ("refused", "unsure"):
        found = next((r for r in results if r.kind == kind), None)
        if found is not None:
            return found
    return Checked("passed")


async def _target_exists(client: Client, target: str, *, decide: bool) -> Checked:
    """The target list asked for the exact name; without `decide`, only whether the token works."""
    try:
        page = await client.targets.list(name=target).first_page()
    except AuthenticationError as exc:
        return Checked("refused", exc)
    except BhtomError as exc:
        return Checked("unsure", reason=f"the target look-up failed ({exc.headline})")
    if not decide:
        return Checked("passed")
    if any(item.name == target for item in page.items):
        return Checked("passed")
    if page.count == 0 and not page.items:
        return Checked("refused", TargetNotFoundError(target, method="POST", path=TARGETS, status=200))
    return Checked("unsure", reason="the target list did not answer the name asked for")


async def _camera_registered(client: Client, oname: str) -> Checked:
    """The observatory list (the server puts every row on page 1) holds a camera with this ONAME."""
    try:
        page = await client.observatories.list().first_page()
    except AuthenticationError as exc:
        return Checked("refused", exc)
    except BhtomError as exc:
        return Checked("unsure", reason=f"the observatory look-up failed ({exc.headline})")
    if any(oname in observatory.onames for observatory in page.items):
        return Checked("passed")
    if len(page.items) < page.count:
        return Checked("unsure", reason="the observatory list did not fit on its first page")
    message = f"no camera has the ONAME {oname!r} (the observatory list has none)"
    refusal = CameraNotFavouriteError(message, status=200, method="POST", path=OBSERVATORIES, oname=oname)
    return Checked("refused", refusal)
