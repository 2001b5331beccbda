"""Geometry on the Mars sphere (R = 3 396 190 m): distances, bearings, ellipses, cell areas.

Everything here is spherical trigonometry on ``marsgis.crs.MARS_RADIUS_M``; the tests check
it against :class:`pyproj.Geod` built on the same sphere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr
from pyproj import CRS, Proj, Transformer
from shapely.geometry import Polygon

from marsgis.crs import MARS_GEOGRAPHIC, MARS_RADIUS_M, require_mars_crs, validate_latlon
from marsgis.exceptions import ValidationError

__all__ = [
    "MARS_SURFACE_KM2",
    "cell_area_m2",
    "destination",
    "ellipse_polygon",
    "great_circle_m",
    "initial_bearing",
    "line_length_m",
    "local_en",
    "lonlat_of_grid",
]

FloatArray = npt.NDArray[np.float64]

#: Area of the Mars sphere, km² (4 π R²).
MARS_SURFACE_KM2 = 4.0 * np.pi * (MARS_RADIUS_M / 1000.0) ** 2


def great_circle_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> Any:
    """Great-circle distance in metres on the Mars sphere (haversine; exact to rounding).

    Scalars in, float out; arrays broadcast.
    """
    la1, lo1 = (np.radians(a) for a in validate_latlon(lat1, lon1))
    la2, lo2 = (np.radians(a) for a in validate_latlon(lat2, lon2))
    dlat = la2 - la1
    dlon = lo2 - lo1
    h = np.sin(dlat / 2.0) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dlon / 2.0) ** 2
    d = 2.0 * MARS_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d


def initial_bearing(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> Any:
    """Initial bearing (degrees clockwise from north, in [0, 360)) from point 1 to point 2."""
    la1, lo1 = (np.radians(a) for a in validate_latlon(lat1, lon1))
    la2, lo2 = (np.radians(a) for a in validate_latlon(lat2, lon2))
    dlon = lo2 - lo1
    y = np.sin(dlon) * np.cos(la2)
    x = np.cos(la1) * np.sin(la2) - np.sin(la1) * np.cos(la2) * np.cos(dlon)
    b = np.degrees(np.arctan2(y, x)) % 360.0
    return float(b) if np.ndim(b) == 0 else b


def destination(
    lat: npt.ArrayLike, lon: npt.ArrayLike, bearing_deg: npt.ArrayLike, distance_m: npt.ArrayLike
) -> tuple[Any, Any]:
    """The point ``distance_m`` from ``(lat, lon)`` along initial bearing ``bearing_deg``.

    Returns ``(lat, lon)`` in degrees, longitude in the −180–360 range of the input
    (continuous with ``lon``: no wrap to 0–360, so polygons near the meridian stay whole).
    """
    la, _lo = validate_latlon(lat, lon)
    lon_in = np.asarray(lon, dtype=np.float64)
    phi1 = np.radians(la)
    lam1 = np.radians(lon_in)
    theta = np.radians(np.asarray(bearing_deg, dtype=np.float64))
    delta = np.asarray(distance_m, dtype=np.float64) / MARS_RADIUS_M
    sin_phi2 = np.sin(phi1) * np.cos(delta) + np.cos(phi1) * np.sin(delta) * np.cos(theta)
    phi2 = np.arcsin(np.clip(sin_phi2, -1.0, 1.0))
    lam2 = lam1 + np.arctan2(
        np.sin(theta) * np.sin(delta) * np.cos(phi1), np.cos(delta) - np.sin(phi1) * sin_phi2
    )
    out_lat = np.degrees(phi2)
    out_lon = np.degrees(lam2)
    if np.ndim(out_lat) == 0:
        return float(out_lat), float(out_lon)
    return out_lat, out_lon


def line_length_m(lats: npt.ArrayLike, lons: npt.ArrayLike) -> float:
    """Length in metres of the polyline through the points, great circle by great circle."""
    la = np.asarray(lats, dtype=np.float64)
    lo = np.asarray(lons, dtype=np.float64)
    if la.size < 2:
        return 0.0
    return float(np.sum(great_circle_m(la[:-1], lo[:-1], la[1:], lo[1:])))


def local_en(
    lat0: float, lon0: float, lats: npt.ArrayLike, lons: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Azimuthal-equidistant (east, north) metres of points around ``(lat0, lon0)``.

    The distance from the centre is the true great-circle distance and the direction the
    true initial bearing, so an ellipse defined in this tangent plane is the landing
    ellipse on the sphere.
    """
    d = np.asarray(great_circle_m(lat0, lon0, lats, lons), dtype=np.float64)
    b = np.radians(np.asarray(initial_bearing(lat0, lon0, lats, lons), dtype=np.float64))
    return d * np.sin(b), d * np.cos(b)


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
        Centre, planetocentric degrees (longitude 0–360 or −180–180 °E; kept as given).
    semi_major_km, semi_minor_km
        Semi-axes in km (half the published 3σ ellipse dimensions).
    azimuth_deg
        Azimuth of the major axis, degrees clockwise from north (90: east–west).
    n
        Number of vertices.
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
    plat, plon = destination(np.full(n, lat), np.full(n, lon), bearing, r)
    return Polygon(np.column_stack([plon, plat]))


def lonlat_of_grid(dem: xr.DataArray) -> tuple[FloatArray, FloatArray]:
    """Planetocentric latitude and east longitude of every cell centre, 2-D ``(ny, nx)``."""
    crs = CRS.from_user_input(require_mars_crs(dem.rio.crs, what=f"DEM {dem.name!r}"))
    xs = np.asarray(dem["x"].values, dtype=np.float64)
    ys = np.asarray(dem["y"].values, dtype=np.float64)
    if crs.is_geographic:
        lon2, lat2 = np.meshgrid(xs, ys)
        return lat2, lon2
    tr = Transformer.from_crs(crs, CRS.from_user_input(MARS_GEOGRAPHIC), always_xy=True)
    mx, my = np.meshgrid(xs, ys)
    lon2, lat2 = tr.transform(mx, my)
    return np.asarray(lat2, dtype=np.float64), np.asarray(lon2, dtype=np.float64) % 360.0


def cell_area_m2(dem: xr.DataArray) -> xr.DataArray:
    """True area of each cell on the Mars sphere, m².

    On a geographic grid every cell of a row has the area of its lat/lon quadrangle,
    ``R² · Δλ · (sin φ_north − sin φ_south)`` (exact; proportional to ``cos φ``), returned
    along ``y`` only. On a projected grid the pixel area is divided by the projection's areal
    scale factor at the cell centre (pyproj), returned as a ``("y", "x")`` array.
    """
    crs = CRS.from_user_input(require_mars_crs(dem.rio.crs, what=f"DEM {dem.name!r}"))
    xs = np.asarray(dem["x"].values, dtype=np.float64)
    ys = np.asarray(dem["y"].values, dtype=np.float64)
    if xs.size < 2 or ys.size < 2:
        raise ValidationError(f"DEM {dem.name!r} needs at least 2×2 cells to measure cell areas")
    dx = abs(float(xs[-1] - xs[0]) / (xs.size - 1))
    dy = abs(float(ys[-1] - ys[0]) / (ys.size - 1))
    if crs.is_geographic:
        north = np.radians(np.clip(ys + dy / 2.0, -90.0, 90.0))
        south = np.radians(np.clip(ys - dy / 2.0, -90.0, 90.0))
        area = MARS_RADIUS_M**2 * np.radians(dx) * np.abs(np.sin(north) - np.sin(south))
        return xr.DataArray(
            area, dims=("y",), coords={"y": dem["y"]}, name="cell_area", attrs={"units": "m2"}
        )
    lat2, lon2 = lonlat_of_grid(dem)
    factors = Proj(crs).get_factors(np.where(lon2 > 180.0, lon2 - 360.0, lon2), lat2)
    scale = np.asarray(factors.areal_scale, dtype=np.float64)
    area2 = dx * dy / scale
    return xr.DataArray(
        area2, dims=("y", "x"), coords={"y": dem["y"], "x": dem["x"]}, name="cell_area",
        attrs={"units": "m2"},
    )  # fmt: skip


class GridLocator:
    """Fast lon/lat → fractional (row, col) on one DEM grid (the CRS is parsed once).

    Same convention as :func:`marsgis.sampling.lonlat_to_grid`: pixel-centre indices.
    """

    def __init__(self, dem: xr.DataArray) -> None:
        from marsgis.sampling import grid_geometry

        crs = CRS.from_user_input(require_mars_crs(dem.rio.crs, what=f"DEM {dem.name!r}"))
        self.x0, self.dx, self.y0, self.dy, self.is_global = grid_geometry(dem)
        self.geographic = bool(crs.is_geographic)
        self.negative_lons = bool(float(np.min(dem["x"].values)) < 0.0)
        self._tr = (
            None
            if self.geographic
            else Transformer.from_crs(CRS.from_user_input(MARS_GEOGRAPHIC), crs, always_xy=True)
        )

    def __call__(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Fractional ``(row, col)`` of the points."""
        la = np.asarray(lat, dtype=np.float64)
        lo = np.asarray(lon, dtype=np.float64)
        if self._tr is None:
            px = ((lo + 180.0) % 360.0) - 180.0 if self.negative_lons else lo % 360.0
            py = la
        else:
            px, py = self._tr.transform(((lo + 180.0) % 360.0) - 180.0, la)
            px = np.asarray(px, dtype=np.float64)
            py = np.asarray(py, dtype=np.float64)
        return (py - self.y0) / self.dy, (px - self.x0) / self.dx


__all__ += ["GridLocator"]
