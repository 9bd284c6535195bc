"""The benchmark's wire floor (`benchmarks.contenders.wire_floor_upload`) against the emulator.

It sets the bound the latency notes compare us with, so it must really store every file, each
once and intact, and must count a refusal as a failure rather than as work done.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from benchmarks import contenders
from benchmarks.scenarios import _job
from benchmarks.workload import write_catalogues
from bhtom_async.emulator import Emulator

CATALOGUE = {"pattern": "*.cat", "data_product_type": "photometry", "mjd": 60000.5}


def test_the_wire_floor_stores_every_file_once_and_intact(emulator: Emulator, tmp_path: Path) -> None:
    """Five catalogues over two kept-alive connections: five 201s, each stored once with its bytes."""
    paths = write_catalogues(tmp_path, 5, 3_000)
    result = contenders.run(_job(emulator, "wire_floor", tmp_path, concurrency=2, **CATALOGUE))
    assert result == {"ok": 5, "failed": 0, "errors": []}
    for path in paths:
        stored = emulator.state.dataproducts_by_sha256(hashlib.sha256(path.read_bytes()).hexdigest())
        assert [p.file_name for p in stored] == [path.name]


def test_a_refused_wire_floor_counts_failures_not_work(emulator: Emulator, tmp_path: Path) -> None:
    """A token the server does not know: every request is answered 401 and none counts as done."""
    write_catalogues(tmp_path, 3, 3_000)
    job = {**_job(emulator, "wire_floor", tmp_path, concurrency=2, **CATALOGUE), "token": "0" * 40}
    result = contenders.run(job)
    assert result == {"ok": 0, "failed": 3, "errors": [401, 401, 401]}
    assert emulator.state.dataproducts_by_file_name(next(tmp_path.glob("*.cat")).name) == []
