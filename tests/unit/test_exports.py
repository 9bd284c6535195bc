"""The public API is deliberate: each `__all__` lists exactly what its module makes public.

As httpx's tests/test_exported_members.py does: the names a module defines or imports under a
public name are compared with its `__all__`, both ways, so a public name can neither be added
without being exported nor be exported without existing.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
import types
from pathlib import Path

import pytest

import bhtom_async
import bhtom_async.models

#: Dunder names that are part of the public API although they start with "_".
PUBLIC_DUNDERS = {"__version__"}

#: The modules whose `__all__` is the public contract (the uploader's internals are not listed).
PUBLIC_MODULES = [
    "bhtom_async",
    "bhtom_async.errors",
    "bhtom_async.models",
    "bhtom_async.upload",
    *(
        info.name
        for info in pkgutil.iter_modules(bhtom_async.models.__path__, "bhtom_async.models.")
        if not info.name.rpartition(".")[2].startswith("_")
    ),
]

#: Public modules whose `__all__` is their contract (the uploader's internals are not listed).
PUBLIC_MODULES = [
    "bhtom_async",
    "bhtom_async.errors",
    "bhtom_async.models",
    "bhtom_async.night",
    "bhtom_async.poll",
    "bhtom_async.sync",
    "bhtom_async.testing",
    "bhtom_async.upload",
    "bhtom_async.web",
    *(
        info.name
        for info in pkgutil.iter_modules(bhtom_async.models.__path__, "bhtom_async.models.")
        if not info.name.rpartition(".")[2].startswith("_")
    ),
]


def public_names(module: types.ModuleType) -> set[str]:
    """Public names the module's own source binds: its classes, functions and constants, and the
    names it re-exports explicitly (``from .x import Y as Y``, the PEP 484 convention).

    Helpers it merely imports (``Mapping``, ``attrs``) are not part of its surface.
    """
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.ImportFrom, ast.Import)):
            names.update(
                a.asname for a in node.names if a.asname is not None and a.asname == a.name.split(".")[-1]
            )
    return {n for n in names if not n.startswith("_") or n == "__version__"} - {"__all__"}


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_matches_what_the_module_defines(name: str) -> None:
    """`__all__` equals the module's public names: nothing missing, nothing extra."""
    module = importlib.import_module(name)
    defined = public_names(module)
    exported = set(module.__all__)
    assert exported - defined == set(), f"{name}.__all__ lists names it does not define"
    assert defined - exported == set(), f"{name} defines public names missing from __all__"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted(name: str) -> None:
    """Each `__all__` is sorted, so a diff shows what changed."""
    exported = list(importlib.import_module(name).__all__)
    assert exported == sorted(exported)


def test_no_exported_name_shadows_a_builtin() -> None:
    """A star import of the package or its errors never hides a builtin (e.g. TimeoutError)."""
    for name in ("bhtom_async", "bhtom_async.errors", "bhtom_async.models"):
        clash = set(importlib.import_module(name).__all__) & set(dir(builtins))
        assert clash == set(), name


def test_top_level_holds_what_users_write_not_internals() -> None:
    """The client, the options and the outcomes are at the top; clocks and bodies are not."""
    exported = set(bhtom_async.__all__)
    assert {
        "Client",
        "login",
        "UploadOptions",
        "JobOptions",
        "PollOptions",
        "Uploader",
        "UploadSummary",
    } <= exported
    assert {
        "Clock",
        "ManualClock",
        "MultipartBody",
        "FilePart",
        "Pager",
        "ItemOutcome",
        "UNSET",
    } & exported == set()
    assert set(bhtom_async.errors.__all__) <= exported
    assert set(bhtom_async.models.__all__) <= exported


def test_py_typed_is_shipped() -> None:
    """The package declares its types (PEP 561)."""
    assert (Path(bhtom_async.__file__).parent / "py.typed").exists()
