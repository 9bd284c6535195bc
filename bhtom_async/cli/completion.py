"""`bhtom completion bash|zsh|fish`: the shell completion script, from click's own machinery."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

__all__ = ["COMPLETE_VAR", "completion"]

#: The variable click's completion protocol sets when the shell asks `bhtom` for completions.
COMPLETE_VAR = "_BHTOM_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Commands, options and choices complete with TAB once the script is loaded.

    \b
    Example (install it once):
        bash:  echo 'eval "$(bhtom completion bash)"' >> ~/.bashrc
        zsh:   echo 'eval "$(bhtom completion zsh)"' >> ~/.zshrc
        fish:  bhtom completion fish > ~/.config/fish/completions/bhtom.fish
    """
    found = get_completion_class(shell)
    if found is None:  # click knows all three; a future click dropping one is a clear error
        raise click.UsageError(f"click has no completion for {shell}")
    root = ctx.find_root()
    script = found(root.command, {}, root.info_name or "bhtom", COMPLETE_VAR).source()
    click.echo(script)
