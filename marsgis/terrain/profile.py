"""Elevation profile along a polyline of great-circle legs (two or more vertices)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from marsgis.crs import validate_latlon
from marsgis.exceptions import ValidationError
from marsgis.geo import destination, great_circle_m, initial_bearing, lon180
from marsgis.sampling import sample

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["line_profile"]


def line_profile(
    dem: xr.DataArray,
    lats: npt.ArrayLike,
    lons: npt.ArrayLike,
    *,
    samples: int = 200,
    outside: str = "nan",
) -> pd.DataFrame:
    """Elevation of ``dem`` at ``samples`` evenly spaced points along a polyline.

    The line runs from vertex to vertex along great circles of the Mars sphere (R = 3 396 190
    m); the samples are spaced evenly by distance along the whole line, the first and last on
    its end vertices. With two vertices this is the profile of one great-circle arc.

    Parameters
    ----------
    dem
        A DEM from :func:`marsgis.open_dem`.
    lats, lons
        The vertices, planetocentric °N and °E (0–360 or −180–180), at least two.
    samples
        Number of points, both ends included (at least 2).
    outside
        ``"nan"``: elevation NaN where a point is off the DEM; ``"raise"``:
        :class:`~marsgis.exceptions.CoordinateError` naming the point.

    Returns
    -------
    pandas.DataFrame
        ``distance_m`` (along the line from its start), ``lat``, ``lon`` (−180–180 °E),
        ``elevation_m`` (bilinear, :func:`marsgis.sample`) and ``leg`` (the index of the
        leg the point is on); ``attrs["length_m"]`` is the line's length.

    Examples
    --------
    >>> import marsgis
    >>> dem = marsgis.open_dem("gale-mola")
    >>> p = line_profile(dem, [-4.5, -4.6, -4.9], [137.2, 137.4, 137.6], samples=5)
    >>> p["leg"].tolist(), round(p.attrs["length_m"])
    ([0, 0, 1, 1, 1], 34570)
    """
    if not isinstance(samples, (int, np.integer)) or isinstance(samples, bool) or samples < 2:
        raise ValidationError(f"a profile needs samples >= 2 points, got samples={samples!r}")
    la, lo = validate_latlon(np.atleast_1d(lats), np.atleast_1d(lons))
    la, lo = la.ravel(), lo.ravel()
    if la.size < 2:
        raise ValidationError(f"a profile line needs at least 2 vertices, got {la.size}")
    legs = np.atleast_1d(np.asarray(great_circle_m(la[:-1], lo[:-1], la[1:], lo[1:]), float))
    starts = np.concatenate([[0.0], np.cumsum(legs)])
    length = float(starts[-1])
    distance = np.linspace(0.0, length, int(samples))
    # the leg of each sample: the last leg starting at or before it (zero-length legs skipped)
    leg = np.clip(np.searchsorted(starts, distance, side="right") - 1, 0, legs.size - 1)
    bearings = np.atleast_1d(np.asarray(initial_bearing(la[:-1], lo[:-1], la[1:], lo[1:])))
    along = distance - starts[leg]
    out_lat, out_lon = destination(la[leg], lo[leg], bearings[leg], along)
    out_lat = np.asarray(out_lat, dtype=np.float64)
    out_lon = np.asarray(out_lon, dtype=np.float64)
    out_lat[-1], out_lon[-1] = la[-1], float(lon180(lo[-1]))
    out_lat[0], out_lon[0] = la[0], float(lon180(lo[0]))
    mode: Any = outside
    elevation = np.asarray(sample(dem, out_lat, out_lon, outside=mode), dtype=np.float64)
    frame = pd.DataFrame(
        {
            "distance_m": distance,
            "lat": out_lat,
            "lon": out_lon,
            "elevation_m": elevation,
            "leg": leg.astype(np.int64),
        }
    )
    frame.attrs["length_m"] = length
    return frame
