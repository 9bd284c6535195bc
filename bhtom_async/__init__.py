"""bhtom_async: the asyncio client library and CLI for BHTOM2.

The top level holds what users write: `Client` and `login`, the errors, the models (including
`UploadOptions`), the bulk uploader with its options, events and outcomes, and the poller's
options. Everything else lives in submodules (`bhtom_async.poll`, `bhtom_async.upload`, ...).

Example:
    >>> import bhtom_async
    >>> async def main() -> None:                              # doctest: +SKIP
    ...     async with bhtom_async.Client() as bh:
    ...         async for target in bh.targets.list(name="Gaia22bpl"):
    ...             print(target.name)
"""

from . import errors as errors
from . import models as models
from . import poll as poll
from . import upload as upload
from ._config import Timeouts as Timeouts
from ._version import __version__ as __version__
from .client import Client as Client
from .client import login as login
from .errors import APIError as APIError
from .errors import APITimeoutError as APITimeoutError
from .errors import AuthenticationError as AuthenticationError
from .errors import BhtomError as BhtomError
from .errors import CameraNotFavouriteError as CameraNotFavouriteError
from .errors import ClientStateError as ClientStateError
from .errors import ConfigurationError as ConfigurationError
from .errors import ConnectError as ConnectError
from .errors import InvalidInputError as InvalidInputError
from .errors import JournalBusyError as JournalBusyError
from .errors import JournalError as JournalError
from .errors import MissingDependencyError as MissingDependencyError
from .errors import NotFoundError as NotFoundError
from .errors import ObserverUnknownError as ObserverUnknownError
from .errors import PermissionDeniedError as PermissionDeniedError
from .errors import RateLimitError as RateLimitError
from .errors import ResponseDecodeError as ResponseDecodeError
from .errors import ResponseTooLargeError as ResponseTooLargeError
from .errors import ServerError as ServerError
from .errors import TargetNotFoundError as TargetNotFoundError
from .errors import TransportError as TransportError
from .errors import UploadOutcomeUnknown as UploadOutcomeUnknown
from .errors import ValidationError as ValidationError
from .models import DATA_PRODUCT_TYPES as DATA_PRODUCT_TYPES
from .models import DOWNLOAD_TYPES as DOWNLOAD_TYPES
from .models import TARGET_CLASSIFICATIONS as TARGET_CLASSIFICATIONS
from .models import CalibrationRecord as CalibrationRecord
from .models import CalibrationResult as CalibrationResult
from .models import CalibrationStatus as CalibrationStatus
from .models import Camera as Camera
from .models import Comment as Comment
from .models import DataProduct as DataProduct
from .models import DataProductCalibration as DataProductCalibration
from .models import FavouriteAdded as FavouriteAdded
from .models import FavouriteObservatory as FavouriteObservatory
from .models import FileCalibration as FileCalibration
from .models import LightCurve as LightCurve
from .models import LightCurvePoint as LightCurvePoint
from .models import Observatory as Observatory
from .models import PhotometryFile as PhotometryFile
from .models import PhotometryRow as PhotometryRow
from .models import ReducedDatum as ReducedDatum
from .models import RestartResult as RestartResult
from .models import ResultSet as ResultSet
from .models import Target as Target
from .models import TargetAlias as TargetAlias
from .models import TargetDownload as TargetDownload
from .models import TargetGroup as TargetGroup
from .models import TargetGroupRef as TargetGroupRef
from .models import TargetPlot as TargetPlot
from .models import UploadedFile as UploadedFile
from .models import UploadOptions as UploadOptions
from .models import UploadReceipt as UploadReceipt
from .models import User as User
from .poll import PollOptions as PollOptions
from .upload import BytesSent as BytesSent
from .upload import CalibratedUpload as CalibratedUpload
from .upload import FileFinished as FileFinished
from .upload import FileHeld as FileHeld
from .upload import FileQueued as FileQueued
from .upload import FileSkipped as FileSkipped
from .upload import FileStarted as FileStarted
from .upload import JobFinished as JobFinished
from .upload import JobOptions as JobOptions
from .upload import SkipFile as SkipFile
from .upload import Uploader as Uploader
from .upload import UploadEvent as UploadEvent
from .upload import UploadOutcome as UploadOutcome
from .upload import UploadSummary as UploadSummary
from .upload import WatchOptions as WatchOptions
from .upload import upload_and_calibrate as upload_and_calibrate
from .upload import watch_paths as watch_paths

__all__ = [
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BhtomError",
    "BytesSent",
    "CalibratedUpload",
    "CalibrationRecord",
    "CalibrationResult",
    "CalibrationStatus",
    "Camera",
    "CameraNotFavouriteError",
    "Client",
    "ClientStateError",
    "Comment",
    "ConfigurationError",
    "ConnectError",
    "DATA_PRODUCT_TYPES",
    "DOWNLOAD_TYPES",
    "DataProduct",
    "DataProductCalibration",
    "FavouriteAdded",
    "FavouriteObservatory",
    "FileCalibration",
    "FileFinished",
    "FileHeld",
    "FileQueued",
    "FileSkipped",
    "FileStarted",
    "InvalidInputError",
    "JobFinished",
    "JobOptions",
    "JournalBusyError",
    "JournalError",
    "LightCurve",
    "LightCurvePoint",
    "MissingDependencyError",
    "NotFoundError",
    "Observatory",
    "ObserverUnknownError",
    "PermissionDeniedError",
    "PhotometryFile",
    "PhotometryRow",
    "PollOptions",
    "RateLimitError",
    "ReducedDatum",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "RestartResult",
    "ResultSet",
    "ServerError",
    "SkipFile",
    "TARGET_CLASSIFICATIONS",
    "Target",
    "TargetAlias",
    "TargetDownload",
    "TargetGroup",
    "TargetGroupRef",
    "TargetNotFoundError",
    "TargetPlot",
    "Timeouts",
    "TransportError",
    "UploadEvent",
    "UploadOptions",
    "UploadOutcome",
    "UploadOutcomeUnknown",
    "UploadReceipt",
    "UploadSummary",
    "UploadedFile",
    "Uploader",
    "User",
    "ValidationError",
    "WatchOptions",
    "__version__",
    "errors",
    "login",
    "models",
    "poll",
    "upload",
    "upload_and_calibrate",
    "watch_paths",
]
