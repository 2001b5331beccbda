"""Terrain products of Mars DEMs: slope, aspect, roughness, hillshade and cell sizes.

Every function takes a DEM DataArray (dims ``("y", "x")``, Mars CRS, numpy- or dask-backed)
and returns a new float32 DataArray on the same grid, following ``gdaldem``'s definitions
(Horn's 3×3 method) but with cell sizes in true metres on the Mars sphere, longitude wrap on
global grids, and NaN for nodata and incomplete edge windows.

>>> import marsgis
>>> dem = marsgis.open_dem("gale-mola")
>>> slope = marsgis.terrain.slope(dem)          # or dem.mars.slope()
"""

from marsgis.terrain.aspect import aspect
from marsgis.terrain.cellsize import CellSize, cell_size
from marsgis.terrain.files import to_file
from marsgis.terrain.hillshade import hillshade
from marsgis.terrain.profile import line_profile
from marsgis.terrain.regions import PRODUCTS, box_window, terrain_product, zonal_stats
from marsgis.terrain.roughness import roughness
from marsgis.terrain.slope import slope

__all__ = (
    "PRODUCTS",
    "CellSize",
    "aspect",
    "box_window",
    "cell_size",
    "hillshade",
    "line_profile",
    "roughness",
    "slope",
    "terrain_product",
    "to_file",
    "zonal_stats",
)
