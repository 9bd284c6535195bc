"""README and docs examples are tests: every python block runs against the emulator.

A README block stands alone. A docs page's blocks run in order in one namespace, as a reader
types them into `python -m asyncio` or a notebook (a top-level ``await`` or ``async with`` works).
"""

from __future__ import annotations

import ast
import inspect
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def python_blocks(page: Path) -> list[str]:
    """The page's fenced python blocks, in order."""
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)


BLOCKS = python_blocks(README)
PAGES = {
    str(page.relative_to(ROOT)): found
    for page in sorted((ROOT / "docs").rglob("*.md"))
    if (found := python_blocks(page))
}


@pytest.fixture
def reader_setup(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What a reader has: the token and hosts in the environment, and a night of frames in `night/`."""
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
    return tmp_path


def test_readme_has_examples() -> None:
    """The README carries at least the quick example and the upload example."""
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs_against_the_emulator(
    block: str, reader_setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The block runs as written, with the token and hosts taken from the environment."""
    exec(compile(block, str(README), "exec"), {"__name__": "readme"})  # noqa: S102
    printed = capsys.readouterr().out
    assert printed.strip(), "the example printed nothing"
    assert "Traceback" not in printed


def test_the_docs_pages_with_python_examples_are_all_collected() -> None:
    """Every docs page's python blocks are found (the emulator guide has five)."""
    assert len(PAGES.get("docs/emulator.md", [])) == 5


@pytest.mark.parametrize("page", sorted(PAGES))
def test_docs_page_blocks_run_in_order(page: str, reader_setup: Path) -> None:
    """Each block of the page runs, in order, in the namespace the blocks before it left."""
    namespace: dict[str, object] = {"__name__": "docs"}
    for number, block in enumerate(PAGES[page], 1):
        code = compile(block, f"{page} (block {number})", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        outcome = eval(code, namespace)  # noqa: S307 - our own documentation's examples
        if inspect.iscoroutine(outcome):
            anyio.run(_awaited, outcome)


async def _awaited(coroutine: object) -> None:
    assert inspect.iscoroutine(coroutine)
    await coroutine
