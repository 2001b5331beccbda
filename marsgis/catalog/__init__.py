"""One catalog interface: the shipped datasets as static STAC, a remote STAC API, a local cache.

>>> import marsgis.catalog as cat
>>> cat.shipped_catalog()                               # offline, the data shipped with marsgis
>>> cat.finest_dem((137.2, -5.0, 137.6, -4.4))          # which shipped DEM covers a box
>>> items = cat.search(bbox=(137.2, -5.0, 137.6, -4.4))  # MARSGIS_STAC_URL (USGS Astrogeology)
>>> dem = marsgis.open_dem(cat.fetch(items[0]))          # cached on disk, indexed in the database
"""

from marsgis.catalog._cache import cached_assets, clear_expired, fetch
from marsgis.catalog._coverage import DemFootprint, dem_footprints, finest_dem
from marsgis.catalog._remote import collections, search
from marsgis.catalog._shipped import shipped_catalog, write_shipped_catalog

__all__ = (
    "DemFootprint",
    "cached_assets",
    "clear_expired",
    "collections",
    "dem_footprints",
    "fetch",
    "finest_dem",
    "search",
    "shipped_catalog",
    "write_shipped_catalog",
)
