"""Mars sphere geometry: great circles, grids, ellipses, longitudes (R = 3 396 190 m).

The one foundation every other package measures with: distances and bearings
(:mod:`~marsgis.geo.sphere`), lon/lat ↔ grid index, cell lon/lat, sizes and areas
(:mod:`~marsgis.geo.grid`), ellipse polygons (:mod:`~marsgis.geo.ellipse`) and the longitude
conventions (:mod:`~marsgis.geo.lon`: 0–360 or −180–180 °E in, −180–180 °E out). It imports
only :mod:`marsgis.crs`, :mod:`marsgis.exceptions`, numpy, pyproj, shapely and xarray.

>>> from marsgis import geo
>>> round(geo.great_circle_m(-4.5895, 137.4417, -4.8214, 137.3858))
14137
>>> geo.lon180(200.0)
-160.0
"""

from marsgis.geo.bbox import Bbox, check_bbox, parse_bbox
from marsgis.geo.ellipse import ellipse_polygon
from marsgis.geo.grid import Grid, cell_area_m2, lonlat_of_grid, lonlat_to_grid
from marsgis.geo.lon import lon180, lon360, normalize_lon
from marsgis.geo.sphere import (
    MARS_SURFACE_KM2,
    destination,
    great_circle_m,
    initial_bearing,
    line_length_m,
    local_en,
)

__all__ = (
    "MARS_SURFACE_KM2",
    "Bbox",
    "Grid",
    "cell_area_m2",
    "check_bbox",
    "destination",
    "ellipse_polygon",
    "great_circle_m",
    "initial_bearing",
    "line_length_m",
    "local_en",
    "lon180",
    "lon360",
    "lonlat_of_grid",
    "lonlat_to_grid",
    "normalize_lon",
    "parse_bbox",
)
