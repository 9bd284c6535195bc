"""`upload.journal_pg`: claims, leases, fencing, schema, outages and secrets on a real PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import psycopg
import pytest

from bhtom_async import JobOptions
from bhtom_async.errors import JournalError
from bhtom_async.upload.discovery import Fingerprint
from bhtom_async.upload.journal import JournalKey
from bhtom_async.upload.journal_pg import PostgresJournal
from bhtom_async.upload.journal_pg_schema import SCHEMA_VERSION
from bhtom_async.upload.journal_sqlite import SqliteJournal
from bhtom_async.upload.journal_url import masked, split_options

pytestmark = pytest.mark.anyio
KEY = JournalKey("Gaia22bpl", "HarnessObs_HarnessCam", "fits_file")
PASSWORD = "s3cr3t-pw-4242"


def fp(path: str = "/mnt/a/night/f.fits", size: int = 10, mtime_ns: int = 123) -> Fingerprint:
    return Fingerprint(path, size, mtime_ns, 1, 42)


async def sha() -> str:
    return "ab" * 32


def sql(url: str, statement: str) -> list[tuple[object, ...]]:
    with psycopg.connect(split_options(url)[0], autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


async def test_a_file_is_claimed_by_one_worker_at_a_time_whatever_its_path(pg_url: str) -> None:
    """Two hosts mounting one folder at different paths: the second is refused while the first holds it."""
    async with PostgresJournal(pg_url) as a, PostgresJournal(pg_url) as b:
        assert (await a.claim(KEY, fp(), "f.fits", sha)).granted
        refused = await b.claim(KEY, fp("/srv/other/mount/f.fits"), "f.fits", sha)
        assert not refused.granted
        assert refused.holder is not None
        assert refused.retry_after > 0
        row = await a.begin(KEY, fp(), "f.fits", server_offset=None, marker=None)
        await a.finish(row.id, "uploaded", data_product_id=7, sha256="ab" * 32)
        await a.release(KEY, fp())
        done = await b.claim(KEY, fp("/srv/other/mount/f.fits"), "f.fits", sha)
    assert not done.granted
    assert done.row is not None
    assert (done.row.state, done.row.data_product_id) == ("uploaded", 7)


async def test_a_lapsed_lease_is_taken_over_and_the_old_owners_write_is_refused(pg_url: str) -> None:
    """Fencing: after takeover the new owner sees the row to reconcile; the old owner cannot write."""
    async with (
        PostgresJournal(pg_url, restart_grace=0) as old,
        PostgresJournal(pg_url, restart_grace=0) as new,
    ):
        assert (await old.claim(KEY, fp(), "f.fits", sha)).granted
        row = await old.begin(KEY, fp(), "f.fits", server_offset=None, marker="m1")
        sql(pg_url, "UPDATE bhtom_uploads SET lease_until = now() - interval '1 second'")  # a paused VM
        assert (await new.claim(KEY, fp("/b/f.fits"), "f.fits", sha)).granted
        inherited = await new.find(KEY, fp("/b/f.fits"))
        assert inherited is not None
        assert (inherited.state, inherited.marker) == ("sending", "m1")  # reconciled before any re-send
        with pytest.raises(JournalError, match="taken over by another worker"):
            await old.finish(row.id, "uploaded", data_product_id=99)
        await new.finish(inherited.id, "uploaded", data_product_id=5)
    assert sql(pg_url, "SELECT state, data_product_id, epoch FROM bhtom_uploads") == [("uploaded", 5, 2)]


async def test_no_send_starts_without_a_durable_claim(pg_url: str) -> None:
    """`begin` needs this worker's claim: refused unclaimed or taken over; a lapsed one untaken is renewed."""
    async with (
        PostgresJournal(pg_url, restart_grace=0) as journal,
        PostgresJournal(pg_url, restart_grace=0) as other,
    ):
        with pytest.raises(JournalError, match="not claimed"):
            await journal.begin(KEY, fp(), "f.fits", server_offset=None, marker=None)
        assert (await journal.claim(KEY, fp(), "f.fits", sha)).granted
        lapse = "UPDATE bhtom_uploads SET lease_until = now() - interval '1 second'"
        sql(pg_url, lapse)  # a database outage longer than the lease: nobody took it over
        await journal.begin(KEY, fp(), "f.fits", server_offset=None, marker=None)
        assert sql(pg_url, "SELECT lease_until > now() FROM bhtom_uploads") == [(True,)]
        sql(pg_url, lapse)
        assert (await other.claim(KEY, fp("/b/f.fits"), "f.fits", sha)).granted
        with pytest.raises(JournalError, match="could not be marked sending"):
            await journal.begin(KEY, fp(), "f.fits", server_offset=None, marker=None)


async def test_send_times_are_read_on_each_worker_s_own_clock(pg_url: str) -> None:
    """Hosts with skewed clocks: the server time of a send is the same whoever reads the row."""
    async with (
        PostgresJournal(pg_url, restart_grace=0) as ahead,
        PostgresJournal(pg_url, restart_grace=0) as behind,
    ):
        ahead._gap, behind._gap = -420.0, 300.0  # the database's clock minus each host's
        assert (await ahead.claim(KEY, fp(), "f.fits", sha)).granted
        sent = await ahead.begin(KEY, fp(), "f.fits", server_offset=-660.0 + 420.0, marker=None)
        sql(pg_url, "UPDATE bhtom_uploads SET lease_until = now() - interval '1 second'")
        assert (await behind.claim(KEY, fp("/b/f.fits"), "f.fits", sha)).granted
        seen = await behind.find(KEY, fp("/b/f.fits"))
    assert seen is not None
    assert sent.server_sent_at is not None
    assert seen.server_sent_at == pytest.approx(sent.server_sent_at)
    assert seen.sent_at == pytest.approx(sent.sent_at - 720.0)


async def test_ten_workers_starting_together_create_the_schema_once(pg_url: str) -> None:
    """The advisory lock serialises creation: one version row, no error, all ten registered."""
    journals = [PostgresJournal(pg_url) for _ in range(10)]
    async with anyio.create_task_group() as tg:
        for journal in journals:
            tg.start_soon(journal.open)
    for journal in journals:
        await journal.aclose()
    assert sql(pg_url, "SELECT version FROM bhtom_journal_meta") == [(SCHEMA_VERSION,)]
    assert sql(pg_url, "SELECT count(*) FROM bhtom_workers WHERE stopped_at IS NOT NULL") == [(10,)]


async def test_a_schema_newer_than_this_version_is_refused_with_a_hint(pg_url: str) -> None:
    """A journal upgraded by a newer bhtom_async is not written by an older one."""
    async with PostgresJournal(pg_url):
        pass
    sql(pg_url, "UPDATE bhtom_journal_meta SET version = 99")
    with pytest.raises(JournalError, match="newer than this bhtom_async knows"):
        await PostgresJournal(pg_url).open()


async def test_a_dropped_connection_is_a_pause_not_a_failure(pg_url: str) -> None:
    """A PostgreSQL restart kills every connection; the next write reconnects and lands."""
    async with PostgresJournal(pg_url, reconnect_wait=10.0) as journal:
        assert (await journal.claim(KEY, fp(), "f.fits", sha)).granted
        row = await journal.begin(KEY, fp(), "f.fits", server_offset=None, marker=None)
        sql(
            pg_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        await journal.finish(row.id, "uploaded", data_product_id=3)
    assert sql(pg_url, "SELECT state FROM bhtom_uploads") == [("uploaded",)]


async def test_the_password_never_shows(pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """Masked in path, repr, JobOptions, errors and logs; sslmode and other options pass through."""
    with_password = pg_url.replace("postgres@", f"postgres:{PASSWORD}@") + "&sslmode=disable&lease=30"
    caplog.set_level(logging.DEBUG, logger="bhtom_async")
    async with PostgresJournal(with_password) as journal:
        assert journal.lease == 30.0
        seen = [journal.path, repr(journal), repr(JobOptions(journal=with_password))]
    missing = with_password.replace("/t_", "/nothere_")
    with pytest.raises(JournalError) as refused:
        await PostgresJournal(missing, reconnect_wait=0.2).open()
    seen += [str(refused.value), repr(refused.value), caplog.text]
    assert "sslmode=disable" in journal.path
    assert all(PASSWORD not in text for text in seen)
    assert "***" in journal.path
    assert (
        masked(f"postgresql://u:{PASSWORD}@h/db?password={PASSWORD}")
        == "postgresql://u:***@h/db?password=***"
    )


async def test_a_sqlite_journal_moves_into_postgresql_without_resending(pg_url: str, tmp_path: Path) -> None:
    """Imported rows keep their state and id; a row left sending is reconciled; re-import adds none."""
    async with SqliteJournal(tmp_path / "j.sqlite3") as local:
        done = await local.begin(KEY, fp("/n/a.fits"), "a.fits", server_offset=None, marker=None)
        await local.finish(done.id, "uploaded", data_product_id=11, sha256="cd" * 32)
        await local.begin(KEY, fp("/n/b.fits"), "b.fits", server_offset=None, marker="mb")
        rows = await local.rows()
    async with PostgresJournal(pg_url) as shared:
        assert await shared.import_rows(rows) == 2
        assert await shared.import_rows(rows) == 0
        found = await shared.find(KEY, fp("/elsewhere/a.fits"))
        unclear = await shared.unclear(KEY, "b.fits")
    assert found is not None
    assert (found.state, found.data_product_id) == ("uploaded", 11)
    assert [(r.state, r.marker) for r in unclear] == [("unknown", "mb")]


async def test_a_name_another_worker_is_sending_to_the_same_place_waits(pg_url: str) -> None:
    """R/img.fits and V/img.fits (same wire name, other bytes) are never in flight on two hosts at once."""

    async def other_bytes() -> str:
        return "ef" * 32

    async with PostgresJournal(pg_url) as a, PostgresJournal(pg_url) as b:
        assert (await a.claim(KEY, fp("/n/R/img.fits"), "img.fits", sha)).granted
        waiting = await b.claim(KEY, fp("/n/V/img.fits", size=10), "img.fits", other_bytes)
        assert not waiting.granted
        assert waiting.retry_after > 0
        await a.release(KEY, fp("/n/R/img.fits"))
        assert (await b.claim(KEY, fp("/n/V/img.fits", size=10), "img.fits", other_bytes)).granted


async def test_workers_need_only_row_rights_once_the_schema_exists(pg_url: str) -> None:
    """The privileges docs/many-hosts.md lists are enough; without CREATE, a first run says what to grant."""
    import uuid

    role = f"ingest_{uuid.uuid4().hex[:8]}"
    sql(pg_url, f"CREATE ROLE {role} LOGIN")
    as_role = pg_url.replace("postgres@", f"{role}@")
    with pytest.raises(JournalError, match="permission denied") as refused:
        await PostgresJournal(as_role).open()
    assert "grant" in (refused.value.hint or "")
    async with PostgresJournal(pg_url):
        pass  # the schema, created by its owner
    sql(pg_url, f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}")
    sql(pg_url, f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    async with PostgresJournal(as_role) as journal:
        assert (await journal.claim(KEY, fp(), "f.fits", sha)).granted
        row = await journal.begin(KEY, fp(), "f.fits", server_offset=None, marker=None)
        await journal.finish(row.id, "uploaded", data_product_id=1)


async def test_a_lease_lapsed_while_postgresql_was_down_is_not_taken_over_at_once(pg_url: str) -> None:
    """For one lease after the server (re)started, lapsed stamps say nothing: owners could not renew."""
    async with (
        PostgresJournal(pg_url + "&lease=3600") as owner,
        PostgresJournal(pg_url + "&lease=3600") as taker,
    ):
        assert (await owner.claim(KEY, fp(), "f.fits", sha)).granted
        sql(pg_url, "UPDATE bhtom_uploads SET lease_until = now() - interval '1 second'")
        assert not (await taker.claim(KEY, fp("/b/f.fits"), "f.fits", sha)).granted


async def test_a_journal_of_an_older_schema_is_upgraded_once_on_open(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release adding a migration: opening runs the new step once and records the new version."""
    import bhtom_async.upload.journal_pg_schema as schema

    async with PostgresJournal(pg_url):
        pass
    step = "ALTER TABLE bhtom_uploads ADD COLUMN note TEXT"
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, step))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    async with PostgresJournal(pg_url), PostgresJournal(pg_url):
        pass
    assert sql(pg_url, "SELECT version FROM bhtom_journal_meta") == [(SCHEMA_VERSION + 1,)]
    columns = sql(pg_url, "SELECT column_name FROM information_schema.columns WHERE column_name = 'note'")
    assert columns == [("note",)]
