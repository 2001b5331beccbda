"""Which shipped DEM covers a box: footprints read from the DEMs themselves, finest first.

>>> from marsgis.catalog import finest_dem
>>> finest_dem((137.2, -5.0, 137.6, -4.4))        # inside the Gale 128 px/deg window
'gale-mola'
>>> finest_dem((-40.0, 10.0, -30.0, 20.0))        # anywhere else: the global MOLA grid
'mola'
>>> finest_dem((137.369, -4.667, 137.371, -4.665), projected=True)  # the 1 m Gale DEM
'gale-1m'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from marsgis.catalog._shipped import lonlat_bounds
from marsgis.crs import MARS_RADIUS_M
from marsgis.data import RASTERS
from marsgis.exceptions import DataNotFoundError
from marsgis.geo.bbox import check_bbox

__all__ = ["DemFootprint", "dem_footprints", "finest_dem"]

_METRES_PER_DEGREE = math.pi * MARS_RADIUS_M / 180.0


@dataclass(frozen=True)
class DemFootprint:
    """Where a shipped DEM has cells, and how fine they are.

    Attributes
    ----------
    name
        The shipped dataset name (:func:`marsgis.open_dem` takes it).
    bounds
        ``(west, south, east, north)`` in °E/°N (planetocentric), in the data's own longitude
        convention: the DEM's ``rio.bounds()``, transformed for a projected DEM.
    resolution_m
        Cell size in metres (along a parallel at the equator for a degree grid).
    geographic
        Whether the DEM's grid is in degrees of longitude/latitude.
    """

    name: str
    bounds: tuple[float, float, float, float]
    resolution_m: float
    geographic: bool

    def covers(self, bounds: tuple[float, float, float, float]) -> bool:
        """Whether the box ``(west, south, east, north)`` lies wholly inside this footprint.

        Longitudes may be given in 0–360 °E or −180–180 °E; a box with ``east < west`` crosses
        the 180°/360° meridian.
        """
        west, south, east, north = _checked(bounds)
        fw, fs, fe, fn = self.bounds
        if not (fs <= south and north <= fn):
            return False
        if fe - fw >= 360.0:
            return True
        width = east - west if east >= west else east - west + 360.0
        start = fw + (west - fw) % 360.0  # the box's west edge in the footprint's convention
        return start + width <= fe


def _checked(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return check_bbox(bounds, what="bounds")


@lru_cache(maxsize=1)
def dem_footprints() -> tuple[DemFootprint, ...]:
    """The footprints of every shipped DEM, finest first.

    Each is computed once per process from the opened DEM (lazy: only its coordinates are read).

    Returns
    -------
    tuple of DemFootprint
        Sorted by ``resolution_m``, finest first.
    """
    from pyproj import CRS

    from marsgis.io import open_dem

    out = []
    for name in RASTERS:
        dem = open_dem(name)
        crs = CRS.from_user_input(dem.rio.crs)
        left, bottom, right, top = (float(v) for v in dem.rio.bounds())
        west, south, east, north = lonlat_bounds((left, bottom, right, top), crs)
        cell = abs(float(dem.rio.resolution()[0]))
        resolution_m = cell * _METRES_PER_DEGREE if crs.is_geographic else cell
        out.append(
            DemFootprint(name, (west, south, east, north), resolution_m, bool(crs.is_geographic))
        )
    return tuple(sorted(out, key=lambda f: f.resolution_m))


def finest_dem(bounds: tuple[float, float, float, float], *, projected: bool = False) -> str:
    """The name of the finest shipped DEM whose footprint holds the whole box.

    Parameters
    ----------
    bounds
        ``(west, south, east, north)`` in °E/°N, longitudes in 0–360 or −180–180 °E; a point
        is the box ``(lon, lat, lon, lat)``.
    projected
        Also consider DEMs on a projected (metre) grid, such as the 1 m Gale DEM. Off by default:
        the ellipse and traverse tools and the report maps take lon/lat degree grids.

    Returns
    -------
    str
        A name :func:`marsgis.open_dem` takes.

    Raises
    ------
    CoordinateError
        ``bounds`` are not four finite degrees with ``south <= north`` within ±90.
    DataNotFoundError
        No shipped DEM holds the box (the global MOLA grid holds every valid box).

    Examples
    --------
    >>> finest_dem((137.4417, -4.5895, 137.4417, -4.5895))  # Curiosity's landing point
    'gale-mola'
    """
    box = _checked(bounds)
    for footprint in dem_footprints():
        if (projected or footprint.geographic) and footprint.covers(box):
            return footprint.name
    raise DataNotFoundError(  # pragma: no cover - the global MOLA grid holds every valid box
        f"no shipped DEM covers {bounds!r}; give a DEM that does with open_dem(path)"
    )
