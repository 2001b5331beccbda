"""One catalog interface: the shipped datasets as static STAC, a remote STAC API, a local cache.

>>> import marsgis
>>> import marsgis.catalog as cat
>>> [c.id for c in cat.shipped_catalog().get_children()]  # offline, the data shipped with marsgis
['marsgis-dems', 'marsgis-vectors']
>>> cat.finest_dem((137.2, -5.0, 137.6, -4.4))          # which shipped DEM covers a box
'gale-mola'
>>> items = cat.search(bbox=(137.2, -5.0, 137.6, -4.4))  # doctest: +SKIP
>>> dem = marsgis.open_dem(cat.fetch(items[0]))          # doctest: +SKIP

``shipped_items`` searches the shipped catalog in memory (bbox, GeoJSON geometry, time, ids),
as the HTTP API's ``/api/v1/stac/search`` does. ``search`` asks the STAC API at ``MARSGIS_STAC_URL`` (USGS Astrogeology); ``fetch`` caches
the asset on disk and indexes it in the database.
"""

from marsgis.catalog._cache import cached_assets, clear_expired, fetch
from marsgis.catalog._coverage import DemFootprint, dem_footprints, finest_dem
from marsgis.catalog._query import shipped_items
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
    "shipped_items",
    "write_shipped_catalog",
)
