"""Ellipses on the Mars sphere as lon/lat polygons."""

from __future__ import annotations

import numpy as np
from shapely.geometry import Polygon

from marsgis.crs import validate_latlon
from marsgis.exceptions import ValidationError
from marsgis.geo.lon import lon180
from marsgis.geo.sphere import destination_continuous

__all__ = ["ellipse_polygon"]


def ellipse_polygon(
    lat: float,
    lon: float,
    semi_major_km: float,
    semi_minor_km: float,
    azimuth_deg: float = 90.0,
    *,
    n: int = 120,
) -> Polygon:
    """A landing ellipse as a lon/lat polygon (°E) on the Mars sphere.

    The ellipse lives in the azimuthal-equidistant tangent plane at its centre: the vertex of
    eccentric anomaly t, ``(a cos t, b sin t)`` in the frame of the major axis, lies at
    great-circle distance ``hypot(a cos t, b sin t)`` from the centre along bearing
    ``azimuth + atan2(b sin t, a cos t)``.

    Parameters
    ----------
    lat, lon
        Centre, planetocentric degrees (longitude 0–360 or −180–180 °E).
    semi_major_km, semi_minor_km
        Semi-axes in km (half the published 3σ ellipse dimensions).
    azimuth_deg
        Azimuth of the major axis, degrees clockwise from north (90: east–west).
    n
        Number of vertices.

    Returns
    -------
    shapely.geometry.Polygon
        Vertices continuous around the centre's longitude taken in −180–180 °E (an ellipse
        across the 180° meridian keeps vertices beyond ±180 rather than splitting).
    """
    validate_latlon(lat, lon)
    a = float(semi_major_km) * 1000.0
    b = float(semi_minor_km) * 1000.0
    if not (np.isfinite(a) and np.isfinite(b) and a >= b > 0):
        raise ValidationError(
            f"ellipse semi-axes ({semi_major_km!r}, {semi_minor_km!r}) km must satisfy "
            "major ≥ minor > 0"
        )
    if n < 8:
        raise ValidationError(f"an ellipse polygon needs at least 8 vertices, got n={n!r}")
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    u = a * np.cos(t)
    v = b * np.sin(t)
    r = np.hypot(u, v)
    bearing = (float(azimuth_deg) + np.degrees(np.arctan2(v, u))) % 360.0
    plat, plon = destination_continuous(
        np.full(n, float(lat)), np.full(n, float(lon180(lon))), bearing, r
    )
    return Polygon(np.column_stack([plon, plat]))
