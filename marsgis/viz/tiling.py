"""Equirectangular tiling of Mars in degrees: the tile grid the map and the tile servers share.

The grid is the one Leaflet's ``EPSG4326`` CRS uses, but on the Mars sphere
(``IAU_2015:49900``, R = 3 396 190 m): 256-pixel tiles, zoom 0 is two tiles of 180° × 180°
(west and east hemispheres), and every zoom level halves the pixel size. Longitudes run
from −180 °E at tile column 0 eastwards; latitudes from 90 °N at tile row 0 southwards.
It is planetcantile's ``MarsGeographicSphere`` tile matrix set (:data:`marsgis.viz.tms.MARS_TMS`):
:func:`tile_bounds` asks it for a tile's bounds, so the dashboards and ``/api/v1/tiles`` agree.

=====  =======================  ======================  ===========================
zoom   tiles (cols × rows)      degrees per pixel       metres per pixel at 0°
=====  =======================  ======================  ===========================
0      2 × 1                    0.703                   41 680
5      64 × 32                  0.0220                  1 302
10     2048 × 1024              6.87e-4                 40.7
17     262 144 × 131 072        5.36e-6                 0.32
=====  =======================  ======================  ===========================

>>> from marsgis.viz.tiling import tile_bounds
>>> tile_bounds(1, 2, 0)
TileBounds(west=0.0, south=0.0, east=90.0, north=90.0)
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from marsgis.crs import MARS_RADIUS_M, normalize_lon, validate_latlon
from marsgis.exceptions import ValidationError

__all__ = [
    "MARS_MAP_CRS",
    "MAX_ZOOM",
    "TILE_SIZE",
    "TileBounds",
    "bounds_centres",
    "pixel_centres",
    "resolution_deg",
    "resolution_m",
    "tile_bounds",
    "tile_of",
    "tile_range",
]

#: Pixels along a tile's side.
TILE_SIZE = 256
#: Deepest zoom level served (0.32 m pixels at the equator: finer than the 1 m Gale DEM).
MAX_ZOOM = 17

FloatArray = npt.NDArray[np.float64]


def resolution_deg(z: int) -> float:
    """Degrees per pixel at zoom ``z`` (latitude and longitude alike)."""
    return 180.0 / (TILE_SIZE * 2**z)


def resolution_m(z: int) -> float:
    """Metres per pixel at zoom ``z`` along a meridian (and along the equator)."""
    return math.radians(resolution_deg(z)) * MARS_RADIUS_M


#: The ipyleaflet ``crs`` of every marsgis map: Leaflet's EPSG4326 tiling on the Mars
#: sphere, through Proj4Leaflet (bundled with ipyleaflet, no download). A longlat
#: definition without a datum, so proj4js applies no datum shift: degrees pass unchanged.
MARS_MAP_CRS: dict[str, Any] = {
    "name": "IAU_2015:49900",
    "custom": True,
    "proj4def": f"+proj=longlat +R={MARS_RADIUS_M:.0f} +no_defs",
    "origin": [-180.0, 90.0],
    "resolutions": [resolution_deg(z) for z in range(MAX_ZOOM + 1)],
    "bounds": [[-180.0, -90.0], [180.0, 90.0]],
}


class TileBounds(NamedTuple):
    """Edges of a tile in planetocentric degrees (longitudes in −180…180 °E)."""

    west: float
    south: float
    east: float
    north: float


def tile_range(z: int) -> tuple[int, int]:
    """``(columns, rows)`` of the tile grid at zoom ``z``."""
    _check_zoom(z)
    return 2 ** (z + 1), 2**z


def _check_zoom(z: int) -> None:
    if not isinstance(z, (int, np.integer)) or not 0 <= z <= MAX_ZOOM:
        raise ValidationError(f"zoom {z!r} must be an integer in 0…{MAX_ZOOM}")


def _check_tile(z: int, x: int, y: int) -> None:
    cols, rows = tile_range(z)
    if not (isinstance(x, (int, np.integer)) and isinstance(y, (int, np.integer))):
        raise ValidationError(f"tile indices must be integers, got x={x!r}, y={y!r}")
    if not (0 <= x < cols and 0 <= y < rows):
        raise ValidationError(
            f"tile {z}/{x}/{y} lies outside the zoom-{z} grid of {cols} × {rows} tiles "
            f"(x in 0…{cols - 1}, y in 0…{rows - 1})"
        )


def tile_bounds(z: int, x: int, y: int) -> TileBounds:
    """Edges of tile ``z/x/y``: its bounds in the Mars CRS from :data:`~marsgis.viz.tms.MARS_TMS`.

    Raises
    ------
    ValidationError
        The zoom or the tile indices lie outside the grid.
    """
    from morecantile import Tile

    from marsgis.viz.tms import MARS_TMS

    _check_tile(z, x, y)
    b = MARS_TMS.xy_bounds(Tile(int(x), int(y), int(z)))
    return TileBounds(float(b.left), float(b.bottom), float(b.right), float(b.top))


def pixel_centres(z: int, x: int, y: int) -> tuple[FloatArray, FloatArray]:
    """Latitudes (rows, north first) and longitudes (columns) of a tile's pixel centres."""
    return bounds_centres(tile_bounds(z, x, y))


def bounds_centres(
    bounds: TileBounds, width: int = TILE_SIZE, height: int = TILE_SIZE
) -> tuple[FloatArray, FloatArray]:
    """Latitudes (rows, north first) and longitudes (columns) of an image's pixel centres.

    The image is ``width`` × ``height`` pixels covering ``bounds``.

    >>> lats, lons = bounds_centres(TileBounds(0.0, 0.0, 90.0, 90.0), 2, 2)
    >>> lats.tolist(), lons.tolist()
    ([67.5, 22.5], [22.5, 67.5])
    """
    dx = (bounds.east - bounds.west) / width
    dy = (bounds.north - bounds.south) / height
    cols = (np.arange(width, dtype=np.float64) + 0.5) * dx
    rows = (np.arange(height, dtype=np.float64) + 0.5) * dy
    return bounds.north - rows, bounds.west + cols


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    """``(x, y)`` of the zoom-``z`` tile holding the point (longitude 0–360 or ±180 °E)."""
    _check_zoom(z)
    la, lo = validate_latlon(lat, lon)
    lon180 = float(normalize_lon(lo, center=0.0))
    cols, rows = tile_range(z)
    span = 180.0 / 2**z
    x = min(int((lon180 + 180.0) // span), cols - 1)
    y = min(int((90.0 - float(la)) // span), rows - 1)
    return x, y
