"""Runs one contender in its own process and measures it from outside.

Inside, the contender times its own work (``work_s``, ``cpu_s``, ``peak_rss_mb``; see
`benchmarks.contenders`). Outside, this adds the process's wall time and CPU (from ``wait4``) and
the CPU the emulator spent meanwhile: the emulator runs in this process, which otherwise only
waits, so this process's own CPU time over the run is the server's.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["ContenderFailed", "run_contender"]

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 1200.0


class ContenderFailed(RuntimeError):
    """The contender's process crashed or printed no result."""


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _start_control() -> tuple[subprocess.Popen[bytes], Any]:
    """An idle heartbeat process (see `contenders.control_heartbeat`), stopped by SIGTERM."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _stop_control)
    job = json.dumps({"contender": "control", "kind": "control"})
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.contenders", job], stdout=out, cwd=REPO)
    time.sleep(0.5)  # let it import and start beating before the measured run starts
    return process, out


def _stop_control(process: subprocess.Popen[bytes], out: Any) -> dict[str, Any] | None:
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    out.seek(0)
    lines = out.read().decode().strip().splitlines()
    out.close()
    if not lines:
        return None
    lag: dict[str, Any] = json.loads(lines[-1])["lag_ms"]
    return lag


def run_contender(
    job: dict[str, Any], *, timeout: float = TIMEOUT_S, control: bool = False
) -> dict[str, Any]:
    """Run `job` in a fresh ``python -m benchmarks.contenders`` process; its result plus outside figures.

    With `control`, an idle heartbeat process runs beside it and its lag is added as
    ``control_lag_ms``: the machine's scheduling noise during the run.

    Raises:
        ContenderFailed: the process exited without printing a result, or ran past `timeout`.
    """
    command = [sys.executable, "-m", "benchmarks.contenders", json.dumps(job)]
    beside = _start_control() if control else None
    try:
        result = _run(command, job, timeout)
    finally:
        control_lag = _stop_control(*beside) if beside is not None else None
    if control_lag is not None:
        result["control_lag_ms"] = control_lag
    return result


def _run(command: list[str], job: dict[str, Any], timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        server0, started = _self_cpu(), time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=REPO)
        while True:
            # WNOHANG and a short sleep, rather than a blocking wait4, so a hung contender is killed.
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - started
        server_cpu = _self_cpu() - server0
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = out.read().decode().strip().splitlines()
        error_text = err.read().decode()[-2000:]
    if not lines:
        raise ContenderFailed(
            f"{job['contender']} exited with {process.returncode} and no result; stderr:\n{error_text}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    result["wall_s"] = round(wall, 3)
    result["process_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)
    result["server_cpu_s"] = round(server_cpu, 3)
    return result
