"""Elevation profiles: along a great circle between two points, or along a planned route.

Distances are great-circle metres on the Mars sphere (:func:`marsgis.geo.great_circle_m`);
elevations come from the finest shipped DEM at each point
(:func:`marsgis.viz.sources.elevation_at`'s rule) or from a DEM you give.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from marsgis.crs import normalize_lon, validate_latlon
from marsgis.exceptions import ValidationError
from marsgis.geo import destination, great_circle_m, initial_bearing
from marsgis.viz.sources import SourceStack, default_stack

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr

__all__ = ["draw_profile", "elevation_profile", "profile_png", "route_profile"]

_COLUMNS = ["distance_m", "lat", "lon", "elevation_m", "dem"]


def _frame(
    lats: np.ndarray[Any, Any],
    lons: np.ndarray[Any, Any],
    dem: xr.DataArray | None,
    stack: SourceStack | None,
) -> pd.DataFrame:
    from marsgis import sample

    steps = np.asarray(great_circle_m(lats[:-1], lons[:-1], lats[1:], lons[1:]), dtype=float)
    distance = np.concatenate([[0.0], np.cumsum(steps)])
    if dem is not None:
        elevation = np.asarray(sample(dem, lats, lons), dtype=np.float64)
        names: Any = [str(dem.name or "dem")] * lats.size
    else:
        stack = stack or default_stack()
        elevation, index = stack.sample(lats, lons)
        table = np.array([*stack.names, ""], dtype=object)
        names = table[index]  # -1 → ""
    lon180 = normalize_lon(lons, center=0.0)
    return pd.DataFrame(
        {
            "distance_m": distance,
            "lat": lats,
            "lon": lon180,
            "elevation_m": elevation,
            "dem": names,
        },
        columns=_COLUMNS,
    )


def elevation_profile(
    lat1: float,
    lon1: float,
    lat2: float,
    lon2: float,
    *,
    n: int = 200,
    dem: xr.DataArray | None = None,
    stack: SourceStack | None = None,
) -> pd.DataFrame:
    """Elevation at ``n`` evenly spaced points of the great circle from point 1 to point 2.

    Parameters
    ----------
    lat1, lon1, lat2, lon2
        End points, planetocentric degrees (longitude 0–360 or −180–180 °E).
    n
        Number of points, ends included (at least 2).
    dem
        Sample this DEM; default: the finest shipped DEM at each point.

    Returns
    -------
    pandas.DataFrame
        ``distance_m`` (from point 1, along the great circle), ``lat``, ``lon``
        (−180–180 °E), ``elevation_m`` (NaN outside ``dem``) and ``dem`` (its name).
        ``attrs["length_m"]`` is the great-circle distance.
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValidationError(f"a profile needs n ≥ 2 points, got n={n!r}")
    la, lo = validate_latlon([lat1, lat2], [lon1, lon2])
    length = float(great_circle_m(la[0], lo[0], la[1], lo[1]))
    fractions = np.linspace(0.0, 1.0, int(n))
    if length == 0.0:
        lats, lons = np.full(n, la[0]), np.full(n, lo[0])
    else:
        bearing = float(initial_bearing(la[0], lo[0], la[1], lo[1]))
        lats, lons = destination(la[0], lo[0], bearing, fractions * length)
        lats, lons = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
        lats[-1], lons[-1] = la[1], lo[1]
    frame = _frame(np.asarray(lats, dtype=float), normalize_lon(lons), dem, stack)
    frame.attrs["length_m"] = length
    return frame


def route_profile(
    traverse: gpd.GeoDataFrame,
    *,
    dem: xr.DataArray | None = None,
    stack: SourceStack | None = None,
) -> pd.DataFrame:
    """Elevation along a :func:`~marsgis.planning.plan_traverse` route, vertex by vertex.

    Returns the columns of :func:`elevation_profile`; ``distance_m`` runs along the route
    (sum of great-circle steps between its vertices), ``attrs["length_m"]`` is its total.
    """
    lons: list[float] = []
    lats: list[float] = []
    for geom in traverse.geometry:
        coords = np.asarray(geom.coords, dtype=float)
        start = 1 if lons and coords.shape[0] > 0 else 0
        lons.extend(coords[start:, 0].tolist())
        lats.extend(coords[start:, 1].tolist())
    if len(lats) < 2:
        raise ValidationError(
            f"a route profile needs at least 2 vertices, the traverse has {len(lats)}"
        )
    la = np.asarray(lats, dtype=float)
    lo = normalize_lon(lons)
    frame = _frame(la, lo, dem, stack)
    frame.attrs["length_m"] = float(frame["distance_m"].iloc[-1])
    return frame


def draw_profile(ax: Any, profile: pd.DataFrame, *, xlabel: str = "distance (km)") -> None:
    """Draw an elevation profile (m against km, filled below) on a matplotlib ``Axes``."""
    km = profile["distance_m"].to_numpy(dtype=float) / 1000.0
    z = profile["elevation_m"].to_numpy(dtype=float)
    ax.plot(km, z, color="#b8452c", linewidth=1.5)
    if np.isfinite(z).any():
        ax.fill_between(km, z, np.nanmin(z), color="#e9b48a", alpha=0.5, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("elevation (m)")
    ax.grid(alpha=0.3)


def profile_png(
    profile: pd.DataFrame, *, title: str = "", width_px: int = 560, height_px: int = 200
) -> bytes:
    """A PNG line chart of a profile: elevation (m) against distance (km)."""
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ax = fig.add_subplot()
    draw_profile(ax, profile)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
