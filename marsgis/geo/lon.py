"""Longitude conventions: east-positive degrees, 0–360 or −180–180 on input, −180–180 on output.

Everything marsgis *returns* as a point (planning results, the store, the CLI, gazetteer
features) uses −180–180 °E (:func:`lon180`); inputs may use either convention. Rasters keep
their own grid coordinates (MOLA is 0–360 °E): that is data, not a returned point. The one
wrapping implementation is :func:`marsgis.crs.normalize_lon`; this module names the
conventions built on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from marsgis.crs import normalize_lon

__all__ = ["lon180", "lon360", "normalize_lon"]


def lon180(lon: npt.ArrayLike) -> Any:
    """Longitudes in the output convention, [−180, 180) °E (float for a scalar).

    Values already in range are returned unchanged (no rounding).

    Examples
    --------
    >>> lon180(200.0), lon180(137.4417), lon180(-180.0)
    (-160.0, 137.4417, -180.0)
    """
    out = normalize_lon(lon, center=0.0)
    return float(out) if np.ndim(out) == 0 else out


def lon360(lon: npt.ArrayLike) -> Any:
    """Longitudes in [0, 360) °E, the convention of global MOLA grids (float for a scalar)."""
    out = normalize_lon(lon, center=180.0)
    return float(out) if np.ndim(out) == 0 else out
