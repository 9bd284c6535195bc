"""Fixtures for the uploader's unit tests: a fake upload service behind respx, frames, an uploader factory."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import attrs
import httpx
import pytest
import respx

from bhtom_async import Client, JobOptions, UploadOptions
from bhtom_async.upload import Uploader

from ...conftest import BASE_URL, UPLOAD_URL, fits_bytes
from ...helpers import form_of

UPLOAD = UPLOAD_URL + "/upload/"
DATA = BASE_URL + "/common/api/data/"
TARGETS = BASE_URL + "/targets/getTargetList/"
OBSERVATORIES = BASE_URL + "/observatory/getObservatoryList/"
TARGET = "Gaia22bpl"
CAMERA = "HarnessObs_HarnessCam"
#: An empty data-product listing (the job-start probe of the newest id, in tests that list nothing).
NO_PRODUCTS = httpx.Response(200, json={"count": 0, "num_pages": 1, "current_page": 1, "data": []})
#: A fault answers (or raises for) one upload request instead of the server; None lets it through.
Fault = Callable[[httpx.Request], httpx.Response | None]


class FakeServer:
    """Answers uploads with increasing ids and lists what it stored, like the upload service."""

    def __init__(self) -> None:
        self.stored: list[dict[str, object]] = []
        self.next_id = 1000
        self.faults: list[Fault] = []
        self.arrived: list[str] = []  # wire names, in the order the requests reached the server
        self.created = "2099-01-01T00:00:00Z"

    def upload(self, request: httpx.Request) -> httpx.Response:
        fields, files = form_of(request)
        self.arrived.append(files[0][1])
        if self.faults:
            answer = self.faults.pop(0)(request)
            if answer is not None:
                return answer
        return self.store(dict(fields), files[0][1])

    def store(self, fields: dict[str, str], name: str) -> httpx.Response:
        self.next_id += 1
        self.stored.append(
            {
                "id": self.next_id,
                "data": f"/data/targets/{fields['target']}/{self.next_id}_{name}",
                "target_name": fields["target"],
                "camera": fields["observatory"],
                "created": self.created,
                "data_product_type": fields["data_product_type"],
                "dryRun": fields["dry_run"] == "True",
                "comment": fields.get("comment"),
            }
        )
        entry = {"file name:": f"{self.next_id}_{name}", "id": str(self.next_id), "message": "ok"}
        return httpx.Response(201, json={"Success": [entry]})

    def store_then(self, error: Exception) -> Fault:
        """A fault: store the file, then lose the answer with `error`."""

        def fault(request: httpx.Request) -> httpx.Response | None:
            fields, files = form_of(request)
            self.store(dict(fields), files[0][1])
            raise error

        return fault

    def listing(self, request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)
        items = [
            item
            for item in self.stored
            if str(query.get("photometry_data", "")) in str(item["data"]) and not item["dryRun"]
        ]
        return httpx.Response(
            200, json={"count": len(items), "num_pages": 1, "current_page": 1, "data": items}
        )


@attrs.frozen
class Routes:
    """The respx routes the uploader uses: uploads, the data listing, and the checks before uploads."""

    upload: respx.Route
    listing: respx.Route
    targets: respx.Route
    observatories: respx.Route

    def refuse_token(self) -> None:
        """A bad token: every authenticated call answers 401, as the server does."""
        for route in (self.upload, self.listing, self.targets, self.observatories):
            route.mock(return_value=httpx.Response(401, json={"detail": "Invalid token."}))

    @property
    def lookups(self) -> int:
        """Listings of one file name (the reconcile look-ups; not the job-start probe)."""
        return sum("photometry_data" in json.loads(c.request.content) for c in self.listing.calls)


def page(items: list[dict[str, object]]) -> httpx.Response:
    return httpx.Response(200, json={"count": len(items), "num_pages": 1, "current_page": 1, "data": items})


def target_list(request: httpx.Request) -> httpx.Response:
    """The target list: TARGET exists, and a name filter is an exact match."""
    name = json.loads(request.content).get("name")
    return page([{"name": TARGET}] if name in (None, TARGET) else [])


def observatory_list(request: httpx.Request) -> httpx.Response:
    """The observatory list: one observatory whose camera's ONAME is CAMERA."""
    observatory, camera = CAMERA.split("_")
    cameras = [{"id": 1, "camera_name": camera, "prefix": CAMERA}]
    return page([{"id": 1, "name": observatory, "cameras": cameras}])


def mock_checks(mock: respx.MockRouter) -> tuple[respx.Route, respx.Route]:
    """Answer the uploader's checks before its uploads (`upload.preflight`): all is well."""
    return (
        mock.post(TARGETS).mock(side_effect=target_list),
        mock.post(OBSERVATORIES).mock(side_effect=observatory_list),
    )


Frames = Callable[..., list[Path]]


class MakeUploader(Protocol):
    def __call__(self, bh: Client, paths: list[Path] | Path, journal: Path, **settings: Any) -> Uploader: ...


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def routes(server: FakeServer) -> Iterator[Routes]:
    with respx.mock(assert_all_called=False) as mock:
        upload = mock.post(UPLOAD).mock(side_effect=server.upload)
        listing = mock.post(DATA).mock(side_effect=server.listing)
        yield Routes(upload, listing, *mock_checks(mock))


@pytest.fixture
def frames(tmp_path: Path) -> Frames:
    """`frames(n, folder="night")`: write n small valid FITS frames, distinct content, old mtimes."""

    def make(n: int, folder: str = "night", *, name: str = "frame_{i:03d}.fits", seed: int = 0) -> list[Path]:
        root = tmp_path / folder
        root.mkdir(parents=True, exist_ok=True)
        paths = []
        for i in range(n):
            path = root / name.format(i=i)
            path.write_bytes(fits_bytes(seed + i))
            paths.append(path)
        return paths

    return make


UPLOAD_FIELDS = {f.name for f in attrs.fields(UploadOptions)}
JOB_FIELDS = {f.name for f in attrs.fields(JobOptions)}


@pytest.fixture
def make_uploader() -> MakeUploader:
    """An Uploader for TARGET/CAMERA with `journal` and no settle time; `settings` may set any option."""

    def make(bh: Client, paths: list[Path] | Path, journal: Path, **settings: Any) -> Uploader:
        upload = {"target": TARGET, "observatory": CAMERA} | {
            k: v for k, v in settings.items() if k in UPLOAD_FIELDS
        }
        job = {"journal": journal, "settle_time": 0} | {k: v for k, v in settings.items() if k in JOB_FIELDS}
        rest = {k: v for k, v in settings.items() if k not in UPLOAD_FIELDS | JOB_FIELDS}
        return Uploader(bh, paths, UploadOptions(**upload), JobOptions(**job), **rest)

    return make
