"""bhtom_async: the asyncio client library and CLI for BHTOM2.

Example:
    >>> import bhtom_async
    >>> async def main() -> None:                              # doctest: +SKIP
    ...     async with bhtom_async.Client() as bh:
    ...         async for target in bh.targets.list(name="Gaia22bpl"):
    ...             print(target.name)
"""

from . import errors as errors
from . import models as models
from . import upload as upload
from ._clock import Clock as Clock
from ._clock import ManualClock as ManualClock
from ._clock import SystemClock as SystemClock
from ._config import ClientConfig as ClientConfig
from ._config import RetrySettings as RetrySettings
from ._config import Timeouts as Timeouts
from ._multipart import FilePart as FilePart
from ._multipart import MultipartBody as MultipartBody
from ._paginate import Page as Page
from ._paginate import Pager as Pager
from ._secret import Secret as Secret
from ._version import __version__ as __version__
from .client import UNSET as UNSET
from .client import Client as Client
from .client import login as login
from .errors import *  # noqa: F403
from .models import *  # noqa: F403
from .upload import BytesSent as BytesSent
from .upload import CalibratedUpload as CalibratedUpload
from .upload import FileFinished as FileFinished
from .upload import FileSettings as FileSettings
from .upload import FileSkipped as FileSkipped
from .upload import FileStarted as FileStarted
from .upload import JobFinished as JobFinished
from .upload import Uploader as Uploader
from .upload import UploadEvent as UploadEvent
from .upload import UploadOutcome as UploadOutcome
from .upload import UploadSummary as UploadSummary

__all__ = sorted(
    {
        "UNSET",
        "BytesSent",
        "CalibratedUpload",
        "FileFinished",
        "FileSettings",
        "FileSkipped",
        "FileStarted",
        "JobFinished",
        "UploadEvent",
        "UploadOutcome",
        "UploadSummary",
        "Uploader",
        "upload",
        "Client",
        "ClientConfig",
        "Clock",
        "FilePart",
        "ManualClock",
        "MultipartBody",
        "Page",
        "Pager",
        "RetrySettings",
        "Secret",
        "SystemClock",
        "Timeouts",
        "__version__",
        "errors",
        "login",
        "models",
        *errors.__all__,
        *models.__all__,
    }
)
