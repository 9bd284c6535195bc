"""Every path in the API documentation has a coroutine, and that coroutine's module sends to it."""

from __future__ import annotations

import inspect

import pytest

import bhtom_async
from bhtom_async import Client
from bhtom_async.api import (
    calibration,
    comments,
    dataproducts,
    observatories,
    reduced_data,
    targets,
    uploads,
    users,
)

from ..conftest import DATA_DIR

#: Where the documentation's path is not what the server serves (the server's spelling wins).
DOC_TO_SERVER = {
    "targets/cleanTargetDetailsCache/": "targets/cleanTargetDetailCache/",
    "upload/": "upload/",
    "calibFile/": "calibFile/",
}

#: server path → (public callable as "resource.method" on a Client, or "login"; module that sends it)
COROUTINES = {
    "api/token-auth/": ("login", None),
    "upload/": ("uploads.upload_file", uploads),
    "calibFile/": ("calibration.calibrate_file", calibration),
    "calibration/get-calibration-res/": ("calibration.results", calibration),
    "observatory/getObservatoryList/": ("observatories.list", observatories),
    "observatory/addFavouriteObservatory/": ("observatories.add_favourite", observatories),
    "observatory/createObservatory/": ("observatories.create", observatories),
    "observatory/updateObservatory/": ("observatories.update", observatories),
    "observatory/getFavouriteObservatory/": ("observatories.favourites", observatories),
    "observatory/deleteFavouriteObservatory/": ("observatories.remove_favourite", observatories),
    "targets/download-photometry/": ("targets.photometry", targets),
    "targets/download-radio/": ("targets.radio", targets),
    "targets/createTarget/": ("targets.create", targets),
    "targets/updateTarget/{name}/": ("targets.update", targets),
    "targets/getTargetList/": ("targets.list", targets),
    "targets/deleteTarget/": ("targets.delete", targets),
    "targets/get-plots/": ("targets.plots", targets),
    "targets/cleanTargetListCache/": ("targets.clean_list_cache", targets),
    "targets/cleanTargetDetailCache/": ("targets.clean_details_cache", targets),
    "targets/get-downloaded-target-list/": ("targets.downloads", targets),
    "targets/target-groups/": ("targets.groups", targets),
    "targets/targets-from-group/": ("targets.in_group", targets),
    "common/api/comments/": ("comments.list", comments),
    "common/api/data/": ("dataproducts.list", dataproducts),
    "common/api/deleteDataProduct/": ("dataproducts.delete", dataproducts),
    "common/api/reducedDatum/": ("reduced_data.list", reduced_data),
    "common/api/deleteReducedDatum/": ("reduced_data.delete", reduced_data),
    "common/api/deactivateReducedDatum/": ("reduced_data.deactivate", reduced_data),
    "calibration/restart-calib-by-id/": ("calibration.restart_by_id", calibration),
    "calibration/restart-calib-by-target/": ("calibration.restart_by_target", calibration),
    "calibration/restart-calib-by-dataproduct/": ("calibration.restart_by_dataproduct", calibration),
    "common/api/users/": ("users.list", users),
    "common/api/changeObservers/": ("dataproducts.change_observers", dataproducts),
    "common/api/downloadPhotometryFile/": ("dataproducts.photometry_file", dataproducts),
}

RESOURCES = {
    "targets": targets.TargetsAPI,
    "observatories": observatories.ObservatoriesAPI,
    "calibration": calibration.CalibrationAPI,
    "dataproducts": dataproducts.DataProductsAPI,
    "reduced_data": reduced_data.ReducedDataAPI,
    "comments": comments.CommentsAPI,
    "users": users.UsersAPI,
    "uploads": uploads.UploadsAPI,
}


def documented_paths() -> list[str]:
    """The documented endpoint paths (`tests/data/documented_endpoints.txt`), as the server spells them."""
    lines = (DATA_DIR / "documented_endpoints.txt").read_text(encoding="utf-8").splitlines()
    paths = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [DOC_TO_SERVER.get(path, path) for path in paths]


def test_the_documentation_lists_endpoints() -> None:
    """The walk finds the documented endpoints (so the test below cannot pass vacuously)."""
    assert len(documented_paths()) >= 30


@pytest.mark.parametrize("path", documented_paths())
def test_every_documented_path_has_a_coroutine(path: str) -> None:
    """A documented path with no coroutine fails here; so does a coroutine that never sends to it."""
    assert path in COROUTINES, f"documented endpoint {path} has no coroutine in bhtom_async"
    name, module = COROUTINES[path]
    if name == "login":
        assert inspect.iscoroutinefunction(bhtom_async.login)
        return
    if "." in name:
        resource, method = name.split(".")
        function = getattr(RESOURCES[resource], method)
    else:
        function = getattr(Client, name)
    assert callable(function)
    assert module is not None
    literal = "/" + path.split("{")[0]
    assert literal in inspect.getsource(module), f"{module.__name__} never sends to {literal}"
