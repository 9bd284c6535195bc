"""Data flows one way: a walk over the imports enforces the layering."""

from __future__ import annotations

import ast
from pathlib import Path

import bhtom_async

PACKAGE = Path(bhtom_async.__file__).parent
LEAVES = {"errors", "_clock", "_secret", "_config", "_error_body", "_version", "models"}
FORBIDDEN = {
    # module prefix: packages it must not import
    "models": {"api", "client", "upload", "poll", "cli", "_http", "_retry", "_paginate", "emulator"},
    "errors": {"api", "client", "upload", "poll", "cli", "_http", "models", "emulator"},
    "_http": {"api", "client", "upload", "poll", "cli", "models", "emulator"},
    "_retry": {"api", "client", "upload", "poll", "cli", "models", "_http", "emulator"},
    "_paginate": {"api", "client", "upload", "poll", "cli", "_http", "emulator"},
    "api": {"client", "upload", "poll", "cli", "emulator"},
    "poll": {"client", "upload", "cli", "emulator"},
    "upload": {"cli", "emulator"},
    "client": {"cli", "emulator"},
}


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def imported(name: str, tree: ast.Module) -> set[str]:
    """Top-level bhtom_async subpackages/modules imported by module `name`."""
    package_parts = name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = (
                    package_parts[: len(package_parts) - (node.level - 1)]
                    if node.level > 1
                    else package_parts
                )
                full = [*base, *(node.module.split(".") if node.module else [])]
                if full:
                    targets.add(full[0])
                else:
                    targets.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("bhtom_async."):
                targets.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            targets.update(a.name.split(".")[1] for a in node.names if a.name.startswith("bhtom_async."))
    return targets


def test_httpx_is_imported_only_by_the_http_module() -> None:
    """httpx stays behind _http.py (the emulator's own tests may use it; the emulator does not)."""
    users = sorted(
        name
        for name, tree in modules().items()
        for node in ast.walk(tree)
        if (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "httpx" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "httpx")
    )
    assert users == ["_http"]


def test_lower_layers_never_import_upward() -> None:
    """cli → upload/poll → api → _http; models and errors are leaves."""
    violations = []
    for name, tree in modules().items():
        top = name.split(".")[0]
        banned = FORBIDDEN.get(top, set())
        bad = imported(name, tree) & banned
        if bad:
            violations.append(f"{name} imports {sorted(bad)}")
    assert violations == []


def test_emulator_imports_nothing_from_the_client() -> None:
    """A shared converter would let one serialisation bug pass both sides of a test."""
    for name, tree in modules().items():
        if name.startswith("emulator"):
            assert imported(name, tree) <= {"emulator"}, name


def test_leaves_import_only_leaves() -> None:
    """errors, _clock, _secret, _config and models import only each other."""
    for name, tree in modules().items():
        if name.split(".")[0] in LEAVES:
            assert imported(name, tree) <= LEAVES | {name.split(".")[0]}, name
