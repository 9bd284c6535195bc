"""`bhtom_async.doctor`: disk room, inotify limits, proxy variables, and a server without a Date header."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from bhtom_async import Client
from bhtom_async.doctor import (
    JOURNAL_LOW_FREE,
    JOURNAL_MIN_FREE,
    DoctorOptions,
    check_proxies,
    check_watch_folder,
    diagnose,
    journal_room,
)

from ..conftest import BASE_URL, UPLOAD_URL


def test_a_disk_too_full_for_a_night_fails_and_a_nearly_full_one_warns() -> None:
    """Below 16 MiB free the journal check fails, below 256 MiB it warns, above it is ok."""
    assert journal_room(JOURNAL_MIN_FREE - 1) == "fail"
    assert journal_room(JOURNAL_MIN_FREE) == "warn"
    assert journal_room(JOURNAL_LOW_FREE - 1) == "warn"
    assert journal_room(JOURNAL_LOW_FREE) == "ok"


def test_more_folders_than_inotify_watches_warns_with_the_sysctl_line(tmp_path: Path) -> None:
    """Three folders to watch and a limit of two: a warning naming the sysctl and --force-polling."""
    for name in ("a", "b"):
        (tmp_path / "night" / name).mkdir(parents=True)
    limit = tmp_path / "max_user_watches"
    limit.write_text("2\n")
    check = check_watch_folder(tmp_path / "night", max_watches_file=limit)
    assert check.status == "warn"
    assert "inotify allows this account 2 watches" in check.message
    assert check.fix is not None
    assert "fs.inotify.max_user_watches=6" in check.fix
    assert "--force-polling" in check.fix
    limit.write_text("3\n")
    assert check_watch_folder(tmp_path / "night", max_watches_file=limit).status == "ok"


def test_a_watch_folder_that_is_a_file_fails(tmp_path: Path) -> None:
    """A file given as the watch folder fails: it is not a folder."""
    (tmp_path / "f.fits").write_bytes(b"x")
    check = check_watch_folder(tmp_path / "f.fits")
    assert (check.status, check.message.endswith("is not a folder")) == ("fail", True)


def test_a_proxy_variable_warns_when_the_hosts_did_not_answer() -> None:
    """With a proxy set and a host silent, the check warns that bhtom connects directly."""
    check = check_proxies({"all_proxy": "socks5://proxy:1080"}, hosts_answered=False)
    assert check.status == "warn"
    assert "all_proxy=socks5://proxy:1080" in check.message
    assert check_proxies({}, hosts_answered=False).status == "ok"


@pytest.mark.anyio
async def test_a_server_without_a_date_header_warns_about_the_wider_window(
    bh: Client, tmp_path: Path
) -> None:
    """No Date header on either host: the clock check warns that a lost answer is matched within 120 s."""
    empty = httpx.Response(200, json={"data": [], "num_pages": 1})
    with respx.mock:
        respx.post(f"{BASE_URL}/targets/getTargetList/").mock(return_value=empty)
        respx.get(f"{UPLOAD_URL}/upload/").mock(return_value=httpx.Response(405, json={"detail": "no"}))
        checks = await diagnose(bh, DoctorOptions(journal=str(tmp_path / "j.sqlite3"), environ={}))
    clock = next(check for check in checks if check.name == "clock")
    assert clock.status == "warn"
    assert "sends no Date header" in clock.message
    assert "within 120 s instead of 5 s" in clock.message
    assert [c.status for c in checks if c.name != "clock"] == ["ok"] * (len(checks) - 1)
