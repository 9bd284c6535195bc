"""`bhtom journal status` and `bhtom journal import`: a shared journal's workers, claims and states.

`status` shows each worker that used the journal (host, pid, last heartbeat), the claims in
flight, the stale leases (a worker that died mid-file: the next taker reconciles it) and the
rows by state. `import` copies a SQLite journal into a PostgreSQL one, so a site switches to a
shared journal without sending a night again.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from ..upload.journal_backend import open_journal
from ..upload.journal_url import is_postgres_url
from ._core import BhtomCommand, BhtomGroup, CliState, pass_state, run
from .output import print_table

__all__ = ["register"]


@click.group(cls=BhtomGroup)
def journal() -> None:
    """The upload journal: who is working on it, what is claimed, what it holds.

    \b
    Example:
        bhtom journal status postgresql://ingest@db.example.org/bhtom
        bhtom journal import ~/.local/state/bhtom_async/uploads.sqlite3 "$BHTOM_JOURNAL"
    """


@journal.command(cls=BhtomCommand)
@click.argument("location", metavar="FILE|URL", envvar="BHTOM_JOURNAL")
@pass_state
def status(state: CliState, location: str) -> None:
    """Workers (host, pid, last heartbeat), claims in flight, stale leases and rows by state.

    LOCATION defaults to BHTOM_JOURNAL. A SQLite file has no workers or claims (one job at a
    time holds it); its rows are counted the same way.

    \b
    Example:
        bhtom journal status postgresql://ingest@db.example.org/bhtom --json
    """
    report = run(_status, location)
    if state.json:
        state.emit(report)
        return
    click.echo(f"journal {report['journal']}")
    counts = report["states"]
    click.echo("rows: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"))
    if report["workers"]:
        rows = [
            [w["host"], w["pid"], f"{w['heartbeat_age']:.0f} s ago", "stopped" if w["stopped"] else "running"]
            for w in report["workers"]
        ]
        print_table(["host", "pid", "last heartbeat", "state"], rows, title="workers")
    claims = [*report["claims"], *report["stale"]]
    if claims:
        table = [
            [c["file"], c["host"], c["pid"], c["state"], "stale" if c["stale"] else "live"] for c in claims
        ]
        print_table(["file", "host", "pid", "row", "lease"], table, title="claims")
    click.echo(f"{len(report['claims'])} claims in flight, {len(report['stale'])} stale leases")


async def _status(location: str) -> dict[str, Any]:
    async with open_journal(location, read_only=True) as opened:
        rows = await opened.rows()
        report: dict[str, Any] = {
            "journal": opened.path,
            "states": dict(Counter(r.state for r in rows)),
            "workers": [],
            "claims": [],
            "stale": [],
        }
        if not is_postgres_url(location):
            return report
        from ..upload.journal_pg import PostgresJournal

        assert isinstance(opened, PostgresJournal)
        for worker in await opened.workers():
            report["workers"].append(
                {
                    "host": worker.host,
                    "pid": worker.pid,
                    "started_at": worker.started_at,
                    "last_heartbeat": worker.heartbeat_at,
                    "heartbeat_age": round(worker.heartbeat_age, 1),
                    "stopped": worker.stopped_at is not None,
                }
            )
        for row, owner, live in await opened.claims():
            host, _, rest = owner.partition(":")
            item = {
                "file": row.name,
                "path": row.path,
                "host": host,
                "pid": int(rest.partition(":")[0] or 0),
                "state": row.state,
                "stale": not live,
            }
            report["claims" if live else "stale"].append(item)
        report["checked_at"] = time.time()
        return report


@journal.command("import", cls=BhtomCommand)
@click.argument(
    "sqlite_path", metavar="SQLITE_FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.argument("url", metavar="POSTGRES_URL", envvar="BHTOM_JOURNAL")
@pass_state
def import_(state: CliState, sqlite_path: Path, url: str) -> None:
    """Copy a SQLite journal's rows into a PostgreSQL journal (rows already there are left).

    Files uploaded stay uploaded (a run with the shared journal skips them unread); a row left
    ``sending`` by a crash is imported ``unknown``, so it is reconciled before any re-send.

    \b
    Example:
        bhtom journal import ~/.local/state/bhtom_async/uploads.sqlite3 postgresql://ingest@db/bhtom
    """
    if not is_postgres_url(url):
        raise click.BadParameter("give a postgresql://... URL", param_hint="'POSTGRES_URL'")
    added, total, where = run(_import, sqlite_path, url)
    if state.json:
        state.emit({"journal": where, "imported": added, "rows": total})
        return
    click.echo(f"imported {added} of {total} rows into {where}")


async def _import(sqlite_path: Path, url: str) -> tuple[int, int, str]:
    from ..upload.journal_pg import PostgresJournal

    async with open_journal(sqlite_path, read_only=True) as source:
        rows = await source.rows()
    async with PostgresJournal(url) as target:
        added = await target.import_rows(rows)
        return added, len(rows), target.path


def register(group: click.Group) -> None:
    """Add `bhtom journal` to the `bhtom` group."""
    group.add_command(journal)
