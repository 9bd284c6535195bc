"""`bhtom emulator`: run the local BHTOM emulator in the foreground (until Ctrl-C)."""

from __future__ import annotations

from pathlib import Path

import click

from ._core import CliState, pass_state

__all__ = ["emulator"]


@click.command()
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Main site port."
)
@click.option(
    "--upload-port",
    type=click.IntRange(0, 65535),
    default=8766,
    show_default=True,
    help="Upload service port.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the emulator's data in this file across restarts.",
)
@click.option(
    "--faults",
    metavar="SPEC",
    help="Inject faults, e.g. 'upload:error=503:p=0.1;upload:reset_after_store:times=2' (docs/emulator.md).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for tokens and ids.")
@click.option(
    "--calibration-delays",
    "delays",
    type=(float, float),
    default=(5.0, 10.0),
    show_default=True,
    metavar="C P",
    help="Seconds a new upload spends in calibration states C, then P.",
)
@click.option(
    "--seed-dirty",
    is_flag=True,
    help="Also seed rows like the real database holds (NULL flags and arrays, odd observers, "
    "an empty status letter, NaN photometry, names with ; . .. and non-ASCII).",
)
@pass_state
def emulator(
    state: CliState,
    port: int,
    upload_port: int,
    state_file: Path | None,
    faults: str | None,
    seed: int,
    delays: tuple[float, float],
    seed_dirty: bool,
) -> None:
    """Run a local BHTOM emulator on loopback (needs the emulator extra). Ctrl-C stops it.

    It prints the URLs and the seeded accounts' tokens; point `bhtom` at it with --base-url and
    --upload-url (or BHTOM_BASE_URL / BHTOM_UPLOAD_URL).

    \b
    Example:
        bhtom emulator --port 8765 --upload-port 8766 --state emu.sqlite3
        bhtom emulator --faults 'upload:error=503:p=0.1;upload:reset_after_store:times=2'
        BHTOM_BASE_URL=http://127.0.0.1:8765 BHTOM_UPLOAD_URL=http://127.0.0.1:8766 bhtom whoami
    """
    from ..emulator.faults import FaultSpecError, parse_fault_spec
    from ..emulator.server import serve_forever

    if faults:
        try:
            parse_fault_spec(faults)
        except FaultSpecError as exc:
            raise click.BadParameter(f"{exc} (grammar: docs/emulator.md)", param_hint="--faults") from None

    serve_forever(
        port=port,
        upload_port=upload_port,
        state_file=state_file,
        faults=faults,
        seed=seed,
        calibration_delays=delays,
        announce=click.echo,
        seed_dirty=seed_dirty,
    )
