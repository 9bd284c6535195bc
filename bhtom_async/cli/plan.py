"""Before an upload starts: what the job will find, send and skip (for totals that tell the truth).

A quick walk of the folders (the library's own `discover`) and a read-only look at the journal
(no lock, so it never delays the job) tell the progress display how many files and bytes will
be sent, and how many are already uploaded, before the first request. The uploader's events
then correct the figures where the job decides otherwise (a copy of a stored file, a file that
changed since).
"""

from __future__ import annotations

import attrs

from ..models.uploads import UploadOptions
from ..upload.discovery import Found, discover
from ..upload.journal import default_journal_path, key_of
from ..upload.journal_backend import open_journal
from ..upload.journal_url import masked
from ..upload.options import JobOptions
from ..upload.settings import SettingsSource, SkipFile, settings_for

__all__ = ["Plan", "plan_job"]


@attrs.frozen
class Plan:
    """What a job is about to do.

    Attributes:
        entries: everything the walk found (files of the type, and the rest it will report).
        to_send: path -> size of each file the journal does not hold as uploaded.
        already: files the journal holds as uploaded (they will be skipped unread).
        already_bytes: their size in bytes.
        other: files that are not of the type being uploaded, unreadable, or left out by the
            per-file settings.
        journal: the journal's path (``:memory:`` when none is kept).
    """

    entries: int
    to_send: dict[str, int]
    already: int = 0
    already_bytes: int = 0
    other: int = 0
    journal: str = ":memory:"

    @property
    def bytes_to_send(self) -> int:
        """Bytes of the files that will be sent."""
        return sum(self.to_send.values())


async def plan_job(
    paths: list[str], options: UploadOptions, job: JobOptions, settings: SettingsSource | None = None
) -> Plan:
    """Walk `paths` and ask the journal (read-only) which files are uploaded already.

    `settings` are the job's per-file settings: each file is looked up under its own target
    and camera, as the uploader will.

    Raises:
        JournalError: the journal exists but cannot be read (the job would refuse it too).
    """
    journal_path = job.journal or str(default_journal_path())
    to_send: dict[str, int] = {}
    entries = already = already_bytes = other = 0
    async with open_journal(journal_path, read_only=True) as journal:
        found = discover(
            paths, data_product_type=options.data_product_type, include=job.include, exclude=job.exclude
        )
        async for item in found:
            entries += 1
            if not isinstance(item, Found):
                other += 1
                continue
            chosen = await settings_for(settings, item.path, item.fingerprint.path, options)
            if isinstance(chosen, SkipFile):
                other += 1
                continue
            row = await journal.find(key_of(chosen), item.fingerprint)
            if row is not None and row.state == "uploaded":
                already += 1
                already_bytes += item.size
            else:
                to_send[str(item.path)] = item.size
    return Plan(entries, to_send, already, already_bytes, other, masked(journal_path) or journal_path)
