"""Where and with what a benchmark ran: machine, Python, package versions, commit."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["describe"]

PACKAGES = ("bhtom_async", "httpx", "httpcore", "anyio", "h11", "starlette", "uvicorn", "matplotlib")
REPO = Path(__file__).resolve().parent.parent


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    return done.stdout.strip() or "unavailable"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> dict[str, Any]:
    """Machine, Python and package versions, and the git commit (``+dirty`` if uncommitted)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    dirty = _output(["git", "status", "--porcelain", "--untracked-files=no"])
    commit = _output(["git", "rev-parse", "--short", "HEAD"])
    return {
        "machine": {
            "platform": platform.platform(),
            "cpu_model": _cpu_model(),
            "cpus": cpus,
            "memory_gb": _memory_gb(),
            "commit": commit + ("+dirty" if dirty not in ("", "unavailable") else ""),
            "curl": _output(["curl", "--version"]).splitlines()[0],
        },
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "packages": {name: _version(name) for name in PACKAGES},
    }
