"""Every `bhtom ...` line in the README's and the docs' shell blocks names real commands and options.

A shell block is not run against a server (most need a night of frames and an account), but each
of its `bhtom` lines is parsed by the real command line with ``--help`` appended: an unknown
command or option (a renamed flag the docs still show) fails here, a missing value does not.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from bhtom_async.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def command_lines(page: Path) -> list[str]:
    """The page's `bhtom` command lines in bash/sh/console blocks (continuations joined)."""
    lines = []
    for block in re.findall(
        r"```(?:bash|sh|shell|console)\n(.*?)```", page.read_text(encoding="utf-8"), re.S
    ):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("bhtom "):
                lines.append(line.split(" #", 1)[0].split(" && ", 1)[0].split(" | ", 1)[0].strip())
    return lines


LINES = [(str(page.relative_to(ROOT)), line) for page in PAGES for line in command_lines(page)]


def test_the_docs_show_many_command_lines() -> None:
    """The collector finds the docs' command lines (a broken pattern would test nothing)."""
    assert len(LINES) >= 50
    assert {page for page, _ in LINES} >= {"README.md", "docs/cli.md", "docs/many-hosts.md"}


@pytest.mark.parametrize(("page", "line"), LINES, ids=[f"{p}:{i}" for i, (p, _) in enumerate(LINES)])
def test_a_documented_command_line_parses(page: str, line: str) -> None:
    """The line's commands and options exist (``--help`` stops before any value is used)."""
    args = shlex.split(line)[1:]
    result = CliRunner().invoke(cli, [*args, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, f"{page}: `{line}`\n{result.output}"
