"""Developer sessions: `nox -s tests lint typecheck`; `nox -s bench` and `nox -s soak` run long."""

from __future__ import annotations

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
