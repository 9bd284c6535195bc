"""The bulk uploader: `Uploader`, its outcomes, summary, progress events and journal.

Example:
    >>> from bhtom_async.upload import Uploader                       # doctest: +SKIP
    >>> summary = await Uploader(bh, ["night/"], target="Gaia22bpl",
    ...                          observatory="HarnessObs_HarnessCam", journal="night.sqlite3").run()
"""

from .calibrate import CalibratedUpload as CalibratedUpload
from .discovery import Candidate as Candidate
from .discovery import Fingerprint as Fingerprint
from .discovery import Rejected as Rejected
from .discovery import discover as discover
from .events import BytesSent as BytesSent
from .events import FileFinished as FileFinished
from .events import FileSettings as FileSettings
from .events import FileSkipped as FileSkipped
from .events import FileStarted as FileStarted
from .events import JobFinished as JobFinished
from .events import OutcomeStatus as OutcomeStatus
from .events import UploadEvent as UploadEvent
from .events import UploadOutcome as UploadOutcome
from .events import UploadSummary as UploadSummary
from .headers import read_header as read_header
from .headers import settings_from_header as settings_from_header
from .journal import Journal as Journal
from .journal import JournalKey as JournalKey
from .journal import JournalRow as JournalRow
from .journal import default_journal_path as default_journal_path
from .ratelimit import TokenBucket as TokenBucket
from .scheduler import Uploader as Uploader
from .settings import SettingsSource as SettingsSource

__all__ = [
    "BytesSent",
    "CalibratedUpload",
    "Candidate",
    "FileFinished",
    "FileSettings",
    "FileSkipped",
    "FileStarted",
    "Fingerprint",
    "JobFinished",
    "Journal",
    "JournalKey",
    "JournalRow",
    "OutcomeStatus",
    "Rejected",
    "SettingsSource",
    "TokenBucket",
    "UploadEvent",
    "UploadOutcome",
    "UploadSummary",
    "Uploader",
    "default_journal_path",
    "discover",
    "read_header",
    "settings_from_header",
]
