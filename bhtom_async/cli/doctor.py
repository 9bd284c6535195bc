"""`bhtom doctor`: check everything tonight's uploads need, one line per check with its fix."""

from __future__ import annotations

from pathlib import Path

import click

from ..doctor import Check, DoctorOptions, diagnose
from ._core import BhtomCommand, CliState, ExitCode, make_client, pass_state, run

__all__ = ["doctor"]

_MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
_COLOUR = {"ok": "green", "warn": "yellow", "fail": "red"}


@click.command(cls=BhtomCommand)
@click.option("--target", metavar="NAME", help="The target tonight's frames go to (exact name).")
@click.option("--observatory", metavar="ONAME", help="The camera's ONAME, e.g. MyObs_MyCam.")
@click.option("--journal", metavar="PATH", help="The journal to check (default: the uploader's default).")
@click.option(
    "--watch-folder",
    type=click.Path(file_okay=True, path_type=Path),
    help="The folder a watch would read.",
)
@pass_state
def doctor(
    state: CliState,
    target: str | None,
    observatory: str | None,
    journal: str | None,
    watch_folder: Path | None,
) -> None:
    """Check, before a night, that uploads will work: one line per check, with the fix.

    Checks the token and account, that both hosts answer (and how fast), the server's clock
    against ours, the target (exact name), the camera (exists, active, in your favourites: one
    dry-run upload of a blank frame, which the server does not store), the journal (opens for
    writing, not held by another job, room on its disk), the watch folder and proxy variables.

    Exit status: 0 when nothing fails (warnings allowed), 1 when a check fails.

    \b
    Example:
        bhtom doctor --target Gaia22bpl --observatory MyObs_MyCam --watch-folder /data/night
        bhtom doctor --json
    """
    options = DoctorOptions(
        target=target, observatory=observatory, journal=journal, watch_folder=watch_folder
    )
    checks: list[Check] = run(_diagnose, state, options)
    failed = any(check.status == "fail" for check in checks)
    if state.json:
        state.emit(
            {
                "ok": not failed,
                "checks": [
                    {"name": c.name, "status": c.status, "message": c.message, "fix": c.fix} for c in checks
                ],
            }
        )
    else:
        width = max(len(check.name) for check in checks)
        for check in checks:
            mark = click.style(_MARK[check.status], fg=_COLOUR[check.status])
            fix = f" -> fix: {check.fix}" if check.fix and check.status != "ok" else ""
            click.echo(f"{mark}  {check.name.ljust(width)}  {check.message}{fix}")
    if failed:
        raise SystemExit(ExitCode.SOME_FAILED)


async def _diagnose(state: CliState, options: DoctorOptions) -> list[Check]:
    async with make_client(state) as bh:
        return await diagnose(bh, options)
