"""Maps of Mars for notebooks and dashboards: ipyleaflet on a basemap rendered on this machine.

>>> from marsgis import viz
>>> m = viz.mars_map(center=(-4.6, 137.4), zoom=6)   # Gale crater
>>> viz.add_missions(m)                               # stored missions by status  # doctest: +SKIP
>>> m                                                 # doctest: +SKIP

* The map is in degrees on the Mars sphere (:data:`~marsgis.viz.tiling.MARS_MAP_CRS`, the
  equirectangular tiling of :mod:`marsgis.viz.tiling`), never Web Mercator.
* Its basemap is colour-shaded relief rendered from the shipped DEMs (:mod:`marsgis.viz.tiles`:
  MOLA globally, the Gale DEMs as you zoom in), served by a local endpoint
  (:mod:`marsgis.viz.endpoints`, :mod:`marsgis.viz.server`); no request leaves the machine.
* Static figures of planning results for executed notebooks and files
  (:mod:`marsgis.viz.plots`): :func:`sites_figure`, :func:`route_figure`,
  :func:`eligibility_figure`.
* Layers: :func:`add_missions`, :func:`ellipse_layer`, :func:`traverse_layer`,
  :func:`mask_overlay`; tools: the click readout and the measure tool (:mod:`marsgis.viz.tools`).
* The operator dashboards are in :mod:`marsgis.viz.dashboards`.

This package is also a Jupyter server extension (``jupyter server extension enable marsgis.viz``)
that serves the tiles at ``{base_url}marsgis/tiles/{z}/{x}/{y}.png``; see ``docs/dashboards.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marsgis.viz.endpoints import tile_url
    from marsgis.viz.maps import (
        STATUS_COLORS,
        add_missions,
        basemap_layer,
        ellipse_layer,
        mars_map,
        mask_overlay,
        replace_layer,
        traverse_layer,
    )
    from marsgis.viz.plots import eligibility_figure, route_figure, sites_figure
    from marsgis.viz.profile import elevation_profile, profile_png, route_profile
    from marsgis.viz.sources import elevation_at
    from marsgis.viz.tiles import render_tile, tile_png
    from marsgis.viz.tiling import MARS_MAP_CRS, tile_bounds
    from marsgis.viz.tools import ClickReadout, MeasureTool

__all__ = (
    "MARS_MAP_CRS",
    "STATUS_COLORS",
    "ClickReadout",
    "MeasureTool",
    "add_missions",
    "basemap_layer",
    "elevation_at",
    "elevation_profile",
    "eligibility_figure",
    "ellipse_layer",
    "mars_map",
    "mask_overlay",
    "profile_png",
    "render_tile",
    "replace_layer",
    "route_figure",
    "route_profile",
    "sites_figure",
    "tile_bounds",
    "tile_png",
    "tile_url",
    "traverse_layer",
)

_LAZY = {
    "MARS_MAP_CRS": "marsgis.viz.tiling",
    "tile_bounds": "marsgis.viz.tiling",
    "render_tile": "marsgis.viz.tiles",
    "tile_png": "marsgis.viz.tiles",
    "tile_url": "marsgis.viz.endpoints",
    "elevation_at": "marsgis.viz.sources",
    "elevation_profile": "marsgis.viz.profile",
    "route_profile": "marsgis.viz.profile",
    "profile_png": "marsgis.viz.profile",
    "eligibility_figure": "marsgis.viz.plots",
    "route_figure": "marsgis.viz.plots",
    "sites_figure": "marsgis.viz.plots",
    "ClickReadout": "marsgis.viz.tools",
    "MeasureTool": "marsgis.viz.tools",
    **{
        name: "marsgis.viz.maps"
        for name in (
            "STATUS_COLORS",
            "add_missions",
            "basemap_layer",
            "ellipse_layer",
            "mars_map",
            "mask_overlay",
            "replace_layer",
            "traverse_layer",
        )
    },
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'marsgis.viz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter server extension entry point: the tile handler of :mod:`marsgis.viz.server`."""
    return [{"module": "marsgis.viz.server"}]
