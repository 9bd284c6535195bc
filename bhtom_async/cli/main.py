"""The `bhtom` entry point: the click group, global options and command registration.

Exit codes: 0 success (all uploaded or skipped), 1 some failed, 2 usage error, 3 fatal (bad token,
unknown target, camera not in favourites, configuration), 4 some outcomes unknown.
"""

from __future__ import annotations

import click

from .._version import __version__
from . import account, calibration, community, data, observatories, targets, upload
from ._core import BhtomGroup, CliState
from .demo import demo
from .emulator import emulator

__all__ = ["cli", "main"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=BhtomGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--base-url", metavar="URL", help="Main BHTOM site (default: env, config file, then BHTOM2).")
@click.option("--upload-url", metavar="URL", help="Upload service (default: env, config, then BHTOM2's).")
@click.option(
    "--token",
    metavar="TOKEN",
    help="API token. Discouraged (it shows in `ps`); prefer BHTOM_TOKEN or `bhtom login`.",
)
@click.option("--json", "json_", is_flag=True, help="Machine-readable JSON on stdout (see docs/cli.md).")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="bhtom")
@click.pass_context
def cli(
    ctx: click.Context,
    base_url: str | None,
    upload_url: str | None,
    token: str | None,
    json_: bool,
    verbose: bool,
) -> None:
    """Talk to BHTOM2 from the shell: upload a night of frames, fetch light curves, and more.

    \b
    Start here (no account needed; runs a local emulator):
        bhtom demo
    Then, with a real account:
        bhtom login
        bhtom upload night/*.fits --target Gaia22bpl --observatory MyObs_MyCam --wait

    Exit codes: 0 ok, 1 some failed, 2 usage error, 3 fatal (token, target, camera, config),
    4 some outcomes unknown.
    """
    ctx.obj = CliState(base_url=base_url, upload_url=upload_url, token=token, json=json_, verbose=verbose)


account.register(cli)
upload.register(cli)
calibration.register(cli)
data.register(cli)
targets.register(cli)
observatories.register(cli)
community.register(cli)
cli.add_command(emulator)
cli.add_command(demo)


def main() -> None:
    """Console-script entry point (`bhtom`)."""
    cli(prog_name="bhtom")
