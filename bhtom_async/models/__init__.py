"""Typed results. Every model keeps the keys it does not know in `extra`."""

from .calibration import CalibrationRecord as CalibrationRecord
from .calibration import CalibrationResult as CalibrationResult
from .calibration import CalibrationStatus as CalibrationStatus
from .calibration import FileCalibration as FileCalibration
from .calibration import RestartResult as RestartResult
from .comments import Comment as Comment
from .dataproducts import DataProduct as DataProduct
from .dataproducts import DataProductCalibration as DataProductCalibration
from .dataproducts import PhotometryFile as PhotometryFile
from .dataproducts import PhotometryRow as PhotometryRow
from .observatories import Camera as Camera
from .observatories import FavouriteAdded as FavouriteAdded
from .observatories import FavouriteObservatory as FavouriteObservatory
from .observatories import Observatory as Observatory
from .reduced_data import ReducedDatum as ReducedDatum
from .results import ResultSet as ResultSet
from .targets import DOWNLOAD_TYPES as DOWNLOAD_TYPES
from .targets import TARGET_CLASSIFICATIONS as TARGET_CLASSIFICATIONS
from .targets import LightCurve as LightCurve
from .targets import LightCurvePoint as LightCurvePoint
from .targets import Target as Target
from .targets import TargetAlias as TargetAlias
from .targets import TargetDownload as TargetDownload
from .targets import TargetGroup as TargetGroup
from .targets import TargetGroupRef as TargetGroupRef
from .targets import TargetPlot as TargetPlot
from .uploads import DATA_PRODUCT_TYPES as DATA_PRODUCT_TYPES
from .uploads import UploadedFile as UploadedFile
from .uploads import UploadOptions as UploadOptions
from .uploads import UploadReceipt as UploadReceipt
from .users import User as User

__all__ = [
    "CalibrationRecord",
    "CalibrationResult",
    "CalibrationStatus",
    "Camera",
    "Comment",
    "DATA_PRODUCT_TYPES",
    "DOWNLOAD_TYPES",
    "DataProduct",
    "DataProductCalibration",
    "FavouriteAdded",
    "FavouriteObservatory",
    "FileCalibration",
    "LightCurve",
    "LightCurvePoint",
    "Observatory",
    "PhotometryFile",
    "PhotometryRow",
    "ReducedDatum",
    "RestartResult",
    "ResultSet",
    "TARGET_CLASSIFICATIONS",
    "Target",
    "TargetAlias",
    "TargetDownload",
    "TargetGroup",
    "TargetGroupRef",
    "TargetPlot",
    "UploadOptions",
    "UploadReceipt",
    "UploadedFile",
    "User",
]
