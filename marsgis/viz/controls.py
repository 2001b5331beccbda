"""The map toolkit of every marsgis map: layers, legends, Mars scale bar, graticule and more.

Layers control with opacity sliders, legends, a Mars scale bar, a graticule, cursor
coordinates, DEM coverage outlines and fit-to-content views.

>>> from marsgis.viz import mars_map
>>> from marsgis.viz.controls import fit_to
>>> m = mars_map(center=(0.0, 0.0), zoom=1)       # with the toolkit (``toolkit=True``)
>>> fit_to(m, (137.0, -5.0, 138.0, -4.0))         # west, south, east, north
8

What MMGIS users take for granted, built on ipyleaflet's own controls where they fit
(``LayersControl``, ``WidgetControl``). Two are our own, and why:

* **Scale bar.** ipyleaflet's ``ScaleControl`` is Leaflet's, which measures with the Earth's
  radius (6 371 km): on Mars it would be wrong by a factor of 1.88. :class:`ScaleBar` measures
  on the Mars sphere (:data:`marsgis.crs.MARS_RADIUS_M`) along the parallel at the map's centre.
* **Fit to content.** ``Map.fit_bounds`` asks the browser for the map's size and needs a
  running event loop; :func:`fit_to` computes the centre and the largest zoom that holds the
  bounds from the map's pixel size in Python, so the view is known (and tested) at once.

Sliders with typed entry (:func:`typed_slider`) live here too: a slider alone over thousands
of metres jumps hundreds of metres per pixel.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from marsgis.crs import MARS_RADIUS_M
from marsgis.exceptions import ValidationError
from marsgis.viz.tiling import MAX_ZOOM, resolution_deg

if TYPE_CHECKING:
    import ipyleaflet
    import ipywidgets

__all__ = [
    "CursorReadout",
    "Graticule",
    "OpacityControl",
    "ScaleBar",
    "add_toolkit",
    "coverage_layer",
    "fit_to",
    "graticule_lines",
    "legend_control",
    "map_size",
    "graticule_spacing",
    "nice_length",
    "relief_legend",
    "scale_bar",
    "status_legend",
    "typed_slider",
    "view_bounds",
]

#: Graticule spacings in degrees, coarse to fine.
GRATICULE_STEPS = (30.0, 10.0, 5.0, 2.0, 1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002)
#: The map size assumed where the browser has not told it (``width``, ``height`` px).
DEFAULT_SIZE = (900, 480)


# -- pure functions (tested without a browser) ---------------------------------------------


def nice_length(max_m: float) -> float:
    """The longest 1, 2 or 5 × 10^k metres not longer than ``max_m`` (``max_m`` > 0)."""
    if not (isinstance(max_m, (int, float)) and math.isfinite(max_m) and max_m > 0):
        raise ValidationError(f"scale length {max_m!r} must be a positive number of metres")
    k = math.floor(math.log10(max_m))
    for m in (5.0, 2.0, 1.0):
        if m * 10.0**k <= max_m * (1 + 1e-12):
            return m * 10.0**k
    return 10.0 ** (k - 1) * 5.0  # not reached: 1 × 10^k ≤ max_m by construction


def scale_bar(zoom: int, lat: float, *, max_px: int = 120) -> tuple[float, float, str]:
    """The scale bar at ``zoom`` along the parallel at ``lat``: ``(metres, pixels, label)``.

    One map pixel spans ``resolution_deg(zoom)`` degrees, that is
    ``radians(resolution_deg) × R × cos(lat)`` metres east–west on the Mars sphere.
    """
    if not -90.0 <= lat <= 90.0:
        raise ValidationError(f"latitude {lat!r} must be in −90…90°")
    m_per_px = math.radians(resolution_deg(int(zoom))) * MARS_RADIUS_M
    m_per_px *= max(math.cos(math.radians(lat)), 1e-6)
    length = nice_length(max_px * m_per_px)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    return length, length / m_per_px, label


def graticule_spacing(zoom: int, *, min_px: int = 80) -> float:
    """The finest step of :data:`GRATICULE_STEPS` whose lines are at least ``min_px`` apart."""
    deg_per_px = resolution_deg(int(zoom))
    fitting = [s for s in GRATICULE_STEPS if s / deg_per_px >= min_px]
    return fitting[-1] if fitting else GRATICULE_STEPS[0]


def graticule_lines(bounds: tuple[float, float, float, float], spacing: float) -> dict[str, Any]:
    """GeoJSON of the meridians and parallels every ``spacing`` degrees inside ``bounds``.

    ``bounds`` is ``(west, south, east, north)`` in −180…180 °E; each line carries its
    ``label`` (``"10°E"``, ``"5°S"``).
    """
    west, south, east, north = (float(v) for v in bounds)
    west, east = max(west, -180.0), min(east, 180.0)
    south, north = max(south, -90.0), min(north, 90.0)
    if not (spacing > 0 and west < east and south < north):
        raise ValidationError(f"graticule bounds {bounds!r} or spacing {spacing!r} is empty")
    features: list[dict[str, Any]] = []

    def steps(lo: float, hi: float) -> Iterable[float]:
        k = math.ceil(lo / spacing - 1e-9)
        while k * spacing <= hi + 1e-9:
            yield round(k * spacing, 9)
            k += 1

    for lon in steps(west, east):
        label = f"{abs(lon):g}°{'W' if lon < 0 else 'E'}"
        features.append(_line([[lon, south], [lon, north]], label))
    for lat in steps(south, north):
        label = f"{abs(lat):g}°{'S' if lat < 0 else 'N'}"
        features.append(_line([[west, lat], [east, lat]], label))
    return {"type": "FeatureCollection", "features": features}


def _line(coords: list[list[float]], label: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"label": label},
        "geometry": {"type": "LineString", "coordinates": coords},
    }


def view_bounds(
    center: Sequence[float], zoom: int, size: tuple[int, int] = DEFAULT_SIZE
) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` that a map of ``size`` px shows at ``center``, ``zoom``."""
    lat, lon = (float(v) for v in center)
    half_w = size[0] / 2 * resolution_deg(int(zoom))
    half_h = size[1] / 2 * resolution_deg(int(zoom))
    return lon - half_w, lat - half_h, lon + half_w, lat + half_h


def _fit_zoom(
    bounds: tuple[float, float, float, float], size: tuple[int, int], margin_px: int
) -> int:
    west, south, east, north = bounds
    for z in range(MAX_ZOOM, -1, -1):
        deg = resolution_deg(z)
        if (east - west) / deg + 2 * margin_px <= size[0] and (
            north - south
        ) / deg + 2 * margin_px <= size[1]:
            return z
    return 0


def map_size(m: Any) -> tuple[int, int]:
    """A map's ``(width, height)`` in pixels, as far as Python knows it.

    The browser's figure once the map is shown (ipyleaflet's ``pixel_bounds``); before that
    the layout's CSS sizes where given in px, else :data:`DEFAULT_SIZE`.
    """
    pb = getattr(m, "pixel_bounds", None)
    if pb and len(pb) == 2 and all(len(c) == 2 for c in pb):
        (x0, y0), (x1, y1) = pb
        if x1 - x0 > 0 and y1 - y0 > 0:
            return int(x1 - x0), int(y1 - y0)
    layout = getattr(m, "layout", None)
    out = []
    for key, default in (("width", DEFAULT_SIZE[0]), ("height", DEFAULT_SIZE[1])):
        css = str(getattr(layout, key, "") or "")
        out.append(int(float(css[:-2])) if css.endswith("px") else default)
    return out[0], out[1]


def fit_to(
    m: Any,
    content: tuple[float, float, float, float] | Iterable[Any],
    *,
    pad_deg: float = 0.0,
    margin_px: int = 24,
    min_zoom: int = 1,
    max_zoom: int = MAX_ZOOM,
    size: tuple[int, int] | None = None,
) -> int:
    """Centre ``m`` on ``content`` at the largest zoom that shows all of it; return the zoom.

    Parameters
    ----------
    content
        ``(west, south, east, north)`` in °E, ``(lon, lat)`` points (a route's vertices,
        mission targets) or shapely geometries in lon/lat °E (colony boundaries).
    pad_deg
        Degrees added on each side (the region around a site), clipped to the map's
        −180…180 °E and −90…90° (the map does not wrap around the antimeridian).
    margin_px
        Room left on each side, in pixels (a marker's radius, a line's width).
    min_zoom, max_zoom
        The zoom range to choose from: zoom 0 (the whole planet in 512 × 256 px) leaves most
        of a dashboard map empty, and a single point would otherwise fill the map.
    size
        The map's ``(width, height)`` px; default :func:`map_size`.
    """
    from marsgis.geo import lon180

    items = list(content)
    if len(items) == 4 and all(isinstance(v, (int, float)) for v in items):
        west, south, east, north = (float(cast(float, v)) for v in items)
    else:
        pts: list[tuple[float, float]] = []
        for item in items:
            if hasattr(item, "bounds"):  # a shapely geometry: its box's corners
                if item.is_empty:
                    continue
                w_, s_, e_, n_ = (float(v) for v in item.bounds)
                shift = float(lon180(w_)) - w_
                pts += [(w_ + shift, s_), (e_ + shift, n_)]
            else:
                pts.append((float(lon180(float(item[0]))), float(item[1])))
        if not pts:
            raise ValidationError("nothing to fit the map to: give bounds or at least one point")
        west, east = min(p[0] for p in pts), max(p[0] for p in pts)
        south, north = min(p[1] for p in pts), max(p[1] for p in pts)
    if not (west <= east and south <= north):
        raise ValidationError(
            f"bounds {(west, south, east, north)!r} have west > east or south > north"
        )
    if pad_deg:
        west, east = max(west - pad_deg, -180.0), min(east + pad_deg, 180.0)
        south, north = max(south - pad_deg, -90.0), min(north + pad_deg, 90.0)
    if not 0 <= min_zoom <= max_zoom <= MAX_ZOOM:
        raise ValidationError(f"zoom range {min_zoom}…{max_zoom} must lie in 0…{MAX_ZOOM}")
    size = size or map_size(m)
    zoom = _fit_zoom((west, south, east, north), size, margin_px)
    zoom = max(min(zoom, int(max_zoom)), int(min_zoom))
    m.center = [(south + north) / 2, (west + east) / 2]
    m.zoom = zoom
    return zoom


# -- controls --------------------------------------------------------------------------


def legend_control(
    title: str, entries: dict[str, str], *, position: str = "bottomright"
) -> ipyleaflet.WidgetControl:
    """A compact legend: a colour swatch and a label per entry, under a title.

    ipyleaflet's ``LegendControl`` puts each entry on a paragraph of its own, so two legends
    cover most of a 460 px map; this one is a small table. The HTML widget is ``.widget``
    of the control and ``.marsgis_entries`` keeps ``entries``.
    """
    import ipyleaflet
    import ipywidgets as w

    rows = "".join(
        f"<tr><td><span style='display:inline-block;width:12px;height:10px;"
        f"background:{html.escape(colour)};border:1px solid #0004'></span></td>"
        f"<td>{html.escape(label)}</td></tr>"
        for label, colour in entries.items()
    )
    widget = w.HTML(
        f"<div class='marsgis-legend' data-title='{html.escape(title)}' "
        "style='font:11px sans-serif;line-height:1.1;background:rgba(255,255,255,.85);"
        f"padding:3px 6px;border-radius:4px'><b>{html.escape(title)}</b>"
        f"<table style='border-spacing:3px 1px'>{rows}</table></div>"
    )
    control = ipyleaflet.WidgetControl(widget=widget, position=position)
    control.marsgis_entries = dict(entries)
    return control


def status_legend(name: str = "Mission status") -> ipyleaflet.WidgetControl:
    """A legend of the mission status colours (:data:`marsgis.viz.maps.STATUS_COLORS`)."""
    from marsgis.viz.maps import STATUS_COLORS

    return legend_control(name, dict(STATUS_COLORS))


def relief_legend(name: str = "Elevation") -> ipyleaflet.WidgetControl:
    """A legend of the relief colour ramp (:data:`marsgis.viz.colors.ELEVATION_RAMP`)."""
    from marsgis.viz.colors import ELEVATION_RAMP

    picks = (*ELEVATION_RAMP[::2], ELEVATION_RAMP[-1])
    entries = {
        f"{level / 1000:+g} km": "#{:02x}{:02x}{:02x}".format(*rgb)
        for level, rgb in reversed(picks)
    }
    return legend_control(name, entries)


class ScaleBar:
    """A scale bar measured on the Mars sphere, redrawn when the map moves or zooms.

    ``text`` is the label shown (e.g. ``"20 km"``); ``pixels`` the bar's length.
    """

    def __init__(self, m: ipyleaflet.Map, *, max_px: int = 120) -> None:
        import ipyleaflet
        import ipywidgets as w

        self.map, self.max_px = m, max_px
        self.html = w.HTML()
        self.html.add_class("marsgis-scale")
        self.control = ipyleaflet.WidgetControl(widget=self.html, position="bottomleft")
        m.add(self.control)
        self.text = ""
        self.pixels = 0.0
        m.observe(lambda _: self.update(), names=["zoom", "center"])
        self.update()

    def update(self) -> None:
        """Redraw for the map's current zoom and centre latitude."""
        lat = float(self.map.center[0])
        _, self.pixels, self.text = scale_bar(int(self.map.zoom), max(-89.0, min(89.0, lat)))
        self.html.value = (
            f"<div class='marsgis-scalebar' data-label='{self.text}' style='font:11px sans-serif'>"
            f"<div style='width:{self.pixels:.0f}px;border:2px solid #222;border-top:none;"
            f"height:6px;background:rgba(255,255,255,.6)'></div>{self.text} "
            f"<span style='color:#555'>(Mars, at {lat:.0f}°)</span></div>"
        )


class Graticule:
    """Meridians and parallels as a toggleable layer; the spacing follows the zoom."""

    def __init__(self, m: ipyleaflet.Map, *, name: str = "Graticule") -> None:
        import ipyleaflet

        self.map = m
        self.layer = ipyleaflet.GeoJSON(
            data=graticule_lines((-180, -90, 180, 90), 30.0),
            name=name,
            style={"color": "#ffffff", "weight": 0.8, "opacity": 0.6, "dashArray": "4 4"},
        )
        self.spacing = 30.0
        m.add(self.layer)
        m.observe(lambda _: self.update(), names=["zoom", "center"])
        self.update()

    def update(self) -> None:
        """Redraw the lines at the spacing of the map's zoom, around its centre."""
        zoom = int(self.map.zoom)
        spacing = graticule_spacing(zoom)
        lat, lon = (float(v) for v in self.map.center)
        w, s, e, n = view_bounds((lat, lon), zoom, (DEFAULT_SIZE[0] * 3, DEFAULT_SIZE[1] * 3))
        self.spacing = spacing
        self.layer.data = graticule_lines((w, s, e, n), spacing)


class CursorReadout:
    """Latitude and longitude under the mouse pointer, at the map's top right."""

    def __init__(self, m: ipyleaflet.Map) -> None:
        import ipyleaflet
        import ipywidgets as w

        self.map = m
        self.html = w.HTML("<span class='marsgis-cursor'>—</span>")
        self.control = ipyleaflet.WidgetControl(widget=self.html, position="topright")
        m.add(self.control)
        self.last: tuple[float, float] | None = None
        m.on_interaction(self._on_interaction)

    def _on_interaction(self, **event: Any) -> None:
        if event.get("type") == "mousemove":
            lat, lon = event["coordinates"]
            self.show(float(lat), float(lon))

    def show(self, lat: float, lon: float) -> None:
        """Show ``(lat, lon)`` (planetocentric °, east longitude)."""
        from marsgis.viz.tools import format_lonlat

        self.last = (lat, lon)
        self.html.value = (
            f"<span class='marsgis-cursor' data-lat='{lat!r}' data-lon='{lon!r}' "
            f"style='font:11px monospace;background:rgba(255,255,255,.8);padding:1px 4px'>"
            f"{html.escape(format_lonlat(lat, lon))}</span>"
        )


class OpacityControl:
    """An opacity slider for each raster overlay (tile layers, images) on the map."""

    def __init__(self, m: ipyleaflet.Map) -> None:
        import ipyleaflet
        import ipywidgets as w

        self.map = m
        self.box = w.VBox()
        self.box.add_class("marsgis-opacity")
        self.sliders: dict[str, ipywidgets.FloatSlider] = {}
        self.control = ipyleaflet.WidgetControl(widget=self.box, position="topright")
        m.add(self.control)
        m.observe(lambda _: self.update(), names=["layers"])
        self.update()

    def update(self) -> None:
        """One slider per overlay now on the map (kept where the layer stays)."""
        import ipyleaflet
        import ipywidgets as w

        sliders: dict[str, w.FloatSlider] = {}
        for layer in self.map.layers:
            if layer.base or not layer.name or not isinstance(layer, ipyleaflet.RasterLayer):
                continue
            slider = self.sliders.get(layer.name) or w.FloatSlider(
                min=0.0, max=1.0, step=0.05, description=layer.name[:18],
                readout_format=".2f", continuous_update=True,
            )  # fmt: skip
            slider.unobserve_all()
            slider.value = float(layer.opacity)
            slider.observe(lambda ch, lay=layer: setattr(lay, "opacity", ch["new"]), names="value")
            sliders[layer.name] = slider
        self.sliders = sliders
        self.box.children = tuple(sliders.values())
        self.box.layout.display = "" if sliders else "none"


def coverage_layer(name: str = "DEM coverage") -> ipyleaflet.GeoJSON:
    """The outline of every shipped DEM but the global one, labelled with its name and cell size.

    From :func:`marsgis.catalog.dem_footprints` (the DEMs' real bounds).
    """
    import ipyleaflet

    from marsgis.catalog import dem_footprints

    features = []
    for f in dem_footprints():
        west, south, east, north = f.bounds
        if east - west >= 360.0:
            continue
        if west > 180.0:
            west, east = west - 360.0, east - 360.0
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        label = (
            f"{f.name} ({f.resolution_m:,.0f} m)"
            if f.resolution_m >= 10
            else (f"{f.name} ({f.resolution_m:g} m)")
        )
        features.append(
            {
                "type": "Feature",
                "properties": {"name": f.name, "label": label, "resolution_m": f.resolution_m},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return ipyleaflet.GeoJSON(
        data={"type": "FeatureCollection", "features": features},
        name=name,
        style={"color": "#1a202c", "weight": 1.5, "fill": False, "dashArray": "6 3"},
        hover_style={"weight": 3},
    )


def add_toolkit(
    m: ipyleaflet.Map, *, legends: Sequence[str] = ("relief",), coverage: bool = True
) -> dict[str, Any]:
    """Add the whole toolkit to ``m``; return its parts by name (also ``m.marsgis_toolkit``).

    Parameters
    ----------
    legends
        Any of ``"relief"`` (the basemap ramp) and ``"status"`` (mission markers).
    coverage
        Outline where each shipped DEM has data.
    """
    import ipyleaflet

    unknown = sorted(set(legends) - {"relief", "status"})
    if unknown:
        raise ValidationError(f"unknown legend(s) {unknown}; choose from 'relief', 'status'")
    parts: dict[str, Any] = {}
    if coverage:
        parts["coverage"] = coverage_layer()
        m.add(parts["coverage"])
    parts["graticule"] = Graticule(m)
    parts["scale"] = ScaleBar(m)
    parts["cursor"] = CursorReadout(m)
    parts["layers"] = ipyleaflet.LayersControl(position="topright")
    m.add(parts["layers"])
    parts["opacity"] = OpacityControl(m)
    for kind in legends:
        legend = relief_legend() if kind == "relief" else status_legend()
        m.add(legend)
        parts[f"{kind}_legend"] = legend
    m.marsgis_toolkit = parts
    return parts


def typed_slider(slider: ipywidgets.FloatSlider, *, width: str = "90px") -> ipywidgets.HBox:
    """``slider`` with a number box beside it, linked both ways (type an exact value).

    The box takes the slider's bounds and step; the slider's ``continuous_update`` is
    switched off so a drag answers once, where it is let go.
    """
    import ipywidgets as w

    text = w.BoundedFloatText(
        value=slider.value, min=slider.min, max=slider.max, step=slider.step,
        layout=w.Layout(width=width),
    )  # fmt: skip
    text.add_class("marsgis-typed")
    slider.continuous_update = False
    w.link((slider, "value"), (text, "value"))
    box = w.HBox([slider, text])
    box.marsgis_text = text
    return box
