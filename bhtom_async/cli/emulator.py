"""`bhtom emulator`: run the local BHTOM emulator in the foreground (until Ctrl-C)."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path
from types import FrameType

import click

from ._core import CliState, pass_state
from ._params import NumberPair

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
    type=NumberPair(),
    default="5,10",
    show_default=True,
    metavar="C,P",
    help="Seconds a new upload spends in calibration states C, then P (as for python -m).",
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
        bhtom emulator --calibration-delays 0.5,1
        BHTOM_BASE_URL=http://127.0.0.1:8765 BHTOM_UPLOAD_URL=http://127.0.0.1:8766 bhtom whoami
    """
    from ..emulator.faults import FaultSpecError, parse_fault_spec
    from ..emulator.server import serve_forever

    if faults:
        try:
            parse_fault_spec(faults)
        except FaultSpecError as exc:
            raise click.BadParameter(f"{exc} (grammar: docs/emulator.md)", param_hint="--faults") from None

    # SIGTERM stops it as cleanly as Ctrl-C does (as `python -m bhtom_async.emulator` does).
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
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
    except OSError as exc:
        taken = [str(p) for p in (port, upload_port) if p and not _free(p)] or [f"{port}/{upload_port}"]
        click.secho(
            f"error: cannot serve on 127.0.0.1:{' and '.join(taken)} ({exc.strerror or exc}); "
            "another program is using it: stop it, or pick free ports with --port 0 --upload-port 0",
            fg="red",
            err=True,
        )
        sys.exit(3)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _free(port: int) -> bool:
    """True if nothing listens on the loopback `port` (bind test; the socket is closed at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
