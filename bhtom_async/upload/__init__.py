"""The bulk uploader: `Uploader`, its outcomes, summary, progress events and journal.

Example:
    >>> from bhtom_async import JobOptions, UploadOptions, Uploader
    >>> options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
    >>> job = JobOptions(journal="night.sqlite3")
    >>> summary = await Uploader(bh, ["night/"], options, job).run()  # doctest: +SKIP
"""

from .calibrate import CalibratedUpload as CalibratedUpload
from .calibrate import upload_and_calibrate as upload_and_calibrate
from .discovery import Candidate as Candidate
from .discovery import Fingerprint as Fingerprint
from .discovery import Found as Found
from .discovery import Rejected as Rejected
from .discovery import discover as discover
from .events import BytesSent as BytesSent
from .events import FileFinished as FileFinished
from .events import FileHeld as FileHeld
from .events import FileQueued as FileQueued
from .events import FileSkipped as FileSkipped
from .events import FileStarted as FileStarted
from .events import JobFinished as JobFinished
from .events import JobVerdict as JobVerdict
from .events import JournalWritten as JournalWritten
from .events import OutcomeStatus as OutcomeStatus
from .events import RateLimited as RateLimited
from .events import UploadEvent as UploadEvent
from .events import UploadOutcome as UploadOutcome
from .events import UploadSummary as UploadSummary
from .headers import read_header as read_header
from .headers import settings_from_header as settings_from_header
from .journal import JournalKey as JournalKey
from .journal import JournalRow as JournalRow
from .journal import UploadJournal as UploadJournal
from .journal import default_journal_path as default_journal_path
from .journal_sqlite import Journal as Journal
from .journal_sqlite import SqliteJournal as SqliteJournal
from .options import JobOptions as JobOptions
from .scheduler import Uploader as Uploader
from .settings import SettingsSource as SettingsSource
from .settings import SkipFile as SkipFile
from .watch import WatchOptions as WatchOptions
from .watch import watch_paths as watch_paths

__all__ = [
    "BytesSent",
    "CalibratedUpload",
    "Candidate",
    "FileFinished",
    "FileHeld",
    "FileQueued",
    "FileSkipped",
    "FileStarted",
    "Fingerprint",
    "Found",
    "JobFinished",
    "JobOptions",
    "JobVerdict",
    "Journal",
    "JournalKey",
    "JournalRow",
    "JournalWritten",
    "OutcomeStatus",
    "RateLimited",
    "Rejected",
    "SettingsSource",
    "SkipFile",
    "SqliteJournal",
    "UploadEvent",
    "UploadJournal",
    "UploadOutcome",
    "UploadSummary",
    "Uploader",
    "WatchOptions",
    "default_journal_path",
    "discover",
    "read_header",
    "settings_from_header",
    "upload_and_calibrate",
    "watch_paths",
]
