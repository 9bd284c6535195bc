"""`bhtom demo`: the whole job against the embedded emulator, in well under a minute.

Starts the emulator on a free loopback port, logs in as the seeded user ``alice``, makes sure the
camera is a favourite, creates a target, writes a night of synthetic FITS frames, uploads them
concurrently with the progress display, waits for calibration and prints the light curve (and
saves a plot when matplotlib is installed). Nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import importlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import click

from ..client import Client, login
from ..models.uploads import UploadOptions
from ..poll import PollOptions
from ..upload.options import JobOptions
from . import output
from ._core import BhtomCommand, CliState, ExitCode, pass_state, run
from .calibration import print_results, results_exit_code
from .fits_synth import night_of_frames, write_frame
from .plan import Plan
from .progress import JobReport
from .shapes import calibration_json
from .upload_job import UploadRequest, run_job

if TYPE_CHECKING:
    from ..models.calibration import CalibrationResult

__all__ = ["demo"]

USER = "alice"
CAMERA = "HarnessObs_HarnessCam"


@click.command(cls=BhtomCommand)
@click.option(
    "--frames", type=click.IntRange(1, 200), default=12, show_default=True, help="Frames in the night."
)
@click.option(
    "--concurrency", type=click.IntRange(1, 32), default=4, show_default=True, help="Parallel uploads."
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("bhtom-demo-lightcurve.png"),
    show_default=True,
    help="Where to save the light-curve plot (needs matplotlib, the astro extra).",
)
@click.option("--no-plot", is_flag=True, help="Do not save a plot.")
@pass_state
def demo(state: CliState, frames: int, concurrency: int, plot_path: Path, no_plot: bool) -> None:
    """Run the whole job against a local emulator: upload a night of frames, get the light curve.

    Needs the emulator extra (`pip install 'bhtom_async[emulator]'`). Nothing leaves your machine.

    \b
    Example:
        bhtom demo
        bhtom --json demo --frames 20 --no-plot
    """
    say = _Say(quiet=state.json)
    started = time.monotonic()
    results, target = run(_demo, state, say, frames, concurrency)
    elapsed = time.monotonic() - started
    saved = None if no_plot else _save_plot(results, target, plot_path, say)
    code = results_exit_code(results, waited=True)
    if state.json:
        state.emit(
            {
                "target": target,
                "frames": frames,
                "seconds": round(elapsed, 2),
                "plot_path": str(saved) if saved else None,
                "results": [calibration_json(r) for r in sorted(results, key=_by_mjd)],
            }
        )
    else:
        print_results(results, title=f"Calibrated light curve of {target}")
        good = sum(1 for r in results if r.is_done and r.magnitude is not None)
        click.echo(f"{good}/{len(results)} frames calibrated in {elapsed:.1f} s.")
        if code == ExitCode.OK:
            click.echo("Next: `bhtom login` with your BHTOM account, then `bhtom upload --help`.")
    if code:
        raise SystemExit(int(code))


class _Say:
    """Numbered step lines (suppressed with --json)."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.step = 0

    def __call__(self, message: str) -> None:
        self.step += 1
        if not self.quiet:
            click.secho(f"[{self.step}] {message}", bold=output.is_terminal())


def _by_mjd(result: CalibrationResult) -> tuple[bool, float, int]:
    return (result.mjd is None, result.mjd or 0.0, result.dataproduct_id or 0)


async def _demo(
    state: CliState, say: _Say, frames: int, concurrency: int
) -> tuple[list[CalibrationResult], str]:
    from ..emulator import Emulator

    async with Emulator(calibration_delays=(0.2, 1.0)) as emu:
        say(f"Emulator running at {emu.base_url} (uploads at {emu.upload_url})")
        token = await login(USER, emu.passwords[USER], base_url=emu.base_url)
        say(f"Logged in as {USER!r}")
        async with Client(token, base_url=emu.base_url, upload_url=emu.upload_url, timeout=30) as bh:
            await _ensure_favourite(bh)
            say(f"Camera {CAMERA} is in {USER}'s favourites")
            target = f"DemoStar-{dt.datetime.now(dt.timezone.utc):%Y%m%d}"
            await bh.targets.create(name=target, ra=83.8221, dec=-5.3911, epoch=2000.0)
            say(f"Created target {target}")
            with tempfile.TemporaryDirectory(prefix="bhtom-demo-") as tmp:
                night = Path(tmp) / "night"
                await anyio.to_thread.run_sync(_write_night, night, target, frames)
                say(f"Wrote {frames} synthetic FITS frames to {night}")
                request = UploadRequest(
                    (night,),
                    UploadOptions(target=target, observatory=CAMERA, filter="GaiaSP/V"),
                    JobOptions(concurrency=concurrency, journal=":memory:", settle_time=0.0),
                )
                say("Uploading them, each frame's calibration shown as it completes")
                screen = "off" if state.json else ("live" if output.is_terminal() else "lines")

                def report(plan: Plan, wait: bool) -> JobReport:
                    return JobReport(plan, screen=screen, wait=wait)

                poll = PollOptions(interval=0.2, max_interval=1.0, timeout=40)
                result, _ = await run_job(bh, request, report, poll=poll)
                say(f"Uploaded {len(result.summary.ids)} frames, {len(result.results)} calibrations back")
    return list(result.results), target


async def _ensure_favourite(bh: Client) -> None:
    # "Already in your favourites" is a success too (`FavouriteAdded.already_present`).
    await bh.observatories.add_favourite(oname=CAMERA)


def _write_night(folder: Path, target: str, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, spec in enumerate(night_of_frames(target, count=count)):
        write_frame(spec, folder / f"{target}_{index:03d}_V.fits")


def _save_plot(
    results: list[CalibrationResult], target: str, path: Path, say: Callable[[str], None]
) -> Path | None:
    points = [r for r in sorted(results, key=_by_mjd) if r.mjd is not None and r.magnitude is not None]
    if not points:
        return None
    try:
        # Imported by name: matplotlib is optional (the astro extra) and ships no stubs we rely on.
        matplotlib: Any = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt: Any = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        say("Install the astro extra (matplotlib) to also get a plot of the light curve")
        return None
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.errorbar(
        [r.mjd for r in points],
        [r.magnitude for r in points],
        yerr=[abs(r.error or 0.0) for r in points],
        fmt="o",
    )
    axes.invert_yaxis()
    axes.ticklabel_format(axis="x", useOffset=False)
    axes.set_xlabel("MJD")
    axes.set_ylabel("calibrated magnitude")
    axes.set_title(f"{target} (bhtom demo)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    say(f"Saved the light-curve plot to {path}")
    return path
