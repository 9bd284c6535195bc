"""Data flows one way: a walk over every import (lazy and type-only ones too) enforces the layers.

Each module belongs to a layer; it may import modules of its own layer or any lower one,
nothing higher, and no import cycle may exist between modules. There are no exceptions.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import bhtom_async

PACKAGE = Path(bhtom_async.__file__).parent

#: Lower number = lower layer. A module imports only from its own group or lower ones.
LAYERS: dict[str, int] = {
    # leaves: values and settings everyone may use
    "_version": 0,
    "errors": 0,
    "_secret": 0,
    "_clock": 0,
    "_config": 0,
    "_keyring": 0,
    "models": 0,
    "_display": 0,
    "_private": 0,
    # the request builder and what it leans on
    "_logging": 1,
    "_error_body": 1,
    "_status": 1,
    "_retry": 1,
    "_ratelimit": 1,
    "_multipart": 1,
    "_http": 2,
    # engines the endpoints hand their fetches to
    "_paginate": 3,
    "poll": 3,
    # endpoint calls, then the client that owns them
    "api": 4,
    "client": 5,
    # what builds on a client
    "upload": 6,
    "testing": 6,
    "sync": 7,
    "doctor": 7,
    # what reads a job's events: the night they fold into, and the page and metrics showing it
    "night": 7,
    "web": 7,
    "cli": 8,
    # the package's public face imports everything below it
    "__init__": 9,
}
#: The emulator is a separate program; it imports nothing of the client side.
ISOLATED = {"emulator"}


@functools.cache
def modules() -> dict[str, ast.Module]:
    """Every module of the package, parsed once per test process (the tests only read them)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def imported_modules(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The package modules `name` imports anywhere (module-level, lazy or under TYPE_CHECKING)."""
    package_parts = name.split(".")[:-1]  # the package a relative import starts from
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - (node.level - 1)]
                stem = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.startswith("bhtom_async"):
                stem = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                candidate = ".".join([*stem, alias.name])
                is_module = candidate in known or f"{candidate}.__init__" in known
                targets.append(candidate if is_module else ".".join(stem))
        elif isinstance(node, ast.Import):
            targets = [a.name.split(".", 1)[1] for a in node.names if a.name.startswith("bhtom_async.")]
        for target in targets:
            resolved = _resolve(target, known)
            if resolved is not None and resolved != name:
                found.add(resolved)
    return found


def _resolve(target: str, known: set[str]) -> str | None:
    if target in known:
        return target
    if f"{target}.__init__" in known:
        return f"{target}.__init__"
    return "__init__" if target == "" else None


def group(name: str) -> str:
    return name.split(".")[0]


@functools.cache
def graph() -> dict[str, set[str]]:
    trees = modules()
    known = set(trees)
    return {name: imported_modules(name, tree, known) for name, tree in trees.items()}


def test_every_module_has_a_layer() -> None:
    """A new top-level module must be placed in a layer before it can land."""
    unplaced = sorted({group(name) for name in modules()} - set(LAYERS) - ISOLATED)
    assert unplaced == []


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


def test_psycopg_is_imported_only_by_the_postgres_journal() -> None:
    """PostgreSQL stays behind upload/journal_pg.py and its schema: the rest sees `UploadJournal`."""

    def imports_psycopg(node: ast.AST) -> bool:
        if isinstance(node, ast.Import):
            return any(a.name.split(".")[0].startswith("psycopg") for a in node.names)
        return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0].startswith("psycopg")

    users = sorted(
        {name for name, tree in modules().items() for node in ast.walk(tree) if imports_psycopg(node)}
    )
    assert users == ["upload.journal_pg", "upload.journal_pg_schema"]


def test_no_module_imports_a_higher_layer() -> None:
    """cli → sync → upload → client → api → poll/_paginate → _http → leaves; never the other way."""
    violations = []
    for name, targets in graph().items():
        if group(name) in ISOLATED:
            continue
        for target in targets:
            if group(target) == group(name) or group(target) in ISOLATED:
                continue
            if LAYERS[group(target)] > LAYERS[group(name)]:
                violations.append(f"{name} imports {target}")
    assert violations == []


def test_there_is_no_import_cycle() -> None:
    """No two modules import each other, directly or through others (lazy imports count too)."""
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if nxt.endswith("__init__") and node.startswith(nxt.rsplit(".", 1)[0] if "." in nxt else ""):
                continue  # a module importing its own package's re-exports is the package, not a cycle
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt] if nxt in path else [*path, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_the_client_imports_nothing_that_uses_it() -> None:
    """client.py imports no uploader, poller front end, sync facade or CLI: they take the client."""
    assert {group(t) for t in graph()["client"]} & {"upload", "sync", "cli"} == set()


def test_emulator_imports_nothing_from_the_client() -> None:
    """A shared converter would let one serialisation bug pass both sides of a test."""
    for name, targets in graph().items():
        if group(name) == "emulator":
            assert {group(t) for t in targets} <= {"emulator"}, name


def test_the_walk_sees_imports() -> None:
    """The import walk finds known edges (so the tests above cannot pass vacuously)."""
    edges = graph()
    assert "_http" in edges["client"] or "api._resource" in edges["client"]
    assert "errors" in edges["_http"]
    assert "poll" in edges["api.calibration"]
    assert "client" in edges["upload.scheduler"]
