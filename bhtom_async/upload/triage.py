"""Before a settled file is sent: is it stored already, or is an earlier send of it unresolved?

Cheapest first. The journal: a row ``uploaded`` ends it. A row ``sending`` or ``unknown`` (a
crash, a lost answer) is reconciled with the server before anything is re-sent: found, it is
uploaded; if the server cannot tell, it stays ``unknown`` and is not re-sent; absent, it is sent
again with its earlier marker. A file new to the journal whose wire name and size match an
uploaded row is hashed: the same content is journaled as a copy, not sent. With
`JobOptions.check_server`, a file new to the journal is then looked for among the destination's
stored products (`server_index`). A dry run reads the journal and writes nothing to it.

A server product satisfies at most one file: before a file new to the journal may claim a stored
product by its name, every other unresolved row of that name and place (another folder's
``img.fits`` left ``sending`` by a crash) is reconciled first, so it takes its own product. While
one stays unresolved, a product of that name is not claimed (the file's outcome is ``unknown``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import anyio.to_thread
import attrs

from ..errors import AuthenticationError, BhtomError, MissingDependencyError, PermissionDeniedError
from ..models.uploads import UploadOptions
from . import frames
from .discovery import Candidate
from .journal import JournalKey, JournalRow, UploadJournal, key_of, record_copy
from .ledger import JobStopped, Ledger
from .reconcile import Sent, Verdict
from .scratch import Scratch
from .server_index import ServerIndex

__all__ = ["ToSend", "Triage"]


@attrs.frozen
class ToSend:
    """The file must be sent; `row` is its journal row from an earlier try (its marker is reused)."""

    row: JournalRow | None


class Triage:
    """Strictly private: whether a settled file must be sent; records the outcome when not.

    Args:
        journal: the job's journal.
        ledger: where outcomes go.
        scratch: the folder a tile-compressed frame is unpacked into to hash it.
        dry_run: read the journal, never write it.
        server_index: the destinations' stored products (`check_server`), or None.
        reconcile: asks the server whether an earlier send arrived.
        stop: stops the job after a refusal every file would get.
        resend_unknown: send a file whose outcome stays unknown because several stored products
            could be it (the user checked them), instead of reporting it unknown again.
    """

    def __init__(
        self,
        journal: UploadJournal,
        ledger: Ledger,
        scratch: Scratch,
        *,
        dry_run: bool,
        server_index: ServerIndex | None,
        reconcile: Callable[[Sent, str | None], Awaitable[Verdict]],
        stop: Callable[[BhtomError], None],
        resend_unknown: bool = False,
    ) -> None:
        self._resend_unknown = resend_unknown
        self._journal = journal
        self._ledger = ledger
        self._scratch = scratch
        self._dry_run = dry_run
        self._server_index = server_index
        self._reconcile = reconcile
        self._stop = stop

    async def check(
        self, candidate: Candidate, options: UploadOptions, *, unjournaled: bool = False
    ) -> ToSend | None:
        """`ToSend` if the file must be sent; None once its outcome is recorded.

        `unjournaled` says the journal, which only this job writes, was just seen to hold no row
        for this very fingerprint, so it is not asked again.

        Raises `JobStopped` if the server refused the look-up for every file.
        """
        journal = self._journal
        key = key_of(options)
        row = None if unjournaled else await journal.find(key, candidate.fingerprint)
        if row is not None and row.state == "uploaded":
            self._ledger.already_uploaded(candidate.path, candidate.size, row)
            return None
        if row is not None and row.state in ("sending", "unknown"):
            if self._dry_run:
                self._ledger.skip(
                    candidate.path, "an earlier upload's outcome is unknown; a real run reconciles it"
                )
                return None
            verdict = await self._reconcile(self._sent(row), row.sha256)
            if verdict.kind == "stored":
                self._ledger.finished(
                    candidate, "uploaded", data_product_id=verdict.data_product_id, reconciled=True
                )
                return None
            if verdict.kind == "unknown" and not self._resend(verdict):
                await journal.finish(row.id, "unknown", reason=verdict.reason, candidates=verdict.candidates)
                self._ledger.finished(
                    candidate, "unknown", reason=verdict.reason, candidates=verdict.candidates
                )
                return None
        if row is None and await self._is_copy(candidate, options):
            return None
        if row is None and self._server_index is not None and await self._on_server(candidate, options):
            return None
        return ToSend(row)

    def _sent(self, row: JournalRow) -> Sent:
        """What is known of an earlier send. No id ceiling for a send by an earlier process: the
        server may finish storing a killed process's request after the next job began."""
        return Sent.of_row(row)

    def _resend(self, verdict: Verdict) -> bool:
        """The user asked to send files that stay unknown because several products could be each."""
        return self._resend_unknown and len(verdict.candidates) > 1 and not self._dry_run

    async def _resolve_others(self, key: JournalKey, wire_name: str) -> list[JournalRow]:
        """Reconcile the other unresolved rows of this name and place; those still unresolved.

        Runs under the scheduler's per-name lock, so no upload of this name is in flight here: a
        row still ``sending`` was left by a crash.
        """
        left: list[JournalRow] = []
        for other in await self._journal.unclear(key, wire_name):
            if self._dry_run:
                left.append(other)
                continue
            verdict = await self._reconcile(self._sent(other), other.sha256)
            if verdict.kind == "absent":
                reason = "not stored (found absent on the server); sent again when its file is handled"
                await self._journal.finish(other.id, "failed", reason=reason)
            elif verdict.kind == "unknown":
                await self._journal.finish(
                    other.id, "unknown", reason=verdict.reason, candidates=verdict.candidates
                )
                left.append(other)
        return left

    async def _on_server(self, candidate: Candidate, options: UploadOptions) -> bool:
        """Whether the server already holds this file (uploaded before under another journal)."""
        assert self._server_index is not None
        journal = self._journal
        key = key_of(options)
        unresolved = await self._resolve_others(key, candidate.wire_name)
        try:
            verdict = await self._server_index.find(
                key, candidate.wire_name, candidate.fingerprint.mtime_ns / 1e9, journal.held_ids
            )
        except (AuthenticationError, PermissionDeniedError) as exc:
            self._stop(exc)
            raise JobStopped from None
        except BhtomError as exc:
            verdict = Verdict("unknown", reason=f"could not check the server first ({exc.headline})")
        if verdict.kind == "absent" or (verdict.kind == "unknown" and self._resend(verdict)):
            return False
        if verdict.kind == "stored" and unresolved:
            others = ", ".join(row.path for row in unresolved)
            verdict = Verdict(
                "unknown",
                candidates=verdict.candidates,
                reason=f"product {verdict.data_product_id} could be this file or {others} (same name, "
                "outcome unknown); it was not claimed and the file was not sent",
            )
        if verdict.kind == "stored":
            reason = f"already on the server (id {verdict.data_product_id})"
            if not self._dry_run:
                await journal.record_stored(
                    key, candidate.fingerprint, candidate.wire_name, verdict.data_product_id, reason=reason
                )
            self._ledger.skip(
                candidate.path, reason, size=candidate.size, data_product_id=verdict.data_product_id
            )
            return True
        self._ledger.finished(candidate, "unknown", reason=verdict.reason, candidates=verdict.candidates)
        return True

    async def _is_copy(self, candidate: Candidate, options: UploadOptions) -> bool:
        """A file new to the journal whose name and size match an uploaded row: compare content."""
        journal = self._journal
        similar = await journal.find_similar(key_of(options), candidate.wire_name, candidate.size)
        if not similar:
            return False
        try:
            digest = await anyio.to_thread.run_sync(
                frames.content_sha256, candidate.path, candidate.compression, self._scratch.folder()
            )
        except (OSError, ValueError, EOFError, MissingDependencyError):
            return False  # the upload itself will report the problem
        original = next((r for r in similar if r.sha256 == digest), None)
        if original is None:
            return False
        if not self._dry_run:
            await record_copy(journal, key_of(options), candidate.fingerprint, candidate.wire_name, original)
        # A touched file (its own earlier row) is the same file, not a copy of another one.
        source = "" if original.path == str(candidate.path) else f"same content as {original.path}, "
        self._ledger.skip(
            candidate.path,
            f"{source}already uploaded (id {original.data_product_id})",
            size=candidate.size,
            data_product_id=original.data_product_id,
            sha256=digest,
        )
        return True
