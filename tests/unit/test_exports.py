"""The public API: each public module's `__all__` lists exactly what it defines; `py.typed` ships."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

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


def defined_names(module: ModuleType) -> set[str]:
    """Public names the module's source binds: defs, classes, assignments, `X as X` and `*` re-exports."""
    names: set[str] = set()
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*" and isinstance(node, ast.ImportFrom):
                    package = module.__name__ if hasattr(module, "__path__") else module.__package__
                    source = importlib.import_module("." * node.level + (node.module or ""), package)
                    names.update(source.__all__)
                elif alias.asname == alias.name:  # the explicit re-export form
                    names.add(alias.name)
    names.discard("__all__")
    return {name for name in names if not name.startswith("_") or name in PUBLIC_DUNDERS}


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_lists_exactly_what_the_module_defines(name: str) -> None:
    """A public name left out of `__all__`, or an `__all__` entry the module never binds, fails."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
    assert sorted(exported) == sorted(defined_names(module))
    for exported_name in exported:
        assert hasattr(module, exported_name), f"{name}.{exported_name}"


def test_the_definition_walk_sees_the_package() -> None:
    """The walk finds the client, the errors and the models (so the comparison cannot pass empty)."""
    found = defined_names(bhtom_async)
    assert {"Client", "login", "__version__", "BhtomError", "Target", "Uploader"} <= found


@pytest.mark.parametrize("name", ["bhtom_async", "bhtom_async.errors", "bhtom_async.upload"])
def test_all_is_sorted(name: str) -> None:
    """The top-level and hand-written `__all__` lists are kept sorted."""
    exported = list(importlib.import_module(name).__all__)
    assert exported == sorted(exported)


def test_every_error_and_model_is_exported() -> None:
    """All error classes and models are reachable from the top-level package."""
    assert set(bhtom_async.errors.__all__) <= set(bhtom_async.__all__)
    assert set(bhtom_async.models.__all__) <= set(bhtom_async.__all__)


def test_py_typed_is_shipped() -> None:
    """The package declares its types (PEP 561)."""
    assert (Path(bhtom_async.__file__).parent / "py.typed").exists()
