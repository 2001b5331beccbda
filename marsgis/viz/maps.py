"""ipyleaflet maps of Mars in degrees, on the locally rendered basemap, and their layers.

>>> from marsgis.viz import mars_map, add_missions
>>> m = mars_map(center=(-4.6, 137.4), zoom=6)   # Gale; tiles from this machine only
>>> layer = add_missions(m)                      # stored missions, coloured by status

Every map uses :data:`~marsgis.viz.tiling.MARS_MAP_CRS` (equirectangular degrees on the Mars
sphere, not Web Mercator) and the marsgis basemap as its base layer, so ipyleaflet never
adds its default OpenStreetMap layer. Longitudes on the map run −180…180 °E; the functions
here accept 0–360 °E too and convert.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from marsgis.crs import validate_latlon
from marsgis.exceptions import ValidationError
from marsgis.geo import lon180
from marsgis.viz.tiling import MARS_MAP_CRS, MAX_ZOOM

if TYPE_CHECKING:
    import geopandas as gpd
    import ipyleaflet
    import xarray as xr

    from marsgis.db import Engine, Mission
    from marsgis.planning import LandingEllipse
    from marsgis.station import Colony

__all__ = [
    "ATTRIBUTION",
    "OCCUPANCY_BANDS",
    "STATUS_COLORS",
    "add_colonies",
    "add_missions",
    "basemap_layer",
    "ellipse_layer",
    "mars_map",
    "mask_overlay",
    "occupancy_color",
    "occupancy_legend",
    "replace_layer",
    "traverse_layer",
]

ATTRIBUTION = (
    "MOLA MEGDR &amp; 128 px/deg (NASA/GSFC, PDS), MSL 1 m DEM (NASA-AMMOS MMGIS); "
    "rendered by marsgis"
)
#: Marker colour of each mission status.
STATUS_COLORS = {
    "planned": "#2b6cb0",
    "active": "#dd6b20",
    "completed": "#2f855a",
    "aborted": "#9b2c2c",
}

#: ``(upper occupancy, colour, label)`` bands of a colony's population / capacity, in order.
OCCUPANCY_BANDS: tuple[tuple[float, str, str], ...] = (
    (0.5, "#2f855a", "under 50 % full"),
    (0.8, "#d69e2e", "50–80 % full"),
    (0.95, "#dd6b20", "80–95 % full"),
    (math.inf, "#c53030", "95 % full or more"),
)


def basemap_layer(url: str | None = None) -> ipyleaflet.TileLayer:
    """The colour-shaded relief of the shipped DEMs as a tile layer (see :mod:`marsgis.viz`).

    Parameters
    ----------
    url
        Tile URL template; default :func:`marsgis.viz.endpoints.tile_url` (this machine).
    """
    import ipyleaflet

    from marsgis.viz.endpoints import tile_url

    return ipyleaflet.TileLayer(
        url=url or tile_url(),
        name="Mars relief (MOLA, Gale DEMs)",
        attribution=ATTRIBUTION,
        min_zoom=0,
        max_zoom=MAX_ZOOM,
        no_wrap=True,
        base=True,
    )


def mars_map(
    center: tuple[float, float] = (0.0, 0.0),
    zoom: int = 1,
    *,
    height: str = "480px",
    readout: bool = True,
    measure: bool = True,
    tile_url: str | None = None,
    toolkit: bool = True,
    legends: Sequence[str] = ("relief",),
) -> ipyleaflet.Map:
    """An ipyleaflet map of Mars on the local basemap.

    Parameters
    ----------
    center
        ``(lat, lon)`` planetocentric degrees (longitude 0–360 or −180–180 °E).
    zoom
        0 (whole planet in 512 × 256 px) … :data:`~marsgis.viz.tiling.MAX_ZOOM`.
    height
        CSS height of the map.
    readout
        Add the click readout (lat, lon, elevation; :class:`~marsgis.viz.tools.ClickReadout`),
        kept as ``m.marsgis_readout``.
    measure
        Add the distance/elevation-profile tool (:class:`~marsgis.viz.tools.MeasureTool`),
        kept as ``m.marsgis_measure``.
    tile_url
        Basemap URL template (default: this machine's tile endpoint).
    toolkit
        Add the map toolkit (:func:`marsgis.viz.controls.add_toolkit`: layers control with
        opacity, legends, Mars scale bar, graticule, cursor coordinates, DEM coverage),
        kept as ``m.marsgis_toolkit``.
    legends
        The toolkit's legends: ``"relief"`` and/or ``"status"``.
    """
    import ipyleaflet
    import ipywidgets as w

    lat, lon = validate_latlon(*center)
    if not isinstance(zoom, (int, np.integer)) or not 0 <= zoom <= MAX_ZOOM:
        raise ValidationError(f"zoom {zoom!r} must be an integer in 0…{MAX_ZOOM}")
    m = ipyleaflet.Map(
        crs=MARS_MAP_CRS,
        basemap=basemap_layer(tile_url),
        center=[float(lat), lon180(float(lon))],
        zoom=int(zoom),
        min_zoom=0,
        max_zoom=MAX_ZOOM,
        scroll_wheel_zoom=True,
        layout=w.Layout(height=height, width="100%"),
    )
    m.add_class("marsgis-map")
    from marsgis.viz.tools import ClickReadout, MeasureTool

    m.marsgis_readout = ClickReadout(m) if readout else None
    m.marsgis_measure = MeasureTool(m) if measure else None
    if toolkit:
        from marsgis.viz.controls import add_toolkit

        add_toolkit(m, legends=legends)
    return m


def replace_layer(m: ipyleaflet.Map, layer: ipyleaflet.Layer) -> ipyleaflet.Layer:
    """Add ``layer``, first removing any layer of the same (non-empty) name."""
    if layer.name:
        for old in [lay for lay in m.layers if lay.name == layer.name and not lay.base]:
            m.remove(old)
    m.add(layer)
    return layer


def _locations(coords: Iterable[Sequence[float]]) -> list[list[float]]:
    """Leaflet ``[lat, lon]`` pairs from ``(lon, lat)`` coordinates, continuous in longitude."""
    pts = [(float(c[0]), float(c[1])) for c in coords]
    if not pts:
        return []
    turns = round((lon180(pts[0][0]) - pts[0][0]) / 360.0)  # whole turns: exact for 0
    return [[lat, lon + 360.0 * turns] if turns else [lat, lon] for lon, lat in pts]


def add_missions(
    m: ipyleaflet.Map,
    missions: Sequence[Mission] | None = None,
    *,
    db: str | Engine | None = None,
    on_click: Callable[[Mission], None] | None = None,
    name: str = "missions",
) -> ipyleaflet.LayerGroup:
    """Mission targets as circle markers coloured by status (:data:`STATUS_COLORS`).

    Parameters
    ----------
    missions
        Missions to draw; default all stored ones (:func:`marsgis.db.list_missions`).
    on_click
        Called with the mission whose marker was clicked.
    name
        Layer name; an existing layer of that name is replaced.
    """
    import html

    import ipyleaflet
    import ipywidgets as w

    if missions is None:
        from marsgis.db import list_missions

        missions = list_missions(db=db)
    markers = []
    for mission in missions:
        color = STATUS_COLORS.get(mission.status, "#4a5568")
        marker = ipyleaflet.CircleMarker(
            location=[mission.lat, lon180(mission.lon)],
            radius=8,
            color="#ffffff",
            weight=2,
            fill_color=color,
            fill_opacity=0.9,
            name=f"mission {mission.id}",
        )
        marker.popup = w.HTML(
            f"<b>{html.escape(mission.name)}</b><br>{html.escape(mission.mission_type)} · "
            f"{html.escape(mission.status)}"
        )
        if on_click is not None:
            marker.on_click(lambda mission=mission, **_: on_click(mission))
        markers.append(marker)
    group = ipyleaflet.LayerGroup(layers=markers, name=name)
    replace_layer(m, group)
    return group


def ellipse_layer(
    ellipse: LandingEllipse, *, color: str = "#d69e2e", name: str = "ellipse"
) -> ipyleaflet.Polygon:
    """A landing ellipse as a polygon (:meth:`marsgis.planning.LandingEllipse.polygon`)."""
    import ipyleaflet

    return ipyleaflet.Polygon(
        locations=_locations(ellipse.polygon().exterior.coords),
        color=color,
        fill_color=color,
        fill_opacity=0.15,
        weight=2,
        name=name,
    )


def traverse_layer(
    traverse: gpd.GeoDataFrame, *, color: str = "#e53e3e", name: str = "traverse"
) -> ipyleaflet.LayerGroup:
    """A planned traverse (:func:`marsgis.planning.plan_traverse`): one polyline per leg."""
    import ipyleaflet

    lines = [
        ipyleaflet.Polyline(
            locations=_locations(geom.coords), color=color, weight=4, fill=False, opacity=0.9
        )
        for geom in traverse.geometry
    ]
    return ipyleaflet.LayerGroup(layers=lines, name=name)


def mask_overlay(
    mask: xr.DataArray,
    *,
    true_color: tuple[int, int, int, float] | None = None,
    false_color: tuple[int, int, int, float] | None = (15, 15, 25, 0.6),
    name: str = "eligible",
) -> ipyleaflet.ImageOverlay:
    """A boolean raster on a geographic grid as an image overlay.

    Used for :func:`marsgis.planning.eligibility_map` results
    (``mask_overlay(emap["eligible"])``): by default the cells that fail are dimmed and the
    eligible ones left clear. The image travels inline (a ``data:`` URL), so no request
    leaves the page. A global 0–360 °E grid is rotated to −180…180 °E.

    Parameters
    ----------
    true_color, false_color
        ``(r, g, b, opacity)`` of True and False cells; None leaves them transparent.

    Raises
    ------
    ValidationError
        ``mask`` is not a 2-D ``("y", "x")`` grid in degrees.
    """
    import ipyleaflet
    from PIL import Image
    from pyproj import CRS

    from marsgis.crs import require_mars_crs

    if mask.dims != ("y", "x"):
        raise ValidationError(f"expected a mask with dims ('y', 'x'), got {mask.dims!r}")
    crs = CRS.from_user_input(require_mars_crs(mask.rio.crs, what=f"mask {mask.name!r}"))
    if not crs.is_geographic:
        raise ValidationError(
            f"mask {mask.name!r} is in a projected CRS; give it on a lon/lat grid "
            "(reproject with mask.rio.reproject('IAU_2015:49900'))"
        )
    values = np.asarray(mask.values).astype(bool)
    west, south, east, north = (float(b) for b in mask.rio.bounds())
    if mask.sizes["y"] > 1 and float(mask.y[0]) < float(mask.y[-1]):
        values = values[::-1]
    if mask.sizes["x"] > 1 and float(mask.x[0]) > float(mask.x[-1]):
        values = values[:, ::-1]
    if math.isclose(east - west, 360.0, abs_tol=1e-6) and west != -180.0:
        shift = round((-180.0 - west) / (360.0 / values.shape[1]))
        values = np.roll(values, shift, axis=1)
        west, east = -180.0, 180.0
    elif west >= 180.0 or east > 180.0 + 1e-9:
        west, east = west - 360.0, east - 360.0
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    for where, paint in ((values, true_color), (~values, false_color)):
        if paint is not None:
            rgba[where, :3] = paint[:3]
            rgba[where, 3] = round(255 * float(paint[3]))
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG", optimize=True)
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return ipyleaflet.ImageOverlay(url=url, bounds=[[south, west], [north, east]], name=name)


def occupancy_color(population: int, capacity: int) -> str:
    """The colour of a colony's occupancy (:data:`OCCUPANCY_BANDS`); grey without capacity."""
    if capacity <= 0:
        return "#718096"
    share = population / capacity
    return next(color for top, color, _ in OCCUPANCY_BANDS if share < top)


def occupancy_legend(title: str = "Occupancy") -> ipyleaflet.WidgetControl:
    """A map legend of :data:`OCCUPANCY_BANDS` (:func:`marsgis.viz.controls.legend_control`)."""
    from marsgis.viz.controls import legend_control

    return legend_control(title, {label: color for _, color, label in OCCUPANCY_BANDS})


def add_colonies(
    m: ipyleaflet.Map,
    colonies: Sequence[Colony],
    *,
    on_click: Callable[[Colony], object] | None = None,
    name: str = "colonies",
) -> ipyleaflet.LayerGroup:
    """Colonies as their boundary polygons plus a marker, coloured by occupancy.

    The boundary (:attr:`~marsgis.station.Colony.boundary_wkt`, lon/lat °E) is a polygon; a
    circle marker at its centre keeps a small colony visible at a global zoom. Both carry the
    colony's name, site and ``population / capacity`` in a popup.

    Parameters
    ----------
    on_click
        Called with the colony whose polygon or marker was clicked.
    name
        Layer name; an existing layer of that name is replaced.
    """
    import html

    import ipyleaflet
    import ipywidgets as w
    from shapely import wkt

    layers: list[ipyleaflet.Layer] = []
    for colony in colonies:
        color = occupancy_color(colony.population, colony.capacity)
        share = colony.population / colony.capacity if colony.capacity else 0.0
        text = (
            f"<b>{html.escape(colony.name)}</b><br>{html.escape(colony.site)}<br>"
            f"{colony.population} / {colony.capacity} ({100 * share:.0f} % full)"
        )
        boundary = wkt.loads(colony.boundary_wkt)
        polygon = ipyleaflet.Polygon(
            locations=_locations(boundary.exterior.coords),
            color=color,
            fill_color=color,
            fill_opacity=0.35,
            weight=2,
            name=f"colony {colony.id}",
        )
        centre = boundary.centroid
        marker = ipyleaflet.CircleMarker(
            location=[centre.y, lon180(centre.x)],
            radius=9,
            color="#ffffff",
            weight=2,
            fill_color=color,
            fill_opacity=0.9,
            name=f"colony {colony.id} marker",
        )
        for layer in (polygon, marker):
            layer.popup = w.HTML(text)
            if on_click is not None:
                layer.on_click(lambda colony=colony, **_: on_click(colony))
        layers += [polygon, marker]
    group = ipyleaflet.LayerGroup(layers=layers, name=name)
    replace_layer(m, group)
    return group
