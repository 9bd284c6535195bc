"""Typed results. Every model keeps the keys it does not know in `extra`."""

from . import calibration, comments, dataproducts, observatories, reduced_data, targets, uploads, users
from .calibration import *  # noqa: F403
from .comments import *  # noqa: F403
from .dataproducts import *  # noqa: F403
from .observatories import *  # noqa: F403
from .reduced_data import *  # noqa: F403
from .targets import *  # noqa: F403
from .uploads import *  # noqa: F403
from .users import *  # noqa: F403

__all__ = sorted(
    {
        *calibration.__all__,
        *comments.__all__,
        *dataproducts.__all__,
        *observatories.__all__,
        *reduced_data.__all__,
        *targets.__all__,
        *uploads.__all__,
        *users.__all__,
    }
)
