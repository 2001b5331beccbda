"""Data access: DEMs (PDS3, GeoTIFF/COG, shipped) and vector features."""

from marsgis.io.raster import dem_from_array, open_dem

__all__ = ["dem_from_array", "open_dem"]
