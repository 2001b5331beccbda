"""Map tools: the click readout (lat, lon, elevation) and the distance/elevation-profile tool.

Both attach to a map from :func:`marsgis.viz.mars_map` and work in Python too, without a
browser: :meth:`ClickReadout.show` and :meth:`MeasureTool.measure` do what a click does.
"""

from __future__ import annotations

import html
import math
import threading
from typing import TYPE_CHECKING, Any

from marsgis.crs import validate_latlon
from marsgis.exceptions import MarsGISError
from marsgis.geo import great_circle_m, lon180, lon360

if TYPE_CHECKING:
    import ipyleaflet
    import pandas as pd

__all__ = ["ClickReadout", "MeasureTool", "format_lonlat"]


def format_lonlat(lat: float, lon: float) -> str:
    """``"-4.5895°, 137.4417°E"`` (longitude −180…180 °E, 0–360 in brackets when it differs)."""
    east180 = float(lon180(lon))
    text = f"{lat:.4f}°, {east180:.4f}°E"
    if east180 < 0:
        text += f" ({float(lon360(lon)):.4f}°E)"
    return text


class ClickReadout:
    """Shows lat, lon and elevation of the last click in a box at the map's bottom left.

    The elevation is :func:`marsgis.viz.sources.elevation_at`: ``marsgis.sample`` of the
    finest shipped DEM at the point, named in the readout. The values of the last click are
    in :attr:`last` and in ``data-*`` attributes of the readout's HTML.
    """

    def __init__(self, m: ipyleaflet.Map) -> None:
        import ipyleaflet
        import ipywidgets as w

        self.map = m
        self.html = w.HTML("<span class='marsgis-readout'>Click the map for elevation</span>")
        self.html.add_class("marsgis-readout-box")
        self.control = ipyleaflet.WidgetControl(widget=self.html, position="bottomleft")
        m.add(self.control)
        self.last: dict[str, Any] = {}
        m.on_interaction(self._on_interaction)
        # open the DEMs and load matplotlib now, in the background: first clicks answer quickly
        threading.Thread(target=_warm, name="marsgis-dem-warmup", daemon=True).start()

    def _on_interaction(self, **event: Any) -> None:
        if event.get("type") == "click":
            lat, lon = event["coordinates"]
            self.show(float(lat), float(lon))

    def show(self, lat: float, lon: float) -> dict[str, Any]:
        """Read out the point (what a click does); returns :attr:`last`."""
        from marsgis.viz.sources import elevation_at

        try:
            validate_latlon(lat, lon)
            value, dem = elevation_at(lat, lon)
        except MarsGISError as exc:
            self.last = {"lat": lat, "lon": lon, "error": str(exc)}
            self.html.value = (
                f"<span class='marsgis-readout marsgis-error'>{html.escape(str(exc))}</span>"
            )
            return self.last
        self.last = {"lat": lat, "lon": lon, "elevation_m": value, "dem": dem}
        elevation = "no data" if math.isnan(value) else f"{value:,.1f} m"
        self.html.value = (
            f"<span class='marsgis-readout' data-lat='{lat!r}' data-lon='{lon!r}' "
            f"data-elevation='{value!r}' data-dem='{html.escape(dem)}'>"
            f"{format_lonlat(lat, lon)} · elevation <b>{elevation}</b>"
            f"{f' ({html.escape(dem)})' if dem else ''}</span>"
        )
        return self.last


def _warm() -> None:
    """Open the DEMs and load matplotlib (profiles), so that first clicks answer quickly."""
    import pandas as pd

    from marsgis.viz.profile import profile_png
    from marsgis.viz.sources import default_stack

    default_stack().sources()
    profile_png(pd.DataFrame({"distance_m": [0.0, 1.0], "elevation_m": [0.0, 1.0]}))


class MeasureTool:
    """Two clicks → great-circle distance on the Mars sphere and the elevation profile.

    A "Measure" toggle at the map's top right turns it on; while it is on, the first click
    sets the start, the second the end (a third starts again). The line follows the great
    circle; distance from :func:`marsgis.geo.great_circle_m`, profile from
    :func:`marsgis.viz.profile.elevation_profile`. Other click handlers can ask
    :attr:`active` to leave clicks alone while measuring.
    """

    LINE_COLOR = "#f6e05e"

    def __init__(self, m: ipyleaflet.Map) -> None:
        import ipyleaflet
        import ipywidgets as w

        self.map = m
        self.toggle = w.ToggleButton(value=False, description="Measure", icon="")
        self.toggle.tooltip = "Two clicks: distance and elevation profile"
        self.toggle.layout.width = "110px"
        self.text = w.HTML("")
        self.image = w.Image(
            format="png", layout=w.Layout(display="none", width="320px", height="150px")
        )
        self.panel = w.VBox([self.toggle, self.text, self.image])
        self.control = ipyleaflet.WidgetControl(widget=self.panel, position="topright")
        m.add(self.control)
        self.points: list[tuple[float, float]] = []
        self.profile: pd.DataFrame | None = None
        self.distance_m: float | None = None
        m.on_interaction(self._on_interaction)
        self.toggle.observe(self._on_toggle, names="value")

    @property
    def active(self) -> bool:
        """Whether clicks go to the tool."""
        return bool(self.toggle.value)

    def _on_toggle(self, change: dict[str, Any]) -> None:
        self.points = []
        if not change["new"]:
            self.clear()
        else:
            self.text.value = "Click the start point"

    def clear(self) -> None:
        """Remove the line and the profile."""
        for layer in [lay for lay in self.map.layers if lay.name == "measure"]:
            self.map.remove(layer)
        self.text.value = ""
        self.image.layout.display = "none"
        self.profile = None
        self.distance_m = None

    def _on_interaction(self, **event: Any) -> None:
        if event.get("type") != "click" or not self.active:
            return
        lat, lon = (float(v) for v in event["coordinates"])
        if len(self.points) >= 2:
            self.points = []
        self.points.append((lat, lon))
        if len(self.points) == 1:
            self.text.value = f"Start {format_lonlat(lat, lon)}; click the end point"
            return
        (lat1, lon1), (lat2, lon2) = self.points
        try:
            self.measure(lat1, lon1, lat2, lon2)
        except MarsGISError:
            pass  # measure() has shown the message

    def measure(self, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        """Draw the great circle between two points, show its length and profile.

        Returns
        -------
        float
            The great-circle distance in metres.
        """
        import ipyleaflet

        from marsgis.viz.maps import replace_layer
        from marsgis.viz.profile import elevation_profile, profile_png

        try:
            distance = float(great_circle_m(lat1, lon1, lat2, lon2))
            profile = elevation_profile(lat1, lon1, lat2, lon2, n=200)
        except MarsGISError as exc:
            self.text.value = f"<span class='marsgis-error'>{html.escape(str(exc))}</span>"
            raise
        lons = profile["lon"].to_numpy(dtype=float, copy=True)
        # keep the drawn line continuous across the ±180° meridian
        for i in range(1, lons.size):
            lons[i] = lons[i - 1] + lon180(lons[i] - lons[i - 1])
        line = ipyleaflet.Polyline(
            locations=[[float(a), float(b)] for a, b in zip(profile["lat"], lons, strict=True)],
            color=self.LINE_COLOR,
            weight=3,
            fill=False,
            dash_array="6 4",
            name="measure",
        )
        replace_layer(self.map, line)
        z = profile["elevation_m"]
        self.text.value = (
            f"<span class='marsgis-measure' data-distance='{distance!r}'>"
            f"<b>{distance / 1000:,.2f} km</b> (great circle)<br>"
            f"elevation {z.min():,.0f} … {z.max():,.0f} m</span>"
        )
        self.image.value = profile_png(profile, width_px=320, height_px=150)
        self.image.layout.display = ""
        self.profile = profile
        self.distance_m = distance
        return distance
