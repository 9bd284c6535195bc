"""README examples are tests: every python block runs against the emulator."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_examples() -> None:
    """The README carries at least the quick example and the upload example."""
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs_against_the_emulator(
    block: str,
    emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The block runs as written, with the token and hosts taken from the environment."""
    monkeypatch.setenv("BHTOM_TOKEN", emulator.tokens["alice"])
    monkeypatch.setenv("BHTOM_BASE_URL", emulator.base_url)
    monkeypatch.setenv("BHTOM_UPLOAD_URL", emulator.upload_url)
    monkeypatch.chdir(tmp_path)
    night = tmp_path / "night"
    night.mkdir()
    for index in range(3):
        frame = night / f"frame_{index}.fits"
        frame.write_bytes(fits_bytes(index, mjd=60827.9 + index / 100))
        os.utime(frame, (1_700_000_000, 1_700_000_000))  # written earlier tonight, not still growing
    exec(compile(block, str(README), "exec"), {"__name__": "readme"})  # noqa: S102
    printed = capsys.readouterr().out
    assert printed.strip(), "the example printed nothing"
    assert "Traceback" not in printed
