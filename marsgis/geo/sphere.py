"""Great circles on the Mars sphere (R = 3 396 190 m): distance, bearing, destination.

Spherical trigonometry on :data:`marsgis.crs.MARS_RADIUS_M`; the tests check every function
against :class:`pyproj.Geod` built on the same sphere. Longitudes may be given in 0–360 or
−180–180 °E; returned longitudes are −180–180 °E.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from marsgis.crs import MARS_RADIUS_M, validate_latlon
from marsgis.geo.lon import lon180

__all__ = [
    "MARS_SURFACE_KM2",
    "destination",
    "destination_continuous",
    "great_circle_m",
    "initial_bearing",
    "line_length_m",
    "local_en",
]

FloatArray = npt.NDArray[np.float64]

#: Area of the Mars sphere, km² (4 π R²).
MARS_SURFACE_KM2 = 4.0 * np.pi * (MARS_RADIUS_M / 1000.0) ** 2


def _distance_bearing(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Haversine distance (m) and initial bearing (radians, −π…π) of trusted degree arrays."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dl = np.radians(np.asarray(lon2, dtype=np.float64)) - np.radians(
        np.asarray(lon1, dtype=np.float64)
    )
    cp1, cp2 = np.cos(p1), np.cos(p2)
    h = np.sin((p2 - p1) / 2.0) ** 2 + cp1 * cp2 * np.sin(dl / 2.0) ** 2
    d = 2.0 * MARS_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    b = np.arctan2(np.sin(dl) * cp2, cp1 * np.sin(p2) - np.sin(p1) * cp2 * np.cos(dl))
    return np.asarray(d, dtype=np.float64), np.asarray(b, dtype=np.float64)


def _scalar_or_array(a: FloatArray) -> Any:
    return float(a) if np.ndim(a) == 0 else a


def great_circle_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> Any:
    """Great-circle distance in metres on the Mars sphere (haversine; exact to rounding).

    Scalars in, float out; arrays broadcast.

    Examples
    --------
    >>> round(great_circle_m(0.0, 0.0, 0.0, 1.0), 3)  # one degree of the equator: R·π/180
    59274.698
    """
    la1, lo1 = validate_latlon(lat1, lon1)
    la2, lo2 = validate_latlon(lat2, lon2)
    d, _ = _distance_bearing(la1, lo1, la2, lo2)
    return _scalar_or_array(d)


def initial_bearing(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> Any:
    """Initial bearing (degrees clockwise from north, in [0, 360)) from point 1 to point 2."""
    la1, lo1 = validate_latlon(lat1, lon1)
    la2, lo2 = validate_latlon(lat2, lon2)
    _, b = _distance_bearing(la1, lo1, la2, lo2)
    return _scalar_or_array(np.degrees(b) % 360.0)


def destination_continuous(
    lat: FloatArray, lon: FloatArray, bearing_deg: npt.ArrayLike, distance_m: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """:func:`destination` of checked arrays, longitude continuous with ``lon`` (not wrapped).

    For the vertices of a polygon around a centre: they stay on the centre's side of the
    180° meridian.
    """
    phi1 = np.radians(lat)
    theta = np.radians(np.asarray(bearing_deg, dtype=np.float64))
    delta = np.asarray(distance_m, dtype=np.float64) / MARS_RADIUS_M
    sin_phi2 = np.sin(phi1) * np.cos(delta) + np.cos(phi1) * np.sin(delta) * np.cos(theta)
    phi2 = np.arcsin(np.clip(sin_phi2, -1.0, 1.0))
    lam2 = np.radians(lon) + np.arctan2(
        np.sin(theta) * np.sin(delta) * np.cos(phi1), np.cos(delta) - np.sin(phi1) * sin_phi2
    )
    return np.asarray(np.degrees(phi2), dtype=np.float64), np.asarray(
        np.degrees(lam2), dtype=np.float64
    )


def destination(
    lat: npt.ArrayLike, lon: npt.ArrayLike, bearing_deg: npt.ArrayLike, distance_m: npt.ArrayLike
) -> tuple[Any, Any]:
    """The point ``distance_m`` from ``(lat, lon)`` along initial bearing ``bearing_deg``.

    Returns ``(lat, lon)`` in degrees, longitude in −180–180 °E (floats for scalar input).
    """
    la, lo = validate_latlon(lat, lon)
    out_lat, out_lon = destination_continuous(la, lo, bearing_deg, distance_m)
    return _scalar_or_array(out_lat), lon180(out_lon)


def line_length_m(lats: npt.ArrayLike, lons: npt.ArrayLike) -> float:
    """Length in metres of the polyline through the points, great circle by great circle."""
    la = np.asarray(lats, dtype=np.float64)
    lo = np.asarray(lons, dtype=np.float64)
    if la.size < 2:
        return 0.0
    return float(np.sum(great_circle_m(la[:-1], lo[:-1], la[1:], lo[1:])))


def local_en(
    lat0: float,
    lon0: float,
    lats: npt.ArrayLike,
    lons: npt.ArrayLike,
    *,
    validate: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Azimuthal-equidistant (east, north) metres of points around ``(lat0, lon0)``.

    The distance from the centre is the true great-circle distance and the direction the
    true initial bearing, so an ellipse defined in this tangent plane is the landing
    ellipse on the sphere. ``validate=False`` skips the coordinate checks for arrays already
    checked (the inner loop of the landing-site search).
    """
    if validate:
        la0, lo0 = validate_latlon(lat0, lon0)
        la, lo = validate_latlon(lats, lons)
        d, b = _distance_bearing(la0, lo0, la, lo)
    else:
        d, b = _distance_bearing(lat0, lon0, lats, lons)
    return d * np.sin(b), d * np.cos(b)
