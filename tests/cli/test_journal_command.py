"""`bhtom journal status|import` and `bhtom results --journal URL` on a shared PostgreSQL journal."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from click.testing import Result

from bhtom_async.upload.journal_url import split_options

from ..conftest import fits_bytes
from .conftest import parse_json

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

Run = Callable[..., Result]
AsUser = Callable[[str], None]
CAMERA = "HarnessObs_HarnessCam"
PASSWORD = "pw-never-shown-7731"


def _night(tmp_path: Path, n: int) -> Path:
    night = tmp_path / "night"
    night.mkdir()
    for i in range(n):
        (night / f"frame_{i}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    return night


def _upload(run_cli: Run, night: Path, journal: str) -> Result:
    return run_cli(
        "--json", "upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA,
        "--settle", "0", "--journal", journal,
    )  # fmt: skip


def test_a_sqlite_night_imported_into_postgresql_is_not_sent_again(
    run_cli: Run, as_user: AsUser, emu: Emulator, pg_url: str, tmp_path: Path
) -> None:
    """import copies the rows; an upload with the shared journal skips every frame unread."""
    as_user("alice")
    night = _night(tmp_path, 4)
    local = str(tmp_path / "night.sqlite3")
    assert _upload(run_cli, night, local).exit_code == 0
    stored = len(emu.state.dataproducts())
    imported = run_cli("--json", "journal", "import", local, pg_url)
    assert imported.exit_code == 0, imported.output
    assert (parse_json(imported.stdout)["imported"], parse_json(imported.stdout)["rows"]) == (4, 4)
    again = _upload(run_cli, night, pg_url)
    assert again.exit_code == 0, again.output
    assert parse_json(again.stdout)["already_uploaded"] == 4
    assert len(emu.state.dataproducts()) == stored


def test_results_of_a_shared_journal_list_every_host_s_files(
    run_cli: Run, as_user: AsUser, pg_url: str, tmp_path: Path
) -> None:
    """Frames sent from two mounts are all listed, with the host that sent them."""
    as_user("alice")
    night = _night(tmp_path, 3)
    other = tmp_path / "other_mount"
    other.symlink_to(night, target_is_directory=True)
    (night / "late.fits").write_bytes(fits_bytes(99))
    assert _upload(run_cli, night, pg_url).exit_code == 0
    assert _upload(run_cli, other, pg_url).exit_code == 0
    listed = run_cli("--json", "results", "--journal", pg_url)
    assert listed.exit_code == 0, listed.output
    files = parse_json(listed.stdout)
    assert sorted(f["file"] for f in files) == ["frame_0.fits", "frame_1.fits", "frame_2.fits", "late.fits"]
    assert {f["host"] for f in files} == {socket.gethostname()}
    assert all(f["upload_state"] == "uploaded" for f in files)


def test_status_shows_workers_claims_stale_leases_and_states_without_the_password(
    run_cli: Run, as_user: AsUser, pg_url: str, tmp_path: Path
) -> None:
    """After a run: its worker (host, pid, heartbeat), a stale lease left by a dead one, counts."""
    as_user("alice")
    night = _night(tmp_path, 2)
    with_password = pg_url.replace("postgres@", f"postgres:{PASSWORD}@")
    uploaded = _upload(run_cli, night, with_password)
    assert uploaded.exit_code == 0
    assert PASSWORD not in uploaded.output
    lines = run_cli("upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA,
                    "--settle", "0", "--journal", with_password, "--json-lines")  # fmt: skip
    assert '"journal": "postgresql://postgres:***@' in lines.stdout
    assert PASSWORD not in lines.output
    with psycopg.connect(split_options(pg_url)[0], autocommit=True) as conn:  # a worker killed mid-file
        conn.execute(
            "UPDATE bhtom_uploads SET owner='deadhost:4242:abcd', lease_until=now() - interval '5 s', "
            "state='sending' WHERE name='frame_1.fits'"
        )
    shown = run_cli("--json", "journal", "status", with_password)
    assert shown.exit_code == 0, shown.output
    report = parse_json(shown.stdout)
    assert report["states"] == {"uploaded": 1, "sending": 1}
    assert [(w["host"], w["pid"], w["stopped"]) for w in report["workers"]] == [
        (socket.gethostname(), os.getpid(), True)
    ] * 2  # the two runs above
    assert report["claims"] == []
    assert [(s["file"], s["host"], s["pid"]) for s in report["stale"]] == [("frame_1.fits", "deadhost", 4242)]
    assert PASSWORD not in shown.output
    assert "postgres:***@" in report["journal"]
    table = run_cli("journal", "status", with_password)
    assert "0 claims in flight, 1 stale leases" in table.stdout
    assert PASSWORD not in table.output


def test_a_profile_can_name_the_shared_journal(
    run_cli: Run, as_user: AsUser, pg_url: str, tmp_path: Path
) -> None:
    """``journal = "postgresql://..."`` in the config file: uploads use it without --journal."""
    as_user("alice")
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "bhtom" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'journal = "{pg_url}"\n')
    night = _night(tmp_path, 2)
    result = run_cli(
        "--json", "upload", str(night), "--target", "Gaia22bpl", "--observatory", CAMERA, "--settle", "0"
    )
    assert result.exit_code == 0, result.output
    with psycopg.connect(split_options(pg_url)[0]) as conn:
        rows = conn.execute("SELECT name, state FROM bhtom_uploads").fetchall()
    assert sorted(rows) == [("frame_0.fits", "uploaded"), ("frame_1.fits", "uploaded")]
