"""The Mars tile matrix set every marsgis map tile lives on (morecantile, planetcantile).

planetcantile's ``MarsGeographicSphere`` is the geographic quad tiling of the Mars sphere
(IAU 2015, R = 3 396 190 m, the sphere of ``IAU_2015:49900``): 256-pixel tiles, zoom 0 is two
tiles of 180° × 180°, origin at 180 °W, 90 °N. It is exactly the grid of
:mod:`marsgis.viz.tiling` (the dashboards' Leaflet map), so the dashboards' tile server and the
API's ``/api/v1/tiles`` serve the same tiles from the same function.

>>> from marsgis.viz.tms import MARS_TMS, TMS_ID
>>> TMS_ID, MARS_TMS.matrix(0).matrixWidth, MARS_TMS.matrix(0).matrixHeight
('MarsGeographicSphere', 2, 1)
>>> MARS_TMS.crs._pyproj_crs.ellipsoid.semi_major_metre
3396190.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planetcantile import planetary_tms

if TYPE_CHECKING:
    from morecantile import TileMatrixSet

__all__ = ["MARS_TMS", "MARS_TMS_CRS_URN", "TMS_ID"]

#: planetcantile's name of the tiling.
TMS_ID = "MarsGeographicSphere"
#: The tile matrix set (morecantile), longitude/latitude axes in degrees on the Mars sphere.
MARS_TMS: TileMatrixSet = planetary_tms.get(TMS_ID)
#: The Mars CRS of the tiles as an OGC URN (WMTS ``SupportedCRS``): latitude, longitude order.
MARS_TMS_CRS_URN = "urn:ogc:def:crs:IAU_2015::49900"
