"""Terrain products over a region: by name, statistics inside a polygon, a window of a box.

Polygons and boxes are planetocentric longitude/latitude degrees (``IAU_2015:49900``,
longitude in any turn); they are placed on the DEM's own grid with
:meth:`marsgis.geo.Grid.locate`, so geographic and projected DEMs are handled alike.
A cell belongs to a polygon when its centre lies inside it.

>>> import marsgis
>>> from shapely.geometry import box
>>> dem = marsgis.open_dem("gale-mola")
>>> stats = zonal_stats(terrain_product(dem, "elevation"), box(137.3, -4.7, 137.4, -4.6))
>>> stats["count"] > 0 and stats["min"] <= stats["p50"] <= stats["max"]
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
import xarray as xr
from affine import Affine
from rasterio.features import geometry_mask
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from marsgis.exceptions import CoordinateError, ValidationError
from marsgis.geo import Grid
from marsgis.geo.bbox import check_bbox
from marsgis.terrain.aspect import aspect
from marsgis.terrain.hillshade import hillshade
from marsgis.terrain.roughness import roughness
from marsgis.terrain.slope import slope

__all__ = ["PRODUCTS", "box_window", "terrain_product", "zonal_stats"]

#: Product names :func:`terrain_product` knows.
PRODUCTS = ("elevation", "slope", "aspect", "roughness", "hillshade")


def terrain_product(dem: xr.DataArray, product: str) -> xr.DataArray:
    """The terrain ``product`` of ``dem``: ``"elevation"`` (the DEM itself) or a terrain function.

    >>> import marsgis
    >>> terrain_product(marsgis.open_dem("gale-1m"), "slope").name
    'slope'
    """
    if product == "elevation":
        return dem
    functions = {"slope": slope, "aspect": aspect, "roughness": roughness, "hillshade": hillshade}
    if product not in functions:
        raise ValidationError(f"unknown terrain product {product!r}; choose one of {PRODUCTS}")
    return functions[product](dem)


def _pixel_geometry(grid: Grid, geometry: BaseGeometry) -> BaseGeometry:
    """``geometry`` (lon/lat) in pixel space: cell ``(r, c)`` spans ``[c, c+1] × [r, r+1]``."""

    def to_pixels(lonlat: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        fy, fx = grid.locate(lonlat[:, 1], lonlat[:, 0])
        return np.column_stack([fx + 0.5, fy + 0.5])

    return shapely.transform(geometry, to_pixels)


def zonal_stats(da: xr.DataArray, polygon: Polygon) -> dict[str, float | int]:
    """Statistics of the valid cells of ``da`` whose centres lie inside ``polygon``.

    Parameters
    ----------
    da
        A raster on a Mars grid (a DEM or a :mod:`marsgis.terrain` product).
    polygon
        A shapely polygon in lon/lat degrees (``IAU_2015:49900``).

    Returns
    -------
    dict
        ``count`` (valid cells), ``min``, ``max``, ``mean``, ``std`` (population), ``p50`` and
        ``p90`` (linear percentiles); NaN statistics when ``count`` is 0.

    Raises
    ------
    ValidationError
        ``polygon`` is empty or not a polygon.
    CoordinateError
        No cell centre of ``da`` lies inside ``polygon`` (it is outside the raster or thinner
        than a cell).
    """
    if not isinstance(polygon, Polygon) or polygon.is_empty:
        raise ValidationError(f"zonal statistics need a non-empty Polygon, got {polygon!r}")
    grid = Grid.of(da)
    ny, nx = grid.shape
    pixels = _pixel_geometry(grid, polygon)
    c0, r0, c1, r1 = pixels.bounds
    rows = slice(max(0, math.floor(r0)), min(ny, math.ceil(r1)))
    cols = slice(max(0, math.floor(c0)), min(nx, math.ceil(c1)))
    inside = np.zeros((0, 0), dtype=bool)
    if rows.stop > rows.start and cols.stop > cols.start:
        shape = (rows.stop - rows.start, cols.stop - cols.start)
        inside = geometry_mask(
            [pixels],
            out_shape=shape,
            transform=Affine.translation(cols.start, rows.start),
            invert=True,
        )
    if not inside.any():
        raise CoordinateError(
            f"no cell centre of {da.name!r} lies inside polygon {polygon.wkt[:120]!r}; give a "
            f"polygon inside the raster (bounds {tuple(round(float(b), 4) for b in da.rio.bounds())} "
            "in its CRS) and wider than a cell"
        )
    window = np.asarray(da.isel(y=rows, x=cols).values, dtype=np.float64)
    values = window[inside]
    values = values[np.isfinite(values)]
    if values.size == 0:
        nan = math.nan
        return {"count": 0, "min": nan, "max": nan, "mean": nan, "std": nan, "p50": nan, "p90": nan}
    p50, p90 = np.percentile(values, [50.0, 90.0])
    return {
        "count": int(values.size),
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "p50": float(p50),
        "p90": float(p90),
    }


def box_window(
    da: xr.DataArray,
    bbox: tuple[float, float, float, float],
    *,
    max_cells: tuple[int, int] = (4096, 4096),
) -> xr.DataArray:
    """The cells of ``da`` that the box ``(west, south, east, north)`` (lon/lat °) touches.

    Parameters
    ----------
    da
        A raster on a Mars grid.
    bbox
        West, south, east, north in planetocentric degrees (``west < east``, no crossing of
        the DEM's longitude seam).
    max_cells
        Largest ``(rows, columns)`` allowed.

    Returns
    -------
    xarray.DataArray
        ``da`` cut to the box (its coordinates, CRS and attrs kept).

    Raises
    ------
    ValidationError
        A malformed box, or a window larger than ``max_cells`` (the message names both sizes).
    CoordinateError
        The box reaches outside ``da``.
    """
    west, south, east, north = check_bbox(bbox)
    if not (west < east and -90.0 <= south < north <= 90.0):
        raise ValidationError(
            f"bbox {bbox!r} needs west < east and -90 <= south < north <= 90 "
            "(west, south, east, north in degrees)"
        )
    grid = Grid.of(da)
    ny, nx = grid.shape
    lon_grid, lat_grid = np.meshgrid(np.linspace(west, east, 17), np.linspace(south, north, 17))
    fy, fx = grid.locate(lat_grid.ravel(), lon_grid.ravel())
    if grid.geographic:  # columns run on from the west edge: no jump at the grid's seam
        fx_west = float(grid.locate(south, west)[1])
        fx = np.array([fx_west, fx_west + (east - west) / grid.dx])
    r0, r1 = math.floor(float(fy.min()) + 0.5), math.ceil(float(fy.max()) - 0.5)
    c0, c1 = math.floor(float(fx.min()) + 0.5), math.ceil(float(fx.max()) - 0.5)
    rows, cols = r1 - r0 + 1, c1 - c0 + 1
    if rows > max_cells[0] or cols > max_cells[1]:
        raise ValidationError(
            f"bbox {bbox!r} covers {rows} × {cols} cells of {da.name!r}; the limit is "
            f"{max_cells[0]} × {max_cells[1]}: request a smaller box"
        )
    if r0 < 0 or c0 < 0 or r1 > ny - 1 or c1 > nx - 1 or c1 < c0 or r1 < r0:
        b = tuple(round(float(v), 4) for v in da.rio.bounds())
        raise CoordinateError(
            f"bbox {bbox!r} reaches outside {da.name!r} (bounds {b} in its CRS); give a box "
            "inside the dataset (a box across its longitude seam: request the two halves)"
        )
    return da.isel(y=slice(r0, r1 + 1), x=slice(c0, c1 + 1))
