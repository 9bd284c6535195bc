"""CLI fixtures: a click runner that keeps stdout and stderr apart."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bhtom_async.cli.main import cli


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Factory: `run_cli("whoami", "--json", input=...)` runs `bhtom` in-process (never a terminal)."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False)

    return invoke


def parse_json(text: str) -> Any:
    """The single JSON document a `--json` command printed."""
    return json.loads(text)
