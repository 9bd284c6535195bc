"""The `bhtom` entry point: the click group, global options and command registration.

Exit codes (docs/cli.md): 0 success, 1 some failed, 2 usage error, 3 fatal (bad token, unknown
target, camera not in favourites, configuration, journal), 4 some outcomes unknown, 5 upload
incomplete, 6 nothing to upload, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import click

from .._version import __version__
from . import account, calibration, community, data, journal, observatories, serve, targets, upload
from ._core import BhtomGroup, CliState, merge_state
from .completion import completion
from .demo import demo
from .doctor import doctor
from .emulator import emulator
from .output import FORMATS

__all__ = ["cli", "main"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group("bhtom", cls=BhtomGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--base-url", metavar="URL", help="Main BHTOM site (default: env, config file, then BHTOM2).")
@click.option("--upload-url", metavar="URL", help="Upload service (default: env, config, then BHTOM2's).")
@click.option(
    "--token",
    metavar="TOKEN",
    help="API token. Discouraged (it shows in `ps`); prefer BHTOM_TOKEN or `bhtom login`.",
)
@click.option(
    "--profile", metavar="NAME", help="Saved profile to use (default: BHTOM_PROFILE, then default)."
)
@click.option("--json", "json_", is_flag=True, help="Machine-readable JSON on stdout (same as -o json).")
@click.option(
    "-o",
    "--output",
    type=click.Choice(FORMATS),
    help="table (default), json (one document), jsonl (one object per line) or csv.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="bhtom")
@click.pass_context
def cli(ctx: click.Context, /, **given: object) -> None:
    """Talk to BHTOM2 from the shell: upload a night of frames, fetch light curves, and more.

    \b
    Start here (no account needed; runs a local emulator):
        bhtom demo
    Then, with a real account:
        bhtom login
        bhtom doctor --target Gaia22bpl --observatory MyObs_MyCam     # before a night
        bhtom upload night/*.fits --target Gaia22bpl --observatory MyObs_MyCam --wait

    Global options may also follow the command: `bhtom results 5 --json`.

    Exit codes: 0 ok, 1 some failed, 2 usage error, 3 fatal (token, target, camera, config,
    journal), 4 some outcomes unknown, 5 upload incomplete, 6 nothing to upload, 130 Ctrl-C,
    143 SIGTERM (details: bhtom upload --help).
    """
    ctx.obj = merge_state(CliState(), given)


account.register(cli)
upload.register(cli)
calibration.register(cli)
data.register(cli)
targets.register(cli)
observatories.register(cli)
community.register(cli)
serve.register(cli)
journal.register(cli)
cli.add_command(emulator)
cli.add_command(demo)
cli.add_command(doctor)
cli.add_command(completion)


def main() -> None:
    """Console-script entry point (`bhtom`)."""
    cli(prog_name="bhtom")
