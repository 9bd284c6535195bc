"""`bhtom doctor` against the emulator: a good setup exits 0; each broken setting fails with its fix."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest
from click.testing import Result

from bhtom_async import Client
from bhtom_async.emulator import Emulator
from bhtom_async.testing import ManualClock
from bhtom_async.upload.journal_sqlite import SqliteJournal

from .conftest import parse_json

Run = Callable[..., Result]
AsUser = Callable[[str], None]
CAMERA = "HarnessObs_HarnessCam"
PROXIES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_variables_and_no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's proxy variables stay out; retries of an unreachable host cost no wall time."""
    from bhtom_async.cli import doctor as cli_doctor

    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    real = cli_doctor.make_client

    def with_manual_clock(*args: Any, **options: Any) -> Client:
        return real(*args, clock=ManualClock(wall_start=time.time()), **options)

    monkeypatch.setattr(cli_doctor, "make_client", with_manual_clock)


def doctor(run_cli: Run, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run `bhtom doctor --json`; its exit code and its checks by name."""
    result = run_cli("doctor", "--json", *args)
    report = parse_json(result.stdout)
    checks = {check["name"]: check for check in report["checks"]}
    assert report["ok"] == (result.exit_code == 0)
    return result.exit_code, checks


def statuses(checks: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: check["status"] for name, check in checks.items()}


def night(tmp_path: Path) -> Path:
    folder = tmp_path / "night"
    (folder / "R").mkdir(parents=True)
    (folder / "R" / "f1.fits").write_bytes(b"SIMPLE  =")
    return folder


def everything(tmp_path: Path, *, target: str = "Gaia22bpl", camera: str = CAMERA) -> tuple[str, ...]:
    return ("--target", target, "--observatory", camera, "--journal", str(tmp_path / "j.sqlite3"),
            "--watch-folder", str(night(tmp_path)))  # fmt: skip


def test_a_good_setup_passes_every_check_and_exits_0(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """Token, hosts, clock, target, camera, favourites, proxy, journal and watch folder all ok: exit 0."""
    as_user("alice")
    code, checks = doctor(run_cli, *everything(tmp_path))
    assert code == 0
    assert statuses(checks) == dict.fromkeys(
        ["main host", "token", "upload host", "upload access", "clock", "target", "camera", "favourites",
         "proxy", "journal", "watch folder"], "ok")  # fmt: skip
    assert "answered in" in checks["main host"]["message"]
    assert "answered in" in checks["upload host"]["message"]
    assert "2 folders" in checks["watch folder"]["message"]


def test_the_table_is_one_line_per_check_with_the_fix(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """Without --json each check is one line: status, name, finding and `-> fix: ...` for a failure."""
    as_user("alice")
    result = run_cli("doctor", "--target", "Gaia22bpl", "--observatory", "ROAD_QHY600M")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines].count("FAIL") == 1
    [favourites] = [line for line in lines if line.startswith("FAIL")]
    assert favourites.endswith("-> fix: bhtom observatories add-favourite ROAD_QHY600M")


def test_a_refused_token_fails_and_never_shows(
    run_cli: Run, as_user: AsUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong token fails the token and upload-access checks (fix: bhtom login); it is never printed."""
    as_user("alice")
    wrong = "0123456789abcdef" * 2 + "01234567"
    monkeypatch.setenv("BHTOM_TOKEN", wrong)
    result = run_cli("doctor", "--json")
    checks = {c["name"]: c for c in parse_json(result.stdout)["checks"]}
    assert result.exit_code == 1
    assert (checks["token"]["status"], checks["upload access"]["status"]) == ("fail", "fail")
    assert "bhtom login" in checks["token"]["fix"]
    assert wrong not in result.stdout + result.stderr


def test_no_token_fails_with_the_way_to_set_one(
    run_cli: Run, as_user: AsUser, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without any token the token check fails and says `bhtom login`; the server is not asked."""
    as_user("alice")
    monkeypatch.delenv("BHTOM_TOKEN")
    monkeypatch.setenv("BHTOM_CONFIG", str(tmp_path / "none.toml"))
    code, checks = doctor(run_cli)
    assert code == 1
    assert checks["token"]["status"] == "fail"
    assert "bhtom login" in checks["token"]["fix"]
    assert "main host" not in checks


def test_an_inactive_account_fails_with_the_approval_hint(run_cli: Run, as_user: AsUser) -> None:
    """carol's account is inactive: token and upload access fail (fix: wait for approval); the
    target and camera asked for are reported as not checked."""
    as_user("carol")
    code, checks = doctor(run_cli, "--target", "Gaia22bpl", "--observatory", CAMERA)
    assert code == 1
    assert statuses(checks)["token"] == statuses(checks)["upload access"] == "fail"
    unchecked = "not checked: the main host did not accept the token"
    assert checks["target"]["message"] == checks["camera"]["message"] == unchecked
    assert "approval" in checks["token"]["fix"]
    assert checks["main host"]["status"] == "ok"  # it answered, with a refusal


def test_a_camera_not_in_the_favourites_offers_the_add_favourite_line(
    run_cli: Run, as_user: AsUser, tmp_path: Path
) -> None:
    """ROAD_QHY600M is active but not alice's favourite: the fix is the exact add-favourite command."""
    as_user("alice")
    code, checks = doctor(run_cli, *everything(tmp_path, camera="ROAD_QHY600M"))
    assert code == 1
    assert (checks["camera"]["status"], checks["favourites"]["status"]) == ("ok", "fail")
    assert checks["favourites"]["fix"] == "bhtom observatories add-favourite ROAD_QHY600M"


@pytest.mark.parametrize(
    ("camera", "found"),
    [
        ("ROAD_OldCCD", "is inactive"),
        ("road_qhy600m", "did you mean 'ROAD_QHY600M'"),
        ("No_Cam", "no camera"),
    ],
)
def test_an_inactive_or_unknown_camera_fails(
    run_cli: Run, as_user: AsUser, tmp_path: Path, camera: str, found: str
) -> None:
    """An inactive camera, a wrongly cased ONAME and an unknown one each fail the camera check."""
    as_user("alice")
    code, checks = doctor(run_cli, *everything(tmp_path, camera=camera))
    assert code == 1
    assert checks["camera"]["status"] == "fail"
    assert found in checks["camera"]["message"]
    assert "favourites" not in checks


def test_a_wrongly_cased_target_names_the_near_miss(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """gaia22BPL does not exist; the check names Gaia22bpl and the fix is --target Gaia22bpl."""
    as_user("alice")
    code, checks = doctor(run_cli, *everything(tmp_path, target="gaia22BPL"))
    assert code == 1
    assert checks["target"]["status"] == "fail"
    assert "did you mean 'Gaia22bpl'" in checks["target"]["message"]
    assert checks["target"]["fix"] == "use --target Gaia22bpl"
    assert checks["favourites"]["status"] == "warn"  # cannot be checked without the target


def test_an_unknown_target_offers_to_create_it(run_cli: Run, as_user: AsUser) -> None:
    """A target that exists in no spelling fails with the create command."""
    as_user("alice")
    code, checks = doctor(run_cli, "--target", "NoSuchStar42")
    assert code == 1
    assert checks["target"]["fix"].endswith("`bhtom targets create NoSuchStar42 --ra RA --dec DEC`")


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_upload_host_that_does_not_answer_fails(
    run_cli: Run, as_user: AsUser, monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    """The upload URL points at a closed port: the upload host fails, the main host is still ok."""
    as_user("alice")
    monkeypatch.setenv("BHTOM_UPLOAD_URL", f"http://127.0.0.1:{closed_port}")
    code, checks = doctor(run_cli)
    assert code == 1
    assert (checks["main host"]["status"], checks["upload host"]["status"]) == ("ok", "fail")
    assert "does not answer" in checks["upload host"]["message"]


@pytest.mark.parametrize("host", ["main", "upload"])
def test_a_host_answering_503_fails_with_what_it_answered(
    run_cli: Run, as_user: AsUser, emu: Emulator, host: str
) -> None:
    """Every request to one host meets a 503 page: that host fails, naming the answer."""
    as_user("alice")
    emu.add_fault(f"{host}:error=503")
    code, checks = doctor(run_cli)
    assert code == 1
    failed = checks[f"{host} host"]
    assert failed["status"] == "fail"
    assert "answered with an error" in failed["message"]
    assert "503" in failed["message"]


@pytest.fixture
def skewed_emulator() -> Iterator[Emulator]:
    """An emulator whose clock (its Date header) runs 10 minutes ahead of ours."""
    with Emulator(seed=0, clock=lambda: time.time() + 600.0) as emu:
        yield emu


def test_a_server_clock_far_from_ours_warns_and_says_what_happens(
    run_cli: Run, skewed_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """10 minutes of skew: a warning (uploads still match, frame times are off), exit 0."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("BHTOM_TOKEN", skewed_emulator.tokens["alice"])
    monkeypatch.setenv("BHTOM_BASE_URL", skewed_emulator.base_url)
    monkeypatch.setenv("BHTOM_UPLOAD_URL", skewed_emulator.upload_url)
    code, checks = doctor(run_cli)
    assert code == 0
    clock = checks["clock"]
    assert clock["status"] == "warn"
    assert "s ahead of ours" in clock["message"]
    assert float(clock["message"].split("clock is ")[1].split(" s")[0]) == pytest.approx(600, abs=2)
    assert "set-ntp" in clock["fix"]


def test_a_journal_held_by_another_job_fails_naming_it(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """Another job has the journal open: the journal check fails and names the holding process."""
    as_user("alice")
    path = tmp_path / "j.sqlite3"
    with anyio.from_thread.start_blocking_portal() as portal:
        held = SqliteJournal(path)
        portal.call(held.open)
        try:
            code, checks = doctor(run_cli, "--journal", str(path))
        finally:
            portal.call(held.aclose)
    assert code == 1
    assert checks["journal"]["status"] == "fail"
    assert "process" in checks["journal"]["message"]


def test_a_journal_that_cannot_be_written_fails(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """A journal under a plain file, and a file that is not a journal: each fails with a fix."""
    as_user("alice")
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "notes.sqlite3").write_text("not a database, just notes\n" * 200)
    _, under_file = doctor(run_cli, "--journal", str(tmp_path / "a-file" / "j.sqlite3"))
    _, not_journal = doctor(run_cli, "--journal", str(tmp_path / "notes.sqlite3"))
    assert under_file["journal"]["status"] == not_journal["journal"]["status"] == "fail"
    assert "is not a folder" in under_file["journal"]["message"]
    assert not_journal["journal"]["fix"]


def test_a_shared_postgresql_journal_that_answers_is_ok(run_cli: Run, as_user: AsUser, pg_url: str) -> None:
    """A postgresql:// journal on a real PostgreSQL: connected to, its schema made, ok."""
    as_user("alice")
    code, checks = doctor(run_cli, "--journal", pg_url)
    assert code == 0
    assert checks["journal"]["status"] == "ok"
    assert "schema is ready" in checks["journal"]["message"]


def test_an_unreachable_postgresql_journal_fails_at_once_without_its_password(
    run_cli: Run, as_user: AsUser
) -> None:
    """A PostgreSQL journal nobody answers (a closed loopback port) fails with libpq's reason and
    a fix, after one try; the URL's password is masked."""
    as_user("alice")
    code, checks = doctor(run_cli, "--journal", "postgresql://bhtom:hunter2@127.0.0.1:9/journal")
    assert code == 1
    assert checks["journal"]["status"] == "fail"
    assert "cannot be reached" in checks["journal"]["message"]
    assert checks["journal"]["fix"]
    assert "hunter2" not in json.dumps(checks)


def test_a_missing_watch_folder_fails(run_cli: Run, as_user: AsUser, tmp_path: Path) -> None:
    """A watch folder that does not exist fails."""
    as_user("alice")
    code, checks = doctor(run_cli, "--watch-folder", str(tmp_path / "no-such-night"))
    assert code == 1
    assert checks["watch folder"]["message"].endswith("does not exist")


def test_a_proxy_variable_is_named_without_its_password(
    run_cli: Run, as_user: AsUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY is named (its password masked) and said to be ignored: the token goes direct."""
    as_user("alice")
    monkeypatch.setenv("HTTPS_PROXY", "http://me:s3cret@proxy.example:3128")
    code, checks = doctor(run_cli)
    assert code == 0
    proxy = checks["proxy"]
    assert proxy["status"] == "ok"
    assert "HTTPS_PROXY=http://me:***@proxy.example:3128" in proxy["message"]
    assert "ignores proxy variables" in proxy["message"]
    assert "s3cret" not in str(checks)
