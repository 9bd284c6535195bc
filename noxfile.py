"""Developer sessions: `nox -s tests lint typecheck`; `nox -s bench` and `nox -s soak` run long."""

from __future__ import annotations

import pathlib
import shutil
import tempfile

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (unit + integration against the emulator on loopback)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", "bhtom_async", "tests", "benchmarks", "examples")
    session.run("ruff", "format", "--check", "bhtom_async", "tests", "benchmarks", "examples")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and the public-API typing file."""
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the emulator (all eight scenarios; `-- --quick` or `-- --scenario NAME`).

    Writes benchmarks/results/ and regenerates benchmarks/README.md; matplotlib (astro) draws the plots.
    """
    session.install("-e", ".[dev,astro]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """The exactly-once soak: 2,000 frames, faults, a skewed server clock, overlapping runs and
    20 kill -9 cycles, then the emulator's state checked file by file (`-- --kills N` ...)."""
    session.install("-e", ".[cli,emulator]")
    session.run("python", "-m", "benchmarks.soak", *session.posargs)


@nox.session(name="soak-hosts")
def soak_hosts(session: nox.Session) -> None:
    """The many-hosts soak: three workers on three mount paths share a PostgreSQL journal; 2,000
    frames, faults, skewed clocks, kill -9, a PostgreSQL restart; checked file by file."""
    session.install("-e", ".[cli,emulator,postgres]", "pgserver>=0.1.4")
    session.run("python", "-m", "benchmarks.soak_hosts", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: upload + calibration against the embedded emulator."""
    session.install("-e", ".[all]")
    session.run("bhtom", "demo")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml) built with --strict: a broken link or reference fails.

    Writes site/ (or where `-- --site-dir DIR` says).
    """
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *(session.posargs or ["--site-dir", "site"]),
                env={"NO_MKDOCS_2_WARNING": "1"})  # fmt: skip


# ---- the release -----------------------------------------------------------------------------

#: What the wheel must hold, and what it must not.
WHEEL_MUST_HOLD = ("bhtom_async/__init__.py", "bhtom_async/py.typed", "bhtom_async/cli/main.py")
WHEEL_MUST_NOT_START = ("tests/", "benchmarks/", "docs/", "examples/")
#: What a packager needs in the sdist to build and run the test suite.
SDIST_MUST_HOLD = (
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    "noxfile.py",
    "bhtom_async/py.typed",
    "tests/conftest.py",
    "tests/data/README.md",
    "tests/integration/test_readme.py",
    "docs/uploads.md",
    "examples/quickstart.ipynb",
    "benchmarks/__init__.py",
)


@nox.session
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel, check them, and run the wheel in a fresh venv.

    Checks: `twine check --strict`; the wheel holds the package and its py.typed and no tests;
    the sdist holds the tests, their data, the docs and the examples (a packager runs the suite
    from it). Then `bhtom --version` and `bhtom demo --no-plot` run from the built wheel,
    installed with its `cli` and `emulator` extras into a venv of its own.
    """
    session.install("build", "twine")
    dist = pathlib.Path(tempfile.mkdtemp(prefix="bhtom-dist-"))
    try:
        _build_and_try(session, dist)
    finally:
        shutil.rmtree(dist, ignore_errors=True)


def _build_and_try(session: nox.Session, dist: pathlib.Path) -> None:
    session.run("python", "-m", "build", "--outdir", str(dist))
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        session.error(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    session.run("twine", "check", "--strict", str(wheels[0]), str(sdists[0]))
    _check_wheel(session, wheels[0])
    _check_sdist(session, sdists[0])
    venv = dist / "fresh-venv"
    session.run("python", "-m", "venv", str(venv))
    python, bhtom = str(venv / "bin" / "python"), str(venv / "bin" / "bhtom")
    session.run(python, "-m", "pip", "install", "--quiet", f"{wheels[0]}[cli,emulator]", external=True)
    session.run(bhtom, "--version", external=True)
    session.run(bhtom, "demo", "--no-plot", external=True)


def _check_wheel(session: nox.Session, wheel: pathlib.Path) -> None:
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = [name for name in WHEEL_MUST_HOLD if name not in names]
    stray = sorted(name for name in names if name.startswith(WHEEL_MUST_NOT_START))
    if missing or stray:
        session.error(f"wheel: missing {missing}, should not hold {stray[:5]}")
    session.log(f"wheel: {len(names)} files, package and py.typed present, no tests")


def _check_sdist(session: nox.Session, sdist: pathlib.Path) -> None:
    import tarfile

    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = [name for name in SDIST_MUST_HOLD if name not in names]
    if missing:
        session.error(f"sdist: missing {missing}")
    # From a git checkout (CI's clone), the sdist is exactly the tracked files: nothing left out
    # a packager's test run needs, and no leftovers of the test run before it (.hypothesis/ ...).
    if pathlib.Path(".git").exists():
        tracked = set(str(session.run("git", "ls-files", silent=True, external=True)).split())
        left_out, extra = sorted(tracked - names), sorted(names - tracked - {"PKG-INFO"})
        if left_out or extra:
            session.error(f"sdist: tracked files left out {left_out[:5]}, untracked files in it {extra[:5]}")
    session.log(f"sdist: {len(names)} files, tests, their data, docs and examples present")
