"""`bhtom completion`: click's completion scripts, and the bash one working in a real bash."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Run = Callable[..., Result]
BIN = str(Path(sys.executable).parent)


def complete_in_bash(script: str, *words: str) -> list[str]:
    """Load `script` in a real bash and ask it to complete `words` (the last one is being typed).

    This is what bash does on TAB: it sets COMP_WORDS and COMP_CWORD and calls the function the
    script registered with `complete -F`, which runs `bhtom` with click's completion variables.
    """
    program = (
        f"{script}\n"
        f"COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}\n"
        "_bhtom_completion bhtom\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("_BHTOM")}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    done = subprocess.run(["bash", "--norc", "--noprofile"], input=program, env=env,
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return done.stdout.split()


def test_bash_completes_up_to_upload(run_cli: Run) -> None:
    """`bhtom up<TAB>` completes to `bhtom upload` with the script `bhtom completion bash` prints."""
    assert shutil.which("bhtom", path=BIN) is not None, "bhtom is installed beside this Python"
    result = run_cli("completion", "bash")
    assert result.exit_code == 0
    assert complete_in_bash(result.stdout, "bhtom", "up") == ["upload"]


@pytest.mark.parametrize(
    ("shell", "registers"),
    [("zsh", "#compdef bhtom"), ("fish", "complete --no-files --command bhtom")],
)
def test_zsh_and_fish_scripts_register_bhtom(run_cli: Run, shell: str, registers: str) -> None:
    """The zsh and fish scripts are click's, registered for `bhtom` under _BHTOM_COMPLETE."""
    result = run_cli("completion", shell)
    assert result.exit_code == 0
    assert registers in result.stdout
    assert f"_BHTOM_COMPLETE={shell}_complete" in result.stdout


def test_an_unknown_shell_is_a_usage_error(run_cli: Run) -> None:
    """`bhtom completion tcsh` exits 2 naming the shells there are."""
    result = run_cli("completion", "tcsh")
    assert result.exit_code == 2
    assert "'bash', 'zsh', 'fish'" in result.stderr
